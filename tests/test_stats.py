"""measures.stats checked against NHSRplotthedots and PHEindicatormethods reference values (see tests/reference/README.md)."""

from __future__ import annotations

import math
import warnings
from functools import cache
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from scipy.special import pdtr, pdtrc

from measures.stats import (
    SHORT_SEGMENT_MESSAGE,
    benchmark,
    benchmark_frame,
    byars_ci,
    funnel_limits_proportion,
    funnel_limits_rate,
    rate_ci,
    spc,
    spc_icons,
    wilson_ci,
)
from measures.stats.xmr import _part_of_pattern, _run_ends, _trend_ends, _two_in_three

REFERENCE = Path(__file__).resolve().parent / "reference"
# PTD = nhs-r-community/NHSRplotthedots, PHE = ukhsa-collaboration/PHEindicatormethods (GitHub).


@cache
def _scenarios() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "nhsrplotthedots_scenarios.csv", dtype=str, keep_default_na=False
                       ).set_index("scenario")


@cache
def _points() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "nhsrplotthedots_points.csv", dtype={"close_to_limits": object})


def _scenario_data(name: str) -> pd.DataFrame:
    points = _points()[_points()["scenario"] == name]
    return pd.DataFrame({"month": pd.to_datetime(points["date"]).to_numpy(),
                         "value": points["value"].astype(float).to_numpy()})


def _scenario_options(name: str) -> dict:
    row = _scenarios().loc[name]
    return {
        "improvement_direction": row["improvement_direction"],
        "target": float(row["target"]) if row["target"] else None,
        "fix_after_n_points": int(row["fix_after_n_points"]) if row["fix_after_n_points"] else None,
        "rebase": row["rebase"].split(";") if row["rebase"] else None,
        "screen_outliers": row["screen_outliers"] == "TRUE",
    }


def _run(data: pd.DataFrame, **options) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return spc(data, "value", "month", **options)


def _run_scenario(name: str, **overrides) -> pd.DataFrame:
    return _run(_scenario_data(name), **{**_scenario_options(name), **overrides})


def _series(values, start="2021-01-01") -> pd.DataFrame:
    return pd.DataFrame({"month": pd.date_range(start, periods=len(values), freq="D"),
                         "value": np.asarray(values, dtype=float)})


# --- XmR SPC: NHSRplotthedots ------------------------------------------------------------------


def test_limits_match_the_package_snapshot_for_its_own_test_data():
    # PTD tests/testthat/_snaps/ptd_spc_standard.md, "it returns expected values", r1.
    result = _run_scenario("pkg_rnorm20")
    assert result["mean"].iloc[0] == pytest.approx(0.1416238, abs=5e-8)
    assert result["lpl"].iloc[0] == pytest.approx(-3.01138, abs=5e-6)
    assert result["upl"].iloc[0] == pytest.approx(3.294627, abs=5e-7)


def test_screening_drops_a_huge_moving_range_before_the_limits_are_set_as_in_the_snapshot():
    # Same snapshot, r2 (screen_outliers = TRUE) and r3 (FALSE), with y[15] <- 10.
    screened = _run_scenario("pkg_rnorm20_outlier_screened")
    unscreened = _run_scenario("pkg_rnorm20_outlier_unscreened")
    assert screened["mean"].iloc[0] == pytest.approx(0.6694159, abs=5e-8)
    assert screened["lpl"].iloc[0] == pytest.approx(-2.383666, abs=5e-7)
    assert screened["upl"].iloc[0] == pytest.approx(3.722497, abs=5e-7)
    assert unscreened["lpl"].iloc[0] == pytest.approx(-4.596625, abs=5e-7)
    assert unscreened["upl"].iloc[0] == pytest.approx(5.935457, abs=5e-7)


@pytest.mark.parametrize("name", list(_scenarios().index))
def test_each_scenario_matches_the_package_point_by_point(name):
    expected = _points()[_points()["scenario"] == name].reset_index(drop=True)
    result = _run_scenario(name).reset_index(drop=True)

    for column in ("mean", "lpl", "upl"):
        np.testing.assert_allclose(result[column], expected[column].astype(float), rtol=1e-12, atol=1e-12,
                                   equal_nan=True, err_msg=column)
    np.testing.assert_array_equal(result["rebase_group"], expected["rebase_group"])
    np.testing.assert_array_equal(result["short_group_warning"], expected["short_group_warning"])
    np.testing.assert_array_equal(result["relative_to_mean"], expected["relative_to_mean"])
    defined = expected["close_to_limits"].notna()  # the package leaves these NA beside NaN limits
    np.testing.assert_array_equal(result.loc[defined, "outside_limits"],
                                  expected.loc[defined, "outside_limits"].astype(bool))
    np.testing.assert_array_equal(result.loc[defined, "close_to_limits"],
                                  expected.loc[defined, "close_to_limits"] == "TRUE")
    assert list(result["point_type"]) == list(expected["point_type"])


@pytest.mark.parametrize("name", list(_scenarios().index))
def test_each_scenario_gets_the_package_icons(name):
    row = _scenarios().loc[name]
    assert spc_icons(_run_scenario(name)) == (row["variation_icon"], row["assurance_icon"] or None)


@pytest.mark.parametrize(("name", "icons"), [
    # PTD tests/testthat/test-geom_ptd_icon.R, "ptd_get_icons transforms the data correctly" (s2, s5-s9).
    ("pkg_icons_common", ("common_cause", "inconsistent")),
    ("pkg_icons_high_increase", ("improvement_high", "consistent_pass")),
    ("pkg_icons_high_decrease", ("concern_high", "consistent_fail")),
    ("pkg_icons_low_increase", ("concern_low", "consistent_fail")),
    ("pkg_icons_low_decrease", ("improvement_low", "consistent_pass")),
    ("pkg_icons_low_neutral", ("neutral_low", None)),
])
def test_icons_match_the_expectations_written_in_the_package_icon_test(name, icons):
    assert spc_icons(_run_scenario(name)) == icons


def test_two_close_points_on_opposite_sides_of_the_mean_are_not_special_cause():
    # PTD tests/testthat/test-ptd_spc_standard.R, "it only reports special cause for 2of3 points
    # close to limits when they are on the same side of the mean".
    values = [1.0, -1.0] * 8
    values[14], values[15] = 5.5, -5.5
    result = _run(_series(values, start="2020-01-02"))
    assert list(result["point_type"].tail(2)) == ["common_cause", "common_cause"]


def test_run_helper_flags_the_seventh_point_on_one_side_as_in_the_package():
    # PTD tests/testthat/test-ptd_calculate_point_type.R, ptd_seven_point_one_side_mean().
    assert list(_run_ends(np.array([]), 7)) == []
    assert list(_run_ends(np.ones(6), 7)) == [0] * 6
    assert list(_run_ends(np.array([1] * 6 + [-1]), 7)) == [0] * 7
    assert list(_run_ends(np.array([1] * 8 + [-1]), 7)) == [0, 0, 0, 0, 0, 0, 1, 1, 0]
    assert list(_run_ends(np.array([-1] * 8 + [1]), 7)) == [0, 0, 0, 0, 0, 0, 1, 1, 0]


def test_pattern_membership_reaches_back_over_the_six_points_before_as_in_the_package():
    # Same file, ptd_part_of_seven_trend().
    assert list(_part_of_pattern(np.zeros(6), 7)) == [False] * 6
    assert list(_part_of_pattern(np.array([0] * 6 + [1, 0]), 7)) == [True] * 7 + [False]
    assert list(_part_of_pattern(np.array([0] * 7 + [1, 0]), 7)) == [False] + [True] * 7 + [False]
    assert list(_part_of_pattern(np.array([0] * 6 + [-1, 0]), 7)) == [True] * 7 + [False]
    assert list(_part_of_pattern(np.array([0] * 7 + [-1, 0]), 7)) == [False] + [True] * 7 + [False]


def test_trend_helper_needs_seven_strictly_moving_points_and_a_tie_breaks_it_as_in_the_package():
    # Same file, ptd_seven_point_trend().
    assert list(_trend_ends(np.arange(1, 7, dtype=float), 7)) == [0] * 6
    assert list(_trend_ends(np.array([1, 2, 3, 3, 4, 5, 6], dtype=float), 7)) == [0] * 7
    assert list(_trend_ends(np.arange(1, 8, dtype=float), 7)) == [0] * 6 + [1]
    assert list(_trend_ends(np.array([2, 1, 2, 3, 4, 5, 6, 7, 3], dtype=float), 7)) == [0] * 7 + [1, 0]
    assert list(_trend_ends(np.arange(7, 0, -1, dtype=float), 7)) == [0] * 6 + [-1]
    assert list(_trend_ends(np.array([2, 7, 6, 5, 4, 3, 2, 1, 3], dtype=float), 7)) == [0] * 7 + [-1, 0]


@pytest.mark.parametrize(("close", "side", "expected"), [
    # Same file, ptd_part_of_two_in_three(ptd_two_in_three(v, rtm), v): the close points only.
    ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
    ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
    ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
    ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 0, 1, 1, 0, 0, 0]),
    ([1, 0, 0, 1], [1] * 4, [0, 0, 0, 0]),
    ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
    # "... when points are on opposite sides of the mean"
    ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
    ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
    ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
    ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
])
def test_two_in_three_helper_matches_the_package(close, side, expected):
    flagged = _two_in_three(np.array(close, dtype=bool), np.array(side, dtype=float))
    assert list(flagged) == [bool(e) for e in expected]


def test_a_point_outside_the_limits_outranks_a_trend_and_a_trend_outranks_a_run():
    # Reference scenario: 12, 13, 14 are below the lower limit and start a 9-point rise; 15-18 are
    # still below the mean (a run) but the package labels them by the rising trend.
    result = _run_scenario("trend_rising_below_mean_beats_run").reset_index(drop=True)
    rows = result.iloc[10:17]
    assert list(rows["value"]) == [12, 13, 14, 15, 16, 17, 18]
    assert list(rows["special_cause_rule"]) == ["outside_limits"] * 3 + ["trend"] * 4
    assert list(rows["point_type"]) == ["special_cause_concern"] * 3 + ["special_cause_improvement"] * 4
    assert rows["run"].all() and (rows["relative_to_mean"] == -1).all()


def test_a_trend_crossing_the_mean_takes_the_trend_direction_throughout():
    # Reference scenario: 6 -> 12 rising across a mean of 9.72. Colouring by the side of the mean, as the package
    # once did, would call 6-9 concern and 10-12 improvement; the whole trend is a rise, so all are improvement.
    result = _run_scenario("trend_rising_crossing_mean")
    trend = result[result["special_cause_rule"] == "trend"]
    assert list(trend["value"]) == [6, 7, 8, 9, 10, 11, 12]
    assert set(trend["point_type"]) == {"special_cause_improvement"}


def test_a_falling_trend_is_improvement_when_lower_is_better():
    result = _run_scenario("trend_falling_decrease")
    assert set(result.loc[result["trend"], "point_type"]) == {"special_cause_improvement"}


def test_a_tie_breaks_a_trend():
    assert not _run_scenario("trend_broken_by_tie")["trend"].any()


def test_a_point_exactly_on_the_mean_breaks_a_run():
    broken = _run_scenario("run_broken_by_point_on_mean")
    assert broken["mean"].iloc[0] == 10
    assert broken.loc[broken["value"] == 10, "relative_to_mean"].item() == 0
    assert not broken["run"].any()
    assert _run_scenario("run_thirteen_above")["run"].sum() == 13


def test_two_in_three_needs_the_third_point_on_the_same_side_and_ignores_points_outside_the_limits():
    assert _run_scenario("two_in_three_same_side")["two_in_three"].sum() == 2
    assert not _run_scenario("two_in_three_third_point_below_mean")["two_in_three"].any()
    assert not _run_scenario("two_in_three_points_too_far_apart")["two_in_three"].any()
    with_outside = _run_scenario("two_in_three_with_outside_point")
    assert with_outside["close_to_limits"].sum() == 1 and not with_outside["two_in_three"].any()


def test_six_point_rules_are_available_for_organisations_that_use_them():
    # The package has no such option; expectations by hand. Six rising points 6..11 (rows 7-12),
    # nothing else near a limit, and no six points on one side of the mean.
    rising = _run_scenario("trend_six_points_only")
    assert not rising["trend"].any()
    six = _run_scenario("trend_six_points_only", trend_length=6).reset_index(drop=True)
    assert list(six.index[six["trend"]]) == list(range(7, 13))
    assert set(six.loc[7:12, "point_type"]) == {"special_cause_improvement"}
    assert set(six.drop(index=range(7, 13))["point_type"]) == {"common_cause"}

    below = _run_scenario("run_six_below_only", run_length=6).reset_index(drop=True)
    assert list(below.index[below["point_type"] == "special_cause_concern"]) == list(range(12, 18))
    assert set(below["special_cause_rule"].dropna()) == {"run"}


def test_rebase_starts_new_limits_at_each_date_and_ignores_dates_not_in_the_data_with_a_warning():
    data = _scenario_data("rebase_level_shift")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = spc(data, "value", "month", rebase=["2021-01-13", "2030-01-01"])
    assert "rebase dates not found in 'month' are ignored: 2030-01-01" in [str(w.message) for w in caught]
    assert list(result.groupby("rebase_group")["mean"].first()) == [10, 20]
    assert (result["point_type"] == "common_cause").all()


def test_a_fixed_baseline_uses_only_the_first_points_of_each_segment():
    result = _run_scenario("fix_after_12")
    first_twelve = _run(_scenario_data("fix_after_12").head(12))
    assert result["upl"].iloc[-1] == pytest.approx(first_twelve["upl"].iloc[0])
    assert (result["point_type"].iloc[12:] == "special_cause_improvement").all()


def test_a_flat_line_has_no_limits_when_screening_as_in_the_package():
    screened = _run_scenario("constant_screened")
    assert screened["lpl"].isna().all() and screened["upl"].isna().all()
    assert (screened["point_type"] == "common_cause").all()
    unscreened = _run_scenario("constant_unscreened")
    assert (unscreened["lpl"] == 5).all() and (unscreened["upl"] == 5).all()


def test_near_limit_lines_sit_two_thirds_of_the_way_to_the_process_limits():
    result = _run_scenario("pkg_rnorm20").iloc[0]
    assert result["near_upl"] - result["mean"] == pytest.approx((result["upl"] - result["mean"]) * 2 / 3)
    assert result["mean"] - result["near_lpl"] == pytest.approx((result["mean"] - result["lpl"]) * 2 / 3)


def test_two_points_are_enough_for_trial_limits_with_the_short_series_warning():
    with pytest.warns(UserWarning, match=SHORT_SEGMENT_MESSAGE[:30]):
        result = spc(_series([5, 7]), "value", "month")
    # mean 6, mean moving range 2: 6 ± 2.66 × 2
    assert result["lpl"].iloc[0] == pytest.approx(0.68) and result["upl"].iloc[0] == pytest.approx(11.32)
    assert result["short_group_warning"].all()


@pytest.mark.parametrize(("points", "warned"), [(11, True), (12, True), (13, False)])
def test_short_segments_are_flagged_below_the_package_default_threshold_of_13(points, warned):
    data = _series(np.tile([9.0, 11.0, 10.0], 5)[:points])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = spc(data, "value", "month")
    assert result["short_group_warning"].all() == warned
    assert any(SHORT_SEGMENT_MESSAGE == str(w.message) for w in caught) == warned


def test_missing_values_are_left_out_of_the_calculation_but_kept_in_the_output():
    complete = _scenario_data("pkg_rnorm20")
    gaps = pd.DataFrame({"month": [pd.Timestamp("2020-01-10 12:00"), pd.Timestamp("2020-02-01")],
                         "value": [np.nan, None]})
    result = _run(pd.concat([complete, gaps], ignore_index=True))
    expected = _run_scenario("pkg_rnorm20")
    kept = result[result["value"].notna()]
    np.testing.assert_allclose(kept["upl"], expected["upl"])
    assert list(kept["point_type"]) == list(expected["point_type"])
    missing = result[result["value"].isna()]
    assert missing["point_type"].isna().all()
    assert (missing["mean"] == expected["mean"].iloc[0]).all()


def test_output_is_sorted_by_date_and_keeps_the_original_index():
    data = _scenario_data("trend_rising_crossing_mean")
    shuffled = data.sample(frac=1, random_state=3)
    result = _run(shuffled)
    assert result["month"].is_monotonic_increasing
    assert sorted(result.index) == sorted(shuffled.index)
    assert list(result["point_type"]) == list(_run(data)["point_type"])


@pytest.mark.filterwarnings("ignore:Could not infer format")
@pytest.mark.parametrize(("call", "message"), [
    (lambda d: spc(d, "value", "month", improvement_direction="up"),
     "improvement_direction must be one of 'increase', 'decrease' or 'neutral'"),
    (lambda d: spc(d, "rate", "month"), "value_col: 'rate' must be a valid column name"),
    (lambda d: spc(d, "value", "period"), "date_col: 'period' must be a valid column name"),
    (lambda d: spc(d.head(1), "value", "month"), "at least 2 non-missing values in 'value'"),
    (lambda d: spc(d.assign(value=[1.0] + [np.nan] * 19), "value", "month"), "got 1"),
    (lambda d: spc(d, "value", "month", fix_after_n_points=6), "greater than or equal to 12"),
    (lambda d: spc(pd.concat([d, d.head(1)]), "value", "month"), "duplicate rows found in 'month'"),
    (lambda d: spc(d.assign(value="high"), "value", "month"), "value_col 'value' must be a numeric column"),
    (lambda d: spc(d.assign(month="not a date"), "value", "month"), "date_col 'month' must hold dates"),
    (lambda d: spc(d, "value", "month", target="90%"), "target must be a single number"),
    (lambda d: spc(d, "value", "month", screen_outliers="yes"), "screen_outliers must be either True or False"),
    (lambda d: spc(d, "value", "month", run_length=1), "run_length must be a whole number of at least 2"),
])
def test_invalid_input_gets_a_message_that_says_what_to_fix(call, message):
    with pytest.raises(ValueError, match=message):
        call(_scenario_data("pkg_rnorm20"))


@pytest.mark.parametrize(("direction", "expected"), [
    # PTD tests/testthat/test-ptd_calculate_assurance_type.R: limits (1, 3), (5, 7), (1, 5), target 4.
    ("increase", ["consistent_fail", "consistent_pass", "inconsistent"]),
    ("decrease", ["consistent_pass", "consistent_fail", "inconsistent"]),
    ("neutral", [None, None, None]),
])
def test_assurance_compares_the_target_with_the_latest_limits_as_in_the_package(direction, expected):
    for (lpl, upl), assurance in zip([(1, 3), (5, 7), (1, 5)], expected):
        frame = pd.DataFrame({"point_type": ["common_cause"], "lpl": [lpl], "upl": [upl]})
        assert spc_icons(frame, improvement_direction=direction, target=4)[1] == assurance


def test_there_is_no_assurance_icon_without_a_target():
    assert spc_icons(_run_scenario("pkg_icons_high_increase", target=None))[1] is None


def test_icons_need_the_improvement_direction_when_the_result_lost_its_attributes():
    frame = pd.DataFrame({"point_type": ["common_cause"], "lpl": [1.0], "upl": [2.0]})
    with pytest.raises(ValueError, match="pass improvement_direction"):
        spc_icons(frame)


# --- Fingertips: PHEindicatormethods ----------------------------------------------------------


def test_wilson_limits_match_the_package_including_zero_full_and_tiny_denominators():
    # PHE R/utils.R wilson_lower / wilson_upper, run in R (tests/reference/phe_wilson.csv).
    ref = pd.read_csv(REFERENCE / "phe_wilson.csv")
    for confidence, rows in ref.groupby("confidence"):
        lower, upper = wilson_ci(rows["numerator"].to_numpy(), rows["denominator"].to_numpy(), confidence)
        np.testing.assert_allclose(lower, rows["lower"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(upper, rows["upper"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("successes", "trials", "published"), [
    # Newcombe RG. Two-sided confidence intervals for the single proportion. Stat Med 1998;17:857-72,
    # Table II, method 3 (score interval without continuity correction).
    (81, 263, (0.2553, 0.3662)),
    (15, 148, (0.0624, 0.1605)),
    (0, 20, (0.0, 0.1611)),
    (1, 29, (0.0061, 0.1718)),
])
def test_wilson_limits_match_newcombes_published_examples(successes, trials, published):
    lower, upper = wilson_ci(successes, trials)
    assert (round(lower, 4), round(upper, 4)) == published


@pytest.mark.parametrize("confidence", [0.95, 0.998, 99.8])
@pytest.mark.parametrize(("successes", "trials"), [(0, 1), (1, 2), (3, 7), (65, 100), (4999, 5000), (250, 250)])
def test_wilson_limits_match_the_textbook_centre_and_half_width_form(successes, trials, confidence):
    level = confidence / 100 if confidence > 1 else confidence
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    p = successes / trials
    centre = (p + z**2 / (2 * trials)) / (1 + z**2 / trials)
    half_width = z * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / (1 + z**2 / trials)
    lower, upper = wilson_ci(successes, trials, confidence)
    assert lower == pytest.approx(max(centre - half_width, 0), abs=1e-12)
    assert upper == pytest.approx(min(centre + half_width, 1), abs=1e-12)


def test_zero_of_n_has_lower_limit_zero_and_n_of_n_has_upper_limit_one():
    lower, upper = wilson_ci(np.array([0, 12]), np.array([12, 12]), 0.998)
    assert lower[0] == 0 and upper[1] == 1
    assert 0 < upper[0] < 1 and 0 < lower[1] < 1


def test_wilson_keeps_a_series_index_and_leaves_missing_rows_missing():
    numerators = pd.Series([5, None, 0], index=["A", "B", "C"], dtype="Float64")
    lower, upper = wilson_ci(numerators, pd.Series([10, 10, 10], index=["A", "B", "C"]))
    assert list(lower.index) == ["A", "B", "C"]
    assert math.isnan(lower["B"]) and math.isnan(upper["B"])


@pytest.mark.parametrize(("numerator", "denominator", "confidence", "message"), [
    # Messages of PHE R/utils.R and R/Proportions.R.
    (-1, 10, 0.95, "numerators must be greater than or equal to zero"),
    (11, 10, 0.95, "numerators must be less than or equal to denominator"),
    (0, 0, 0.95, "denominators must be greater than zero"),
    (1, 10, 0.7, "confidence level must be between 90 and 100 or between 0.9 and 1"),
    (1, 10, 14, "confidence level must be between 90 and 100 or between 0.9 and 1"),
])
def test_wilson_rejects_impossible_input_with_the_package_messages(numerator, denominator, confidence, message):
    with pytest.raises(ValueError, match=message):
        wilson_ci(numerator, denominator, confidence)


def test_byars_limits_match_the_package():
    # PHE R/utils.R byars_lower / byars_upper, run in R (tests/reference/phe_byars_rate.csv).
    ref = pd.read_csv(REFERENCE / "phe_byars_rate.csv")
    for confidence, rows in ref.groupby("confidence"):
        lower, upper = byars_ci(rows["count"].to_numpy(), confidence)
        np.testing.assert_allclose(lower, rows["byars_lower"], rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(upper, rows["byars_upper"], rtol=1e-12)


@pytest.mark.parametrize("count", [1, 10, 65, 1045])
def test_byars_limits_follow_the_breslow_and_day_formula(count):
    z = NormalDist().inv_cdf(0.975)
    lower, upper = byars_ci(count)
    assert lower == pytest.approx(count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3)
    assert upper == pytest.approx((count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3)


def test_byars_lower_limit_is_missing_where_the_approximation_fails_as_in_the_package():
    assert math.isnan(byars_ci(0)[0])
    assert math.isnan(byars_ci(1, 0.998)[0])


def test_rate_limits_match_the_package_with_exact_limits_below_ten_events():
    # PHE R/Rates.R phe_rate expressions, run in R (tests/reference/phe_byars_rate.csv).
    ref = pd.read_csv(REFERENCE / "phe_byars_rate.csv")
    for confidence, rows in ref.groupby("confidence"):
        lower, upper = rate_ci(rows["count"].to_numpy(), 10_000, 100_000, confidence)
        np.testing.assert_allclose(lower, rows["rate_lower_per_100000_of_10000"], rtol=1e-12)
        np.testing.assert_allclose(upper, rows["rate_upper_per_100000_of_10000"], rtol=1e-12)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@pytest.mark.parametrize("count", [1, 4, 9])
def test_small_count_rate_limits_are_the_exact_poisson_limits(count, confidence):
    tail = (1 - confidence) / 2
    lower, upper = rate_ci(count, 1, 1, confidence)
    assert pdtrc(count - 1, lower) == pytest.approx(tail, rel=1e-8)  # P(X >= count | lower)
    assert pdtr(count, upper) == pytest.approx(tail, rel=1e-8)  # P(X <= count | upper)


def test_zero_events_give_a_rate_interval_from_zero_to_about_three_point_seven():
    lower, upper = rate_ci(0, 1000, 1000)
    assert lower == 0 and upper == pytest.approx(-math.log(0.025), rel=1e-12)  # 3.689 events


def test_rate_limits_switch_to_byars_at_ten_events():
    assert rate_ci(10, 1, 1) == pytest.approx(byars_ci(10))
    assert rate_ci(9, 1, 1)[0] != pytest.approx(byars_ci(9)[0])


def test_proportion_funnel_matches_the_package_test_table():
    # PHE tests/testthat/testdata_funnel_prop_outputs.csv (percentages, 6 decimal places).
    ref = pd.read_csv(REFERENCE / "phe_funnel_prop_outputs.csv")
    limits = funnel_limits_proportion(80.642448, ref["Population"], multiplier=100)
    for ours, theirs in [("lower_95", "Lower2s0025limit"), ("upper_95", "Upper2s0025limit"),
                         ("lower_99_8", "Lower3s0001limit"), ("upper_99_8", "Upper3s0001limit"),
                         ("baseline", "Baseline")]:
        np.testing.assert_allclose(limits[ours], ref[theirs], atol=2e-6, err_msg=ours)


def test_proportion_funnel_bands_match_the_package_significance_for_real_areas():
    # PHE tests/testthat/testdata_funnel_prop_inputs.csv with its expected significance column.
    ref = pd.read_csv(REFERENCE / "phe_funnel_prop_inputs_subset.csv")
    limits = funnel_limits_proportion(0.80642448, ref["denominator"])
    value = ref["numerator"] / ref["denominator"]
    band = np.select(
        [value < limits["lower_99_8"], value < limits["lower_95"],
         value > limits["upper_99_8"], value > limits["upper_95"]],
        ["Low (0.001)", "Low (0.025)", "High (0.001)", "High (0.025)"], "Not significant")
    assert list(band) == list(ref["significance"])


def test_proportion_funnel_on_the_proportion_scale_matches_the_package_sigma_adjustment():
    ref = pd.read_csv(REFERENCE / "phe_sigma_adjustment.csv")
    for average, rows in ref.groupby("average"):
        limits = funnel_limits_proportion(average, rows["population"])
        for column in ("lower_95", "lower_99_8"):
            np.testing.assert_allclose(limits[column], rows[column], rtol=1e-12, atol=1e-15)
        for column in ("upper_95", "upper_99_8"):
            np.testing.assert_allclose(limits[column], np.minimum(rows[column], 1), rtol=1e-12)


@pytest.mark.parametrize("population", [40, 900, 25_000])
def test_a_proportion_funnel_limit_is_where_the_wilson_interval_reaches_the_average(population):
    # By hand: at the lower 95% limit L, the Wilson upper limit of L·n events out of n equals the average.
    average, z = 0.3, NormalDist().inv_cdf(0.975)
    lower = funnel_limits_proportion(average, [population], levels=[0.95])["lower_95"].item()
    x = lower * population
    wilson_upper = (2 * x + z**2 + z * math.sqrt(z**2 + 4 * x * (1 - x / population))) / 2 / (population + z**2)
    assert wilson_upper == pytest.approx(average, rel=1e-10)


def test_rate_funnel_matches_the_package_test_table():
    # PHE tests/testthat/testdata_funnel_rate_outputs.csv, calculate_funnel_limits(statistic = "rate",
    # rate_type = "dsr", multiplier = 1e5, years_of_data = 3): population columns are per year.
    ref = pd.read_csv(REFERENCE / "phe_funnel_rate_outputs_subset.csv")
    rate = ref["baseline"].iloc[0]
    for side, level, tag in [("lower", 0.95, "2s"), ("upper", 0.95, "2s"), ("lower", 0.998, "3s"),
                             ("upper", 0.998, "3s")]:
        populations = ref[f"{side}_{tag}_population_1_year"] * 3
        limits = funnel_limits_rate(rate, populations, levels=[level])
        column = f"{side}_{'95' if level == 0.95 else '99_8'}"
        # The package finds each point by bisection to 1e-7, hence the looser tolerance.
        np.testing.assert_allclose(limits[column], ref[f"{side}_{tag}_limit"], rtol=1e-5, err_msg=column)


def test_rate_funnel_lower_limit_is_zero_where_even_no_events_would_not_be_unusual():
    limits = funnel_limits_rate(100.0, [100, 1000])  # 0.1 and 1 expected events per 100,000
    assert list(limits["lower_95"]) == [0.0, 0.0]
    assert (limits["upper_99_8"] > limits["upper_95"]).all()


@pytest.mark.parametrize(("lower", "upper", "direction", "verdict"), [
    (11, 15, "increase", "better"),
    (5, 9, "increase", "worse"),
    (8, 12, "increase", "similar"),
    (10, 12, "increase", "similar"),  # touching the comparator is not a difference
    (11, 15, "decrease", "worse"),
    (5, 9, "decrease", "better"),
    (11, 15, "neutral", "higher"),
    (5, 9, "neutral", "lower"),
    (8, 12, "neutral", "similar"),
    (np.nan, 12, "increase", "not_compared"),
    (8, None, "decrease", "not_compared"),
])
def test_benchmark_judges_the_interval_against_the_comparator_by_polarity(lower, upper, direction, verdict):
    assert benchmark(10.5, lower, upper, 10, direction) == verdict


def test_benchmark_works_down_a_data_frame_against_a_comparator_column():
    frame = pd.DataFrame({"value": [0.3, 0.1, 0.2, 0.2], "lower": [0.25, 0.05, 0.1, np.nan],
                          "upper": [0.35, 0.15, 0.3, np.nan], "england": [0.2, 0.2, 0.2, 0.2]},
                         index=["P1", "P2", "P3", "P4"])
    verdicts = benchmark_frame(frame, "england", "decrease")
    assert verdicts.to_dict() == {"P1": "worse", "P2": "better", "P3": "similar", "P4": "not_compared"}


def test_benchmark_rejects_an_unknown_polarity():
    with pytest.raises(ValueError, match="improvement_direction must be one of"):
        benchmark(1, 0, 2, 1, "higher_is_better")
