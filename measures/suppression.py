"""Small-number suppression: counts of people or events below a threshold, and the rates built on them, are hidden.

The rules (NHS disclosure practice; README, "Small-number suppression"):

- **Threshold.** `PCN_SUPPRESS_BELOW`, a whole number of 1 or more (default 5): counts of 1 to threshold − 1 are
  suppressed; 1 turns suppression off. Zero is shown, because a zero reveals nobody.
- **Which measures.** Those counting people or events (types `count`, `proportion` and `rate`) in the locally
  recorded families (`local_integration`, `practice_support`). National published figures (`national_des`) are
  already published under NHS England's own disclosure control and are shown as published. A catalogue file
  overrides the default either way with `suppress_small_numbers: true` or `false` (false for a count of meetings,
  staff hours or pounds, which identify nobody). A measure no catalogue knows is suppressed as a rate.
- **Primary.** A row is suppressed when its count (the numerator; a count's value) is small, when its denominator
  is small, or, for a proportion, when denominator − numerator is small (the complement counts the same people).
- **Secondary.** Where exactly one practice of a PCN is suppressed for a measure and period, the next-smallest
  non-zero practice of that group is suppressed too, so the PCN's total (the sum of its practices) cannot reveal
  it. A PCN total that is itself small is suppressed by the primary rule.
- **Shape.** A suppressed row keeps its organisation and period; numerator, denominator, value and interval bounds
  become missing and the boolean column `suppressed` is True. Averages over several organisations pool only the
  values shown, so an average cannot be unpicked into a suppressed one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

ENV_VAR = "PCN_SUPPRESS_BELOW"
DEFAULT_BELOW = 5
MARK = "*"
FLAG = "suppressed"
TYPES = ("count", "proportion", "rate")
FAMILIES = ("local_integration", "practice_support")
UNKNOWN_KIND = "rate"
# Columns that carry a suppressed row's figures, in the tidy shape and the Compare page's frames.
HIDDEN = ("numerator", "denominator", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "lower_998",
          "upper_998")

# A table's `attrs` entry naming the columns a suppressed row hides, where they are not the tidy names.
COLUMNS_ATTR = "suppressed_columns"

Rules = Mapping[str, "str | None"]  # measure id -> its type when its small numbers are suppressed, else None


class SuppressionSettingError(ValueError):
    """`PCN_SUPPRESS_BELOW` is set to something that is not a whole number of 1 or more."""


def threshold() -> int:
    """Counts below this are suppressed: `PCN_SUPPRESS_BELOW`, default 5; 1 turns suppression off."""
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT_BELOW
    try:
        below = int(text)
    except ValueError:
        below = 0
    if below < 1:
        raise SuppressionSettingError(f"{ENV_VAR} must be a whole number of 1 or more (counts below it are "
                                      f"suppressed; 1 turns suppression off), got {text!r}")
    return below


def footnote(below: int | None = None) -> str:
    """The footnote under every figure, table and pack page that has a suppressed value; empty when off."""
    below = threshold() if below is None else below
    if below <= 1:
        return ""
    counts = "1" if below == 2 else f"1 to {below - 1}"
    return f"{MARK} Values from counts of {counts} are suppressed (NHS disclosure practice)."


def applies_to(measure) -> bool:
    """Does the measure's catalogue entry say its small numbers are suppressed (explicitly, or by family and type)?"""
    explicit = getattr(measure, "suppress_small_numbers", None)
    if explicit is not None:
        return bool(explicit)
    return measure.family in FAMILIES and measure.type in TYPES


def rules(catalogue: Iterable) -> dict[str, str | None]:
    """For every measure of a catalogue, its type if its small numbers are suppressed, else None."""
    return {m.id: (m.type if applies_to(m) else None) for m in catalogue}


def _small(values, below: int) -> np.ndarray:
    values = np.asarray(values, dtype="float64")
    with np.errstate(invalid="ignore"):
        return (values > 0) & (values < below)


def primary_mask(kinds: Sequence, numerator, denominator, value, below: int) -> np.ndarray:
    """True where a row is suppressed by the primary rule; `kinds` holds each row's type (None: not suppressed)."""
    applies = np.array([isinstance(k, str) for k in kinds], dtype=bool)
    if below <= 1 or not applies.any():
        return np.zeros(len(kinds), dtype=bool)
    size = len(kinds)
    num = np.asarray(numerator, dtype="float64") if numerator is not None else np.full(size, np.nan)
    den = np.asarray(denominator, dtype="float64") if denominator is not None else np.full(size, np.nan)
    if value is not None:  # a count's value is its numerator (a rate's value is not)
        is_count = np.array([k == "count" for k in kinds], dtype=bool)
        num = np.where(np.isnan(num) & is_count, np.asarray(value, dtype="float64"), num)
    hidden = _small(num, below) | _small(den, below)
    is_proportion = np.array([k == "proportion" for k in kinds], dtype=bool)
    hidden |= is_proportion & _small(den - num, below)
    return applies & hidden


def _secondary(frame: pd.DataFrame, flagged: pd.Series, applies: pd.Series, keys: Sequence[str],
               size: str) -> pd.Series:
    """Where a group has exactly one suppressed row, suppress its next-smallest row too."""
    flagged = flagged.copy()
    grouper = [frame[k] for k in keys] if keys else np.zeros(len(frame), dtype=int)
    per_group = flagged.groupby(grouper, dropna=False).transform("sum")
    # A zero is never the second cell: zeros are shown, so a suppressed zero would give the first cell away.
    candidates = frame[(per_group == 1) & ~flagged & applies & (frame[size] > 0)]
    if candidates.empty:
        return flagged
    ordered = candidates.sort_values(size, kind="stable")
    picked = ordered.drop_duplicates(list(keys)) if keys else ordered.iloc[:1]
    flagged.loc[picked.index] = True
    return flagged


def suppress(frame: pd.DataFrame, rules: Rules, *, measure: str = "measure", measure_id: str | None = None,
             numerator: str | None = "numerator", denominator: str | None = "denominator",
             value: str | None = "value", hide: Sequence[str] = HIDDEN, secondary: Sequence[str] | None = None,
             kind: str | None = None, flag: str = FLAG, below: int | None = None) -> pd.DataFrame:
    """A copy of `frame` with its small numbers suppressed and a boolean `flag` column (see the module rules).

    `measure_id` names the measure of every row when the frame has no `measure` column; `secondary` lists the
    columns that make one group of practices (an empty list: the whole frame is one group; None: no secondary
    suppression); `kind` replaces the measure's type for a frame whose numerator is a plain count (fair shares).
    """
    below = threshold() if below is None else below
    frame = frame.copy()
    if frame.empty:
        frame[flag] = pd.Series(dtype=bool)
        return frame
    ids = [measure_id] * len(frame) if measure_id is not None else frame[measure].tolist()
    kinds = np.array([rules.get(i, UNKNOWN_KIND) for i in ids], dtype=object)
    if kind is not None:
        kinds = np.array([None if k is None else kind for k in kinds], dtype=object)

    def column(name):
        return frame[name].to_numpy(dtype="float64", na_value=np.nan) if name and name in frame else None

    flagged = pd.Series(primary_mask(kinds, column(numerator), column(denominator), column(value), below),
                        index=frame.index)
    if secondary is not None and flagged.any():
        size = numerator if numerator in frame else value
        frame["_size"] = pd.to_numeric(frame[size], errors="coerce")
        applies = pd.Series([k is not None for k in kinds], index=frame.index)
        flagged = _secondary(frame, flagged, applies, list(secondary), "_size")
        frame = frame.drop(columns="_size")
    for name in hide:
        if name in frame and flagged.any():
            frame[name] = frame[name].where(~flagged)
    frame[flag] = flagged.to_numpy(dtype=bool)
    return frame


def suppress_query(name: str, result, args: tuple, rules: Rules, below: int | None = None):
    """Suppress the result of a named read (`measures.ui.query`'s names) by its shape; others pass unchanged."""
    if result is None:
        return result
    if name == "series":
        return suppress(result, rules, below=below)
    if name == "overview":
        series, comparator = result
        return suppress(series, rules, below=below), comparator
    if name == "pcn_values":
        return suppress(result, rules, measure_id=args[0], below=below)
    if name == "practice_spread":  # one PCN's practices: each measure and period is a group
        return suppress(result, rules, secondary=("measure", "version", "period_start"), below=below)
    if name == "local.fair_share":  # each practice's total over the months, and its share of the PCN's total
        return suppress(result, rules, measure_id=args[0], numerator="resource", denominator=None, value=None,
                        kind="count", hide=("resource", "resource_share", "gap_points", "ratio"), secondary=(),
                        below=below)
    if name == "local.grid_frame":  # one period's values of the PCN or of each of its practices
        return suppress(result, rules, measure_id=args[0], value=None, secondary=(), below=below)
    return result


def comparator_condition(rules: Rules, alias: str = "o", below: int | None = None) -> tuple[str, list]:
    """A SQL condition (and its bound parameters) true for the rows of `alias` that are shown, not suppressed.

    For totals pooled in SQL (the ICB average on the Overview), so a suppressed value never enters an average.
    """
    below = threshold() if below is None else below
    if below <= 1:
        return "TRUE", []
    exempt = sorted(i for i, k in rules.items() if k is None)
    counts = sorted(i for i, k in rules.items() if k == "count")
    proportions = sorted(i for i, k in rules.items() if k == "proportion")

    half = below / 2

    def small(expression: str) -> str:
        # 0 < x < below, written with x once so that its own placeholders are bound once
        return f"coalesce(abs({expression} - ?) < ?, FALSE)"

    count = f"coalesce({alias}.numerator, CASE WHEN list_contains(?, {alias}.measure_id) THEN {alias}.value END)"
    condition = (f"(list_contains(?, {alias}.measure_id) OR NOT ({small(count)} OR {small(f'{alias}.denominator')}"
                 f" OR (list_contains(?, {alias}.measure_id) AND "
                 f"{small(f'{alias}.denominator - {alias}.numerator')})))")
    return condition, [exempt, counts, half, half, half, half, proportions, half, half]


def starred(frame: pd.DataFrame, flag: str = FLAG) -> tuple[pd.DataFrame, bool]:
    """For a download: in each suppressed row the missing numbers are written `*`; the flag column is dropped.

    The columns are those named in `frame.attrs[COLUMNS_ATTR]` (a table whose other numbers may be missing for
    other reasons, such as a deprivation score), or else every numeric column. Returns the table and whether
    anything was suppressed (so the caller adds the footnote).
    """
    if flag not in frame:
        return frame, False
    flagged = frame[flag].fillna(False).astype(bool)
    table = frame.drop(columns=flag)
    if not flagged.any():
        return table, False
    table = table.copy()
    named = frame.attrs.get(COLUMNS_ATTR)
    for position, name in enumerate(table.columns):
        values = table.iloc[:, position]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if named is not None and name not in named:
            continue
        hidden = flagged & values.isna()
        if hidden.any():
            table.isetitem(position, values.astype(object).where(~hidden, MARK))
    return table, True

