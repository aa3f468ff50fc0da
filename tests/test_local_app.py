"""The Local measures page, driven headless through AppTest: the grid, the upload, the form, history, fair share."""

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from measures import local
from measures.store import Store
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
HOURS = "ps_arrs_hours_per_1000_weighted"


@pytest.fixture
def db(demo_db, tmp_path, monkeypatch) -> Store:
    """The app on a private copy of the demo, since these tests save values."""
    path = tmp_path / "app.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("PCN_DB", str(path))
    return Store(path)


def open_page(pcn="UZ0004", name="PCN manager") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["pcn"] = pcn
    at.run()
    at.switch_page("pages/local_measures.py").run()
    if name:
        at.text_input(key="actor").input(name).run()
    assert not at.exception, at.exception
    return at


def choose_measure(at, measure_id) -> AppTest:
    return at.selectbox(key="local_measure").select(measure_id).run()


def table_with(at, column):
    """The st.dataframe showing a column (AppTest finds read-only tables by content, not by key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def test_the_page_is_in_the_navigation_and_shows_the_pcns_local_measures(db):
    at = open_page("UZ0001")
    assert [t.value for t in at.title] == ["Local measures"]
    options = at.selectbox(key="local_measure").options
    assert any("MDT case reviews" in o for o in options) and any("ARRS" in o for o in options)
    assert len(at.data_editor) == 1 and len(at.file_uploader) == 1
    assert [t.label for t in at.tabs] == ["Record values", "Upload a file", "History", "Fair share", "Define a measure"]


def test_values_typed_into_the_grid_are_previewed_then_saved_with_their_history(db):
    at = choose_measure(open_page(), HOURS)
    period = at.selectbox(key="grid_period").value
    grid = at.data_editor[0]
    first = grid.value.iloc[0]
    at.session_state[grid.key] = {"edited_rows": {"0": {"numerator": 4321, "denominator": 9000}}, "added_rows": [],
                                  "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception
    assert "1 new" in texts(at.markdown) or "1 corrected" in texts(at.markdown)
    at.button(key="save_grid").click().run()
    assert not at.exception, at.exception
    assert "1 value saved from in-app grid by PCN manager" in texts(at.success)
    held = db.query("SELECT numerator, basis FROM observations WHERE measure_id = ? AND org_code = ? "
                    "AND period_start = ?", [HOURS, first["org_code"], period]).iloc[0].tolist()
    assert held == [4321.0, "recorded"]
    # The grid reloads with the saved value, and the history tab lists the change.
    assert at.data_editor[0].value.iloc[0]["numerator"] == 4321
    assert table_with(at, "Measure")["Who"].iloc[0] == "PCN manager"


def test_the_grid_refuses_a_bad_value_and_saves_nothing(db):
    at = choose_measure(open_page(), "int_proactive_care_plan_pct")
    grid = at.data_editor[0]
    at.session_state[grid.key] = {"edited_rows": {"0": {"numerator": 999999, "denominator": 10}},
                                  "added_rows": [], "deleted_rows": []}
    at.run()
    errors = texts(at.error)
    assert "Nothing was saved" in errors
    assert "in-app grid, row 1, column numerator: 999999 is above the denominator (10)" in errors
    assert "save_grid" not in [b.key for b in at.button]
    assert db.query("SELECT count(*) AS n FROM value_audit WHERE changed_by = 'PCN manager'")["n"].iloc[0] == 0


def test_saving_needs_a_name_for_the_change_log(db):
    at = choose_measure(open_page(name=None), HOURS)
    grid = at.data_editor[0]
    at.session_state[grid.key] = {"edited_rows": {"0": {"numerator": 12, "denominator": 9000}}, "added_rows": [],
                                  "deleted_rows": []}
    at.run()
    assert "Enter your name" in texts(at.warning)
    assert at.button(key="save_grid").disabled


def test_an_uploaded_template_is_previewed_then_saved(db):
    at = choose_measure(open_page(), HOURS)
    periods = tuple(local.recent_periods(local.catalogue_with_local(db).get(HOURS), 3))
    frame = local.template_frame(db, HOURS, "UZ0004", periods)
    frame.loc[frame.index[-1], ["numerator", "denominator"]] = [55, 5000]
    at.file_uploader[0].set_value(("arrs.csv", local.template_csv(frame), "text/csv")).run()
    assert not at.exception, at.exception
    assert "Preview:" in texts(at.markdown)
    at.button(key="save_upload").click().run()
    assert "saved from arrs.csv by PCN manager" in texts(at.success)
    last = frame.iloc[-1]
    assert local.value_history(db, HOURS, last["org_code"], last["period_start"])["source"].tolist() == ["arrs.csv"]


def test_an_upload_with_problems_lists_them_by_row_and_column_and_saves_nothing(db):
    at = choose_measure(open_page(), HOURS)
    bad = (b"measure_id,period_start,org_code,numerator,denominator\n"
           b"ps_arrs_hours_per_1000_weighted,2026-09-01,Z99999,=1+2,5000\n")
    at.file_uploader[0].set_value(("bad.csv", bad, "text/csv")).run()
    errors = texts(at.error)
    assert "Nothing was saved" in errors
    assert "bad.csv, row 2, column numerator: '=1+2' starts with '='" in errors
    assert "save_upload" not in [b.key for b in at.button]
    assert db.query("SELECT count(*) AS n FROM imports WHERE file_name = 'bad.csv'")["n"].iloc[0] == 0


def test_an_upload_over_the_size_limit_is_refused(db, monkeypatch):
    monkeypatch.setenv("PCN_MAX_UPLOAD_MB", "0.0001")
    at = choose_measure(open_page(), HOURS)
    at.file_uploader[0].set_value(("big.csv", b"measure_id\n" + b"x\n" * 200, "text/csv")).run()
    assert "big.csv: is 0.0 MB; the largest file accepted is 0.0001 MB" in texts(at.error)


def fill_form(at, **fields):
    prefix = "def:(a new measure):"
    for name, value in fields.items():
        widget = at.text_area(key=prefix + name) if name in ("description", "numerator", "denominator", "caveats") \
            else at.text_input(key=prefix + name)
        widget.input(value)
    return at


def test_a_measure_defined_in_the_form_is_saved_downloadable_and_on_the_overview(db):
    at = open_page("UZ0004")
    fill_form(at, id="int_carer_checks_pct", name="Carers offered a health check",
              description="Share of registered carers offered a health check by the neighbourhood team.",
              numerator="Carers offered a health check in the month", denominator="Registered carers")
    at.button(key="define_submit").click().run()
    assert not at.exception, at.exception
    assert "Saved a new measure: Carers offered a health check (int_carer_checks_pct)" in texts(at.success)
    assert "Download as YAML" in [b.label for b in at.download_button]
    measure = local.catalogue_with_local(db).get("int_carer_checks_pct")
    assert (measure.scope, measure.family, measure.version) == ("UZ0004", "local_integration", 1)
    # It is now a measure the PCN can record, and the Overview shows it in its family column.
    assert any("Carers offered a health check" in o for o in at.selectbox(key="local_measure").options)
    at.switch_page("pages/pcn_overview.py").run()
    assert "Carers offered a health check" in [m.label for m in at.metric]


def test_the_form_shows_each_problem_beside_its_field_and_saves_nothing(db):
    at = open_page("UZ0004")
    fill_form(at, id="Carer Checks", name="Carers offered a health check", description="too short",
              numerator="Carers offered a health check", denominator="")
    at.button(key="define_submit").click().run()
    errors = [e.value for e in at.error]
    assert any("String should match pattern" in e for e in errors)  # beside the id
    assert any("at least 10 characters" in e for e in errors)  # beside the description
    assert any("a proportion needs a denominator" in e for e in errors)  # beside the denominator
    assert any(e.startswith("Not saved: 3 fields to fix") for e in errors)
    assert local.app_defined_ids(db) == []


def test_changing_a_numerator_in_the_form_makes_version_2(db):
    fields = {"id": "int_carer_checks_pct", "name": "Carers offered a health check",
              "description": "Share of registered carers offered a health check.", "family": "local_integration",
              "level": "pcn", "type": "proportion", "numerator": "Carers offered a check",
              "denominator": "Registered carers", "unit": "%", "multiplier": 100, "improvement_direction": "increase",
              "scope": "UZ0004"}
    local.define_measure(db, local.measure_from_form(fields), "Jo")
    at = open_page("UZ0004")
    at.selectbox(key="define_choice").select("int_carer_checks_pct").run()
    assert "Download this measure as YAML" in [b.label for b in at.download_button]
    at.text_area(key="def:int_carer_checks_pct:numerator").input("Carers given a check")
    at.button(key="define_submit").click().run()
    assert "Saved version 2 (the meaning changed; values recorded under version 1 keep it)" in texts(at.success)
    assert sorted(local.measure_versions(db, "int_carer_checks_pct")) == [1, 2]


def test_the_history_tab_shows_the_demos_corrections_with_earlier_values(db):
    at = open_page("UZ0001")
    changes = table_with(at, "Measure")
    assert set(changes["Who"]) == {"demo"}
    assert set(changes["Change"]) == {"corrected"}
    choose_measure(at, "int_mdt_case_reviews")
    history = table_with(at, "Earlier from")
    assert len(history) == 2
    assert history["Earlier"].iloc[1] == history["New"].iloc[0]  # the corrected value is kept


def test_the_fair_share_tab_draws_each_practice_against_its_fair_share(db):
    at = choose_measure(open_page("UZ0002"), HOURS)
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    assert spec["layout"]["title"]["text"].endswith("where it went, practice by practice")
    assert [trace["type"] for trace in spec["data"]] == ["bar", "scatter"]
    table = table_with(at, "Fair share")
    assert table["Share of resource"].sum() == pytest.approx(100, abs=0.2)


@pytest.mark.parametrize("setting", ["abc", "0", "nan", "inf"])
def test_an_upload_limit_that_is_not_a_number_above_zero_turns_uploads_off_and_says_why(db, monkeypatch, setting):
    monkeypatch.setenv("PCN_MAX_UPLOAD_MB", setting)
    at = open_page("UZ0001")
    assert not at.file_uploader
    assert any("PCN_MAX_UPLOAD_MB" in e.value and "Uploads are off" in e.value for e in at.error)
