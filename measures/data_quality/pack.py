"""The board pack's data page for one PCN, from the Data page's reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from .. import queries
from ..store import Store
from .caveats import caveat_text
from .nhs_coverage import appointment_coverage, coverage_line
from .practices import coverage, incomplete
from .publications import freshness, publications, today
from .submissions import gap_table, local_submissions
from .unknowns import appointment_unknowns, unmapped_line


DATA_PAGE = "The data behind this pack"
LOCAL_GAPS_IN_PACK = 8
DATA_HEADERS = ("Publication", "Latest period", "Where it stands", "This PCN's latest period")
APPOINTMENTS_CAVEATS = "How complete the appointments figures are"


@dataclass(frozen=True)
class DataPage:
    """A page of the board pack: each publication's latest file and whether this PCN's practices are all in it."""

    judged_on: date
    rows: tuple[tuple[str, str, str, str], ...]
    local_gaps: tuple[str, ...]  # "MDT case reviews: 2 periods not recorded (latest Sep 2026)"
    # The NHS coverage of the PCN's sub-ICB and the PCN's unmapped category share, each where the store holds it
    appointments: tuple[str, ...] = ()
    headers = DATA_HEADERS
    appointments_heading = APPOINTMENTS_CAVEATS

    @property
    def heading(self) -> str:
        return (f"Judged on {self.judged_on.day} {self.judged_on:%B %Y}: how current each publication is, and "
                "whether the PCN's latest figure of each rests on all its member practices")


def data_page(store: Store, pcn_code: str, day: date | None = None) -> DataPage:
    """The pack's data page for one PCN, from the same reads as the Data page."""
    day = day or today()
    judged = freshness(publications(store), day)
    latest = coverage(store, (pcn_code,))
    gaps = incomplete(latest)
    rows = []
    for row in judged.itertuples():
        own = latest[latest["publication"] == row.publication]
        if own.empty:
            standing = "–"
        else:
            newest = own.sort_values("period_end").iloc[-1]
            missing = gaps[(gaps["publication"] == row.publication) & (gaps["period_end"] == newest["period_end"])]
            standing = (caveat_text(int(missing["missing"].iloc[0]), int(missing["practices"].iloc[0]))
                        if len(missing) and pd.notna(missing["missing"].iloc[0]) and missing["missing"].iloc[0] > 0
                        else "all member practices in it")
        rows.append((str(row.short), str(row.latest_text or "none loaded"), str(row.status), str(standing)))
    submissions = local_submissions(store, (pcn_code,), day)
    table = gap_table(submissions) if len(submissions) else pd.DataFrame()
    notes = [f"{r['Measure']}: {r['Organisation']} ({r['Code']}), {r['Periods missing']} ended "
             f"period{'s' if r['Periods missing'] != 1 else ''} not recorded ({r['Missing periods']})"
             for r in table.head(LOCAL_GAPS_IN_PACK).to_dict("records")]
    if len(table) > LOCAL_GAPS_IN_PACK:
        notes.append(f"… and {len(table) - LOCAL_GAPS_IN_PACK:,} more on the Data page.")
    return DataPage(judged_on=day, rows=tuple(rows), local_gaps=tuple(notes),
                    appointments=appointment_caveats(store, pcn_code))


def appointment_caveats(store: Store, pcn_code: str) -> tuple[str, ...]:
    """The coverage line of the PCN's sub-ICB and the PCN's unmapped category share, where the store holds them."""
    place = queries.pcn(store, pcn_code) or {}
    sub_icb = place.get("sub_icb") if isinstance(place.get("sub_icb"), str) else None
    lines = [coverage_line(appointment_coverage(store, (sub_icb,) if sub_icb else ()), sub_icb),
             unmapped_line(appointment_unknowns(store, (pcn_code,)), pcn_code)]
    return tuple(line for line in lines if line)
