"""XmR SPC as NHSRplotthedots computes it, and Fingertips confidence intervals, funnel limits and benchmarks."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.special import gammainc, gammaincc, gammaincinv, ndtri

__all__ = [
    "POINT_TYPES",
    "spc",
    "spc_icons",
    "wilson_ci",
    "byars_ci",
    "rate_ci",
    "funnel_limits_proportion",
    "funnel_limits_rate",
    "benchmark",
    "benchmark_frame",
    "poisson_ci",
    "dsr_ci",
    "dsr_table",
    "overdispersion",
    "funnel_overdispersed",
    "fill_missing_periods",
    "clip_limits",
]

# --- XmR SPC (NHSRplotthedots 0.2.x) -----------------------------------------------------------

PROCESS_LIMIT_FACTOR = 2.66
# Written the way ptd_spc_standard.R writes it so the floating-point result is identical.
NEAR_LIMIT_FACTOR = 2 * (PROCESS_LIMIT_FACTOR / 3)
MOVING_RANGE_SCREEN_FACTOR = 3.267
MIN_FIX_AFTER_N_POINTS = 12
# ptd_add_short_group_warnings.R defaults to getOption("ptd_spc.warning_threshold", 13), so a
# segment of 12 points is still flagged although its message speaks of "n < 12".
SHORT_SEGMENT_THRESHOLD = 13
SHORT_SEGMENT_MESSAGE = (
    "Some groups have 'n < 12' observations. These have trial limits, which will be revised with "
    "each additional observation until 'n = fix_after_n_points' has been reached."
)

DIRECTIONS = {"increase": 1, "neutral": 0, "decrease": -1}

COMMON_CAUSE = "common_cause"
SPECIAL_CAUSE_IMPROVEMENT = "special_cause_improvement"
SPECIAL_CAUSE_CONCERN = "special_cause_concern"
SPECIAL_CAUSE_NEUTRAL_HIGH = "special_cause_neutral_high"
SPECIAL_CAUSE_NEUTRAL_LOW = "special_cause_neutral_low"
POINT_TYPES = (
    COMMON_CAUSE,
    SPECIAL_CAUSE_IMPROVEMENT,
    SPECIAL_CAUSE_CONCERN,
    SPECIAL_CAUSE_NEUTRAL_HIGH,
    SPECIAL_CAUSE_NEUTRAL_LOW,
)

RULE_OUTSIDE_LIMITS = "outside_limits"
RULE_TREND = "trend"
RULE_TWO_IN_THREE = "two_in_three"
RULE_RUN = "run"

SPC_GAP_HANDLING = ("join", "break")

def spc(
    df: pd.DataFrame,
    value_col: str,
    date_col: str,
    improvement_direction: str = "increase",
    target: float | None = None,
    fix_after_n_points: int | None = None,
    rebase: Iterable | str | pd.Timestamp | None = None,
    screen_outliers: bool = True,
    run_length: int = 7,
    trend_length: int = 7,
    gaps: str = "join",
) -> pd.DataFrame:
    """XmR chart of ``value_col`` over ``date_col``, computed as NHSRplotthedots ``ptd_spc()`` does.

    Returns a copy of ``df`` sorted by date (stable; original index kept) with these columns added:

    - ``rebase_group``: segment number, 0 before the first rebase date, +1 at each one;
    - ``short_group_warning``: the segment has fewer than 13 usable points (the package's default
      threshold), so its limits are trial limits; a ``UserWarning`` is raised too, as the package does;
    - ``mean``, ``lpl``, ``upl``: centre line and process limits, mean ± 2.66 × mean moving range;
    - ``near_lpl``, ``near_upl``: mean ± 2/3 × 2.66 × mean moving range;
    - ``relative_to_mean``: -1, 0 or 1 (a point exactly on the mean is 0 and breaks a run);
    - ``outside_limits``, ``close_to_limits`` (beyond a near-limit line but inside the limits),
      ``trend``, ``two_in_three``, ``run``: whether each point belongs to that pattern;
    - ``special_cause_rule``: the rule that decided the point, in the package's precedence
      (outside_limits, trend, two_in_three, run), missing for common cause;
    - ``point_type``: one of ``POINT_TYPES``;
    - ``target``: the target, or NaN.

    Calculation, per rebase segment: the mean and moving ranges use the segment's first
    ``fix_after_n_points`` points (all points when None; at least 12 when set). With
    ``screen_outliers`` moving ranges >= 3.267 × their mean are dropped once and the mean moving
    range recomputed. A segment whose moving ranges are all zero (a flat line) is left with NaN
    limits when screening, as in the package. Special cause rules, with the package's tie handling:

    - a point above ``upl`` or below ``lpl`` (strictly);
    - ``trend_length`` points each strictly higher (or lower) than the one before; a tie breaks the
      trend; a trend point takes the trend's direction, even on the other side of the mean;
    - 2 of 3 consecutive points beyond the same near-limit line, all 3 points on that side of the
      mean; points outside the limits do not count towards the 2;
    - ``run_length`` points on the same side of the mean; a point exactly on the mean breaks it.

    ``run_length`` and ``trend_length`` default to the package's 7; organisations following the
    6-point version of the Making Data Count rules pass 6.

    Where this differs from the package: rows with a missing value (or date) are kept in the output
    but left out of every calculation, so moving ranges join the points either side of a gap and
    ``fix_after_n_points`` and the short-segment count use usable points only (the package keeps
    the gap in its moving ranges); their rule columns are False and ``point_type`` is missing (NA).
    Fewer than 2 usable points is an error (the package returns NaN limits). A rebase date that
    matches no row is ignored, as in the package, but with a warning.

    ``gaps="break"`` treats a row with a missing value as a gap the way ``ptd_spc_standard()``
    does (``mr = c(NA, abs(diff(fix_y)))`` then ``mean(mr, na.rm = TRUE)``): the moving ranges on
    both sides of the gap are dropped instead of one range joining the points either side, and the
    ``fix_after_n_points`` baseline counts the gap rows, as the package's ``row_number()`` does.
    Only the limits change; the rules still read the usable points in order. A month with no row
    at all is not a gap to either method: add it first with ``fill_missing_periods``.
    """
    direction = _validate_direction(improvement_direction)
    _validate_spc_options(df, value_col, date_col, target, fix_after_n_points, screen_outliers,
                          run_length, trend_length)
    if gaps not in SPC_GAP_HANDLING:
        raise ValueError(
            f"gaps must be 'join' (a moving range joins the points either side of a missing value) "
            f"or 'break' (a missing value drops the moving ranges on both sides, as NHSRplotthedots); "
            f"got {gaps!r}."
        )
    dates = _date_column(df, date_col)
    values = _value_column(df, value_col)
    _reject_duplicate_dates(dates, date_col)
    rebase_dates = _rebase_dates(rebase)

    order = np.argsort(dates.to_numpy(dtype="datetime64[ns]"), kind="stable")
    result = df.iloc[order].copy()
    dates = dates.iloc[order].to_numpy(dtype="datetime64[ns]")
    values = values[order]
    usable = ~np.isnan(values) & ~np.isnat(dates)
    if usable.sum() < 2:
        raise ValueError(
            f"spc needs at least 2 non-missing values in '{value_col}' to compute a moving range; "
            f"got {int(usable.sum())}."
        )

    rebase_points = np.array([d.to_datetime64() for d in rebase_dates], dtype="datetime64[ns]")
    unmatched = [d for d, point in zip(rebase_dates, rebase_points) if point not in dates]
    if unmatched:
        warnings.warn(
            "rebase dates not found in '" + date_col + "' are ignored: "
            + ", ".join(str(pd.Timestamp(d).date()) for d in unmatched),
            UserWarning,
            stacklevel=2,
        )
    starts_segment = np.isin(dates, rebase_points)
    rebase_group = np.cumsum(starts_segment.astype(int))

    n = len(values)
    columns = {
        "rebase_group": rebase_group,
        "short_group_warning": np.zeros(n, dtype=bool),
        "mean": np.full(n, np.nan),
        "lpl": np.full(n, np.nan),
        "upl": np.full(n, np.nan),
        "near_lpl": np.full(n, np.nan),
        "near_upl": np.full(n, np.nan),
        "relative_to_mean": np.full(n, np.nan),
        "outside_limits": np.zeros(n, dtype=bool),
        "close_to_limits": np.zeros(n, dtype=bool),
        "trend": np.zeros(n, dtype=bool),
        "two_in_three": np.zeros(n, dtype=bool),
        "run": np.zeros(n, dtype=bool),
        "special_cause_rule": np.full(n, None, dtype=object),
        "point_type": np.full(n, None, dtype=object),
    }
    for group in np.unique(rebase_group):
        rows = np.flatnonzero(rebase_group == group)
        points = rows[usable[rows]]
        baseline_rows = points if gaps == "join" else rows[~np.isnat(dates[rows])]
        limits = _segment_limits(values[baseline_rows], fix_after_n_points, screen_outliers)
        for name, value in limits.items():
            columns[name][rows] = value
        columns["short_group_warning"][rows] = len(points) < SHORT_SEGMENT_THRESHOLD
        if len(points):
            flags = _segment_signals(values[points], limits, direction, run_length, trend_length)
            for name, value in flags.items():
                columns[name][points] = value

    if columns["short_group_warning"].any():
        warnings.warn(SHORT_SEGMENT_MESSAGE, UserWarning, stacklevel=2)

    for name, column in columns.items():
        result[name] = column
    result["target"] = np.nan if target is None else float(target)
    result.attrs["spc"] = {
        "value_col": value_col,
        "date_col": date_col,
        "improvement_direction": improvement_direction,
        "target": None if target is None else float(target),
    }
    return result


def spc_icons(
    result: pd.DataFrame,
    improvement_direction: str | None = None,
    target: float | None = None,
) -> tuple[str | None, str | None]:
    """(variation icon, assurance icon) codes for a ``spc()`` result, chosen as ``ptd_get_icons()`` does.

    Variation comes from the latest point's ``point_type``: ``common_cause``, ``improvement_high`` /
    ``improvement_low``, ``concern_high`` / ``concern_low`` (high or low follows the improvement
    direction), ``neutral_high`` / ``neutral_low``. Assurance compares the target with the latest
    segment's limits: for ``increase`` a target above ``upl`` is ``consistent_fail`` and below ``lpl``
    ``consistent_pass`` (the other way round for ``decrease``), anything else (including a target on
    a limit, or NaN limits) ``inconsistent``; None without a target or for ``neutral``.

    ``improvement_direction`` and ``target`` default to those ``spc()`` stored in ``result.attrs``;
    pass them when the attributes were lost (for example after a merge).
    """
    options = result.attrs.get("spc", {})
    direction_name = improvement_direction or options.get("improvement_direction")
    if direction_name is None:
        raise ValueError(
            "spc_icons needs the improvement direction: pass improvement_direction, or give it the "
            "unchanged result of spc()."
        )
    direction = _validate_direction(direction_name)
    if target is None:
        target = options.get("target")
    missing = [c for c in ("point_type", "lpl", "upl") if c not in result.columns]
    if missing:
        raise ValueError(f"spc_icons needs the result of spc(); missing column(s): {', '.join(missing)}.")

    date_col = options.get("date_col")
    ordered = result
    if date_col in result.columns:
        ordered = result.iloc[np.argsort(pd.to_datetime(result[date_col]).to_numpy(), kind="stable")]
    decided = ordered[ordered["point_type"].notna()]
    variation = None
    if len(decided):
        variation = _variation_icon(decided["point_type"].iloc[-1], direction)

    if target is None or direction == 0 or not len(ordered):
        return variation, None
    latest = ordered.iloc[-1]
    upl, lpl = float(latest["upl"]), float(latest["lpl"])
    if target > upl:
        assurance = "consistent_fail" if direction == 1 else "consistent_pass"
    elif target < lpl:
        assurance = "consistent_pass" if direction == 1 else "consistent_fail"
    else:
        assurance = "inconsistent"
    return variation, assurance


def _variation_icon(point_type: str, direction: int) -> str:
    if point_type == SPECIAL_CAUSE_IMPROVEMENT:
        return "improvement_high" if direction == 1 else "improvement_low"
    if point_type == SPECIAL_CAUSE_CONCERN:
        return "concern_low" if direction == 1 else "concern_high"
    if point_type == SPECIAL_CAUSE_NEUTRAL_HIGH:
        return "neutral_high"
    if point_type == SPECIAL_CAUSE_NEUTRAL_LOW:
        return "neutral_low"
    return "common_cause"


def _segment_limits(y: np.ndarray, fix_after_n_points: int | None, screen_outliers: bool) -> dict:
    baseline = y if fix_after_n_points is None else y[:int(fix_after_n_points)]
    known = baseline[~np.isnan(baseline)]
    if not len(known):
        return {name: np.nan for name in ("mean", "lpl", "upl", "near_lpl", "near_upl")}
    centre = known.mean()
    # A missing value (only present with gaps="break") leaves NaN ranges on both of its sides.
    moving_ranges = np.abs(np.diff(baseline))
    moving_ranges = moving_ranges[~np.isnan(moving_ranges)]
    mean_moving_range = moving_ranges.mean() if len(moving_ranges) else np.nan
    if screen_outliers:
        # One pass only, and a strict "<": an all-zero set of moving ranges is screened out entirely.
        kept = moving_ranges[moving_ranges < MOVING_RANGE_SCREEN_FACTOR * mean_moving_range]
        mean_moving_range = kept.mean() if len(kept) else np.nan
    return {
        "mean": centre,
        "lpl": centre - PROCESS_LIMIT_FACTOR * mean_moving_range,
        "upl": centre + PROCESS_LIMIT_FACTOR * mean_moving_range,
        "near_lpl": centre - NEAR_LIMIT_FACTOR * mean_moving_range,
        "near_upl": centre + NEAR_LIMIT_FACTOR * mean_moving_range,
    }


def _segment_signals(y: np.ndarray, limits: dict, direction: int, run_length: int,
                     trend_length: int) -> dict:
    outside = (y > limits["upl"]) | (y < limits["lpl"])
    relative_to_mean = np.sign(y - limits["mean"])
    close = ~outside & ((y < limits["near_lpl"]) | (y > limits["near_upl"]))

    in_trend = _part_of_pattern(_trend_ends(y, trend_length), trend_length)
    in_two_in_three = _two_in_three(close, relative_to_mean)
    in_run = _part_of_pattern(_run_ends(relative_to_mean, run_length), run_length)
    trend_direction = _trend_direction(y, in_trend)
    side = np.where(relative_to_mean > 0, 1, -1)

    rule = np.full(len(y), None, dtype=object)
    signal = np.zeros(len(y), dtype=int)
    undecided = np.ones(len(y), dtype=bool)
    for name, member, sign in (
        (RULE_OUTSIDE_LIMITS, outside, np.where(relative_to_mean == 1, 1, -1)),
        (RULE_TREND, in_trend, trend_direction),
        (RULE_TWO_IN_THREE, in_two_in_three, side),
        (RULE_RUN, in_run, side),
    ):
        take = member & undecided
        rule[take] = name
        signal[take] = sign[take]
        undecided &= ~take

    return {
        "relative_to_mean": relative_to_mean,
        "outside_limits": outside,
        "close_to_limits": close,
        "trend": in_trend,
        "two_in_three": in_two_in_three,
        "run": in_run,
        "special_cause_rule": rule,
        "point_type": _point_types(signal, direction),
    }


def _point_types(signal: np.ndarray, direction: int) -> np.ndarray:
    if direction == 0:
        return np.select([signal > 0, signal < 0],
                         [SPECIAL_CAUSE_NEUTRAL_HIGH, SPECIAL_CAUSE_NEUTRAL_LOW],
                         COMMON_CAUSE).astype(object)
    oriented = signal * direction
    return np.select([oriented > 0, oriented < 0],
                     [SPECIAL_CAUSE_IMPROVEMENT, SPECIAL_CAUSE_CONCERN],
                     COMMON_CAUSE).astype(object)


def _trend_ends(y: np.ndarray, length: int) -> np.ndarray:
    """1 (or -1) at each point that closes ``length`` strictly rising (or falling) points."""
    ends = np.zeros(len(y))
    steps = np.sign(np.diff(y))
    for end in range(length - 1, len(y)):
        window = steps[end - length + 1:end]
        if np.all(window == 1):
            ends[end] = 1
        elif np.all(window == -1):
            ends[end] = -1
    return ends


def _run_ends(relative_to_mean: np.ndarray, length: int) -> np.ndarray:
    """1 at each point that closes ``length`` points on the same side of the mean."""
    ends = np.zeros(len(relative_to_mean))
    for end in range(length - 1, len(relative_to_mean)):
        side = relative_to_mean[end]
        if side != 0 and np.all(relative_to_mean[end - length + 1:end + 1] == side):
            ends[end] = 1
    return ends


def _part_of_pattern(ends: np.ndarray, length: int) -> np.ndarray:
    """A point belongs to a pattern when the pattern closes on it or on one of the next length-1 points."""
    return np.array([np.any(ends[i:i + length] != 0) for i in range(len(ends))], dtype=bool)


def _two_in_three(close: np.ndarray, relative_to_mean: np.ndarray) -> np.ndarray:
    flagged = np.zeros(len(close), dtype=bool)
    for start in range(len(close) - 2):
        window = slice(start, start + 3)
        if close[window].sum() >= 2 and abs(relative_to_mean[window].sum()) == 3:
            flagged[window] = True
    # Only the points beyond the near-limit line are special cause, not the third point.
    return flagged & close


def _trend_direction(y: np.ndarray, in_trend: np.ndarray) -> np.ndarray:
    """+1 or -1 for each point: the step to the next point when that point is also in a trend,
    else the step from the previous point (ptd_special_cause_type); a flat step counts as falling."""
    if len(y) < 2:
        return np.full(len(y), -1)
    steps = np.sign(np.diff(y))
    step_after = np.append(steps, steps[-1])
    step_before = np.insert(steps, 0, 0)
    next_in_trend = np.append(in_trend[1:], False)
    step = np.where(next_in_trend & in_trend, step_after, step_before)
    return np.where(step == 1, 1, -1)


def _validate_direction(improvement_direction) -> int:
    if improvement_direction not in DIRECTIONS:
        raise ValueError(
            "improvement_direction must be one of 'increase', 'decrease' or 'neutral' "
            f"(got {improvement_direction!r})."
        )
    return DIRECTIONS[improvement_direction]


def _validate_spc_options(df, value_col, date_col, target, fix_after_n_points, screen_outliers,
                          run_length, trend_length) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame (got {type(df).__name__}).")
    for argument, column in (("value_col", value_col), ("date_col", date_col)):
        if column not in df.columns:
            raise ValueError(
                f"{argument}: '{column}' must be a valid column name in the data frame "
                f"(columns: {', '.join(map(str, df.columns))})."
            )
    if target is not None and (not _is_number(target) or not np.isfinite(target)):
        raise ValueError(f"target must be a single number or None (got {target!r}).")
    if fix_after_n_points is not None and (
        not _is_whole_number(fix_after_n_points) or fix_after_n_points < MIN_FIX_AFTER_N_POINTS
    ):
        raise ValueError(
            "fix_after_n_points must be a single whole number greater than or equal to "
            f"{MIN_FIX_AFTER_N_POINTS} (got {fix_after_n_points!r})."
        )
    if not isinstance(screen_outliers, (bool, np.bool_)):
        raise ValueError(f"screen_outliers must be either True or False (got {screen_outliers!r}).")
    for argument, length in (("run_length", run_length), ("trend_length", trend_length)):
        if not _is_whole_number(length) or length < 2:
            raise ValueError(f"{argument} must be a whole number of at least 2 (got {length!r}).")


def _date_column(df: pd.DataFrame, date_col: str) -> pd.Series:
    column = df[date_col]
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    try:
        return pd.to_datetime(column)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"date_col '{date_col}' must hold dates (a datetime column or date strings such as "
            f"'2024-04-01'); could not read it: {error}"
        ) from None


def _value_column(df: pd.DataFrame, value_col: str) -> np.ndarray:
    column = df[value_col]
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        raise ValueError(f"value_col '{value_col}' must be a numeric column (it is '{column.dtype}').")
    return column.to_numpy(dtype=float, na_value=np.nan)


def _reject_duplicate_dates(dates: pd.Series, date_col: str) -> None:
    repeated = dates[dates.notna() & dates.duplicated(keep=False)]
    if len(repeated):
        shown = ", ".join(sorted({str(pd.Timestamp(d).date()) for d in repeated})[:5])
        raise ValueError(
            f"duplicate rows found in '{date_col}' ({shown}): an SPC chart needs one value per "
            "date, so aggregate or filter the rows first."
        )


def _rebase_dates(rebase) -> list[pd.Timestamp]:
    if rebase is None:
        return []
    items = [rebase] if isinstance(rebase, (str, pd.Timestamp, np.datetime64)) or not isinstance(
        rebase, Iterable) else list(rebase)
    try:
        return [pd.Timestamp(item).tz_localize(None) for item in items]
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"rebase must be a date or a list of dates at which a new segment starts (got {rebase!r}): {error}"
        ) from None


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _is_whole_number(value) -> bool:
    return _is_number(value) and float(value).is_integer()


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


def _confidence_level(confidence) -> float:
    # The package's rule: 0.9-1 as a fraction, or 90-100 as a percentage.
    if not _is_number(confidence) or confidence < 0.9 or 1 < confidence < 90 or confidence > 100:
        raise ValueError("confidence level must be between 90 and 100 or between 0.9 and 1")
    return confidence / 100 if confidence >= 90 else float(confidence)


def _two_sided_z(level: float) -> float:
    return float(ndtri(level + (1 - level) / 2))


def _level_tag(level: float) -> str:
    percent = _confidence_level(level) * 100
    return f"{percent:.10g}".replace(".", "_")


def _float_arrays(*values) -> list[np.ndarray]:
    return [_float_array(value) for value in values]


def _float_array(value) -> np.ndarray:
    if isinstance(value, (pd.Series, pd.Index)):
        return pd.to_numeric(value).to_numpy(dtype=float, na_value=np.nan)
    if value is None or value is pd.NA:
        return np.array(np.nan)
    return np.asarray(value, dtype=float)


def _like_input(result: np.ndarray, *inputs):
    """Give the result the shape of the inputs: a Series for Series input, a scalar for scalars."""
    for value in inputs:
        if isinstance(value, pd.Series):
            return pd.Series(np.asarray(result), index=value.index)
    if all(np.ndim(value) == 0 for value in inputs):
        return np.asarray(result).item()
    return np.asarray(result)


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


# --- Display helpers ---------------------------------------------------------------------------


def fill_missing_periods(df: pd.DataFrame, date_col: str, freq: str = "MS") -> pd.DataFrame:
    """``df`` with a row added for each period missing between its first and last date, other columns empty.

    For ``spc(..., gaps="break")``: a month with no row is invisible to an XmR chart, so a
    missing month must become a row with a missing value before it can break the moving ranges.
    ``freq`` is a pandas frequency ("MS" month starts, "W-MON" weeks starting Monday, "D" days);
    every date must lie on it. Rows come back sorted by date with a fresh index.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame (got {type(df).__name__}).")
    if date_col not in df.columns:
        raise ValueError(f"date_col: '{date_col}' must be a valid column name in the data frame "
                         f"(columns: {', '.join(map(str, df.columns))}).")
    dates = pd.DatetimeIndex(_date_column(df, date_col))
    known = dates.dropna()
    if not len(known):
        return df.copy()
    try:
        calendar = pd.date_range(known.min(), known.max(), freq=freq)
    except ValueError as error:
        raise ValueError(f"freq must be a pandas frequency such as 'MS' or 'W-MON' (got {freq!r}): {error}") from None
    off_calendar = known.difference(calendar)
    if len(off_calendar):
        shown = ", ".join(str(d.date()) for d in off_calendar[:5])
        raise ValueError(f"date_col '{date_col}' has dates that are not on the '{freq}' calendar ({shown}): "
                         "give each period's start date, or pass the matching freq.")
    missing = calendar.difference(known)
    filled = df.copy()
    filled[date_col] = dates
    added = pd.DataFrame({date_col: missing})
    combined = pd.concat([filled, added], ignore_index=True) if len(missing) else filled.reset_index(drop=True)
    return combined.sort_values(date_col, kind="stable").reset_index(drop=True)


def clip_limits(lower, upper, natural_min: float | None = None, natural_max: float | None = None):
    """Limits held within a measure's natural range, for display only (a percentage 0-100, a count or rate >= 0).

    A process or funnel limit below 0% or above 100% is a property of the arithmetic, not a
    possible value; charts show it at the edge. Keep the unclipped limits for calculations (the
    special-cause rules use them). NaN stays NaN; a Series in gives a Series out. Either bound may
    be None for no bound on that side.
    """
    for name, bound in (("natural_min", natural_min), ("natural_max", natural_max)):
        if bound is not None and (not _is_number(bound) or np.isnan(bound)):
            raise ValueError(f"{name} must be a number or None (got {bound!r}).")
    if natural_min is not None and natural_max is not None and not natural_min < natural_max:
        raise ValueError(f"natural_min must be below natural_max (got {natural_min!r} and {natural_max!r}).")
    low, high = _float_arrays(lower, upper)
    if natural_min is not None or natural_max is not None:
        low = np.clip(low, natural_min, natural_max)
        high = np.clip(high, natural_min, natural_max)
    return _like_input(low, lower), _like_input(high, upper)
