"""The store: numbered migrations, all-or-nothing writes, and taking turns with other processes."""

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from measures.store import Store, StoreBusy, StoreMissing, migration_files
from tests.conftest import ROOT


def test_migrations_are_numbered_without_gaps_and_applied_once(tmp_path):
    store = Store(tmp_path / "new.duckdb")
    numbers = [n for n, _, _ in migration_files()]
    assert numbers == list(range(1, len(numbers) + 1))
    assert store.migrate() == numbers
    assert store.migrate() == []
    assert store.schema_version() == numbers[-1]


def test_a_failed_write_changes_nothing(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    with store.writer() as con:
        con.execute("INSERT INTO meta VALUES ('kept', 'yes')")
    with pytest.raises(RuntimeError):
        with store.writer() as con:
            con.execute("INSERT INTO meta VALUES ('lost', 'yes')")
            raise RuntimeError("bad row found half-way")
    assert store.query("SELECT key FROM meta ORDER BY key")["key"].tolist() == ["kept"]


def test_reading_a_missing_database_says_how_to_build_one(tmp_path):
    with pytest.raises(StoreMissing, match="python -m measures demo"):
        Store(tmp_path / "absent.duckdb").query("SELECT 1")


def test_values_are_bound_not_formatted(tmp_path):
    store = Store(tmp_path / "p.duckdb")
    with store.writer() as con:
        con.execute("INSERT INTO meta VALUES (?, ?)", ["quote's", "x'); DROP TABLE meta; --"])
    assert store.query("SELECT value FROM meta WHERE key = ?", ["quote's"])["value"].tolist() == ["x'); DROP TABLE meta; --"]


def _hold_write_lock(path, seconds):
    code = textwrap.dedent(f"""
        import duckdb, time, sys
        con = duckdb.connect({str(path)!r})
        con.execute("INSERT INTO meta VALUES ('writer', 'was here')")
        print('locked', flush=True)
        time.sleep({seconds})
        con.close()
    """)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_reader_waits_for_another_process_writing_and_then_sees_its_write(tmp_path):
    store = Store(tmp_path / "shared.duckdb")
    store.migrate()
    writer = _hold_write_lock(store.path, 1.0)
    try:
        # While the other process holds the file, DuckDB refuses us outright...
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(store.path), read_only=True)
        # ...so the store waits its turn instead of failing.
        started = time.monotonic()
        assert store.query("SELECT value FROM meta WHERE key = 'writer'")["value"].tolist() == ["was here"]
        assert time.monotonic() - started > 0.3
    finally:
        writer.wait(timeout=10)


def test_a_writer_gives_up_with_a_clear_message_when_the_lock_is_never_released(tmp_path):
    store = Store(tmp_path / "busy.duckdb", wait_seconds=0.5)
    store.migrate()
    holder = _hold_write_lock(store.path, 3.0)
    try:
        with pytest.raises(StoreBusy, match="stayed locked"):
            with store.writer() as con:
                con.execute("SELECT 1")
    finally:
        holder.wait(timeout=10)


def test_in_one_process_a_writer_waits_for_an_open_reader_and_a_reader_reads_past_an_open_writer(tmp_path):
    """The app's sessions are threads of one process. DuckDB refuses a writer while a reader holds the file, so the
    writer takes its turn; readers read the copy published by the last save, so a writer holding the file does not
    hold them up."""
    import threading

    store = Store(tmp_path / "threads.duckdb")
    store.migrate()
    for holder_read_only in (True, False):
        opened, release, closed = threading.Event(), threading.Event(), threading.Event()

        def hold() -> None:
            con = duckdb.connect(str(store.path), read_only=holder_read_only)
            opened.set()
            release.wait(30)
            con.close()
            closed.set()

        holder = threading.Thread(target=hold)
        holder.start()
        opened.wait(10)
        if holder_read_only:
            threading.Timer(0.5, release.set).start()
            started = time.monotonic()
            with store.writer() as con:
                con.execute("INSERT INTO meta VALUES ('thread', 'wrote')")
            assert time.monotonic() - started > 0.3
        else:
            assert store.query("SELECT value FROM meta WHERE key = 'thread'")["value"].tolist() == ["wrote"]
            assert not closed.is_set()  # read while the other connection still held the file read-write
            release.set()
        holder.join(30)


def test_rebuild_swaps_in_a_new_file_and_a_failed_rebuild_keeps_the_old(tmp_path):
    store = Store(tmp_path / "r.duckdb")
    with store.rebuild() as con:
        con.execute("INSERT INTO meta VALUES ('build', 'first')")
    with pytest.raises(ValueError):
        with store.rebuild() as con:
            con.execute("INSERT INTO meta VALUES ('build', 'second')")
            raise ValueError("generator failed")
    assert store.query("SELECT value FROM meta")["value"].tolist() == ["first"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_data_version_changes_when_data_is_written(tmp_path):
    store = Store(tmp_path / "v.duckdb")
    store.migrate()
    before = store.data_version()
    time.sleep(0.01)
    with store.writer() as con:
        con.execute("INSERT INTO meta VALUES ('k', 'v')")
    assert store.data_version() != before
