"""Who has not recorded what: the local values expected from each PCN and practice in ended periods."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Iterable, Mapping

import pandas as pd

from .. import local, queries
from ..store import Store
from .practices import _members
from .publications import _day

LOCAL_PERIODS = 12  # the ended periods of each local measure in which a missing value is a gap to chase


GAP_COLUMNS = ["measure", "measure_label", "level", "pcn", "pcn_name", "org", "org_name", "period_start",
               "period_end"]


def local_submissions(store: Store, pcn_codes: tuple[str, ...], day: date,
                      periods: int = LOCAL_PERIODS) -> pd.DataFrame:
    """Every value of a local measure expected from a PCN or member practice, and whether it is recorded (`recorded`),
    for each of the measure's latest `periods` periods ended by `day` (none before it was first defined in the app).

    Who is expected is who records: the PCN for a PCN-level measure while it is open, each practice that was a
    member on the period's first day for a practice-level one (as the Local measures grid lists them).
    """
    catalogue = local.catalogue_with_local(store)
    hierarchy = queries.pcns(store)
    icb_of = {row.pcn: (row.icb if isinstance(row.icb, str) else None) for row in hierarchy.itertuples()}
    # A neighbourhood's measures are recorded for the neighbourhood, not by each PCN or practice.
    measures = [m for m in catalogue if m.family in local.LOCAL_FAMILIES and m.status != "retired"
                and m.level != "neighbourhood"]
    with store.reader() as con:
        members = _members(con, pcn_codes)
        orgs = sorted(set(members["practice"]) | set(pcn_codes))
        organisations = con.execute(
            "SELECT org_code, name, open_date, close_date FROM organisations WHERE org_code IN (SELECT unnest($o))",
            {"o": orgs}).df()
        defined = dict(con.execute("SELECT measure_id, min(created_at) FROM local_measures GROUP BY 1").fetchall())
        recorded = con.execute(
            "SELECT DISTINCT measure_id AS measure, org_code AS org, period_start FROM observations "
            "WHERE measure_id IN (SELECT unnest($m)) AND org_code IN (SELECT unnest($o)) AND numerator IS NOT NULL",
            {"m": [m.id for m in measures], "o": orgs}).df()
    expected = expected_submissions(measures, pcn_codes, icb_of, members, organisations, day, periods,
                                    {k: _day(v) for k, v in defined.items()})
    return mark_recorded(expected, recorded)


def expected_submissions(measures: list, pcn_codes: Iterable[str], icb_of: Mapping[str, str | None],
                         members: pd.DataFrame, organisations: pd.DataFrame, day: date, periods: int,
                         defined: Mapping[str, date | None] | None = None) -> pd.DataFrame:
    """One row per measure, organisation and ended period in which a value is expected (see `local_submissions`)."""
    names = dict(zip(organisations["org_code"], organisations["name"]))
    spans = {row.org_code: (_day(row.open_date), _day(row.close_date)) for row in organisations.itertuples()}
    spells = defaultdict(list)  # pcn -> [(practice, start, end)]
    for row in members.itertuples():
        spells[row.pcn].append((row.practice, _day(row.start_date), _day(row.end_date)))
    rows = []
    for pcn in pcn_codes:
        opened, closed = spans.get(pcn, (None, None))
        for measure in measures:
            if not local.applies_to(measure, pcn, icb_of.get(pcn)):
                continue
            first = (defined or {}).get(measure.id)
            for start in local.recent_periods(measure, periods, day):
                end = local.period_end(measure, start)
                if first is not None and end < first:
                    continue  # the period was over before the measure existed
                if (opened and start < opened) or (closed and start > closed):
                    continue
                orgs = [pcn] if measure.level == "pcn" else sorted(
                    code for code, joined, left in spells[pcn] if joined <= start and (left is None or left >= start))
                rows += [(measure.id, measure.label, measure.level, pcn, names.get(pcn), org, names.get(org), start,
                          end) for org in orgs]
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


def mark_recorded(expected: pd.DataFrame, recorded: pd.DataFrame) -> pd.DataFrame:
    """The expected rows with `recorded`: whether a value is held (`recorded`: measure, org, period_start)."""
    if expected.empty:
        return pd.DataFrame(columns=[*GAP_COLUMNS, "recorded"])
    have = recorded.assign(period_start=pd.to_datetime(recorded["period_start"]).dt.date, recorded=True)
    merged = expected.merge(have[["measure", "org", "period_start", "recorded"]].drop_duplicates(),
                            on=["measure", "org", "period_start"], how="left")
    merged["recorded"] = merged["recorded"].fillna(False).astype(bool)
    return merged[[*GAP_COLUMNS, "recorded"]].reset_index(drop=True)


def gaps_summary(submissions: pd.DataFrame, *, published_only: bool = False) -> str:
    """How many expected values are missing, in words; `published_only`: the reader sees published periods only."""
    if submissions.empty:
        if published_only:
            return "No period these PCNs have published is missing a local value."
        return "No local measure applies to these PCNs in the periods that have ended."
    missing = int((~submissions["recorded"].astype(bool)).sum())
    where = "published periods among the" if published_only else "the"
    return (f"{missing:,} of {len(submissions):,} values expected in {where} last {LOCAL_PERIODS} ended periods of "
            "each measure are not recorded.")


def gap_table(submissions: pd.DataFrame) -> pd.DataFrame:
    """One row per measure and organisation with a missing value, the most periods missing first."""
    columns = ["Measure", "Level", "PCN", "Organisation", "Code", "Periods missing", "Latest missing",
               "Missing periods"]
    gaps = submissions[~submissions["recorded"].astype(bool)] if "recorded" in submissions else submissions
    if gaps.empty:
        return pd.DataFrame(columns=columns)
    ordered = gaps.sort_values("period_start", ascending=False)
    grouped = ordered.groupby(["measure", "org"], sort=False)
    frame = grouped.agg(measure_label=("measure_label", "first"), level=("level", "first"), pcn=("pcn", "first"),
                        pcn_name=("pcn_name", "first"), org_name=("org_name", "first"),
                        missing=("period_start", "size"), latest=("period_start", "max"),
                        periods=("period_start", lambda days: ", ".join(f"{d:%b %Y}" for d in days))).reset_index()
    frame = frame.sort_values(["missing", "latest", "pcn", "org"], ascending=[False, False, True, True])
    return pd.DataFrame({
        "Measure": frame["measure_label"], "Level": frame["level"].map({"pcn": "PCN", "practice": "practice"}),
        "PCN": frame["pcn_name"].fillna(frame["pcn"]), "Organisation": frame["org_name"].fillna(frame["org"]),
        "Code": frame["org"], "Periods missing": frame["missing"],
        "Latest missing": [f"{d:%b %Y}" for d in frame["latest"]], "Missing periods": frame["periods"],
    }).reset_index(drop=True)

