"""The command line `python -m measures`, run as a user would run it."""

import csv
import io
import subprocess
import sys

import pytest

from measures.cli import COMMANDS
from tests.conftest import ROOT


def measures(*args, env_db=None):
    return subprocess.run([sys.executable, "-m", "measures", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command):
    result = measures(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "usage: python -m measures" in result.stdout
    assert len(result.stdout.splitlines()) > 3


def test_list_prints_the_catalogue_as_csv():
    result = measures("list")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.returncode == 0
    assert list(rows[0]) == ["id", "name", "family", "level", "unit", "improvement_direction"]
    by_id = {row["id"]: row for row in rows}
    assert by_id["acc_08"]["family"] == "national_des"
    assert by_id["dna_rate"]["improvement_direction"] == "decrease"
    assert {row["family"] for row in rows} == {"national_des", "local_integration", "practice_support"}


def test_series_prints_the_tidy_shape_for_a_pcn(demo_db):
    result = measures("series", "--measure", "acc_08_monthly", "--org", "UZ0002", "--db", str(demo_db))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["measure", "version", "org", "period_start", "period_end", "numerator", "denominator", "value"]
    assert len(rows) == 36
    first = rows[0]
    assert float(first["value"]) == pytest.approx(float(first["numerator"]) / float(first["denominator"]) * 100)


def test_series_for_an_unknown_measure_names_it(demo_db):
    result = measures("series", "--measure", "no_such", "--org", "UZ0002", "--db", str(demo_db))
    assert result.returncode == 2
    assert "no_such" in result.stderr and "list" in result.stderr


def test_series_against_a_missing_database_says_how_to_build_one(tmp_path):
    result = measures("series", "--measure", "acc_08", "--org", "UZ0002", "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 2
    assert "python -m measures demo" in result.stderr


def test_demo_command_builds_a_database(tmp_path):
    result = measures("demo", "--db", str(tmp_path / "d.duckdb"), "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "12 PCNs, 60 practices, 36 months" in result.stderr
