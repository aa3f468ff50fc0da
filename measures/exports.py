"""Downloads: charts as print-ready PNG, SVG and PDF through a warm kaleido, and tables as formula-safe CSV and XLSX."""

from __future__ import annotations

import atexit
import html
import io
import math
import os
import re
import shutil
import threading
import warnings
from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

# A4 is 8.27 inches wide: 827 CSS pixels at scale 3 give 2,481 pixels, 300 dpi across the page.
PRINT_WIDTH_PX = 827
PRINT_SCALE = 3
# Chromium refuses canvases much beyond 16,384 pixels a side; tall ranked bars shrink their scale instead.
MAX_SIDE_PX = 16_000
DEFAULT_HEIGHT_PX = 500  # plotly's own default, for figures built without the board template

IMAGE_FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
TABLE_FORMATS = {"csv": "text/csv",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

# OWASP's list for CSV injection: a spreadsheet reads a cell starting with these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_server_lock = threading.Lock()
_server_started = False
# kaleido 1.5's sync server hands concurrent callers each other's images (8 charts on 4 threads: 5 crossed),
# so exports from Streamlit's download threads and the board pack go through it one at a time.
_export_lock = threading.Lock()


def _start_kaleido() -> None:
    """Start kaleido's sync server once per process, on first use, so each export reuses one warm Chromium."""
    global _server_started
    if _server_started:
        return
    with _server_lock:
        if _server_started:
            return
        import kaleido

        if not os.environ.get("BROWSER_PATH") and not shutil.which("chromium") and os.path.exists("/usr/bin/chromium"):
            os.environ["BROWSER_PATH"] = "/usr/bin/chromium"
        kaleido.start_sync_server(mathjax=False, silence_warnings=True)
        # Closing Chromium before the interpreter tears down avoids a burst of pipe errors at exit.
        atexit.register(kaleido.stop_sync_server, silence_warnings=True)
        _server_started = True


def export_size(fig: go.Figure, width: int = PRINT_WIDTH_PX, scale: float = PRINT_SCALE) -> tuple[int, int, float]:
    """Width and height in CSS pixels and the scale a figure is exported at."""
    # A figure without its own height takes the template's, as it does on screen.
    height = int(fig.layout.height or fig.layout.template.layout.height or DEFAULT_HEIGHT_PX)
    scale = min(scale, MAX_SIDE_PX / max(width, height))
    return width, height, scale


def expected_png_size(fig: go.Figure, width: int = PRINT_WIDTH_PX, scale: float = PRINT_SCALE) -> tuple[int, int]:
    """The pixel size of `figure_image(fig, "png")`, for checking a download."""
    width, height, scale = export_size(fig, width, scale)
    return round(width * scale), round(height * scale)


def figure_image(fig: go.Figure, fmt: str = "png", *, width: int = PRINT_WIDTH_PX, scale: float = PRINT_SCALE) -> bytes:
    """The figure as an image file, styled by its own template, with its title and source inside."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"image format must be one of {', '.join(IMAGE_FORMATS)}, got {fmt!r}")
    _start_kaleido()
    width, height, scale = export_size(fig, width, scale)
    with _export_lock:
        # Plotly passes its own options on every call, which a running server ignores; the warning is noise.
        # Set per call (re-adding an identical filter is a no-op) because test runners reset the filters.
        warnings.filterwarnings("ignore", message="The kopts argument is ignored if using a server",
                                category=UserWarning)
        return pio.to_image(fig, format=fmt, width=width, height=height, scale=scale if fmt == "png" else 1)


def figure_filename(fig: go.Figure, extension: str) -> str:
    """A file name from the figure's title, e.g. `booked-within-2-weeks-ashvale-pcn.png`."""
    title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else "chart"
    return f"{slug(title)}.{extension}"


def slug(text: str, limit: int = 80) -> str:
    # A figure's title is chart text: tags are markup, and entities (`&amp;`) stand for the characters shown.
    shown = html.unescape(re.sub(r"<[^>]+>", " ", str(text)))
    cleaned = re.sub(r"[^a-z0-9]+", "-", shown.lower()).strip("-")
    return cleaned[:limit].rstrip("-") or "download"


def neutralise(value):
    """Text that a spreadsheet would run as a formula gets a leading quote; everything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column names cannot start a formula; numeric columns are left alone."""
    safe = frame.copy()
    safe.columns = [neutralise(str(c)) for c in safe.columns]
    for position, column in enumerate(safe.columns):
        values = safe.iloc[:, position]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        safe.isetitem(position, values.astype(object).map(neutralise))
    return safe


def _with_notes(frame: pd.DataFrame, notes: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """A frame with a `suppressed` column has its suppressed numbers written `*` and gains the footnote."""
    from . import suppression

    frame, starred = suppression.starred(frame)
    notes = list(notes)
    if starred and suppression.footnote() not in notes:
        notes.append(suppression.footnote())
    return frame, [note for note in notes if note]


def to_csv_bytes(frame: pd.DataFrame, notes: Sequence[str] = ()) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads names with accents), safe against formula injection.

    Notes (and the suppression footnote, for a frame with a `suppressed` column) follow the table after a blank
    row, each in the first column, the way statistical tables carry their footnotes.
    """
    frame, notes = _with_notes(frame, notes)
    text = safe_frame(frame).to_csv(index=False, lineterminator="\r\n")
    if notes:
        footer = pd.DataFrame({"note": [""] + [neutralise(note) for note in notes]})
        text += footer.to_csv(index=False, header=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def _sheet_title(name: str) -> str:
    # Excel limits sheet names to 31 characters and forbids []:*?/\ in them.
    return (re.sub(r"[\[\]:*?/\\]", " ", str(name)).strip() or "data")[:31]


def _cell_value(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy scalars become Python numbers
    return value


def to_xlsx_bytes(frame: pd.DataFrame, sheet_name: str = "data", notes: Sequence[str] = ()) -> bytes:
    """One sheet with a bold header row; numbers stay numbers, text never becomes a formula.

    Notes (and the suppression footnote, for a frame with a `suppressed` column) follow the table after a blank row.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    frame, notes = _with_notes(frame, notes)
    safe = safe_frame(frame)
    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_title(sheet_name)
    sheet.append(list(safe.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="005EB8")
    for row in safe.itertuples(index=False, name=None):
        sheet.append([_cell_value(v) for v in row])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would otherwise treat a leading '=' as a formula
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm" if (cell.value.hour or cell.value.minute) else "yyyy-mm-dd"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    for index, column in enumerate(safe.columns, start=1):
        longest = max([len(str(column))] + [len(str(v)) for v in safe.iloc[:200, index - 1] if v is not None])
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(max(10, longest + 2), 60)
    sheet.freeze_panes = "A2"
    if notes:
        sheet.append([])
        for note in notes:
            sheet.append([neutralise(note)])
            sheet.cell(row=sheet.max_row, column=1).data_type = "s"
            sheet.cell(row=sheet.max_row, column=1).font = Font(italic=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
