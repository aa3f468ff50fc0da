"""The Local measures page, driven headless through AppTest: the grid, the upload, the form, history, fair share."""

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from measures import data_quality, local
from measures.catalogue import parse_measure
from measures.store import Store
from tests import apptest
from tests.conftest import ROOT
from tests.apptest import table_with, texts

APP = str(ROOT / "app.py")
HOURS = "ps_arrs_hours_per_1000_weighted"
RATIO = "ps_arrs_fair_share_ratio"
SEP = date(2026, 9, 1)


@pytest.fixture
def db(demo_db, tmp_path, monkeypatch) -> Store:
    """The app on a private copy of the demo, since these tests save values."""
    path = tmp_path / "app.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("PCN_DB", str(path))
    return Store(path)


def open_page(pcn="UZ0004", name="PCN manager") -> AppTest:
    at = apptest.open_app("pages/local_measures.py", pcn=pcn)
    if name:
        at.text_input(key="actor").input(name).run()
    assert not at.exception, at.exception
    return at


def choose_measure(at, measure_id) -> AppTest:
    return at.selectbox(key="local_measure").select(measure_id).run()


def edit_grid(at, rows: dict, check=True) -> AppTest:
    """Type into the grid (row number -> cells), then press Check and preview."""
    at.session_state[at.data_editor[0].key] = {"edited_rows": {str(k): v for k, v in rows.items()},
                                               "added_rows": [], "deleted_rows": []}
    at.run()
    if check:
        at.button(key="preview_grid").click().run()
    assert not at.exception, at.exception
    return at


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
    first = at.data_editor[0].value.iloc[0]
    edit_grid(at, {0: {"numerator": 4321, "denominator": 9000}})
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
    edit_grid(at, {0: {"numerator": 999999, "denominator": 10}}, check=False)
    assert "Nothing was saved" not in texts(at.error)  # nothing is checked while the user types
    at.button(key="preview_grid").click().run()
    errors = texts(at.error)
    assert "Nothing was saved" in errors
    assert "in-app grid, row 1, column numerator: 999999 is above the denominator (10)" in errors
    assert "save_grid" not in [b.key for b in at.button]
    assert db.query("SELECT count(*) AS n FROM value_audit WHERE changed_by = 'PCN manager'")["n"].iloc[0] == 0


def test_saving_needs_a_name_for_the_change_log(db):
    at = choose_measure(open_page(name=None), HOURS)
    edit_grid(at, {0: {"numerator": 12, "denominator": 9000}})
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
    history = local.value_history(db, HOURS, last["org_code"], last["period_start"])
    assert history[history["changed_by"] != "demo"]["source"].tolist() == ["arrs.csv"]  # after the demo's own


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
        widget = at.text_area(key=prefix + name) if name in ("description", "numerator", "denominator", "caveats",
                                                                      "targets", "thresholds") \
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
    held = local.app_defined_ids(db)  # the demo's own (its neighbourhoods' measures)
    at = open_page("UZ0004")
    fill_form(at, id="Carer Checks", name="Carers offered a health check", description="too short",
              numerator="Carers offered a health check", denominator="")
    at.button(key="define_submit").click().run()
    errors = [e.value for e in at.error]
    assert any("String should match pattern" in e for e in errors)  # beside the id
    assert any("at least 10 characters" in e for e in errors)  # beside the description
    assert any("a proportion needs a denominator" in e for e in errors)  # beside the denominator
    assert any(e.startswith("Not saved: 3 fields to fix") for e in errors)
    assert local.app_defined_ids(db) == held


CARER_CHECKS = dict(id="int_carer_checks_pct", name="Carers offered a health check",
                    description="Share of registered carers offered a health check by the neighbourhood team.",
                    numerator="Carers offered a health check in the month", denominator="Registered carers")


def test_a_measure_defined_with_targets_thresholds_and_a_comparison_keeps_them_in_the_catalogue(db):
    at = open_page("UZ0004")
    assert at.selectbox(key="def:(a new measure):comparison").options == ["Wilson score interval", "normal interval",
                                                                          "no interval (ranked only)"]
    fill_form(at, **CARER_CHECKS, targets="2026/27: 75, ICB ambition\n2027/28: 80",
              thresholds="2026/27: 40 to 70", caveats="Carers are counted from the practices' registers.")
    at.selectbox(key="def:(a new measure):comparison").set_value("normal")
    at.button(key="define_submit").click().run()
    assert not at.exception, at.exception
    assert "Saved a new measure" in texts(at.success)
    measure = local.catalogue_with_local(db, "UZ0004").get("int_carer_checks_pct")
    target = measure.target_for(date(2026, 10, 1))
    assert (target.value, target.label) == (75, "ICB ambition")
    assert measure.target_for(date(2027, 4, 1)).value == 80
    threshold = measure.threshold_for(date(2026, 10, 1))
    assert (threshold.lower, threshold.upper) == (40, 70)
    assert measure.comparison == "normal"
    assert measure.caveats == ["Carers are counted from the practices' registers."]
    # The file downloaded (and stored) reads back as the same measure, and the form shows it again as entered.
    assert parse_measure(Path("int_carer_checks_pct.yaml"), local.measure_yaml(measure)) == measure
    at.selectbox(key="define_choice").select("int_carer_checks_pct").run()
    assert at.text_area(key="def:int_carer_checks_pct:targets").value == "2026/27: 75, ICB ambition\n2027/28: 80"
    assert at.text_area(key="def:int_carer_checks_pct:thresholds").value == "2026/27: 40 to 70"
    at.button(key="define_submit").click().run()
    assert "Nothing changed" in texts(at.success)


def test_a_threshold_whose_lower_is_above_its_upper_is_refused_beside_the_thresholds_field(db):
    held = local.app_defined_ids(db)  # the demo's own (its neighbourhoods' measures)
    at = open_page("UZ0004")
    fill_form(at, **CARER_CHECKS, targets="2026/27: 75", thresholds="2026/27: 90 to 70")
    at.button(key="define_submit").click().run()
    errors = [e.value for e in at.error]
    assert "line 1 (2026/27): lower (90.0) is above upper (70.0)" in errors
    assert any(e.startswith("Not saved: 1 field to fix") for e in errors)
    assert local.app_defined_ids(db) == held


def reminder_detail(at):
    """The folded list under the one-line reminder."""
    return next(e for e in at.expander if e.label.startswith("Which values"))


def test_the_reminder_is_one_calm_line_counting_values_periods_measures_and_practices(db, monkeypatch):
    monkeypatch.setenv(data_quality.TODAY_SETTING, "2026-10-20")
    practice = db.query("SELECT child_code FROM memberships WHERE parent_code = 'UZ0003' AND parent_level = 'pcn' "
                        "AND end_date IS NULL ORDER BY child_code LIMIT 1")["child_code"].iloc[0]
    with db.writer() as con:  # September: the PCN's MDT case reviews and one practice's ARRS hours, never recorded
        for table in ("observations", "recorded_values"):
            con.execute(f"DELETE FROM {table} WHERE period_start = ? AND ((measure_id = 'int_mdt_case_reviews' "
                        "AND org_code = 'UZ0003') OR (measure_id = ? AND org_code = ?))", [SEP, HOURS, practice])
    at = open_page("UZ0003")
    lines = [i.value for i in at.info if i.value.startswith("**Still to record**")]
    assert len(lines) == 1 and "\n" not in lines[0]
    submissions = data_quality.local_submissions(db, ("UZ0003",), date(2026, 10, 20))
    missing = submissions[~submissions["recorded"].astype(bool)]
    assert {"int_mdt_case_reviews", HOURS} <= set(missing[missing["period_start"] == SEP]["measure"])
    months = sorted(set(missing["period_start"]))
    practices = missing.loc[missing["org"] != "UZ0003", "org"].nunique()
    counted = (f"{len(missing)} values across {len(months)} periods, {months[0]:%b %Y} to {months[-1]:%b %Y} — "
               f"{missing['measure'].nunique()} measures, {practices} practice{'s' if practices != 1 else ''}")
    assert lines[0] == f"**Still to record**: {counted}"
    # The detail is folded away, with the Data page's lines.
    detail = "\n".join(m.value for m in reminder_detail(at).markdown)
    assert f"- {'MDT case reviews'} (" in detail


def test_an_editor_is_reminded_of_the_ended_periods_still_to_record_as_the_data_page_counts_them(db, monkeypatch):
    monkeypatch.setenv(data_quality.TODAY_SETTING, "2026-10-20")
    with db.writer() as con:  # the PCN's September value of MDT case reviews, never recorded
        for table in ("observations", "recorded_values"):
            con.execute(f"DELETE FROM {table} WHERE measure_id = 'int_mdt_case_reviews' AND org_code = 'UZ0003' "
                        "AND period_start = ?", [SEP])
    at = open_page("UZ0003")
    reminder = "\n".join(m.value for m in reminder_detail(at).markdown)
    gaps = data_quality.gap_table(data_quality.local_submissions(db, ("UZ0003",), date(2026, 10, 20)))
    mdt = gaps[gaps["Measure"] == "MDT case reviews"]["Missing periods"].tolist()
    assert mdt == ["Sep 2026, May 2026"]
    assert "- MDT case reviews (Sep 2026, May 2026)" in reminder.splitlines()
    listed = [line.removeprefix("- ") for line in reminder.splitlines() if line.startswith("- ")]
    assert len(listed) == min(len(gaps), local.REMINDERS_LISTED) + (len(gaps) > local.REMINDERS_LISTED)
    assert listed[1] == (f"{gaps['Measure'].iloc[1]}, {gaps['Organisation'].iloc[1]} ({gaps['Code'].iloc[1]}) "
                         f"({gaps['Missing periods'].iloc[1]})")


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
    assert changes["Change"].iloc[0] == "corrected"  # the latest change: a correction in the grid
    choose_measure(at, "int_mdt_case_reviews")
    at.selectbox(key="grid_period").set_value(SEP).run()
    history = table_with(at, "Earlier from")
    assert history["Change"].tolist() == ["recorded", "corrected"]  # the month's return, then the correction
    assert history["Earlier"].iloc[1] == history["New"].iloc[0]  # the corrected value is kept


def test_the_fair_share_tab_draws_each_practice_against_its_fair_share(db):
    at = choose_measure(open_page("UZ0002"), HOURS)
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    ((title, _),) = apptest.chart_headings(at)
    assert title.endswith("where it went, practice by practice")
    assert [trace["type"] for trace in spec["data"]] == ["bar", "scatter"]
    table = table_with(at, "Fair share")
    assert table["Share of resource"].sum() == pytest.approx(100, abs=0.2)


@pytest.mark.parametrize("setting", ["abc", "0", "nan", "inf"])
def test_an_upload_limit_that_is_not_a_number_above_zero_turns_uploads_off_and_says_why(db, monkeypatch, setting):
    monkeypatch.setenv("PCN_MAX_UPLOAD_MB", setting)
    at = open_page("UZ0001")
    assert not at.file_uploader
    assert any("PCN_MAX_UPLOAD_MB" in e.value and "Uploads are off" in e.value for e in at.error)


# --- one page, one flow -----------------------------------------------------------------------------------------


def test_the_measure_and_period_in_the_url_drive_every_tab(db):
    at = apptest.open_app("pages/local_measures.py", pcn="UZ0002", measure=HOURS, period="2025-06-01")
    assert at.selectbox(key="local_measure").value == HOURS
    assert at.selectbox(key="grid_period").value == date(2025, 6, 1)
    # One measure picker and one period picker for the page: no tab has its own.
    assert not [s for s in at.selectbox if s.key in ("fair_measure",) or (s.key or "").startswith("history_period")]
    held = local.grid_frame(db, HOURS, "UZ0002", date(2025, 6, 1))
    assert at.data_editor[0].value["numerator"].tolist() == held["numerator"].tolist()
    assert "up to Jun 2025" in at.selectbox(key="template_periods").label
    assert any("Jun 2025" in s.label for s in at.selectbox if (s.key or "").startswith("history_org"))
    table = table_with(at, "Share of resource")
    expected = local.fair_share(db, HOURS, "UZ0002", date(2024, 7, 1), date(2025, 6, 1))
    assert table["Months"].tolist() == expected["periods"].tolist()
    # Another measure: the URL follows, and the fair share tab says this one has none.
    at.selectbox(key="local_measure").select("int_mdt_case_reviews").run()
    assert at.query_params["measure"] in ("int_mdt_case_reviews", ["int_mdt_case_reviews"])
    assert not at.get("plotly_chart")
    assert "has no fair share" in texts(at.info)


def test_empty_grid_cells_are_blank_numbers_not_none(db):
    latest = local.recent_periods(local.catalogue_with_local(db).get("int_mdt_case_reviews"), 1)[0]
    at = apptest.open_app("pages/local_measures.py", pcn="UZ0004", measure="int_mdt_case_reviews",
                          period=latest.isoformat())
    grid = at.data_editor[0]
    assert grid.value["numerator"].dtype == "float64" and grid.value["numerator"].isna().all()
    # Streamlit shows "None" in an empty cell unless told otherwise
    assert grid.proto.HasField("placeholder") and grid.proto.placeholder == ""


# --- deleting a value ---------------------------------------------------------------------------------------


def test_clearing_a_cell_deletes_the_value_with_who_and_why_and_history_keeps_it(db):
    at = apptest.open_app("pages/local_measures.py", pcn="UZ0001", measure="int_mdt_case_reviews",
                          period="2026-09-01")
    at.text_input(key="actor").input("PCN manager").run()
    before = at.data_editor[0].value.iloc[0]
    assert pd.notna(before["numerator"])
    edit_grid(at, {0: {"numerator": None}})
    assert "1 deleted" in texts(at.markdown)
    assert at.button(key="save_grid").disabled  # a deletion needs a reason
    at.text_input(key="save_grid_reason").input("entered twice").run()
    at.button(key="save_grid").click().run()
    assert not at.exception, at.exception
    assert "1 deleted" in texts(at.success)
    key = ["int_mdt_case_reviews", "UZ0001", SEP]
    where = "WHERE measure_id = ? AND org_code = ? AND period_start = ?"
    assert db.query(f"SELECT count(*) AS n FROM observations {where}", key)["n"].iloc[0] == 0
    assert db.query(f"SELECT count(*) AS n FROM recorded_values {where}", key)["n"].iloc[0] == 0
    last = db.query(f"SELECT * FROM value_audit {where} ORDER BY audit_id DESC LIMIT 1", key).iloc[0]
    assert (last["action"], last["changed_by"], last["reason"], last["old_numerator"]) == (
        "deleted", "PCN manager", "entered twice", before["numerator"])
    assert pd.isna(last["new_numerator"])
    history = table_with(at, "Earlier from")
    assert history["Change"].tolist() == ["recorded", "corrected", "deleted"]
    assert history["Why"].iloc[-1] == "entered twice" and history["New"].iloc[-1] == "none"
    assert pd.isna(at.data_editor[0].value.iloc[0]["numerator"])


def test_a_practice_deletion_resums_its_pcn_and_recomputes_the_fair_share_ratio(db):
    at = apptest.open_app("pages/local_measures.py", pcn="UZ0004", measure=HOURS, period="2026-08-01")
    at.text_input(key="actor").input("PCN manager").run()
    grid = at.data_editor[0].value
    gone = grid["org_code"].iloc[0]
    edit_grid(at, {0: {"numerator": None, "denominator": None}})
    at.text_input(key="save_grid_reason").input("wrong practice").run()
    at.button(key="save_grid").click().run()
    assert not at.exception, at.exception
    in_pcn = ("(org_code = 'UZ0004' OR org_code IN (SELECT child_code FROM memberships "
              "WHERE parent_code = 'UZ0004'))")
    hours = db.query(f"SELECT org_code, numerator FROM observations WHERE measure_id = ? AND period_start = ? "
                     f"AND {in_pcn}", [HOURS, date(2026, 8, 1)]).set_index("org_code")["numerator"]
    ratio = db.query(f"SELECT org_code, numerator, denominator FROM observations WHERE measure_id = ? "
                     f"AND period_start = ? AND {in_pcn}", [RATIO, date(2026, 8, 1)]).set_index("org_code")
    assert gone not in hours.index and gone not in ratio.index  # no hours, no ratio
    left = grid[grid["org_code"] != gone].dropna(subset=["numerator"])
    assert hours["UZ0004"] == pytest.approx(left["numerator"].sum())  # the PCN is its practices' sum again
    assert ratio.loc["UZ0004", "numerator"] == pytest.approx(left["numerator"].sum())


# --- derived measures ------------------------------------------------------------------------------------------


def test_an_hours_correction_recomputes_each_practices_fair_share_ratio(db):
    period = date(2026, 8, 1)
    at = apptest.open_app("pages/local_measures.py", pcn="UZ0004", measure=HOURS, period=period.isoformat())
    at.text_input(key="actor").input("PCN manager").run()
    grid = at.data_editor[0].value
    edit_grid(at, {0: {"numerator": grid["numerator"].iloc[0] + 500, "denominator": grid["denominator"].iloc[0]}})
    at.button(key="save_grid").click().run()
    assert not at.exception, at.exception
    assert "derived values recomputed" in texts(at.success)
    members = ("org_code IN (SELECT child_code FROM memberships WHERE parent_code = 'UZ0004' "
               "AND start_date <= DATE '2026-08-01' AND (end_date IS NULL OR end_date >= DATE '2026-08-01'))")
    hours = db.query(f"SELECT org_code, numerator FROM observations WHERE measure_id = ? AND period_start = ? "
                     f"AND org_level = 'practice' AND {members}", [HOURS, period]).set_index("org_code")["numerator"]
    weighted = db.query(f"SELECT org_code, weighted_patients FROM list_sizes WHERE extract_date = ? AND {members}",
                        [period]).set_index("org_code")["weighted_patients"].loc[hours.index]
    ratio = db.query(f"SELECT org_code, numerator, value FROM observations WHERE measure_id = ? "
                     f"AND period_start = ? AND org_level = 'practice' AND {members}", [RATIO, period]
                     ).set_index("org_code")
    assert sorted(ratio.index) == sorted(hours.index)
    for org, h in hours.items():
        fair = hours.sum() * weighted[org] / weighted.sum()
        assert ratio.loc[org, "numerator"] == h
        assert ratio.loc[org, "value"] == pytest.approx(h / fair, rel=1e-3)
