"""What the store already knows that parsing a file needs (organisations, PCN spans, list sizes), read before the writer."""

from __future__ import annotations

import pandas as pd

from ..store import Store, StoreMissing
from .common import PublicationError, memory_connection
from .hierarchy import PCN_SPANS_SQL

_QUERIES = {
    "organisations": ("SELECT org_code, org_level, close_date FROM organisations", ["org_code", "org_level", "close_date"]),
    "pcn_spans": (PCN_SPANS_SQL, ["child_code", "parent_code", "start_date", "end_date", "extend_back"]),
    "practice_lists": (
        """SELECT l.org_code, l.extract_date, l.registered_patients FROM list_sizes l
           JOIN organisations o ON o.org_code = l.org_code AND o.org_level = 'practice'""",
        ["org_code", "extract_date", "registered_patients"]),
    "pcn_lists": (
        """SELECT l.org_code, l.extract_date, l.registered_patients FROM list_sizes l
           JOIN organisations o ON o.org_code = l.org_code AND o.org_level = 'pcn'""",
        ["org_code", "extract_date", "registered_patients"]),
}


class StoreContext:
    """Read-only views of the store, loaded on first use in one short read-only connection and kept for one file;
    and the in-memory DuckDB the file is parsed in, to which the store is attached for reading and for the write,
    so that one DuckDB instance does all three."""

    def __init__(self, store: Store, con=None, names=None, memory=None):
        """`con`: a connection open on the store already, to read through now (no second opening) the frames
        `names` (default: all); `memory`: the in-memory DuckDB `con` belongs to, if it does."""
        self.store = store
        self._frames: dict[str, pd.DataFrame] = {}
        self._codes: dict[str, pd.DataFrame] = {}
        self._memory = memory
        self._made: list = []
        if con is not None:
            self._read(con, names)

    def connection(self):
        """The in-memory DuckDB to parse in and to write from (made on first use)."""
        if self._memory is None:
            self._memory = memory_connection(self.store)
            self._made.append(self._memory)
        return self._memory

    def fresh_connection(self):
        """A new, empty in-memory DuckDB in place of the one a parse gave up on (to read the file another way)."""
        self._memory = None
        return self.connection()

    def for_another_parse(self) -> "StoreContext":
        """A context for parsing again against the store as read here: the same frames, a new DuckDB of its own."""
        other = StoreContext(self.store)
        other._frames, other._codes = self._frames, self._codes
        return other

    def close(self) -> None:
        """Close the in-memory DuckDBs this context made (the caller closes the one it handed in)."""
        for con in self._made:
            con.close()
        self._made.clear()

    def _read(self, con, names=None) -> None:
        for key, (sql, _) in _QUERIES.items():
            if key not in self._frames and (names is None or key in names):
                self._frames[key] = con.execute(sql).df()

    def frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            # Everything a parse may need, in one short read-only connection (about 50 ms, whatever the number).
            try:
                with self.store.reader(into=self._memory) as con:
                    self._read(con)
            except StoreMissing:
                for key, (_, columns) in _QUERIES.items():
                    self._frames.setdefault(key, pd.DataFrame(columns=columns))
        return self._frames[name]

    def register(self, con, *names: str) -> None:
        """Make frames available as tables of the same name on an in-memory connection."""
        for name in names:
            con.register(name, self.frame(name))

    def codes(self, level: str) -> pd.DataFrame:
        # Picked once per level: a parse asks for the same codes several times, and each pick takes a millisecond.
        if level not in self._codes:
            orgs = self.frame("organisations")
            self._codes[level] = orgs.loc[orgs["org_level"] == level, ["org_code"]].reset_index(drop=True)
        return self._codes[level].copy(deep=False)  # copy-on-write: a caller's change stays its own

    def require_practices(self, file_name: str, publication: str) -> None:
        if self.codes("practice").empty:
            raise PublicationError(
                f"{file_name}: the store holds no practices yet, so the {publication} rows cannot be checked or joined "
                "to PCNs. Import the practice-to-PCN map (gp-reg-pat-prac-map.csv) or the ePCN workbook first, or name "
                "it in the same command (maps load first). Nothing was imported.")

    def require_pcns(self, file_name: str, publication: str) -> None:
        if self.codes("pcn").empty:
            raise PublicationError(
                f"{file_name}: the store holds no PCNs yet, so the {publication} rows cannot be checked. Import the "
                "practice-to-PCN map (gp-reg-pat-prac-map.csv) or the ePCN workbook first, or name it in the same "
                "command (maps load first). Nothing was imported.")

    def require_list_sizes(self, file_name: str, publication: str) -> None:
        if self.frame("pcn_lists").empty:
            raise PublicationError(
                f"{file_name}: the store holds no list sizes yet, and the {publication} rates divide by the PCN's "
                "registered patients. Import the list sizes (gp-reg-pat-prac-all.csv) first, or name the file in the "
                "same command (list sizes load before workforce). Nothing was imported.")
