"""The role matrix in the app, driven headless through AppTest with `at.user` standing in for the identity token."""

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from measures import access, data_quality, local
from measures.store import Store
from tests import apptest
from tests.conftest import ROOT
from tests.apptest import texts

EXAMPLE = ROOT / "data" / "access.example.yaml"
LOCAL_CARD = "MDT case reviews"  # int_mdt_case_reviews: a local integration measure every demo PCN records


@pytest.fixture
def db(access_db) -> Store:
    """A private copy of the demo (sign-ins and refusals are logged), with the example access file."""
    return access_db


def open_app(email=None, pcn="UZ0001", page="pages/pcn_overview.py", signed_in=True, claims=None, **params) -> AppTest:
    return apptest.open_app(page, pcn=pcn, email=email, signed_in=signed_in, claims=claims, **params)


def card(at, label):
    return next(m for m in at.metric if m.label == label)


def test_without_auth_the_app_is_open_and_says_so(db):
    at = open_app()
    assert "Open demo mode" in texts(at.sidebar.info)
    assert card(at, LOCAL_CARD).value not in ("No data", None)
    assert not at.error


def test_with_auth_and_nobody_signed_in_only_the_sign_in_page_shows(db):
    at = open_app(signed_in=False, page=None)  # the sign-in gate stops before any page
    assert [t.value for t in at.title] == ["PCN dashboard"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.sidebar.selectbox


def test_a_viewer_sees_their_own_pcns_local_values(db):
    at = open_app("viewer@example.nhs.uk", pcn="UZ0001")
    assert "Signed in as **Viewer**" in texts(at.sidebar.markdown)
    assert "Viewer of UZ0001" in texts(at.sidebar.markdown)
    assert card(at, LOCAL_CARD).value != "No data"
    assert not at.error
    log = access.access_log(db)
    assert log[["actor", "action"]].values.tolist() == [["viewer@example.nhs.uk", "sign_in"]]


def test_a_viewer_is_refused_another_pcns_unpublished_local_values_by_url(db):
    at = open_app("viewer@example.nhs.uk", pcn="UZ0002")
    assert at.selectbox(key="pcn_picker").value == "UZ0002"
    assert "Not shown to you" in texts(at.error) and "UZ0002" in texts(at.error)
    labels = [m.label for m in at.metric]
    assert "Booked within 2 weeks" in labels  # national data stays readable
    assert LOCAL_CARD not in labels
    assert "Board packs of" in texts(at.sidebar.markdown)
    refused = access.access_log(db).query("action == 'refused'")
    assert refused["actor"].tolist() == ["viewer@example.nhs.uk"] and "pcn=UZ0002" in refused["detail"].iloc[0]


def test_once_the_pcn_publishes_a_period_others_see_that_period(db):
    editor = access.principal_for("editor@example.nhs.uk", access.parse_access(EXAMPLE))
    with pytest.raises(access.AccessDenied):
        local.publish_period(db, editor, "UZ0002", date(2026, 9, 1))
    uz0002_editor = access.principal_from_claims({"email": "m@example.nhs.uk", "groups": ["uz0002-managers"]},
                                                 access.parse_access(EXAMPLE))
    local.publish_period(db, uz0002_editor, "UZ0002", date(2026, 9, 1))
    at = open_app("viewer@example.nhs.uk", pcn="UZ0002")
    shown = card(at, LOCAL_CARD)
    assert shown.value != "No data"
    assert "Sep 2026" in texts(at.caption)
    assert "Not shown to you" in texts(at.error)  # earlier periods are still the PCN's own


def test_the_local_measures_page_refuses_a_non_member_and_reads_only_for_a_viewer(db):
    at = open_app("viewer@example.nhs.uk", pcn="UZ0002", page="pages/local_measures.py")
    assert "Not shown to you" in texts(at.error)
    assert not at.tabs and not at.data_editor
    at = open_app("viewer@example.nhs.uk", pcn="UZ0001", page="pages/local_measures.py")
    assert "only its editors record values" in texts(at.info)
    assert not [b for b in at.button if b.key == "publish"]
    assert not [t for t in at.text_input if t.key == "actor"]  # the identity is the actor


def test_an_editor_records_a_value_logged_under_their_identity_and_publishes(db):
    at = open_app("editor@example.nhs.uk", pcn="UZ0001", page="pages/local_measures.py")
    at.selectbox(key="local_measure").select("ps_arrs_hours_per_1000_weighted").run()
    grid = at.data_editor[0]
    at.session_state[grid.key] = {"edited_rows": {"0": {"numerator": 4321, "denominator": 9000}},
                                  "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="preview_grid").click().run()
    at.button(key="save_grid").click().run()
    assert not at.exception, at.exception
    assert "by editor@example.nhs.uk" in texts(at.success)
    audit = db.query("SELECT changed_by FROM value_audit ORDER BY audit_id DESC LIMIT 1")
    assert audit["changed_by"].tolist() == ["editor@example.nhs.uk"]
    period = at.selectbox(key="publish_period").value
    at.button(key="publish").click().run()
    assert not at.exception, at.exception
    assert ("UZ0001", period) in access.directory(db).published


def test_the_reminder_of_values_still_to_record_is_shown_to_editors_not_viewers(db, monkeypatch):
    monkeypatch.setenv(data_quality.TODAY_SETTING, "2026-10-20")
    editor = open_app("editor@example.nhs.uk", pcn="UZ0001", page="pages/local_measures.py")
    assert "**Still to record**" in texts(editor.info)
    viewer = open_app("viewer@example.nhs.uk", pcn="UZ0001", page="pages/local_measures.py")
    assert not viewer.exception and "Still to record" not in texts(viewer.info)


def test_an_editor_may_not_define_an_icb_wide_measure(db):
    at = open_app("editor@example.nhs.uk", pcn="UZ0001", page="pages/local_measures.py")
    prefix = "def:(a new measure):"
    at.selectbox(key=f"{prefix}scope").select("QZZ")
    at.button(key="define_submit").click().run()
    assert "may not define measures set by QZZ" in texts(at.error)


def test_an_icb_analyst_reads_every_pcn_of_the_icb_but_changes_nothing(db):
    at = open_app("analyst@example.nhs.uk", pcn="UZ0007")
    assert card(at, LOCAL_CARD).value != "No data" and not at.error
    at = open_app("analyst@example.nhs.uk", pcn="UZ0007", page="pages/local_measures.py")
    assert "only its editors record values" in texts(at.info) and at.tabs


def test_a_group_from_the_identity_token_grants_its_role(db):
    at = open_app("someone@example.nhs.uk", pcn="UZ0002", claims={"groups": ["uz0002-board"]})
    assert card(at, LOCAL_CARD).value != "No data" and not at.error


def test_measure_detail_refuses_another_pcns_local_series_and_hides_the_note_form(db):
    at = open_app("viewer@example.nhs.uk", pcn="UZ0002", page="pages/measure_detail.py",
                  measure="int_mdt_case_reviews")
    assert "Not shown to you" in texts(at.error)
    assert not at.get("plotly_chart")
    at = open_app("viewer@example.nhs.uk", pcn="UZ0001", page="pages/measure_detail.py", measure="acc_08")
    assert at.get("plotly_chart") and not [b for b in at.button if b.label == "Add note"]


def test_compare_areas_shows_only_readable_pcns_for_a_local_measure(db):
    at = open_app("viewer@example.nhs.uk", pcn="UZ0001", page="pages/compare_areas.py",
                  measure="int_proactive_care_plan_pct", tab="Table")
    assert "set locally" in texts(at.info)
    table = at.dataframe[0].value
    assert len(table) == 1
    at = open_app("analyst@example.nhs.uk", pcn="UZ0001", page="pages/compare_areas.py",
                  measure="int_proactive_care_plan_pct", tab="Table")
    everyone = open_app("admin@example.nhs.uk", pcn="UZ0001", page="pages/compare_areas.py",
                        measure="int_proactive_care_plan_pct", tab="Table")
    assert len(at.dataframe[0].value) == len(everyone.dataframe[0].value) >= 10


def test_an_administrator_sees_everything(db):
    at = open_app("admin@example.nhs.uk", pcn="UZ0011")
    assert card(at, LOCAL_CARD).value != "No data" and not at.error
    assert "Administrator" in texts(at.sidebar.markdown)


def test_only_an_administrator_is_offered_the_access_log(db):
    open_app("viewer@example.nhs.uk", pcn="UZ0002")  # a sign-in and a refusal to find in the log
    admin = open_app("admin@example.nhs.uk", pcn="UZ0011")
    assert "**Access log**: the latest 3 sign-ins" in texts(admin.sidebar.markdown)  # two sign-ins, one refusal
    assert access_log_downloads(admin) == ["CSV", "XLSX"]
    for email in ("viewer@example.nhs.uk", "analyst@example.nhs.uk", "editor@example.nhs.uk"):
        other = open_app(email, pcn="UZ0001")
        assert "Access log" not in texts(other.sidebar.markdown) and not access_log_downloads(other)


def access_log_downloads(at) -> list[str]:
    return [b.proto.label for b in at.sidebar.get("download_button") if b.proto.id.endswith(("access_log_csv",
                                                                                              "access_log_xlsx"))]


def test_a_signed_in_user_with_no_role_reads_national_data_only(db):
    at = open_app("stranger@example.com", pcn="UZ0001")
    assert "no role" in texts(at.sidebar.markdown)
    assert "Booked within 2 weeks" in [m.label for m in at.metric] and LOCAL_CARD not in [m.label for m in at.metric]


def test_a_broken_access_file_lets_nobody_in(db, tmp_path, monkeypatch):
    broken = tmp_path / "access.yaml"
    broken.write_text("users:\n  viewer@example.nhs.uk:\n    - role: viewer\n")
    monkeypatch.setenv("PCN_ACCESS", str(broken))
    at = open_app("viewer@example.nhs.uk", page=None)  # stopped before any page
    assert "access file cannot be used" in texts(at.error) and "needs `pcns`" in texts(at.error)
    assert not at.metric
