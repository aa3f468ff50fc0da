"""Hostile uploads of local measure values are refused by file, row and column, quickly, and change no table."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
import time
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook

from measures import cli, local
from measures.store import Store
from tests.conftest import ROOT
from tests.tables import assert_unchanged, fingerprint
from tests.test_local_bad_input import csv_file, store  # noqa: F401  (`store`: a copy of the demo, a fixture)

TODAY = date(2026, 10, 15)
COLUMNS = ["measure_id", "measure_version", "period_start", "org_code", "numerator", "denominator"]
REVIEWS = "int_mdt_case_reviews"  # PCN level, a count
SOCIAL = "int_social_prescribing_per_1000"  # PCN level, a rate per 1,000 patients
FUNDING = "ps_funding_per_weighted_patient"  # practice level, currency
GOOD = [REVIEWS, "1", "2026-09-01", "UZ0001", "12", ""]  # row 2 of every file below
MARK = 424242.125  # a number written into an xlsx cell, then swapped in the sheet's XML for a raw value


@pytest.fixture(scope="module")
def untouched(demo_db):
    return fingerprint(demo_db)




def workbook(*rows, columns=COLUMNS, title="values") -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(columns)
    for row in rows:
        sheet.append(row)
    return book


def xlsx_bytes(book: Workbook, raw_value: str | None = None) -> bytes:
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    if raw_value is None:
        return data
    return rewrite_member(data, lambda name, body: body.replace(f"<v>{MARK}</v>".encode(),
                                                                 f"<v>{raw_value}</v>".encode()))


def rewrite_member(data: bytes, change) -> bytes:
    """The xlsx with each member passed through change(name, bytes)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info)))
    return out.getvalue()


def as_file(kind: str, *rows, columns=COLUMNS) -> bytes:
    return csv_file(*rows, columns=columns) if kind == "csv" else xlsx_bytes(workbook(*rows, columns=columns))


def refused(store, untouched, name: str, data: bytes, tmp_path, **kwargs) -> tuple[str, list[str]]:
    """Record the file as the command line does; return the error text and problems, having checked no table moved."""
    path = tmp_path / name
    path.write_bytes(data)
    started = time.perf_counter()
    with pytest.raises(local.RecordingError) as caught:
        local.record_file(store, path, "Sam", pcn_code="UZ0001", today=TODAY, **kwargs)
    assert time.perf_counter() - started < 20, "a hostile file must be refused quickly"
    assert_unchanged(untouched, store.path)
    text = str(caught.value)
    assert text.startswith("nothing was saved")
    assert len(text) < 8000, "the report stays readable"
    return text, [str(p) for p in caught.value.problems]


def one_problem_like(problems: list[str], start: str, *fragments: str) -> str:
    found = [p for p in problems if p.startswith(start) and all(f in p for f in fragments)]
    assert found, f"no problem starting {start!r} with {fragments}: {problems}"
    return found[0]


# --- numbers that are not numbers, and numbers beyond what a measure holds ---------------------------------

NOT_FINITE = ["NaN", "nan", "inf", "-inf", "+inf", "Infinity", "-Infinity", "1e400"]
TOO_LARGE = ["99999999999", "-99999999999", "10000001"]


def _number_row(part: str, cell) -> list:
    numerator, denominator = (cell, "5000") if part == "numerator" else ("50", cell)
    return [SOCIAL, "1", "2026-09-01", "UZ0001", numerator, denominator]


NUMBER_CASES = (
    [pytest.param(kind, part, text, "is not", id=f"{kind}-{part}-{text}")
     for kind in ("csv", "xlsx") for part in ("numerator", "denominator") for text in NOT_FINITE]
    + [pytest.param(kind, part, text, "10,000,000", id=f"{kind}-{part}-{text}")
       for kind in ("csv", "xlsx") for part in ("numerator", "denominator") for text in TOO_LARGE]
)


@pytest.mark.parametrize("kind, part, text, expected", NUMBER_CASES)
def test_a_number_that_is_not_finite_or_is_implausibly_large_is_refused_by_row_and_column(
        store, untouched, tmp_path, kind, part, text, expected):
    data = as_file(kind, GOOD, _number_row(part, text))
    _, problems = refused(store, untouched, f"values.{kind}", data, tmp_path)
    problem = one_problem_like(problems, f"values.{kind}, row 3, column {part}:", expected)
    assert "formula" not in problem


# Digits other than 0-9 (Arabic-Indic, full-width), which float() would read, and exponents, which nobody types.
NOT_IN_DIGITS = ["\u0663", "\u0661\u0662", "\uff13", "\uff11\uff12.5", "\u0661,\u0662\u0663\u0664", "1e2", "1.5e1", "1E2",
                 "1e308", "2e-3"]  # "-1e2" is refused too, as a cell starting with "-" that is no plain number


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("part", ["numerator", "denominator"])
@pytest.mark.parametrize("text", NOT_IN_DIGITS, ids=[t.encode("unicode_escape").decode() for t in NOT_IN_DIGITS])
def test_a_number_not_written_in_plain_digits_is_refused_with_how_to_write_it(store, untouched, tmp_path, kind,
                                                                             part, text):
    data = as_file(kind, GOOD, _number_row(part, text))
    _, problems = refused(store, untouched, f"values.{kind}", data, tmp_path)
    one_problem_like(problems, f"values.{kind}, row 3, column {part}: {text!r} is not a number",
                     "write the number in digits, such as 1234 or 12.5")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "Infinity", "1e999", "abc", "0", "-1"])
def test_an_upload_limit_that_is_not_a_finite_number_above_0_names_the_variable(store, untouched, tmp_path,
                                                                               monkeypatch, capsys, value):
    monkeypatch.setenv("PCN_MAX_UPLOAD_MB", value)
    monkeypatch.setenv("PCN_ACCESS", "")
    path = tmp_path / "values.csv"
    path.write_bytes(csv_file(GOOD))
    with pytest.raises(ValueError) as caught:
        local.record_file(store, path, "Sam", pcn_code="UZ0001", today=TODAY)
    assert str(caught.value) == f"PCN_MAX_UPLOAD_MB must be a number above 0, got {value!r}"
    assert cli.main(["record", str(path), "--db", str(store.path)]) == 2
    assert capsys.readouterr().err == f"error: PCN_MAX_UPLOAD_MB must be a number above 0, got {value!r}\n"
    assert_unchanged(untouched, store.path)


@pytest.mark.parametrize("part", ["numerator", "denominator"])
@pytest.mark.parametrize("raw, expected", [("1e400", "is not a finite number"), ("1e308", "10,000,000"),
                                           ("inf", "damaged"), ("NaN", "damaged")])
def test_a_numeric_xlsx_cell_that_is_not_a_plain_number_is_refused(store, untouched, tmp_path, part, raw, expected):
    data = xlsx_bytes(workbook(GOOD, _number_row(part, MARK)), raw_value=raw)
    _, problems = refused(store, untouched, "values.xlsx", data, tmp_path)
    where = f"values.xlsx, row 3, column {part}:" if expected != "damaged" else "values.xlsx, row 3:"
    one_problem_like(problems, where, expected)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_value_whose_rate_overflows_is_refused_at_the_denominator(store, untouched, tmp_path, kind):
    tiny = "0." + "0" * 305 + "1"  # 1e-306 written in digits
    data = as_file(kind, GOOD, [SOCIAL, "1", "2026-09-01", "UZ0001", "5000000", tiny])
    _, problems = refused(store, untouched, f"values.{kind}", data, tmp_path)
    one_problem_like(problems, f"values.{kind}, row 3, column denominator:", "too large")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_proportion_above_100_percent_is_refused_with_the_reason(store, untouched, tmp_path, kind):
    data = as_file(kind, GOOD, ["int_proactive_care_plan_pct", "1", "2026-09-01", "UZ0001", "101", "100"])
    _, problems = refused(store, untouched, f"values.{kind}", data, tmp_path)
    one_problem_like(problems, f"values.{kind}, row 3, column numerator:", "above the denominator (100)",
                     "proportion")


def test_money_may_run_higher_than_a_count_but_not_without_limit(store, untouched, tmp_path):
    practice = store.query("SELECT child_code FROM memberships WHERE parent_code = 'UZ0001' AND parent_level = 'pcn' "
                           "AND end_date IS NULL ORDER BY 1 LIMIT 1")["child_code"].iloc[0]
    fine = local.parse_upload(store, "funding.csv", csv_file([FUNDING, "1", "2026-09-01", practice, "500000000",
                                                             "5000"]), pcn_code="UZ0001", today=TODAY)
    assert fine.entries["numerator"].tolist() == [500000000.0]
    limit = local.parse_upload(store, "reviews.csv", csv_file([REVIEWS, "1", "2026-09-01", "UZ0001", "10000000", ""]),
                               pcn_code="UZ0001", today=TODAY)
    assert limit.entries["value"].tolist() == [10000000.0]
    _, problems = refused(store, untouched, "funding.csv",
                          csv_file([FUNDING, "1", "2026-09-01", practice, "2000000000", "5000"]), tmp_path)
    one_problem_like(problems, "funding.csv, row 2, column numerator:", "1,000,000,000", "currency")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("day", ["3000-01-01", "9999-12-01", "2027-01-01"])
def test_a_period_in_the_future_is_refused_however_far_ahead(store, untouched, tmp_path, kind, day):
    data = as_file(kind, GOOD, [REVIEWS, "1", day, "UZ0001", "3", ""])
    _, problems = refused(store, untouched, f"values.{kind}", data, tmp_path)
    one_problem_like(problems, f"values.{kind}, row 3, column period_start:", day, "in the future")


# --- CSV and sheet structure -----------------------------------------------------------------------------------

HEADER = ",".join(COLUMNS) + "\n"
GOOD_LINE = ",".join(GOOD) + "\n"


def _line(day: str, numerator: str = "3") -> str:
    return f"{REVIEWS},1,{day},UZ0001,{numerator},\n"


CSV_FAULTS = {
    "a quote left open swallows every later row": (
        HEADER + GOOD_LINE + f'{REVIEWS},1,2026-08-01,"UZ0001,3,\n' + _line("2026-07-01") + _line("2026-06-01"),
        "row 3, column org_code:", "never closed"),
    "a quote left open in the last cell": (
        HEADER + GOOD_LINE + f'{REVIEWS},1,2026-08-01,UZ0001,3,"\n', "row 3, column denominator:", "never closed"),
    "a quote opened and closed rows later": (
        HEADER + GOOD_LINE + f'{REVIEWS},1,2026-08-01,"UZ0001,3,\n' + _line("2026-07-01")
        + f'{REVIEWS},1,2026-06-01,UZ0001",3,\n', "row 3, column org_code:", "line break"),
    "text after a closing quote": (
        HEADER + GOOD_LINE + f'{REVIEWS},1,2026-08-01,UZ0001,"3"4,\n', "row 3, column numerator:",
        "after its closing quote"),
    "more cells than the header": (
        HEADER + GOOD_LINE + f"{REVIEWS},1,2026-08-01,UZ0001,3,,99\n", "row 3, column #7 (G):", "'99'",
        "no heading"),
    "a value under a blank heading": (
        "measure_id,measure_version,period_start,,org_code,numerator,denominator\n"
        + f"{REVIEWS},1,2026-09-01,,UZ0001,12,\n{REVIEWS},1,2026-08-01,note,UZ0001,3,\n",
        "row 3, column #4 (D):", "'note'"),
    "fewer cells than the header": (
        HEADER + GOOD_LINE + f"{REVIEWS},1,2026-08-01,UZ0001\n", "row 3, column numerator:", "ends before numerator"),
    "fewer cells, the count's denominator left off": (
        HEADER + GOOD_LINE + f"{REVIEWS},1,2026-08-01,UZ0001,3\n", "row 3, column denominator:",
        "ends before denominator"),
    "a cell over the CSV field limit": (
        HEADER + GOOD_LINE + f"{REVIEWS},1,2026-08-01,{'U' * 200_000},3,\n", "row 3, column org_code:",
        "over 131,072 characters"),
    "a quoted cell over the CSV field limit": (
        HEADER + GOOD_LINE + f'{REVIEWS},1,2026-08-01,UZ0001,"{"9" * 150_000}",\n', "row 3, column numerator:",
        "over 131,072 characters"),
    "a cell over the template's cell length": (
        HEADER + GOOD_LINE + f"{REVIEWS},1,2026-08-01,{'U' * 5_000},3,\n", "row 3, column org_code:",
        "(5,000 characters) is longer than the 1,000"),
}


@pytest.mark.parametrize("case", list(CSV_FAULTS))
def test_a_csv_that_would_lose_or_misread_rows_is_refused_by_row_and_column(store, untouched, tmp_path, case):
    text, start, *fragments = CSV_FAULTS[case]
    _, problems = refused(store, untouched, "values.csv", text.encode(), tmp_path)
    one_problem_like(problems, f"values.csv, {start}", *fragments)


SHEET_FAULTS = {
    "more cells than the header": ([GOOD, [REVIEWS, 1, "2026-08-01", "UZ0001", 3, None, 99]], COLUMNS,
                                   "row 3, column #7 (G):", "99", "no heading"),
    "a value under a blank heading": (
        [[REVIEWS, 1, "2026-09-01", None, "UZ0001", 12], [REVIEWS, 1, "2026-08-01", "note", "UZ0001", 3]],
        ["measure_id", "measure_version", "period_start", None, "org_code", "numerator", "denominator"],
        "row 3, column #4 (D):", "'note'"),
    "a cell over the template's cell length": ([GOOD, [REVIEWS, 1, "2026-08-01", "U" * 5_000, 3]], COLUMNS,
                                               "row 3, column org_code:", "(5,000 characters) is longer"),
    "a cell as long as Excel allows": ([GOOD, [REVIEWS, 1, "2026-08-01", "U" * 32_767, 3]], COLUMNS,
                                       "row 3, column org_code:", "(32,767 characters) is longer"),
}


@pytest.mark.parametrize("case", list(SHEET_FAULTS))
def test_a_sheet_that_would_lose_cells_is_refused_by_row_and_column(store, untouched, tmp_path, case):
    rows, columns, start, *fragments = SHEET_FAULTS[case]
    _, problems = refused(store, untouched, "values.xlsx", xlsx_bytes(workbook(*rows, columns=columns)), tmp_path)
    one_problem_like(problems, f"values.xlsx, {start}", *fragments)


def test_blank_cells_after_the_last_heading_are_harmless(store):
    data = (HEADER + f"{REVIEWS},1,2026-09-01,UZ0001,12,,,\n").encode()
    batch = local.parse_upload(store, "values.csv", data, pcn_code="UZ0001", today=TODAY)
    assert batch.entries["numerator"].tolist() == [12.0]


# --- which sheet of a workbook is read -------------------------------------------------------------------------


def _hidden_values_book(state: str) -> Workbook:
    """A visible sheet of good values, and a hidden sheet named `values` holding other values."""
    book = workbook([REVIEWS, 1, "2026-09-01", "UZ0001", 12], title="Sheet1")
    hidden = book.create_sheet("values")
    hidden.append(COLUMNS)
    hidden.append([REVIEWS, 1, "2026-09-01", "UZ0001", 999])
    hidden.sheet_state = state
    return book


def _hidden_first_book(state: str) -> Workbook:
    book = workbook([REVIEWS, 1, "2026-09-01", "UZ0001", 999], title="old")
    book.active.sheet_state = state
    visible = book.create_sheet("entered")
    visible.append(COLUMNS)
    visible.append([REVIEWS, 1, "2026-09-01", "UZ0001", 12])
    book.active = 1
    return book


@pytest.mark.parametrize("build", [_hidden_values_book, _hidden_first_book], ids=["hidden values", "hidden first"])
@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_sheet_is_never_read_and_the_visible_one_is_named(store, build, state):
    book = build(state)
    visible = next(ws.title for ws in book.worksheets if ws.sheet_state == "visible")
    batch = local.parse_upload(store, "values.xlsx", xlsx_bytes(book), pcn_code="UZ0001", today=TODAY)
    assert batch.entries["numerator"].tolist() == [12.0]
    assert batch.sheet == visible
    hidden = next(ws.title for ws in book.worksheets if ws.sheet_state != "visible")
    assert batch.sheet_note == f"Read the sheet {visible!r} of values.xlsx; hidden sheets are never read ({hidden!r})"


def test_the_visible_values_sheet_is_chosen_over_an_earlier_visible_sheet(store):
    book = workbook(["notes only"], columns=["notes"], title="Read me")
    values = book.create_sheet("values")
    values.append(COLUMNS)
    values.append([REVIEWS, 1, "2026-09-01", "UZ0001", 12])
    batch = local.parse_upload(store, "values.xlsx", xlsx_bytes(book), pcn_code="UZ0001", today=TODAY)
    assert (batch.sheet, batch.entries["numerator"].tolist()) == ("values", [12.0])


def test_a_workbook_whose_every_sheet_is_hidden_is_refused(store, untouched, tmp_path):
    data = xlsx_bytes(_hidden_values_book("hidden"))
    # openpyxl will not save a workbook with no visible sheet, so the first is hidden in the file itself
    data = rewrite_member(data, lambda name, body: body.replace(b'state="visible"', b'state="hidden"')
                          if name == "xl/workbook.xml" else body)
    _, problems = refused(store, untouched, "values.xlsx", data, tmp_path)
    assert problems == ["values.xlsx: has no visible sheet; hidden sheets are never read, so unhide the sheet of "
                        "values"]


def test_the_command_line_says_which_sheet_it_read(store, tmp_path):
    path = tmp_path / "values.xlsx"
    path.write_bytes(xlsx_bytes(_hidden_values_book("hidden")))
    result = subprocess.run([sys.executable, "-m", "measures", "record", str(path), "--db", str(store.path),
                             "--dry-run"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Read the sheet 'Sheet1' of values.xlsx; hidden sheets are never read ('values')" in result.stderr


# --- xlsx files that unpack to far more than they weigh ------------------------------------------------------


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A valid template with a 400 MB member of zeros: about 400 KB on disk."""
    out = io.BytesIO()
    out.write(xlsx_bytes(workbook(GOOD)))
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/media/padding.bin", "w") as member:
            chunk = bytes(1024 * 1024)
            for _ in range(400):
                member.write(chunk)
    return out.getvalue()


def _many_members() -> bytes:
    out = io.BytesIO()
    out.write(xlsx_bytes(workbook(GOOD)))
    with zipfile.ZipFile(out, "a") as archive:
        for number in range(1001):
            archive.writestr(f"xl/media/part{number}.bin", b"")
    return out.getvalue()


def _sheet_xml(change) -> bytes:
    return rewrite_member(xlsx_bytes(workbook(GOOD)),
                          lambda name, body: change(body) if name == "xl/worksheets/sheet1.xml" else body)


def _entity_bomb(body: bytes) -> bytes:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {name} "{("&" + previous + ";") * 10}">' for previous, name in zip("abcdefgh", "bcdefghi"))
    body = re.sub(rb"<\?xml[^>]*\?>", b"", body)
    return (f"<!DOCTYPE worksheet [{entities}]>".encode() + body).replace(b"<t>UZ0001</t>", b"<t>&i;</t>")


def _far_row(body: bytes) -> bytes:
    """A sheet that declares every cell of a spreadsheet and puts one at its last row."""
    body = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', body)
    far = (b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>int_far_away</t></is></c>'
           b'<c r="E1048576" t="n"><v>5</v></c></row>')
    return body.replace(b"</sheetData>", far + b"</sheetData>")


def _beyond_last_row(body: bytes) -> bytes:
    return body.replace(b"</sheetData>", b'<row r="2000000000"><c r="A2000000000" t="n"><v>1</v></c></row>'
                                         b"</sheetData>")


@pytest.mark.parametrize("case", ["zip bomb", "zip bomb, size allowed", "unpacked limit set low", "many members",
                                  "entity bomb", "every cell declared", "rows beyond the last", "truncated sheet"])
def test_an_xlsx_that_unpacks_to_too_much_or_is_damaged_is_refused_unread(store, untouched, tmp_path, monkeypatch,
                                                                         bomb, case):
    if case == "zip bomb":
        data, start, fragments = bomb, "values.xlsx: would unpack to 400 MB", [
            "the most accepted is 100 MB (set by PCN_MAX_UPLOAD_UNPACKED_MB)", "a filled-in template"]
    elif case == "zip bomb, size allowed":
        monkeypatch.setenv("PCN_MAX_UPLOAD_UNPACKED_MB", "1000")
        data, start, fragments = bomb, "values.xlsx: xl/media/padding.bin would inflate", [
            "(set by PCN_MAX_COMPRESSION_RATIO)"]
    elif case == "unpacked limit set low":
        monkeypatch.setenv("PCN_MAX_UPLOAD_UNPACKED_MB", "0.001")
        data, start, fragments = xlsx_bytes(workbook(GOOD)), "values.xlsx: would unpack to", [
            "PCN_MAX_UPLOAD_UNPACKED_MB"]
    elif case == "many members":
        data, start, fragments = _many_members(), "values.xlsx: holds 1,0", ["PCN_MAX_ARCHIVE_MEMBERS"]
    elif case == "entity bomb":
        data, start, fragments = _sheet_xml(_entity_bomb), "values.xlsx, row 2: the sheet 'values' is damaged", []
    elif case == "every cell declared":
        data, start, fragments = _sheet_xml(_far_row), "values.xlsx, row 1048576, column measure_id:", [
            "'int_far_away' is not a measure"]
    elif case == "rows beyond the last":
        data, start, fragments = _sheet_xml(_beyond_last_row), "values.xlsx: the sheet 'values' has rows after", [
            "1,048,576"]
    else:
        data, start, fragments = _sheet_xml(lambda body: body[:len(body) // 2]), "values.xlsx, row ", ["damaged"]
    assert len(data) < 5 * 1024 * 1024, "each passes the upload size limit"
    _, problems = refused(store, untouched, "values.xlsx", data, tmp_path)
    one_problem_like(problems, start, *fragments)


# --- long cells make short messages -----------------------------------------------------------------------------

LONG = 900  # under the template's cell length, so the cell reaches the check that quotes it


def _long_row(column: str) -> list:
    row = dict(zip(COLUMNS, [REVIEWS, "1", "2026-08-01", "UZ0001", "3", ""]))
    row[column] = "7" * LONG if column in ("measure_version", "numerator") else "x" * LONG
    if column == "denominator":
        row["measure_id"] = "int_proactive_care_plan_pct"
        row["period_start"] = "2026-09-01"
    return [row[c] for c in COLUMNS]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("column", ["measure_id", "measure_version", "period_start", "org_code", "denominator"])
def test_a_long_cell_is_quoted_cut_to_a_readable_length(store, untouched, tmp_path, kind, column):
    _, problems = refused(store, untouched, f"values.{kind}", as_file(kind, GOOD, _long_row(column)), tmp_path)
    problem = one_problem_like(problems, f"values.{kind}, row 3, column {column}:", f"… ({LONG} characters)")
    assert len(problem) < 300, problem


def test_a_long_number_is_refused_as_not_finite_and_quoted_cut(store, untouched, tmp_path):
    _, problems = refused(store, untouched, "values.csv", csv_file(GOOD, _long_row("numerator")), tmp_path)
    problem = one_problem_like(problems, "values.csv, row 3, column numerator:", "not a finite number",
                               f"({LONG} characters)")
    assert len(problem) < 300, problem


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_one_megabyte_practice_code_makes_a_short_report(store, untouched, tmp_path, kind):
    text, problems = refused(store, untouched, f"values.{kind}",
                             as_file(kind, GOOD, [REVIEWS, "1", "2026-08-01", "U" * 1024 * 1024, "3", ""]), tmp_path)
    one_problem_like(problems, f"values.{kind}, row 3, column org_code:")
    assert len(text) < 600, text


def test_a_long_formula_heading_is_named_by_a_cut_column(store, untouched, tmp_path):
    heading = "=" + "A" * 100_000
    text, problems = refused(store, untouched, "values.csv", csv_file(GOOD, columns=[*COLUMNS, heading]), tmp_path)
    one_problem_like(problems, "values.csv, row 1, column =aaaa", "(100,001 characters)", "formula")
    assert len(text) < 600, text


def test_only_the_first_50_problems_are_listed_then_how_many_more(store, untouched, tmp_path):
    rows = [[REVIEWS, "1", "2026-08-01", f"UZ9{number:03d}", "3", ""] for number in range(120)]
    text, problems = refused(store, untouched, "values.csv", csv_file(*rows), tmp_path)
    assert len(problems) == 120
    assert text.splitlines()[0] == "nothing was saved: 120 problems in values.csv"
    assert len(text.splitlines()) == 1 + 50 + 1 and text.splitlines()[-1] == "- … and 70 more"
