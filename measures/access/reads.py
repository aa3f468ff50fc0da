"""The store's side of access: the directory the decisions read, and the access log."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from .principals import Principal
from .rules import Directory, _day



def directory(store) -> Directory:
    """Read the facts the decisions need from the store: about 20 ms, cached by callers on the data version."""
    from ..queries import pcns

    with store.reader() as con:
        members = con.execute(
            "SELECT child_code AS child, parent_code AS parent, start_date, end_date FROM memberships "
            "WHERE parent_level = 'pcn'").df()
        has_published = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'published_periods'").fetchall()[0][0]
        published = (con.execute("SELECT pcn_code, period_start FROM published_periods").fetchall()
                     if has_published else [])
        hood_icb, hood_pcns = _neighbourhoods(con)
    hierarchy = pcns(store)
    icb_of = {pcn: (icb if isinstance(icb, str) else None)
              for pcn, icb in zip(hierarchy["pcn"].tolist(), hierarchy["icb"].tolist())}
    return Directory(icb_of=icb_of, memberships=members,
                     published=frozenset((pcn, _day(day)) for pcn, day in published),
                     neighbourhood_icb=hood_icb, neighbourhood_pcns=hood_pcns)


def _neighbourhoods(con) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Each neighbourhood's ICB, and every PCN that had a practice in it at any time."""
    from ..neighbourhoods import _PRACTICES

    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'neighbourhoods'"
                       ).fetchall()[0][0]:
        return {}, {}
    icb = dict(con.execute("SELECT neighbourhood_code, icb_code FROM neighbourhoods").fetchall())
    pairs = con.execute(
        f"""
        SELECT DISTINCT s.neighbourhood, m.parent_code FROM ({_PRACTICES}) s
        JOIN memberships m ON m.child_code = s.practice AND m.parent_level = 'pcn'
             AND (s.end_date IS NULL OR m.start_date <= s.end_date) AND (m.end_date IS NULL OR m.end_date >= s.start_date)
        UNION
        SELECT parent_code, child_code FROM memberships WHERE parent_level = 'neighbourhood' AND child_level = 'pcn'
        """).fetchall()
    pcns: dict[str, set] = {code: set() for code in icb}
    for code, pcn in pairs:
        pcns.setdefault(code, set()).add(pcn)
    return icb, {code: frozenset(found) for code, found in pcns.items()}


def write_log_event(store, principal: Principal | str, action: str, target: str | None = None,
                    detail: str | None = None, *, via: str = "app", at: datetime | None = None) -> None:
    """Append one line to the access log's own file (`Store.access_log_store`), raising the store's own error
    (damaged, busy, a failed save) if it cannot: for a caller that must not report success without the line,
    such as an export from the command line. The store itself, its data version and its readers are untouched."""
    actor = principal.actor if isinstance(principal, Principal) else str(principal)
    when = at or datetime.now().replace(microsecond=0)
    with store.access_log_store().writer() as con:
        con.execute("INSERT INTO access_log VALUES (nextval('access_log_id_seq'), ?, ?, ?, ?, ?, ?)",
                    [when, actor, action, target, detail, via])


def log_event(store, principal: Principal | str, action: str, target: str | None = None,
              detail: str | None = None, *, via: str = "app", at: datetime | None = None) -> bool:
    """Append one line to the access log: sign-in, sign-out, refusal, export or a change of SPC limits. Never
    raises; returns whether the line was written. A log file that cannot take it is a one-line warning (its
    message says which file and what to do), not a traceback on the page or the command line."""
    import logging

    from ..store import StoreBusy, StoreDamaged, StoreMissing, StoreWriteFailed

    try:
        write_log_event(store, principal, action, target, detail, via=via, at=at)
        return True
    except (StoreBusy, StoreDamaged, StoreMissing, StoreWriteFailed) as problem:
        # The package's logger, not this module's: operators filter the log on "measures.access".
        logging.getLogger("measures.access").warning("could not write the access log: %s", problem)
    except Exception:  # noqa: BLE001 - a log line must never stop the page or the command it records
        logging.getLogger("measures.access").warning("could not write the access log", exc_info=True)
    return False


# Where each line is kept: publishing and withdrawing in the store, with the change they record; the rest in the
# access log's own file. Lines written before the log had a file of its own are in the store too.
KEPT_IN_STORE, KEPT_IN_LOG_FILE = "store", "access log file"


def access_log(store, limit: int = 200, *, action: str | None = None, actor: str | None = None,
               since: datetime | None = None) -> pd.DataFrame:
    """The latest `limit` lines of the access log, newest first, from the store and the log's own file, with
    `kept_in` saying which; only those of `action`, `actor` and from `since`, where given."""
    conditions, params = [], []
    for column, value in (("action", action), ("actor", actor)):
        if value is not None:
            conditions.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        conditions.append("logged_at >= ?")
        params.append(since)
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    sql = f"SELECT *, ? AS kept_in FROM access_log {where}ORDER BY logged_at DESC, log_id DESC LIMIT ?"
    parts = [store.query(sql, [KEPT_IN_STORE, *params, limit])]
    log_file = store.access_log_store()
    if log_file.exists():
        parts.append(log_file.query(sql, [KEPT_IN_LOG_FILE, *params, limit]))
    lines = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    # Lines of one file keep their order within a second (by log_id); between the two files a tie has none.
    lines = lines.sort_values(["logged_at", "kept_in", "log_id"], ascending=False, kind="stable")
    return lines.head(limit).reset_index(drop=True)
