"""The Overview page, driven headless through Streamlit's AppTest."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")


def run_app(pcn=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    if pcn:
        at.query_params["pcn"] = pcn
    at.run()
    return at.switch_page("pages/pcn_overview.py").run()  # the Board view is the default page


def test_overview_shows_three_families_side_by_side(app_env):
    at = run_app()
    assert not at.exception
    headings = [h.value for h in at.subheader]
    assert headings == ["National DES", "Integration (set locally)", "Support for practices"]
    assert len(at.metric) >= 28


def test_every_page_says_the_data_is_synthetic(app_env):
    at = run_app()
    assert any("Synthetic demo data" in w.value for w in at.warning)


def test_pcn_from_the_url_is_shown_and_kept_in_the_url(app_env):
    at = run_app("UZ0003")
    assert at.selectbox(key="pcn_picker").value == "UZ0003"
    assert "UZ0003" in at.caption[0].value
    assert at.query_params["pcn"] == ["UZ0003"] or at.query_params["pcn"] == "UZ0003"


def test_choosing_another_pcn_updates_the_url(app_env):
    at = run_app("UZ0001")
    at.selectbox(key="pcn_picker").set_value("UZ0005").run()
    assert not at.exception
    assert "UZ0005" in str(at.query_params["pcn"])
    assert "UZ0005" in at.caption[0].value


def test_unknown_pcn_in_url_says_so_and_falls_back(app_env):
    at = run_app("U99999")
    assert any("No PCN with code" in e.value for e in at.sidebar.error)
    assert not at.exception


def test_practice_level_cards_show_the_range_across_member_practices(app_env):
    at = run_app("UZ0003")
    captions = [c.value for c in at.caption]
    fair_share = next(c for c in captions if "practices:" in c and "ICB average 1.00" in c)
    low, high = fair_share.split("practices: ")[1].split(" · ")[0].split(" to ")
    assert float(low) < 1.0 < float(high)


def test_no_card_is_coloured_by_the_change_since_the_previous_period(app_env):
    at = run_app("UZ0001")
    with_change = [m for m in at.metric if m.proto.delta]
    assert len(with_change) >= 20
    # Streamlit draws "normal" and "inverse" deltas red or green; "off" keeps them grey whatever the direction.
    assert {m.proto.color for m in with_change} == {type(with_change[0].proto).MetricColor.Value("GRAY")}
