"""The one owner of the DuckDB file: connections, locking, migrations and transactions."""

from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator, Sequence

import duckdb
import pandas as pd

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "demo.duckdb"

# Installing or autoloading extensions is impossible offline and costs seconds before failing.
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only, config=_CONFIG)
    # Long inserts would otherwise draw a progress bar on the user's terminal.
    con.execute("SET enable_progress_bar = false")
    return con


class StoreBusy(RuntimeError):
    """Another process kept the database locked for longer than we were willing to wait."""


class StoreMissing(FileNotFoundError):
    """The database file does not exist yet."""


def default_db_path() -> Path:
    return Path(os.environ.get("PCN_DB") or DEFAULT_DB)


def _is_lock_conflict(exc: Exception) -> bool:
    text = str(exc)
    # Within one process (the app's sessions are threads), DuckDB refuses a read-write connect while a read-only
    # connection is open, and the reverse, with "a different configuration than existing connections".
    return ("lock" in text.lower() or "Conflicting" in text or "already open" in text
            or "different configuration than existing connections" in text)


class Store:
    """A DuckDB file used through short-lived connections.

    DuckDB lets one process hold a file read-write and locks every other process out,
    and read-only holders block writers. So no connection outlives one unit of work:
    readers open read-only, query and close (about 20 ms); writers open read-write,
    run one transaction and close. Either side retries while the other holds the lock,
    so a running app, a command-line import and an edit in the app take turns instead
    of failing. Whole rebuilds (the demo) write a new file and swap it in atomically.
    """

    def __init__(self, path: Path | str | None = None, *, wait_seconds: float = 60.0):
        self.path = Path(path) if path else default_db_path()
        self.wait_seconds = wait_seconds

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.exists()

    def data_version(self) -> tuple:
        """Changes whenever committed data changes; cheap enough to key caches on."""
        parts = []
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                stat = path.stat()
                parts.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
            except FileNotFoundError:
                parts.append(None)
        return tuple(parts)

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if read_only and not self.path.exists():
            raise StoreMissing(
                f"No database at {self.path}. Build the demo with `python -m measures demo --db {self.path}` "
                "or import publications with `python -m measures import FILE --db PATH`."
            )
        deadline = time.monotonic() + self.wait_seconds
        delay = 0.01
        while True:
            try:
                return _open(self.path, read_only)
            except (duckdb.IOException, duckdb.ConnectionException) as exc:
                if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                    if _is_lock_conflict(exc):
                        raise StoreBusy(
                            f"{self.path} stayed locked by another process for {self.wait_seconds:.0f} s; "
                            "try again when the running import or save has finished."
                        ) from exc
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.25)

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for a few queries that belong together; closed on exit."""
        con = self._connect(read_only=True)
        try:
            yield con
        finally:
            con.close()

    def query(self, sql: str, params: Sequence | dict | None = None) -> pd.DataFrame:
        """Run one read query with bound parameters and return a DataFrame."""
        with self.reader() as con:
            return con.execute(sql, params or []).df()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One all-or-nothing transaction; rolled back on any error, checkpointed on success."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            _migrate(con)
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            _checkpoint_if_alone(con)
        finally:
            con.close()

    def migrate(self) -> list[int]:
        """Apply pending numbered migrations; returns the versions applied."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            return _migrate(con)
        finally:
            con.close()

    def schema_version(self) -> int:
        with self.reader() as con:
            return con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0

    @contextmanager
    def rebuild(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Build a whole new database beside the old one and swap it in atomically on success.

        Readers holding the old file keep reading it until they close; the next connection
        sees the new one. A failure leaves the old file untouched.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
            stale.unlink(missing_ok=True)
        con = _open(tmp, read_only=False)
        try:
            _migrate(con)
            yield con
            con.execute("CHECKPOINT")
            con.close()
            os.replace(tmp, self.path)
            self.path.with_name(self.path.name + ".wal").unlink(missing_ok=True)
        except BaseException:
            con.close()
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
            raise


def _checkpoint_if_alone(con: duckdb.DuckDBPyConnection) -> None:
    """Fold the write-ahead log into the file so the next reader opens it quickly.

    With another write transaction open in this process (two app sessions saving at once)
    DuckDB refuses the checkpoint; the commit has already succeeded and a later write
    checkpoints, so that refusal is not a failure.
    """
    try:
        con.execute("CHECKPOINT")
    except duckdb.TransactionException as exc:
        if "Cannot CHECKPOINT" not in str(exc):
            raise


def migration_files() -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        found.append((int(number), name, path))
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 001, 002, … without gaps; found {numbers}")
    return found


def _migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for number, name, path in migration_files():
        if number in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)", [number, name, datetime.now().replace(microsecond=0)]
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(number)
    return applied


def start_import(con: duckdb.DuckDBPyConnection, kind: str, **fields) -> int:
    """Record the provenance row for an import inside the caller's transaction and return its id."""
    import_id = con.execute("SELECT nextval('import_id_seq')").fetchone()[0]
    columns = ["import_id", "kind", "started_at", *fields]
    values = [import_id, kind, datetime.now().replace(microsecond=0), *fields.values()]
    placeholders = ", ".join("?" for _ in columns)
    con.execute(f"INSERT INTO imports ({', '.join(columns)}) VALUES ({placeholders})", values)
    return import_id


def finish_import(con: duckdb.DuckDBPyConnection, import_id: int, **fields) -> None:
    fields["finished_at"] = datetime.now().replace(microsecond=0)
    assignments = ", ".join(f"{name} = ?" for name in fields)
    con.execute(f"UPDATE imports SET {assignments} WHERE import_id = ?", [*fields.values(), import_id])


def set_meta(con: duckdb.DuckDBPyConnection, **values: str) -> None:
    for key, value in values.items():
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, str(value)])
