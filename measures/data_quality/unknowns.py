"""The share of each PCN's appointments a month whose status, interval, mode, staff type or category is unknown."""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from ..importers import appointments
from ..store import Store
from .practices import _members, members_at
from .publications import CATEGORY_MEASURE


# Which appointments measure carries each total per practice and month (the importer's numerator and denominator);
# the first measure named with a total keeps it, so the count of appointments stays that of the per-1,000 rate.
_APPOINTMENT_PARTS = {part: (measure, side) for measure, parts in reversed(appointments.MEASURES.items())
                      for side, part in zip(("numerator", "denominator"), parts)}
UNKNOWN_PARTS = {"status": "status_known", "interval": "interval_known", "mode": "mode_known",
                 "staff": "staff_known"}
UNKNOWN_NAMES = {"status": "Unknown status (%)", "interval": "Unknown booking interval (%)",
                 "mode": "Unknown mode (%)", "staff": "Unknown staff type (%)",
                 "category": "Unmapped or inconsistently mapped category (%)"}
NOT_STORED = ("Where the unmapped or inconsistently mapped category share is empty, that month's appointments were "
              "imported before the importer kept the share apart: import the month's practice-level file again to "
              "show it.")
DEMO_UNKNOWNS = ("Unknown shares are not shown for the synthetic demo: it draws each appointment measure's figures "
                 "on their own, so they do not add up the way a published file's do.")


def appointment_parts(store: Store, pcn_codes: tuple[str, ...]) -> pd.DataFrame:
    """Each member practice's appointments a month, and those with a known status, interval, mode and staff type
    and a mapped national category (with its own total, `category_total`, so the share needs no other measure)."""
    wanted = {"appointments": _APPOINTMENT_PARTS["total"],
              **{name: _APPOINTMENT_PARTS[part] for name, part in UNKNOWN_PARTS.items()},
              "category": (CATEGORY_MEASURE, "numerator"), "category_total": (CATEGORY_MEASURE, "denominator")}
    with store.reader() as con:
        members = _members(con, pcn_codes)
        rows = con.execute(
            "SELECT org_code AS practice, period_start, period_end, measure_id, numerator, denominator "
            "FROM observations WHERE org_level = 'practice' AND measure_id IN (SELECT unnest($m)) "
            "AND org_code IN (SELECT unnest($o))",
            {"m": sorted({measure for measure, _ in wanted.values()}), "o": sorted(set(members["practice"]))}).df()
    keys = ["practice", "period_start", "period_end"]
    parts = rows[keys].drop_duplicates()
    for name, (measure, side) in wanted.items():
        figures = rows.loc[rows["measure_id"] == measure, [*keys, side]].drop_duplicates(keys)
        parts = parts.merge(figures.rename(columns={side: name}), on=keys, how="left")
    return members_at(members, parts, on="period_end")


def unknown_shares(parts: pd.DataFrame, pcn_names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per PCN and month, the percentage of appointments whose status, booking interval, mode or staff type is
    unknown, or whose national category is unmapped or inconsistently mapped. A share whose known count exceeds the
    total (figures that do not add up) is left empty. The category share is left empty, and `category_held` false,
    where any practice's month was imported before the category part was kept."""
    columns = ["pcn", "pcn_name", "period_start", "practices", "appointments",
               *[f"unknown_{name}_pct" for name in UNKNOWN_NAMES], "category_held"]
    if parts.empty:
        return pd.DataFrame(columns=columns)
    if "category" not in parts:
        parts = parts.assign(category=float("nan"), category_total=float("nan"))
    sums = parts.groupby(["pcn", "period_start"]).agg(
        practices=("practice", "nunique"), appointments=("appointments", "sum"),
        **{name: (name, "sum") for name in UNKNOWN_PARTS}, category=("category", "sum"),
        category_total=("category_total", "sum"), holding=("category_total", "count")).reset_index()
    for name in UNKNOWN_PARTS:
        share = 100 * (sums["appointments"] - sums[name]) / sums["appointments"].where(sums["appointments"] > 0)
        sums[f"unknown_{name}_pct"] = share.where(sums[name] <= sums["appointments"])
    sums["category_held"] = sums["holding"] == sums["practices"]
    share = 100 * (sums["category_total"] - sums["category"]) / sums["category_total"].where(sums["category_total"] > 0)
    sums["unknown_category_pct"] = share.where(sums["category_held"] & (sums["category"] <= sums["category_total"]))
    sums["pcn_name"] = sums["pcn"].map(pcn_names or {})
    sums["period_start"] = pd.to_datetime(sums["period_start"]).dt.date
    return sums.sort_values(["period_start", "pcn"], ascending=[False, True])[columns].reset_index(drop=True)


def category_not_held(frame: pd.DataFrame) -> bool:
    """Whether any PCN's month of appointments lacks the category part (imported before it was kept)."""
    return bool(len(frame)) and not frame["category_held"].astype(bool).all()


def appointment_unknowns(store: Store, pcn_codes: tuple[str, ...]) -> pd.DataFrame:
    names = dict(store.query("SELECT org_code, name FROM organisations WHERE org_code IN (SELECT unnest(?))",
                             [list(pcn_codes)]).itertuples(index=False, name=None))
    return unknown_shares(appointment_parts(store, pcn_codes), names)


def unknowns_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "PCN": frame["pcn_name"].astype(object).fillna(frame["pcn"]), "Code": frame["pcn"],
        "Month": [f"{pd.Timestamp(d):%B %Y}" for d in frame["period_start"]],
        "Practices": frame["practices"], "Appointments": frame["appointments"],
        **{heading: frame[f"unknown_{name}_pct"].astype("float64").round(1)
           for name, heading in UNKNOWN_NAMES.items()},
    })


def unmapped_line(frame: pd.DataFrame, pcn_code: str) -> str | None:
    """The share of a PCN's appointments in its latest month with an unmapped or inconsistently mapped national
    category, in words; None where no month is loaded or the latest one lacks the category part."""
    rows = frame[frame["pcn"] == pcn_code].sort_values("period_start")
    if rows.empty or pd.isna(rows["unknown_category_pct"].iloc[-1]):
        return None
    latest = rows.iloc[-1]
    return (f"Unmapped or inconsistently mapped national category: {latest['unknown_category_pct']:.1f}% of the "
            f"PCN's appointments in {pd.Timestamp(latest['period_start']):%B %Y}")
