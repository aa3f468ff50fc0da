"""Readers keep a published copy open: other processes' imports and saves neither hold them up nor go unseen."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from measures.importers import import_publications
from measures.store import Store
from tests.browser import new_tab, started_app, visit
from tests.conftest import ROOT, SAMPLES

PCN = "U00254"
CEILING = 120  # seconds; reached only when something is wrong (on a busy 2-core machine a step takes seconds)
LONGEST_READ = 1.0  # seconds: no read may wait longer than this for an import or a save

# A reader process: reads one value over and over, one JSON line per read (when, how long, what it saw).
READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from measures.store import Store

    db, sql, out, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    store = Store(db)
    with out.open("a") as log:
        while not stop.exists():
            started = time.time()
            value = store.query(sql).iloc[0, 0]
            log.write(json.dumps({"at": started, "took": time.time() - started, "saw": str(value)}) + "\\n")
            log.flush()
            time.sleep(0.02)  # leave the machine's two cores to the servers and the import
""")


def wait_for(condition, what: str, ceiling: float = CEILING):
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {ceiling:.0f} s: {what}")


def reads(log: Path) -> list[dict]:
    text = log.read_text() if log.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.endswith("}")]


@contextlib.contextmanager
def readers(db: Path, sql: str, folder: Path, count: int = 2):
    """`count` reader processes on `db`; yields their logs, and stops them (checking they exited cleanly)."""
    stop_file = folder / "stop-readers"
    logs = [folder / f"reader-{n}.jsonl" for n in range(count)]
    processes = [subprocess.Popen([sys.executable, "-c", READER, str(db), sql, str(log), str(stop_file)], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for log in logs]
    try:
        wait_for(lambda: all(reads(log) for log in logs), "every reader has read once")
        yield logs
    finally:
        stop_file.touch()
        for process in processes:
            try:
                _, err = process.communicate(timeout=CEILING)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
            assert process.returncode == 0, err


def assert_no_read_waited(logs: list[Path], since: float) -> None:
    """No read that began once the writing process was started (at `since`) took a second. The reads before it
    are each reader's warm-up (its first DuckDB connection, a cold start on a busy machine), which no writer
    could have held up."""
    for log in logs:
        during = [r for r in reads(log) if r["at"] >= since]
        assert during, f"{log.name}: no read once the writer started"
        slowest = max(during, key=lambda r: r["took"])
        assert slowest["took"] < LONGEST_READ, (
            f"{log.name}: a read took {slowest['took']:.2f} s, {slowest['at'] - since:.2f} s after the writer "
            f"started; it saw {slowest['saw']!r}")


def app_server(db: Path):
    """`streamlit run` on 127.0.0.1 for `db` in open demo mode; yields its base URL, process and log, and stops it."""
    return started_app(db, {"PCN_ACCESS": ""})


def open_files(pid: int) -> set[Path]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            found.add(Path(os.readlink(fd)))
    return found


def booked_within_two_weeks(tab) -> str:
    card = tab.locator('[data-testid="stMetric"]').filter(has=tab.get_by_text("Booked within 2 weeks", exact=True))
    return card.locator('[data-testid="stMetricValue"]').inner_text()


def assert_no_error_shown(tab) -> None:
    expect(tab.locator('[data-testid="stException"]')).to_have_count(0)
    expect(tab.locator('[data-testid="stAlertContentError"]')).to_have_count(0)


@pytest.mark.browser
def test_two_app_servers_and_two_readers_switch_to_an_import_without_waiting_or_errors(tmp_path, chromium):
    db = tmp_path / "pcn.duckdb"
    outcome = import_publications([SAMPLES / "gp-reg-pat-prac-map.csv", SAMPLES / "gp-reg-pat-prac-all.csv"],
                                  Store(db), progress=io.StringIO())
    assert outcome.ok, outcome.text()
    store = Store(db)
    before = store.publication()
    assert before is not None and before != db

    with contextlib.ExitStack() as servers:
        served = [servers.enter_context(app_server(db)) for _ in range(2)]
        tabs = [servers.enter_context(new_tab(chromium, viewport={"width": 1400, "height": 1000})) for _ in served]
        for (base, _, _), tab in zip(served, tabs):
            visit(tab, f"{base}/overview?pcn={PCN}")
            assert booked_within_two_weeks(tab) == "No data"  # IIF not imported yet
            assert_no_error_shown(tab)
        for _, process, _ in served:  # each server keeps the published copy open, not the store file
            assert before in open_files(process.pid) and db not in open_files(process.pid)

        sql = "SELECT count(*) FROM observations WHERE measure_id = 'acc_08'"
        with readers(db, sql, tmp_path) as logs:
            importing_since = time.time()
            importing = subprocess.Popen(
                [sys.executable, "-m", "measures", "import", str(SAMPLES / "IIF_indicators_annual_pub_2023_24.csv"),
                 "--db", str(db)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            while importing.poll() is None:  # the servers keep serving pages while it runs
                for (base, _, _), tab in zip(served, tabs):
                    visit(tab, f"{base}/overview?pcn={PCN}")
                    assert_no_error_shown(tab)
            out, err = importing.communicate(timeout=CEILING)
            assert importing.returncode == 0, err
            assert "IIF_indicators_annual_pub_2023_24.csv: imported" in out
            after = store.publication()
            assert after is not None and after != before
            imported = str(store.query(sql).iloc[0, 0])
            assert imported != "0"
            for log in logs:  # each reader reads the new publication on its next read
                wait_for(lambda: any(r["saw"] == imported for r in reads(log)), f"{log.name} sees the import")
        assert_no_read_waited(logs, importing_since)
        for log in logs:
            seen = [r["saw"] for r in reads(log)]
            assert seen[0] == "0" and seen[-1] == imported
            assert set(seen) == {"0", imported}, "each read saw one publication or the next, nothing between"

        for (base, process, log), tab in zip(served, tabs):
            visit(tab, f"{base}/overview?pcn={PCN}")
            assert booked_within_two_weeks(tab) not in ("No data", "")  # the import's ACC-08, on both servers
            assert_no_error_shown(tab)
            held = open_files(process.pid)
            assert after in held and db not in held, "the server switched to the new copy"
            assert "Traceback" not in log.read_text(errors="replace")


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from measures.store import Store

    db, go = sys.argv[1], Path(sys.argv[2])
    with Store(db).writer() as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('edition', 'second')")
        print("writing", flush=True)
        while not go.exists():  # a long import's write, held until the test has seen readers read through it
            time.sleep(0.01)
    print("published", flush=True)
""")


def test_readers_in_other_processes_read_through_a_write_in_progress_then_see_it_once_committed(demo_db, tmp_path):
    db = tmp_path / "shared.duckdb"
    shutil.copy(demo_db, db)
    with Store(db).writer() as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('edition', 'first')")
    sql = "SELECT value FROM meta WHERE key = 'edition'"
    go = tmp_path / "go"
    with readers(db, sql, tmp_path) as logs:
        writer_since = time.time()
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(go)], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert writer.stdout.readline().strip() == "writing"
            writing_since = time.time()
            for log in logs:  # while the other process holds the file read-write, readers go on reading
                wait_for(lambda: sum(r["at"] > writing_since for r in reads(log)) >= 5,
                         f"{log.name} reads while another process writes")
            assert writer.poll() is None, "the write was still in progress"
        finally:
            go.touch()
        out, err = writer.communicate(timeout=CEILING)
        assert writer.returncode == 0 and out.split() == ["published"], err
        for log in logs:
            wait_for(lambda: any(r["saw"] == "second" for r in reads(log)), f"{log.name} sees the committed write")
    assert_no_read_waited(logs, writer_since)
    for log in logs:
        during = [r["saw"] for r in reads(log) if writing_since < r["at"] and r["saw"] != "second"]
        assert during and set(during) == {"first"}, "uncommitted values are never read"


def test_a_copy_the_disk_cannot_take_loses_no_save_and_the_next_save_publishes_again(demo_db, tmp_path, monkeypatch,
                                                                                      caplog):
    from measures import snapshots

    db = tmp_path / "full.duckdb"
    shutil.copy(demo_db, db)
    store = Store(db)
    with store.writer() as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('edition', 'first')")
    published = store.publication()
    real_copy = snapshots._copy

    def disk_full(source, target):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(snapshots, "_copy", disk_full)
    with store.writer() as con:  # the save succeeds...
        con.execute("INSERT OR REPLACE INTO meta VALUES ('edition', 'second')")
    assert "the save succeeded, but publishing a copy for readers failed" in caplog.text
    # ...and readers read it from the file itself, since the last copy is no longer the committed state
    assert store.publication() is None
    assert store.query("SELECT value FROM meta WHERE key = 'edition'").iloc[0, 0] == "second"
    assert not [p for p in (db.parent / f".{db.name}.snapshots").iterdir() if p.name.endswith(".tmp")]

    monkeypatch.setattr(snapshots, "_copy", real_copy)
    with store.writer() as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('edition', 'third')")
    assert store.publication() not in (None, published)
    assert store.query("SELECT value FROM meta WHERE key = 'edition'").iloc[0, 0] == "third"


def test_only_the_current_copy_and_the_one_before_stay_on_disk(demo_db, tmp_path):
    db = tmp_path / "kept.duckdb"
    shutil.copy(demo_db, db)
    store = Store(db)
    published = []
    for edition in range(4):
        with store.writer() as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('edition', ?)", [str(edition)])
        published.append(store.publication())
    assert len(set(published)) == 4
    on_disk = sorted(p for p in (db.parent / f".{db.name}.snapshots").rglob(db.name))
    assert on_disk == sorted(published[-2:])
