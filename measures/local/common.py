"""What every part of local measures shares: the clock, table checks, registered frames and retried writes."""

from __future__ import annotations

import random
import time
from datetime import datetime

from ..store import WRITE_CONFLICTS, Connection, DatabaseError, Store


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _has_table(con: Connection, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()[0][0] > 0


def _unregister(con: Connection, *names: str) -> None:
    """Drop registered frames without hiding the error that ended the transaction (if any)."""
    for name in names:
        try:
            con.unregister(name)
        except DatabaseError:
            pass


def _drop(con: Connection, *tables: str) -> None:
    """Drop temporary tables, likewise without hiding the error that ended the transaction."""
    for table in tables:
        try:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        except DatabaseError:
            pass


def _in_writer(store: Store, work):
    """Run `work(con)` in the store's all-or-nothing writer and return its result."""
    with store.writer() as con:
        return work(con)


def _retrying(action):
    """Run a write; retry when another session of this process committed a conflicting change first.

    Other processes are kept out by the file lock (the store's writer waits for it); sessions inside one
    process share the database and DuckDB refuses the later of two conflicting transactions instead.
    """
    for attempt in range(8):
        try:
            return action()
        except WRITE_CONFLICTS as exc:
            # Both sessions deleting the held row ("Conflict on tuple deletion"), or both inserting a value
            # that did not exist yet ("duplicate key" at insert or commit): the later one starts again.
            # DuckDB 2.0 can also miss its pandas scan when two connections first register frames at once.
            text = str(exc).lower()
            if not ("conflict" in text or "duplicate key" in text or "pandas_scan" in text) or attempt == 7:
                raise
            time.sleep(0.02 * (attempt + 1) * (1 + random.random()))
