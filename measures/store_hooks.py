"""Work the store does after a commit, inside the writer's turn, and reading through the writer's connection."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Callable, Iterator, Sequence

import pandas as pd

from .store_problems import first_line

_log = logging.getLogger("measures.store")


class ConnectionReader:
    """Reads through one open connection, with the reading half of a Store's interface (`reader`, `query`,
    `path`, `data_version`): for work inside a writer's turn, which must read what its own transaction sees,
    while every other reader of the store still reads the last published copy."""

    _numbers = count(1)

    def __init__(self, con, path: Path | str):
        self._con = con
        self.path = Path(path)
        self._version = ("connection", os.getpid(), next(self._numbers))  # never shared with a cached read

    def __repr__(self) -> str:
        return f"ConnectionReader({str(self.path)!r})"

    def exists(self) -> bool:
        return True

    def data_version(self) -> tuple:
        return self._version

    @contextmanager
    def reader(self) -> Iterator:
        yield self._con

    def query(self, sql: str, params: Sequence | dict | None = None) -> pd.DataFrame:
        return self._con.execute(sql, params or []).df()


Hook = Callable[[object, Path, tuple], None]

# Work that keeps derived tables in step with what a commit imported: each hook gets the writer's connection
# (in a transaction of its own), the store file and the (import_id, kind) of every import the commit started.
# It runs before the turn ends, so the copy published next holds both. A failing hook is logged and rolled back;
# the save it follows stands (derived tables say which data they were computed from, so readers notice).
_AFTER_COMMIT: list[Hook] = []


def after_commit(hook: Hook) -> Hook:
    """Register `hook(con, path, imports)` to run after every commit that started imports (see above)."""
    if hook not in _AFTER_COMMIT:
        _AFTER_COMMIT.append(hook)
    return hook


def run_after_commit(con, path: Path, imports: tuple) -> None:
    if not imports:
        return
    for hook in list(_AFTER_COMMIT):
        try:
            con.execute("BEGIN TRANSACTION")
            hook(con, path, imports)
            con.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - derived work never turns a committed save into a failure
            try:
                con.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - DuckDB may have rolled back already
                pass
            _log.warning("%s: the save succeeded, but %s after it failed (%s); readers compute what it "
                         "would have kept", path, getattr(hook, "__qualname__", hook), first_line(exc))
