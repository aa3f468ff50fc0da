"""The one owner of the DuckDB file: connections, locking, migrations and transactions."""

from __future__ import annotations

import logging
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


class StoreDamaged(RuntimeError):
    """The database file cannot be used: not a DuckDB database, damaged or cut short, or not readable here.

    The message names the file, says what DuckDB found and what to do; nothing in the file was changed.
    """


class StoreWriteFailed(RuntimeError):
    """A save could not be committed (a full disk, a read-only file): nothing of it was saved."""


_log = logging.getLogger(__name__)


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
                con = _open(self.path, read_only)
                break
            except (duckdb.IOException, duckdb.ConnectionException) as exc:
                if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                    if _is_lock_conflict(exc):
                        raise StoreBusy(
                            f"{self.path} stayed locked by another process for {self.wait_seconds:.0f} s; "
                            "try again when the running import or save has finished."
                        ) from exc
                    raise StoreDamaged(_unusable_message(self.path, exc)) from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.25)
            except duckdb.Error as exc:  # e.g. "Corrupt database file: computed checksum ... does not match"
                raise StoreDamaged(_unusable_message(self.path, exc)) from exc
        return con

    def _as_store_problem(self, exc: BaseException, *, writing: bool) -> BaseException:
        """The error to show for one raised while using the file: damage, and a full disk while saving.

        A file cut short opens without complaint; DuckDB fails later, on whichever query first reaches a
        missing block, so every reader and writer names that failure, not only the opening.
        """
        if isinstance(exc, duckdb.Error) and _is_damage(exc, self.path):
            return StoreDamaged(_unusable_message(self.path, exc))
        if writing and isinstance(exc, duckdb.Error) and "No space left on device" in str(exc):
            return StoreWriteFailed(_write_failed_message(self.path, exc))
        return exc

    @contextmanager
    def _naming_problems(self, *, writing: bool) -> Iterator[None]:
        try:
            yield
        except duckdb.Error as exc:
            problem = self._as_store_problem(exc, writing=writing)
            if problem is exc:
                raise
            raise problem from exc

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for a few queries that belong together; closed on exit."""
        con = self._connect(read_only=True)
        try:
            with self._naming_problems(writing=False):
                yield con
        finally:
            con.close()

    def query(self, sql: str, params: Sequence | dict | None = None) -> pd.DataFrame:
        """Run one read query with bound parameters and return a DataFrame."""
        with self.reader() as con:
            return con.execute(sql, params or []).df()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One all-or-nothing transaction; rolled back on any error, checkpointed on success.

        Success and failure are those of the COMMIT: a failed commit raises `StoreWriteFailed` (nothing
        saved), and once the commit has succeeded nothing after it (the checkpoint) is reported as a failure.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            with self._naming_problems(writing=True):
                _migrate(con)
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    _rollback_quietly(con)
                    raise
            try:
                con.execute("COMMIT")
            except duckdb.Error as exc:
                _rollback_quietly(con)
                if _is_conflict(exc):  # another session of this process won the race; callers retry these
                    raise
                raise StoreWriteFailed(_write_failed_message(self.path, exc)) from exc
            _checkpoint_after_commit(con, self.path)
        finally:
            _close_quietly(con)

    def migrate(self) -> list[int]:
        """Apply pending numbered migrations; returns the versions applied."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            with self._naming_problems(writing=True):
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


def _checkpoint_after_commit(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Fold the write-ahead log into the file so the next reader opens it quickly.

    The commit has already succeeded and its data is in the write-ahead log, which the next connection
    replays; so no failure here is a failure of the save. With another write transaction open in this
    process (two app sessions saving at once) DuckDB refuses the checkpoint and a later write does it;
    anything else (a full disk: "Failed to create checkpoint") is logged as a warning.
    """
    try:
        con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        if isinstance(exc, duckdb.TransactionException) and "Cannot CHECKPOINT" in str(exc):
            return
        _log.warning("%s: the save succeeded and is kept in %s, but folding it into the database file failed "
                     "(%s). Free some disk space; the next save or start folds it in.",
                     path, path.with_name(path.name + ".wal"), _first_line(exc))


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back without hiding the error that ended the transaction (DuckDB may have rolled back already)."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _close_quietly(con: duckdb.DuckDBPyConnection) -> None:
    # Closing after a fatal error (which DuckDB raises after a successful commit when the checkpoint fails)
    # must not turn a save that happened into a reported failure.
    try:
        con.close()
    except duckdb.Error as exc:
        _log.warning("closing the database connection failed: %s", _first_line(exc))


def _first_line(exc: BaseException | str) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _is_conflict(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return isinstance(exc, duckdb.ConstraintException) or "conflict" in text or "duplicate key" in text


def _is_damage(exc: duckdb.Error, path: Path) -> bool:
    """Is this DuckDB's report of a damaged database file (not of a bad query or of another file)?"""
    text = str(exc)
    if "Corrupt database file" in text or "not a valid DuckDB database" in text:
        return True
    return "Could not read enough bytes" in text and path.name in text


def _unusable_message(path: Path, problem: BaseException | str) -> str:
    detail = _first_line(problem)
    if "Permission denied" in detail or "Read-only file system" in detail:
        return (f"{path} cannot be opened ({detail}). Nothing in it was changed. Check that this user "
                "may read the file, and to save, write it and its folder.")
    if "Could not read enough bytes" in detail:
        detail += "; the file looks cut short, as by an interrupted copy or a disk that filled up"
    return (f"{path} is not a DuckDB database or is damaged ({detail}). Nothing in it was changed. "
            "Restore it from a backup; if it held only the synthetic demo, rebuild it with "
            f"`python -m measures demo --db {path}` (this replaces the file).")


def _write_failed_message(path: Path, problem: BaseException) -> str:
    detail = _first_line(problem)
    if "No space left on device" in detail:
        cause = "The disk holding it is full: free some space"
    elif "Permission denied" in detail or "Read-only file system" in detail:
        cause = "This user may not write it: check the permissions of the file and its folder"
    else:
        cause = "The disk may be full or the file not writable: check both"
    return f"Nothing was saved: {path} could not be written ({detail}). {cause}, then save again."


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
