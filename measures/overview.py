"""The Overview cards: for one PCN, each measure's latest value, change, trend, target and ICB comparator."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from . import suppression
from .catalogue import FAMILIES, Catalogue, Measure, financial_year_of

TREND_POINTS = 24


@dataclass(frozen=True)
class Card:
    measure: Measure
    latest_value: float | None = None
    latest_period: date | None = None
    latest_period_end: date | None = None  # a value covering a financial year reads 2023/24, not Apr 2023
    previous_value: float | None = None
    previous_period: date | None = None
    previous_period_end: date | None = None
    trend: list[float] = field(default_factory=list)
    comparator: float | None = None
    comparator_org: str | None = None
    goal: str | None = None  # threshold or target text for the latest period's financial year
    practice_range: tuple[float, float, int] | None = None  # lowest, highest, practices counted
    latest_suppressed: bool = False  # the latest value is a small number, shown as *
    practices_suppressed: int = 0  # member practices left out of the range as small numbers
    suppressed_points: int = 0  # values in the trend line left out as small numbers
    data_caveat: str | None = None  # "2 of 6 practices missing": the latest value leaves out member practices

    @property
    def has_data(self) -> bool:
        return self.latest_value is not None or self.latest_suppressed

    @property
    def value_text(self) -> str:
        if self.latest_suppressed:
            return suppression.MARK
        return self.measure.format_value(self.latest_value) if self.has_data else "No data"

    @property
    def suppression_text(self) -> str | None:
        """The footnote, when the card leaves out a small number anywhere (value, trend or practice range)."""
        if self.latest_suppressed or self.practices_suppressed or self.suppressed_points:
            return suppression.footnote()
        return None

    @property
    def period_text(self) -> str:
        return period_label(self.latest_period, self.latest_period_end) if self.latest_period else "no submission yet"

    @property
    def change(self) -> float | None:
        if self.latest_value is None or self.previous_value is None:
            return None
        return self.latest_value - self.previous_value

    @property
    def change_text(self) -> str | None:
        if self.change is None:
            return None
        unit = " pts" if self.measure.unit == "%" else ""
        since = period_label(self.previous_period, self.previous_period_end)
        return f"{self.change:+,.{self.measure.decimals}f}{unit} since {since}"

    @property
    def delta_color(self) -> str:
        """Always neutral: Making Data Count reads a change by SPC over the series, never by one period's step."""
        return "off"

    @property
    def practice_range_text(self) -> str | None:
        if not self.practice_range:
            return None
        low, high, count = self.practice_range
        if not count:
            return f"{self.practices_suppressed} practices: {suppression.MARK}"
        shown = f"{count} of {count + self.practices_suppressed}" if self.practices_suppressed else f"{count}"
        return f"{shown} practices: {self.measure.format_value(low)} to {self.measure.format_value(high)}"

    @property
    def comparator_text(self) -> str | None:
        if self.comparator is None:
            return None
        return f"ICB average {self.measure.format_value(self.comparator)}"


def month_label(day: date | pd.Timestamp | None) -> str:
    return pd.Timestamp(day).strftime("%b %Y") if day is not None else ""


def covers_financial_year(start, end) -> bool:
    """Whether a period runs from 1 April to the next 31 March: one whole NHS financial year."""
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return False
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    return (start.month, start.day) == (4, 1) and end == start + pd.DateOffset(years=1) - pd.Timedelta(days=1)


def period_label(start, end=None) -> str:
    """How a value's period reads: `2023/24` for one covering a financial year, otherwise its month, `Oct 2025`."""
    if start is None or pd.isna(start):
        return ""
    if covers_financial_year(start, end):
        return financial_year_of(pd.Timestamp(start).date())
    return month_label(start)


def goal_text(measure: Measure, day: date) -> str | None:
    threshold = measure.threshold_for(day)
    if threshold:
        return (f"IIF thresholds {measure.format_value(threshold.lower)} to "
                f"{measure.format_value(threshold.upper)} ({threshold.financial_year})")
    target = measure.target_for(day)
    if target:
        label = f" ({target.label})" if target.label else ""
        return f"Target {measure.format_value(target.value)}{label}, {target.financial_year}"
    return None


def practice_ranges(practice_values: pd.DataFrame | None) -> dict[tuple[str, date], tuple[tuple, int]]:
    """The lowest and highest practice value of each measure and period, over the values shown.

    `practice_values` is `queries.practice_spread` (one row per practice), suppressed or not. Keyed by measure and
    period start: ((lowest, highest, practices counted), practices left out as suppressed); lowest and highest are
    NaN where every value is suppressed or missing.
    """
    if practice_values is None or practice_values.empty:
        return {}
    # In plain Python over the columns' lists: a pandas group-by of a PCN's 200 rows took 4 ms.
    flags = (practice_values[suppression.FLAG].fillna(False).astype(bool).tolist()
             if suppression.FLAG in practice_values else [False] * len(practice_values))
    values = practice_values["value"].to_numpy(dtype="float64", na_value=np.nan).tolist()
    groups: dict[tuple, list] = {}
    for key, value, hidden in zip(zip(practice_values["measure"].tolist(), practice_values["period_start"].tolist()),
                                  values, flags):
        group = groups.setdefault(key, [[], 0])
        if hidden:
            group[1] += 1
        elif not math.isnan(value):
            group[0].append(value)
    return {(measure, pd.Timestamp(start).date()): ((min(shown), max(shown), len(shown)) if shown
                                                   else (math.nan, math.nan, 0), suppressed)
            for (measure, start), (shown, suppressed) in groups.items()}


def build_cards(catalogue: Catalogue, series: pd.DataFrame, comparator: pd.DataFrame,
                practice_spread: pd.DataFrame | None = None,
                caveats: dict[tuple[str, date], str] | None = None) -> dict[str, list[Card]]:
    """Cards grouped by family, in catalogue order; a measure with no data still gets a card saying so.

    `practice_spread` (one row per practice, as `queries.practice_spread` returns) adds, for practice-level
    measures, the range across member practices: a PCN average hides who missed out. Values suppressed as small
    numbers (`measures.suppression`) show as * and stay out of the change, trend and range. `caveats`
    (`data_quality.card_caveats`) says where the latest value rests on some of the member practices only.
    """
    spread = practice_ranges(practice_spread)
    comparators = {}
    if comparator is not None and not comparator.empty:
        for measure_id, day, value, org in zip(comparator["measure"], pd.to_datetime(comparator["period_start"]),
                                               comparator["comparator"], comparator["comparator_org"]):
            comparators[(measure_id, day)] = (None if pd.isna(value) else float(value), org)
    cards: dict[str, list[Card]] = {family: [] for family in FAMILIES}
    by_measure = _newest_version_rows(series)
    for measure in catalogue:
        if measure.status == "retired":
            continue
        if measure.id not in by_measure:
            cards[measure.family].append(Card(measure))
            continue
        periods, ends, values, hidden = by_measure[measure.id]
        latest_hidden = bool(hidden[-1])
        latest_period = pd.Timestamp(periods[-1]).date()
        # No change is shown against a suppressed value.
        previous = len(values) - 2 if len(values) > 1 and not hidden[-2] and not latest_hidden else None
        comparator_value, comparator_org = comparators.get((measure.id, pd.Timestamp(latest_period)), (None, None))
        practices = spread.get((measure.id, latest_period)) if measure.level == "practice" else None
        cards[measure.family].append(Card(
            measure=measure,
            latest_value=None if latest_hidden else float(values[-1]),
            latest_period=latest_period,
            latest_period_end=_day(ends[-1]),
            previous_value=float(values[previous]) if previous is not None else None,
            previous_period=pd.Timestamp(periods[previous]).date() if previous is not None else None,
            previous_period_end=_day(ends[previous]) if previous is not None else None,
            trend=[round(float(v), 4) for v, h in zip(values[-TREND_POINTS:], hidden[-TREND_POINTS:]) if not h],
            comparator=comparator_value,
            comparator_org=comparator_org,
            goal=goal_text(measure, latest_period),
            practice_range=practices[0] if practices else None,
            latest_suppressed=latest_hidden,
            practices_suppressed=practices[1] if practices else 0,
            suppressed_points=int(hidden[-TREND_POINTS:].sum()),
            data_caveat=(caveats or {}).get((measure.id, latest_period)),
        ))
    return cards


def _day(value) -> date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def _newest_version_rows(series: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """For each measure: periods' starts and ends, values and suppressed flags of its newest version, oldest first.

    Rows without a value are left out unless they were suppressed (a suppressed latest value still shows as *).
    """
    if series.empty:
        return {}
    # Sorted and split with numpy: a pandas group-by of a PCN's 36 measures took 5 ms of every Overview run.
    hidden = (series[suppression.FLAG].fillna(False).astype(bool).to_numpy() if suppression.FLAG in series
              else np.zeros(len(series), dtype=bool))
    names, measure = np.unique(series["measure"].to_numpy(dtype=object), return_inverse=True)
    versions = series["version"].to_numpy(dtype="float64")
    newest = np.full(len(names), -np.inf)
    np.maximum.at(newest, measure, versions)
    values = series["value"].to_numpy(dtype="float64", na_value=np.nan)
    keep = (versions == newest[measure]) & (~np.isnan(values) | hidden)
    starts = pd.to_datetime(series["period_start"]).to_numpy()[keep]
    ends = (pd.to_datetime(series["period_end"]).to_numpy()[keep] if "period_end" in series
            else np.full(int(keep.sum()), np.datetime64("NaT")))
    measure, values, hidden = measure[keep], values[keep], hidden[keep]
    order = np.lexsort((starts, measure))  # by measure, then period; stable, as the rows came within a period
    measure, starts, ends, values, hidden = measure[order], starts[order], ends[order], values[order], hidden[order]
    bounds = np.flatnonzero(np.diff(measure)) + 1
    return {names[part[0]]: (start, end, value, flag) for part, start, end, value, flag in
            zip(np.split(measure, bounds), np.split(starts, bounds), np.split(ends, bounds), np.split(values, bounds),
                np.split(hidden, bounds)) if len(part)}
