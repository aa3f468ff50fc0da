"""Publishing a period: a PCN's local values become readable outside the PCN once published."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from ..store import Store
from .common import _has_table, _in_writer, _now, _retrying


def local_periods(store: Store, pcn_code: str) -> list[date]:
    """Periods (their first days) with local values of the PCN or of its practices, newest first."""
    from ..access import national_ids

    # Two bounded reads (the PCN's own rows, then its practices' rows) rather than one OR over every
    # observation: each can skip the row groups of other organisations (observations are in org_code order).
    frame = store.query(
        """
        WITH members AS (
            SELECT child_code, start_date, end_date FROM memberships
            WHERE parent_code = $pcn AND parent_level = 'pcn'
        ),
        bounds AS (SELECT min(child_code) AS low, max(child_code) AS high FROM members)
        SELECT period_start FROM observations
        WHERE org_code = $pcn AND NOT list_contains($national, measure_id)
        UNION
        SELECT o.period_start FROM observations o
        JOIN members m ON m.child_code = o.org_code AND m.start_date <= o.period_start
             AND (m.end_date IS NULL OR m.end_date >= o.period_start)
        WHERE o.org_code BETWEEN (SELECT low FROM bounds) AND (SELECT high FROM bounds)
          AND NOT list_contains($national, o.measure_id)
        ORDER BY 1 DESC
        """, {"pcn": pcn_code, "national": sorted(national_ids())})
    return [pd.Timestamp(p).date() for p in frame["period_start"]]


def published_periods(store: Store, pcn_code: str) -> pd.DataFrame:
    """The PCN's published periods, newest first: period_start, published_by, published_at."""
    with store.reader() as con:
        if not _has_table(con, "published_periods"):
            return pd.DataFrame(columns=["period_start", "published_by", "published_at"])
        return con.execute("SELECT period_start, published_by, published_at FROM published_periods "
                           "WHERE pcn_code = ? ORDER BY period_start DESC", [pcn_code]).df()


def publish_period(store: Store, principal, pcn_code: str, period_start: date, *, via: str = "app",
                   at: datetime | None = None) -> bool:
    """Publish the PCN's local values for a period (its editors and administrators only); False if already was."""
    from .. import access

    access.require_edit(principal, pcn_code, "publish local values", access.directory(store))
    when = at or _now()

    def work(con):
        held = con.execute("SELECT count(*) FROM published_periods WHERE pcn_code = ? AND period_start = ?",
                           [pcn_code, period_start]).fetchall()[0][0]
        if held:
            return False
        con.execute("INSERT INTO published_periods VALUES (?, ?, ?, ?)",
                    [pcn_code, period_start, principal.actor, when])
        con.execute("INSERT INTO access_log VALUES (nextval('access_log_id_seq'), ?, ?, 'publish', ?, ?, ?)",
                    [when, principal.actor, pcn_code, f"local values for the period starting {period_start}", via])
        return True

    return _retrying(lambda: _in_writer(store, work))


def withdraw_period(store: Store, principal, pcn_code: str, period_start: date, *, via: str = "app") -> bool:
    """Make a published period private to the PCN again; False if it was not published."""
    from .. import access

    access.require_edit(principal, pcn_code, "withdraw published local values", access.directory(store))
    when = _now()

    def work(con):
        gone = con.execute("DELETE FROM published_periods WHERE pcn_code = ? AND period_start = ? RETURNING 1",
                           [pcn_code, period_start]).fetchall()
        if gone:
            con.execute("INSERT INTO access_log VALUES (nextval('access_log_id_seq'), ?, ?, 'withdraw', ?, ?, ?)",
                        [when, principal.actor, pcn_code, f"local values for the period starting {period_start}",
                         via])
        return bool(gone)

    return _retrying(lambda: _in_writer(store, work))
