"""The template to fill in (CSV or XLSX), prefilled with the values held now, and the in-app grid's rows."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Iterable

import pandas as pd

from ..catalogue import Measure
from ..store import Store
from .cells import _number_text
from .common import _unregister
from .definitions import _resolve
from .periods import _organisations_for, period_end

# The template's columns, in order. On upload only REQUIRED_COLUMNS must be present; others are ignored.
TEMPLATE_COLUMNS = ["measure_id", "measure_version", "period_start", "period_end", "org_code", "org_name",
                    "numerator", "denominator"]
REQUIRED_COLUMNS = ("measure_id", "period_start", "org_code", "numerator", "denominator")


def _current_values(con, measure: Measure, keys: pd.DataFrame) -> pd.DataFrame:
    """The value held now for each (org_code, period_start) in keys: recorded, or from any other source."""
    con.register("_keys", keys[["org_code", "period_start"]].assign(period_start=pd.to_datetime(keys["period_start"])))
    try:
        return con.execute(
            """
            SELECT k.org_code, CAST(k.period_start AS DATE) AS period_start, o.numerator, o.denominator
            FROM _keys k
            LEFT JOIN (
                SELECT * FROM observations WHERE measure_id = ? AND measure_version = ?
                QUALIFY row_number() OVER (PARTITION BY org_code, period_start ORDER BY import_id DESC) = 1
            ) o ON o.org_code = k.org_code AND o.period_start = CAST(k.period_start AS DATE)
            """, [measure.id, measure.version]).df()
    finally:
        _unregister(con, "_keys")


def template_frame(store: Store, measure_id: str, pcn_code: str, periods: Iterable[date]) -> pd.DataFrame:
    """The template's rows: one per organisation and period, prefilled with the values held now (blank where none).

    For a practice-level measure the organisations are the PCN's member practices at each period's start.
    """
    with store.reader() as con:
        measure = _resolve(con, measure_id)
        frames = []
        for start in sorted(periods):
            orgs = _organisations_for(con, measure, pcn_code, start)
            frames.append(orgs.assign(period_start=start, period_end=period_end(measure, start)))
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["org_code", "org_name",
                                                                                          "period_start", "period_end"])
        if frame.empty:
            current = pd.DataFrame(columns=["org_code", "period_start", "numerator", "denominator"])
        else:
            current = _current_values(con, measure, frame)
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    current["period_start"] = pd.to_datetime(current["period_start"]).dt.date
    frame = frame.merge(current, on=["org_code", "period_start"], how="left")
    frame["measure_id"] = measure.id
    frame["measure_version"] = measure.version
    frame["period_end"] = pd.to_datetime(frame["period_end"]).dt.date
    return frame[TEMPLATE_COLUMNS].astype({"numerator": "float64", "denominator": "float64"})


def _safe_text(value):
    """Text written into a download never starts like a formula (a name such as '=Health' gets a leading quote)."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def template_csv(frame: pd.DataFrame) -> bytes:
    """The template as CSV (UTF-8 with a byte-order mark, so Excel reads names correctly)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TEMPLATE_COLUMNS)
    for row in frame[TEMPLATE_COLUMNS].itertuples(index=False):
        writer.writerow([row.measure_id, row.measure_version, row.period_start.isoformat(), row.period_end.isoformat(),
                         row.org_code, _safe_text(row.org_name), _number_text(row.numerator),
                         _number_text(row.denominator)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(frame: pd.DataFrame, measure: Measure) -> bytes:
    """The template as XLSX: a `values` sheet in the template columns and an `about` sheet with the definition."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "values"
    sheet.append(TEMPLATE_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="005EB8")
    for row in frame[TEMPLATE_COLUMNS].itertuples(index=False):
        sheet.append([row.measure_id, int(row.measure_version), row.period_start, row.period_end, row.org_code,
                      _safe_text(row.org_name),
                      None if pd.isna(row.numerator) else float(row.numerator),
                      None if pd.isna(row.denominator) else float(row.denominator)])
    for cells in sheet.iter_rows(min_row=2, min_col=3, max_col=4):
        for cell in cells:
            cell.number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEFGH", (34, 16, 12, 12, 10, 36, 12, 12)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"

    about = book.create_sheet("about")
    lines = [
        ("Measure", f"{measure.name} ({measure.id}, version {measure.version})"),
        ("Numerator", measure.numerator.definition),
        ("Denominator", measure.denominator.definition if measure.denominator else "none: a count has no denominator"),
        ("Unit", measure.unit),
        ("How to fill it in", "Type numbers into the numerator and denominator columns of the values sheet, one row "
                              "per organisation and period. Leave both blank where you have nothing to record. "
                              "Do not add formulas: cells starting with =, +, - or @ that are not plain numbers "
                              "are refused."),
        ("Upload", "On the Local measures page (Upload a file), or `python -m measures record FILE`."),
    ]
    for label, text in lines:
        about.append([label, _safe_text(text)])
        about.cell(row=about.max_row, column=1).font = Font(bold=True)
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 110
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def grid_frame(store: Store, measure_id: str, pcn_code: str, period: date) -> pd.DataFrame:
    """One period's values for the in-app grid: org_code, org_name, numerator, denominator."""
    frame = template_frame(store, measure_id, pcn_code, [period])
    return frame[["org_code", "org_name", "numerator", "denominator"]].reset_index(drop=True)
