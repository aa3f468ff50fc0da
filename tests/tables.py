"""A fingerprint of every table in a database (row count and checksum), to show that a refused input changed nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb


def fingerprint(db_path: Path | str) -> dict[str, tuple[int, str]]:
    """{table: (rows, checksum of every row)} for every table of the file; identical before and after means untouched.

    The checksum is order-independent (rows are hashed one by one and the hashes summed), so it does not depend on
    the physical order DuckDB returns rows in.
    """
    con = duckdb.connect(str(db_path), read_only=True,
                         config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        tables = [row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
            "ORDER BY table_name").fetchall()]
        out = {}
        for table in tables:
            rows, checksum = con.execute(
                f'SELECT count(*), coalesce(sum(hash(t::VARCHAR)), 0)::VARCHAR FROM "{table}" AS t').fetchone()
            out[table] = (int(rows), str(checksum))
        return out
    finally:
        con.close()


def assert_unchanged(before: dict, db_path: Path | str) -> None:
    """Fail naming each table whose rows or checksum differ from `before`."""
    after = fingerprint(db_path)
    changed = {name: (before.get(name), after.get(name)) for name in set(before) | set(after)
               if before.get(name) != after.get(name)}
    assert not changed, f"tables changed by a refused input: {changed}"
