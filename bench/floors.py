"""Every page against its floor: its script run, warm and with empty caches, over its own queries run in DuckDB.

Both are measured in the same run. A page's queries are captured while it runs (every `Store.reader()` connection is
wrapped to record what is executed, registered and fetched), then replayed in order on one DuckDB connection to the
same published file, fetched the same way. The floor is what the page's reads cost with no Python of the app around
them.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from .harness import ROOT, Result, timed

EMPTY_RUNS = 5
NEW_PCN_RUNS = 5
WARM_RUNS = 9
REPLAYS = 3  # of each run's captured queries; their median is that run's floor
EMPTY_TARGET = 2.0  # × the floor
WARM_TARGET = 1.3

# name, page file (None: the default page, the board view), URL parameters, area chosen in Compare's picker
PAGES = [
    ("Board view", None, {}, None),
    ("Overview", "pages/pcn_overview.py", {}, None),
    ("Measure detail", "pages/measure_detail.py", {"measure": "acc_08"}, None),
    ("Compare areas, ICB", "pages/compare_areas.py", {"measure": "dna_rate"}, None),
    ("Compare areas, all England", "pages/compare_areas.py", {"measure": "dna_rate"}, "england"),
    ("Data page", "pages/data_quality.py", {}, None),
    ("Local measures", "pages/local_measures.py", {}, None),
    ("Money view", None, {"view": "money"}, None),
]

_FETCHES = {"df", "fetchdf", "fetchall", "fetchone", "fetchmany", "fetchnumpy", "fetch_df", "arrow",
            "fetch_arrow_table", "to_arrow_table", "pl", "fetch_record_batch"}


@dataclass
class Call:
    kind: str  # execute, register, unregister
    args: tuple
    fetch: list[tuple[str, tuple]] = field(default_factory=list)  # methods called on the result, with their args


class _Recording:
    """A reader's connection that records what runs on it, then passes it on."""

    def __init__(self, con, calls: list[Call]):
        self._con, self._calls = con, calls

    def execute(self, sql, parameters=None, *rest):
        call = Call("execute", (sql, parameters, *rest))
        self._calls.append(call)
        result = self._con.execute(sql, parameters, *rest) if parameters is not None or rest else self._con.execute(sql)
        return _Result(result, call)

    def register(self, name, frame):
        self._calls.append(Call("register", (name, frame)))
        return self._con.register(name, frame)

    def unregister(self, name):
        self._calls.append(Call("unregister", (name,)))
        return self._con.unregister(name)

    def __getattr__(self, name):
        value = getattr(self._con, name)
        if name in _FETCHES and self._calls and self._calls[-1].kind == "execute":
            call = self._calls[-1]

            def fetched(*args):
                call.fetch.append((name, args))
                return value(*args)

            return fetched
        if name == "sql":
            raise NotImplementedError("con.sql() is not captured by the floor benchmark; use con.execute()")
        return value


class _Result:
    def __init__(self, result, call: Call):
        self._result, self._call = result, call

    def __getattr__(self, name):
        value = getattr(self._result, name)
        if name in _FETCHES:
            def fetched(*args):
                self._call.fetch.append((name, args))
                return value(*args)

            return fetched
        return value

    def __iter__(self):
        return iter(self._result)


@contextmanager
def captured() -> Iterator[list[Call]]:
    """Record every query read through `Store.reader()` (and so `Store.query`) while inside."""
    from measures.store import Store

    calls: list[Call] = []
    original = Store.reader

    @contextmanager
    def reader(self):
        with original(self) as con:
            yield _Recording(con, calls)

    Store.reader = reader
    try:
        yield calls
    finally:
        Store.reader = original


def replay(con, calls: list[Call]) -> list:
    """The captured calls, in order, on `con`; each result fetched as the app fetched it, and the fetches returned."""
    fetched = []
    for call in calls:
        if call.kind == "execute":
            sql, parameters, *rest = call.args
            result = con.execute(sql, parameters, *rest) if parameters is not None or rest else con.execute(sql)
            fetched += [getattr(result, name)(*args) for name, args in call.fetch]
        else:
            getattr(con, call.kind)(*call.args)
    return fetched


def _clear_caches() -> None:
    """What a PCN nobody has opened since the data last changed finds: Streamlit's caches (every `st.cache_data`
    and `st.cache_resource`) empty, and nothing held for the data version (`measures.versioned`: the hierarchy,
    catalogues, change points, every PCN's latest import and save), since a new version is a new key to all of them."""
    import streamlit as st

    from measures import versioned

    st.cache_data.clear()
    st.cache_resource.clear()
    versioned.clear_all()


@dataclass
class Measured:
    name: str
    empty: list[float]
    floors: list[float]
    warm: list[float]
    queries: int
    warm_queries: int
    new_pcn: list[float]
    new_pcn_floors: list[float]
    new_pcn_queries: int


def _captured_run(at, name: str, con) -> tuple[float, float, int]:
    """One run of the page with its queries captured: its seconds, its floor's seconds, and how many queries."""
    with captured() as calls:
        started = time.perf_counter()
        at.run()
        seconds = time.perf_counter() - started
    _check(at, name)
    replay(con, calls)  # once untimed: its data in DuckDB's buffers, as the page's run just left them
    floor = statistics.median(timed(lambda: replay(con, calls), repeat=REPLAYS))
    return seconds, floor, sum(call.kind == "execute" for call in calls)


@contextmanager
def one_script_cache() -> Iterator[None]:
    """AppTest runs as a server does in one respect: the scripts' bytecode is compiled once, not on every run.

    AppTest gives each run a new `ScriptCache`, so every run parses the page again and rewrites it for Streamlit's
    "magic" (about 30 ms for the board view's page); a `streamlit run` server keeps one cache for all its sessions.
    """
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    originals = app_test.ScriptCache, local_script_runner.ScriptCache
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared
    try:
        yield
    finally:
        app_test.ScriptCache, local_script_runner.ScriptCache = originals


def measure_page(name: str, page: str | None, params: dict, area: str | None, pcn: str, others: list[str],
                 con) -> Measured:
    """`others`: PCNs of `pcn`'s ICB to open one after another in the picker, each for the first time."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(pcn=pcn, **params)
    at.run()
    if page:
        at.switch_page(page).run()
    if area:
        at.selectbox(key="area_picker").set_value(area).run()
    _check(at, name)

    def rerun():
        at.run()

    empty, floors, queries = [], [], 0
    for _ in range(EMPTY_RUNS):
        _clear_caches()
        seconds, floor, queries = _captured_run(at, name, con)
        empty.append(seconds)
        floors.append(floor)
    with captured() as calls:
        warm = timed(rerun, repeat=WARM_RUNS, warmup=1)
    _check(at, name)
    warm_queries = round(sum(call.kind == "execute" for call in calls) / (WARM_RUNS + 1))
    # PCNs nobody has opened yet, while what every PCN shares (the hierarchy's labels, the catalogue, an area's
    # values) stays cached from the first one: what the next PCN chosen in the picker costs.
    _clear_caches()
    at.run()
    new_pcn, new_floors, new_queries = [], [], 0
    for code in others[:NEW_PCN_RUNS]:
        at.selectbox(key="pcn_picker").set_value(code)
        seconds, floor, count = _captured_run(at, name, con)
        new_pcn.append(seconds)
        new_floors.append(floor)
        new_queries = max(new_queries, count)
    return Measured(name, empty, floors, warm, queries, warm_queries, new_pcn, new_floors, new_queries)


def _check(at, name: str) -> None:
    if at.exception:
        raise RuntimeError(f"{name}: the page failed: {at.exception[0].message}")
    if at.error:
        raise RuntimeError(f"{name}: the page showed an error: {at.error[0].value}")


def measure(db_path: str, pcn: str) -> tuple[list[Measured], str]:
    """Every page measured on `pcn` (or, where the database has no such PCN, its first), and the PCN used."""
    import duckdb

    from measures import queries
    from measures.store import Store

    os.environ["PCN_DB"] = db_path
    os.environ["PCN_ACCESS"] = ""  # open demo mode, whatever access file this checkout has
    store = Store(db_path)
    hierarchy = queries.pcns(store)
    if pcn not in set(hierarchy["pcn"]):  # a smaller demo than the national one: its first PCN
        pcn = hierarchy["pcn"].iloc[0]
    icb = hierarchy.loc[hierarchy["pcn"] == pcn, "icb"].iloc[0]
    others = hierarchy[(hierarchy["icb"] == icb) & (hierarchy["pcn"] != pcn) & hierarchy["close_date"].isna()]
    others = others["pcn"].tolist()
    target = store.publication() or store.path
    con = duckdb.connect(str(target), read_only=True,
                         config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        measured = []
        with one_script_cache():
            for name, page, params, area in PAGES:
                started = time.perf_counter()
                measured.append(measure_page(name, page, params, area, pcn, others, con))
                print(f"floors: {name} measured in {time.perf_counter() - started:.0f} s", file=sys.stderr,
                      flush=True)
        return measured, pcn
    finally:
        con.close()


def results(measured: list[Measured]) -> list[Result]:
    rows = []
    for page in measured:
        floor = statistics.median(page.floors)
        rows.append(Result(f"{page.name}, empty cache", page.empty, floor=floor, ratio_target=EMPTY_TARGET,
                           note=f"its {page.queries} queries straight in DuckDB"))
        rows.append(Result(f"{page.name}, warm rerun", page.warm, floor=floor, ratio_target=WARM_TARGET,
                           note=f"{page.warm_queries} queries a run still read; the floor is the empty-cache run's"))
        if page.new_pcn:
            count = page.new_pcn_queries
            name = f"{page.name}, another PCN of the ICB not yet viewed"
            if not count:  # every read was cached by the first PCN: no floor to divide by, only Streamlit's run
                rows.append(Result(name, page.new_pcn, note="no query left to run: every read was cached by the "
                                                            "first PCN, so the time is the script run alone"))
                continue
            floor, warm = statistics.median(page.new_pcn_floors), statistics.median(page.warm)
            # Where the page's own warm rerun (no query at all) is already more than the target allows, the
            # ratio says how few queries were left, not how much Python the new PCN cost: the note says so.
            beyond = (f"; the page's warm rerun alone, with no query, is {warm * 1000:.0f} ms ({warm / floor:.1f}× "
                      "this floor), so no run can meet the target" if warm > EMPTY_TARGET * floor else "")
            rows.append(Result(name, page.new_pcn, floor=floor, ratio_target=EMPTY_TARGET,
                               note=f"up to {count} quer{'y' if count == 1 else 'ies'} a run, the floor those of "
                                    f"each run{beyond}"))
    return rows


NOTE = ("Each page's whole script (app.py and the page) run in an AppTest session that stays open, on the PCN {pcn}. "
        "Empty cache: Streamlit's caches cleared before the run (`st.cache_data`, `st.cache_resource`), as for a PCN "
        "nobody has opened since the data last changed, with nothing held for the data version either (the hierarchy,"
        " catalogues, change points, every PCN's latest import and save); the published copy stays open. The scripts are compiled once, as a "
        "server compiles them (AppTest would compile the page again on every run, about 30 ms). Warm: the same script"
        " rerun, as a click does. Another PCN not yet viewed: the next PCN of the same ICB chosen in the picker, with"
        " what PCNs share (the catalogue, the picker's labels, an area's values) cached by the first; its floor is "
        "that run's own queries. The floor: the queries a run issued, captured at `Store.reader()`, run in order "
        "straight on one DuckDB connection to the same published file, each result fetched as the page fetched it "
        "(median of {replays} replays, each after one untimed replay); a ratio is the median page time over the "
        "median floor, and a warm rerun's floor is the empty-cache run's. Writes (an access-log line) are not in the "
        "floor. Targets: empty cache at most {empty}× its floor, warm at most {warm}×. `python -m bench floors` "
        "reruns it alone (`BENCH_DB=PATH` for a national demo built elsewhere); this run took {seconds:.0f} s; load "
        "average (1, 5, 15 min) {before} before and {after} after, on {cores} cores.")


def run(db_path: str, pcn: str) -> tuple[list[Result], str]:
    before, started = os.getloadavg(), time.perf_counter()
    measured, pcn = measure(db_path, pcn)
    seconds, after = time.perf_counter() - started, os.getloadavg()
    note = NOTE.format(pcn=pcn, replays=REPLAYS, empty=f"{EMPTY_TARGET:g}", warm=f"{WARM_TARGET:g}", seconds=seconds,
                       before=" / ".join(f"{x:.1f}" for x in before), after=" / ".join(f"{x:.1f}" for x in after),
                       cores=os.cpu_count())
    return results(measured), note


if __name__ == "__main__":
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    path = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "bench" / "out" / "national.duckdb")
    code = sys.argv[2] if len(sys.argv) > 2 else "UZ0500"
    rows, text = run(path, code)
    for row in rows:
        print(row.row())
    print(text)
