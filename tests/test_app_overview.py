"""The Overview page, driven headless through Streamlit's AppTest."""

from streamlit.testing.v1 import AppTest

from tests import apptest


def run_app(pcn=None) -> AppTest:
    return apptest.open_app("pages/pcn_overview.py", pcn=pcn, timeout=30)  # the Board view is the default page


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


def test_a_period_covering_a_financial_year_reads_as_that_year_and_a_month_as_the_month():
    from datetime import date

    import pandas as pd

    from measures.overview import period_label

    assert period_label(date(2023, 4, 1), date(2024, 3, 31)) == "2023/24"
    assert period_label(pd.Timestamp("2025-04-01"), pd.Timestamp("2026-03-31")) == "2025/26"
    assert period_label(date(2025, 10, 1), date(2025, 10, 31)) == "Oct 2025"
    assert period_label(date(2025, 10, 1)) == "Oct 2025"
    # Twelve months that are not April to March are no financial year: the value reads by its first month.
    assert period_label(date(2023, 1, 1), date(2023, 12, 31)) == "Jan 2023"
    assert period_label(date(2023, 4, 1), date(2023, 9, 30)) == "Apr 2023"  # a year to date is not the year


def test_an_annual_measures_card_names_its_financial_year(app_env):
    at = run_app("UZ0003")
    cards = [c.value for c in at.caption if "IIF thresholds" in c.value and "ICB average" in c.value]
    annual = [c for c in cards if c.startswith("2023/24 · ")]  # acc_08: the IIF's value for April 2023 to March 2024
    assert annual, cards
    assert not any(c.startswith("Apr 2023") for c in at.caption.values)
