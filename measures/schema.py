"""The store's schema and provenance rows on an open connection: numbered migrations, imports and meta (no DuckDB)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The access log's own file has its own numbered migrations (measures.store.Store.access_log_store).
ACCESS_LOG_MIGRATIONS_DIR = MIGRATIONS_DIR / "access_log"

# The imports each writer of this thread has started, innermost writer last: what its commit changed, for the
# work the store does after a commit (measures.store.after_commit).
_STARTED = threading.local()


def migration_files(folder: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        found.append((int(number), name, path))
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 001, 002, … without gaps; found {numbers}")
    return found


def migrate(con, folder: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply the pending numbered migrations of `folder` on a read-write connection, each in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for number, name, path in migration_files(folder):
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


@contextmanager
def collecting_imports() -> Iterator[list[tuple[int, str]]]:
    """Collect (import_id, kind) of every import started in this thread until the block ends."""
    stack = _stack()
    started: list[tuple[int, str]] = []
    stack.append(started)
    try:
        yield started
    finally:
        stack.remove(started)


def _stack() -> list:
    if not hasattr(_STARTED, "stack"):
        _STARTED.stack = []
    return _STARTED.stack


def start_import(con, kind: str, **fields) -> int:
    """Record the provenance row for an import inside the caller's transaction and return its id."""
    import_id = con.execute("SELECT nextval('import_id_seq')").fetchone()[0]
    columns = ["import_id", "kind", "started_at", *fields]
    values = [import_id, kind, datetime.now().replace(microsecond=0), *fields.values()]
    placeholders = ", ".join("?" for _ in columns)
    con.execute(f"INSERT INTO imports ({', '.join(columns)}) VALUES ({placeholders})", values)
    stack = _stack()
    if stack:
        stack[-1].append((int(import_id), kind))
    return import_id


def finish_import(con, import_id: int, **fields) -> None:
    fields["finished_at"] = datetime.now().replace(microsecond=0)
    assignments = ", ".join(f"{name} = ?" for name in fields)
    con.execute(f"UPDATE imports SET {assignments} WHERE import_id = ?", [*fields.values(), import_id])


def set_meta(con, **values: str) -> None:
    for key, value in values.items():
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, str(value)])
