"""Bad input is refused with a message naming file, row and column, and nothing is saved."""

import csv
import io
import shutil
from datetime import date

import pytest
from openpyxl import Workbook

from measures import local
from measures.local import saving
from measures.store import Store

TODAY = date(2026, 10, 15)
COLUMNS = ["measure_id", "measure_version", "period_start", "org_code", "numerator", "denominator"]
GOOD = ["int_mdt_case_reviews", "1", "2026-09-01", "UZ0001", "12", ""]  # row 2 of every file below


@pytest.fixture
def store(demo_db, tmp_path) -> Store:
    path = tmp_path / "local.duckdb"
    shutil.copy(demo_db, path)
    return Store(path)


def csv_file(*rows, columns=COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode()


def practice_of(store, pcn):
    return store.query("SELECT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn' "
                       "AND end_date IS NULL ORDER BY 1 LIMIT 1", [pcn])["child_code"].iloc[0]


def refused(store, data, name="values.csv", pcn="UZ0001") -> list[str]:
    """Upload a file whose row 2 is good and return the problems; checks that nothing at all was saved."""
    def state():
        return store.query("SELECT (SELECT count(*) FROM value_audit), (SELECT count(*) FROM recorded_values), "
                           "(SELECT count(*) FROM imports), (SELECT sum(numerator) FROM observations)").values.tolist()

    before = state()
    with pytest.raises(local.RecordingError) as caught:
        batch = local.parse_upload(store, name, data, pcn_code=pcn, today=TODAY)
        local.save(store, batch, "Sam")
    assert state() == before
    assert str(caught.value).startswith("nothing was saved")
    return [str(p) for p in caught.value.problems]


HOURS = "ps_arrs_hours_per_1000_weighted"
CARE_PLANS = "int_proactive_care_plan_pct"

CASES = {
    "unknown organisation": (["int_mdt_case_reviews", "1", "2026-09-01", "UZ9999", "3", ""],
                             "row 3, column org_code: 'UZ9999' is not a known organisation code"),
    "a practice for a PCN-level measure": (["int_mdt_case_reviews", "1", "2026-09-01", "Z00001", "3", ""],
                                           "column org_code: Z00001"),
    "another PCN's organisation": (["int_mdt_case_reviews", "1", "2026-09-01", "UZ0002", "3", ""],
                                   "column org_code: UZ0002"),
    "period before PCNs began": (["int_mdt_case_reviews", "1", "2018-04-01", "UZ0001", "3", ""],
                                 "row 3, column period_start: 2018-04-01 is before 2019-07-01"),
    "period not ended yet": (["int_mdt_case_reviews", "1", "2026-10-01", "UZ0001", "3", ""],
                             "row 3, column period_start: the period starting 2026-10-01 has not ended yet"),
    "period not the start of a month": (["int_mdt_case_reviews", "1", "2026-09-15", "UZ0001", "3", ""],
                                        "2026-09-15 is not the start of a monthly period"),
    "period that is not a date": (["int_mdt_case_reviews", "1", "Sept 2026", "UZ0001", "3", ""],
                                  "row 3, column period_start: 'Sept 2026' is not a date"),
    "numerator not a number": (["int_mdt_case_reviews", "1", "2026-08-01", "UZ0001", "twelve", ""],
                               "row 3, column numerator: 'twelve' is not a number"),
    "denominator not a number": ([CARE_PLANS, "1", "2026-09-01", "UZ0001", "12", "n/a"],
                                 "row 3, column denominator: 'n/a' is not a number"),
    "numerator above denominator for a proportion": ([CARE_PLANS, "1", "2026-09-01", "UZ0001", "120", "100"],
                                                     "row 3, column numerator: 120 is above the denominator (100)"),
    "duplicate organisation and period": (GOOD, "row 3, column org_code: UZ0001 for 2026-09-01 is already given in row 2"),
    "formula with =": (["int_mdt_case_reviews", "1", "2026-08-01", "UZ0001", "=SUM(A1:A9)", ""],
                       "row 3, column numerator: '=SUM(A1:A9)' starts with '=' like a spreadsheet formula"),
    "formula with +": (["int_mdt_case_reviews", "1", "2026-08-01", "UZ0001", "+A1*2", ""],
                       "row 3, column numerator: '+A1*2' starts with '+'"),
    "formula with -": (["int_mdt_case_reviews", "1", "2026-08-01", "UZ0001", "-2+3+cmd|' /C calc'!A0", ""],
                       "row 3, column numerator:"),
    "formula with @": (["int_mdt_case_reviews", "1", "2026-08-01", "@SUM(1)", "3", ""],
                       "row 3, column org_code: '@SUM(1)' starts with '@'"),
    "formula in a text column": (["=HYPERLINK(\"http://x\")", "1", "2026-08-01", "UZ0001", "3", ""],
                                 "row 3, column measure_id:"),
    "negative count": (["int_mdt_case_reviews", "1", "2026-08-01", "UZ0001", "-3", ""],
                       "row 3, column numerator: -3 is negative"),
    "a count with a denominator": (["int_mdt_case_reviews", "1", "2026-08-01", "UZ0001", "3", "10"],
                                   "row 3, column denominator: must be blank: int_mdt_case_reviews is a count"),
    "a denominator of zero": ([CARE_PLANS, "1", "2026-09-01", "UZ0001", "0", "0"],
                              "row 3, column denominator: 0 is not above 0"),
    "a denominator without a numerator": ([CARE_PLANS, "1", "2026-09-01", "UZ0001", "", "40"],
                                          "row 3, column numerator: is blank but the denominator is filled in"),
    "a proportion without its denominator": ([CARE_PLANS, "1", "2026-09-01", "UZ0001", "4", ""],
                                             "row 3, column denominator: is blank"),
    "unknown measure": (["int_no_such_measure", "1", "2026-09-01", "UZ0001", "4", ""],
                        "row 3, column measure_id: 'int_no_such_measure' is not a measure"),
    "a national measure": (["acc_08", "1", "2026-09-01", "UZ0001", "4", "10"],
                           "row 3, column measure_id: acc_08 is a national DES measure"),
    "unknown version": (["int_mdt_case_reviews", "7", "2026-08-01", "UZ0001", "3", ""],
                        "row 3, column measure_version: int_mdt_case_reviews has no version 7"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_row_is_named_by_file_row_and_column_and_nothing_is_saved(store, case):
    row, expected = CASES[case]
    problems = refused(store, csv_file(GOOD, row))
    assert any(p.startswith("values.csv, row 3") for p in problems), problems
    assert any(expected in p for p in problems), problems


def test_another_pcns_practice_is_refused_for_a_practice_level_measure(store):
    theirs = practice_of(store, "UZ0002")
    problems = refused(store, csv_file(GOOD, [HOURS, "1", "2026-09-01", theirs, "10", "5000"]))
    assert any(f"column org_code: {theirs}" in p and "was not a member of" in p for p in problems)


def test_a_negative_number_is_a_number_and_money_can_be_negative(store):
    """-3 is read as a number, not a formula; only a currency measure (money clawed back) may go below 0."""
    practice = practice_of(store, "UZ0001")
    data = csv_file(GOOD, ["ps_funding_per_weighted_patient", "1", "2026-09-01", practice, "-3", "5000"])
    batch = local.parse_upload(store, "funding.csv", data, pcn_code="UZ0001", today=TODAY)
    assert batch.entries["numerator"].tolist() == [12.0, -3.0]


def test_numbers_with_thousands_separators_and_signs_are_numbers(store):
    data = csv_file([CARE_PLANS, "1", "2026-09-01", "UZ0001", "+1,200", "1,500"])
    batch = local.parse_upload(store, "plans.csv", data, pcn_code="UZ0001", today=TODAY)
    assert batch.entries[["numerator", "denominator"]].values.tolist() == [[1200.0, 1500.0]]


def test_every_problem_in_a_file_is_listed_at_once(store):
    problems = refused(store, csv_file(GOOD, ["int_mdt_case_reviews", "1", "2026-08-01", "UZ9999", "x", ""],
                                       ["int_mdt_case_reviews", "1", "2031-01-01", "UZ0001", "=1+1", ""]))
    assert len(problems) == 3
    assert [p.split(":")[0] for p in problems] == ["values.csv, row 3, column org_code",
                                                  "values.csv, row 3, column numerator",
                                                  "values.csv, row 4, column numerator"]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(store, monkeypatch):
    monkeypatch.setenv("PCN_MAX_UPLOAD_MB", "0.001")  # about 1 KB
    data = csv_file(GOOD, *[["int_mdt_case_reviews", "1", "2026-08-01", "UZ0001", "3", ""]] * 60)
    problems = refused(store, data, name="big.csv")
    assert problems == [f"big.csv: is {len(data) / 1048576:.1f} MB; the largest file accepted is 0.001 MB "
                        "(set by PCN_MAX_UPLOAD_MB)"]


def test_the_size_limit_defaults_to_5_mb(monkeypatch):
    monkeypatch.delenv("PCN_MAX_UPLOAD_MB", raising=False)
    assert local.max_upload_mb() == 5


def test_a_file_that_is_not_csv_or_xlsx_is_refused(store):
    assert refused(store, b"hello", name="values.txt") == [
        "values.txt: is not a CSV or XLSX file; download a template and fill it in"]


def test_a_damaged_xlsx_is_refused(store):
    assert refused(store, b"PK\x03\x04 not really a workbook", name="values.xlsx")[0].startswith(
        "values.xlsx: is not a readable XLSX file")


def test_a_missing_column_is_named_on_the_header_row(store):
    data = csv_file(["int_mdt_case_reviews", "2026-09-01", "UZ0001", "12"],
                    columns=["measure_id", "period_start", "org_code", "numerator"])
    problems = refused(store, data)
    assert problems[0].startswith("values.csv, row 1, column denominator: this column is missing")


def test_a_real_formula_cell_in_an_xlsx_file_is_refused(store):
    book = Workbook()
    sheet = book.active
    sheet.title = "values"
    sheet.append(COLUMNS)
    sheet.append(GOOD)
    sheet.append(["int_mdt_case_reviews", 1, "2026-08-01", "UZ0001", None, None])
    sheet["E3"] = "=SUM(E2:E2)"
    out = io.BytesIO()
    book.save(out)
    problems = refused(store, out.getvalue(), name="values.xlsx")
    assert problems == ["values.xlsx, row 3, column numerator: '=SUM(E2:E2)' starts with '=' like a spreadsheet "
                        "formula; cells starting with =, +, - or @ are refused unless they are plain numbers, "
                        "so type the value itself"]


def test_a_quarterly_measure_takes_only_quarter_starts(store):
    fields = {"id": "int_quarterly_reviews", "name": "Quarterly reviews", "description": "Reviews held each quarter.",
              "family": "local_integration", "level": "pcn", "type": "count", "numerator": "Reviews held",
              "unit": "reviews", "improvement_direction": "increase", "frequency": "quarterly", "scope": "UZ0001"}
    local.define_measure(store, local.measure_from_form(fields), "Sam")
    problems = refused(store, csv_file(GOOD, ["int_quarterly_reviews", "1", "2026-05-01", "UZ0001", "3", ""]))
    assert any("2026-05-01 is not the start of a quarterly period" in p and "starts on 2026-04-01" in p
               for p in problems)


def test_a_failure_half_way_through_a_save_leaves_everything_as_it_was(store, monkeypatch):
    practice = practice_of(store, "UZ0001")
    rows = [(2, {"measure_id": HOURS, "period_start": "2026-08-01", "org_code": practice, "numerator": 1,
                 "denominator": 5000})]
    batch = local.validate_rows(store, rows, "hours.csv", today=TODAY)
    before = store.query("SELECT * FROM observations WHERE measure_id = ? AND period_start = '2026-08-01' "
                         "ORDER BY org_code", [HOURS])
    logged = store.query("SELECT (SELECT count(*) FROM recorded_values), (SELECT count(*) FROM value_audit)")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full half-way")

    monkeypatch.setattr(saving, "_resum_pcns", broken)
    with pytest.raises(RuntimeError):
        local.save(store, batch, "Sam")
    after = store.query("SELECT * FROM observations WHERE measure_id = ? AND period_start = '2026-08-01' "
                        "ORDER BY org_code", [HOURS])
    assert after.equals(before)
    assert store.query("SELECT (SELECT count(*) FROM recorded_values), (SELECT count(*) FROM value_audit)").equals(
        logged)  # only the demo's history
    assert store.query("SELECT count(*) AS n FROM imports WHERE file_name = 'hours.csv'")["n"].iloc[0] == 0
