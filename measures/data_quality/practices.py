"""Which member practices of each PCN are missing from each publication, by period."""

from __future__ import annotations

from typing import Iterable, Mapping

import pandas as pd

from ..importers import list_sizes
from ..store import Store
from .publications import PUBLICATIONS, period_text

MISSING_LISTED = 20  # practice codes named in one row; the count says how many there are


COVERAGE_COLUMNS = ["pcn", "pcn_name", "publication", "short", "period_start", "period_end", "practices",
                    "with_data", "missing", "missing_practices", "pcn_figure"]


def pcns_in_scope(pcns: pd.DataFrame, pcn_code: str, whole_icb: bool) -> tuple[str, ...]:
    """The PCN alone, or every PCN of its ICB (as `queries.pcns` places them now)."""
    row = pcns[pcns["pcn"] == pcn_code]
    icb = row["icb"].iloc[0] if len(row) else None
    if not whole_icb or not isinstance(icb, str):
        return (pcn_code,)
    return tuple(pcns.loc[pcns["icb"] == icb, "pcn"])


def _members(con, pcn_codes: Iterable[str]) -> pd.DataFrame:
    return con.execute(
        "SELECT parent_code AS pcn, child_code AS practice, start_date, end_date FROM memberships "
        "WHERE parent_level = 'pcn' AND child_level = 'practice' AND parent_code IN (SELECT unnest($pcns))",
        {"pcns": list(pcn_codes)}).df()


def members_at(members: pd.DataFrame, periods: pd.DataFrame, on: str) -> pd.DataFrame:
    """Each row of `periods` with the member practices of a PCN on the date in its column `on`.

    Rows that name a practice already keep it, with the PCN it was a member of then (rows of no member are left out).
    """
    if members.empty or periods.empty:
        return periods.iloc[0:0].assign(pcn=pd.Series(dtype=object), practice=pd.Series(dtype=object))
    joined = periods.merge(members, on="practice") if "practice" in periods else periods.merge(members, how="cross")
    day = pd.to_datetime(joined[on])
    held = (pd.to_datetime(joined["start_date"]) <= day) & (joined["end_date"].isna()
                                                            | (pd.to_datetime(joined["end_date"]) >= day))
    return joined[held].drop(columns=["start_date", "end_date"]).drop_duplicates()


def coverage(store: Store, pcn_codes: tuple[str, ...]) -> pd.DataFrame:
    """For each PCN, publication and period the publication covers: the member practices with no figure of it.

    A practice counts as a member on the period's last day (the achievement, census or month end the figure is
    as at) and as having data when any of the publication's measures has a row for it, withheld figures included.
    Publications given only for PCNs (the workforce) say whether the PCN has a figure.
    """
    measured = [p for p in PUBLICATIONS if p.measures]
    of_measure = {m: p.name for p in measured for m in p.measures}
    with store.reader() as con:
        members = _members(con, pcn_codes)
        names = con.execute("SELECT org_code, name FROM organisations WHERE org_code IN (SELECT unnest($c))",
                            {"c": list(pcn_codes)}).fetchall()
        everything = list(of_measure)
        periods = con.execute(
            "SELECT DISTINCT measure_id, org_level, period_start, period_end FROM observations "
            "WHERE measure_id IN (SELECT unnest($m)) AND basis <> 'recorded'", {"m": everything}).df()
        orgs = sorted(set(members["practice"]) | set(pcn_codes))
        observed = con.execute(
            "SELECT DISTINCT measure_id, org_code AS org, period_start, period_end FROM observations "
            "WHERE measure_id IN (SELECT unnest($m)) AND basis <> 'recorded' AND org_code IN (SELECT unnest($o))",
            {"m": everything, "o": orgs}).df()
    periods["publication"] = periods["measure_id"].map(of_measure)
    observed["publication"] = observed["measure_id"].map(of_measure)
    periods = (periods.assign(practice_level=periods["org_level"] == "practice")
               .groupby(["publication", "period_start", "period_end"], as_index=False)["practice_level"].any())
    return coverage_from(members, periods, observed.drop(columns="measure_id").drop_duplicates(),
                         list(pcn_codes), dict(names))


def coverage_from(members: pd.DataFrame, periods: pd.DataFrame, observed: pd.DataFrame, pcn_codes: list[str],
                  pcn_names: Mapping[str, str]) -> pd.DataFrame:
    """The coverage rows from plain frames.

    `members`: pcn, practice, start_date, end_date. `periods`: publication, period_start, period_end, practice_level
    (the publication gives practice figures that period). `observed`: publication, org, period_start, period_end.
    """
    if periods.empty or not pcn_codes:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    keys = ["publication", "period_start", "period_end"]
    for frame in (periods, observed):
        for column in ("period_start", "period_end"):
            frame[column] = pd.to_datetime(frame[column])
    grid = periods.merge(pd.DataFrame({"pcn": pcn_codes}), how="cross")
    expected = members_at(members, periods, on="period_end")
    seen = observed.rename(columns={"org": "practice"}).assign(seen=True)
    expected = expected.merge(seen, on=[*keys, "practice"], how="left")
    expected["seen"] = expected["seen"].fillna(False).astype(bool)
    counted = expected.groupby([*keys, "pcn"]).agg(practices=("practice", "size"), with_data=("seen", "sum"))
    absent = (expected[~expected["seen"]].sort_values("practice").groupby([*keys, "pcn"])["practice"]
              .agg(lambda codes: _listed(list(codes))).rename("missing_practices"))
    figures = observed[observed["org"].isin(pcn_codes)].rename(columns={"org": "pcn"})[[*keys, "pcn"]]
    figures = figures.drop_duplicates().assign(pcn_figure=True)
    frame = (grid.merge(counted.reset_index(), on=[*keys, "pcn"], how="left")
             .merge(absent.reset_index(), on=[*keys, "pcn"], how="left")
             .merge(figures, on=[*keys, "pcn"], how="left"))
    frame["practices"] = frame["practices"].fillna(0).astype(int)
    frame["with_data"] = frame["with_data"].fillna(0).astype(int).where(frame["practice_level"])
    frame["missing"] = (frame["practices"] - frame["with_data"]).where(frame["practice_level"])
    frame["missing_practices"] = frame["missing_practices"].where(frame["practice_level"], "figures by PCN only")
    frame["missing_practices"] = frame["missing_practices"].fillna("")
    frame["pcn_figure"] = frame["pcn_figure"].fillna(False).astype(bool)
    short = {p.name: p.short for p in PUBLICATIONS}
    frame = frame.assign(pcn_name=frame["pcn"].map(pcn_names), short=frame["publication"].map(short))
    frame["period_start"] = frame["period_start"].dt.date
    frame["period_end"] = frame["period_end"].dt.date
    order = frame.assign(_gap=frame["missing"].fillna((~frame["pcn_figure"]).astype(int)))
    order = order.sort_values(["period_end", "_gap", "pcn", "publication"], ascending=[False, False, True, True])
    return order[COVERAGE_COLUMNS].reset_index(drop=True)


def _listed(codes: list[str]) -> str:
    if len(codes) <= MISSING_LISTED:
        return ", ".join(codes)
    return ", ".join(codes[:MISSING_LISTED]) + f" and {len(codes) - MISSING_LISTED:,} more"


def incomplete(frame: pd.DataFrame) -> pd.DataFrame:
    """The coverage rows with a gap: a member practice missing, or no PCN figure where practices give none."""
    gap = frame["missing"].fillna(0).gt(0) | (frame["missing"].isna() & ~frame["pcn_figure"].astype(bool))
    return frame[gap]


def without_list_size(frame: pd.DataFrame) -> pd.DataFrame:
    """The coverage rows of the list sizes: member practices with no list size in a month list sizes are loaded for."""
    rows = frame[frame["publication"] == list_sizes.PUBLICATION]
    return rows[rows["missing"].fillna(0).gt(0)]


def coverage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Coverage rows as shown and downloaded."""
    practice_level = frame["missing"].notna()
    return pd.DataFrame({
        "PCN": frame["pcn_name"].fillna(frame["pcn"]), "Code": frame["pcn"],
        "Publication": frame["short"],
        "Period": [period_text(s, e) for s, e in zip(frame["period_start"], frame["period_end"])],
        "Member practices": frame["practices"],
        "With data": frame["with_data"].astype("Int64"),
        "Missing": frame["missing"].astype("Int64"),
        "Missing practices": frame["missing_practices"],
        "PCN figure": ["yes" if f else ("no" if not p else "") for f, p in zip(frame["pcn_figure"], practice_level)],
    })


def coverage_summary(frame: pd.DataFrame) -> str:
    rows, gaps = len(frame), len(incomplete(frame))
    if not rows:
        return "No publication with figures by practice or PCN is loaded yet."
    return (f"{gaps:,} of {rows:,} PCN, publication and period rows have a gap; the rest are complete. A practice "
            "is counted where it was a member on the period's last day.")

