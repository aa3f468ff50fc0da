"""Defining an ICB's neighbourhoods in the app, and neighbourhood measures in the Define form, through AppTest."""

import shutil
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from measures import local, neighbourhood_board, neighbourhoods
from measures.importers import neighbourhoods as hood_file
from measures.store import Store
from tests import apptest
from tests.apptest import texts
from tests.conftest import ROOT
from tests.hoods import without_neighbourhoods
from tests.tables import assert_unchanged, fingerprint

ACCESS = ROOT / "data" / "access.example.yaml"
ADMIN, ANALYST, EDITOR = "admin@example.nhs.uk", "analyst@example.nhs.uk", "editor@example.nhs.uk"


@pytest.fixture
def db(demo_db, tmp_path, monkeypatch) -> Store:
    """The app on a private copy of the demo (its two neighbourhoods of QZZ), with the example access file."""
    path = tmp_path / "app.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("PCN_DB", str(path))
    monkeypatch.setenv("PCN_ACCESS", str(ACCESS))
    return Store(path)


def _section(icb):
    from measures.ui import neighbourhood_define

    neighbourhood_define.define_section(icb)


def open_section(email: str | None = ADMIN, icb: str = "QZZ") -> AppTest:
    """A page of nothing but the define section, signed in as `email` (None: open demo mode)."""
    at = AppTest.from_function(_section, args=(icb,), default_timeout=60)
    if email is not None:
        at.secrets["auth"] = apptest.AUTH
        at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0].title()}
    at.run()
    assert not at.exception, at.exception
    return at


def edit(at: AppTest, edited: dict | None = None, added: list | None = None, press: str = "save") -> AppTest:
    """Edit the table (row position -> cells; rows added), then press Check or Save."""
    at.session_state[at.data_editor[0].key] = {"edited_rows": {str(k): v for k, v in (edited or {}).items()},
                                               "added_rows": added or [], "deleted_rows": []}
    at.run()
    at.button(key=f"hood_{press}:QZZ").click().run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> str:
    """The run's error messages as read (without the Markdown escapes that keep typed text plain)."""
    return texts(at.error).replace("\\", "")


def table(at: AppTest):
    return at.data_editor[0].value


def row_of(at: AppTest, member: str) -> int:
    """The table's row number (from 1 at the top) of a member."""
    return list(table(at)["member_code"]).index(member) + 1


def held(store: Store) -> tuple[list, list]:
    """The store's neighbourhoods and their members, in a fixed order."""
    hoods = store.query("SELECT neighbourhood_code, name, icb_code FROM neighbourhoods ORDER BY 1").values.tolist()
    members = store.query(
        "SELECT parent_code, child_level, child_code, CAST(start_date AS VARCHAR) AS s, "
        "coalesce(CAST(end_date AS VARCHAR), '') AS e FROM memberships WHERE parent_level = 'neighbourhood' "
        "ORDER BY ALL").values.tolist()
    return hoods, members


def test_an_administrator_sees_the_icbs_neighbourhoods_edits_a_name_and_saves_it(db):
    at = open_section()
    assert [e.label for e in at.expander] == ["Define this ICB's neighbourhoods"]
    shown = table(at)
    assert set(shown["neighbourhood_code"]) == {"QZZ-RIVERSIDE", "QZZ-BRACKENBY-N"}
    assert set(shown.loc[shown["neighbourhood_code"] == "QZZ-RIVERSIDE", "member_code"]) == {"UZ0001", "UZ0002",
                                                                                             "UZ0003"}
    first = row_of(at, "UZ0001") - 1  # Riverside's first row carries its name
    assert shown["name"].iloc[first] == "Riverside"
    edit(at, {first: {"name": "Riverside and Weir"}})
    assert "Saved 2 neighbourhoods of QZZ, 10 members, by admin@example.nhs.uk." in texts(at.success)
    names = dict(db.query("SELECT neighbourhood_code, name FROM neighbourhoods").values.tolist())
    assert names == {"QZZ-RIVERSIDE": "Riverside and Weir", "QZZ-BRACKENBY-N": "Brackenby North"}
    # Who did it is the importer's own provenance; the table reloads from the store.
    assert set(db.query("SELECT file_name, loaded_by FROM neighbourhoods").itertuples(index=False, name=None)) == \
        {(hood_file.APP_FILE_NAME, ADMIN)}
    assert table(at)["name"].iloc[row_of(at, "UZ0001") - 1] == "Riverside and Weir"
    # The members stayed as they were, so the values recorded for the neighbourhoods still count.
    assert set(neighbourhoods.members_at(db, "QZZ-RIVERSIDE", neighbourhoods_day())["via_pcn"]) == {"UZ0001", "UZ0002",
                                                                                                   "UZ0003"}


def neighbourhoods_day():
    from datetime import date

    return date(2026, 9, 30)


def test_check_lists_nothing_wrong_and_writes_nothing(db):
    at = open_section()
    before = fingerprint(db.path)
    edit(at, {row_of(at, "UZ0001") - 1: {"name": "Riverside and Weir"}}, press="check")
    assert "The table is right: 2 neighbourhoods of QZZ, 10 members. Nothing saved yet." in texts(at.success)
    assert_unchanged(before, db.path)


MISTAKES = {
    # (rows edited: member -> cells, rows added, the expected message with {row} for the edited or added row)
    "overlapping dates": (
        {}, [{"neighbourhood_code": "QZZ-RIVERSIDE", "member_kind": "pcn", "member_code": "UZ0002",
              "start_date": "2025-10-01"}],
        "neighbourhood table, row {added}, column Start: PCN UZ0002 is already a member of QZZ-RIVERSIDE from "
        "2025-04-01 (row {UZ0002}); these dates overlap it"),
    "a practice in two neighbourhoods": (
        {}, [{"neighbourhood_code": "QZZ-WEIR", "name": "Weir", "member_kind": "practice", "member_code": "Z00020",
              "start_date": "2025-06-01"}],
        "neighbourhood table, row {added}, column Member code: practice Z00020 would be in two neighbourhoods at "
        "once: QZZ-WEIR from 2025-06-01 and QZZ-BRACKENBY-N from 2025-04-01 (row {Z00020})"),
    "an unknown PCN": (
        {"UZ0002": {"member_code": "UZ9999"}}, [],
        "neighbourhood table, row {UZ0002}, column Member code: 'UZ9999' is not a known PCN code"),
    "an end before its start": (
        {"UZ0003": {"end_date": "2024-03-31"}}, [],
        "neighbourhood table, row {UZ0003}, column End: end 2024-03-31 is before start 2025-04-01"),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_a_mistake_is_named_by_row_and_column_and_nothing_changes(case, db):
    edits, added, expected = MISTAKES[case]
    at = open_section()
    rows = {code: row_of(at, code) for code in ("UZ0002", "UZ0003", "Z00020")}
    rows["added"] = len(table(at)) + 1  # an added row is numbered after the rows shown
    before = fingerprint(db.path)
    edit(at, {rows[member] - 1: cells for member, cells in edits.items()}, added)
    assert errors(at).startswith("Nothing was saved: 1 problem to fix.")
    assert expected.format(**rows) in errors(at)
    assert_unchanged(before, db.path)


def test_a_table_leaving_out_a_neighbourhood_with_values_is_refused(db):
    at = open_section()
    before = fingerprint(db.path)
    riverside = [i for i, code in enumerate(table(at)["neighbourhood_code"]) if code == "QZZ-RIVERSIDE"]
    at.session_state[at.data_editor[0].key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": riverside}
    at.run()
    at.button(key="hood_save:QZZ").click().run()
    assert "neighbourhood table, column Neighbourhood code: QZZ-RIVERSIDE is left out, but" in errors(at)
    assert "keep it in the table (end its members' dates instead)" in errors(at)
    assert_unchanged(before, db.path)


def test_each_cell_of_the_table_is_checked_where_it_is():
    rows = [
        {"neighbourhood_code": "QZZ-WEIR", "name": "Weir", "member_kind": "pcn", "member_code": "UZ0004",
         "start_date": "2026-04-01"},
        {},  # a row added and left blank is skipped
        {"neighbourhood_code": "QZZ-WEIR", "name": "Weir Valley", "member_kind": "pcn", "member_code": "UZ0005",
         "start_date": "2026-04-01"},
        {"neighbourhood_code": "QZZ-WEIR", "member_kind": "ward", "member_code": "UZ0006", "start_date": "2026-04-01"},
        {"neighbourhood_code": None, "member_kind": "practice", "member_code": None, "start_date": None},
        {"neighbourhood_code": "QZZ-WEIR", "member_kind": "pcn", "member_code": "UZ0007", "start_date": "2026-02-30"},
    ]
    with pytest.raises(hood_file.NeighbourhoodFileError) as refused:
        hood_file.parse_rows("QZZ", rows)
    assert str(refused.value).splitlines() == [
        "neighbourhood table, row 3, column Name: 'Weir Valley' differs from 'Weir', given for QZZ-WEIR in row 1; "
        "give a neighbourhood's name on one of its rows, or the same on each",
        "neighbourhood table, row 4, column Member kind: 'ward' is not a member kind; write pcn (a whole PCN) or "
        "practice",
        "neighbourhood table, row 5, column Neighbourhood code: is blank; give the neighbourhood's code, e.g. "
        "QZZ-RIVERSIDE",
        "neighbourhood table, row 5, column Member code: is blank; give the PCN's or the practice's code",
        "neighbourhood table, row 5, column Start: is blank; give the first day of membership as YYYY-MM-DD, for "
        "example 2026-04-01",
        "neighbourhood table, row 6, column Start: '2026-02-30' is not a date: there is no such day",
    ]


@pytest.mark.parametrize("email", [ANALYST, EDITOR])
def test_someone_not_an_administrator_is_shown_nothing(db, email):
    at = open_section(email)
    assert not at.expander and not at.data_editor and not at.button and not at.get("download_button")
    assert not at.main.children  # nothing drawn at all


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """What each download button of a run would hand the browser: {label: (file name, data)}."""
    from streamlit.delta_generator import DeltaGenerator

    offered = {}
    original = DeltaGenerator.download_button

    def recording(self, label, data, *args, **kwargs):
        offered[label] = (kwargs.get("file_name"), data)
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", recording)
    return offered


def test_the_downloaded_file_loaded_by_the_command_gives_the_same_neighbourhoods(db, downloads, demo_db, tmp_path):
    at = open_section()
    edit(at, {row_of(at, "UZ0001") - 1: {"name": "Riverside & Weir: \"north\""},
              row_of(at, "UZ0003") - 1: {"end_date": "2026-06-30"}},
         [{"neighbourhood_code": "qzz-weir", "name": "Weir", "member_kind": "pcn", "member_code": "UZ0003",
           "start_date": "2026-07-01"}])
    assert "Saved 3 neighbourhoods of QZZ, 11 members" in texts(at.success)
    name, text = downloads["Download as a neighbourhood file"]
    assert name == "neighbourhoods-qzz.yaml"
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    # Another copy of the demo, given the file by the command line, holds the same neighbourhoods.
    other = tmp_path / "other.duckdb"
    shutil.copy(demo_db, other)
    loaded = subprocess.run([sys.executable, "-m", "measures", "neighbourhoods", str(path), "--db", str(other)],
                            capture_output=True, text=True, cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PCN_ACCESS": ""})
    assert loaded.returncode == 0, loaded.stderr
    assert held(Store(other)) == held(db)
    assert ["QZZ-WEIR", "pcn", "UZ0003", "2026-07-01", ""] in held(db)[1]
    # Loading the same file into the store the app saved to changes nothing.
    assert not hood_file.load_file(db, path, actor="tester").changed


def test_an_icb_without_neighbourhoods_gets_an_empty_table_to_fill_in(db):
    without_neighbourhoods(db)
    at = open_section()
    assert table(at).empty
    assert "QZZ has no neighbourhoods yet" in texts(at.info)
    assert not at.get("download_button")
    edit(at, added=[{"neighbourhood_code": "QZZ-WEIR", "name": "Weir", "member_kind": "pcn", "member_code": "UZ0004",
                     "start_date": "2026-04-01"},
                    {"neighbourhood_code": "QZZ-WEIR", "member_kind": "practice", "member_code": "Z00020",
                     "start_date": "2026-04-01", "end_date": "2026-09-30"}])
    assert "Saved 1 neighbourhood of QZZ, 2 members" in texts(at.success)
    assert held(db) == ([["QZZ-WEIR", "Weir", "QZZ"]],
                        [["QZZ-WEIR", "pcn", "UZ0004", "2026-04-01", ""],
                         ["QZZ-WEIR", "practice", "Z00020", "2026-04-01", "2026-09-30"]])


def test_the_neighbourhood_page_names_the_icb_and_shows_blank_cells_blank(db):
    at = apptest.open_app("pages/neighbourhood_board.py", pcn="UZ0001")  # open demo mode: an administrator
    said = texts(at.markdown)
    assert "Each row is one member of a neighbourhood of NHS Synthetic Valley ICB (QZZ)" in said.replace("\\", "")
    editor = at.data_editor[0].proto  # a blank End reads as "still a member", not as None
    assert editor.HasField("placeholder") and editor.placeholder == ""


def test_a_store_without_a_neighbourhoods_table_gets_an_empty_table_and_a_clear_refusal(db):
    with db.writer() as con:
        con.execute("DROP TABLE neighbourhoods")
    at = open_section()
    assert table(at).empty
    before = fingerprint(db.path)
    edit(at, added=[{"neighbourhood_code": "QZZ-WEIR", "name": "Weir", "member_kind": "pcn", "member_code": "UZ0004",
                     "start_date": "2026-04-01"}])
    assert "neighbourhood table: this database has no table of neighbourhoods yet" in errors(at)
    assert_unchanged(before, db.path)


# --- the Local measures page's Define form: the neighbourhood level -------------------------------------------

PREFIX = "def:(a new measure):"
FALLS = dict(id="nbh_falls_reviewed_pct", name="Falls reviewed by the neighbourhood team",
             description="Share of people who fell at home and were reviewed by the neighbourhood team in a week.",
             numerator="People who fell at home and were reviewed within a week",
             denominator="People who fell at home")


def fill_form(at: AppTest, **fields) -> AppTest:
    for name, value in fields.items():
        widget = at.text_area(key=PREFIX + name) if name in ("description", "numerator", "denominator") \
            else at.text_input(key=PREFIX + name)
        widget.input(value)
    return at


def local_page(pcn: str, email: str | None = None) -> AppTest:
    at = apptest.open_app("pages/local_measures.py", pcn=pcn, email=email)
    if email is None:
        at.text_input(key="actor").input("ICB lead").run()
    return at


def test_the_define_form_offers_neighbourhood_and_the_measure_is_recordable_and_on_the_pcns_board(db, tmp_path):
    at = local_page("UZ0001")
    level = at.selectbox(key=PREFIX + "level")
    assert level.options == ["PCN", "Practice", "Neighbourhood"]
    fill_form(at, **FALLS)
    at.selectbox(key=PREFIX + "level").set_value("neighbourhood")
    at.button(key="define_submit").click().run()
    # Set by the PCN (the form's default), it is refused beside the scope: the ICB sets a neighbourhood's measures.
    assert "a neighbourhood measure is set by the ICB whose neighbourhoods record it, not UZ0001" in errors(at)
    assert "nbh_falls_reviewed_pct" not in local.app_defined_ids(db)
    at.selectbox(key=PREFIX + "scope").set_value("QZZ")
    at.button(key="define_submit").click().run()
    assert not at.exception, at.exception
    assert "Saved a new measure: Falls reviewed by the neighbourhood team" in texts(at.success)
    catalogue = local.catalogue_with_local(db)
    measure = catalogue.get(FALLS["id"])
    assert (measure.level, measure.scope, measure.family) == ("neighbourhood", "QZZ", "local_integration")
    assert FALLS["id"] in [m.id for m in neighbourhood_board.integration_measures(catalogue, "QZZ")]
    assert FALLS["id"] in at.selectbox(key="define_choice").options  # changed later on the same form
    # Recorded for Riverside (which includes UZ0001) through the recording path, with its audit row.
    path = tmp_path / "falls.csv"
    path.write_text("measure_id,period_start,org_code,numerator,denominator\n"
                    f"{FALLS['id']},2026-08-01,QZZ-RIVERSIDE,18,24\n", encoding="utf-8")
    local.record_file(db, path, "ICB lead", pcn_code="UZ0001")
    assert db.query("SELECT org_level, value FROM observations WHERE measure_id = ?", [FALLS["id"]]).values.tolist() \
        == [["neighbourhood", 75.0]]
    assert db.query("SELECT count(*) AS n FROM value_audit WHERE measure_id = ?", [FALLS["id"]])["n"][0] == 1
    # The PCN's board shows it in Riverside's section.
    footprints = neighbourhoods.footprints(db, neighbourhoods_day(), "UZ0001")
    series = {fp.code: neighbourhoods.series(db, measure, fp.code) for fp in footprints}
    found = {s.footprint.code: [row.measure.id for row in s.rows]
             for s in neighbourhood_board.sections(footprints, catalogue, series)}
    assert found == {"QZZ-RIVERSIDE": [FALLS["id"]]}


def test_the_neighbourhood_level_is_for_integration_measures_only(db):
    measure = local.measure_from_form({**FALLS, "family": "practice_support", "level": "neighbourhood",
                                       "type": "proportion", "unit": "%", "multiplier": 100,
                                       "improvement_direction": "increase", "scope": "QZZ"})
    with pytest.raises(local.DefinitionError) as refused:
        local.define_measure(db, measure, "ICB lead")
    assert "a neighbourhood is measured on integration" in refused.value.errors["level"]
    assert FALLS["id"] not in local.app_defined_ids(db)


def test_the_form_says_why_neighbourhood_is_not_offered(db):
    # An editor of the PCN may not define the ICB's measures.
    at = local_page("UZ0001", email=EDITOR)
    assert at.selectbox(key=PREFIX + "level").options == ["PCN", "Practice"]
    assert "a neighbourhood measure is set by" in texts(at.caption)
    assert "only administrators define an ICB's measures" in texts(at.caption)
    # An ICB with no neighbourhoods has none to measure.
    without_neighbourhoods(db)
    at = local_page("UZ0001")
    assert at.selectbox(key=PREFIX + "level").options == ["PCN", "Practice"]
    assert "has no neighbourhoods yet" in texts(at.caption)
