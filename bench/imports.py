"""Import benchmarks: each real sample's import time and rows/s, against DuckDB's own read_csv of the same file."""

from __future__ import annotations

import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from .harness import ROOT, WORK, Result, timed

SAMPLES = ROOT.parent / "shared" / "nhs-samples"
MAPS = ["gp-reg-pat-prac-map.csv", "ePCN.xlsx"]
LISTS = MAPS + ["gp-reg-pat-prac-all.csv"]
APPOINTMENTS = "appointments_practice_level_72Q_Oct2025.csv"
# (file, what the store must hold first, label)
CASES = [
    ("gp-reg-pat-prac-map.csv", [], "practice-to-PCN map"),
    ("ePCN.xlsx", ["gp-reg-pat-prac-map.csv"], "ePCN workbook"),
    ("gp-reg-pat-prac-all.csv", MAPS, "list sizes"),
    ("IIF_indicators_annual_pub_2023_24.csv", LISTS, "IIF indicators"),
    ("PCNWFIndividualCSV.062026.zip", LISTS, "PCN workforce (zip)"),
    (APPOINTMENTS, LISTS, "appointments (10 MB)"),
    ("PREVALENCE_2425.csv", LISTS, "QOF prevalence"),
    ("fingertips-imd-2025-gp-practice.csv", LISTS, "IMD score"),
]
REPEAT = 3


def _prepared(prerequisites: list[str], cache: dict) -> Path:
    """A store holding the prerequisites, built once per distinct list."""
    from measures.importers import import_publications
    from measures.store import Store

    key = tuple(prerequisites)
    if key not in cache:
        path = WORK / f"imports_base_{len(cache)}.duckdb"
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
        if prerequisites:
            outcome = import_publications([SAMPLES / f for f in prerequisites], Store(path), progress=io.StringIO())
            assert outcome.ok, outcome.text()
        cache[key] = path
    return cache[key]


def _fresh(base: Path, target: Path) -> None:
    for stale in (target, target.with_name(target.name + ".wal")):
        stale.unlink(missing_ok=True)
    if base.exists():
        shutil.copy(base, target)


def _reference(file: str, workdir: Path) -> tuple[list[float], str]:
    """DuckDB's own read_csv of the same data (for a zip, of the CSV inside; for xlsx, openpyxl reading the sheets)."""
    import duckdb

    path = SAMPLES / file
    if file.endswith(".xlsx"):
        from openpyxl import load_workbook

        def read():
            workbook = load_workbook(path, read_only=True)
            for sheet in workbook.worksheets:
                list(sheet.iter_rows(values_only=True))
            workbook.close()

        return timed(read, repeat=REPEAT), "openpyxl reading both sheets (DuckDB cannot read xlsx offline)"
    if file.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            member = next(n for n in archive.namelist() if n.endswith(".csv"))
            path = workdir / "member.csv"
            path.write_bytes(archive.read(member))

    def read():
        con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(path)])
        con.close()

    return timed(read, repeat=REPEAT, warmup=1), "DuckDB read_csv into a table"


def run() -> list[Result]:
    from measures.importers import import_publications
    from measures.store import Store

    WORK.mkdir(parents=True, exist_ok=True)
    cache: dict = {}
    results = []
    target = WORK / "imports_run.duckdb"
    with tempfile.TemporaryDirectory() as tmp:
        for file, prerequisites, label in CASES:
            base = _prepared(prerequisites, cache)
            runs, rows = [], 0
            for _ in range(REPEAT):
                _fresh(base, target)
                started = time.perf_counter()
                outcome = import_publications([SAMPLES / file], Store(target), progress=io.StringIO())
                runs.append(time.perf_counter() - started)
                assert outcome.ok, outcome.text()
                rows = outcome.reports[0].rows_read
            reference, how = _reference(file, Path(tmp))
            median, ref = statistics.median(runs), statistics.median(reference)
            results.append(Result(
                f"Import {label}: {file}", runs, target=3.0 if file == APPOINTMENTS else None,
                note=f"{rows:,} rows; in process, parse + validate + one write transaction"))
            results.append(Result(
                f"Import {label}: rows per second", [], unit="rows/s", value=rows / median,
                note=f"{median / ref:,.1f}× the time of {how} ({ref * 1000:,.0f} ms, {rows / ref:,.0f} rows/s)"))

        # The target: the 10 MB appointments sample, end to end from the command line, into a store that
        # already holds the map and list sizes (Python start-up and imports included).
        base = _prepared(LISTS, cache)

        command_runs = []
        for _ in range(REPEAT):
            _fresh(base, target)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "measures", "import", str(SAMPLES / APPOINTMENTS),
                                   "--db", str(target)], capture_output=True, text=True, cwd=ROOT)
            command_runs.append(time.perf_counter() - started)
            assert done.returncode == 0, done.stderr
        results.append(Result("Import appointments (10 MB) from the command line, end to end", command_runs, target=3.0,
                              note="`python -m measures import FILE --db` into a store with the map and list sizes; "
                                   "includes Python start-up"))
    for path in list(cache.values()) + [target]:
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
    return results


if __name__ == "__main__":
    for result in run():
        print(result.row())
