"""The one owner of the DuckDB file: connections, turns, published copies, migrations and transactions."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import duckdb
import pandas as pd

from .schema import ACCESS_LOG_MIGRATIONS_DIR, MIGRATIONS_DIR, collecting_imports, finish_import, migration_files, set_meta, start_import
from .schema import migrate as _migrate
from .snapshots import Pointer, Snapshots, TurnTimeout
from .store_hooks import ConnectionReader, after_commit
from .store_hooks import run_after_commit as _after_commit
from .store_problems import StoreBusy, StoreDamaged, StoreMissing, StoreWriteFailed
from .store_problems import first_line as _first_line
from .store_problems import is_damage_text
from .store_problems import is_lock_conflict as _is_lock_conflict
from .store_problems import unusable_message as _unusable_message
from .store_problems import write_failed_message as _write_failed_message

__all__ = ["Store", "ConnectionReader", "StoreBusy", "StoreDamaged", "StoreMissing", "StoreWriteFailed",
           "Connection", "DatabaseError", "WRITE_CONFLICTS", "DEFAULT_DB", "MIGRATIONS_DIR", "after_commit",
           "access_log_path", "default_db_path", "finish_import", "migration_files", "set_meta", "start_import"]
DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "demo.duckdb"

# Installing or autoloading extensions is impossible offline and costs seconds before failing.
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


# What connecting raises while another connection holds the file: another process's lock (IO), this process's
# connection of another configuration (Connection), or another thread of this process connecting at the same
# moment (ResourceInUse: "Unique file handle conflict"). `store_problems.is_lock_conflict` tells them from damage.
_OPENING_CONFLICTS = (duckdb.IOException, duckdb.ConnectionException, duckdb.ResourceInUseException)


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only, config=_CONFIG)
    # Long inserts would otherwise draw a progress bar on the user's terminal.
    con.execute("SET enable_progress_bar = false")
    return con


_log = logging.getLogger(__name__)

# The name a store file takes when attached to an in-memory DuckDB of the caller's (`reader(into=)`, `writer(into=)`).
ATTACHED = "store"


def _attach(into: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> str:
    """Attach `path` to `into` and make it the default catalog; returns the catalog to go back to."""
    back = into.execute("SELECT current_database()").fetchone()[0]
    into.execute(f"ATTACH ? AS {ATTACHED}{' (READ_ONLY)' if read_only else ''}", [os.path.abspath(path)])
    into.execute(f"USE {ATTACHED}")
    return back


def _detach_quietly(into: duckdb.DuckDBPyConnection, back: str) -> None:
    # As for _close_quietly: once the commit stands, failing to let go of the file is no failure of the save.
    try:
        into.execute(f"USE {_catalog(back)}")
        into.execute(f"DETACH {ATTACHED}")
    except duckdb.Error as exc:
        _log.warning("detaching the database file failed: %s", _first_line(exc))


# What DuckDB writes beside a database file: its write-ahead log, and the log's files while it checkpoints.
_FILES_BESIDE = (".wal", ".wal.checkpoint", ".wal.recovery")


def _catalog(name: str) -> str:
    """A catalog's name as an SQL identifier (DuckDB binds no identifiers)."""
    return '"' + name.replace('"', '""') + '"'


def default_db_path() -> Path:
    return Path(os.environ.get("PCN_DB") or DEFAULT_DB)


def access_log_path(store_path: Path) -> Path:
    """Where the access log of the store at `store_path` is kept: `demo.duckdb` keeps it in `demo.access-log.duckdb`."""
    return store_path.with_name(f"{store_path.stem}.access-log{store_path.suffix or '.duckdb'}")


class _Held:
    """A published copy open read-only in this process: its readers each take a cursor of one connection, so the
    file is opened once and its cache stays warm from one page to the next."""

    def __init__(self, pointer: Pointer):
        self.pointer = pointer
        self.con = _open(pointer.file, True)
        self.users = 0
        self.retired = False
        self._cursors = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._cursors:
            return self.con.cursor()


# The copies this process holds open, by store file; a server reads one store, tests and tools may read a few.
_HELD: OrderedDict[str, _Held] = OrderedDict()
_HELD_LOCK = threading.Lock()
_OPENING: dict[str, threading.Lock] = {}
HELD_STORES = 4


def _hold(key: str, pointer: Pointer) -> _Held | None:
    """The open copy `pointer` names, opened on first use; None if it cannot be opened (readers then read the file)."""
    with _HELD_LOCK:
        held = _take_held(key, pointer)
        if held is not None:
            return held
        opening = _OPENING.setdefault(key, threading.Lock())
    with opening:  # one thread opens a new copy; the others wait for it rather than open their own
        with _HELD_LOCK:
            held = _take_held(key, pointer)
            if held is not None:
                return held
        try:
            opened = _Held(pointer)  # outside _HELD_LOCK: opening a national-scale copy takes tens of milliseconds
        except (duckdb.Error, OSError) as exc:
            _log.info("the published copy %s could not be opened (%s)", pointer.file, _first_line(exc))
            return None
        closing = []
        with _HELD_LOCK:
            previous = _HELD.get(key)
            if previous is not None:
                previous.retired = True
                if previous.users == 0:
                    closing.append(previous)
            _HELD[key] = opened
            opened.users += 1
            for other_key in list(_HELD)[:-HELD_STORES]:
                if _HELD[other_key].users == 0:
                    closing.append(_HELD.pop(other_key))
    for done in closing:
        _close_quietly(done.con)
    return opened


def _take_held(key: str, pointer: Pointer) -> _Held | None:
    """The held copy of `key` if it is `pointer`'s, counted as in use; call with _HELD_LOCK held."""
    held = _HELD.get(key)
    if held is None or held.pointer != pointer:
        return None
    held.users += 1
    _HELD.move_to_end(key)
    return held


def _release(held: _Held) -> None:
    with _HELD_LOCK:
        held.users -= 1
        done = held.retired and held.users == 0
    if done:
        _close_quietly(held.con)


class Store:
    """A DuckDB file that writers change in short turns and readers read from a published copy.

    DuckDB lets one process hold a file read-write and locks every other process out, and
    read-only holders block writers. So writers take turns (measures.snapshots): each opens the
    file read-write for one transaction, closes it, and publishes a copy of it; readers keep the
    latest copy open read-only in their process, shared by its threads, and switch to a new one
    when it is published (a few `stat` calls per read). Readers therefore never wait for
    a writer and never block one, and a reader does not reopen a file for each query. Until a
    copy is published (a file copied in place, a crash between commit and publication), readers
    read the file itself through short-lived connections, waiting their turn as writers do.
    Whole rebuilds (the demo) write a new file and swap it in atomically.
    """

    def __init__(self, path: Path | str | None = None, *, wait_seconds: float = 60.0,
                 migrations: Path = MIGRATIONS_DIR, publishes: bool = True, when_damaged: str | None = None):
        self.path = Path(path) if path else default_db_path()
        self.wait_seconds = wait_seconds
        self.migrations = migrations
        # A store nobody reads often (the access log's file) is read from the file itself: no copy to publish.
        self.publishes = publishes
        self.when_damaged = when_damaged
        self._snapshots = Snapshots(self.path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.exists()

    def access_log_store(self) -> "Store":
        """The file beside this store that keeps the access log's sign-ins, refusals and exports.

        A line of the log is not a change of the data: kept in the store, each would publish a whole copy (at
        national scale, about 0.2 s or more of the writers' turn) and a new data version that empties every
        session's caches in every process. In a file of its own it is a short write of a small file, read
        from the file itself by the few that read it (an administrator's download, the check of a sign-in).
        """
        log = access_log_path(self.path)
        return Store(log, wait_seconds=self.wait_seconds, migrations=ACCESS_LOG_MIGRATIONS_DIR, publishes=False,
                     when_damaged=f"Move it aside and keep it, as the access log until now; the next line starts a "
                                  f"new {log.name}.")

    def data_version(self) -> tuple:
        """Changes whenever committed data changes; cheap enough to key caches on."""
        pointer = self._snapshots.usable()
        if pointer is not None:
            return ("published", pointer.version, *pointer.copies.key())
        parts = []
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                stat = path.stat()
                parts.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
            except FileNotFoundError:
                parts.append(None)
        return tuple(parts)

    def publication(self) -> Path | None:
        """The published copy readers of this store read now, or None while they read the file itself."""
        pointer = self._snapshots.usable()
        return pointer.file if pointer is not None else None

    def _missing(self) -> StoreMissing:
        return StoreMissing(
            f"No database at {self.path}. Build the demo with `python -m measures demo --db {self.path}` "
            "or import publications with `python -m measures import FILE --db PATH`."
        )

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if read_only and not self.path.exists():
            raise self._missing()
        return self._opened(lambda: _open(self.path, read_only))

    def _opened(self, opening):
        """`opening()`, tried again while another process holds the file (up to wait_seconds)."""
        deadline = time.monotonic() + self.wait_seconds
        delay = 0.01
        while True:
            try:
                return opening()
            except _OPENING_CONFLICTS as exc:
                if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                    if _is_lock_conflict(exc):
                        raise self._busy() from exc
                    raise StoreDamaged(self._unusable(exc)) from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.25)
            except duckdb.Error as exc:  # e.g. "Corrupt database file: computed checksum ... does not match"
                raise StoreDamaged(self._unusable(exc)) from exc

    def _unusable(self, exc: BaseException) -> str:
        return _unusable_message(self.path, exc, self.when_damaged)

    def _busy(self) -> StoreBusy:
        return StoreBusy(f"{self.path} stayed locked by another process for {self.wait_seconds:.0f} s; "
                         "try again when the running import or save has finished.")

    def _held(self) -> tuple[_Held | None, bool]:
        """This process's open copy of the latest publication if readers should read one (measures.snapshots), and
        whether they should; when it cannot be opened (removed by hand, damaged), they read the file itself."""
        for _ in range(3):  # the pointer may move on between reading it and opening its copy
            pointer = self._snapshots.usable()
            if pointer is None:
                return None, False
            held = _hold(os.path.abspath(self.path), pointer)
            if held is not None:
                return held, True
            if self._snapshots.current() == pointer:
                break
        return None, True

    def _open_for_reading(self) -> tuple[_Held | None, duckdb.DuckDBPyConnection | None]:
        """The published copy when there is one to read, else a read-only connection on the file itself."""
        deadline = time.monotonic() + self.wait_seconds
        delay = 0.01
        while True:
            held, published = self._held()
            if held is not None:
                return held, None
            if not self.path.exists():
                raise self._missing()
            try:
                con = _open(self.path, True)
            except _OPENING_CONFLICTS as exc:
                if not _is_lock_conflict(exc):
                    raise StoreDamaged(self._unusable(exc)) from exc
                if time.monotonic() >= deadline:
                    raise self._busy() from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.25)
                continue
            except duckdb.Error as exc:
                raise StoreDamaged(self._unusable(exc)) from exc
            if published or self._snapshots.current() is None or not self._snapshots.writing():
                return None, con
            # A writer took its turn meanwhile: until it publishes, the last copy is the committed state, and
            # holding the file would keep the writer waiting.
            con.close()
            if time.monotonic() >= deadline:
                raise self._busy()

    def _as_store_problem(self, exc: BaseException, *, writing: bool) -> BaseException:
        """The error to show for one raised while using the file: damage, and a full disk while saving.

        A file cut short opens without complaint; DuckDB fails later, on whichever query first reaches a
        missing block, so every reader and writer names that failure, not only the opening.
        """
        if isinstance(exc, duckdb.Error) and _is_damage(exc, self.path):
            return StoreDamaged(self._unusable(exc))
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
    def reader(self, into: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for a few queries that belong together, all reading one committed state.

        `into`: an in-memory DuckDB of the caller's (an import's parse), to which the published copy (or the file
        itself) is attached for the block as the default catalog, so that one DuckDB instance does the reading,
        the parsing and the writing: opening an instance costs about 30 ms, attaching to one about 4 ms.
        """
        if into is not None:
            with self._reading_into(into):
                yield into
            return
        held, con = self._open_for_reading()
        if held is not None:
            try:
                cursor = held.cursor()
                try:
                    with self._naming_problems(writing=False):
                        yield cursor
                finally:
                    _close_quietly(cursor)
            finally:
                _release(held)
            return
        try:
            with self._naming_problems(writing=False):
                yield con
        finally:
            con.close()

    @contextmanager
    def _reading_into(self, into: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """The published copy, or the file itself while there is none to read, attached to `into` read-only."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            pointer = self._snapshots.usable()
            if pointer is not None:
                try:
                    back = _attach(into, pointer.file, True)
                    break
                except duckdb.Error as exc:
                    if self._snapshots.current() != pointer:
                        continue  # a newer copy was published meanwhile
                    _log.info("the published copy %s could not be opened (%s)", pointer.file, _first_line(exc))
            if not self.path.exists():
                raise self._missing()
            back = self._opened(lambda: _attach(into, self.path, True))
            if pointer is not None or self._snapshots.current() is None or not self._snapshots.writing():
                break
            # A writer took its turn meanwhile: until it publishes, the last copy is the committed state.
            _detach_quietly(into, back)
            if time.monotonic() >= deadline:
                raise self._busy()
            time.sleep(0.01)
        try:
            with self._naming_problems(writing=False):
                yield
        finally:
            _detach_quietly(into, back)

    def query(self, sql: str, params: Sequence | dict | None = None) -> pd.DataFrame:
        """Run one read query with bound parameters and return a DataFrame."""
        with self.reader() as con:
            return con.execute(sql, params or []).df()

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """This writer's turn, ending with the publication of what it committed (measures.snapshots)."""
        try:
            turn = self._snapshots.turn(self.wait_seconds)
            turn.__enter__()
        except TurnTimeout:
            raise self._busy() from None
        except OSError as exc:
            raise StoreWriteFailed(_write_failed_message(self.path, exc)) from exc
        try:
            yield
        finally:
            try:
                if self.publishes and self._snapshots.outermost() and self._snapshots.committed():
                    self._publish_quietly()
            finally:
                turn.__exit__(None, None, None)

    def _publish_quietly(self) -> None:
        """Publish after a commit; the commit stands whatever happens here (readers then read the file itself)."""
        try:
            self._snapshots.publish()
        except Exception as exc:  # noqa: BLE001 - a failed publication is slower reading, never a failed save
            _log.warning("%s: the save succeeded, but publishing a copy for readers failed (%s). Readers read the "
                         "file itself, more slowly, until a save publishes one; free some disk space.",
                         self.path, _first_line(exc))

    @contextmanager
    def writer(self, into: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """One all-or-nothing transaction; rolled back on any error, checkpointed and published on success.

        Success and failure are those of the COMMIT: a failed commit raises `StoreWriteFailed` (nothing
        saved), and once the commit has succeeded nothing after it (the checkpoint, the publication) is
        reported as a failure. `into`: as for `reader`, the file is attached to the caller's in-memory DuckDB
        (read-write, as the default catalog) for the transaction, so that what the caller built there is
        written from where it is; the caller must have allowed the store's paths (`allow_store_paths`).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._turn():
            if into is None:
                con, back = self._connect(read_only=False), None
            else:
                con, back = into, self._opened(lambda: _attach(into, self.path, False))
            try:
                with self._naming_problems(writing=True), collecting_imports() as started:
                    _migrate(con, self.migrations)
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
                self._snapshots.mark_committed()
                _after_commit(con, self.path, tuple(started))
                _checkpoint_after_commit(con, self.path)
            finally:
                if back is None:
                    _close_quietly(con)
                else:
                    _detach_quietly(con, back)

    def allow_store_paths(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let `con` attach this store (its file, write-ahead log, spill folder and published copies) once it is
        cut off from every other file (`SET enable_external_access = false`, which parsing does after reading)."""
        file = os.path.abspath(self.path)
        con.execute("SET allowed_paths = ?", [[file] + [file + suffix for suffix in _FILES_BESIDE]])
        folders = [os.path.abspath(self._snapshots.folder) + os.sep, file + ".tmp" + os.sep]
        con.execute("SET allowed_directories = ?", [folders])

    def migrate(self) -> list[int]:
        """Apply pending numbered migrations; returns the versions applied."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._turn():
            con = self._connect(read_only=False)
            try:
                with self._naming_problems(writing=True):
                    applied = _migrate(con, self.migrations)
            finally:
                con.close()
            self._snapshots.mark_committed()
            return applied

    def publish(self) -> Path | None:
        """Publish a copy of the file as it stands, if readers do not have one yet (a file copied in place, a
        crash between a commit and its publication); returns the copy readers read now, or None."""
        if not self.path.exists():
            raise self._missing()
        with self._turn():
            self._snapshots.mark_committed()
        return self.publication()

    def schema_version(self) -> int:
        with self.reader() as con:
            return con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0

    @contextmanager
    def rebuild(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Build a whole new database beside the old one and swap it in atomically on success.

        Readers keep reading the old copy until the new file is swapped in and published; a failure leaves
        the old file untouched.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
            stale.unlink(missing_ok=True)
        con = _open(tmp, read_only=False)
        try:
            _migrate(con, self.migrations)
            yield con
            con.execute("CHECKPOINT")
            con.close()
            with self._turn():  # no writer is halfway through the old file when it is replaced
                os.replace(tmp, self.path)
                self.path.with_name(self.path.name + ".wal").unlink(missing_ok=True)
                self._snapshots.mark_committed()
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


def _is_conflict(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return isinstance(exc, duckdb.ConstraintException) or "conflict" in text or "duplicate key" in text


def _is_damage(exc: duckdb.Error, path: Path) -> bool:
    """Is this DuckDB's report of a damaged database file (not of a bad query or of another file)?"""
    return is_damage_text(str(exc), path)


# Names for modules that run their own SQL on a connection from `reader` or `writer`, so that only this module
# imports DuckDB: the connection's type, the base of every DuckDB error, and what a write raises when another
# session of this process committed a conflicting change first (the caller may retry those).
Connection = duckdb.DuckDBPyConnection
DatabaseError = duckdb.Error
WRITE_CONFLICTS = (duckdb.TransactionException, duckdb.ConstraintException, duckdb.CatalogException)
