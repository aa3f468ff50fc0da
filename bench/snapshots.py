"""Readers on a published copy against readers opening the store file: per-read overhead, saves and switching.

`python -m bench.snapshots [DB]` (default: bench/out/national.duckdb, built if missing) prints a Markdown table.
The "file itself" rows read a copy of DB that has no published copy beside it, which is the path every read
took before copies were published: open the file read-only, query, close.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .harness import ROOT, WORK, timed

PCN = "UZ0500"
SERIES = "SELECT * FROM observations WHERE measure_id = ? AND org_code = ?"


def _median_ms(fn, repeat: int, warmup: int = 2) -> tuple[float, float]:
    """Median and 90th percentile, in ms."""
    runs = sorted(timed(fn, repeat, warmup))
    return statistics.median(runs) * 1000, runs[int(len(runs) * 0.9)] * 1000


def _opens_per(fn) -> int:
    from measures import store as store_module

    real, count = store_module._open, [0]

    def counting(path, read_only):
        count[0] += 1
        return real(path, read_only)

    store_module._open = counting
    try:
        fn()
    finally:
        store_module._open = real
    return count[0]


def _pages(store_path: Path, pcns: list[str]) -> list[tuple[str, float, int]]:
    """The app's first run, then each page on a PCN not viewed yet (nothing cached): (what, seconds, files opened)."""
    from streamlit.testing.v1 import AppTest

    os.environ["PCN_DB"] = str(store_path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["pcn"] = "UZ0001"
    out = []

    def timed_run(what, action):
        took = {}

        def go():
            started = time.perf_counter()
            action()
            took["s"] = time.perf_counter() - started

        opened = _opens_per(go)
        assert not at.exception, at.exception
        out.append((what, took["s"], opened))

    timed_run("the app's first run (Board view)", at.run)
    for page, pcn in zip(("pages/board_view.py", "pages/measure_detail.py"), pcns):
        at.switch_page(page).run()
        timed_run(f"`{page}`, a PCN not viewed yet", lambda: at.selectbox(key="pcn_picker").set_value(pcn).run())
    return out


def run(path: Path) -> list[tuple[str, str]]:
    from measures import queries
    from measures.catalogue import default_catalogue
    from measures.store import Store

    catalogue = default_catalogue()
    published = Store(path)
    published.publish()
    assert published.publication() is not None
    folder = Path(tempfile.mkdtemp(prefix="pcn-bench-"))
    try:
        plain_path = folder / path.name
        shutil.copyfile(path, plain_path)
        plain = Store(plain_path)  # no published copy beside it: every read opens the file
        assert plain.publication() is None
        rows = []
        for label, fn in (("`SELECT 1`", lambda s: s.query("SELECT 1")),
                          ("one series (60 months of one measure, one PCN)", lambda s: s.query(SERIES, ["acc_08", PCN])),
                          ("Overview queries for one PCN (`queries.overview`)",
                           lambda s: queries.overview(s, PCN, catalogue))):
            repeat = 15 if "Overview" in label else 60
            before = _median_ms(lambda: fn(plain), repeat)
            after = _median_ms(lambda: fn(published), repeat)
            rows.append((label, f"{before[0]:.1f} ms (p90 {before[1]:.1f}) → {after[0]:.1f} ms (p90 {after[1]:.1f})"))
        rows.append(("files opened by the Overview queries for one PCN",
                     f"{_opens_per(lambda: queries.overview(plain, PCN, catalogue))} → "
                     f"{_opens_per(lambda: queries.overview(published, PCN, catalogue))}"))
        for (what, before, opened_before), (_, after, opened_after) in zip(
                _pages(plain_path, ["UZ0601", "UZ0602"]), _pages(path, ["UZ0603", "UZ0604"])):
            rows.append((f"{what}, whole script (AppTest)",
                         f"{before:.2f} s, {opened_before} files opened → {after:.2f} s, {opened_after} opened"))
        rows.append(("`data_version()` (what every cached page read checks)",
                     f"{_median_ms(plain.data_version, 500)[0] * 1000:.0f} µs → "
                     f"{_median_ms(published.data_version, 500)[0] * 1000:.0f} µs"))

        def save(store):
            with store.writer() as con:
                con.execute("INSERT OR REPLACE INTO meta VALUES ('bench', ?)", [str(time.time())])

        from measures import snapshots

        publishing = []
        real_publish = snapshots.Snapshots.publish

        def timed_publish(self):
            started = time.perf_counter()
            try:
                return real_publish(self)
            finally:
                publishing.append(time.perf_counter() - started)

        snapshots.Snapshots.publish = timed_publish
        try:
            save_ms = _median_ms(lambda: save(published), 7, warmup=1)
        finally:
            snapshots.Snapshots.publish = real_publish
        size_mb = path.stat().st_size / 1e6
        rows.append((f"a one-row save, published ({size_mb:,.0f} MB file)",
                     f"{save_ms[0]:.0f} ms, of which copying and syncing the copy "
                     f"{statistics.median(publishing[1:]) * 1000:.0f} ms"))

        from measures import access

        version = published.data_version()
        log_ms = _median_ms(lambda: access.write_log_event(published, "bench", "sign_in"), 7, warmup=1)
        assert published.data_version() == version, "an access-log line moved the data version"
        rows.append(("an access-log line (a sign-in, a refusal, an export), in the log's own file",
                     f"{log_ms[0]:.0f} ms; no copy published, the data version unchanged"))

        # A reader process holding the copy: the first read after another process publishes a new one.
        code = ("import sys, time; from measures.store import Store; s = Store(sys.argv[1]); "
                "s.query('SELECT count(*) FROM observations'); print('ready', flush=True); sys.stdin.readline(); "
                "t = time.perf_counter(); s.query('SELECT count(*) FROM observations'); "
                "print((time.perf_counter() - t) * 1000, s.publication(), flush=True)")
        reader = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert reader.stdout.readline().strip() == "ready"
        save(published)
        reader.stdin.write("\n")
        reader.stdin.flush()
        switch_ms, now_reading = reader.stdout.readline().split()
        reader.wait(60)
        assert Path(now_reading) == published.publication()
        rows.append(("first read after another process published a new copy (opens it)", f"{float(switch_ms):.0f} ms"))

        for _ in range(3):
            for code_ in queries.pcns(published)["pcn"].head(20):
                queries.overview(published, code_, catalogue)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append(("peak memory of this process after Overview queries for 20 PCNs", f"{rss:,.0f} MB"))
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else WORK / "national.duckdb"
    if not path.exists():
        from measures.demo import build_demo

        WORK.mkdir(parents=True, exist_ok=True)
        build_demo(path, scale="national")
    load = os.getloadavg()
    print(f"| {path.name}: file itself → published copy | load {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} |")
    print("|---|---|")
    for label, value in run(path):
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
