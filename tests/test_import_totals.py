"""PCN figures do not depend on how a month was split into files or on the order files came in.

Totals cover every practice held, sums follow the memberships held now, rates the list sizes held now; the QOF year
is read wherever the file states it."""

import csv
import io
import shutil
import zipfile
from datetime import date

import pytest

from measures.importers import import_publications
from measures.store import Store
from tests.conftest import SAMPLES
from tests.tables import assert_unchanged, fingerprint

APPOINTMENTS = SAMPLES / "appointments_practice_level_72Q_Oct2025.csv"
MAP, LISTS, EPCN = SAMPLES / "gp-reg-pat-prac-map.csv", SAMPLES / "gp-reg-pat-prac-all.csv", SAMPLES / "ePCN.xlsx"
IIF, WORKFORCE = SAMPLES / "IIF_indicators_annual_pub_2023_24.csv", SAMPLES / "PCNWFIndividualCSV.062026.zip"
SPLIT_PCN = "U00254"
FIGURE = ["measure_id", "org_code", "org_level", "period_start", "period_end", "numerator", "denominator", "value",
          "basis"]


def run(store, *paths):
    outcome = import_publications(list(paths), store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    return outcome


def read_rows(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


def figures(store, publication_like, level="pcn"):
    frame = store.query(f"SELECT {', '.join('o.' + c for c in FIGURE)} FROM observations o "
                        "JOIN imports i ON i.import_id = o.import_id WHERE i.publication LIKE ? AND o.org_level = ?",
                        [publication_like, level])
    frame["value"] = frame["value"].round(9)
    return frame.sort_values(FIGURE[:5]).reset_index(drop=True)


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """The real map and list sizes, built once; each test imports into copies."""
    store = Store(tmp_path_factory.mktemp("totals") / "base.duckdb")
    run(store, MAP, LISTS)
    return store.path


def copy_of(base, folder, name):
    path = folder / f"{name}.duckdb"
    shutil.copy(base, path)
    return Store(path)


# --- a month in several files ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def split_files(tmp_path_factory):
    """The real appointments file split in two by practice, alternately, so that most PCNs (U00254 among them) have
    practices in both files, as when a month is published in one file per region."""
    folder = tmp_path_factory.mktemp("split")
    rows = read_rows(APPOINTMENTS)
    header, body = rows[0], rows[1:]
    gp, pcn = header.index("GP_CODE"), header.index("PCN_CODE")
    practices = sorted({r[gp] for r in body})
    first = set(practices[0::2])
    parts = [[r for r in body if r[gp] in first], [r for r in body if r[gp] not in first]]
    in_both = {r[pcn] for r in parts[0]} & {r[pcn] for r in parts[1]}
    assert SPLIT_PCN in in_both and len(in_both) > 20
    return [write_csv(folder / f"appointments_part_{i + 1}.csv", [header] + part) for i, part in enumerate(parts)]


@pytest.fixture(scope="module")
def whole_month(mapped, tmp_path_factory):
    store = copy_of(mapped, tmp_path_factory.mktemp("whole"), "whole")
    run(store, APPOINTMENTS)
    return store


@pytest.mark.parametrize("order", ["one-command", "first-then-second", "second-then-first"])
def test_a_month_split_across_files_gives_the_pcn_totals_of_the_whole_month(mapped, whole_month, split_files,
                                                                             tmp_path, order):
    store = copy_of(mapped, tmp_path, order)
    if order == "one-command":
        outcome = run(store, *split_files)
    else:
        files = split_files if order == "first-then-second" else list(reversed(split_files))
        run(store, files[0])
        outcome = run(store, files[1])
        assert "practices an earlier file gave for the same month" in outcome.text()
    expected = figures(whole_month, "Appointments%")
    assert len(expected[expected["org_code"] == SPLIT_PCN]) == 7  # every appointments measure for the split PCN
    assert figures(store, "Appointments%").equals(expected)
    assert figures(store, "Appointments%", "practice").equals(figures(whole_month, "Appointments%", "practice"))


def test_a_reissued_file_replaces_its_practices_and_keeps_the_others(mapped, whole_month, split_files, tmp_path):
    """The second file again, corrected (here: the same): the totals still cover both files' practices, once."""
    store = copy_of(mapped, tmp_path, "reissued")
    run(store, *split_files)
    rows = read_rows(split_files[1])
    rows.append(list(rows[1]))  # an exact repeat makes it a different file with the same figures
    run(store, write_csv(tmp_path / "appointments_part_2_reissued.csv", rows))
    assert figures(store, "Appointments%").equals(figures(whole_month, "Appointments%"))
    counts = store.query("SELECT count(*) AS n, count(DISTINCT (measure_id, org_code, practice_code)) AS d "
                         "FROM pcn_contributions")
    assert counts["n"][0] == counts["d"][0]


# --- sums of practices follow the memberships held now ---------------------------------------------


@pytest.fixture(scope="module")
def iif_rows_for_known_practices(tmp_path_factory):
    """The real IIF file's rows of the PCNs and practices that both the map and the ePCN workbook list, so that
    whichever of the two is imported first the same rows are accepted."""
    from openpyxl import load_workbook

    workbook = load_workbook(EPCN, read_only=True)
    listed = {code for sheet in ("PCNDetails", "PCN Core Partner Details")
              for code in (r[0] for r in workbook[sheet].iter_rows(min_row=2, values_only=True))}
    workbook.close()
    mapped = read_rows(MAP)
    codes = {r[mapped[0].index(c)] for r in mapped[1:] for c in ("PRACTICE_CODE", "PCN_CODE")}
    rows = read_rows(IIF)
    code = rows[0].index("ORGANISATION_CODE")
    kept = [r for r in rows[1:] if r[code] in listed & codes]
    return write_csv(tmp_path_factory.mktemp("iif") / "IIF_indicators_annual_pub_2023_24.csv", [rows[0]] + kept)


def test_iif_pcn_sums_are_rebuilt_when_a_workbook_dating_the_memberships_arrives_later(
        mapped, iif_rows_for_known_practices, tmp_path):
    later = copy_of(mapped, tmp_path, "later")
    run(later, iif_rows_for_known_practices)
    assumed = figures(later, "Network Contract DES (MI)%")
    outcome = run(later, EPCN)
    assert "PCN figures of Network Contract DES (MI): Investment and Impact Fund summed from practices were rebuilt" \
        in outcome.text()
    first = copy_of(mapped, tmp_path, "first")
    run(first, EPCN)
    run(first, iif_rows_for_known_practices)
    expected = figures(first, "Network Contract DES (MI)%")
    assert not assumed.equals(expected)  # the workbook moves practices between PCNs at 31 March 2024
    assert figures(later, "Network Contract DES (MI)%").equals(expected)
    summed = expected[expected["basis"] == "sum_of_practices"]
    assert set(summed["measure_id"]) == {"acc_08", "ehch_04"} and len(summed) > 2000


# --- rates divide by the list sizes held now ------------------------------------------------------


@pytest.fixture(scope="module")
def later_lists(tmp_path_factory):
    """The real list sizes as a later extract (June 2026, nearer the workforce census), each list 3% larger."""
    rows = read_rows(LISTS)
    date_column, count = rows[0].index("EXTRACT_DATE"), rows[0].index("NUMBER_OF_PATIENTS")
    for row in rows[1:]:
        row[date_column], row[count] = "2026-06-01", str(round(int(row[count]) * 1.03))
    return write_csv(tmp_path_factory.mktemp("lists") / "gp-reg-pat-prac-all.csv", rows)


def test_workforce_rates_divide_by_list_sizes_imported_after_them(mapped, later_lists, tmp_path):
    later = copy_of(mapped, tmp_path, "later")
    run(later, WORKFORCE)
    outcome = run(later, later_lists)
    assert "PCN rates of Primary Care Network Workforce: individual-level CSV now divide by" in outcome.text()
    first = copy_of(mapped, tmp_path, "first")
    run(first, later_lists)
    run(first, WORKFORCE)
    expected = figures(first, "Primary Care Network Workforce%")
    assert figures(later, "Primary Care Network Workforce%").equals(expected)
    pcn_list = first.query("SELECT registered_patients FROM list_sizes WHERE org_code = ? AND extract_date = ?",
                           ["U00254", date(2026, 6, 1)])["registered_patients"][0]
    fte = expected[(expected["org_code"] == "U00254") & (expected["measure_id"] == "workforce_fte_per_10k")]
    assert fte["denominator"].tolist() == [pcn_list]


# --- the QOF year, wherever the file states it ------------------------------------------------------


def qof_rows(n=400):
    return read_rows(SAMPLES / "PREVALENCE_2425.csv")[: n + 1]


def zipped(path, member, rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, out.getvalue())
    return path


def test_a_renamed_qof_file_takes_its_year_from_the_archive_it_came_in(mapped, tmp_path):
    store = copy_of(mapped, tmp_path, "qof")
    outcome = run(store, zipped(tmp_path / "QOF_2425.zip", "prevalence.csv", qof_rows()))
    (report,) = outcome.reports
    assert (report.name, report.vintage) == ("QOF_2425.zip/prevalence.csv", "2024-25")
    assert set(store.query("SELECT period FROM practice_context")["period"]) == {"2024/25"}


def test_a_year_column_gives_the_qof_year(mapped, tmp_path):
    rows = qof_rows()
    rows = [r + [("REPORTING_YEAR" if i == 0 else "2024-25")] for i, r in enumerate(rows)]
    store = copy_of(mapped, tmp_path, "qof")
    outcome = run(store, write_csv(tmp_path / "prevalence.csv", rows))
    assert outcome.reports[0].vintage == "2024-25"


@pytest.mark.parametrize("where,build,said", [
    ("archive", lambda folder: zipped(folder / "QOF_2324.zip", "PREVALENCE_2425.csv", qof_rows()),
     ["its name says 2024/25", "the archive it came in (QOF_2324.zip) says 2023/24"]),
    ("column", lambda folder: write_csv(folder / "PREVALENCE_2425.csv",
                                        [r + [("REPORTING_YEAR" if i == 0 else "2023-24")]
                                         for i, r in enumerate(qof_rows())]),
     ["its name says 2024/25", "its column REPORTING_YEAR says 2023/24"]),
    ("two-years-in-a-column", lambda folder: write_csv(folder / "prevalence.csv",
                                                       [r + [("REPORTING_YEAR" if i == 0 else
                                                              "2024-25" if i < 10 else "2023-24")]
                                                        for i, r in enumerate(qof_rows())]),
     ["column REPORTING_YEAR holds 2 QOF years (2024/25 (row 2), 2023/24 (row 11))"]),
])
def test_a_qof_file_whose_year_disagrees_with_itself_is_refused(mapped, tmp_path, where, build, said):
    store = copy_of(mapped, tmp_path, "qof")
    before = fingerprint(store.path)
    outcome = import_publications([build(tmp_path)], store, progress=io.StringIO())
    (report,) = outcome.reports
    assert report.status == "failed"
    for phrase in said:
        assert phrase in report.error, report.error
    assert "Nothing was imported" in report.error
    assert_unchanged(before, store.path)
