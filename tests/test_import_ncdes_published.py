"""The MI Network Contract DES monthly file as NHS England publishes it, read with the extract's rules.

PRACTICE_CODE, PRACTICE_NAME, QUALITY_SERVICE, ACH_DATE as dd/mm/yyyy, IND_CODE, MEASURE, VALUE: recognised by its
header, read with the extract's rules figure for figure, its suppressed cells ("*") kept without a value and out of
the PCN totals, and bad input refused with file, row and column and nothing written."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from measures.importers import PublicationError, iif, ncdes, ncdes_published
from measures.importers.detect import detect
from measures.importers.sources import resolve
from measures.store import Store
from tests.conftest import SAMPLES
from tests.tables import assert_unchanged, fingerprint
from tests import test_import_ncdes as ncdes_tests
from tests.test_import_ncdes import (CAN, HI03, OCT, SEP, code_change_rows, contract_fields, figures,
                                     observations_of, pcn_at, write)

HEADER = ["PRACTICE_CODE", "PRACTICE_NAME", "QUALITY_SERVICE", "ACH_DATE", "IND_CODE", "MEASURE", "VALUE"]
EXTRACT = ["QUALITY_SERVICE", "NAME", "ORG_CODE", "ACH_DATE", "IND_CODE", "FIELD_NAME", "VALUE"]


def published(org: str, achieved: str, indicator: str, measure: str, value, service: str = "NCD2425",
              name: str = "DEMO PRACTICE") -> list[str]:
    """One row as the publisher writes it; `achieved` is dd/mm/yyyy."""
    return [org, name, service, achieved, indicator, measure, str(value)]


def as_published(extract_row: list[str]) -> list[str]:
    """An extract row in the published layout: the publisher's renames and its dd/mm/yyyy date."""
    cells = dict(zip(EXTRACT, extract_row))
    achieved = datetime.strptime(cells["ACH_DATE"], "%Y%m%d").strftime("%d/%m/%Y")
    return published(cells["ORG_CODE"], achieved, cells["IND_CODE"], cells["FIELD_NAME"], cells["VALUE"],
                     cells["QUALITY_SERVICE"])


def write_published(path, rows):
    return write(path, rows, HEADER)


@pytest.fixture
def demo(demo_db, tmp_path):
    """A private copy of the demo (practices Z00001…, PCNs UZ0001…), loaded with the importer's per-file step."""
    return ncdes_tests.store_copy(demo_db, tmp_path / "demo.duckdb")


@pytest.fixture
def twin(demo_db, tmp_path):
    """A second private copy, to import the same figures in the extract's layout."""
    return ncdes_tests.store_copy(demo_db, tmp_path / "twin.duckdb")


def load(store: Store, path, expected=ncdes_published):
    return ncdes_tests.load(store, path, expected)


def imported(store, path, expected=ncdes_published):
    return ncdes_tests.imported(store, path, expected)


def refused(store, path) -> str:
    return ncdes_tests.refused(store, path, ncdes_published)


def pct(n, d):
    return (float(n), float(d), round(n / d * 100, 6))


# ------------------------------------------------------------------------------------------------
# The same figures as the extract


def test_the_published_file_gives_the_extracts_observations_and_contract_fields_figure_for_figure(demo, twin,
                                                                                                  tmp_path):
    rows = code_change_rows()
    report = imported(demo, write_published(tmp_path / "ncdes-published.csv", [as_published(r) for r in rows]))
    extract = imported(twin, write(tmp_path / "ncdes-extract.csv", rows), expected=ncdes)
    assert report.publication == extract.publication == ncdes.PUBLICATION
    assert report.vintage == extract.vintage == "2024-10-31"
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (48, 48, 0)

    assert figures(demo, report.import_id, "can_02_fit", "pcn") == {
        ("UZ0001", SEP): pct(19, 30), ("UZ0004", SEP): pct(30, 45),
        ("UZ0001", OCT): pct(23, 36), ("UZ0004", OCT): pct(35, 51)}
    assert figures(demo, report.import_id, "hi_03_ld_health_checks", "practice") == {
        (org, datetime.strptime(achieved, "%Y%m%d").date()): pct(n, d) for (org, achieved), (n, d) in HI03.items()}
    assert figures(demo, report.import_id, "can_02_fit", "practice") == {
        (org, datetime.strptime(achieved, "%Y%m%d").date()): pct(n, d) for (org, achieved), (n, d) in CAN.items()}

    frame = observations_of(demo, report.import_id)
    assert {(s.date(), e.date()) for s, e in zip(frame["period_start"], frame["period_end"])} == {
        (date(2024, 9, 1), SEP), (date(2024, 10, 1), OCT)}
    assert frame.equals(observations_of(twin, extract.import_id))
    assert contract_fields(demo, report.import_id).equals(contract_fields(twin, extract.import_id))
    assert "can_02_fit: 30 Sep 2024 from CAN-02 (4 practices); 31 Oct 2024 from CAN-04 (4 practices)." in report.text()


def test_a_published_file_after_the_extract_of_the_same_month_replaces_its_figures_rather_than_doubling_them(
        demo, tmp_path):
    rows = code_change_rows()
    extract = imported(demo, write(tmp_path / "ncdes-extract.csv", rows), expected=ncdes)
    before = (observations_of(demo, extract.import_id), contract_fields(demo))
    report = imported(demo, write_published(tmp_path / "ncdes-published.csv", [as_published(r) for r in rows]))
    assert observations_of(demo, extract.import_id).empty and contract_fields(demo, extract.import_id).empty
    assert observations_of(demo, report.import_id).equals(before[0])
    assert contract_fields(demo).equals(before[1])
    total = demo.query("SELECT count(*) FROM observations o JOIN imports i USING (import_id) "
                       "WHERE i.publication = ?", [ncdes.PUBLICATION]).iloc[0, 0]
    assert total == len(before[0]) == 24


def test_the_same_published_file_twice_leaves_the_store_unchanged(demo, tmp_path):
    path = write_published(tmp_path / "ncdes.csv", [as_published(r) for r in code_change_rows()])
    imported(demo, path)
    before = fingerprint(demo.path)
    assert load(demo, path).status == "already imported"
    assert_unchanged(before, demo.path)


# ------------------------------------------------------------------------------------------------
# Recognised by content


def test_a_published_file_named_like_the_annual_iif_file_is_read_as_the_monthly_file_and_the_iif_file_is_not(
        demo, tmp_path):
    renamed = write_published(tmp_path / "IIF_indicators_annual_pub_2024_25.csv",
                              [published("Z00001", "31/10/2024", "HI03", "Numerator", 5),
                               published("Z00001", "31/10/2024", "HI03", "Denominator", 10)])
    report = imported(demo, renamed)
    assert figures(demo, report.import_id, "hi_03_ld_health_checks", "pcn") == {("UZ0001", OCT): pct(5, 10)}

    annual = resolve(str(SAMPLES / "IIF_indicators_annual_pub_2023_24.csv"), tmp_path).sources[0]
    assert detect(annual) is iif
    # Without ORGANISATION_TYPE the annual file still shares five columns with the monthly one; its other columns
    # (ORGANISATION_CODE's name, QUALITY_SERVICE as optional) name it as the annual file missing a column.
    lines = (SAMPLES / "IIF_indicators_annual_pub_2023_24.csv").read_text(encoding="utf-8").splitlines()[:3]
    cut = tmp_path / "annual-cut.csv"
    cut.write_text("\n".join(",".join(line.split(",")[1:]) for line in lines) + "\n", encoding="utf-8")
    with pytest.raises(PublicationError) as error:
        detect(resolve(str(cut), tmp_path).sources[0])
    assert "looks like the IIF indicators file" in str(error.value)
    assert "has no column ORGANISATION_TYPE" in str(error.value)


def test_a_published_file_without_practice_code_is_named_as_the_monthly_file_missing_it(demo, tmp_path):
    header = [h for h in HEADER if h != "PRACTICE_CODE"]
    path = write(tmp_path / "ncdes.csv", [published("Z00001", "31/10/2024", "HI03", "Numerator", 5)[1:]], header)
    ncdes_tests.assert_not_read(demo, path, ["ncdes.csv: looks like the MI Network Contract DES monthly file",
                                             "row 1, the header, has no column PRACTICE_CODE"])


# ------------------------------------------------------------------------------------------------
# Cells the publisher suppressed


def test_suppressed_cells_are_kept_without_a_value_and_left_out_of_the_pcn_totals_they_make_incomplete(demo, twin,
                                                                                                       tmp_path):
    assert {org: pcn_at(demo, org, SEP) for org in ("Z00001", "Z00002", "Z00009", "Z00010")} == {
        "Z00001": "UZ0001", "Z00002": "UZ0001", "Z00009": "UZ0004", "Z00010": "UZ0004"}
    sep = "30/09/2024"
    rows = [
        *[published("Z00001", sep, "HI03", m, v) for m, v in [("Numerator", 20), ("Denominator", 50),
                                                              ("HLTHCHKDEC", 2)]],
        # the publisher's rule for one PCA: denominator below 2 and the PCA above 0, both suppressed
        *[published("Z00002", sep, "HI03", m, v) for m, v in [("Numerator", 0), ("Denominator", "*"),
                                                              ("HLTHCHKDEC", "*")]],
        # every practice of UZ0004 suppressed: no UZ0004 total at all
        *[published("Z00009", sep, "HI03", m, v) for m, v in [("Numerator", 1), ("Denominator", "*")]],
        *[published("Z00010", sep, "HI03", m, v) for m, v in [("Numerator", 0), ("Denominator", " * ")]],
        # a suppressed PCA alone leaves the figure whole
        *[published("Z00001", sep, "CAN02", m, v) for m, v in [("Numerator", 12), ("Denominator", 20),
                                                               ("FITNIDAT", "*"), ("FAECIMMDEC", 0)]],
        *[published("Z00002", sep, "CAN02", m, v, name="UNALLOCATED") for m, v in [("Numerator", 7),
                                                                                  ("Denominator", 10)]],
    ]
    report = imported(demo, write_published(tmp_path / "ncdes.csv", rows))
    assert report.rows_loaded == len(rows) == 16

    fields = contract_fields(demo, report.import_id)
    withheld = fields[fields["value"].isna()]
    assert sorted((r.org_code, r.indicator, r.field) for r in withheld.itertuples()) == [
        ("Z00001", "CAN-02", "FITNIDAT"), ("Z00002", "HI-03", "Denominator"), ("Z00002", "HI-03", "HLTHCHKDEC"),
        ("Z00009", "HI-03", "Denominator"), ("Z00010", "HI-03", "Denominator")]
    assert fields["value"].notna().sum() == 11
    assert demo.query("SELECT count(*) FROM contract_fields WHERE import_id = ? AND value IS NULL",
                      [report.import_id]).iloc[0, 0] == 5

    practices = observations_of(demo, report.import_id).query("org_level == 'practice' and "
                                                              "measure_id == 'hi_03_ld_health_checks'")
    assert practices["org_code"].tolist() == ["Z00001", "Z00002", "Z00009", "Z00010"]
    assert practices["value"].isna().tolist() == [False, True, True, True]
    assert practices["numerator"].tolist() == [20.0, 0.0, 1.0, 0.0]  # the published numerator stays
    assert figures(demo, report.import_id, "hi_03_ld_health_checks", "pcn") == {("UZ0001", SEP): pct(20, 50)}
    assert figures(demo, report.import_id, "can_02_fit", "pcn") == {("UZ0001", SEP): pct(19, 30)}

    text = report.text()
    assert "5 contract fields are suppressed by the publisher (*) and kept without a value." in text
    assert ("hi_03_ld_health_checks: 3 practice figures have a numerator or denominator suppressed by the publisher "
            "(*), so their values are empty and in no PCN total; 1 PCN total is therefore incomplete (UZ0001 at "
            "30 Sep 2024); 1 PCN total is not written, no practice in it being complete (UZ0004 at 30 Sep "
            "2024).") in text
    assert text.count("suppressed by the publisher") == 2  # a suppressed PCA is no suppressed CAN-02 figure
    assert "but not both" not in text

    # "*" is the publisher's mark: the extract, which nothing has been withheld from, never holds it.
    extract = [[service, "Network Contract DES 2024/25", org, "20240930", code, measure, value]
               for org, _, service, _, code, measure, value in rows]
    before = fingerprint(twin.path)
    report = load(twin, write(tmp_path / "extract.csv", extract, EXTRACT), expected=ncdes)
    assert report.status == "failed"
    assert "extract.csv: row 6, column VALUE: '*' is not a number written in digits" in report.error
    assert_unchanged(before, twin.path)


# ------------------------------------------------------------------------------------------------
# Files refused


def good_rows():
    return [published("Z00001", "31/10/2024", "CAN04", "Numerator", 14),
            published("Z00001", "31/10/2024", "CAN04", "Denominator", 24),
            published("Z00002", "31/10/2024", "CAN04", "Numerator", 9),
            published("Z00002", "31/10/2024", "CAN04", "Denominator", "*"),
            published("Z00001", "31/10/2024", "CAN04", "FITNIDAT", "*")]


def with_cell(row_number: int, column: str, value: str):
    return ncdes_tests.with_cell(row_number, column, value, HEADER)


BAD = [
    ("date-neither-dd-mm-yyyy-nor-yyyymmdd", with_cell(3, "ACH_DATE", "Oct 2024"),
     ["ncdes.csv: row 3, column ACH_DATE: 'Oct 2024' is not a date the importer knows (the published file writes "
      "dd/mm/yyyy, such as 30/09/2024)"]),
    ("date-not-a-day", with_cell(2, "ACH_DATE", "31/09/2024"),
     ["ncdes.csv: row 2, column ACH_DATE: '31/09/2024' is not a date the importer knows"]),
    ("value-not-a-number", with_cell(5, "VALUE", "abc"),
     ["ncdes.csv: row 5, column VALUE: 'abc' is not a number written in digits"]),
    ("value-two-stars", with_cell(6, "VALUE", "**"),
     ["ncdes.csv: row 6, column VALUE: '**' is not a number written in digits"]),
    ("same-field-twice-with-different-values",
     lambda rows: rows + [published("Z00001", "31/10/2024", "CAN04", "Numerator", "*")],
     ["ncdes.csv: rows 2, 7 are for the same practice, achievement date, indicator and field",
      "PRACTICE_CODE 'Z00001'", "MEASURE 'Numerator'"]),
    ("numerator-above-denominator", with_cell(2, "VALUE", "25"),
     ["ncdes.csv: row 2, column VALUE: the CAN-04 numerator 25 of practice 'Z00001' at 31 Oct 2024 is above its "
      "denominator 24 (row 3)"]),
]


@pytest.mark.parametrize("change, expected", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_published_input_is_refused_naming_file_row_and_column_and_nothing_is_written(demo, tmp_path, change,
                                                                                          expected):
    ncdes_tests.assert_refused_whole(demo, write_published(tmp_path / "ncdes.csv", change(good_rows())), expected,
                                     ncdes_published)


def test_the_good_rows_the_bad_cases_start_from_import_and_unknown_practices_are_named_by_practice_code(demo,
                                                                                                        tmp_path):
    rows = good_rows() + [published("Q99999", "31/10/2024", "CAN04", "Numerator", 1)]
    report = imported(demo, write_published(tmp_path / "ncdes.csv", rows))
    assert figures(demo, report.import_id, "can_02_fit", "pcn") == {("UZ0001", OCT): pct(14, 24)}
    assert "GP practice code not in any imported map (first 1: row 7 PRACTICE_CODE 'Q99999')" in report.text()
