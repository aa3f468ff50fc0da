"""Compare areas compares each measure by the method its catalogue file declares, and never crashes on odd values."""

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from measures import charts, compare, local, queries, stats, suppression
from measures.catalogue import CATALOGUE_DIR, DEFAULT_COMPARISON, CatalogueError, default_catalogue, parse_measure
from measures.store import Store
from tests import apptest

CATALOGUE = default_catalogue()
PERIOD = date(2026, 9, 1)


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def subtitles(at) -> list[str]:
    """Each chart's subtitle, shown above it."""
    return [subtitle for _, subtitle in apptest.chart_headings(at)]


def texts(at, kind: str) -> str:
    return "\n".join(element.value for element in getattr(at, kind))


def open_compare(measure_id: str, **params):
    return apptest.open_app("pages/compare_areas.py", pcn="UZ0001", measure=measure_id, timeout=60, **params)


def pcns(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["org", "numerator", "denominator"])
    frame["name"] = frame["org"] + " PCN"
    frame["value"] = np.where(frame["denominator"] > 0, frame["numerator"] / frame["denominator"], np.nan)
    return frame


# --- the catalogue field ----------------------------------------------------------------------------------------


def catalogue_file(**changes) -> str:
    data = yaml.safe_load((CATALOGUE_DIR / "dna_rate.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    return yaml.safe_dump({k: v for k, v in data.items() if v is not None}, sort_keys=False)


@pytest.mark.parametrize("kind, method, why", [
    ("proportion", "byar", "Byar's method is for a count or rate of events"),
    ("proportion", "dobson", "Dobson's method is for a directly standardised rate"),
    ("rate", "wilson", "Wilson's interval is for a proportion"),
])
def test_a_method_that_does_not_fit_the_type_is_refused_naming_the_file_and_field(kind, method, why):
    with pytest.raises(CatalogueError) as refused:
        parse_measure(Path("my_measure.yaml"), catalogue_file(type=kind, comparison=method))
    assert str(refused.value).startswith("my_measure.yaml: field 'comparison':")
    assert why in str(refused.value) and f"'{method}' does not fit a {kind}" in str(refused.value)


def test_a_raw_count_cannot_be_given_a_normal_interval_and_an_unknown_method_is_named():
    count = catalogue_file(type="count", denominator=None, multiplier=1, unit="reviews", comparison="normal")
    with pytest.raises(CatalogueError, match=r"my_count.yaml: field 'comparison': 'normal' does not fit a count"):
        parse_measure(Path("my_count.yaml"), count)
    with pytest.raises(CatalogueError, match=r"my_measure.yaml: field 'comparison': Input should be 'wilson'"):
        parse_measure(Path("my_measure.yaml"), catalogue_file(comparison="poisson"))


def test_every_shipped_file_states_its_comparison_and_non_events_are_not_given_intervals():
    for path in sorted(CATALOGUE_DIR.glob("*.yaml")):
        assert "comparison" in yaml.safe_load(path.read_text(encoding="utf-8")), f"{path.name} has no comparison"
    declared = {m.id: m.comparison for m in CATALOGUE}
    for measure in CATALOGUE:
        if "FTE" in measure.unit or "hours" in measure.unit or measure.type in ("currency", "ratio", "mean"):
            assert declared[measure.id] == "none", measure.id
    assert declared["ps_arrs_budget_used_pct"] == "none"  # pounds over pounds
    assert (declared["acc_10"], declared["acc_10b"]) == ("dobson", "byar")
    assert {declared[i] for i in ("workforce_headcount", "registered_patients")} == {"none"}


def test_a_file_without_the_field_and_a_measure_defined_in_the_app_get_the_default_of_their_type():
    old_file = parse_measure(Path("old_measure.yaml"), catalogue_file(comparison=None))
    assert old_file.comparison == DEFAULT_COMPARISON["proportion"] == "wilson"
    form = local.measure_form_defaults(CATALOGUE.get("int_social_prescribing_per_1000"))
    defined = local.measure_from_form({**form, "id": "int_new_rate", "scope": "QZZ"})
    assert defined.comparison == "byar"
    stored = local.measure_yaml(defined)
    assert parse_measure(Path("int_new_rate.yaml"), stored) == defined  # what the app stores loads back the same


# --- each method, as Compare areas applies it ------------------------------------------------------------------


def test_a_proportion_gets_wilson_limits_and_a_rate_gets_exact_poisson_below_ten_events():
    dna = CATALOGUE.get("dna_rate")
    frame = compare.with_intervals(pcns([("A", 81, 263)]).assign(value=lambda f: f["value"] * 100), dna)
    low, high = stats.wilson_ci(81, 263, 0.95)
    assert (frame["lower_95"].iloc[0], frame["upper_95"].iloc[0]) == pytest.approx((low * 100, high * 100))
    rate = CATALOGUE.get("int_social_prescribing_per_1000")
    small = compare.with_intervals(pcns([("A", 3, 2000), ("B", 0, 2000)]), rate)
    exact_low, exact_high = stats.poisson_ci(3, 0.95, method="exact")
    assert small["lower_95"].iloc[0] == pytest.approx(exact_low / 2000 * 1000)
    assert small["upper_95"].iloc[0] == pytest.approx(exact_high / 2000 * 1000)
    assert small["lower_95"].iloc[1] == 0  # no events still has an interval: 0 to 3.69 events


def test_a_normal_comparison_uses_the_spread_of_the_pcns_values():
    days = CATALOGUE.get("ps_days_to_practice_payment").model_copy(update={"comparison": "normal"})
    frame = pcns([("A", 200, 10), ("B", 240, 10), ("C", 300, 10), ("D", 220, 10)])
    result = compare.with_intervals(frame, days)
    spread = np.std(frame["value"], ddof=1)
    assert result["upper_95"].iloc[0] - result["value"].iloc[0] == pytest.approx(1.959964 * spread, rel=1e-5)


def test_dobson_intervals_from_age_bands_match_the_dsr_function():
    bands = pd.DataFrame({"org": ["A"] * 3 + ["B"] * 3, "count": [10, 20, 40, 1, 5, 9],
                          "population": [5000, 4000, 2000, 3000, 2500, 900],
                          "standard_population": [40_000, 35_000, 25_000] * 2})
    result = compare.dobson_intervals(bands, CATALOGUE.get("acc_10")).set_index("org")
    expected = stats.dsr_ci([10, 20, 40], [5000, 4000, 2000], [40_000, 35_000, 25_000], multiplier=1000)
    assert result.loc["A", "lower_95"] == pytest.approx(expected["lower_95"])
    assert result.loc["A", "upper_99_8"] == pytest.approx(expected["upper_99_8"])


def test_compare_ranks_a_proportion_with_wilson_and_names_the_method(app_env):
    at = open_compare("dna_rate")
    (ranked,) = figures(at)
    (ranked_subtitle,) = subtitles(at)
    assert "Wilson score" in ranked_subtitle
    assert all("error_x" in t for t in ranked["data"] if t["type"] == "bar")
    (funnel_subtitle,) = subtitles(apptest.open_tab(at, "Funnel plot"))
    assert "limits adjusted for overdispersion (random effects, FunnelPlotR method)" in funnel_subtitle
    assert "Wilson score" in texts(apptest.open_tab(at, "Table"), "caption")


def test_compare_ranks_a_rate_of_events_with_byars_method(app_env):
    at = open_compare("int_social_prescribing_per_1000")
    assert "Byar's method, exact below 10 events" in subtitles(at)[0]


def test_a_count_of_events_is_compared_per_thousand_patients_not_raw(app_env):
    at = open_compare("int_mdt_case_reviews")
    assert "compared per 1,000 registered patients" in texts(at, "info")
    assert "Byar" in subtitles(at)[0]
    (funnel,) = figures(apptest.open_tab(at, "Funnel plot"))
    assert "Registered patients" in funnel["layout"]["xaxis"]["title"]["text"]
    table = apptest.open_tab(at, "Table").dataframe[0].value
    label = "MDT case reviews per 1,000 patients"
    shown = table.dropna(subset=[label])
    assert len(shown) and np.allclose(shown[label], shown["Numerator"] / shown["Denominator"] * 1000, atol=0.01)
    assert (shown["Denominator"] == shown["List size"]).all()


def test_a_raw_count_of_things_that_are_not_events_is_not_ranked(app_env):
    at = open_compare("workforce_headcount")
    assert not figures(at)
    assert "Not ranked" in texts(at, "info") and "not compared across PCNs of different size" in texts(at, "info")
    table = at.dataframe[0].value
    assert table["PCN code"].tolist() == sorted(table["PCN code"])  # in PCN order, not a ranking


def test_fte_is_ranked_without_significance_colours_and_says_why(app_env):
    at = open_compare("workforce_fte_per_10k")
    (ranked,) = figures(at)
    bars = [t for t in ranked["data"] if t["type"] == "bar"]
    assert bars and not any("error_x" in t for t in bars)
    assert not {t.get("name") for t in ranked["data"]} & {"Better than comparator", "Worse than comparator"}
    assert "FTE is not a count of events: no interval applies" in texts(at, "info")
    assert "funnel plot needs a proportion or a rate" in texts(apptest.open_tab(at, "Funnel plot"), "info")


def test_a_standardised_rate_is_not_given_a_crude_interval_without_age_bands(app_env):
    at = open_compare("acc_10")
    (ranked,) = figures(at)
    assert not any("error_x" in t for t in ranked["data"] if t["type"] == "bar")
    assert "Dobson's method needs each PCN's events and population by age band" in texts(at, "info")
    (ranked_subtitle,) = subtitles(at)
    assert "Ranked without intervals" in ranked_subtitle and "confidence intervals" not in ranked_subtitle


# --- odd values render -----------------------------------------------------------------------------------------


@pytest.fixture
def odd_db(demo_db, tmp_path, monkeypatch):
    """The demo with a PCN whose denominator is 0, another that overspent its ARRS budget, and an impossible share."""
    path = tmp_path / "odd.duckdb"
    shutil.copy(demo_db, path)
    with Store(path).writer() as con:
        con.execute("UPDATE observations SET denominator = 0, value = NULL WHERE measure_id = 'dna_rate' "
                    "AND org_code = 'UZ0002' AND org_level = 'pcn' AND period_start = ?", [PERIOD])
        con.execute("UPDATE observations SET numerator = denominator * 1.12, value = 112 "
                    "WHERE measure_id = 'ps_arrs_budget_used_pct' AND org_code = 'UZ0003' AND org_level = 'pcn' "
                    "AND period_start = ?", [PERIOD])
        con.execute("UPDATE observations SET numerator = denominator + 40, value = 100 * (denominator + 40) / "
                    "denominator WHERE measure_id = 'face_to_face_pct' AND org_code = 'UZ0004' AND org_level = 'pcn' "
                    "AND period_start = ?", [PERIOD])
    monkeypatch.setenv("PCN_DB", str(path))
    return path


def test_a_denominator_of_zero_is_left_out_with_a_note_not_a_crash(odd_db):
    at = open_compare("dna_rate")
    assert "has a denominator of 0, so no value: left out of the intervals" in texts(at, "warning")
    (ranked,) = figures(at)
    assert any("UZ0002" in note and "left out" in note for a in ranked["layout"]["annotations"]
               for note in [a["text"].replace("<br>", " ")])
    table = apptest.open_tab(at, "Table").dataframe[0].value.set_index("PCN code")
    assert "denominator of 0" in table.loc["UZ0002", compare.NOTE_COLUMN]
    assert table.loc["UZ0002", "Compared with comparator"] == "not_compared"


def test_an_overspent_budget_is_shown_above_100_percent_without_an_interval(odd_db):
    at = open_compare("ps_arrs_budget_used_pct")
    assert "above 100% (112.0%): shown as recorded" in texts(at, "warning")
    (ranked,) = figures(at)
    assert max(ranked["layout"]["xaxis"]["range"]) > 112  # the axis reaches the overspend
    table = apptest.open_tab(at, "Table").dataframe[0].value.set_index("PCN code")
    assert table.loc["UZ0003", "ARRS budget used"] == pytest.approx(112.0)


def test_a_share_above_100_percent_gets_no_wilson_interval_and_stays_off_the_funnel(odd_db):
    at = open_compare("face_to_face_pct")
    assert "above 100%" in texts(at, "warning") and "UZ0004" in texts(at, "warning")
    table = apptest.open_tab(at, "Table").dataframe[0].value.set_index("PCN code")
    assert pd.isna(table.loc["UZ0004", "95% CI lower"])
    (funnel,) = figures(apptest.open_tab(at, "Funnel plot"))
    plotted = {code for t in funnel["data"] if t.get("mode") == "markers" and "customdata" in t
               for code in (row[1] for row in t["customdata"])}
    assert "UZ0004" not in plotted and len(plotted) == 11


# --- funnels that allow for overdispersion ---------------------------------------------------------------------


def flagged_share(store: Store, measure_id: str, periods: int) -> tuple[float, float]:
    """Share of the demo ICB's PCNs beyond the funnel's 95% and 99.8% limits over the latest periods."""
    comparison = compare.comparison_for(CATALOGUE.get(measure_id))
    plotted = beyond_95 = beyond_998 = 0
    for period in queries.measure_periods(store, measure_id)[:periods]:
        frame = compare.prepared(suppression.suppress(queries.pcn_values(store, measure_id, period),
                                                      suppression.rules(CATALOGUE), measure_id=measure_id), comparison)
        outcome = compare.funnel_outcome(frame, compare.funnel(frame, comparison.measure))
        plotted += (outcome != "").sum()
        beyond_95 += outcome.isin(["high_95", "low_95", "high_998", "low_998"]).sum()
        beyond_998 += outcome.isin(["high_998", "low_998"]).sum()
    return beyond_95 / plotted, beyond_998 / plotted


def test_the_demo_funnel_flags_about_what_chance_predicts_once_adjusted(demo_db, monkeypatch):
    store = Store(demo_db)
    measures = [m.id for m in CATALOGUE if compare.comparison_for(m).method in ("wilson", "byar")
                and queries.measure_periods(store, m.id)]
    shares = pd.DataFrame([flagged_share(store, measure_id, periods=4) for measure_id in measures],
                          index=measures, columns=["beyond_95", "beyond_998"])
    # Chance alone puts 5% beyond 95% and 0.2% beyond 99.8%; the demo's planted steps and trends add a little.
    assert shares["beyond_95"].mean() <= 0.15 and shares["beyond_998"].mean() <= 0.04, shares
    assert shares.loc["dna_rate", "beyond_998"] <= 0.05
    monkeypatch.setattr(compare, "FUNNEL_ADJUSTMENT", "none")
    raw = pd.DataFrame([flagged_share(store, measure_id, periods=4) for measure_id in measures],
                       index=measures, columns=["beyond_95", "beyond_998"])
    assert raw["beyond_95"].mean() >= 0.5, raw  # unadjusted, most PCNs fall outside the limits


def test_the_funnel_curve_passes_through_each_pcns_own_limits():
    measure = CATALOGUE.get("acc_08")
    frame = pcns([("A", 700, 1000), ("B", 3300, 4000), ("C", 1500, 2000), ("D", 9300, 10000), ("E", 400, 600)])
    frame["value"] *= 100
    limits = compare.funnel(frame, measure)
    direct = stats.funnel_overdispersed(frame, "numerator", "denominator", data_type="PR", multiplier=100)
    at = limits.set_index("denominator").loc[frame["denominator"].astype(float)]
    assert np.allclose(at["upper_95"], direct["upper_95"]) and np.allclose(at["lower_998"], direct["lower_99_8"])
    assert limits.attrs["funnel"]["adjusted"] == direct.attrs["funnel"]["adjusted"] is True


def test_funnel_points_are_coloured_by_both_limits():
    measure = CATALOGUE.get("acc_08")
    frame = pcns([("A", 8000, 10000), ("B", 8050, 10000), ("C", 7950, 10000), ("D", 8010, 10000),
                  ("E", 7990, 10000), ("F", 8230, 10000), ("G", 8700, 10000)])
    frame["value"] *= 100
    limits = compare.funnel(frame, measure)
    outcome = compare.funnel_outcome(frame, limits)
    assert {"within", "high_998"} <= set(outcome)
    fig = charts.funnel_plot(frame, limits, measure, highlight="A", comparator_label="ICB", comparator_value=80.0,
                             period=PERIOD, area_label="Test")
    names = {t.name for t in fig.data}
    assert {"Better: beyond 99.8%", "Within 95% limits", "95% limits", "99.8% limits"} <= names
    assert fig.layout.yaxis.range[1] <= 100 and fig.layout.yaxis.range[0] >= 0


def test_an_area_view_works_out_its_funnel_and_table_only_when_asked_and_as_they_were(monkeypatch):
    measure = CATALOGUE.get("acc_08")
    everyone = pcns([("A", 700, 1000), ("B", 3300, 4000), ("C", 1500, 2000), ("D", 9300, 10000), ("E", 400, 600)])
    everyone["value"] *= 100
    everyone = everyone.assign(icb="Q1", icb_name="ICB one", sub_icb="S1", sub_icb_name="Place one", list_size=5000,
                               imd_score=20.0)
    asked = []
    funnel = compare.funnel
    monkeypatch.setattr(compare, "funnel", lambda *args, **kw: asked.append("funnel") or funnel(*args, **kw))
    view = compare.area_view(everyone, measure, {"pcn": "A", "icb": "Q1", "icb_name": "ICB one"}, area="england",
                             peers="area", comparator_choice="ICB")
    assert asked == [] and view.comparator_label == "ICB one average"
    comparison = compare.comparison_for(measure)
    frame = compare.benchmarked(compare.prepared(everyone, comparison), measure, view.comparator,
                                method=comparison.method)
    assert view.limits.equals(funnel(frame, measure, method=comparison.method)) and asked == ["funnel"]
    assert view.limits is view.limits and asked == ["funnel"]  # worked out once
    assert view.no_funnel is None
    assert view.table.equals(compare.comparison_table(frame, measure))


# --- readable tables -------------------------------------------------------------------------------------------


def test_the_table_shows_the_measures_decimals_and_unit_and_downloads_round_sensibly(app_env):
    at = open_compare("acc_08", tab="Table")  # a link can open a tab
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["Booked within 2 weeks"]["type_config"]["format"] == "%.1f%%"
    table = at.dataframe[0].value
    decimals = table["Booked within 2 weeks"].dropna().map(lambda v: len(f"{v}".split(".")[-1]))
    assert decimals.max() <= 2  # one more than shown, not 92.9802
    rate = open_compare("int_social_prescribing_per_1000", tab="Table")
    label = json.loads(rate.dataframe[0].proto.columns)["Social prescribing per 1,000"]["label"]
    assert label == "Social prescribing per 1,000 (referrals per 1,000 patients)"
