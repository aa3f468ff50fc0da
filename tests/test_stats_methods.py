"""measures.stats: Dobson DSRs, small-count Poisson limits, FunnelPlotR overdispersion, SPC gaps, limit clipping.

Where the expected values come from (repositories on GitHub; see also tests/reference/README.md):

- poisson_ci: tests/reference/phe_byars_rate.csv, PHEindicatormethods output (R/utils.R byars_*,
  R/Rates.R phe_rate), plus exact-tail checks with scipy.
- dsr_ci: ukhsa-collaboration/PHEindicatormethods R/DSR.R (calculate_dsr / dsr_inner) defines the
  method. The published numbers are the package's DSR vignette example with no deaths in three
  age bands (tests/reference/phe_dsr_vignette_inputs.csv and _outputs.csv, from
  vignettes/DSR-vignette.Rmd and the rendered vignettes/DSR-vignette.html): DSR 8283.016 per
  100,000, 95% limits 6570.819 and 10289.65. Its test-suite expectations live in
  tests/testthat/testdata_DSR_ISR_SMR.xlsx, which is not readable here, so independent checks
  cover the rest: one age band, or a standard proportional to the population, must give the
  crude rate with Byar's interval (Dobson's method reduces to the Poisson interval of the
  unweighted sum), and a two-band example worked by hand.
- overdispersion / funnel_overdispersed: nhs-r-community/FunnelPlotR README.md and
  vignettes/funnel_plots.Rmd (medpar example): Poisson GLM coefficients and dispersion 6.240519,
  54 providers of which 25 are outside the unadjusted 99.8% limits and 9 outside the SHMI
  overdispersion-adjusted 99.8% limits. The algorithm follows R/od_adjustment.R,
  R/calculate_limits.R and R/funnel_plot.R of cran/FunnelPlotR. The medpar data is
  tests/reference/funnelplotr_medpar.csv (vincentarelbundock/Rdatasets csv/COUNT/medpar.csv).
  Proportions have no published FunnelPlotR numbers: they are checked against a calculation
  written out step by step here.
- spc(gaps="break"): nhs-r-community/NHSRplotthedots R/ptd_spc_standard.R
  (mr = c(NA, abs(diff(fix_y))), amr = mean(mr, na.rm = TRUE)); the package has no test with a
  gap, so the expected limits are worked by hand.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammainc, pdtr, pdtrc

from measures.stats import (
    byars_ci,
    clip_limits,
    dsr_ci,
    dsr_table,
    fill_missing_periods,
    funnel_overdispersed,
    overdispersion,
    poisson_ci,
    spc,
)

REFERENCE = Path(__file__).resolve().parent / "reference"


# --- poisson_ci -----------------------------------------------------------------------------


def test_auto_poisson_limits_match_phe_rate_exact_below_ten_and_byars_from_ten():
    ref = pd.read_csv(REFERENCE / "phe_byars_rate.csv")
    for confidence, rows in ref.groupby("confidence"):
        lower, upper = poisson_ci(rows["count"].to_numpy(), confidence)
        # The reference rates are per 100,000 of a population of 10,000: count limits x 10.
        np.testing.assert_allclose(lower * 10, rows["rate_lower_per_100000_of_10000"], rtol=1e-12)
        np.testing.assert_allclose(upper * 10, rows["rate_upper_per_100000_of_10000"], rtol=1e-12)


def test_byars_method_is_the_package_byars_interval_with_its_missing_lower_limits():
    ref = pd.read_csv(REFERENCE / "phe_byars_rate.csv")
    for confidence, rows in ref.groupby("confidence"):
        lower, upper = poisson_ci(rows["count"].to_numpy(), confidence, method="byars")
        np.testing.assert_allclose(lower, rows["byars_lower"], rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(upper, rows["byars_upper"], rtol=1e-12)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
@pytest.mark.parametrize("count", [1, 9, 10, 57, 400])
def test_exact_method_puts_the_stated_probability_in_each_tail_at_any_count(count, confidence):
    tail = (1 - confidence) / 2
    lower, upper = poisson_ci(count, confidence, method="exact")
    assert pdtrc(count - 1, lower) == pytest.approx(tail, rel=1e-8)  # P(X >= count | lower)
    assert pdtr(count, upper) == pytest.approx(tail, rel=1e-8)  # P(X <= count | upper)


@pytest.mark.parametrize("method", ["auto", "exact"])
def test_zero_events_give_a_lower_limit_of_zero_and_a_real_upper_limit(method):
    lower, upper = poisson_ci(0, method=method)
    assert lower == 0
    assert upper == pytest.approx(-math.log(0.025), rel=1e-12)
    assert poisson_ci(0, 99.8, method=method)[1] == pytest.approx(-math.log(0.001), rel=1e-12)


def test_auto_switches_from_exact_to_byars_at_ten_events():
    assert poisson_ci(10) == pytest.approx(byars_ci(10))
    assert poisson_ci(9)[0] == pytest.approx(poisson_ci(9, method="exact")[0])
    assert poisson_ci(9)[0] != pytest.approx(byars_ci(9)[0])


def test_poisson_limits_keep_a_series_index_and_leave_a_missing_count_missing():
    counts = pd.Series([4.0, np.nan, 25.0], index=["U1", "U2", "U3"])
    lower, upper = poisson_ci(counts)
    assert list(lower.index) == ["U1", "U2", "U3"]
    assert np.isnan(lower["U2"]) and np.isnan(upper["U2"])
    assert upper["U3"] == pytest.approx(byars_ci(25)[1])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"count": -1}, "observed events must all be greater than or equal to zero"),
    ({"count": 5, "method": "wilson"}, "method must be 'auto'"),
    ({"count": 5, "confidence": 0.5}, "confidence level must be between 90 and 100 or between 0.9 and 1"),
])
def test_poisson_ci_rejects_impossible_input_with_a_message_that_says_what_to_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        poisson_ci(**kwargs)


# --- dsr_ci ---------------------------------------------------------------------------------


def _dsr_vignette():
    """The vignette's age bands (deaths missing where it has none) and its printed results, as text."""
    bands = pd.read_csv(REFERENCE / "phe_dsr_vignette_inputs.csv")
    printed = pd.read_csv(REFERENCE / "phe_dsr_vignette_outputs.csv", dtype=str).iloc[0]
    return bands, printed


def _agrees_to_printed_digits(actual: float, printed: str) -> bool:
    # R prints 7 significant digits; the value must round to what was printed.
    decimals = len(printed.partition(".")[2])
    return abs(actual - float(printed)) <= 0.5 * 10 ** -decimals


def test_the_package_vignette_example_with_empty_age_bands_gives_the_published_dsr_and_95_percent_limits():
    bands, printed = _dsr_vignette()
    assert bands["dths"].isna().sum() == 3
    result = dsr_ci(bands["dths"], bands["pop"], bands["esp2013"], multiplier=float(printed["multiplier"]),
                    confidence=float(printed["confidence"]))
    for key, column in [("value", "value"), ("lower_95", "lowercl"), ("upper_95", "uppercl")]:
        assert _agrees_to_printed_digits(result[key], printed[column]), (key, result[key], printed[column])
    assert result["total_count"] == 88 and result["statistic"] == "dsr per 100000"


def test_dsr_table_gives_the_published_vignette_result_for_each_group():
    bands, printed = _dsr_vignette()
    two_areas = pd.concat([bands.assign(area="A"), bands.assign(area="B")], ignore_index=True)
    table = dsr_table(two_areas, "area", "dths", "pop", "esp2013", confidence=0.95)
    assert list(table["area"]) == ["A", "B"]
    for _, row in table.iterrows():
        assert _agrees_to_printed_digits(row["value"], printed["value"])
        assert _agrees_to_printed_digits(row["lower_95"], printed["lowercl"])
        assert _agrees_to_printed_digits(row["upper_95"], printed["uppercl"])


def test_one_age_band_gives_the_crude_rate_with_byars_limits():
    result = dsr_ci([25], [5000], [3000])
    lower95, upper95 = byars_ci(25, 0.95)
    lower998, upper998 = byars_ci(25, 0.998)
    assert result["value"] == pytest.approx(500)
    assert result["lower_95"] == pytest.approx(lower95 / 5000 * 100_000, rel=1e-12)
    assert result["upper_95"] == pytest.approx(upper95 / 5000 * 100_000, rel=1e-12)
    assert result["lower_99_8"] == pytest.approx(lower998 / 5000 * 100_000, rel=1e-12)
    assert result["upper_99_8"] == pytest.approx(upper998 / 5000 * 100_000, rel=1e-12)


def test_a_standard_proportional_to_the_population_reduces_to_the_poisson_interval_of_the_total():
    populations = np.array([4000, 9000, 12000, 6000, 2000])
    counts = np.array([3, 11, 40, 52, 31])
    result = dsr_ci(counts, populations, populations / 10, multiplier=1000)
    total, people = counts.sum(), populations.sum()
    lower, upper = byars_ci(total)
    assert result["value"] == pytest.approx(total / people * 1000, rel=1e-12)
    assert result["lower_95"] == pytest.approx(lower / people * 1000, rel=1e-12)
    assert result["upper_95"] == pytest.approx(upper / people * 1000, rel=1e-12)


def test_two_band_dobson_limits_match_a_hand_worked_example():
    # Rates 10/1000 and 30/2000, standard 600 and 400: DSR = (0.01 x 600 + 0.015 x 400) / 1000
    # = 0.012, i.e. 1200 per 100,000. Variance = (10 x 0.6^2 + 30 x 0.2^2) / 1000^2 = 4.8e-6;
    # X = 40, so each limit is 0.012 + sqrt(4.8e-6 / 40) x (Byar's limit for 40 - 40).
    result = dsr_ci([10, 30], [1000, 2000], [600, 400])
    lower40, upper40 = byars_ci(40)
    assert result["value"] == pytest.approx(1200, rel=1e-12)
    assert result["lower_95"] == pytest.approx((0.012 + math.sqrt(1.2e-7) * (lower40 - 40)) * 1e5, rel=1e-12)
    assert result["upper_95"] == pytest.approx((0.012 + math.sqrt(1.2e-7) * (upper40 - 40)) * 1e5, rel=1e-12)
    assert result["total_count"] == 40 and result["total_pop"] == 3000
    assert (result["confidence"], result["statistic"], result["method"]) == ("95%, 99.8%", "dsr per 100000", "Dobson")


def test_byars_based_dobson_limits_agree_with_exact_poisson_dobson_limits_for_large_counts():
    # Dobson et al. (1991) state the method with exact Poisson limits for the total; Byar's
    # approximation to them is close once the total is large.
    counts, populations, standard = [120, 340, 610, 880], [20_000, 25_000, 18_000, 9_000], [7000, 6500, 5000, 2500]
    result = dsr_ci(counts, populations, standard)
    total = sum(counts)
    exact_lower, exact_upper = poisson_ci(total, method="exact")
    w, x, n = np.array(standard, float), np.array(counts, float), np.array(populations, float)
    variance = np.sum(x * (w / n) ** 2) / w.sum() ** 2
    value = np.sum(x * w / n) / w.sum()
    assert result["lower_95"] == pytest.approx((value + math.sqrt(variance / total) * (exact_lower - total)) * 1e5,
                                               rel=1e-4)
    assert result["upper_95"] == pytest.approx((value + math.sqrt(variance / total) * (exact_upper - total)) * 1e5,
                                               rel=1e-4)


def test_a_total_count_below_ten_suppresses_the_rate_and_its_limits_as_the_package_does():
    small = dsr_ci([2, 3, 4], [1000, 1000, 1000], [1, 1, 1])
    assert small["total_count"] == 9
    assert all(np.isnan(small[k]) for k in ("value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"))
    assert small["statistic"] == "dsr NA for total count < 10"
    assert not np.isnan(dsr_ci([3, 3, 4], [1000, 1000, 1000], [1, 1, 1])["value"])


def test_a_single_confidence_level_gives_only_its_limits_and_accepts_a_percentage():
    as_fraction = dsr_ci([30, 40], [5000, 6000], [5500, 6000], confidence=0.998)
    as_percentage = dsr_ci([30, 40], [5000, 6000], [5500, 6000], confidence=99.8)
    assert "lower_95" not in as_fraction and as_fraction["confidence"] == "99.8%"
    assert as_fraction["lower_99_8"] == as_percentage["lower_99_8"]
    assert as_fraction["upper_99_8"] == dsr_ci([30, 40], [5000, 6000], [5500, 6000])["upper_99_8"]


def test_a_missing_count_counts_as_no_events_as_the_package_does():
    assert dsr_ci([np.nan, 30], [1000, 2000], [600, 400]) == dsr_ci([0, 30], [1000, 2000], [600, 400])


def test_dsr_table_standardises_each_group_and_names_the_group_in_an_error():
    bands = pd.DataFrame({
        "pcn": ["U1", "U1", "U2", "U2"], "events": [10, 30, 40, 5],
        "people": [1000, 2000, 3000, 500], "standard": [600, 400, 600, 400],
    })
    table = dsr_table(bands, "pcn", "events", "people", "standard")
    assert list(table["pcn"]) == ["U1", "U2"]
    assert table.loc[0, "value"] == pytest.approx(1200)
    assert table.loc[1, "value"] == pytest.approx(dsr_ci([40, 5], [3000, 500], [600, 400])["value"])
    bands.loc[3, "people"] = 0
    with pytest.raises(ValueError, match="pcn U2: denominators must all be greater than zero"):
        dsr_table(bands, "pcn", "events", "people", "standard")
    with pytest.raises(ValueError, match="count_col: 'deaths' must be a valid column name"):
        dsr_table(bands, "pcn", "deaths", "people", "standard")


@pytest.mark.parametrize(("args", "message"), [
    (([5, -1], [100, 100], [1, 1]), r"numerators must all be greater than or equal to zero; check age band 2"),
    (([5, 1], [100, 0], [1, 1]), r"denominators must all be greater than zero .*age band 2"),
    (([5, 1], [100, np.nan], [1, 1]), "populations cannot have missing values"),
    (([5, 1], [100, 100], [1, -1]), "standard populations must all be greater than or equal to zero"),
    (([5, 1], [100, 100], [1]), "one value per age band, in the same order; got 2, 2 and 1"),
    (([5, 1], [100, 100], [0, 0]), "standard_populations add up to zero"),
])
def test_dsr_rejects_impossible_age_bands_with_a_message_that_says_what_to_fix(args, message):
    with pytest.raises(ValueError, match=message):
        dsr_ci(*args)


def test_dsr_rejects_a_confidence_level_outside_the_package_range():
    with pytest.raises(ValueError, match="confidence level must be between 90 and 100 or between 0.9 and 1"):
        dsr_ci([30], [1000], [1], confidence=(0.95, 86))


# --- FunnelPlotR overdispersion: the medpar example -----------------------------------------------


def _medpar_glm() -> tuple[np.ndarray, np.ndarray, float]:
    """Poisson GLM los ~ hmo + died + age80 + factor(type), fitted as R's glm.fit fits it."""
    data = pd.read_csv(REFERENCE / "funnelplotr_medpar.csv", dtype={"provnum": str})
    design = np.column_stack([np.ones(len(data)), data["hmo"], data["died"], data["age80"],
                              data["type"] == 2, data["type"] == 3]).astype(float)
    y = data["los"].to_numpy(float)
    mu = y + 0.1  # glm's mustart for the Poisson family
    eta, deviance_before = np.log(mu), None
    for _ in range(25):
        weights = mu
        working = eta + (y - mu) / mu
        coefficients = np.linalg.solve(design.T @ (weights[:, None] * design), design.T @ (weights * working))
        eta = design @ coefficients
        mu = np.exp(eta)
        deviance = 2 * np.sum(np.where(y > 0, y * np.log(y / mu), 0) - (y - mu))
        if deviance_before is not None and abs(deviance - deviance_before) / (abs(deviance) + 0.1) < 1e-8:
            break
        deviance_before = deviance
    # R's mod$weights are the working weights of the last iteration, mod$residuals the new ones.
    dispersion = np.sum(weights * ((y - mu) / mu) ** 2) / (len(y) - design.shape[1])
    data["prds"] = mu
    return data, coefficients, dispersion


def _medpar_providers() -> pd.DataFrame:
    data, _, _ = _medpar_glm()
    return data.groupby("provnum").agg(los=("los", "sum"), prds=("prds", "sum"))


def test_the_medpar_model_reproduces_the_funnelplotr_readme():
    _, coefficients, dispersion = _medpar_glm()
    np.testing.assert_allclose(coefficients, [2.26875, -0.07637, -0.24574, -0.02141, 0.24921, 0.74869],
                               atol=5e-6)
    assert dispersion == pytest.approx(6.240519, abs=5e-7)


def test_unadjusted_limits_leave_25_of_54_medpar_providers_outside_99_8_percent_as_in_the_readme():
    funnel = funnel_overdispersed(_medpar_providers(), "los", "prds", adjustment="none")
    assert len(funnel) == 54
    assert funnel["outside_99_8"].sum() == 25
    assert not funnel.attrs["funnel"]["adjusted"]


def test_shmi_adjusted_limits_leave_9_of_54_medpar_providers_outside_99_8_percent_as_in_the_readme():
    funnel = funnel_overdispersed(_medpar_providers(), "los", "prds")
    note = funnel.attrs["funnel"]
    assert funnel["outside_99_8"].sum() == 9
    assert note["adjusted"] and note["adjustment"] == "additive" and note["overdispersed"]
    assert note["phi"] > 1 and note["tau2"] > 0
    assert "adjusted for overdispersion" in note["method"] and "tau\u00b2" in note["method"]
    assert funnel["outside_95"].sum() >= funnel["outside_99_8"].sum()


def test_shmi_truncation_drops_the_units_in_the_first_and_last_tenth_by_rank():
    # 54 units, k = 10 bands: floor(rank x 10 / 55) is 0 for ranks 1-5 and 9 for ranks 50-54.
    estimate = overdispersion(_medpar_providers(), "los", "prds")
    units = estimate["units"].sort_values("z_score")
    assert estimate["n_used"] == 44
    assert list(units["trimmed"]) == [True] * 5 + [False] * 44 + [True] * 5
    assert units["adjusted_z_score"].isna().sum() == 10


def test_phi_and_tau2_follow_the_funnelplotr_formulas_over_the_units_kept():
    providers = _medpar_providers()
    estimate = overdispersion(providers, "los", "prds")
    kept = ~estimate["units"]["trimmed"]
    expected = providers["prds"][kept]
    z = np.sqrt(expected) * np.log(providers["los"][kept] / expected)
    n, phi = kept.sum(), np.mean(z ** 2)
    weights = expected  # 1 / s^2 with s = 1 / sqrt(E)
    assert estimate["phi"] == pytest.approx(phi, rel=1e-12)
    tau2 = (n * phi - (n - 1)) / (weights.sum() - (weights ** 2).sum() / weights.sum())
    assert estimate["tau2"] == pytest.approx(tau2, rel=1e-12)


def test_additive_and_multiplicative_limits_widen_the_log_scale_spread_as_stated():
    providers = _medpar_providers()
    additive = funnel_overdispersed(providers, "los", "prds")
    multiplicative = funnel_overdispersed(providers, "los", "prds", adjustment="multiplicative")
    phi, tau2 = additive.attrs["funnel"]["phi"], additive.attrs["funnel"]["tau2"]
    expected = providers["prds"]
    np.testing.assert_allclose(np.log(additive["upper_99_8"]), 3.090232 * np.sqrt(1 / expected + tau2), rtol=1e-12)
    np.testing.assert_allclose(np.log(multiplicative["lower_95"]), -1.959964 * np.sqrt(phi / expected), rtol=1e-12)
    assert multiplicative.attrs["funnel"]["adjustment"] == "multiplicative"
    assert "sqrt(phi)" in multiplicative.attrs["funnel"]["method"]


def test_unadjusted_ratio_limits_are_exact_poisson_limits():
    funnel = funnel_overdispersed(_medpar_providers(), "los", "prds", adjustment="none")
    expected = funnel["denominator"]
    np.testing.assert_allclose(gammainc(expected, funnel["lower_99_8"] * expected), 0.001, rtol=1e-9)
    np.testing.assert_allclose(gammainc(expected + 1, funnel["upper_95"] * expected), 0.975, rtol=1e-9)


def test_a_unit_is_outside_only_when_strictly_beyond_a_limit():
    funnel = funnel_overdispersed(_medpar_providers(), "los", "prds")
    beyond = (funnel["value"] < funnel["lower_95"]) | (funnel["value"] > funnel["upper_95"])
    assert (funnel["outside_95"] == beyond).all()


# --- FunnelPlotR overdispersion: proportions, worked step by step --------------------------------

CARE_PLANS = pd.DataFrame(
    {"done": [45, 120, 30, 300, 88, 20, 150, 62, 75, 210],
     "cohort": [60, 150, 70, 340, 100, 50, 190, 80, 90, 260]},
    index=[f"U{i:05d}" for i in range(1, 11)],
)


def _r_quantile(values, p):
    ordered = np.sort(values)
    h = (len(ordered) - 1) * p
    below = math.floor(h)
    return ordered[below] + (h - below) * (ordered[min(below + 1, len(ordered) - 1)] - ordered[below])


def test_proportion_overdispersion_matches_a_calculation_written_out_step_by_step():
    done, cohort = CARE_PLANS["done"].to_numpy(float), CARE_PLANS["cohort"].to_numpy(float)
    pooled = done.sum() / cohort.sum()
    s = [1 / (2 * math.sqrt(n)) for n in cohort]
    z = [(math.asin(math.sqrt(d / n)) - math.asin(math.sqrt(pooled))) / si for d, n, si in zip(done, cohort, s)]
    low, high = _r_quantile(z, 0.1), _r_quantile(z, 0.9)
    winsorised = [min(max(value, low), high) for value in z]
    phi = sum(value ** 2 for value in winsorised) / len(z)
    w = [1 / si ** 2 for si in s]
    tau2 = max(0.0, (len(z) * phi - (len(z) - 1)) / (sum(w) - sum(v ** 2 for v in w) / sum(w)))

    estimate = overdispersion(CARE_PLANS, "done", "cohort", data_type="PR")
    assert estimate["target"] == pytest.approx(pooled, rel=1e-12)
    np.testing.assert_allclose(estimate["units"]["z_score"], z, rtol=1e-12)
    np.testing.assert_allclose(estimate["units"]["adjusted_z_score"], winsorised, rtol=1e-12)
    assert estimate["phi"] == pytest.approx(phi, rel=1e-12)
    assert estimate["tau2"] == pytest.approx(tau2, rel=1e-12)
    assert estimate["units"]["trimmed"].sum() == 2  # the lowest and the highest z-score

    funnel = funnel_overdispersed(CARE_PLANS, "done", "cohort", data_type="PR", multiplier=100)
    angle = math.asin(math.sqrt(pooled))
    spread = math.sqrt(s[5] ** 2 + tau2)
    assert funnel["lower_95"].iloc[5] == pytest.approx(100 * math.sin(angle - 1.959964 * spread) ** 2, rel=1e-12)
    assert funnel["upper_99_8"].iloc[5] == pytest.approx(100 * math.sin(angle + 3.090232 * spread) ** 2, rel=1e-12)
    assert funnel.attrs["funnel"]["target"] == pytest.approx(100 * pooled)
    assert funnel["value"].iloc[0] == pytest.approx(75)


def test_proportion_limits_stay_between_zero_and_one_for_tiny_denominators():
    rare = pd.DataFrame({"events": [0, 1, 3, 10, 40], "people": [2, 5, 40, 400, 2000]})
    funnel = funnel_overdispersed(rare, "events", "people", data_type="PR")
    for column in ("lower_95", "upper_95", "lower_99_8", "upper_99_8"):
        assert funnel[column].between(0, 1).all()
    assert funnel["lower_99_8"].iloc[0] == 0


def test_data_without_overdispersion_get_unadjusted_limits_and_say_so():
    counts = [10.0, 20.0, 35.0, 50.0, 80.0]
    on_target = pd.DataFrame({"observed": counts, "expected": counts})
    funnel = funnel_overdispersed(on_target, "observed", "expected")
    note = funnel.attrs["funnel"]
    assert note["phi"] == 0 and not note["overdispersed"] and not note["adjusted"]
    assert note["method"].startswith("No overdispersion detected")
    np.testing.assert_allclose(funnel["upper_99_8"],
                               funnel_overdispersed(on_target, "observed", "expected", adjustment="none")["upper_99_8"])
    assert not funnel["outside_95"].any()


def test_a_kept_unit_with_no_events_cannot_be_scored_by_the_shmi_log_transform():
    units = pd.DataFrame({"observed": [0.0, 9.0, 12.0], "expected": [4.0, 10.0, 11.0]}, index=["U1", "U2", "U3"])
    with pytest.raises(ValueError, match=r"0 observed cannot be scored; unit\(s\) U1: use sr_method='CQC'"):
        overdispersion(units, "observed", "expected", trim_by=0.05)
    assert overdispersion(units, "observed", "expected", sr_method="CQC")["n_used"] == 3


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"numerator": "deaths"}, "numerator: 'deaths' must be a valid column name in the data frame"),
    ({"data_type": "RC"}, "data_type must be 'PR'"),
    ({"sr_method": "HSMR"}, "sr_method must be 'SHMI'"),
    ({"trim_by": 0.5}, "trim_by must be a share of units between 0 and 0.5"),
    ({"adjustment": "phi"}, "adjustment must be 'additive'"),
    ({"multiplier": 0}, "multiplier must be a number greater than zero"),
])
def test_funnel_options_are_checked_with_a_message_that_says_what_to_fix(kwargs, message):
    arguments = {"df": CARE_PLANS, "numerator": "done", "denominator": "cohort", "data_type": "PR", **kwargs}
    with pytest.raises(ValueError, match=message):
        funnel_overdispersed(**arguments)


@pytest.mark.parametrize(("change", "message"), [
    ({"done": 61}, "rows U00001 have 'done' above 'cohort', impossible for a proportion; nothing was calculated"),
    ({"cohort": 0}, "rows U00001 have 'cohort' of zero or less"),
    ({"done": np.nan}, "rows U00001 have a missing numerator or denominator"),
    ({"done": -1}, "rows U00001 have a negative 'done'"),
])
def test_impossible_units_are_named_in_the_message(change, message):
    units = CARE_PLANS.copy().astype(float)
    for column, value in change.items():
        units.iloc[0, units.columns.get_loc(column)] = value
    with pytest.raises(ValueError, match=message):
        overdispersion(units, "done", "cohort", data_type="PR")


# --- SPC: a gap breaks the moving ranges on both sides, as NHSRplotthedots --------------------------

GAPPY = pd.DataFrame({
    "month": pd.date_range("2023-04-01", periods=12, freq="MS"),
    "value": [10, 12, 11, np.nan, 15, 14, 16, 13, 12, 14, 15, 13],
})


def _spc(data, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return spc(data, "value", "month", **options)


def test_a_gap_drops_the_moving_ranges_on_both_sides_when_asked():
    # Usable values sum to 145 over 11 points. Moving ranges with the gap broken:
    # 2, 1, (11 to gap), (gap to 15), 1, 2, 3, 1, 2, 1, 2 -> 15 over 9.
    broken = _spc(GAPPY, gaps="break")
    assert broken["mean"].iloc[0] == pytest.approx(145 / 11)
    assert broken["upl"].iloc[0] == pytest.approx(145 / 11 + 2.66 * 15 / 9)
    assert broken["lpl"].iloc[0] == pytest.approx(145 / 11 - 2.66 * 15 / 9)


def test_by_default_a_gap_is_joined_as_before():
    # Joined: 2, 1, |15 - 11| = 4, 1, 2, 3, 1, 2, 1, 2 -> 19 over 10.
    joined = _spc(GAPPY)
    assert joined["upl"].iloc[0] == pytest.approx(145 / 11 + 2.66 * 1.9)
    assert _spc(GAPPY, gaps="join")["upl"].iloc[0] == joined["upl"].iloc[0]


def test_a_fixed_baseline_counts_the_gap_row_when_gaps_break_as_the_package_counts_rows():
    longer = pd.concat([GAPPY, pd.DataFrame({"month": pd.date_range("2024-04-01", periods=3, freq="MS"),
                                             "value": [30.0, 31.0, 29.0]})], ignore_index=True)
    broken = _spc(longer, gaps="break", fix_after_n_points=12)
    joined = _spc(longer, fix_after_n_points=12)
    assert broken["mean"].iloc[0] == pytest.approx(145 / 11)  # the first 12 rows, one of them the gap
    assert joined["mean"].iloc[0] == pytest.approx((145 + 30) / 12)  # the first 12 usable points


def test_without_gaps_both_ways_give_the_same_chart():
    complete = GAPPY.assign(value=GAPPY["value"].fillna(13.0))
    pd.testing.assert_frame_equal(_spc(complete, gaps="break"), _spc(complete))


def test_an_unknown_way_of_handling_gaps_is_refused():
    with pytest.raises(ValueError, match="gaps must be 'join'"):
        _spc(GAPPY, gaps="skip")


def test_a_missing_month_becomes_a_gap_row_that_breaks_the_moving_ranges():
    without_row = GAPPY.dropna().reset_index(drop=True)
    filled = fill_missing_periods(without_row, "month")
    assert len(filled) == 12
    assert filled.loc[3, "month"] == pd.Timestamp("2023-07-01") and np.isnan(filled.loc[3, "value"])
    assert _spc(filled, gaps="break")["upl"].iloc[0] == pytest.approx(145 / 11 + 2.66 * 15 / 9)


def test_filling_refuses_dates_off_the_calendar():
    off = GAPPY.dropna().assign(month=lambda d: d["month"] + pd.Timedelta(days=14))
    with pytest.raises(ValueError, match="not on the 'MS' calendar"):
        fill_missing_periods(off, "month")


# --- clip_limits ----------------------------------------------------------------------------


def test_percentage_limits_are_shown_within_zero_and_one_hundred():
    lower, upper = clip_limits(pd.Series([-4.2, 10.0, np.nan]), pd.Series([96.0, 104.5, np.nan]), 0, 100)
    assert list(lower.iloc[:2]) == [0.0, 10.0] and list(upper.iloc[:2]) == [96.0, 100.0]
    assert np.isnan(lower.iloc[2]) and np.isnan(upper.iloc[2])


def test_count_limits_only_need_a_floor_and_the_input_is_left_unchanged():
    lower = np.array([-1.5, 2.0])
    clipped, upper = clip_limits(lower, np.array([8.0, 12.0]), natural_min=0)
    assert list(clipped) == [0.0, 2.0] and list(upper) == [8.0, 12.0]
    assert lower[0] == -1.5
    assert clip_limits(-3.0, 5.0, 0) == (0.0, 5.0)


def test_clip_limits_refuses_a_range_that_is_upside_down():
    with pytest.raises(ValueError, match="natural_min must be below natural_max"):
        clip_limits([1], [2], 100, 0)
