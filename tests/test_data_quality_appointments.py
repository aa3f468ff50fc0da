"""The Data page's appointments caveats: the unmapped national category share and the NHS coverage file (how many
of each sub-ICB's open practices the figures include), on the page, in its reads and in the board pack."""

import csv
import io
from collections import defaultdict
from datetime import date

import pandas as pd
import pytest
from docx import Document
from pptx import Presentation
from pypdf import PdfReader

from measures import boardpack, data_quality, queries
from measures.importers import import_publications
from measures.store import Store
from tests import apptest
from tests.conftest import SAMPLES, app_on_copy
from tests.test_import_publications import FILES
from tests.apptest import table_with, texts

PAGE = "pages/data_quality.py"
DEMO_PCN = "UZ0003"
REAL_PCN = "U00254"  # in sub-ICB 72Q, the sub-ICB the appointments sample is cut from
REAL_MONTH = date(2025, 10, 1)
APPOINTMENTS_CSV = SAMPLES / "appointments_practice_level_72Q_Oct2025.csv"
UNMAPPED = ("Unmapped", "Inconsistent Mapping")
SHARE = "Unmapped or inconsistently mapped category (%)"


def insert_coverage(store: Store, rows) -> None:
    """Rows of the coverage file as the importer stores them: (sub-ICB, month, included, open, patients in, open)."""
    with store.writer() as con:
        for row in rows:
            con.execute("INSERT INTO appointment_coverage VALUES (?, ?, ?, ?, ?, ?, NULL)", list(row))


def category_parts_from_the_sample() -> dict[str, tuple[int, int]]:
    """Per practice in the sample: (appointments with a mapped national category, all appointments)."""
    with open(APPOINTMENTS_CSV, newline="", encoding="utf-8-sig") as handle:
        rows = {tuple(r.items()) for r in csv.DictReader(handle)}  # the sample repeats rows: each counts once
    mapped, total = defaultdict(int), defaultdict(int)
    for row in map(dict, rows):
        n = int(row["COUNT_OF_APPOINTMENTS"])
        total[row["GP_CODE"]] += n
        category = row["NATIONAL_CATEGORY"].strip()
        mapped[row["GP_CODE"]] += 0 if category in UNMAPPED or not category else n
    return {practice: (mapped[practice], total[practice]) for practice in total}


def insert_category_part(store: Store, parts: dict[str, tuple[int, int]], month: date) -> None:
    """The category part's observations as the appointments importer writes them, one per practice and month."""
    end = (pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date()
    with store.writer() as con:
        for practice, (mapped, total) in parts.items():
            con.execute("INSERT INTO observations VALUES (?, 1, ?, 'practice', ?, ?, ?, ?, ?, 'published', 1)",
                        [data_quality.CATEGORY_MEASURE, practice, month, end, mapped, total,
                         100 * mapped / total if total else None])


def members_on(store: Store, pcn: str, day: date) -> set[str]:
    return set(store.query(
        "SELECT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn' AND child_level = "
        "'practice' AND start_date <= ? AND (end_date IS NULL OR end_date >= ?)", [pcn, day, day])["child_code"])


# --- pure reads -------------------------------------------------------------------------------------------------


def parts_frame(**extra) -> pd.DataFrame:
    base = {"pcn": ["P1", "P1"], "practice": ["A", "B"], "period_start": [date(2025, 10, 1)] * 2,
            "appointments": [100.0, 300.0], "status": [90.0, 300.0], "interval": [100.0, 300.0],
            "mode": [100.0, 300.0], "staff": [100.0, 300.0]}
    return pd.DataFrame({**base, **extra})


def test_the_unmapped_share_is_the_category_parts_appointments_not_mapped_of_all():
    shares = data_quality.unknown_shares(parts_frame(category=[80.0, 270.0], category_total=[100.0, 300.0]))
    assert shares["unknown_category_pct"].tolist() == [pytest.approx(100 * 50 / 400)]
    assert shares["category_held"].tolist() == [True]
    table = data_quality.unknowns_table(shares)
    assert table[SHARE].tolist() == [12.5]
    assert not data_quality.category_not_held(shares)


def test_a_month_imported_before_the_category_part_was_kept_has_no_share_and_says_why():
    one_missing = data_quality.unknown_shares(parts_frame(category=[80.0, None], category_total=[100.0, None]))
    assert one_missing["unknown_category_pct"].isna().all() and not one_missing["category_held"].any()
    assert data_quality.category_not_held(one_missing)
    none_held = data_quality.unknown_shares(parts_frame())
    assert none_held["unknown_category_pct"].isna().all() and data_quality.category_not_held(none_held)
    assert data_quality.unknowns_table(none_held)[SHARE].isna().all()
    # figures that do not add up show no share either, but are not an old import
    odd = data_quality.unknown_shares(parts_frame(category=[120.0, 300.0], category_total=[100.0, 300.0]))
    assert odd["unknown_category_pct"].isna().all() and not data_quality.category_not_held(odd)


def coverage_frame() -> pd.DataFrame:
    return data_quality.coverage_rows(pd.DataFrame({
        "sub_icb": ["72Q", "72Q", "16C"], "sub_icb_name": ["South East London - 72Q", "South East London - 72Q", None],
        "period_start": [date(2025, 9, 1), date(2025, 10, 1), date(2025, 10, 1)],
        "included_practices": [189, 187, 40], "open_practices": [189, 191, None],
        "included_patients": [1_950_000, 1_930_000, 300_000], "open_patients": [1_950_000, 1_961_000, None]}))


def test_coverage_rows_flag_the_months_with_fewer_practices_included_than_open():
    frame = coverage_frame()
    assert frame[["sub_icb", "period_start", "partial"]].values.tolist() == [
        ["16C", date(2025, 10, 1), False], ["72Q", date(2025, 10, 1), True], ["72Q", date(2025, 9, 1), False]]
    table = data_quality.nhs_coverage_table(frame)
    assert table["Practices included"].tolist() == ["not given in the file", "187 of 191 open practices included",
                                                    "189 of 189 open practices included"]
    assert table["Sub-ICB"].tolist()[0] == "16C"  # no name held: the code
    assert [bool(c) for c in table["Caveat"]] == [False, True, False]
    assert data_quality.nhs_coverage_summary(frame).startswith("In 1 of 3 sub-ICB months loaded the appointments "
                                                               "figures include fewer practices than are open")
    assert data_quality.nhs_coverage_summary(frame[~frame["partial"]]) == (
        "Every open practice is included in each of the 2 sub-ICB months loaded.")
    assert data_quality.nhs_coverage_summary(frame.iloc[0:0]) == data_quality.NO_COVERAGE_FILE


def test_the_coverage_line_is_the_sub_icbs_latest_month():
    frame = coverage_frame()
    assert data_quality.coverage_line(frame, "72Q") == (
        "Appointments coverage in South East London - 72Q, October 2025: 187 of 191 open practices included "
        "(appointments at the practices left out are not in the figures)")
    assert data_quality.coverage_line(frame, "99X") is None and data_quality.coverage_line(frame, None) is None


def test_the_sub_icbs_in_scope_are_those_of_the_pcns_now():
    pcns = pd.DataFrame({"pcn": ["P1", "P2", "P3", "P4"], "sub_icb": ["72Q", "72Q", "16C", None]})
    assert data_quality.sub_icbs_in_scope(pcns, ("P1", "P2", "P4")) == ("72Q",)
    assert data_quality.sub_icbs_in_scope(pcns, ("P1", "P3")) == ("16C", "72Q")


# --- reads on a store -------------------------------------------------------------------------------------------


@pytest.fixture
def demo(demo_db, tmp_path, monkeypatch) -> Store:
    return app_on_copy(demo_db, tmp_path, monkeypatch, **{data_quality.TODAY_SETTING: "2026-10-20"})


def demo_sub_icbs(store: Store) -> tuple[str, str]:
    pcns = queries.pcns(store)
    own = pcns.loc[pcns["pcn"] == DEMO_PCN, "sub_icb"].iloc[0]
    other = sorted(set(pcns["sub_icb"].dropna()) - {own})[0]
    return own, other


def test_the_coverage_read_takes_the_sub_icbs_asked_for_and_names_them(demo):
    own, other = demo_sub_icbs(demo)
    insert_coverage(demo, [(own, date(2026, 9, 1), 19, 20, 95_000, 99_000), (other, date(2026, 9, 1), 20, 20, 1, 1)])
    read = data_quality.appointment_coverage(demo, (own,))
    assert read[["sub_icb", "included_practices", "open_practices", "partial"]].values.tolist() == [[own, 19, 20,
                                                                                                    True]]
    assert read["sub_icb_name"].iloc[0] == demo.query("SELECT name FROM organisations WHERE org_code = ?",
                                                      [own])["name"].iloc[0]


def test_a_store_built_before_the_coverage_table_reads_as_no_coverage_file(demo):
    with demo.writer() as con:
        con.execute("DROP TABLE appointment_coverage")
    assert data_quality.appointment_coverage(demo, demo_sub_icbs(demo)).empty


# --- the page ---------------------------------------------------------------------------------------------------


def test_the_demo_page_shows_each_sub_icbs_months_with_the_partial_ones_flagged(demo):
    own, other = demo_sub_icbs(demo)
    insert_coverage(demo, [(own, date(2026, 9, 1), 19, 20, 95_000, 99_000),
                           (own, date(2026, 8, 1), 20, 20, 99_000, 99_000),
                           (other, date(2026, 9, 1), 18, 18, 90_000, 90_000),
                           ("ZZZ", date(2026, 9, 1), 1, 9, 10, 90)])  # a sub-ICB of another ICB
    at = apptest.open_app(PAGE, pcn=DEMO_PCN)
    shown = table_with(at, "Practices included")
    assert set(shown["Code"]) == {own, other}
    partial = shown[shown["Caveat"] != ""]
    assert partial[["Code", "Month", "Practices included"]].values.tolist() == [
        [own, "September 2026", "19 of 20 open practices included"]]
    assert "In 1 of 3 sub-ICB months loaded" in texts(at.warning)
    buttons = [b.proto.id for b in at.get("download_button")]  # the CSV and XLSX buttons, like the other tables
    assert [any(i.endswith(f"appointment_coverage_{f}") for i in buttons) for f in ("csv", "xlsx")] == [True, True]
    at.toggle(key="data_scope").set_value(False).run()  # the PCN alone: its own sub-ICB
    assert set(table_with(at, "Practices included")["Code"]) == {own}


@pytest.fixture(scope="module")
def published_db(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("published") / "pcn.duckdb")
    outcome = import_publications([SAMPLES / f for f in FILES], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    return store.path


@pytest.fixture
def published(published_db, tmp_path, monkeypatch) -> Store:
    """The samples as imported before the category part was kept: tests insert the part where they need it."""
    store = app_on_copy(published_db, tmp_path, monkeypatch, **{data_quality.TODAY_SETTING: "2026-12-01"})
    with store.writer() as con:
        con.execute("DELETE FROM observations WHERE measure_id = ?", [data_quality.CATEGORY_MEASURE])
    return store


def test_the_unmapped_share_on_the_page_matches_the_published_file(published):
    parts = category_parts_from_the_sample()
    insert_category_part(published, parts, REAL_MONTH)
    at = apptest.open_app(PAGE, pcn=REAL_PCN)
    row = table_with(at, SHARE).set_index("Code").loc[REAL_PCN]
    members = members_on(published, REAL_PCN, date(2025, 10, 31)) & set(parts)
    mapped, total = (sum(parts[p][i] for p in members) for i in (0, 1))
    assert row["Month"] == "October 2025" and row["Appointments"] == total
    assert row[SHARE] == round(100 * (total - mapped) / total, 1) and row[SHARE] > 0
    assert data_quality.NOT_STORED not in texts(at.caption)


def test_appointments_imported_before_the_category_part_show_no_share_and_say_why(published):
    at = apptest.open_app(PAGE, pcn=REAL_PCN)
    assert table_with(at, SHARE)[SHARE].isna().all()
    assert data_quality.NOT_STORED in texts(at.caption)
    assert data_quality.NO_COVERAGE_FILE in texts(at.info)


def test_the_real_store_shows_its_sub_icbs_coverage(published):
    insert_coverage(published, [("72Q", REAL_MONTH, 187, 191, 1_930_000, 1_961_000),
                                ("16C", REAL_MONTH, 1, 2, 3, 4)])  # another ICB's sub-ICB
    at = apptest.open_app(PAGE, pcn=REAL_PCN)
    shown = table_with(at, "Practices included")
    assert shown[["Code", "Month", "Practices included", "Patients at open practices"]].values.tolist() == [
        ["72Q", "October 2025", "187 of 191 open practices included", 1_961_000]]
    assert shown["Caveat"].iloc[0] != ""


# --- the board pack -----------------------------------------------------------------------------------------------


def test_the_pack_data_page_gives_the_coverage_line_and_the_unmapped_share_where_held(published):
    before = data_quality.data_page(published, REAL_PCN, date(2026, 12, 1))
    assert before.appointments == ()
    parts = category_parts_from_the_sample()
    insert_category_part(published, parts, REAL_MONTH)
    insert_coverage(published, [("72Q", REAL_MONTH, 187, 191, 1_930_000, 1_961_000)])
    page = data_quality.data_page(published, REAL_PCN, date(2026, 12, 1))
    members = members_on(published, REAL_PCN, date(2025, 10, 31)) & set(parts)
    mapped, total = (sum(parts[p][i] for p in members) for i in (0, 1))
    coverage, unmapped = page.appointments
    assert coverage.startswith("Appointments coverage in ") and coverage.endswith(
        "October 2025: 187 of 191 open practices included (appointments at the practices left out are not in "
        "the figures)")
    assert unmapped == (f"Unmapped or inconsistently mapped national category: {100 * (total - mapped) / total:.1f}% "
                        "of the PCN's appointments in October 2025")
    pack = boardpack.build_pack(published, REAL_PCN, chart_images=False)
    assert pack.data.appointments == page.appointments
    document = Document(io.BytesIO(boardpack.render(pack, "docx")))
    assert unmapped in [p.text for p in document.paragraphs]
    pdf = PdfReader(io.BytesIO(boardpack.render(pack, "pdf")))
    pdf = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)
    assert unmapped in pdf
    deck = Presentation(io.BytesIO(boardpack.render(pack, "pptx")))
    slide = next(s for s in deck.slides if s.shapes.title.text == boardpack.DATA_PAGE)
    assert coverage in [p.text for shape in slide.shapes if shape.has_text_frame for p in shape.text_frame.paragraphs]
