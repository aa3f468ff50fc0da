"""Hostile command-line arguments and URLs: long values echoed cut, unwritable output refused cleanly.

A board pack's --out that cannot be written is a one-line message (exit 2) that creates no folder and changes no
table."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from measures import cli
from tests.apptest import open_app
from tests.tables import assert_unchanged, fingerprint

LONG = 100_000


@pytest.fixture
def db(demo_db, tmp_path, monkeypatch):
    """A copy of the demo, the command line open (no access file); returns its path and fingerprint."""
    monkeypatch.setenv("PCN_ACCESS", "")
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, path)
    return path, fingerprint(path)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- long values are cut where they are echoed ---------------------------------------------------------------


def _long(letter: str) -> str:
    return letter * LONG


ECHOES = {
    "series --measure": (lambda db, out: ["series", "--db", db, "--measure", _long("m"), "--org", "UZ0001"],
                         2, "error: no measure 'mmmmm"),
    "series --org": (lambda db, out: ["series", "--db", db, "--measure", "acc_08", "--org", _long("O")],
                     0, "no values for measure 'acc_08' and organisation 'OOOOO"),
    "board-pack --pcn": (lambda db, out: ["board-pack", "--db", db, "--pcn", _long("U"), "--out", out],
                         2, "error: no PCN with code 'UUUUU"),
    "board-pack --period": (lambda db, out: ["board-pack", "--db", db, "--pcn", "UZ0001", "--period", _long("2"),
                                             "--out", out],
                            2, "error: period must look like 2026-03 (year-month), got '22222"),
}


@pytest.mark.parametrize("case", list(ECHOES))
def test_a_long_argument_is_echoed_cut_to_a_readable_length(db, tmp_path, capsys, case):
    argv, expected_code, start = ECHOES[case]
    out = tmp_path / "pack.pdf"
    code, _, err = run(capsys, *argv(db[0], out))
    assert code == expected_code
    assert err.startswith(start), err[:300]
    assert f"… ({LONG:,} characters)" in err
    assert len(err) < 400, f"{len(err):,} characters"
    assert not out.exists()
    assert_unchanged(db[1], db[0])


def test_a_long_unknown_pcn_in_the_url_is_named_cut_in_the_sidebar(app_env):
    at = open_app(pcn="Q" * 400_000)
    [error] = [e.value for e in at.sidebar.error if "No PCN with code" in e.value]
    assert "… (400,000 characters)" in error
    assert len(error) < 300


# --- a board pack's --out that cannot be written -------------------------------------------------------------


def _too_long_name(tmp_path: Path) -> Path:
    return tmp_path / ("p" * 300 + ".pdf")


OUTS = {
    "a file name longer than the folder allows": (
        _too_long_name, "error: --out 'ppppp", ["the file name is 304 bytes long; the most this folder accepts is 255",
                                                "Nothing was written"]),
    "a folder that does not exist": (
        lambda tmp_path: tmp_path / "nonexistent" / "dir" / "p.pdf", "error: --out '",
        ["nonexistent/dir' does not exist; create it first", "Nothing was written"]),
    "a folder that cannot hold files": (
        lambda tmp_path: Path("/proc/p.pdf"), "error: could not write '/proc/p.pdf': ",
        ["The board pack was not written"]),
}


@pytest.mark.parametrize("case", list(OUTS))
def test_an_out_file_that_cannot_be_written_is_one_line_with_exit_2_and_creates_no_folder(db, tmp_path, capsys,
                                                                                        case):
    where, start, fragments = OUTS[case]
    out = where(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run(capsys, "board-pack", "--db", db[0], "--pcn", "UZ0001", "--out", out)
    assert code == 2
    assert err.startswith(start) and err.count("\n") == 1, err[:500]
    for fragment in fragments:
        assert fragment in err, err
    assert "Traceback" not in err and "Wrote" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "no folder or file was created"
    assert_unchanged(db[1], db[0])
