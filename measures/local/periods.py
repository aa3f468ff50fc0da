"""A local measure's periods, the organisations that record it, and the PCNs and ICBs its scope reaches."""

from __future__ import annotations

from datetime import date

import pandas as pd

from ..catalogue import Measure

FIRST_PERIOD = date(2019, 7, 1)  # PCNs began on 1 July 2019; nothing earlier can be recorded

_PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}


def _icb_of(con, pcn_code: str) -> str | None:
    rows = con.execute(
        """
        SELECT mi.parent_code FROM memberships ms
        JOIN memberships mi ON mi.child_code = ms.parent_code AND mi.parent_level = 'icb' AND mi.end_date IS NULL
        WHERE ms.child_code = ? AND ms.parent_level = 'sub_icb' AND ms.end_date IS NULL
        """, [pcn_code]).fetchall()
    return rows[0][0] if rows else None


def applies_to(measure: Measure, pcn_code: str, icb_code: str | None) -> bool:
    """A measure applies to a PCN when it is national, or set by that PCN or by its ICB."""
    return measure.scope in ("national", pcn_code) or (icb_code is not None and measure.scope == icb_code)


def is_period_start(measure: Measure, day: date) -> bool:
    if day.day != 1:
        return False
    if measure.frequency == "quarterly":
        return day.month in (1, 4, 7, 10)
    if measure.frequency == "annual":
        return day.month == 4
    return True


def period_end(measure: Measure, start: date) -> date:
    months = _PERIOD_MONTHS[measure.frequency]
    return (pd.Timestamp(start) + pd.DateOffset(months=months) - pd.Timedelta(days=1)).date()


def _period_containing(measure: Measure, day: date) -> date:
    start = date(day.year, day.month, 1)
    while not is_period_start(measure, start):
        start = (pd.Timestamp(start) - pd.DateOffset(months=1)).date()
    return start


def recent_periods(measure: Measure, count: int = 12, today: date | None = None) -> list[date]:
    """The latest `count` periods that have ended by `today`, oldest first."""
    today = today or date.today()
    step = _PERIOD_MONTHS[measure.frequency]
    start = _period_containing(measure, today)
    while period_end(measure, start) >= today:
        start = (pd.Timestamp(start) - pd.DateOffset(months=step)).date()
    periods = []
    while len(periods) < count and start >= FIRST_PERIOD:
        periods.append(start)
        start = (pd.Timestamp(start) - pd.DateOffset(months=step)).date()
    return periods[::-1]


def periods_ending(measure: Measure, end: date, count: int, today: date | None = None) -> list[date]:
    """The `count` periods up to and including the one starting `end`, oldest first (fewer near the first)."""
    ended = [p for p in recent_periods(measure, 120, today) if p <= end]
    return ended[-count:]


def _members(con, pcn_code: str, day: date) -> pd.DataFrame:
    return con.execute(
        """
        SELECT m.child_code AS org_code, o.name AS org_name
        FROM memberships m JOIN organisations o ON o.org_code = m.child_code
        WHERE m.parent_code = ? AND m.parent_level = 'pcn' AND m.child_level = 'practice'
          AND m.start_date <= ? AND (m.end_date IS NULL OR m.end_date >= ?)
        ORDER BY o.name, m.child_code
        """, [pcn_code, day, day]).df()


def _organisations_for(con, measure: Measure, pcn_code: str, day: date) -> pd.DataFrame:
    if measure.level == "practice":
        return _members(con, pcn_code, day)
    return con.execute("SELECT org_code, name AS org_name FROM organisations WHERE org_code = ?", [pcn_code]).df()
