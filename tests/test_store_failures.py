"""A damaged database file, and a save the disk cannot take, are reported as such: which file, what, what to do."""

import os
import shutil
import subprocess
import sys

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from measures import cli
from measures.store import Store, StoreDamaged, StoreWriteFailed, access_log_path
from tests.apptest import APP
from tests.conftest import ROOT


def _truncated(demo_db, path):
    # A third of the demo: the header and catalogue survive, so DuckDB opens it and fails on the first
    # query that reaches a missing block.
    data = demo_db.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 10])


DAMAGE = {
    "a truncated copy of the demo": _truncated,
    "a file of random bytes": lambda demo_db, path: path.write_bytes(os.urandom(300_000)),
    "a text file": lambda demo_db, path: path.write_text("org_code,value\nU00254,12\n" * 200, encoding="utf-8"),
    "an empty file": lambda demo_db, path: path.write_bytes(b""),
}


@pytest.fixture(params=DAMAGE, ids=list(DAMAGE))
def damaged(request, demo_db, tmp_path):
    path = tmp_path / "damaged.duckdb"
    DAMAGE[request.param](demo_db, path)
    return path


def _says_what_and_what_to_do(message: str, path) -> None:
    assert str(path) in message
    assert "is not a DuckDB database or is damaged" in message
    assert "Restore it from a backup" in message and f"python -m measures demo --db {path}" in message


def test_reading_a_damaged_file_names_the_file_and_says_what_to_do(damaged):
    before = damaged.read_bytes()
    with pytest.raises(StoreDamaged) as raised:
        Store(damaged).query("SELECT * FROM observations")
    _says_what_and_what_to_do(str(raised.value), damaged)
    assert damaged.read_bytes() == before


def test_saving_into_a_damaged_file_is_refused_with_the_same_message(damaged):
    with pytest.raises(StoreDamaged) as raised:
        with Store(damaged).writer() as con:
            con.execute("SELECT count(*) FROM observations, organisations").fetchall()
            con.execute("INSERT INTO meta VALUES ('written', 'into a damaged file')")
    _says_what_and_what_to_do(str(raised.value), damaged)


def test_the_command_line_prints_the_message_without_a_traceback_and_exits_2(damaged, capsys, monkeypatch):
    monkeypatch.setenv("PCN_ACCESS", "")  # open: the store, not the access rules, is what fails
    code = cli.main(["series", "--db", str(damaged), "--measure", "acc_08", "--org", "UZ0001"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: ")
    _says_what_and_what_to_do(captured.err, damaged)
    assert captured.out == ""


def test_a_command_line_process_on_a_damaged_file_shows_no_traceback(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "measures", "list", "--db", str(path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env={**os.environ, "PCN_ACCESS": ""})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "IOException" not in result.stderr
    _says_what_and_what_to_do(result.stderr, path)


def test_rebuilding_the_demo_as_the_message_says_gives_a_working_file_again(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PCN_ACCESS", "")
    path = tmp_path / "damaged.duckdb"
    path.write_bytes(os.urandom(50_000))
    assert cli.main(["list", "--db", str(path)]) == 2
    advice = capsys.readouterr().err
    command = advice.split("rebuild it with `python -m measures ", 1)[1].split("`", 1)[0]
    assert cli.main(command.split()) == 0
    assert cli.main(["list", "--db", str(path)]) == 0
    assert "acc_08" in capsys.readouterr().out


def test_the_app_shows_the_message_and_nothing_else(damaged, monkeypatch):
    monkeypatch.setenv("PCN_DB", str(damaged))
    monkeypatch.setenv("PCN_ACCESS", "")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1
    _says_what_and_what_to_do(at.error[0].value, damaged)
    assert not at.metric and not at.sidebar.selectbox


# --- a save the disk cannot take -------------------------------------------------------------------------------


class _Failing:
    """A DuckDB connection whose statement `failing` raises `error` (after running, when `after` is set)."""

    def __init__(self, con, failing: str, error: Exception, after: bool):
        self._con, self._failing, self._error, self._after = con, failing, error, after

    def execute(self, sql, *args, **kwargs):
        if sql.strip().upper() == self._failing:
            if self._after:
                self._con.execute(sql, *args, **kwargs)
            raise self._error
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


@pytest.fixture
def disk(demo_db, tmp_path, monkeypatch):
    """A copy of the demo whose next `statement` fails as it did on a full disk."""
    from measures import store as store_module

    path = tmp_path / "full.duckdb"
    shutil.copy(demo_db, path)
    real_open = store_module._open

    def failing(statement: str, error: Exception, *, after: bool = False) -> Store:
        def open_failing(at, read_only):
            con = real_open(at, read_only)
            return con if read_only else _Failing(con, statement, error, after)

        monkeypatch.setattr(store_module, "_open", open_failing)
        return Store(path)

    failing.path = path
    return failing


CHECKPOINT_FAILURES = {
    "fatal": duckdb.FatalException(
        'FATAL Error: Failed to create checkpoint because of error: Could not write file "full.duckdb": '
        "No space left on device"),
    "io": duckdb.IOException('IO Error: Could not write file "full.duckdb": No space left on device'),
}


@pytest.mark.parametrize("error", CHECKPOINT_FAILURES.values(), ids=CHECKPOINT_FAILURES.keys())
def test_a_checkpoint_failing_after_the_commit_is_not_reported_as_a_failed_save(disk, error, caplog):
    store = disk("CHECKPOINT", error, after=False)
    with store.writer() as con:  # the caller sees success...
        con.execute("INSERT INTO meta VALUES ('saved', 'before the checkpoint failed')")
    # ...and the values are there (in the write-ahead log, replayed by the next connection)
    assert Store(disk.path).query("SELECT value FROM meta WHERE key = 'saved'")["value"].tolist() == [
        "before the checkpoint failed"]
    assert "the save succeeded" in caplog.text and str(disk.path) in caplog.text


def test_a_commit_the_disk_cannot_take_is_reported_as_nothing_saved(disk):
    before = Store(disk.path).query("SELECT count(*) AS n FROM meta")["n"].iloc[0]
    store = disk("COMMIT", duckdb.TransactionException(
        'TransactionContext Error: Failed to commit: Could not write file "full.duckdb.wal": No space left on device'))
    with pytest.raises(StoreWriteFailed) as raised:
        with store.writer() as con:
            con.execute("INSERT INTO meta VALUES ('lost', 'the disk was full')")
    message = str(raised.value)
    assert message.startswith("Nothing was saved: ") and str(disk.path) in message
    assert "The disk holding it is full" in message
    after = Store(disk.path).query("SELECT key FROM meta")["key"].tolist()
    assert "lost" not in after and len(after) == before


def test_the_command_line_reports_a_save_that_could_not_be_written_without_a_traceback(disk, capsys, monkeypatch):
    monkeypatch.setenv("PCN_ACCESS", "")
    store = disk("COMMIT", duckdb.TransactionException("TransactionContext Error: Failed to commit: disk I/O"))
    monkeypatch.setitem(cli.COMMANDS, "demo", lambda args: _save(store))  # any command that saves
    assert cli.main(["demo", "--db", str(disk.path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Nothing was saved: ") and "The disk may be full or the file not writable" in err


def _save(store: Store) -> int:
    with store.writer() as con:
        con.execute("INSERT INTO meta VALUES ('k', 'v')")
    return 0


# --- a block the writer needs is damaged, while reads still work --------------------------------------------------


def _damage_the_migrations_block(source, path) -> None:
    """A copy of `source` with one block damaged: the schema_migrations table's, which every save reads first
    and no page or pack reads, so reading works and every save fails on it."""
    shutil.copy(source, path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
        block = con.execute("SELECT min(block_id) FROM pragma_storage_info('schema_migrations') "
                            "WHERE block_id >= 0").fetchone()[0]
    finally:
        con.close()
    headers = 3 * 4096  # DuckDB's file header and its two database headers come before block 0
    with open(path, "r+b") as handle:
        handle.seek(headers + block * block_size + 4096)
        handle.write(b"\x5a" * 8)


@pytest.fixture
def write_damaged(demo_db, tmp_path):
    path = tmp_path / "write-damaged.duckdb"
    _damage_the_migrations_block(demo_db, path)
    return path


def test_a_store_that_reads_but_cannot_take_a_save_says_so_and_keeps_its_bytes(write_damaged):
    before = write_damaged.read_bytes()
    assert not Store(write_damaged).query("SELECT * FROM observations LIMIT 1").empty  # reading works
    with pytest.raises(StoreDamaged) as raised:
        _save(Store(write_damaged))
    _says_what_and_what_to_do(str(raised.value), write_damaged)
    assert write_damaged.read_bytes() == before


@pytest.fixture
def log_damaged(demo_db, tmp_path):
    """A sound copy of the demo whose access-log file beside it is no longer a database (overwritten by hand)."""
    path = tmp_path / "log-damaged.duckdb"
    shutil.copy(demo_db, path)
    access_log_path(path).write_bytes(b"sign_in,someone\n" * 4096)
    return path


def _says_the_log_is_damaged(message: str, store_path) -> None:
    assert str(access_log_path(store_path)) in message
    assert "is not a DuckDB database or is damaged" in message
    assert "Move it aside and keep it" in message and "python -m measures demo" not in message


def test_an_access_log_line_the_log_cannot_take_is_a_one_line_warning(log_damaged, caplog):
    from measures import access

    with caplog.at_level("WARNING", logger="measures.access"):
        written = access.log_event(Store(log_damaged), "cli user", "export", "pack.pdf", via="cli")
    assert written is False
    [record] = [r for r in caplog.records if r.name == "measures.access"]
    assert record.exc_info is None, "no traceback"
    message = record.getMessage()
    assert message.startswith("could not write the access log: ") and "\n" not in message
    _says_the_log_is_damaged(message, log_damaged)


def test_a_board_pack_whose_export_cannot_be_logged_is_written_but_exits_2_saying_so(log_damaged, tmp_path):
    out = tmp_path / "pack.pdf"
    before = log_damaged.read_bytes()
    result = subprocess.run([sys.executable, "-m", "measures", "board-pack", "--pcn", "UZ0001", "--db",
                             str(log_damaged), "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PCN_ACCESS": ""})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Wrote {out}: board pack for ")
    assert "; but the access log could not be written, so this export is not on record: " in lines[0]
    _says_the_log_is_damaged(lines[0], log_damaged)
    assert out.read_bytes().startswith(b"%PDF")
    assert log_damaged.read_bytes() == before
