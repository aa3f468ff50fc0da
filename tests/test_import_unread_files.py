"""A genuine NHS file the importer does not read is told so by name, with the file to download instead.

It is never called damaged nor sent to be downloaded again, and nothing is written."""

import csv
import io
import shutil
import zipfile

import pytest

from measures.importers import PublicationError, import_publications
from measures.store import Store
from tests.conftest import SAMPLES
from tests.tables import assert_unchanged, fingerprint

APPOINTMENTS = SAMPLES / "appointments_practice_level_72Q_Oct2025.csv"
MAP = SAMPLES / "gp-reg-pat-prac-map.csv"


def sample(path, n):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return [row for _, row in zip(range(n), reader)]


def write_csv(path, rows, quoted=False):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n", quoting=csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL).writerows(rows)
    return path


def area_appointments(period_column, period_value, categories=False):
    """The real practice rows summed to their sub-ICB location, as the area files give appointments."""
    dimensions = (["NATIONAL_CATEGORY"] if categories else
                  ["APPT_STATUS", "HCP_TYPE", "APPT_MODE", "TIME_BETWEEN_BOOK_AND_APPT"])
    totals = {}
    for row in sample(APPOINTMENTS, 3000):
        key = (row["SUB_ICB_LOCATION_CODE"], row["SUB_ICB_LOCATION_NAME"], *(row[d] for d in dimensions))
        totals[key] = totals.get(key, 0) + int(row["COUNT_OF_APPOINTMENTS"])
    extra = ["SERVICE_SETTING", "CONTEXT_TYPE"] if categories else []
    header = ["SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_ONS_CODE", "SUB_ICB_LOCATION_NAME", "ICB_ONS_CODE",
              "REGION_ONS_CODE", period_column, *extra, *dimensions, "COUNT_OF_APPOINTMENTS"]
    rows = [[code, "E38000244", name, "E54000030", "E40000003", period_value,
             *(["General Practice", "Care Related Encounter"] if categories else []), *rest, str(n)]
            for (code, name, *rest), n in totals.items()]
    return [header] + rows


def ccg_appointments():
    rows = area_appointments("Appointment_Date", "01OCT2021")
    rows[0] = ["CCG_CODE", "CCG_ONS_CODE", "CCG_NAME", "STP_CODE", "STP_ONS_CODE"] + rows[0][5:]
    return rows


def single_age():
    rows = sample(SAMPLES / "gp-reg-pat-prac-all.csv", 50)
    header = ["PUBLICATION", "EXTRACT_DATE", "TYPE", "SUB_ICB_LOCATION_CODE", "ONS_SUB_ICB_LOCATION_CODE", "ORG_CODE",
              "POSTCODE", "SEX", "AGE", "NUMBER_OF_PATIENTS"]
    return [header] + [[r["PUBLICATION"], r["EXTRACT_DATE"], "GP", r["SUB_ICB_LOCATION_CODE"],
                        r["ONS_SUB_ICB_LOCATION_CODE"], r["CODE"], r["POSTCODE"], "MALE", str(age),
                        str(int(r["NUMBER_OF_PATIENTS"]) // 200)] for r in rows for age in range(3)]


def lsoa():
    rows = sample(SAMPLES / "gp-reg-pat-prac-all.csv", 50)
    return [["PUBLICATION", "EXTRACT_DATE", "PRACTICE_CODE", "PRACTICE_NAME", "LSOA_CODE", "SEX",
             "NUMBER_OF_PATIENTS"]] + [[r["PUBLICATION"], r["EXTRACT_DATE"], r["CODE"], "A PRACTICE", "E01012345",
                                       "ALL", r["NUMBER_OF_PATIENTS"]] for r in rows]


def ccg_map():
    rows = sample(MAP, 50)
    header = ["PUBLICATION", "EXTRACT_DATE", "PRACTICE_CODE", "PRACTICE_NAME", "PRACTICE_POSTCODE", "ONS_CCG_CODE",
              "CCG_CODE", "CCG_NAME", "ONS_STP_CODE", "STP_CODE", "STP_NAME", "ONS_COMM_REGION_CODE",
              "COMM_REGION_CODE", "COMM_REGION_NAME", "PCN_CODE", "PCN_NAME"]
    return [header] + [[r["PUBLICATION"], "01Apr2021", r["PRACTICE_CODE"], r["PRACTICE_NAME"], r["PRACTICE_POSTCODE"],
                        r["ONS_SUB_ICB_LOCATION_CODE"], r["SUB_ICB_LOCATION_CODE"], "NHS A CCG", r["ONS_ICB_CODE"],
                        r["ICB_CODE"], r["ICB_NAME"], r["ONS_COMM_REGION_CODE"], r["COMM_REGION_CODE"],
                        r["COMM_REGION_NAME"], r["PCN_CODE"], r["PCN_NAME"]] for r in rows]


def epraccur():
    """ODS epraccur as published: quoted, no header, 27 columns, the first row a practice."""
    return [[r["PRACTICE_CODE"], r["PRACTICE_NAME"], r["COMM_REGION_CODE"], r["ICB_CODE"], "THE HEALTH CENTRE",
             "HIGH STREET", "", "", "", r["PRACTICE_POSTCODE"], "19740401", "", "A", "B", r["SUB_ICB_LOCATION_CODE"],
             "20220701", "", "01642 672351", "", "", "", "0", "", "", "", "4", ""] for r in sample(MAP, 30)]


def qof_achievement():
    return [["PRACTICE_CODE", "INDICATOR_CODE", "MEASURE", "VALUE"], ["A81001", "AF006", "ACHIEVED_POINTS", "12"],
            ["A81001", "AF006", "NUMERATOR", "40"]]


CASES = {
    "sub-icb-monthly": (lambda: area_appointments("APPOINTMENT_MONTH", "01OCT2025"),
                        ["CSV for whole areas (per sub-ICB location", "Practice_Level_Crosstab_MMM_YY.zip"]),
    "sub-icb-daily": (lambda: area_appointments("Appointment_Date", "01OCT2025"),
                      ["CSV for whole areas", "Practice_Level_Crosstab_MMM_YY.zip"]),
    "national-categories": (lambda: area_appointments("Appointment_Date", "01OCT2025", categories=True),
                            ["national categories file", "Practice_Level_Crosstab_MMM_YY.zip"]),
    "ccg-appointments": (ccg_appointments, ["from before 1 July 2022", "Clinical Commissioning Group (CCG_CODE)",
                                            "Practice_Level_Crosstab_MMM_YY.zip"]),
    "single-year-of-age": (single_age, ["single year of age", "gp-reg-pat-prac-all.csv",
                                        "gp-reg-pat-prac-quin-age.csv"]),
    "lsoa": (lsoa, ["by LSOA of residence", "gp-reg-pat-prac-all.csv"]),
    "ccg-era-map": (ccg_map, ["practice-to-PCN map from before 1 July 2022", "CCG_CODE, STP_CODE",
                              "gp-reg-pat-prac-map.csv", "ePCN workbook of that time"]),
    "qof-achievement": (qof_achievement, ["Quality and Outcomes Framework achievement file", "PREVALENCE_YYZZ.csv"]),
    "epraccur": (epraccur, ["ODS epraccur", "gp-reg-pat-prac-map.csv", "ePCN.xlsx"]),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("unread") / "base.duckdb")
    assert import_publications([MAP], store, progress=io.StringIO()).ok
    return store.path


@pytest.fixture
def store(base, tmp_path):
    path = tmp_path / "pcn.duckdb"
    shutil.copy(base, path)
    return Store(path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_known_file_the_importer_does_not_read_is_named_with_what_to_download(case, store, tmp_path):
    build, phrases = CASES[case]
    path = write_csv(tmp_path / f"{case}.csv", build(), quoted=case == "epraccur")
    before = fingerprint(store.path)
    with pytest.raises(PublicationError) as error:
        import_publications([path], store, progress=io.StringIO())
    message = str(error.value)
    assert message.startswith(f"{case}.csv: this is ")
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    assert "damaged" not in message and "again" not in message and "not a publication" not in message
    assert message.endswith("Nothing was imported.")
    assert_unchanged(before, store.path)


def test_an_archive_skips_a_known_unread_member_by_name_and_imports_the_rest(store, tmp_path):
    with open(APPOINTMENTS, encoding="utf-8-sig", newline="") as handle:
        practice_rows = list(csv.reader(handle))[:226]
    archive = tmp_path / "appointments.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("Practice_Level_Crosstab_Oct_25.csv", _text(practice_rows))
        out.writestr("Appointments_GP_Daily_Oct_25.csv", _text(area_appointments("Appointment_Date", "01OCT2025")))
    outcome = import_publications([archive], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    assert [r.name for r in outcome.reports] == ["appointments.zip/Practice_Level_Crosstab_Oct_25.csv"]
    (skipped,) = [s for s in outcome.skipped if "Appointments_GP_Daily" in s]
    assert "skipped (the Appointments in General Practice CSV for whole areas" in skipped
    assert "which the importer does not read" in skipped


def _text(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()
