"""Short caveats for measure cards and charts where a PCN value rests on only some of its practices."""

from __future__ import annotations

from datetime import date
from typing import Sequence

import pandas as pd

from .. import local
from ..store import Store
from .practices import _listed
from .publications import _day, period_text


COMPLETENESS_COLUMNS = ["measure", "period_start", "period_end", "members", "reporting", "missing",
                        "missing_practices"]


# Each practice-level measure and period with a PCN value, for the PCNs in $pcns: its member practices then (on
# the period's first day for local measures, as they are recorded and summed; on its last for published ones, the
# date the publication's figure is as at) and which of them have a value. One statement in DuckDB: the same work in
# pandas (merges and a grouped list per period) took 45 ms of a 64 ms read for one PCN at national scale.
_COMPLETENESS = """
    WITH periods AS (
        SELECT DISTINCT org_code AS pcn, measure_id, period_start, period_end,
               CASE WHEN list_contains($local, measure_id) THEN period_start ELSE period_end END AS as_at
        FROM observations
        WHERE org_level = 'pcn' AND list_contains($pcns, org_code) AND list_contains($ids, measure_id)
          AND value IS NOT NULL
    ),
    expected AS (
        SELECT DISTINCT p.pcn, p.measure_id, p.period_start, p.period_end, m.child_code AS practice
        FROM periods p
        JOIN memberships m ON m.parent_code = p.pcn AND m.parent_level = 'pcn' AND m.child_level = 'practice'
             AND m.start_date <= p.as_at AND (m.end_date IS NULL OR m.end_date >= p.as_at)
    ),
    reported AS (
        SELECT DISTINCT measure_id, org_code AS practice, period_start, period_end FROM observations
        WHERE org_level = 'practice' AND list_contains($ids, measure_id) AND numerator IS NOT NULL
          AND org_code IN (SELECT practice FROM expected)
    ),
    judged AS (
        SELECT e.*, r.practice IS NOT NULL AS have FROM expected e
        LEFT JOIN reported r ON r.measure_id = e.measure_id AND r.practice = e.practice
             AND r.period_start = e.period_start AND r.period_end IS NOT DISTINCT FROM e.period_end
    )
    SELECT p.pcn, p.measure_id, p.period_start, p.period_end, count(DISTINCT j.practice) AS members,
           count(DISTINCT j.practice) FILTER (WHERE j.have) AS reporting,
           list(DISTINCT j.practice ORDER BY j.practice) FILTER (WHERE NOT j.have) AS missing
    FROM periods p
    LEFT JOIN judged j ON j.pcn = p.pcn AND j.measure_id = p.measure_id AND j.period_start = p.period_start
         AND j.period_end IS NOT DISTINCT FROM p.period_end
    GROUP BY ALL
    {having}
    ORDER BY p.pcn, p.measure_id, p.period_start, p.period_end
"""


def completeness_rows(store: Store, pcn_codes: Sequence[str], catalogue, *, incomplete_only: bool = False) -> list:
    """(pcn, measure, period_start, period_end, members, reporting, missing practice codes) for each practice-level
    measure of `catalogue` and period with a value of each PCN; with `incomplete_only`, only those missing some."""
    practice_ids = [m.id for m in catalogue if m.level == "practice"]
    local_ids = sorted(m.id for m in catalogue if m.family in local.LOCAL_FAMILIES)
    having = "HAVING count(DISTINCT j.practice) > count(DISTINCT j.practice) FILTER (WHERE j.have)" \
        if incomplete_only else ""
    with store.reader() as con:
        return con.execute(_COMPLETENESS.format(having=having),
                           {"local": local_ids, "pcns": list(pcn_codes), "ids": practice_ids}).fetchall()


def practice_completeness(store: Store, pcn_code: str) -> pd.DataFrame:
    """For each practice-level measure and period with a PCN value: its member practices and how many have a value.

    Members are taken on the period's first day for local measures (as they are recorded and summed) and on its
    last for published ones (the date the publication's figure is as at).
    """
    rows = completeness_rows(store, [pcn_code], local.catalogue_with_local(store))
    # Column by column, the days as DuckDB gives them: converting each through pandas was 4 ms of a PCN's 1,000 rows.
    if not rows:
        return pd.DataFrame(columns=COMPLETENESS_COLUMNS).astype({"members": int, "reporting": int, "missing": int})
    _, measures, starts, ends, members, reporting, missing = (list(column) for column in zip(*rows))
    members, reporting = [int(n) for n in members], [int(n) for n in reporting]
    return pd.DataFrame({
        "measure": pd.Series(measures, dtype="str"), "period_start": [_as_day(d) for d in starts],
        "period_end": [_as_day(d) for d in ends], "members": pd.Series(members, dtype=int),
        "reporting": pd.Series(reporting, dtype=int),
        "missing": pd.Series([m - r for m, r in zip(members, reporting)], dtype=int),
        "missing_practices": pd.Series([_listed(list(codes or [])) for codes in missing], dtype="str"),
    }, columns=COMPLETENESS_COLUMNS)


def _as_day(value) -> date | None:
    return value if type(value) is date else _day(value)


def caveat_text(missing: int, members: int) -> str | None:
    """`2 of 6 practices missing`, or None when every member practice is in the value."""
    if members <= 0 or missing <= 0:
        return None
    return f"{missing} of {members} practice{'s' if members != 1 else ''} missing"


def card_caveats(frame: pd.DataFrame) -> dict[tuple[str, date], str]:
    """{(measure, period_start): caveat} for every period whose PCN value leaves out some member practices."""
    caveats = {}
    # Over the columns' lists: row by row, pandas boxed each of a PCN's thousand rows (2-4 ms of every Overview run).
    for measure, start, missing, members in zip(*(frame[c].tolist() for c in ("measure", "period_start", "missing",
                                                                                 "members"))):
        text = caveat_text(int(missing), int(members))
        if text:
            caveats[(measure, _day(start))] = text
    return caveats


def chart_caveat(frame: pd.DataFrame, measure_id: str, latest: int = 3) -> str | None:
    """A chart footnote naming the latest periods whose value leaves out member practices, or None."""
    rows = frame[(frame["measure"] == measure_id) & (frame["missing"] > 0) & (frame["members"] > 0)]
    if rows.empty:
        return None
    rows = rows.sort_values("period_start", ascending=False)
    named = [f"{period_text(r.period_start, r.period_end)} ({caveat_text(int(r.missing), int(r.members))})"
             for r in rows.head(latest).itertuples()]
    earlier = len(rows) - latest
    more = f" and {earlier} earlier period{'s' if earlier != 1 else ''}" if earlier > 0 else ""
    return f"Incomplete data: {'; '.join(named)}{more}."


