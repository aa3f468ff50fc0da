"""Short caveats for measure cards and charts where a PCN value rests on only some of its practices."""

from __future__ import annotations

from datetime import date
from typing import Iterable

import pandas as pd

from .. import local
from ..store import Store
from .practices import _listed, _members, members_at
from .publications import _day, period_text


COMPLETENESS_COLUMNS = ["measure", "period_start", "period_end", "members", "reporting", "missing",
                        "missing_practices"]


def practice_completeness(store: Store, pcn_code: str) -> pd.DataFrame:
    """For each practice-level measure and period with a PCN value: its member practices and how many have a value.

    Members are taken on the period's first day for local measures (as they are recorded and summed) and on its
    last for published ones (the date the publication's figure is as at).
    """
    catalogue = local.catalogue_with_local(store)
    practice_ids = [m.id for m in catalogue if m.level == "practice"]
    with store.reader() as con:
        members = _members(con, [pcn_code])
        periods = con.execute(
            "SELECT DISTINCT measure_id AS measure, period_start, period_end FROM observations "
            "WHERE org_code = ? AND org_level = 'pcn' AND measure_id IN (SELECT unnest(?)) AND value IS NOT NULL",
            [pcn_code, practice_ids]).df()
        reported = con.execute(
            "SELECT DISTINCT measure_id AS measure, org_code AS practice, period_start, period_end FROM observations "
            "WHERE org_level = 'practice' AND measure_id IN (SELECT unnest(?)) AND org_code IN (SELECT unnest(?)) "
            "AND numerator IS NOT NULL", [practice_ids, sorted(set(members["practice"]))]).df()
    local_ids = {m.id for m in catalogue if m.family in local.LOCAL_FAMILIES}
    return completeness(periods, members, reported, local_ids)


def completeness(periods: pd.DataFrame, members: pd.DataFrame, reported: pd.DataFrame,
                 local_ids: Iterable[str] = ()) -> pd.DataFrame:
    """From plain frames: `periods` (measure, period_start, period_end), `members` (pcn, practice, start_date,
    end_date) and `reported` (measure, practice, period_start, period_end: practices with a value)."""
    if periods.empty:
        return pd.DataFrame(columns=COMPLETENESS_COLUMNS)
    local_ids = set(local_ids)
    periods = periods.assign(period_start=pd.to_datetime(periods["period_start"]),
                             period_end=pd.to_datetime(periods["period_end"]))
    periods["as_at"] = periods["period_start"].where(periods["measure"].isin(local_ids), periods["period_end"])
    expected = members_at(members, periods, on="as_at")
    keys = ["measure", "period_start", "period_end"]
    have = reported.assign(period_start=pd.to_datetime(reported["period_start"]),
                           period_end=pd.to_datetime(reported["period_end"]), have=True)[[*keys, "practice", "have"]]
    expected = expected.merge(have.drop_duplicates(), on=[*keys, "practice"], how="left")
    expected["have"] = expected["have"].fillna(False).astype(bool)
    missing = (expected[~expected["have"]].sort_values("practice").groupby(keys)["practice"]
               .agg(lambda codes: _listed(list(codes))).rename("missing_practices"))
    counted = expected.groupby(keys).agg(members=("practice", "nunique"), reporting=("have", "sum"))
    frame = periods[keys].merge(counted.reset_index(), on=keys, how="left").merge(missing.reset_index(), on=keys,
                                                                                 how="left")
    frame["members"] = frame["members"].fillna(0).astype(int)
    frame["reporting"] = frame["reporting"].fillna(0).astype(int)
    frame["missing"] = frame["members"] - frame["reporting"]
    frame["missing_practices"] = frame["missing_practices"].fillna("")
    frame["period_start"] = frame["period_start"].dt.date
    frame["period_end"] = frame["period_end"].dt.date
    return frame[COMPLETENESS_COLUMNS].sort_values(keys).reset_index(drop=True)


def caveat_text(missing: int, members: int) -> str | None:
    """`2 of 6 practices missing`, or None when every member practice is in the value."""
    if members <= 0 or missing <= 0:
        return None
    return f"{missing} of {members} practice{'s' if members != 1 else ''} missing"


def card_caveats(frame: pd.DataFrame) -> dict[tuple[str, date], str]:
    """{(measure, period_start): caveat} for every period whose PCN value leaves out some member practices."""
    caveats = {}
    for row in frame.itertuples():
        text = caveat_text(int(row.missing), int(row.members))
        if text:
            caveats[(row.measure, _day(row.period_start))] = text
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


