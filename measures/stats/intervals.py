"""Fingertips confidence intervals (Wilson, Byar's, exact Poisson, Dobson's DSR) and benchmarks against a comparator."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import gammaincinv

from .common import _confidence_level, _float_arrays, _is_number, _level_tag, _like_input, _two_sided_z
from .xmr import _validate_direction

# --- Fingertips methods (PHEindicatormethods) ----------------------------------------------------

EXACT_POISSON_BELOW = 10


def wilson_ci(numerator, denominator, confidence: float = 0.95):
    """Wilson score interval for numerator/denominator, as proportions (PHEindicatormethods wilson_lower/upper).

    Vectorised over scalars, arrays or Series (a Series in gives a Series out). 0/n gives a lower
    limit of 0 and n/n an upper limit of 1, straight from the formula (clipped to [0, 1] only to
    remove floating-point noise). Missing inputs give NaN. ``confidence`` is 0.9-1 or 90-100
    (e.g. 0.95 or 0.998); at exactly 1 the interval is [0, 1], as in the package.
    """
    level = _confidence_level(confidence)
    x, n = _float_arrays(numerator, denominator)
    if np.any(x < 0):
        raise ValueError("numerators must be greater than or equal to zero")
    if np.any(n <= 0):
        raise ValueError("denominators must be greater than zero")
    if np.any(x > n):
        raise ValueError("numerators must be less than or equal to denominator for a proportion")
    missing = np.isnan(x) | np.isnan(n)
    if level == 1:
        lower = np.where(missing, np.nan, 0.0)
        upper = np.where(missing, np.nan, 1.0)
    else:
        z = _two_sided_z(level)
        spread = z * np.sqrt(z**2 + 4 * x * (1 - x / n))
        lower = np.clip((2 * x + z**2 - spread) / 2 / (n + z**2), 0, 1)
        upper = np.clip((2 * x + z**2 + spread) / 2 / (n + z**2), 0, 1)
    return _like_input(lower, numerator, denominator), _like_input(upper, numerator, denominator)


def byars_ci(count, confidence: float = 0.95):
    """Byar's approximation to the Poisson interval for a count (PHEindicatormethods byars_lower/upper).

    As in the package the lower limit is NaN where the approximation goes negative or is undefined
    (a count of 0, or a count of 1 at 99.8%); use ``rate_ci`` for small counts, which switches to
    the exact method below 10 as phe_rate does.
    """
    level = _confidence_level(confidence)
    (x,) = _float_arrays(count)
    if np.any(x < 0):
        raise ValueError("observed events must all be greater than or equal to zero")
    lower, upper = _byars(x, level)
    return _like_input(lower, count), _like_input(upper, count)


def rate_ci(count, denominator, multiplier: float = 100_000, confidence: float = 0.95):
    """Interval for count/denominator × multiplier as phe_rate computes it.

    Counts below 10 use the exact Poisson interval (chi-squared quantiles: lower
    qchisq((1-c)/2, 2x)/2, upper qchisq((1+c)/2, 2x+2)/2, so 0 events give a lower limit of 0);
    10 and above use Byar's method.
    """
    level = _confidence_level(confidence)
    x, n = _float_arrays(count, denominator)
    if np.any(x < 0):
        raise ValueError("numerators must be greater than or equal to zero")
    if np.any(n <= 0):
        raise ValueError("denominators must be greater than zero")
    byars_lower, byars_upper = _byars(x, level)
    # qchisq(q, 2k) / 2 is the gamma quantile gammaincinv(k, q); qchisq(q, 0) is 0.
    with np.errstate(invalid="ignore"):
        exact_lower = np.where(x == 0, 0.0, gammaincinv(np.where(x == 0, 1, x), (1 - level) / 2))
        exact_upper = gammaincinv(x + 1, level + (1 - level) / 2)
    small = x < EXACT_POISSON_BELOW
    lower = np.where(small, exact_lower, byars_lower) / n * multiplier
    upper = np.where(small, exact_upper, byars_upper) / n * multiplier
    return _like_input(lower, count, denominator), _like_input(upper, count, denominator)


def benchmark(value, lower, upper, comparator, improvement_direction: str = "increase"):
    """Fingertips comparison of an interval with a comparator.

    The interval entirely above the comparator is ``better`` (``increase``: higher is better) or
    ``worse`` (``decrease``); entirely below is the reverse; touching or overlapping it is
    ``similar``. For ``neutral`` the answers are ``higher`` / ``similar`` / ``lower``. Any missing
    value, limit or comparator gives ``not_compared``. Scalars give a string, a Series gives a
    Series, arrays give an array.
    """
    direction = _validate_direction(improvement_direction)
    v, lo, hi, ref = np.broadcast_arrays(*_float_arrays(value, lower, upper, comparator))
    above = lo > ref
    below = hi < ref
    high_word, low_word = {1: ("better", "worse"), -1: ("worse", "better"), 0: ("higher", "lower")}[direction]
    missing = np.isnan(v) | np.isnan(lo) | np.isnan(hi) | np.isnan(ref)
    verdict = np.select([missing, above, below], ["not_compared", high_word, low_word], "similar").astype(object)
    return _like_input(verdict, value, lower, upper, comparator)


def benchmark_frame(df: pd.DataFrame, comparator, improvement_direction: str = "increase",
                    value_col: str = "value", lower_col: str = "lower", upper_col: str = "upper") -> pd.Series:
    """``benchmark`` for every row of ``df``; ``comparator`` is a number or the name of a column."""
    for column in (value_col, lower_col, upper_col) + ((comparator,) if isinstance(comparator, str) else ()):
        if column not in df.columns:
            raise ValueError(f"'{column}' must be a valid column name in the data frame.")
    reference = df[comparator] if isinstance(comparator, str) else pd.Series(comparator, index=df.index)
    return benchmark(df[value_col], df[lower_col], df[upper_col], reference, improvement_direction)


def _byars(x: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    z = _two_sided_z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
        upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
    lower = np.where(lower < 0, np.nan, lower)
    return lower, upper


# --- Small counts and directly standardised rates (PHEindicatormethods) -------------------------

POISSON_METHODS = ("auto", "exact", "byars")
DSR_MIN_TOTAL_COUNT = 10


def poisson_ci(count, confidence: float = 0.95, method: str = "auto"):
    """Interval for a Poisson count, with the method PHEindicatormethods uses for counts and rates.

    ``method="auto"`` is the choice of phe_rate (``R/Rates.R``) and of calculate_ISRatio and
    calculate_ISRate: the exact interval below 10 events, Byar's method from 10. ``"exact"`` always
    uses the exact interval (chi-squared quantiles, Armitage & Berry: lower qchisq((1-c)/2, 2x)/2,
    upper qchisq((1+c)/2, 2x+2)/2), so 0 events give a lower limit of 0 and an upper limit of
    -ln((1-c)/2), 3.689 events at 95%. ``"byars"`` is ``byars_ci`` (Breslow & Day 1987), whose
    lower limit is NaN where the approximation fails (0 events, or 1 event at 99.8%).

    The limits are counts: divide by the denominator for a rate (``rate_ci`` does that with
    ``"auto"``). calculate_dsr does not switch to the exact method for small counts: see ``dsr_ci``.
    Scalars give scalars, a Series gives a Series; a missing count gives NaN limits.
    """
    if method not in POISSON_METHODS:
        raise ValueError(
            f"method must be 'auto' (exact below 10 events, Byar's from 10, as phe_rate), 'exact' or "
            f"'byars'; got {method!r}."
        )
    level = _confidence_level(confidence)
    (x,) = _float_arrays(count)
    if np.any(x < 0):
        raise ValueError("observed events must all be greater than or equal to zero; a count cannot be negative.")
    byars_lower, byars_upper = _byars(x, level)
    exact_lower, exact_upper = _exact_poisson(x, level)
    if method == "byars":
        lower, upper = byars_lower, byars_upper
    elif method == "exact":
        lower, upper = exact_lower, exact_upper
    else:
        small = x < EXACT_POISSON_BELOW
        lower = np.where(small, exact_lower, byars_lower)
        upper = np.where(small, exact_upper, byars_upper)
    return _like_input(lower, count), _like_input(upper, count)


def _exact_poisson(x: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    # qchisq(q, 2k) / 2 is the gamma quantile gammaincinv(k, q); qchisq(q, 0) is 0.
    with np.errstate(invalid="ignore"):
        lower = np.where(x == 0, 0.0, gammaincinv(np.where(x == 0, 1, x), (1 - level) / 2))
        upper = gammaincinv(x + 1, level + (1 - level) / 2)
    return lower, upper


def dsr_ci(counts, populations, standard_populations, multiplier: float = 100_000,
           confidence=(0.95, 0.998)) -> dict:
    """Directly standardised rate with Dobson's confidence limits, as PHEindicatormethods calculate_dsr.

    For one area: ``counts`` (x_i), ``populations`` (n_i) and ``standard_populations`` (w_i, e.g.
    the European Standard Population 2013) per age band, in the same order. As ``dsr_inner`` in
    ``R/DSR.R`` computes it (Dobson et al. 1991, Stat Med 10:457-62, with Byar's interval from
    Breslow & Day 1987):

    - value = sum(x_i w_i / n_i) / sum(w_i) x multiplier;
    - variance v = sum(x_i (w_i / n_i)^2) / sum(w_i)^2;
    - limit = value + sqrt(v / X) x (X_limit - X) x multiplier, with X = sum(x_i) and X_limit
      Byar's lower or upper limit for X.

    A missing count counts as 0 (the package's ``na.zero``). When the total count is below 10 the
    package suppresses the rate and its limits ("dsr NA for total count < 10") and so does this:
    a DSR never falls back to the exact Poisson interval, unlike a crude rate (``poisson_ci``).

    ``confidence`` is one level or a sequence of levels, each 0.9-1 or 90-100; the default
    (0.95, 0.998) is the package's two-level call. Returns a dict with ``total_count``,
    ``total_pop``, ``value``, ``lower_<level>`` and ``upper_<level>`` for each level
    (``lower_95``, ``upper_95``, ``lower_99_8``, ``upper_99_8``), ``confidence`` ("95%, 99.8%"),
    ``statistic`` ("dsr per 100000", or the suppression note) and ``method`` ("Dobson").
    """
    levels = _confidence_levels(confidence)
    if not _is_number(multiplier) or not multiplier > 0:
        raise ValueError(f"multiplier must be a number greater than zero, e.g. 100000 for a rate per 100,000 "
                         f"(got {multiplier!r}).")
    x, n, w = (np.atleast_1d(array) for array in _float_arrays(counts, populations, standard_populations))
    if not (x.ndim == n.ndim == w.ndim == 1) or not (len(x) == len(n) == len(w)) or not len(x):
        raise ValueError(
            "counts, populations and standard_populations need one value per age band, in the same "
            f"order; got {len(x)}, {len(n)} and {len(w)} values."
        )
    _reject_bands("numerators must all be greater than or equal to zero", x < 0, x)
    _reject_bands("populations cannot have missing values", np.isnan(n), n)
    _reject_bands("denominators must all be greater than zero (merge an empty age band with its "
                  "neighbour in both the data and the standard)", n <= 0, n)
    _reject_bands("standard populations cannot have missing values", np.isnan(w), w)
    _reject_bands("standard populations must all be greater than or equal to zero", w < 0, w)
    if not w.sum() > 0:
        raise ValueError("standard_populations add up to zero: give the standard population of each age band.")

    x = np.nan_to_num(x, nan=0.0)
    total_count = float(x.sum())
    value = float(np.sum(x * w / n) / w.sum() * multiplier)
    variance = float(np.sum(x * (w / n) ** 2) / w.sum() ** 2)
    result = {"total_count": total_count, "total_pop": float(n.sum()), "value": value}
    suppressed = total_count < DSR_MIN_TOTAL_COUNT
    for level in levels:
        tag = _level_tag(level)
        byars_lower, byars_upper = _byars(np.array(total_count), level)
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = np.sqrt(variance / total_count) * multiplier
        result[f"lower_{tag}"] = float(value + spread * (byars_lower - total_count))
        result[f"upper_{tag}"] = float(value + spread * (byars_upper - total_count))
    if suppressed:
        for key in result:
            if key == "value" or key.startswith(("lower_", "upper_")):
                result[key] = np.nan
    result["confidence"] = ", ".join(f"{level * 100:.10g}%" for level in levels)
    result["statistic"] = (f"dsr NA for total count < {DSR_MIN_TOTAL_COUNT}" if suppressed
                           else f"dsr per {multiplier:.15g}")
    result["method"] = "Dobson"
    return result


def dsr_table(df: pd.DataFrame, by, count_col: str, population_col: str, standard_col: str,
              multiplier: float = 100_000, confidence=(0.95, 0.998)) -> pd.DataFrame:
    """``dsr_ci`` for each group of ``df`` (one row per group and age band), as calculate_dsr on grouped data.

    ``by`` is a column name or a list of them; the age bands of each group must be in the same
    order as their standard populations in ``standard_col``. Returns one row per group: the group
    columns then the keys of ``dsr_ci``. An error names the group it came from.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame (got {type(df).__name__}).")
    groups = [by] if isinstance(by, str) else list(by)
    for argument, column in [("by", c) for c in groups] + [("count_col", count_col),
                                                           ("population_col", population_col),
                                                           ("standard_col", standard_col)]:
        if column not in df.columns:
            raise ValueError(f"{argument}: '{column}' must be a valid column name in the data frame "
                             f"(columns: {', '.join(map(str, df.columns))}).")
    rows = []
    for key, bands in df.groupby(groups, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        try:
            result = dsr_ci(bands[count_col], bands[population_col], bands[standard_col], multiplier, confidence)
        except ValueError as error:
            label = ", ".join(f"{column} {value}" for column, value in zip(groups, key))
            raise ValueError(f"{label}: {error}") from None
        rows.append({**dict(zip(groups, key)), **result})
    return pd.DataFrame(rows)


def _reject_bands(message: str, bad: np.ndarray, values: np.ndarray) -> None:
    if np.any(bad):
        shown = ", ".join(f"age band {i + 1} ({values[i]:g})" for i in np.flatnonzero(bad)[:5])
        raise ValueError(f"{message}; check {shown}.")


def _confidence_levels(confidence) -> list[float]:
    items = [confidence] if _is_number(confidence) else list(confidence)
    if not items:
        raise ValueError("confidence needs at least one level, e.g. 0.95 or (0.95, 0.998).")
    return [_confidence_level(item) for item in items]
