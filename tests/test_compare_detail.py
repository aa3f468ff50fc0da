"""Comparison and SPC-reading logic behind the pages, on hand-made frames."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from measures import compare, detail
from measures.catalogue import default_catalogue

CATALOGUE = default_catalogue()


def pcns(rows):
    return pd.DataFrame(rows, columns=["org", "numerator", "denominator", "value"])


def test_pooled_value_is_sum_over_sum_not_mean_of_rates():
    measure = CATALOGUE.get("dna_rate")
    frame = pcns([("A", 10, 100, 10.0), ("B", 100, 10000, 1.0)])
    assert compare.pooled_value(frame, measure) == pytest.approx(110 / 10100 * 100)


def test_a_small_pcn_is_similar_where_its_interval_crosses_the_comparator():
    measure = CATALOGUE.get("dna_rate")  # lower is better
    frame = pcns([("small", 2, 20, 10.0), ("big_bad", 800, 10000, 8.0), ("big_good", 200, 10000, 2.0)])
    result = compare.benchmarked(frame, measure, comparator=5.0).set_index("org")["benchmark"]
    assert result.to_dict() == {"small": "similar", "big_bad": "worse", "big_good": "better"}


def test_wilson_interval_in_percent_matches_the_published_example():
    measure = CATALOGUE.get("acc_08")
    frame = compare.with_intervals(pcns([("A", 81, 263, 81 / 263 * 100)]), measure)
    # Newcombe (1998): 81/263 has a 95% Wilson interval of 0.2553 to 0.3662.
    assert frame["lower_95"].iloc[0] == pytest.approx(25.53, abs=0.01)
    assert frame["upper_95"].iloc[0] == pytest.approx(36.62, abs=0.01)


def test_funnel_limits_narrow_as_the_denominator_grows():
    measure = CATALOGUE.get("acc_08")
    limits = compare.funnel(pcns([("A", 50, 100, 50.0), ("B", 5000, 10000, 50.0)]), measure, comparator=50.0)
    small, large = limits.iloc[0], limits.iloc[-1]
    assert small["upper_998"] - small["lower_998"] > large["upper_998"] - large["lower_998"]
    assert (limits["lower_998"] <= limits["lower_95"]).all()


def test_peer_group_keeps_the_closest_in_list_size():
    frame = pd.DataFrame({"org": list("ABCDE"), "list_size": [10_000, 30_000, 31_000, 90_000, 29_500]})
    assert compare.peer_group(frame, "B", by="list_size", size=3)["org"].tolist() == ["B", "C", "E"]


def test_goal_lines_cover_only_the_financial_years_that_have_thresholds():
    lines = detail.goal_lines(CATALOGUE.get("acc_08"), date(2023, 1, 1), date(2025, 6, 1))
    assert set(lines["label"]) == {"IIF thresholds"}
    assert sorted(lines["value"]) == [85.0, 90.0]
    assert lines["start"].min() == pd.Timestamp(2023, 4, 1)
    assert lines["end"].max() == pd.Timestamp(2024, 3, 31)


def test_reading_a_series_with_a_late_step_up_signals_improvement_and_says_so():
    measure = CATALOGUE.get("acc_08_monthly")
    values = [80, 81, 80.5, 79.5, 80, 81, 80, 80.5, 79.8, 80.2, 80.7, 80.1, 80.3, 79.9, 86, 87]
    series = pd.DataFrame({"version": 1, "period_start": pd.date_range("2022-04-01", periods=len(values), freq="MS"),
                           "value": values})
    reading = detail.read(series, measure)
    assert reading.variation == "improvement_high"
    text = detail.narrative(reading, measure, "Test PCN")
    assert text.startswith("Booked within 2 weeks (monthly) for Test PCN was 87.0% in July 2023")
    assert "outside the process limits" in text


def test_a_single_value_is_read_as_a_point_with_its_interval_and_no_icons():
    series = pd.DataFrame({"version": [1], "period_start": [pd.Timestamp("2023-04-01")],
                           "period_end": [pd.Timestamp("2024-03-31")], "numerator": [500.0],
                           "denominator": [1000.0], "value": [50.0]})
    reading = detail.read(series, CATALOGUE.get("acc_08"))
    assert (reading.mode, reading.variation, reading.assurance) == ("points", None, None)
    assert reading.result["lower_95"].iloc[0] < 50 < reading.result["upper_95"].iloc[0]
    assert detail.read(series.iloc[:0], CATALOGUE.get("acc_08")) is None


def test_an_annual_chart_names_each_value_by_its_financial_year_on_the_axis_and_in_the_footnote():
    from measures import charts

    starts = pd.to_datetime(["2022-04-01", "2023-04-01"])
    series = pd.DataFrame({"version": 1, "period_start": starts,
                           "period_end": starts + pd.DateOffset(years=1) - pd.Timedelta(days=1),
                           "numerator": [850.0, 870.0], "denominator": 1000.0, "value": [85.0, 87.0]})
    measure = CATALOGUE.get("acc_08")
    reading = detail.read(series, measure)
    fig = charts.spc_chart(reading.result, measure, "Test PCN", reading=reading)
    assert list(fig.layout.xaxis.ticktext) == ["2022/23", "2023/24"]  # not "2022 2022 2023 2023" by calendar year
    assert [pd.Timestamp(t) for t in fig.layout.xaxis.tickvals] == list(starts)
    (footnote,) = [a.text for a in fig.layout.annotations if a.text.startswith("Source:")]
    assert "Data to 2023/24" in footnote and "Apr 2023" not in footnote


def test_ranked_chart_names_each_pcn_up_to_sixty_and_becomes_a_caterpillar_beyond():
    from measures import charts

    measure = CATALOGUE.get("dna_rate")

    def frame(n):
        rows = pcns([(f"U{i:05d}", 5 + i % 7, 100 + i, (5 + i % 7) / (100 + i) * 100) for i in range(n)])
        rows["name"] = "Same Name PCN"  # names repeat across England; codes do not
        return compare.benchmarked(rows, measure, comparator=5.0)

    few = charts.ranked_bar(frame(12), measure, highlight="U00003", comparator_label="ICB", comparator_value=5.0,
                            period=date(2026, 9, 1), area_label="Test")
    assert few.layout.yaxis.showticklabels is not False and len(few.layout.yaxis.tickvals) == 12
    assert sum(len(t.y) for t in few.data if t.type == "bar") == 12
    many = charts.ranked_bar(frame(1300), measure, highlight=None, comparator_label="England",
                             comparator_value=5.0, period=date(2026, 9, 1), area_label="England")
    def plot_pixels(fig):  # the figure grows with wrapped title lines; the plot area is what the caterpillar sets
        return fig.layout.height - fig.layout.margin.t - fig.layout.margin.b

    assert many.layout.yaxis.showticklabels is False and plot_pixels(many) == 760 - 95 - charts.FOOTER_PIXELS
    assert plot_pixels(few) < plot_pixels(many)
    assert sum(len(t.y) for t in many.data if t.type == "bar") == 1300


def test_the_numbers_behind_the_chart_give_each_periods_parts_value_limits_and_signal():
    measure = CATALOGUE.get("acc_08_monthly")
    values = [80, 81, 80.5, 79.5, 80, 81, 80, 80.5, 79.8, 80.2, 80.7, 80.1, 80.3, 79.9, 86, 87]
    series = pd.DataFrame({"version": 1, "period_start": pd.date_range("2022-04-01", periods=len(values), freq="MS"),
                           "numerator": [v * 10 for v in values], "denominator": 1000.0, "value": values})
    table = detail.data_table(series, detail.read(series, measure), measure)
    assert len(table) == len(values)
    last = table.iloc[-1]
    assert (last["Period"], last["Numerator"], last["Denominator"], last[measure.label]) == ("Jul 2023", 870.0, 1000.0, 87.0)
    assert last["Lower process limit"] < last["Mean"] < last["Upper process limit"] < 87
    assert last["Point"] == "Special cause: improvement"
    assert table["Point"].isin(detail.POINT_TEXT.values()).all(), "every point type is put in words"


def test_the_chosen_pcn_is_outlined_in_the_ranking_and_ringed_and_named_on_the_funnel():
    from measures import charts

    measure = CATALOGUE.get("dna_rate")
    rows = pcns([(f"U{i:05d}", 5 + i % 7, 100 + i * 10, (5 + i % 7) / (100 + i * 10) * 100) for i in range(12)])
    rows["name"] = [f"Practice group {i} PCN" for i in range(12)]
    frame = compare.benchmarked(rows, measure, comparator=5.0)
    options = dict(comparator_label="ICB", comparator_value=5.0, period=date(2026, 9, 1), area_label="Test")
    plain = charts.ranked_bar(frame, measure, highlight=None, **options)
    chosen = charts.ranked_bar(frame, measure, highlight="U00003", **options)

    def outlines(fig):
        return {y: width for t in fig.data if t.type == "bar"
                for y, width in zip(t.y, list(t.marker.line.width) if np.ndim(t.marker.line.width)
                                    else [t.marker.line.width] * len(t.y))}

    assert {y for y, width in outlines(chosen).items() if width == 3} == {"U00003"}
    assert set(outlines(plain).values()) == {0.5}
    assert charts.highlighted(plain, "U00003").to_json() == chosen.to_json()  # one area figure serves each PCN
    assert set(outlines(plain).values()) == {0.5}  # the area's figure is left as it was

    limits = compare.funnel(frame, measure)
    funnel = charts.funnel_plot(frame, limits, measure, highlight="U00007", **options)
    ringed = [t for t in funnel.data if t.mode == "markers+text"]
    name = frame.loc[frame["org"] == "U00007", "name"].iloc[0]
    assert len(ringed) == 1 and ringed[0].text == (name,) and ringed[0].marker.symbol == "diamond"
    assert ringed[0].x[0] == frame.loc[frame["org"] == "U00007", "denominator"].iloc[0]
    assert not [t for t in charts.funnel_plot(frame, limits, measure, highlight="NOT_A_PCN", **options).data
                if t.mode == "markers+text"]


def test_the_area_picker_lists_each_icb_then_each_place_with_how_many_pcns_it_has(monkeypatch):
    from measures import queries

    hierarchy = pd.DataFrame({
        "pcn": ["P1", "P2", "P3", "P4", "P5"],
        "sub_icb": ["S2", "S1", "S1", None, "S3"],
        "sub_icb_name": ["Place two", "Place one", "Place one", None, "Place three"],
        "icb": ["QB", "QA", "QA", "QA", None],  # a place with no ICB on record is not offered
        "icb_name": ["ICB B", "ICB A", "ICB A", "ICB A", None],
    })
    monkeypatch.setattr(queries, "_hierarchy", lambda store: hierarchy)
    areas = queries.areas(None)
    assert list(areas.itertuples(index=False, name=None)) == [
        ("icb", "QA", "ICB A", 3), ("icb", "QB", "ICB B", 1),
        ("sub_icb", "S1", "Place one", 2), ("sub_icb", "S2", "Place two", 1)]
    assert queries.area_choices(None) == {"england": "All England", "icb:QA": "ICB A (QA)", "icb:QB": "ICB B (QB)",
                                          "sub_icb:S1": "Place one (S1)", "sub_icb:S2": "Place two (S2)"}
