"""Foundation benchmarks: building the national-scale demo and warm Overview page runs."""

from __future__ import annotations

import os
from pathlib import Path

from .harness import ROOT, WORK, Result, timed

PCN = "UZ0500"


def national_db() -> str:
    """Where the national-scale demo is built: `$BENCH_DB`, else bench/out/national.duckdb."""
    return os.environ.get("BENCH_DB") or str(WORK / "national.duckdb")


def ready_national_db() -> tuple[str, float | None]:
    """The national-scale demo, built first if it is missing or older than the schema; with the build's seconds."""
    import time

    from measures.demo import build_demo
    from measures.store import Store, migration_files

    path = national_db()
    if os.path.exists(path) and Store(path).schema_version() >= len(migration_files()):
        return path, None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    build_demo(path, scale="national")
    return path, time.perf_counter() - started


def ready_summaries(path: str) -> float | None:
    """Every PCN's board summary in the store at `path`, computed first (`python -m measures.board_summaries`, one
    process per core) unless they are there and current; with the seconds that took.

    They are not part of the national demo build: at national scale they take about a minute on two cores, twice
    the build's own target, and an import or publication would recompute them the same way."""
    import time

    from measures import annotations, board_summaries, local, queries, suppression
    from measures.store import Store

    store = Store(path)
    codes = queries.pcns(store)["pcn"]
    for code in (codes.iloc[0], codes.iloc[-1]):
        if board_summaries.read(store, code, board_summaries.MEMBERS, suppression.threshold(),
                                local.catalogue_with_local(store, code),
                                annotations.rebase_dates_by_measure(store, code)) is None:
            break
    else:
        return None
    started = time.perf_counter()
    board_summaries.refresh(store)
    return time.perf_counter() - started


def run() -> list[Result]:
    from measures.catalogue import default_catalogue
    from measures.demo import build_demo
    from measures import queries
    from measures.store import Store

    path = national_db()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    build = timed(lambda: build_demo(path, scale="national"), repeat=3)
    store = Store(path)
    observations = store.query("SELECT count(*) AS n FROM observations")["n"].iloc[0]
    query = timed(lambda: queries.overview(store, PCN, default_catalogue()), repeat=15, warmup=2)

    from streamlit.testing.v1 import AppTest

    os.environ["PCN_DB"] = path

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["pcn"] = PCN
    at.run()

    def overview_rerun():
        at.run()
        assert not at.exception, at.exception

    def overview_new_session():
        fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        fresh.query_params["pcn"] = PCN
        fresh.run()

    rerun = timed(overview_rerun, repeat=15, warmup=2)
    new_session = timed(overview_new_session, repeat=7, warmup=1)
    return [
        Result("Build the national-scale demo (1,300 PCNs, 6,300 practices, 60 months)", build, target=30,
               note=f"{observations:,} observations"),
        Result("Overview queries for one PCN, uncached", query, note="PCN series and ICB comparator, one read-only connection"),
        Result("Overview page, warm AppTest run (national scale)", rerun, target=0.3,
               note="whole script (app.py + page) rerun in an open session, as a user's click does; query cache warm"),
        Result("Overview page, new AppTest session (national scale)", new_session,
               note="adds AppTest's own set-up (about 0.35 s scanning installed packages' metadata), not the page's"),
    ]
