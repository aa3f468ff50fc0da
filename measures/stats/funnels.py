"""Funnel-plot limits: Fingertips' around a proportion or a rate, and FunnelPlotR's widened for overdispersion."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import gammainc, gammaincc, gammaincinv

from .common import _confidence_level, _float_arrays, _is_number, _level_tag, _two_sided_z

# --- Fingertips methods (PHEindicatormethods) ----------------------------------------------------


def funnel_limits_proportion(comparator_value: float, denominators, levels: Sequence[float] = (0.95, 0.998),
                             multiplier: float = 1.0) -> pd.DataFrame:
    """Funnel-plot control limits around a proportion, as calculate_funnel_limits(statistic = "proportion").

    ``comparator_value`` is on the output scale (a proportion when ``multiplier`` is 1, a
    percentage when it is 100); the package uses the pooled average, sum of numerators / sum of
    denominators. Each limit is the proportion at which the Wilson interval for that denominator
    would just reach the comparator (the package's sigma_adjustment). Limits are clipped to
    [0, multiplier]; the package clips the upper limit at a fixed 100, the same thing for
    percentages.

    Returns one row per denominator: ``denominator``, ``lower_<level>`` and ``upper_<level>`` for
    each level (``lower_95``, ``upper_95``, ``lower_99_8``, ...) and ``baseline``.
    """
    average = _proportion_average(comparator_value, multiplier)
    (population,) = _float_arrays(denominators)
    _require_positive_denominators(population)
    limits = {"denominator": population}
    for level in levels:
        z = _two_sided_z(_confidence_level(level))
        low, high = _wilson_funnel(average, population, z)
        tag = _level_tag(level)
        limits[f"lower_{tag}"] = np.clip(low, 0, 1) * multiplier
        limits[f"upper_{tag}"] = np.clip(high, 0, 1) * multiplier
    limits["baseline"] = np.full(population.shape, average * multiplier)
    return pd.DataFrame(limits)


def funnel_limits_rate(comparator_rate: float, denominators, multiplier: float = 100_000,
                       levels: Sequence[float] = (0.95, 0.998)) -> pd.DataFrame:
    """Funnel-plot control limits around a rate per ``multiplier``, as calculate_funnel_limits(statistic = "rate").

    The package's limits are exact Poisson: at a population where ``comparator_rate`` expects mu
    events, the upper limit is the count c with P(X >= c | mu) = (1 - level)/2 and the lower limit
    the count with P(X <= c | mu) = (1 - level)/2, each divided by the population. The package
    traces that curve at whole numbers of events; here it is solved at the given denominators
    (using the incomplete gamma function, which equals those Poisson tails at whole counts), so the
    two agree wherever they meet. A lower limit below 0 events is 0.

    Returns the same columns as ``funnel_limits_proportion``.
    """
    if not _is_number(comparator_rate) or not comparator_rate > 0:
        raise ValueError(f"comparator_rate must be a number greater than zero (got {comparator_rate!r}).")
    (population,) = _float_arrays(denominators)
    _require_positive_denominators(population)
    expected = comparator_rate / multiplier * population
    limits = {"denominator": population}
    for level in levels:
        tail = (1 - _confidence_level(level)) / 2
        tag = _level_tag(level)
        limits[f"lower_{tag}"] = _poisson_lower_count(expected, tail) / population * multiplier
        limits[f"upper_{tag}"] = _poisson_upper_count(expected, tail) / population * multiplier
    limits["baseline"] = np.full(population.shape, float(comparator_rate))
    return pd.DataFrame(limits)


def _wilson_funnel(average: float, population: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """The package's sigma_adjustment, term for term, for both sides."""
    first_part = average * (population / z**2 + 1)
    with np.errstate(invalid="ignore"):
        adjustment = np.sqrt(
            (-8 * average * (population / z**2 + 1)) ** 2
            - 64 * (1 / z**2 + 1 / population) * average
            * (population * (average * (population / z**2 + 2) - 1) + z**2 * (average - 1))
        )
    last_part = 1 / z**2 + 1 / population
    low = (first_part - adjustment / 8) / last_part / population
    high = (first_part + adjustment / 8) / last_part / population
    return low, high


def _poisson_upper_count(expected: np.ndarray, tail: float) -> np.ndarray:
    # P(X >= c | mu) = gammainc(c, mu) falls as c grows.
    return _bisect_increasing(lambda c: tail - gammainc(c, expected), np.full(expected.shape, 1e-12),
                              _count_ceiling(expected))


def _poisson_lower_count(expected: np.ndarray, tail: float) -> np.ndarray:
    # P(X <= c | mu) = gammaincc(c + 1, mu) rises as c grows; none of it is below tail when
    # even 0 events is that unlikely, so the limit is 0 there.
    count = _bisect_increasing(lambda c: gammaincc(c + 1, expected) - tail, np.zeros(expected.shape),
                               _count_ceiling(expected))
    return np.where(np.exp(-expected) >= tail, 0.0, count)


def _count_ceiling(expected: np.ndarray) -> np.ndarray:
    return expected + 12 * np.sqrt(expected) + 30


def _bisect_increasing(function, low: np.ndarray, high: np.ndarray, iterations: int = 200) -> np.ndarray:
    low, high = low.astype(float).copy(), high.astype(float).copy()
    for _ in range(iterations):
        middle = (low + high) / 2
        below_root = function(middle) < 0
        low = np.where(below_root, middle, low)
        high = np.where(below_root, high, middle)
    return (low + high) / 2


def _proportion_average(comparator_value, multiplier) -> float:
    if not _is_number(comparator_value) or not _is_number(multiplier) or multiplier <= 0:
        raise ValueError("comparator_value and multiplier must be numbers, multiplier greater than zero.")
    average = comparator_value / multiplier
    if not 0 <= average <= 1:
        raise ValueError(
            f"comparator_value must lie between 0 and multiplier ({multiplier}); got {comparator_value}."
        )
    return average


def _require_positive_denominators(population: np.ndarray) -> None:
    if np.any(population <= 0) or np.any(np.isnan(population)):
        raise ValueError("denominators must be greater than zero")


# --- Funnel plots with overdispersion (FunnelPlotR) ----------------------------------------------

FUNNEL_DATA_TYPES = ("PR", "SR")
FUNNEL_SR_METHODS = ("SHMI", "CQC")
FUNNEL_ADJUSTMENTS = ("additive", "multiplicative", "none")
# FunnelPlotR writes the normal quantiles with these figures; using them keeps its limits reproducible.
FUNNEL_Z = {"95": 1.959964, "99_8": 3.090232}
# Tails of its exact Poisson (unadjusted) limits for ratios, lower and upper.
FUNNEL_POISSON_TAILS = {"95": (0.025, 0.975), "99_8": (0.001, 0.999)}


def overdispersion(df: pd.DataFrame, numerator: str, denominator: str, data_type: str = "SR",
                   sr_method: str = "SHMI", trim_by: float = 0.1) -> dict:
    """Overdispersion of units around a funnel's target, estimated as NHS-R FunnelPlotR does (Spiegelhalter 2005).

    One row of ``df`` per unit (PCN, practice). z-scores, as ``transformed_zscore`` in
    ``R/od_adjustment.R``:

    - ``data_type="PR"`` (proportions): z = (asin(sqrt(p)) - asin(sqrt(p0))) / s, s = 1/(2 sqrt(n)),
      p0 the pooled sum(numerators)/sum(denominators);
    - ``data_type="SR"`` (indirectly standardised ratios, observed/expected), ``sr_method="SHMI"``
      (FunnelPlotR's default): z = sqrt(E) log(O/E), s = 1/sqrt(E); ``"CQC"``: z = (sqrt(O/E) - 1)/s,
      s = 1/(2 sqrt(E)).

    Outliers are then tamed, ``trim_by`` (default 10%) at each end: the SHMI method truncates (a
    unit is left out when floor(rank x k/(n + 1)), k = 1/trim_by, ranks averaged for ties, is 0
    or k - 1 or more, ``truncation()``); the others winsorise to the trim_by and 1 - trim_by
    quantiles (R's default type 7, ``winsorisation()``). Then, over the n units kept:
    phi = mean(z^2) (``phi_func``) and tau^2 = max(0, (n phi - (n - 1)) / (sum(w) - sum(w^2)/sum(w))),
    w = 1/s^2, or 0 when n phi < n - 1 (``tau_func``, DerSimonian & Laird's estimator).
    ``overdispersed`` is FunnelPlotR's rule for drawing adjusted limits: phi > 1
    (``funnel_plot()`` falls back to unadjusted limits, "No overdispersion detected", when phi <= 1).

    Returns a dict: ``units`` (a DataFrame on df's index: ``z_score``, ``adjusted_z_score`` (NaN
    for a truncated unit), ``trimmed``, ``s``), ``phi``, ``tau2``, ``n_used``, ``target`` (1 for
    ratios, p0 for proportions), ``overdispersed``, ``data_type``, ``sr_method``, ``trim_by``.
    """
    _validate_funnel_options(data_type, sr_method, trim_by)
    observed, size = _funnel_columns(df, numerator, denominator, data_type)
    shmi = data_type == "SR" and sr_method == "SHMI"
    with np.errstate(divide="ignore"):
        if data_type == "PR":
            target = float(observed.sum() / size.sum())
            s = 1 / (2 * np.sqrt(size))
            z = (np.arcsin(np.sqrt(observed / size)) - np.arcsin(np.sqrt(target))) / s
        elif shmi:
            target = 1.0
            s = 1 / np.sqrt(size)
            z = np.sqrt(size) * np.log(observed / size)
        else:
            target = 1.0
            s = 1 / (2 * np.sqrt(size))
            z = (np.sqrt(observed / size) - 1) / s

    if shmi:
        bands = 1 / trim_by
        band = np.floor(_average_ranks(z) * bands / (len(z) + 1))
        trimmed = (band <= 0) | (band >= bands - 1)
        adjusted = np.where(trimmed, np.nan, z)
    else:
        low, high = np.quantile(z, [trim_by, 1 - trim_by])
        trimmed = ~((z > low) & (z < high))
        adjusted = np.clip(z, low, high)

    kept = ~np.isnan(adjusted)
    n_used = int(kept.sum())
    if n_used < 2:
        raise ValueError(
            f"only {n_used} unit(s) left after trimming {trim_by:.0%} at each end: overdispersion "
            "needs at least 2; use more units or a smaller trim_by."
        )
    if not np.all(np.isfinite(adjusted[kept])):
        zero = [str(label) for label in df.index[kept & (observed == 0)]]
        raise ValueError(
            "the SHMI method takes log(observed / expected), so a unit with 0 observed cannot be "
            f"scored; unit(s) {', '.join(zero[:5])}: use sr_method='CQC', or combine small units."
        )
    phi = float(np.mean(adjusted[kept] ** 2))
    weights = 1 / s[kept] ** 2
    if n_used * phi < n_used - 1:
        tau2 = 0.0
    else:
        tau2 = max(0.0, float((n_used * phi - (n_used - 1))
                              / (weights.sum() - (weights ** 2).sum() / weights.sum())))
    units = pd.DataFrame({"z_score": z, "adjusted_z_score": adjusted, "trimmed": trimmed, "s": s},
                         index=df.index)
    return {
        "units": units, "phi": phi, "tau2": tau2, "n_used": n_used, "target": target,
        "overdispersed": phi > 1, "data_type": data_type,
        "sr_method": sr_method if data_type == "SR" else None, "trim_by": float(trim_by),
    }


def funnel_overdispersed(df: pd.DataFrame, numerator: str, denominator: str, data_type: str = "SR",
                         adjustment: str = "additive", sr_method: str = "SHMI", trim_by: float = 0.1,
                         multiplier: float = 1.0) -> pd.DataFrame:
    """Funnel limits at each unit's denominator, widened for overdispersion as FunnelPlotR widens them, with flags.

    ``overdispersion()`` estimates phi and tau^2; the limits then follow ``calculate_limits``
    (``R/calculate_limits.R``), transformed target +/- z x spread, transformed back:

    - ``adjustment="additive"`` (random effects, FunnelPlotR's method and default): spread
      sqrt(s^2 + tau^2). Ratios, SHMI: exp(+/- z sqrt(1/E + tau^2)); ratios, CQC:
      (1 +/- z sqrt(s^2 + tau^2))^2; proportions: sin(asin(sqrt(p0)) +/- z sqrt(s^2 + tau^2))^2.
    - ``"multiplicative"`` (Spiegelhalter 2005, Qual Saf Health Care 14:347, not in FunnelPlotR):
      spread sqrt(phi) x s, on the same scales.
    - ``"none"``, and also whenever the data are not overdispersed (phi <= 1, where FunnelPlotR
      draws unadjusted limits): ratios get exact Poisson limits, qchisq(tail, 2E)/2/E and
      qchisq(1 - tail, 2(E + 1))/2/E, tails 0.025 and 0.001; proportions the arcsine limits
      with tau^2 = 0.

    z is 1.959964 (95%) or 3.090232 (99.8%), FunnelPlotR's figures. Proportion limits stay within
    [0, 1] because the angle is held within [0, pi/2] (FunnelPlotR zeroes the same stretch of its
    curve where it turns back). Where this differs from FunnelPlotR: the CQC limits are squared
    back to the ratio scale (FunnelPlotR 0.5 leaves them on the square-root scale); expected
    values are not rounded to 2 decimals (its ``SHMI_rounding``), which moves its limits in the
    fifth figure at most.

    ``multiplier`` scales values and limits: 100 for percentages, or the reference rate to read
    a ratio as an indirectly standardised rate. A unit is outside a level when its value is
    strictly beyond a limit (``outliers_func`` keeps lower <= value <= upper inside).

    Returns a DataFrame on df's index: ``numerator``, ``denominator``, ``value``, ``z_score``,
    ``trimmed``, ``lower_95``, ``upper_95``, ``lower_99_8``, ``upper_99_8``, ``outside_95``,
    ``outside_99_8``. ``attrs["funnel"]`` holds ``phi``, ``tau2``, ``overdispersed``,
    ``adjusted`` (whether the limits were widened), ``adjustment`` (the one used), ``target`` (on
    the output scale) and ``method``, a sentence for the chart saying whether and how the limits
    were adjusted.
    """
    if adjustment not in FUNNEL_ADJUSTMENTS:
        raise ValueError(
            "adjustment must be 'additive' (random effects, FunnelPlotR), 'multiplicative' (phi, "
            f"Spiegelhalter 2005) or 'none'; got {adjustment!r}."
        )
    if not _is_number(multiplier) or not multiplier > 0:
        raise ValueError(f"multiplier must be a number greater than zero (got {multiplier!r}).")
    estimate = overdispersion(df, numerator, denominator, data_type, sr_method, trim_by)
    observed, size = _funnel_columns(df, numerator, denominator, data_type)
    used = adjustment if estimate["overdispersed"] else "none"
    target, s = estimate["target"], estimate["units"]["s"].to_numpy()
    if used == "additive":
        spread = np.sqrt(s ** 2 + estimate["tau2"])
    elif used == "multiplicative":
        spread = np.sqrt(estimate["phi"]) * s
    else:
        spread = s

    result = pd.DataFrame({"numerator": observed, "denominator": size,
                           "value": observed / size * multiplier,
                           "z_score": estimate["units"]["z_score"].to_numpy(),
                           "trimmed": estimate["units"]["trimmed"].to_numpy()}, index=df.index)
    for tag, z in FUNNEL_Z.items():
        if data_type == "SR" and used == "none":
            low_tail, high_tail = FUNNEL_POISSON_TAILS[tag]
            low = gammaincinv(size, low_tail) / size
            high = gammaincinv(size + 1, high_tail) / size
        elif data_type == "SR" and sr_method == "SHMI":
            low, high = np.exp(-z * spread), np.exp(z * spread)
        elif data_type == "SR":
            low, high = (1 - z * spread) ** 2, (1 + z * spread) ** 2
            low = np.where(1 - z * spread < 0, 0.0, low)
        else:
            centre = np.arcsin(np.sqrt(target))
            low = np.sin(np.clip(centre - z * spread, 0, np.pi / 2)) ** 2
            high = np.sin(np.clip(centre + z * spread, 0, np.pi / 2)) ** 2
        result[f"lower_{tag}"] = low * multiplier
        result[f"upper_{tag}"] = high * multiplier
    for tag in FUNNEL_Z:
        result[f"outside_{tag}"] = ((result["value"] < result[f"lower_{tag}"])
                                    | (result["value"] > result[f"upper_{tag}"]))
    result.attrs["funnel"] = {
        "phi": estimate["phi"], "tau2": estimate["tau2"], "overdispersed": estimate["overdispersed"],
        "adjusted": used != "none", "adjustment": used, "target": target * multiplier,
        "method": _funnel_method_note(estimate, adjustment, used),
    }
    return result


def _funnel_method_note(estimate: dict, requested: str, used: str) -> str:
    share = f"{estimate['trim_by']:.0%}"
    trimming = (f"log transform, {share} truncated at each end (SHMI method)" if estimate["sr_method"] == "SHMI"
                else f"{share} winsorised at each end")
    unadjusted = ("exact Poisson limits" if estimate["data_type"] == "SR" else "arcsine limits")
    if used == "additive":
        return (f"Limits adjusted for overdispersion: additive random effects, tau\u00b2 = {estimate['tau2']:.4g} "
                f"(phi = {estimate['phi']:.3g}; z-scores {trimming}; FunnelPlotR method).")
    if used == "multiplicative":
        return (f"Limits adjusted for overdispersion: multiplied by sqrt(phi), phi = {estimate['phi']:.3g} "
                f"(z-scores {trimming}; Spiegelhalter 2005).")
    if requested == "none":
        return f"Limits not adjusted for overdispersion ({unadjusted}; phi = {estimate['phi']:.3g})."
    return (f"No overdispersion detected (phi = {estimate['phi']:.3g}, not above 1): {unadjusted}, "
            "not adjusted.")


def _validate_funnel_options(data_type, sr_method, trim_by) -> None:
    if data_type not in FUNNEL_DATA_TYPES:
        raise ValueError(f"data_type must be 'PR' (proportions) or 'SR' (indirectly standardised ratios, "
                         f"observed / expected); got {data_type!r}.")
    if sr_method not in FUNNEL_SR_METHODS:
        raise ValueError(f"sr_method must be 'SHMI' (log, truncation) or 'CQC' (square root, winsorisation); "
                         f"got {sr_method!r}.")
    if not _is_number(trim_by) or not 0 < trim_by < 0.5:
        raise ValueError(f"trim_by must be a share of units between 0 and 0.5 at each end, e.g. 0.1 for 10% "
                         f"(got {trim_by!r}).")


def _funnel_columns(df, numerator, denominator, data_type) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame with one row per unit (got {type(df).__name__}).")
    for argument, column in (("numerator", numerator), ("denominator", denominator)):
        if column not in df.columns:
            raise ValueError(f"{argument}: '{column}' must be a valid column name in the data frame "
                             f"(columns: {', '.join(map(str, df.columns))}).")
        if pd.api.types.is_bool_dtype(df[column]) or not pd.api.types.is_numeric_dtype(df[column]):
            raise ValueError(f"{argument} '{column}' must be a numeric column (it is '{df[column].dtype}').")
    observed, size = _float_arrays(df[numerator], df[denominator])
    if len(observed) < 2:
        raise ValueError(f"a funnel plot needs at least 2 units (rows); got {len(observed)}.")
    checks = [
        (np.isnan(observed) | np.isnan(size), "have a missing numerator or denominator: fill or drop them"),
        (observed < 0, f"have a negative '{numerator}'"),
        (size <= 0, f"have '{denominator}' of zero or less: a unit needs a denominator above zero"),
    ]
    if data_type == "PR":
        checks.append((observed > size, f"have '{numerator}' above '{denominator}', impossible for a proportion"))
    for bad, problem in checks:
        if np.any(bad):
            shown = ", ".join(str(label) for label in df.index[bad][:5])
            raise ValueError(f"rows {shown} {problem}; nothing was calculated.")
    return observed, size


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank (R's rank(ties.method = "average"))."""
    return pd.Series(values).rank(method="average").to_numpy()
