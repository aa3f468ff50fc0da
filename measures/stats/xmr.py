"""XmR SPC as NHSRplotthedots computes it: limits, the Making Data Count rules, point types and icons."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .common import _is_number, _is_whole_number

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


def xmr_icons(values: np.ndarray, segment_starts: np.ndarray, improvement_direction: str,
              target: float | None = None) -> tuple[str | None, str | None]:
    """``spc_icons(spc(...))`` for one series already in date order, without building its table.

    ``values`` holds every period in date order, NaN for a gap (``gaps="break"``: a gap drops the moving ranges
    on both of its sides); ``segment_starts`` is True at each period that starts recalculated limits. The
    limits are the whole segment's (no ``fix_after_n_points``), moving ranges screened, and the rules the
    package's 7-point ones: the same arithmetic as ``spc``, for a caller that needs only the icons of many
    series (every PCN's board). Fewer than 2 values is an error, as in ``spc``.
    """
    direction = _validate_direction(improvement_direction)
    values = np.asarray(values, dtype="float64")
    usable = ~np.isnan(values)
    if usable.sum() < 2:
        raise ValueError(f"xmr_icons needs at least 2 non-missing values; got {int(usable.sum())}.")
    groups = np.cumsum(np.asarray(segment_starts, dtype=bool).astype(int))
    latest_type, latest_limits = None, None
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        points = rows[usable[rows]]
        limits = _segment_limits(values[rows], None, True)
        latest_limits = limits
        if len(points):
            latest_type = _latest_point_type(values[points], limits, direction)
    variation = None if latest_type is None else _variation_icon(latest_type, direction)
    if target is None or direction == 0:
        return variation, None
    upl, lpl = float(latest_limits["upl"]), float(latest_limits["lpl"])
    if target > upl:
        return variation, "consistent_fail" if direction == 1 else "consistent_pass"
    if target < lpl:
        return variation, "consistent_pass" if direction == 1 else "consistent_fail"
    return variation, "inconsistent"


# The package's default run and trend lengths, which `xmr_icons` reads the latest point by.
_RUN, _TREND = 7, 7


def _latest_point_type(y: np.ndarray, limits: dict, direction: int) -> str:
    """``_segment_signals(y, limits, direction, 7, 7)["point_type"][-1]``, reading only the points that can
    decide the last one: the trend and run that would close on it, and the one window of three it ends."""
    last = len(y) - 1
    relative = np.sign(y[-3:] - limits["mean"])  # the last three points' sides of the mean
    outside = bool((y[last] > limits["upl"]) | (y[last] < limits["lpl"]))
    close = ~((y[-3:] > limits["upl"]) | (y[-3:] < limits["lpl"])) & (
        (y[-3:] < limits["near_lpl"]) | (y[-3:] > limits["near_upl"]))
    steps = np.sign(np.diff(y[-_TREND:]))
    in_trend = last >= _TREND - 1 and (bool(np.all(steps == 1)) or bool(np.all(steps == -1)))
    in_two_in_three = (last >= 2 and bool(close[-1]) and int(close.sum()) >= 2
                       and abs(relative.sum()) == 3)
    side_now = relative[-1]
    in_run = (last >= _RUN - 1 and side_now != 0
              and bool(np.all(np.sign(y[-_RUN:] - limits["mean"]) == side_now)))
    side = 1 if side_now > 0 else -1
    if outside:
        signal = 1 if side_now == 1 else -1
    elif in_trend:
        signal = 1 if last >= 1 and steps[-1] == 1 else -1
    elif in_two_in_three or in_run:
        signal = side
    else:
        signal = 0
    return str(_point_types(np.array([signal]), direction)[0])


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
