"""Import benchmarks: each real sample's import time and rows/s, against DuckDB's own read_csv of the same file.

The appointments import is also measured against its floor (DuckDB reading the file and aggregating it to the same
rows)."""

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
FLOOR_REPEAT = 5  # interleaved runs of the appointments import and its floor
LARGER = 10  # the larger appointments file repeats the sample's data rows this many times


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


def _appointments_floor(path: Path):
    """One DuckDB statement that reads the crosstab with explicit column types and gives the rows the importer
    keeps: per month, practice and PCN_CODE, every numerator and denominator of the appointment measures and the
    mapped-category share, over the distinct rows (an exact repeat counts once). Labels are compared as published."""
    import duckdb

    from measures.importers import appointments as a

    header = path.open(encoding="utf-8-sig").readline().strip().split(",")
    columns = {c: ("BIGINT" if c == "COUNT_OF_APPOINTMENTS" else "VARCHAR") for c in header}

    def among(column: str, values: list[str]) -> str:
        return f"{column} IN ({', '.join(repr(v) for v in values)})"

    within, known = among("TIME_BETWEEN_BOOK_AND_APPT", a.WITHIN_14_DAYS), among("TIME_BETWEEN_BOOK_AND_APPT",
                                                                                a.KNOWN_INTERVALS)
    acc08 = among("NATIONAL_CATEGORY", a.ACC_08_CATEGORIES)
    sums = {
        "total": "TRUE", "same_day": "TIME_BETWEEN_BOOK_AND_APPT = 'Same Day'", "within_14": within,
        "interval_known": known, "dna": "APPT_STATUS = 'DNA'", "status_known": among("APPT_STATUS", a.KNOWN_STATUS),
        "face_to_face": "APPT_MODE = 'Face-to-Face'", "mode_known": among("APPT_MODE", a.KNOWN_MODES),
        "other_staff": "HCP_TYPE = 'Other Practice staff'", "staff_known": among("HCP_TYPE", a.KNOWN_STAFF),
        "acc08_within_14": f"{acc08} AND {within}", "acc08_known": f"{acc08} AND {known}",
        "category_mapped": f"NOT {among('NATIONAL_CATEGORY', a.NOT_MAPPED)}",
    }
    sql = f"""
        CREATE OR REPLACE TABLE floor AS
        SELECT CAST(strptime(APPOINTMENT_MONTH_START_DATE, '%d%b%Y') AS DATE) AS month, GP_CODE AS practice,
               PCN_CODE AS pcn,
               {", ".join(f"coalesce(sum(COUNT_OF_APPOINTMENTS) FILTER (WHERE {w}), 0) AS {n}" for n, w in sums.items())}
        FROM (SELECT DISTINCT * FROM read_csv(?, header = true, auto_detect = false, delim = ',', quote = '"',
                                              escape = '"', columns = ?))
        GROUP BY ALL
    """

    def run(keep: bool = False):
        con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        con.execute(sql, [str(path), columns])
        frame = con.execute("SELECT month, practice, sum(total) AS total, sum(category_mapped) AS category_mapped "
                            "FROM floor GROUP BY ALL").df() if keep else None
        con.close()
        return frame

    return run


def _larger_appointments(folder: Path) -> Path:
    """The sample's data rows repeated LARGER times under its header (each copy an exact repeat of the first)."""
    lines = (SAMPLES / APPOINTMENTS).read_bytes().splitlines(keepends=True)
    target = folder / f"appointments_{LARGER}x.csv"
    target.write_bytes(lines[0] + b"".join(lines[1:]) * LARGER)
    return target


def _regional_appointments(folder: Path) -> Path:
    """A file shaped like a regional month: the sample's rows given LARGER times over, each time to other practices
    of the national map (practice i of copy k is the map's practice k × n + i, under its own PCN_CODE), so that every
    practice is known and each copy's rows are its own, as in a published file of ten times the sample's practices
    (the sample's own exact repeats stay, within each copy)."""
    import csv

    with (SAMPLES / "gp-reg-pat-prac-map.csv").open(newline="", encoding="utf-8-sig") as handle:
        mapped = [(row["PRACTICE_CODE"], row["PCN_CODE"]) for row in csv.DictReader(handle)
                  if row["PCN_CODE"] and row["PCN_CODE"] != "U"]
    with (SAMPLES / APPOINTMENTS).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    practice, pcn = header.index("GP_CODE"), header.index("PCN_CODE")
    sample = sorted({row[practice] for row in rows})
    own = {code for code, _ in mapped} & set(sample)
    others = [pair for pair in mapped if pair[0] not in own]
    target = folder / f"appointments_{LARGER}_regions.csv"
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for copy in range(LARGER):
            given = {code: others[(copy - 1) * len(sample) + i] if copy else (code, None)
                     for i, code in enumerate(sample)}
            for row in rows:
                code, pcn_code = given[row[practice]]
                out = list(row)
                out[practice] = code
                if pcn_code is not None:
                    out[pcn] = pcn_code
                writer.writerow(out)
    return target


def _appointments_against_floor(path: Path, label: str, base: Path, target: Path) -> list[Result]:
    """The appointments import in process (whole: into a store with the map and list sizes; and its parse alone:
    read, validate, aggregate), each run beside the floor, so that both meet the same machine."""
    from measures.importers import appointments, import_publications
    from measures.importers.context import StoreContext
    from measures.importers.sources import resolve
    from measures.store import Store

    floor = _appointments_floor(path)
    _fresh(base, target)
    outcome = import_publications([path], Store(target), progress=io.StringIO())
    assert outcome.ok, outcome.text()
    stored = Store(target).query("SELECT org_code AS practice, numerator FROM observations "
                                 "WHERE measure_id = 'appointments_per_1000' AND org_level = 'practice'")
    by_floor = floor(keep=True).set_index("practice")["total"]
    assert all(by_floor[p] == n for p, n in stored.itertuples(index=False)), "the floor's totals differ"
    source = resolve(str(path), target.parent).sources[0]
    context = StoreContext(Store(base))
    context.frame("organisations")
    floors, imports, parses = [], [], []
    for _ in range(FLOOR_REPEAT):
        started = time.perf_counter()
        floor()
        floors.append(time.perf_counter() - started)
        _fresh(base, target)
        started = time.perf_counter()
        import_publications([path], Store(target), progress=io.StringIO())
        imports.append(time.perf_counter() - started)
        parsing = context.for_another_parse()
        started = time.perf_counter()
        appointments.parse(source, parsing)
        parses.append(time.perf_counter() - started)
        parsing.close()
    lowest = statistics.median(floors)
    rows = outcome.reports[0].rows_read
    how = ("floor: one DuckDB statement reading the file with explicit types and aggregating it to the same rows, "
           "timed in the same runs")
    return [
        Result(f"Appointments {label}: floor", floors, note=f"{rows:,} rows; {how}"),
        Result(f"Appointments {label}: whole import, in process", imports, floor=lowest, ratio_target=1.5,
               note="recognise, sha256, parse, validate, one write transaction and the PCN totals"),
        Result(f"Appointments {label}: the importer's parse (read, validate, aggregate)", parses, floor=lowest,
               ratio_target=1.5, note="appointments.parse with the store's context read once"),
    ]


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
        results += _appointments_against_floor(SAMPLES / APPOINTMENTS, "(10 MB)", base, target)
        results += _appointments_against_floor(_larger_appointments(Path(tmp)), f"({LARGER}× the sample, 100 MB)",
                                               base, target)
        results += _appointments_against_floor(_regional_appointments(Path(tmp)),
                                               f"({LARGER}× the sample's practices, 100 MB)",
                                               base, target)

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
