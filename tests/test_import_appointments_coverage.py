"""The Appointments in General Practice coverage file: read by its published header, re-imported without doubling,
refused whole at a bad row, and named for what it is when it comes from the CCG era."""

import csv
import io
import zipfile
from datetime import date

import pytest

from measures.importers import PublicationError, import_publications
from measures.store import Store
from tests.tables import assert_unchanged, fingerprint

# APPOINTMENTS_GP_COVERAGE.csv as published in the daily zip of each monthly release.
HEADER = ["SUB_ICB_LOCATION_CODE", "ICB_ONS_CODE", "REGION_CODE", "Appointment_Month", "Included Practices",
          "Open Practices", "Patients registered at included practices", "Patients registered at open practices"]
ROWS = [["72Q", "E54000030", "Y56", "01SEP2025", "188", "190", "1,975,112", "1,990,480"],
        ["72Q", "E54000030", "Y56", "01OCT2025", "189", "190", "1,981,020", "1,991,301"],
        ["00L", "E54000050", "Y63", "01OCT2025", "31", "33", "304211", "318004"]]


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


def failure(store, path):
    outcome = import_publications([path], store, progress=io.StringIO())
    failed = [r for r in outcome.reports if r.status == "failed"]
    assert failed, outcome.text()
    return failed[0].error


def coverage(store):
    return store.query("SELECT * FROM appointment_coverage ORDER BY sub_icb_code, period_start")


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "pcn.duckdb")


def test_the_coverage_file_is_read_by_its_published_header(store, tmp_path):
    path = write_csv(tmp_path / "APPOINTMENTS_GP_COVERAGE.csv", [HEADER, *ROWS])
    outcome = import_publications([path], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    assert outcome.reports[0].publication == "Appointments in General Practice: coverage"
    stored = coverage(store)
    assert list(stored.columns) == ["sub_icb_code", "period_start", "included_practices", "open_practices",
                                    "included_patients", "open_patients", "import_id"]
    got = [(r.sub_icb_code, r.period_start.date(), r.included_practices, r.open_practices, r.included_patients,
            r.open_patients) for r in stored.itertuples()]
    assert got == [("00L", date(2025, 10, 1), 31, 33, 304211, 318004),
                   ("72Q", date(2025, 9, 1), 188, 190, 1975112, 1990480),
                   ("72Q", date(2025, 10, 1), 189, 190, 1981020, 1991301)]
    imports = store.query("SELECT import_id, vintage FROM imports WHERE publication LIKE '%coverage'")
    assert set(stored["import_id"]) == set(imports["import_id"]) and list(imports["vintage"]) == ["2025-10-01"]


def test_a_later_release_replaces_the_months_it_gives_and_keeps_the_rest(store, tmp_path):
    first = write_csv(tmp_path / "first.csv", [HEADER, *ROWS])
    assert import_publications([first], store, progress=io.StringIO()).ok
    assert import_publications([first], store, progress=io.StringIO()).ok  # the same file again changes nothing
    assert len(coverage(store)) == 3
    revised = [["72Q", "E54000030", "Y56", "01OCT2025", "190", "190", "1991301", "1991301"],
               ["72Q", "E54000030", "Y56", "01NOV2025", "190", "191", "1993000", "1995000"]]
    second = write_csv(tmp_path / "second.csv", [HEADER, *revised])
    outcome = import_publications([second], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    stored = coverage(store).set_index(["sub_icb_code", "period_start"])
    assert len(stored) == 4
    assert stored.loc[("72Q", "2025-10-01"), "included_practices"] == 190  # revised
    assert stored.loc[("72Q", "2025-09-01"), "included_practices"] == 188  # kept
    assert stored.loc[("00L", "2025-10-01"), "open_patients"] == 318004  # kept


@pytest.mark.parametrize("column, value, problem", [
    ("Included Practices", "many", "is not a number written in digits"),
    ("Patients registered at open practices", "-5", "is negative"),
    ("Appointment_Month", "Octember", "is not a month the importer knows"),
])
def test_a_bad_row_names_file_row_and_column_and_nothing_is_written(store, tmp_path, column, value, problem):
    good = write_csv(tmp_path / "good.csv", [HEADER, *ROWS[:1]])
    assert import_publications([good], store, progress=io.StringIO()).ok
    rows = [list(r) for r in ROWS]
    rows[1][HEADER.index(column)] = value
    path = write_csv(tmp_path / "bad.csv", [HEADER, *rows])
    before = fingerprint(store.path)
    message = failure(store, path)
    named = column if column != "Appointment_Month" else "APPOINTMENT_MONTH"
    assert message.startswith(f"bad.csv: row 3, column {named}: '{value}' {problem}"), message
    assert "Nothing was imported" in message
    assert_unchanged(before, store.path)


def test_the_same_sub_icb_and_month_with_other_figures_is_refused(store, tmp_path):
    clash = ["72Q", "E54000030", "Y56", "01OCT2025", "150", "190", "1,981,020", "1,991,301"]
    path = write_csv(tmp_path / "clash.csv", [HEADER, *ROWS, clash])
    assert "rows 3, 5 are for the same sub-ICB location and month" in failure(store, path)


def test_the_coverage_file_is_read_from_the_daily_zip_and_the_area_files_skipped(store, tmp_path):
    archive = tmp_path / "Appointments_GP_Daily_CSV_Oct_25.zip"
    daily = [["SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_ONS_CODE", "SUB_ICB_LOCATION_NAME", "ICB_ONS_CODE",
              "REGION_ONS_CODE", "Appointment_Date", "APPT_STATUS", "HCP_TYPE", "APPT_MODE",
              "TIME_BETWEEN_BOOK_AND_APPT", "COUNT_OF_APPOINTMENTS"],
             ["72Q", "E38000244", "NHS South East London ICB - 72Q", "E54000030", "E40000003", "01OCT2025",
              "Attended", "GP", "Face-to-Face", "Same Day", "1200"]]
    with zipfile.ZipFile(archive, "w") as out:
        for name, rows in [("APPOINTMENTS_GP_COVERAGE.csv", [HEADER, *ROWS]), ("SUB_ICB_LOCATION_CSV_OCT_25.csv", daily)]:
            text = io.StringIO()
            csv.writer(text, lineterminator="\r\n").writerows(rows)
            out.writestr(name, text.getvalue())
    outcome = import_publications([archive], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    assert [r.name for r in outcome.reports] == [f"{archive.name}/APPOINTMENTS_GP_COVERAGE.csv"]
    assert any("SUB_ICB_LOCATION_CSV_OCT_25.csv: skipped" in s for s in outcome.skipped)
    assert len(coverage(store)) == 3


def test_a_ccg_era_coverage_file_is_named_with_its_era(store, tmp_path):
    header = ["COMMISSIONER_ORGANISATION_CODE", "CCG_ONS_CODE", "STP_CODE", *HEADER[3:]]
    path = write_csv(tmp_path / "old.csv", [header, ["07L", "E38000004", "E54000029", "01AUG2019", "40", "41",
                                                     "300000", "310000"]])
    with pytest.raises(PublicationError) as error:
        import_publications([path], store, progress=io.StringIO())
    message = str(error.value)
    assert "coverage file from before 1 July 2022" in message and "APPOINTMENTS_GP_COVERAGE.csv" in message
    assert "damaged" not in message
