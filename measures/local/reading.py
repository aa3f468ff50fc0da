"""Reading an uploaded CSV or XLSX file into rows, refusing a file or cell that would be lost or misread."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from .. import limits
from .cells import _blank, _formula_problem
from .problems import Problem, RecordingError, _shown
from .templates import REQUIRED_COLUMNS, TEMPLATE_COLUMNS

# A cell of a template column is a code, a date, a number or a practice name; nothing there is this long.
MAX_CELL_CHARACTERS = 1_000

# Spreadsheet shape: Excel's last row, and the columns read (the template has 8; notes may follow).
MAX_SHEET_ROWS = 1_048_576
MAX_SHEET_COLUMNS = 100


def max_upload_mb() -> float:
    """The largest file accepted, in MB (1 MB = 1,048,576 bytes): `PCN_MAX_UPLOAD_MB`, default 5. A value that is
    not a finite number above 0 raises `limits.LimitExceeded` naming the variable (it would switch the limit off)."""
    return limits.setting("PCN_MAX_UPLOAD_MB", 5.0)


def _normalise_header(name) -> str:
    return re.sub(r"\s+", "_", str(name or "").strip().lower())


def read_table(name: str, data: bytes) -> list[tuple[int, dict]]:
    """The rows of an uploaded CSV or XLSX file as (spreadsheet row number, {column: cell}); the header is row 1.

    Refuses files over the size limit, other file types, unreadable or damaged files, missing columns, and
    cells that would be lost or misread (see `_read_upload`).
    """
    return _read_upload(name, data)[0]


def _read_upload(name: str, data: bytes) -> tuple[list[tuple[int, dict]], str | None, tuple[str, ...]]:
    """`read_table`'s rows, with the xlsx sheet that was read and the hidden sheets that were not."""
    limit = max_upload_mb()
    if len(data) > limit * 1024 * 1024:
        raise RecordingError([Problem(name, None, None, f"is {len(data) / 1024 / 1024:.1f} MB; the largest file "
                                                        f"accepted is {limit:g} MB (set by PCN_MAX_UPLOAD_MB)")])
    suffix = Path(name).suffix.lower()
    sheet, hidden = None, ()
    if suffix == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        lines = _csv_lines(name, text)
    elif suffix == ".xlsx":
        lines, sheet, hidden = _xlsx_lines(name, data)
    else:
        raise RecordingError([Problem(name, None, None, "is not a CSV or XLSX file; download a template and fill it in")])
    if not lines:
        raise RecordingError([Problem(name, None, None, "is empty; it needs a header row in the template's columns")])
    header = [_normalise_header(cell) for cell in lines[0]]
    problems = []
    for column in REQUIRED_COLUMNS:
        if column not in header:
            problems.append(Problem(name, 1, column, "this column is missing; the template's columns are "
                                                     + ", ".join(TEMPLATE_COLUMNS)))
    seen = set()
    for column in header:
        if column and column in seen:
            problems.append(Problem(name, 1, column, "this column appears twice"))
        seen.add(column)
    for position, cell in enumerate(lines[0]):
        problem = _formula_problem(cell)
        if problem:
            problems.append(Problem(name, 1, header[position] or f"#{position + 1}", problem))
    if problems:
        raise RecordingError(problems)
    rows = []
    for number, cells in enumerate(lines[1:], start=2):
        if all(_blank(cell) for cell in cells):
            continue
        problems += _shape_problems(name, number, cells, header, csv_file=suffix == ".csv")
        rows.append((number, {column: cells[i] if i < len(cells) else None
                              for i, column in enumerate(header) if column}))
    if problems:
        raise RecordingError(problems)
    return rows, sheet, hidden


def _column_label(header: list[str], position: int) -> str:
    """A column as messages name it: its heading, or its position (and letter) where it has none."""
    if position < len(header) and header[position]:
        return header[position]
    from openpyxl.utils import get_column_letter

    return f"#{position + 1} ({get_column_letter(min(position + 1, 16384))})"


def _shape_problems(name: str, number: int, cells: list, header: list[str], *, csv_file: bool) -> list[Problem]:
    """Cells of one row that would be lost or misread: beyond the header, missing, too long, or holding a line break."""
    problems = []
    named = [i for i, column in enumerate(header) if column]
    for position, cell in enumerate(cells):
        if _blank(cell):
            continue
        if position >= len(header) or not header[position]:
            problems.append(Problem(name, number, _column_label(header, position),
                                    f"{_shown(cell)} is in a column with no heading, so it would be lost; give the "
                                    "column a heading (columns not in the template are ignored) or clear the cell"))
        elif header[position] in TEMPLATE_COLUMNS and isinstance(cell, str):
            if len(cell) > MAX_CELL_CHARACTERS:
                problems.append(Problem(name, number, header[position],
                                        f"{_shown(cell)} is longer than the {MAX_CELL_CHARACTERS:,} characters "
                                        "any cell of the template holds"))
            elif csv_file and ("\n" in cell or "\r" in cell):
                problems.append(Problem(name, number, header[position],
                                        f"{_shown(cell)} holds a line break, so a quote (\") was probably left open "
                                        "and the lines after it were read into this cell; remove the stray quote"))
    if csv_file and len(cells) < len(header) and named and len(cells) <= named[-1]:
        missing = [header[i] for i in named if i >= len(cells)]
        problems.append(Problem(name, number, missing[0],
                                f"the row has {len(cells)} cell{'s' if len(cells) != 1 else ''} but the header has "
                                f"{len(header)}, so it ends before {', '.join(missing)}; give every row a cell for "
                                "each column (a comma for each empty one)"))
    return problems


def _csv_lines(name: str, text: str) -> list[list]:
    """The records of a CSV file; a quote left open, a stray quote, or an over-long cell is named by row and column."""
    stream = io.StringIO(text, newline="")
    reader = csv.reader(stream, strict=True)
    lines: list[list] = []
    while True:
        start = stream.tell()
        try:
            lines.append(next(reader))
        except StopIteration:
            return lines
        except csv.Error as exc:
            raise RecordingError([_csv_fault(name, lines, text[start:stream.tell()], str(exc))]) from None


def _csv_fault(name: str, lines: list[list], raw: str, error: str) -> Problem:
    """The problem a CSV record that cannot be read poses, at its row and, where it can be told, its column."""
    row = len(lines) + 1
    position, fault = _faulty_field(raw, csv.field_size_limit())
    header = [_normalise_header(cell) for cell in lines[0]] if lines else []
    column = _column_label(header, position) if header else f"#{position + 1}"
    if fault == "open quote":
        message = ("a quote (\") opens in this cell and is never closed, so every line after it would be read "
                   "into this one cell; close the quote or remove it")
    elif fault == "too long":
        message = (f"the cell is over {csv.field_size_limit():,} characters long, more than a CSV cell can hold "
                   f"here; no cell of the template holds more than {MAX_CELL_CHARACTERS:,}")
    else:
        message = (f"the cell has text after its closing quote ({error}); quote the whole cell, or remove the "
                   "quotes")
    return Problem(name, row, column, message)


def _faulty_field(raw: str, limit: int) -> tuple[int, str]:
    """Where a CSV record goes wrong: (field position, 'open quote' | 'too long' | 'stray quote')."""
    position = length = 0
    quoted = closed = False
    index = 0
    while index < len(raw):
        char = raw[index]
        if quoted:
            if char == '"' and raw[index + 1:index + 2] == '"':
                index += 1
                length += 1
            elif char == '"':
                quoted, closed = False, True
            else:
                length += 1
        elif char == ",":
            position, length, closed = position + 1, 0, False
        elif char in "\r\n":
            break
        elif closed:
            return position, "stray quote"
        elif char == '"' and length == 0:
            quoted = True
        else:
            length += 1
        if length > limit:
            return position, "too long"
        index += 1
    return position, "open quote" if quoted else "stray quote"


def _xlsx_lines(name: str, data: bytes) -> tuple[list[list], str, tuple[str, ...]]:
    """The rows of the sheet to read, its title, and the hidden sheets left unread.

    The sheet is the visible one named `values` (the template's), else the first visible sheet: a hidden sheet is
    never read, as the person uploading cannot see what it holds. The archive is checked before it is opened, so
    a small file that unpacks to gigabytes is refused unread.
    """
    from openpyxl import load_workbook

    def refused(message: str) -> RecordingError:
        return RecordingError([Problem(name, None, None, message)])

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            limits.check_archive(archive, name, max_mb=limits.max_upload_unpacked_mb(max_upload_mb()),
                                 setting=limits.UPLOAD_UNPACKED_MB_VAR, expected="a filled-in template")
    except limits.LimitExceeded as exc:
        raise refused(str(exc).removeprefix(f"{name}: ")) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise refused(f"is not a readable XLSX file ({type(exc).__name__})") from None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or disguised file
        raise refused(f"is not a readable XLSX file ({type(exc).__name__})") from None
    try:
        visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
        hidden = tuple(ws.title for ws in book.worksheets if ws.sheet_state != "visible")
        if not visible:
            raise refused("has no visible sheet; hidden sheets are never read, so unhide the sheet of values")
        sheet = next((ws for ws in visible if ws.title.strip().lower() == "values"), visible[0])
        # The sheet's declared size is not trusted: a tiny file may claim every cell of a sheet, and openpyxl
        # would fill each row out to it. Rows are read as written, at most MAX_SHEET_COLUMNS wide.
        sheet.reset_dimensions()
        lines: list[list] = []
        no_cells: list = []
        try:
            for row in sheet.iter_rows(max_col=MAX_SHEET_COLUMNS, values_only=True):
                if len(lines) >= MAX_SHEET_ROWS:
                    raise refused(f"the sheet {_shown(sheet.title)} has rows after row {MAX_SHEET_ROWS:,}, the "
                                  "last a spreadsheet holds; it is damaged or not a filled-in template")
                if row.count(None) == len(row):  # counted in C: a sheet may jump a million rows
                    lines.append(no_cells)  # one shared list for the empty rows a sheet may jump over
                    continue
                row = list(row)
                while row and _blank(row[-1]):
                    row.pop()
                lines.append(row)
        except RecordingError:
            raise
        except Exception as exc:  # a damaged sheet (bad XML, an entity bomb, a number that is not) fails as it is read
            raise RecordingError([Problem(name, len(lines) + 1, None,
                                          f"the sheet {_shown(sheet.title)} is damaged at or after this row "
                                          f"({type(exc).__name__}), so it cannot be read; save the file again "
                                          "from the spreadsheet, or download a new template")]) from None
    finally:
        book.close()
    while lines and all(_blank(cell) for cell in lines[-1]):
        lines.pop()
    return lines, sheet.title, hidden
