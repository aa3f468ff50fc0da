"""The MI Network Contract DES monthly extract: recognised, kept field by field, summed per PCN, refused when bad.

Recognised by its header, every field kept as a contract field, CAN-02/CAN-04 and HI-03 year to date per practice
and summed per PCN at each achievement date, re-imports that change nothing, and bad input refused with file, row
and column and nothing written."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date

import pytest

from measures.importers import PublicationError, import_publications, ncdes
from measures.importers.common import measures_catalogue
from measures.importers.detect import detect
from measures.importers.orchestrate import import_one
from measures.importers.sources import resolve
from measures.store import Store
from tests.conftest import ROOT, SAMPLES
from tests.tables import assert_unchanged, fingerprint

SYNTHETIC = ROOT.parent / "shared" / "ncdes" / "ncdes_synthetic_extract.csv"
HEADER = ["QUALITY_SERVICE", "NAME", "ORG_CODE", "ACH_DATE", "IND_CODE", "FIELD_NAME", "VALUE", "DEFAULT_VALUES_USED",
          "SUBMIT_USER_ID", "SUBMIT_DATE", "SUBMIT_TIME", "LAST_SUBMISSION"]


# ------------------------------------------------------------------------------------------------
# Files and stores


def row(org: str, achieved: str, indicator: str, field: str, value, service: str = "NCD2425") -> list[str]:
    """One extract row as NHS England's synthetic example writes it."""
    return [service, f"Network Contract DES 20{service[3:5]}/{service[5:]}", org, achieved, indicator, field,
            str(value), "None", "cro-processor", "05/11/2024", "19:36:07", "Y"]


def write(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows([header, *rows])
    return path


def fraction(org, achieved, indicator, numerator, denominator, service="NCD2425"):
    return [row(org, achieved, indicator, "Numerator", numerator, service),
            row(org, achieved, indicator, "Denominator", denominator, service)]


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """A store holding the real practice-to-PCN map (the synthetic extract names real practices), built once."""
    store = Store(tmp_path_factory.mktemp("ncdes") / "map.duckdb")
    outcome = import_publications([SAMPLES / "gp-reg-pat-prac-map.csv"], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    return store.path


@pytest.fixture
def real(mapped, tmp_path):
    return store_copy(mapped, tmp_path / "real.duckdb")


@pytest.fixture
def demo(demo_db, tmp_path):
    """A private copy of the demo (practices Z00001…, PCNs UZ0001…, practice Z00012 moving from UZ0004 to UZ0003
    on 1 Mar 2026). The command refuses to mix published files into the synthetic demo, so files are loaded with
    the importer's own per-file step, as a demo extract would be."""
    return store_copy(demo_db, tmp_path / "demo.duckdb")


def store_copy(source, path) -> Store:
    """A private copy of a store at `path`, so that what a test imports reaches no other test."""
    shutil.copy(source, path)
    return Store(path)


def pcn_at(store: Store, practice: str, day: date) -> str | None:
    """The demo's PCN of a practice on a day, to check the memberships the expected sums are written for."""
    found = store.query("SELECT parent_code FROM memberships WHERE child_code = ? AND parent_level = 'pcn' "
                        "AND start_date <= ? AND (end_date IS NULL OR end_date >= ?)", [practice, day, day])
    return None if found.empty else found.iloc[0, 0]


def load(store: Store, path, expected=ncdes):
    """Recognise the file by its content (as `expected`) and import it into the store in one transaction."""
    source = resolve(str(path), path.parent).sources[0]
    module = detect(source)
    assert module is expected, f"{path.name} was recognised as {module.SHORT}"
    return import_one(source, module, store)


def imported(store, path, expected=ncdes):
    report = load(store, path, expected)
    assert report.status == "imported", report.text()
    return report


def refused(store, path, expected=ncdes) -> str:
    report = load(store, path, expected)
    assert report.status == "failed", report.text()
    return report.error


def observations_of(store, import_id):
    return store.query("""
        SELECT measure_id, org_code, org_level, period_start, period_end, numerator, denominator, value, basis
        FROM observations WHERE import_id = ? ORDER BY measure_id, period_end, org_level DESC, org_code
    """, [import_id])


def figures(store, import_id, measure_id, level):
    """{(org, period_end): (numerator, denominator, value)} of one import's observations of a measure."""
    frame = observations_of(store, import_id)
    frame = frame[(frame["measure_id"] == measure_id) & (frame["org_level"] == level)]
    return {(r.org_code, r.period_end.date()): (r.numerator, r.denominator, round(r.value, 6))
            for r in frame.itertuples()}


def contract_fields(store, import_id=None):
    where, params = ("WHERE import_id = ?", [import_id]) if import_id is not None else ("", [])
    return store.query(f"SELECT org_code, financial_year, ach_date, indicator, field, value FROM contract_fields "
                       f"{where} ORDER BY ALL", params)


def assert_refused_whole(store, path, expected: list[str], module=ncdes) -> None:
    """The file is refused with a message holding each of `expected`, and the store is left as it was."""
    before = fingerprint(store.path)
    message = refused(store, path, module)
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Nothing was imported" in message
    assert_unchanged(before, store.path)


def assert_not_read(store, path, expected: list[str]) -> None:
    """The import command refuses the file before reading it, with each of `expected`, and the store is unchanged."""
    before = fingerprint(store.path)
    with pytest.raises(PublicationError) as error:
        import_publications([path], store, progress=io.StringIO())
    for fragment in expected:
        assert fragment in str(error.value), f"{fragment!r} not in {str(error.value)!r}"
    assert_unchanged(before, store.path)


# ------------------------------------------------------------------------------------------------
# NHS England's synthetic extract, read where it is


HYPHENATED = {"CAN04": "CAN-04", "HI03": "HI-03", "HI21": "HI-21", "SMR01A": "SMR-01A", "SMR01B": "SMR-01B",
              "SMR01C": "SMR-01C", "SMR01D": "SMR-01D", "SMR03": "SMR-03"}


def test_the_synthetic_extract_lands_whole_in_contract_fields_with_hyphens_restored(real, tmp_path):
    renamed = tmp_path / "IIF_indicators_annual_pub_2024_25.csv"  # recognised by its header, never its name
    shutil.copy(SYNTHETIC, renamed)
    outcome = import_publications([renamed], real, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    report = outcome.reports[0]
    assert report.publication == ncdes.PUBLICATION and report.vintage == "2024-09-30"
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (15, 15, 0)

    with open(SYNTHETIC, newline="", encoding="utf-8") as handle:
        published = list(csv.DictReader(handle))
    expected = sorted((r["ORG_CODE"], "2024/25", date(2024, 9, 30), HYPHENATED[r["IND_CODE"]], r["FIELD_NAME"],
                       float(r["VALUE"])) for r in published)
    stored = contract_fields(real, report.import_id)
    assert sorted((r.org_code, r.financial_year, r.ach_date.date(), r.indicator, r.field, r.value)
                  for r in stored.itertuples()) == expected
    assert ("A81004", "2024/25", date(2024, 9, 30), "CAN-04", "GICANREF", 7310.0) in expected
    assert any(field.startswith("Total number of patients using potentially addictive medicines")
               for field in stored["field"])

    # No Numerator or Denominator rows: nothing for the catalogue's series, and the report says why.
    assert observations_of(real, report.import_id).empty
    text = report.text()
    assert "no Numerator or Denominator rows for CAN-02, CAN-04 or HI-03" in text
    assert "10 exclusions and personalised care adjustments by their CQRS code" in text
    assert "5 management-information counts given by their description" in text


def test_the_annual_iif_file_is_still_the_iif_and_the_extract_is_not(tmp_path):
    iif = resolve(str(SAMPLES / "IIF_indicators_annual_pub_2023_24.csv"), tmp_path).sources[0]
    assert detect(iif).SHORT == "IIF indicators"
    assert detect(resolve(str(SYNTHETIC), tmp_path).sources[0]) is ncdes


def test_an_extract_without_field_name_is_named_as_the_extract_missing_that_column(real, tmp_path):
    header = [h for h in HEADER if h != "FIELD_NAME"]
    path = write(tmp_path / "extract.csv", [[v for h, v in zip(HEADER, r) if h != "FIELD_NAME"]
                                            for r in fraction("A81001", "20240930", "CAN04", 1, 2)], header)
    assert_not_read(real, path, ["extract.csv: looks like the MI Network Contract DES monthly extract file",
                                  "row 1, the header, has no column FIELD_NAME"])


# ------------------------------------------------------------------------------------------------
# Numerators and denominators: practices as published, PCNs as the sum of their practices at each date


CAN = {  # (practice, achieved) → (numerator, denominator); CAN-02 in September 2024, CAN-04 from October
    ("Z00001", "20240930"): (12, 20), ("Z00002", "20240930"): (7, 10), ("Z00009", "20240930"): (30, 40),
    ("Z00010", "20240930"): (0, 5),
    ("Z00001", "20241031"): (14, 24), ("Z00002", "20241031"): (9, 12), ("Z00009", "20241031"): (33, 45),
    ("Z00010", "20241031"): (2, 6),
}
HI03 = {
    ("Z00001", "20240930"): (20, 50), ("Z00002", "20240930"): (15, 30), ("Z00009", "20240930"): (40, 80),
    ("Z00010", "20240930"): (10, 25),
    ("Z00001", "20241031"): (25, 50), ("Z00002", "20241031"): (18, 30), ("Z00009", "20241031"): (44, 80),
    ("Z00010", "20241031"): (12, 25),
}
SEP, OCT = date(2024, 9, 30), date(2024, 10, 31)
APRIL = date(2024, 4, 1)


def code_change_rows():
    rows = []
    for (org, achieved), (n, d) in CAN.items():
        code = "CAN02" if achieved == "20240930" else "CAN04"
        # FIELD_NAME in any case and spacing still names the numerator and denominator
        rows += [row(org, achieved, code, " numerator ", n), row(org, achieved, code, "DENOMINATOR", d),
                 row(org, achieved, code, "GICANREF", 3)]
    for (org, achieved), (n, d) in HI03.items():
        rows += fraction(org, achieved, "HI03", n, d) + [row(org, achieved, "HI03", "LD_DAT", 1)]
    return rows


def test_practice_and_pcn_figures_for_each_achievement_date_with_can_02_and_can_04_as_one_series(demo, tmp_path):
    assert {org: pcn_at(demo, org, SEP) for org in ("Z00001", "Z00002", "Z00009", "Z00010")} == {
        "Z00001": "UZ0001", "Z00002": "UZ0001", "Z00009": "UZ0004", "Z00010": "UZ0004"}
    report = imported(demo, write(tmp_path / "ncdes.csv", code_change_rows()))
    assert report.vintage == "2024-10-31"

    def pct(n, d):
        return (float(n), float(d), round(n / d * 100, 6))

    assert figures(demo, report.import_id, "can_02_fit", "practice") == {
        ("Z00001", SEP): pct(12, 20), ("Z00002", SEP): pct(7, 10), ("Z00009", SEP): pct(30, 40),
        ("Z00010", SEP): pct(0, 5),
        ("Z00001", OCT): pct(14, 24), ("Z00002", OCT): pct(9, 12), ("Z00009", OCT): pct(33, 45),
        ("Z00010", OCT): pct(2, 6)}
    # UZ0001 = Z00001 + Z00002; UZ0004 = Z00009 + Z00010 (its other practices are not in the file)
    assert figures(demo, report.import_id, "can_02_fit", "pcn") == {
        ("UZ0001", SEP): pct(19, 30), ("UZ0004", SEP): pct(30, 45),
        ("UZ0001", OCT): pct(23, 36), ("UZ0004", OCT): pct(35, 51)}
    assert figures(demo, report.import_id, "hi_03_ld_health_checks", "pcn") == {
        ("UZ0001", SEP): pct(35, 80), ("UZ0004", SEP): pct(50, 105),
        ("UZ0001", OCT): pct(43, 80), ("UZ0004", OCT): pct(56, 105)}
    assert len(figures(demo, report.import_id, "hi_03_ld_health_checks", "practice")) == 8

    frame = observations_of(demo, report.import_id)
    # One point a month, as the app reads a monthly measure: the month of the achievement date; the value counts
    # from 1 April (the catalogue's definition says year to date).
    assert {(s.date(), e.date()) for s, e in zip(frame["period_start"], frame["period_end"])} == {
        (SEP.replace(day=1), SEP), (OCT.replace(day=1), OCT)}
    assert set(frame.loc[frame["org_level"] == "practice", "basis"]) == {"published"}
    assert set(frame.loc[frame["org_level"] == "pcn", "basis"]) == {"sum_of_practices"}

    # The code each row was published under stays in contract fields; the notes say which code each period used.
    fields = contract_fields(demo, report.import_id)
    can = fields[fields["indicator"].str.startswith("CAN")]
    assert {(r.ach_date.date(), r.indicator) for r in can.itertuples()} == {(SEP, "CAN-02"), (OCT, "CAN-04")}
    assert set(fields["field"]) == {"Numerator", "Denominator", "GICANREF", "LD_DAT"}
    assert len(fields) == report.rows_loaded == 48
    assert "can_02_fit: 30 Sep 2024 from CAN-02 (4 practices); 31 Oct 2024 from CAN-04 (4 practices)." in report.text()
    assert "8 PCN figures summed from the practices in each PCN at each achievement date" in report.text()


def test_the_catalogue_dates_the_change_from_can_02_to_can_04_in_october_2024():
    measure = measures_catalogue().get("can_02_fit")
    assert "CAN-02 until September 2024" in measure.description and "CAN-04 from October 2024" in measure.description
    assert any("CAN-04 replaced CAN-02 from October 2024" in caveat for caveat in measure.caveats)
    assert not any("2025/26" in text for text in [measure.description, *measure.caveats])


def test_pcn_sums_follow_the_membership_at_each_achievement_date(demo, tmp_path):
    jan, mar = date(2026, 1, 31), date(2026, 3, 31)
    assert [(pcn_at(demo, org, jan), pcn_at(demo, org, mar)) for org in ("Z00005", "Z00009", "Z00012")] == [
        ("UZ0003", "UZ0003"), ("UZ0004", "UZ0004"), ("UZ0004", "UZ0003")]  # Z00012 moves on 1 Mar 2026
    figures_by_date = {"20260131": {"Z00005": (10, 20), "Z00009": (5, 10), "Z00012": (7, 14)},
                       "20260331": {"Z00005": (12, 20), "Z00009": (6, 10), "Z00012": (9, 14)}}
    rows = [r for achieved, practices in figures_by_date.items() for org, (n, d) in practices.items()
            for r in fraction(org, achieved, "HI03", n, d, service="NCD2526")]
    report = imported(demo, write(tmp_path / "ncdes.csv", rows))
    sums = figures(demo, report.import_id, "hi_03_ld_health_checks", "pcn")
    assert {key: value[:2] for key, value in sums.items()} == {
        ("UZ0003", jan): (10.0, 20.0), ("UZ0004", jan): (12.0, 24.0),
        ("UZ0003", mar): (21.0, 34.0), ("UZ0004", mar): (6.0, 10.0)}
    starts = observations_of(demo, report.import_id)["period_start"]
    assert {d.date() for d in starts} == {jan.replace(day=1), mar.replace(day=1)}
    assert set(contract_fields(demo, report.import_id)["financial_year"]) == {"2025/26"}


def test_a_practice_with_a_numerator_but_no_denominator_has_an_empty_value_and_is_in_no_pcn_total(demo, tmp_path):
    rows = fraction("Z00001", "20241031", "HI03", 5, 10) + [row("Z00002", "20241031", "HI03", "Numerator", 4)]
    report = imported(demo, write(tmp_path / "ncdes.csv", rows))
    practices = observations_of(demo, report.import_id).query("org_level == 'practice'")
    assert practices["value"].isna().tolist() == [False, True]
    assert figures(demo, report.import_id, "hi_03_ld_health_checks", "pcn") == {("UZ0001", OCT): (5.0, 10.0, 50.0)}
    assert "1 practice figure has a numerator or a denominator but not both" in report.text()


# ------------------------------------------------------------------------------------------------
# Importing again


def test_the_same_file_twice_leaves_the_store_unchanged(demo, tmp_path):
    path = write(tmp_path / "ncdes.csv", code_change_rows())
    imported(demo, path)
    before = fingerprint(demo.path)
    again = load(demo, path)
    assert again.status == "already imported"
    assert_unchanged(before, demo.path)


def test_the_same_figures_in_another_file_replace_the_rows_they_repeat(demo, tmp_path):
    rows = code_change_rows()
    first = imported(demo, write(tmp_path / "first.csv", rows))
    before_obs = observations_of(demo, first.import_id)
    before_fields = contract_fields(demo)
    second = imported(demo, write(tmp_path / "reordered.csv", rows[::-1]))  # other bytes, same figures
    assert observations_of(demo, first.import_id).empty and contract_fields(demo, first.import_id).empty
    assert observations_of(demo, second.import_id).equals(before_obs)
    assert contract_fields(demo).equals(before_fields)
    assert "observations from an earlier import of this publication were replaced" in second.text()


def test_an_older_file_imported_after_a_newer_one_changes_none_of_the_newer_figures(demo, tmp_path):
    newer = imported(demo, write(tmp_path / "to-october.csv", code_change_rows()))
    before = (observations_of(demo, newer.import_id), contract_fields(demo))
    september = [row("Z00001", "20240930", "CAN02", "Numerator", 11), row("Z00001", "20240930", "CAN02",
                                                                          "Denominator", 20)]
    older = imported(demo, write(tmp_path / "to-september.csv", september))
    assert older.vintage == "2024-09-30"
    assert observations_of(demo, newer.import_id).equals(before[0])
    assert contract_fields(demo).equals(before[1])
    assert "2 contract fields were not written because a newer vintage" in older.text()


# ------------------------------------------------------------------------------------------------
# Rows left out and files refused


def test_practices_in_no_map_are_rejected_and_counted_and_exact_repeats_counted_once(demo, tmp_path):
    rows = fraction("Z00001", "20241031", "HI03", 5, 10) + fraction("Q99999", "20241031", "HI03", 1, 2)
    rows.append(list(rows[0]))  # row 6 repeats row 2
    report = imported(demo, write(tmp_path / "ncdes.csv", rows))
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 2, 3)
    text = report.text()
    assert "rejected 2 rows: GP practice code not in any imported map (first 2: row 4 ORG_CODE 'Q99999'; row 5" in text
    assert "rejected 1 row: an exact repeat of an earlier row" in text and "row 6 repeats row 2" in text
    assert set(contract_fields(demo, report.import_id)["org_code"]) == {"Z00001"}


def test_a_file_whose_practices_are_all_unknown_is_refused(demo, tmp_path):
    assert_refused_whole(demo, write(tmp_path / "ncdes.csv", fraction("Q99999", "20241031", "HI03", 1, 2)),
                         ["ncdes.csv: none of its 2 rows can be loaded", "GP practice code not in any imported map"])


def good_rows():
    return (fraction("Z00001", "20241031", "CAN04", 14, 24) + fraction("Z00002", "20241031", "CAN04", 9, 12)
            + [row("Z00001", "20241031", "HI21", "Number of patients recorded as having a diagnosis of autism.", 40)])


def with_cell(row_number: int, column: str, value: str, header=HEADER):
    """The good rows with one cell changed, addressed as a spreadsheet shows it (header = row 1)."""
    def change(rows):
        rows[row_number - 2][header.index(column)] = value
        return rows
    return change


BAD = [
    ("service-not-ncd", with_cell(3, "QUALITY_SERVICE", "QOF2425"),
     ["ncdes.csv: row 3, column QUALITY_SERVICE: 'QOF2425' is not a Network Contract DES service the importer knows",
      "NCD2425 is 2024/25"]),
    ("service-years-not-consecutive", with_cell(2, "QUALITY_SERVICE", "NCD2426"),
     ["ncdes.csv: row 2, column QUALITY_SERVICE: 'NCD2426' is not a Network Contract DES service"]),
    ("service-year-without-contract-rules", lambda rows: [[("NCD2223" if i == 0 else v) for i, v in enumerate(r)]
                                                          for r in rows],
     ["ncdes.csv: row 2, column QUALITY_SERVICE: 'NCD2223' is for a financial year with no contract rules",
      "rules for 2023/24 to 2026/27", "4 more rows like this"]),
    ("achievement-date-not-a-date", with_cell(4, "ACH_DATE", "20241340"),
     ["ncdes.csv: row 4, column ACH_DATE: '20241340' is not a date the importer knows", "yyyymmdd"]),
    ("achievement-date-in-the-future", lambda rows: [r[:3] + ["20990331"] + r[4:] for r in rows[:2]] + rows[2:],
     ["ncdes.csv: row 2, column ACH_DATE: '20990331' is after today", "1 more row like this (row 3)"]),
    ("achievement-date-outside-the-service-year", with_cell(5, "ACH_DATE", "20250430"),
     ["ncdes.csv: row 5, column ACH_DATE: '20250430' is not in 2024/25, the service year its QUALITY_SERVICE "
      "'NCD2425' names (1 Apr 2024 to 31 Mar 2025)"]),
    ("value-not-a-number", with_cell(3, "VALUE", "abc"),
     ["ncdes.csv: row 3, column VALUE: 'abc' is not a number written in digits"]),
    ("value-negative", with_cell(6, "VALUE", "-40"), ["ncdes.csv: row 6, column VALUE: '-40' is negative"]),
    ("value-missing", with_cell(2, "VALUE", ""), ["ncdes.csv: row 2, column VALUE: an empty cell is missing"]),
    ("value-infinite", with_cell(2, "VALUE", "inf"), ["ncdes.csv: row 2, column VALUE: 'inf' is not a number"]),
    ("indicator-code-not-a-code", with_cell(4, "IND_CODE", "C4N!"),
     ["ncdes.csv: row 4, column IND_CODE: 'C4N!' is not an indicator code"]),
    ("same-field-twice-with-different-values",
     lambda rows: rows + [row("Z00001", "20241031", "CAN04", "Numerator", 15)],
     ["ncdes.csv: rows 2, 7 are for the same practice, achievement date, indicator and field",
      "ORG_CODE 'Z00001'", "FIELD_NAME 'Numerator'", "hold different values"]),
    ("numerator-above-denominator", with_cell(4, "VALUE", "13"),
     ["ncdes.csv: row 4, column VALUE: the CAN-04 numerator 13 of practice 'Z00002' at 31 Oct 2024 is above its "
      "denominator 12 (row 5)"]),
    ("can-02-and-can-04-for-one-practice-and-date",
     lambda rows: rows + fraction("Z00001", "20241031", "CAN02", 14, 24),
     ["ncdes.csv: rows 2, 3, 7, 8, column IND_CODE: practice 'Z00001' has numerators or denominators of both CAN-02 "
      "and CAN-04 at 31 Oct 2024", "can_02_fit"]),
]


@pytest.mark.parametrize("change, expected", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_input_is_refused_naming_file_row_and_column_and_nothing_is_written(demo, tmp_path, change, expected):
    assert_refused_whole(demo, write(tmp_path / "ncdes.csv", change(good_rows())), expected)


def test_the_good_rows_the_bad_cases_start_from_import(demo, tmp_path):
    report = imported(demo, write(tmp_path / "ncdes.csv", good_rows()))
    assert figures(demo, report.import_id, "can_02_fit", "pcn") == {
        ("UZ0001", OCT): (23.0, 36.0, round(23 / 36 * 100, 6))}
