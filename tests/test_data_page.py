"""The Data page: staleness, practices missing from a publication and local values not recorded.

Staleness against a fixed day, practices missing from a publication, local values not recorded, on the demo with
gaps planted in it and on the real published samples."""

import csv
import getpass
import io
import shutil
from collections import defaultdict
from datetime import date

import pandas as pd
import pytest

from measures import data_quality, local, queries
from measures.catalogue import FAMILIES, default_catalogue
from measures.importers import import_publications
from measures.importers.detect import ALL as IMPORTERS
from measures.overview import build_cards
from measures.store import Store
from tests import apptest
from tests.conftest import ROOT, SAMPLES, app_on_copy
from tests.test_import_publications import FILES
from tests.apptest import table_with, texts

PAGE = "pages/data_quality.py"
PCN = "UZ0003"  # Ashvale PCN: practices Z00005 to Z00008 and Z00012 in September 2026
PRACTICE = "Z00006"  # planted: none of its appointments figures for September 2026
LOCAL_MEASURE = "int_mdt_case_reviews"  # planted: the PCN's recorded value for September 2026 deleted
MONTH = date(2026, 9, 1)  # the demo's last month
APPOINTMENTS = next(p for p in data_quality.PUBLICATIONS if p.short == "appointments")


def plant_gaps(store: Store) -> None:
    with store.writer() as con:
        gone = con.execute("DELETE FROM observations WHERE org_code = ? AND period_start = ? "
                           "AND measure_id IN (SELECT unnest(?))",
                           [PRACTICE, MONTH, list(APPOINTMENTS.measures)]).fetchall()[0][0]
        assert gone == len(APPOINTMENTS.measures)
        for table in ("observations", "recorded_values"):
            gone = con.execute(f"DELETE FROM {table} WHERE measure_id = ? AND org_code = ? AND period_start = ?",
                               [LOCAL_MEASURE, PCN, MONTH]).fetchall()[0][0]
            assert gone == 1, table


@pytest.fixture(scope="module")
def gapped_db(demo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("gapped") / "gapped.duckdb"
    shutil.copy(demo_db, path)
    plant_gaps(Store(path))
    return path


@pytest.fixture
def gapped(gapped_db, tmp_path, monkeypatch) -> Store:
    """A private copy of the demo with the gaps planted, the app pointed at it, and 'today' fixed."""
    return app_on_copy(gapped_db, tmp_path, monkeypatch, **{data_quality.TODAY_SETTING: "2026-10-20"})


def status_of(at, short: str) -> str:
    publications = table_with(at, "Status")
    return publications.loc[publications["Status"].str.startswith(short), "Status"].iloc[0]


# --- staleness ------------------------------------------------------------------------------------------------


def test_a_monthly_publication_is_late_once_the_next_months_file_is_due(gapped, monkeypatch):
    monkeypatch.setenv(data_quality.TODAY_SETTING, "2027-03-15")
    at = apptest.open_app(PAGE, pcn=PCN)
    late = "Appointments: September 2026, 5 months behind: the next file is due"
    assert status_of(at, "Appointments") == late
    assert late in texts(at.warning)
    assert "judged on 15 March 2027" in at.caption[0].value


def test_the_same_publication_is_up_to_date_while_its_next_file_is_not_yet_due(gapped):
    at = apptest.open_app(PAGE, pcn=PCN)  # 'today' is 20 October 2026
    assert status_of(at, "Appointments") == ("Appointments: September 2026, up to date: the next file is expected "
                                             "by 31 December 2026")
    assert "Appointments" not in texts(at.warning)
    publications = table_with(at, "Status")
    row = publications[publications["Publication"] == APPOINTMENTS.name].iloc[0]
    assert (row["Latest period"], row["File vintage"], row["By"], row["Rows rejected"]) == (
        "September 2026", "2026-09-01", "demo", 0)
    assert "Practice-to-PCN map: no file loaded yet" in set(publications["Status"])  # the demo has no map file


def test_a_publication_not_loaded_shows_empty_cells_not_the_word_none(gapped):
    at = apptest.open_app(PAGE, pcn=PCN)
    element = next(d for d in at.dataframe if "Status" in d.value.columns)
    publications, shown = element.value, apptest.shown_text(element)
    missing = publications.index[publications["Status"] == "Practice-to-PCN map: no file loaded yet"][0]
    assert pd.isna(publications.loc[missing, "Rows read"])
    assert shown.loc[missing, "Rows read"] == "" and shown.loc[missing, "File vintage"] == ""
    loaded = publications.index[publications["Publication"] == APPOINTMENTS.name][0]
    assert shown.loc[loaded, "Rows read"] == f"{publications.loc[loaded, 'Rows read']:.0f}"
    assert not shown.isin(["None", "nan", "NaT", "<NA>"]).any().any()


def test_staleness_reads_as_months_behind_for_the_publications_cadence():
    iif = next(p for p in data_quality.PUBLICATIONS if p.short == "IIF indicators")
    on = date(2026, 12, 1)
    assert data_quality.staleness(APPOINTMENTS, date(2025, 10, 1), date(2025, 10, 31), on)["status"] == (
        "Appointments: October 2025, 13 months behind: the next file is due")
    assert data_quality.staleness(iif, date(2024, 4, 1), date(2025, 3, 31), on)["status"] == (
        "IIF indicators: 2024/25, up to date: the next file is expected by 31 December 2026")
    assert data_quality.staleness(iif, date(2023, 4, 1), date(2024, 3, 31), on)["status"] == (
        "IIF indicators: 2023/24, 32 months behind: the next file is due")


def test_today_comes_from_the_setting_and_a_bad_one_is_named():
    assert data_quality.today({data_quality.TODAY_SETTING: "2027-01-31"}) == date(2027, 1, 31)
    assert data_quality.today({}) == date.today()
    with pytest.raises(ValueError, match="PCN_TODAY is '31/01/2027', which is not a date"):
        data_quality.today({data_quality.TODAY_SETTING: "31/01/2027"})


def test_every_national_measure_is_given_by_exactly_one_publication():
    given = [m for p in data_quality.PUBLICATIONS for m in p.measures]
    assert sorted(given) == sorted(m.id for m in default_catalogue() if m.family == "national_des")


def test_every_importer_says_how_often_its_publication_comes():
    for module in IMPORTERS:
        assert getattr(module, "CADENCE", None) in data_quality.CADENCES, module.__name__


# --- practices missing from a publication -----------------------------------------------------------------------


def test_a_practice_missing_from_a_publication_is_named_for_its_pcn_and_month(gapped, demo_db):
    at = apptest.open_app(PAGE, pcn=PCN)
    missing = table_with(at, "Missing practices")
    assert missing[["Code", "Publication", "Period", "Member practices", "With data", "Missing",
                    "Missing practices"]].values.tolist() == [[PCN, "appointments", "September 2026", 5, 4, 1,
                                                               PRACTICE]]
    # Unplanted, the demo misses no practice from any publication
    whole = data_quality.coverage(Store(demo_db), tuple(queries.pcns(Store(demo_db))["pcn"]))
    assert len(whole) and data_quality.incomplete(whole).empty


def test_the_demo_says_why_it_shows_no_unknown_shares_and_that_no_coverage_file_is_loaded(gapped):
    at = apptest.open_app(PAGE, pcn=PCN)
    assert data_quality.DEMO_UNKNOWNS in texts(at.info)
    assert data_quality.NO_COVERAGE_FILE in texts(at.info)


# --- local values not recorded ----------------------------------------------------------------------------------


def test_a_missing_local_submission_is_listed_with_its_organisation_and_period(gapped, demo_db):
    at = apptest.open_app(PAGE, pcn=PCN)
    gaps = table_with(at, "Periods missing")
    mine = gaps[(gaps["Code"] == PCN) & (gaps["Measure"] == "MDT case reviews")]
    assert len(mine) == 1 and "Sep 2026" in mine["Missing periods"].iloc[0].split(", ")
    assert list(gaps["Periods missing"]) == sorted(gaps["Periods missing"], reverse=True)  # the most missing first
    before = data_quality.local_submissions(Store(demo_db), (PCN,), date(2026, 10, 20))
    row = before[(before["measure"] == LOCAL_MEASURE) & (before["period_start"] == MONTH)]
    assert row["recorded"].tolist() == [True]  # recorded in the demo as built


def local_gap_shown(at) -> bool:
    if not any("Periods missing" in d.value.columns for d in at.dataframe):
        return False
    gaps = table_with(at, "Periods missing")
    mine = gaps[(gaps["Code"] == PCN) & (gaps["Measure"] == "MDT case reviews")]
    return bool(len(mine)) and "Sep 2026" in mine["Missing periods"].iloc[0]


def test_outside_the_pcn_a_gap_shows_only_once_the_pcn_publishes_the_period(gapped, monkeypatch):
    monkeypatch.setenv("PCN_ACCESS", str(ROOT / "data" / "access.example.yaml"))
    assert local_gap_shown(apptest.open_app(PAGE, pcn=PCN, email="analyst@example.nhs.uk"))  # the ICB's analyst
    outsider = apptest.open_app(PAGE, pcn=PCN, email="nobody@example.nhs.uk")
    assert not local_gap_shown(outsider)
    assert "Shown for the periods each PCN has published" in texts(outsider.info)
    assert "No period these PCNs have published is missing a local value." in texts(outsider.caption)
    with gapped.writer() as con:
        con.execute("INSERT INTO published_periods VALUES (?, ?, 'editor@example.nhs.uk', now())", [PCN, MONTH])
    assert local_gap_shown(apptest.open_app(PAGE, pcn=PCN, email="nobody@example.nhs.uk"))


def test_a_measure_defined_in_the_app_expects_no_value_for_periods_over_before_it_existed():
    measure = default_catalogue().get(LOCAL_MEASURE)  # a PCN-level measure set by the demo's ICB
    members = pd.DataFrame(columns=["pcn", "practice", "start_date", "end_date"])
    organisations = pd.DataFrame({"org_code": [PCN], "name": ["Ashvale PCN"], "open_date": [None],
                                  "close_date": [None]})
    expected = data_quality.expected_submissions([measure], [PCN], {PCN: "QZZ"}, members, organisations,
                                                 date(2026, 10, 20), 12, {LOCAL_MEASURE: date(2026, 8, 15)})
    assert expected["period_start"].tolist() == [date(2026, 8, 1), date(2026, 9, 1)]


# --- caveats for cards and charts ------------------------------------------------------------------------------


def test_a_card_whose_latest_value_leaves_out_a_practice_carries_the_caveat(gapped):
    catalogue = local.catalogue_with_local(gapped)
    completeness = data_quality.practice_completeness(gapped, PCN)
    series, comparator = queries.overview(gapped, PCN, catalogue=catalogue)
    built = build_cards(catalogue, series, comparator, caveats=data_quality.card_caveats(completeness))
    cards = {c.measure.id: c for family in FAMILIES for c in built[family]}
    assert cards["appointments_per_1000"].data_caveat == "1 of 5 practices missing"
    assert cards["registered_patients"].data_caveat is None
    assert data_quality.chart_caveat(completeness, "dna_rate") == (
        "Incomplete data: September 2026 (1 of 5 practices missing).")
    assert data_quality.caveat_text(0, 5) is None and data_quality.caveat_text(2, 6) == "2 of 6 practices missing"


def test_the_overview_card_and_the_measure_chart_show_the_caveat_on_screen(gapped):
    at = apptest.open_app("pages/pcn_overview.py", pcn=PCN)
    assert any("1 of 5 practices missing" in c.value for c in at.caption)
    at = apptest.open_app("pages/measure_detail.py", pcn=PCN, measure="dna_rate")
    figure = at.get("plotly_chart")[0].proto.spec
    assert "Incomplete data: September 2026 (1 of 5 practices missing)." in figure


# --- the real published samples ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("published") / "pcn.duckdb")
    outcome = import_publications([SAMPLES / f for f in FILES], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    return store, outcome


def test_the_page_shows_every_publication_imported_from_the_samples(published, monkeypatch):
    store, outcome = published
    monkeypatch.setenv("PCN_DB", str(store.path))
    monkeypatch.setenv(data_quality.TODAY_SETTING, "2026-12-01")
    at = apptest.open_app(PAGE, pcn="U00254")
    shown = table_with(at, "Status").set_index("Publication")
    latest = {"Patients Registered at a GP Practice: practice to PCN map": "July 2026",
              "ODS ePCN: PCNs and their core partners": "January 2023",
              "Patients Registered at a GP Practice: list sizes": "December 2025",
              "Network Contract DES (MI): Investment and Impact Fund": "2023/24",
              "Primary Care Network Workforce: individual-level CSV": "June 2026",
              "Appointments in General Practice: practice-level crosstab": "October 2025",
              "Quality and Outcomes Framework: disease prevalence": "2024/25",
              "Fingertips National General Practice Profiles: IMD score": "2025"}
    assert {r.publication for r in outcome.reports} == set(latest)
    for report in outcome.reports:
        row = shown.loc[report.publication]
        assert (row["Latest period"], row["File vintage"], row["Rows rejected"], row["File"]) == (
            latest[report.publication], report.vintage, report.rows_rejected, report.name)
        assert row["By"] == f"{getpass.getuser()} (command line)"
    assert shown.loc[APPOINTMENTS.name, "Status"] == ("Appointments: October 2025, 13 months behind: the next file "
                                                      "is due")
    assert shown.loc["MI Network Contract DES: monthly practice extract", "Latest period"] == "none loaded"


def test_unknown_shares_of_appointments_match_the_published_file(published, monkeypatch):
    store, _ = published
    monkeypatch.setenv("PCN_DB", str(store.path))
    at = apptest.open_app(PAGE, pcn="U00254")
    shown = table_with(at, "Unknown status (%)")
    members = set(store.query("SELECT child_code FROM memberships WHERE parent_code = 'U00254' AND parent_level = "
                              "'pcn' AND start_date <= DATE '2025-10-31' AND (end_date IS NULL OR end_date >= "
                              "DATE '2025-10-31')")["child_code"])
    with open(SAMPLES / "appointments_practice_level_72Q_Oct2025.csv", newline="", encoding="utf-8-sig") as handle:
        rows = {tuple(r.items()) for r in csv.DictReader(handle)}  # the sample repeats rows: each counts once
    counts = defaultdict(int)
    for row in map(dict, rows):
        if row["GP_CODE"] in members:
            n = int(row["COUNT_OF_APPOINTMENTS"])
            counts["total"] += n
            counts["status"] += n if row["APPT_STATUS"] in ("Attended", "DNA") else 0
            counts["interval"] += n if row["TIME_BETWEEN_BOOK_AND_APPT"] != "Unknown / Data Issue" else 0
    row = shown[shown["Code"] == "U00254"].iloc[0]
    assert (row["Month"], row["Appointments"]) == ("October 2025", counts["total"])
    assert row["Unknown status (%)"] == round(100 * (1 - counts["status"] / counts["total"]), 1)
    assert row["Unknown booking interval (%)"] == round(100 * (1 - counts["interval"] / counts["total"]), 1)


def test_what_each_publication_writes_is_what_the_importers_wrote_from_the_samples(published):
    store, _ = published
    written = store.query("SELECT DISTINCT i.publication, o.measure_id FROM observations o "
                          "JOIN imports i ON i.import_id = o.import_id WHERE i.kind = 'publication'")
    for publication in data_quality.PUBLICATIONS:
        measures = set(written.loc[written["publication"] == publication.name, "measure_id"])
        if measures:  # the samples hold no MI Network Contract DES monthly file
            assert measures == set(publication.measures) | set(publication.parts), publication.name
