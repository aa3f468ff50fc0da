"""Bad input gets a clear error naming file, row and column and changes nothing; real quirks just work.

Re-imports, newer vintages and failures half-way behave."""

import csv
import io
import shutil
import subprocess
import sys
import zipfile
from datetime import date

import pytest

from measures.importers import PublicationError, import_publications
from measures.store import Store
from tests.conftest import ROOT, SAMPLES

APPOINTMENTS = SAMPLES / "appointments_practice_level_72Q_Oct2025.csv"
TABLES = ["organisations", "memberships", "membership_evidence", "list_sizes", "observations", "imports",
          "practice_context", "meta"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A store with the real map and list sizes, built once; each test works on a copy."""
    store = Store(tmp_path_factory.mktemp("base") / "base.duckdb")
    outcome = import_publications([SAMPLES / "gp-reg-pat-prac-map.csv", SAMPLES / "gp-reg-pat-prac-all.csv"], store,
                                  progress=io.StringIO())
    assert outcome.ok, outcome.text()
    return store.path


@pytest.fixture
def store(base, tmp_path):
    path = tmp_path / "pcn.duckdb"
    shutil.copy(base, path)
    return Store(path)


def fingerprint(store):
    """Every table's rows, sorted, to prove that nothing changed."""
    with store.reader() as con:
        return {t: con.execute(f"SELECT * FROM {t}").df().sort_values(
            by=list(con.execute(f"SELECT * FROM {t} LIMIT 0").df().columns)).reset_index(drop=True) for t in TABLES}


def assert_unchanged(before, store):
    after = fingerprint(store)
    for table in TABLES:
        assert before[table].equals(after[table]), table


def appointment_rows(n=225):
    """The header and the first n rows of the real appointments file: practice G83001, each row once."""
    with open(APPOINTMENTS, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        return [next(reader) for _ in range(n + 1)]


def write_csv(path, rows, bom=False):
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


def run(store, *paths, **kwargs):
    return import_publications(list(paths), store, progress=io.StringIO(), **kwargs)


def failure(store, *paths):
    outcome = run(store, *paths)
    failed = [r for r in outcome.reports if r.status == "failed"]
    assert failed, outcome.text()
    return failed[0].error


def set_cell(rows, row_number, column, value):
    """Change one cell, addressed as a spreadsheet shows it (header = row 1)."""
    rows[row_number - 1][rows[0].index(column)] = value
    return rows


# --- wrong files -------------------------------------------------------------------------------


def test_a_missing_column_is_named_with_what_to_do(store, tmp_path):
    rows = [[v for i, v in enumerate(r) if i != appointment_rows(0)[0].index("COUNT_OF_APPOINTMENTS")]
            for r in appointment_rows(5)]
    path = write_csv(tmp_path / "appts.csv", rows)
    before = fingerprint(store)
    with pytest.raises(PublicationError) as error:
        run(store, path)
    message = str(error.value)
    assert "appts.csv" in message and "row 1" in message and "COUNT_OF_APPOINTMENTS" in message
    assert "Appointments in General Practice" in message and "Download the file again" in message
    assert_unchanged(before, store)


def test_an_unknown_publication_lists_what_the_importer_reads(store, tmp_path):
    path = write_csv(tmp_path / "budget.csv", [["COST_CENTRE", "AMOUNT"], ["A", "1"]])
    with pytest.raises(PublicationError) as error:
        run(store, path)
    message = str(error.value)
    assert "budget.csv" in message and "not a publication the importer recognises" in message
    assert "COST_CENTRE" in message and "practice-to-PCN map" in message and "appointments" in message


def test_a_non_numeric_count_names_file_row_and_column_and_changes_nothing(store, tmp_path):
    path = write_csv(tmp_path / "appts.csv", set_cell(appointment_rows(20), 5, "COUNT_OF_APPOINTMENTS", "abc"))
    before = fingerprint(store)
    message = failure(store, path)
    assert message.startswith("appts.csv: row 5, column COUNT_OF_APPOINTMENTS: 'abc' is not a number")
    assert "Nothing was imported" in message
    assert_unchanged(before, store)


def test_a_negative_count_is_refused(store, tmp_path):
    rows = set_cell(set_cell(appointment_rows(20), 7, "COUNT_OF_APPOINTMENTS", "-3"), 9, "COUNT_OF_APPOINTMENTS", "-1")
    message = failure(store, write_csv(tmp_path / "appts.csv", rows))
    assert "row 7, column COUNT_OF_APPOINTMENTS: '-3' is negative" in message and "1 more row like this (row 9)" in message


def test_a_fractional_patient_count_is_refused(store, tmp_path):
    rows = [r for r in csv.reader(open(SAMPLES / "gp-reg-pat-prac-all.csv", encoding="utf-8-sig"))][:30]
    set_cell(rows, 12, "NUMBER_OF_PATIENTS", "12.5")
    message = failure(store, write_csv(tmp_path / "lists.csv", rows))
    assert "lists.csv: row 12, column NUMBER_OF_PATIENTS: '12.5' is not a whole number" in message


def test_unknown_practice_codes_are_rejected_with_row_numbers_not_dropped_silently(store, tmp_path):
    rows = set_cell(set_cell(appointment_rows(20), 3, "GP_CODE", "Q99999"), 4, "GP_CODE", "Q99999")
    outcome = run(store, write_csv(tmp_path / "appts.csv", rows))
    report = outcome.reports[0]
    assert report.status == "imported" and (report.rows_read, report.rows_loaded, report.rows_rejected) == (20, 18, 2)
    text = report.text()
    assert "rejected 2 rows: practice code not in any imported map" in text
    assert "row 3 GP_CODE 'Q99999'; row 4 GP_CODE 'Q99999'" in text
    assert store.query("SELECT rows_rejected FROM imports WHERE file_name = 'appts.csv'").iloc[0, 0] == 2


def test_exact_repeats_are_counted_once_and_reported(store, tmp_path):
    rows = appointment_rows(10)
    rows.append(list(rows[1]))  # row 12 repeats row 2
    report = run(store, write_csv(tmp_path / "appts.csv", rows)).reports[0]
    assert report.rows_rejected == 1 and "row 12 repeats row 2" in report.text()
    total = store.query("SELECT numerator FROM observations WHERE measure_id = 'appointments_per_1000' "
                        "AND org_code = 'G83001'").iloc[0, 0]
    assert total == sum(int(r[rows[0].index("COUNT_OF_APPOINTMENTS")]) for r in rows[1:11])


def test_conflicting_repeats_stop_the_import(store, tmp_path):
    rows = appointment_rows(10)
    repeat = list(rows[3])
    repeat[rows[0].index("COUNT_OF_APPOINTMENTS")] = "999"
    rows.append(repeat)
    message = failure(store, write_csv(tmp_path / "appts.csv", rows))
    assert "appts.csv: rows 4, 12 are for the same practice, month and appointment type" in message
    assert "hold different values" in message and "GP_CODE 'G83001'" in message


def test_a_repeat_differing_only_in_a_column_no_measure_reads_stops_the_import_as_well(store, tmp_path):
    # The fast reading keeps only the columns the measures read; the repeat must still be found by its key.
    rows = appointment_rows(10)
    repeat = list(rows[3])
    repeat[rows[0].index("GP_NAME")] = "ANOTHER NAME"
    rows.append(repeat)
    before = fingerprint(store)
    message = failure(store, write_csv(tmp_path / "appts.csv", rows))
    assert "appts.csv: rows 4, 12 are for the same practice, month and appointment type" in message
    assert "hold different values" in message
    assert_unchanged(before, store)


def test_a_truncated_zip_says_download_it_again_and_changes_nothing(store, tmp_path):
    data = (SAMPLES / "PCNWFIndividualCSV.062026.zip").read_bytes()
    path = tmp_path / "PCNWFIndividualCSV.062026.zip"
    path.write_bytes(data[: len(data) // 2])
    before = fingerprint(store)
    with pytest.raises(PublicationError) as error:
        run(store, path)
    message = str(error.value)
    assert "PCNWFIndividualCSV.062026.zip" in message and "incomplete or damaged" in message
    assert "Download it again" in message
    assert_unchanged(before, store)


def test_an_empty_file_is_refused(store, tmp_path):
    path = tmp_path / "gp-reg-pat-prac-all.csv"
    path.write_bytes(b"")
    with pytest.raises(PublicationError, match=r"gp-reg-pat-prac-all.csv: the file is empty \(0 bytes\)"):
        run(store, path)


def test_a_header_without_rows_is_refused(store, tmp_path):
    path = write_csv(tmp_path / "appts.csv", appointment_rows(0))
    assert "has a header (row 1) but no data rows" in failure(store, path)


def test_a_file_cut_short_names_the_broken_row(store, tmp_path):
    path = tmp_path / "appts.csv"
    text = "".join(f"{','.join(r)}\n" for r in appointment_rows(12))
    path.write_text(text[: text.rindex(",", 0, len(text) - 30)], encoding="utf-8")  # the last row loses its end
    message = failure(store, path)
    assert "appts.csv: row 13 has" in message and "the header (row 1) has 14 columns" in message
    assert "cut short" in message


def test_a_wrong_encoding_names_row_and_column(store, tmp_path):
    lines = (SAMPLES / "gp-reg-pat-prac-all.csv").read_bytes().splitlines(keepends=True)[:10]
    lines[3] = lines[3].replace(b"TS5 8SB", b"TS5 8SB\x96")  # a Windows-1252 dash in the POSTCODE of row 4
    path = tmp_path / "lists.csv"
    path.write_bytes(b"".join(lines))
    with pytest.raises(PublicationError) as error:
        run(store, path)
    message = str(error.value)
    assert message.startswith("lists.csv: row 4, column POSTCODE: byte 0x96 is not UTF-8 text")
    assert "re-save it as 'CSV UTF-8'" in message


def test_utf16_is_refused_with_what_to_do(store, tmp_path):
    path = tmp_path / "lists.csv"
    path.write_bytes("PUBLICATION,CODE\r\nx,y\r\n".encode("utf-16"))
    with pytest.raises(PublicationError, match="saved as UTF-16 text"):
        run(store, path)


def test_a_qof_file_without_its_year_in_the_name_says_so(store, tmp_path):
    rows = [r for r in csv.reader(open(SAMPLES / "PREVALENCE_2425.csv", encoding="utf-8-sig"))][:5]
    message = failure(store, write_csv(tmp_path / "prevalence.csv", rows))
    assert "prevalence.csv" in message and "PREVALENCE_2425.csv" in message


# --- files that depend on others ---------------------------------------------------------------


def test_list_sizes_without_any_map_ask_for_the_map_first(tmp_path):
    store = Store(tmp_path / "empty.duckdb")
    message = failure(store, SAMPLES / "gp-reg-pat-prac-all.csv")
    assert "gp-reg-pat-prac-map.csv" in message and "first" in message
    assert not store.exists()  # a failed first import leaves no database behind


def test_workforce_without_list_sizes_asks_for_them(tmp_path):
    store = Store(tmp_path / "map.duckdb")
    assert run(store, SAMPLES / "gp-reg-pat-prac-map.csv").ok
    message = failure(store, SAMPLES / "PCNWFIndividualCSV.062026.zip")
    assert "no list sizes yet" in message and "gp-reg-pat-prac-all.csv" in message


def test_appointments_without_list_sizes_record_null_and_say_so(tmp_path):
    store = Store(tmp_path / "map.duckdb")
    assert run(store, SAMPLES / "gp-reg-pat-prac-map.csv").ok
    report = run(store, write_csv(tmp_path / "appts.csv", appointment_rows(40))).reports[0]
    assert report.status == "imported" and report.rows_rejected == 0
    assert "no list size at any imported extract" in report.text() and "NULL" in report.text()
    rows = store.query("SELECT org_code, numerator, denominator, value FROM observations "
                       "WHERE measure_id = 'appointments_per_1000'")
    assert len(rows) == 2 and rows["value"].isna().all() and rows["numerator"].notna().all()
    assert store.query("SELECT value FROM observations WHERE measure_id = 'dna_rate' AND org_code = 'G83001'"
                       ).iloc[0, 0] > 0


# --- quirks that just work ---------------------------------------------------------------------


def test_column_order_blank_status_and_double_spaces_just_work(store, tmp_path):
    rows = appointment_rows(225)
    assert any("8  to 14 Days" in r for r in rows) and any(r[-1] == "" for r in rows[1:])
    straight = write_csv(tmp_path / "straight.csv", rows)
    reversed_ = write_csv(tmp_path / "reversed.csv", [list(reversed(r)) for r in rows], bom=True)
    other = Store(store.path.with_name("other.duckdb"))
    shutil.copy(store.path, other.path)
    assert run(store, straight).ok and run(other, reversed_).ok
    query = ("SELECT measure_id, org_code, numerator, denominator, value FROM observations "
             "WHERE period_start = DATE '2025-10-01' ORDER BY 1, 2")
    first, second = store.query(query), other.query(query)
    assert len(first) == 15 and first.equals(second)  # 7 measures for the practice and its PCN, and its mapped share


# --- vintages and re-imports -------------------------------------------------------------------


def _month(rows, label):
    column = rows[0].index("APPOINTMENT_MONTH_START_DATE")
    return [rows[0]] + [[*r[:column], label, *r[column + 1:]] for r in rows[1:]]


def test_a_newer_vintage_adds_its_periods_and_a_reissue_replaces_without_duplicates(store, tmp_path):
    rows = appointment_rows(30)
    count = rows[0].index("COUNT_OF_APPOINTMENTS")
    assert run(store, write_csv(tmp_path / "oct.csv", rows)).ok
    assert run(store, write_csv(tmp_path / "nov.csv", _month(rows, "01NOV2025"))).ok
    revised = [rows[0]] + [[*r[:count], str(int(r[count]) + 1), *r[count + 1:]] for r in rows[1:]]
    report = run(store, write_csv(tmp_path / "oct_revised.csv", revised)).reports[0]
    assert report.status == "imported" and "replaced" in report.text()
    series = store.query("SELECT period_start, numerator FROM observations WHERE measure_id = 'appointments_per_1000' "
                         "AND org_code = 'G83001' ORDER BY 1")
    assert [d.date() for d in series["period_start"]] == [date(2025, 10, 1), date(2025, 11, 1)]
    original = sum(int(r[count]) for r in rows[1:])
    assert series["numerator"].tolist() == [original + 30, original]
    assert store.query("SELECT count(*) FROM observations GROUP BY measure_id, org_code, period_start "
                       "HAVING count(*) > 1").empty


def test_an_older_vintage_does_not_overwrite_a_newer_one(store, tmp_path):
    rows = appointment_rows(30)
    both = rows + _month(rows, "01NOV2025")[1:]  # a two-month file: its vintage is November
    assert run(store, write_csv(tmp_path / "oct_nov.csv", both)).ok
    count = rows[0].index("COUNT_OF_APPOINTMENTS")
    older = [rows[0]] + [[*r[:count], "1", *r[count + 1:]] for r in rows[1:]]
    report = run(store, write_csv(tmp_path / "oct_old.csv", older)).reports[0]
    assert "a newer vintage of this publication already gave them" in report.text()
    october = store.query("SELECT numerator FROM observations WHERE measure_id = 'appointments_per_1000' "
                          "AND org_code = 'G83001' AND period_start = DATE '2025-10-01'")
    assert october["numerator"].tolist() == [sum(int(r[count]) for r in rows[1:])]


def test_a_renamed_copy_of_an_imported_file_is_recognised_by_its_content(store, tmp_path):
    copy = tmp_path / "renamed.csv"
    shutil.copy(SAMPLES / "gp-reg-pat-prac-all.csv", copy)
    report = run(store, copy).reports[0]
    assert report.status == "already imported" and "nothing changed" in report.text()


# --- all or nothing ----------------------------------------------------------------------------


def test_a_failure_half_way_through_writing_leaves_the_store_as_it_was(store, tmp_path, monkeypatch):
    from measures.importers import loading

    rows = [r for r in csv.reader(open(SAMPLES / "gp-reg-pat-prac-all.csv", encoding="utf-8-sig"))][:200]
    count = rows[0].index("NUMBER_OF_PATIENTS")
    changed = [rows[0]] + [[*r[:count], str(int(r[count]) + 7), *r[count + 1:]] for r in rows[1:]]
    path = write_csv(tmp_path / "lists.csv", changed)
    before = fingerprint(store)

    def broken(*args, **kwargs):  # list sizes and PCN totals are written by now; observations fail
        raise OSError("disk full")

    monkeypatch.setattr(loading, "_observations", broken)
    with pytest.raises(OSError, match="disk full"):
        run(store, path)
    assert_unchanged(before, store)
    monkeypatch.undo()
    assert run(store, path).ok  # the same file imports once the fault is gone
    assert store.query("SELECT registered_patients FROM list_sizes WHERE org_code = 'A81001'").iloc[0, 0] == \
        int(rows[1][count]) + 7


def test_a_failing_file_stops_the_command_and_the_rest_is_not_attempted(store, tmp_path):
    bad = write_csv(tmp_path / "lists.csv", set_cell(
        [r for r in csv.reader(open(SAMPLES / "gp-reg-pat-prac-all.csv", encoding="utf-8-sig"))][:20],
        6, "NUMBER_OF_PATIENTS", "many"))
    good = write_csv(tmp_path / "appts.csv", appointment_rows(20))
    before = fingerprint(store)
    outcome = run(store, good, bad)
    assert [(r.name, r.status) for r in outcome.reports] == [("lists.csv", "failed"), ("appts.csv", "not attempted")]
    assert_unchanged(before, store)


def test_the_command_line_prints_the_error_and_exits_2(store, tmp_path):
    bad = write_csv(tmp_path / "appts.csv", set_cell(appointment_rows(20), 11, "COUNT_OF_APPOINTMENTS", "ten"))
    result = subprocess.run([sys.executable, "-m", "measures", "import", str(bad), "--db", str(store.path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert "row 11, column COUNT_OF_APPOINTMENTS: 'ten' is not a number" in result.stdout
    assert "failed" in result.stderr and "changed nothing" in result.stderr


# --- the ePCN workbook -------------------------------------------------------------------------


def make_epcn(path, partner_rows, sheets=("PCNDetails", "PCN Core Partner Details")):
    """A small workbook laid out like the published ePCN.xlsx: line breaks in headers, dates as yyyymmdd text."""
    from openpyxl import Workbook

    workbook = Workbook()
    details = workbook.active
    details.title = sheets[0]
    details.append(["PCN Code", "PCN Name", "Current Sub ICB Loc Code", "Sub ICB Location", "Open Date", "Close Date",
                    "Address Line 1", "Postcode"])
    details.append(["U00254", "BLACKHEATH AND CHARLTON PCN", "72Q", "NHS SOUTH EAST LONDON ICB - 72Q", "20191001", "",
                    "LEVEL 2", "SE10 9GB"])
    details.append(["U99001", "OLD TOWN PCN", "72Q", "NHS SOUTH EAST LONDON ICB - 72Q", "20191001", "20200331", "", ""])
    if len(sheets) > 1:
        partners = workbook.create_sheet(sheets[1])
        partners.append(["Partner\nOrganisation\nCode", "Partner\nName", "Practice\nParent\nSub ICB Loc Code",
                         "Practice\nParent\nSub ICB Loc Name", "PCN Code", "PCN Name", "PCN Parent\nSub ICB Loc Code",
                         "PCN Parent\nSub ICB Loc Name", "Practice to PCN\nRelationship\nStart Date",
                         "Practice to PCN\nRelationship\nEnd Date", "Practice Sub ICB Loc and PCN Sub ICB Loc Match "])
        for row in partner_rows:
            partners.append(row)
    workbook.save(path)
    return path


def partner(practice, pcn, start, end=None):
    return [practice, f"PRACTICE {practice}", "72Q", "SEL", pcn, f"PCN {pcn}", "72Q", "SEL", start, end, True]


def test_epcn_dates_memberships_and_keeps_close_dates(tmp_path):
    store = Store(tmp_path / "epcn.duckdb")
    path = make_epcn(tmp_path / "ePCN.xlsx", [partner("G83001", "U99001", "20191001", "20200331"),
                                              partner("G83001", "U00254", "20200401"), partner("G83013", "U00254", "20191001")])
    assert run(store, path).ok
    rows = store.query("SELECT child_code, parent_code, start_date, end_date FROM memberships WHERE parent_level = 'pcn' "
                       "ORDER BY 1, 3")
    assert [(r.child_code, r.parent_code, r.start_date.date(), None if r.end_date != r.end_date else r.end_date.date())
            for r in rows.itertuples()] == [("G83001", "U99001", date(2019, 10, 1), date(2020, 3, 31)),
                                            ("G83001", "U00254", date(2020, 4, 1), None),
                                            ("G83013", "U00254", date(2019, 10, 1), None)]
    closed = store.query("SELECT close_date FROM organisations WHERE org_code = 'U99001'").iloc[0, 0]
    assert closed.date() == date(2020, 3, 31)


def test_epcn_with_a_bad_date_names_sheet_row_and_column(tmp_path):
    path = make_epcn(tmp_path / "ePCN.xlsx", [partner("G83001", "U00254", "20191001"), partner("G83013", "U00254", "2019-13-45")])
    message = failure(Store(tmp_path / "x.duckdb"), path)
    assert message.startswith("ePCN.xlsx: sheet PCN Core Partner Details, row 3, column Practice to PCN Relationship Start "
                              "Date: '2019-13-45' is not a date written yyyymmdd")


def test_epcn_without_its_partner_sheet_is_refused(tmp_path):
    path = make_epcn(tmp_path / "ePCN.xlsx", [], sheets=("PCNDetails",))
    with pytest.raises(PublicationError, match="looks like the ePCN workbook but has no sheet 'PCN Core Partner Details'"):
        run(Store(tmp_path / "x.duckdb"), path)


def test_a_zip_of_a_published_csv_is_read_as_published(store, tmp_path):
    path = tmp_path / "appointments.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Practice_Level_Crosstab/APPOINTMENTS_72Q.csv",
                         "".join(f"{','.join(r)}\r\n" for r in appointment_rows(30)))
        archive.writestr("README.txt", "about these files")
    outcome = run(store, path)
    assert outcome.ok and outcome.reports[0].name == "appointments.zip/Practice_Level_Crosstab/APPOINTMENTS_72Q.csv"
    assert any("README.txt: skipped" in s for s in outcome.skipped)


def test_the_synthetic_demo_is_never_mixed_with_real_figures(demo_db, tmp_path):
    demo = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, demo)
    before = fingerprint(Store(demo))
    with pytest.raises(PublicationError, match="holds the synthetic demo"):
        run(Store(demo), SAMPLES / "gp-reg-pat-prac-map.csv")
    assert_unchanged(before, Store(demo))
