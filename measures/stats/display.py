"""What charts need beyond the methods: missing periods added as rows, and limits held within a natural range."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import _float_arrays, _is_number, _like_input
from .xmr import _date_column


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
