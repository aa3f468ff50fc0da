"""How many of each sub-ICB's open practices the appointments figures include, month by month (the NHS caveat)."""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from ..local.common import _has_table
from ..store import Store

NHS_COVERAGE_COLUMNS = ["sub_icb", "sub_icb_name", "period_start", "included_practices", "open_practices",
                        "included_patients", "open_patients", "partial"]
NO_COVERAGE_FILE = ("No appointments coverage file is loaded for these sub-ICBs: import the coverage file published "
                    "with Appointments in General Practice to see how many of their open practices each month's "
                    "figures include.")


def sub_icbs_in_scope(pcns: pd.DataFrame, pcn_codes: Iterable[str]) -> tuple[str, ...]:
    """The sub-ICBs the PCNs are in now (as `queries.pcns` places them)."""
    rows = pcns[pcns["pcn"].isin(list(pcn_codes))]
    return tuple(sorted({code for code in rows["sub_icb"] if isinstance(code, str)}))


def appointment_coverage(store: Store, sub_icb_codes: tuple[str, ...]) -> pd.DataFrame:
    """Each sub-ICB's months in the coverage file: practices and patients included in the appointments figures
    against those open. Empty where no coverage file is loaded, or the store was built before it could hold one."""
    with store.reader() as con:
        if not _has_table(con, "appointment_coverage"):
            return pd.DataFrame(columns=NHS_COVERAGE_COLUMNS)
        rows = con.execute(
            "SELECT c.sub_icb_code AS sub_icb, o.name AS sub_icb_name, c.period_start, c.included_practices, "
            "c.open_practices, c.included_patients, c.open_patients FROM appointment_coverage c "
            "LEFT JOIN organisations o ON o.org_code = c.sub_icb_code WHERE c.sub_icb_code IN (SELECT unnest($s))",
            {"s": list(sub_icb_codes)}).df()
    return coverage_rows(rows)


def coverage_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The coverage file's rows, newest month first, with `partial`: fewer practices included than open."""
    if rows.empty:
        return pd.DataFrame(columns=NHS_COVERAGE_COLUMNS)
    frame = rows.assign(period_start=pd.to_datetime(rows["period_start"]).dt.date)
    for column in ("included_practices", "open_practices", "included_patients", "open_patients"):
        frame[column] = frame[column].astype("Int64")
    frame["partial"] = (frame["included_practices"] < frame["open_practices"]).fillna(False).astype(bool)
    frame = frame.sort_values(["period_start", "sub_icb"], ascending=[False, True])
    return frame[NHS_COVERAGE_COLUMNS].reset_index(drop=True)


def included_text(included, open_) -> str:
    """`185 of 189 open practices included`, or what is not given."""
    if pd.isna(included) or pd.isna(open_):
        return "not given in the file"
    return f"{int(included):,} of {int(open_):,} open practice{'s' if int(open_) != 1 else ''} included"


def nhs_coverage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The coverage rows as shown and downloaded."""
    return pd.DataFrame({
        "Sub-ICB": frame["sub_icb_name"].fillna(frame["sub_icb"]), "Code": frame["sub_icb"],
        "Month": [f"{pd.Timestamp(d):%B %Y}" for d in frame["period_start"]],
        "Practices included": [included_text(i, o) for i, o in zip(frame["included_practices"],
                                                                   frame["open_practices"])],
        "Included practices": frame["included_practices"], "Open practices": frame["open_practices"],
        "Patients at included practices": frame["included_patients"],
        "Patients at open practices": frame["open_patients"],
        "Caveat": ["some open practices' appointments are not in the figures" if p else ""
                   for p in frame["partial"]],
    })


def nhs_coverage_summary(frame: pd.DataFrame) -> str:
    if frame.empty:
        return NO_COVERAGE_FILE
    partial = int(frame["partial"].sum())
    if not partial:
        return f"Every open practice is included in each of the {len(frame):,} sub-ICB months loaded."
    return (f"In {partial:,} of {len(frame):,} sub-ICB months loaded the appointments figures include fewer "
            "practices than are open: appointments at the practices left out are not counted, so totals and "
            "rates there may be understated.")


def coverage_line(frame: pd.DataFrame, sub_icb: str | None) -> str | None:
    """The sub-ICB's latest month in the coverage file, in words; None where it has none."""
    rows = frame[frame["sub_icb"] == sub_icb] if sub_icb else frame.iloc[0:0]
    if rows.empty:
        return None
    latest = rows.sort_values("period_start").iloc[-1]
    name = latest["sub_icb_name"] if isinstance(latest["sub_icb_name"], str) else latest["sub_icb"]
    text = (f"Appointments coverage in {name}, {pd.Timestamp(latest['period_start']):%B %Y}: "
            f"{included_text(latest['included_practices'], latest['open_practices'])}")
    if latest["partial"]:
        text += " (appointments at the practices left out are not in the figures)"
    return text
