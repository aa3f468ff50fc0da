"""The Overview cards: for one PCN, each measure's latest value, change, trend, target and ICB comparator."""

from __future__ import annotations

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


def practice_ranges(practice_values: pd.DataFrame) -> pd.DataFrame:
    """The lowest and highest practice value of each measure and period, over the values shown.

    `practice_values` is `queries.practice_spread` (one row per practice), suppressed or not; the result has
    measure, period_start, practice_min, practice_max, practices (counted) and suppressed (left out).
    """
    columns = ["measure", "period_start", "practice_min", "practice_max", "practices", "suppressed"]
    if practice_values is None or practice_values.empty:
        return pd.DataFrame(columns=columns)
    frame = practice_values.assign(
        suppressed=practice_values[suppression.FLAG] if suppression.FLAG in practice_values else False)
    shown = frame["value"].where(~frame["suppressed"].astype(bool))
    return (frame.assign(shown=shown).groupby(["measure", "period_start"], as_index=False)
            .agg(practice_min=("shown", "min"), practice_max=("shown", "max"), practices=("shown", "count"),
                 suppressed=("suppressed", "sum"))[columns])


def build_cards(catalogue: Catalogue, series: pd.DataFrame, comparator: pd.DataFrame,
                practice_spread: pd.DataFrame | None = None,
                caveats: dict[tuple[str, date], str] | None = None) -> dict[str, list[Card]]:
    """Cards grouped by family, in catalogue order; a measure with no data still gets a card saying so.

    `practice_spread` (one row per practice, as `queries.practice_spread` returns) adds, for practice-level
    measures, the range across member practices: a PCN average hides who missed out. Values suppressed as small
    numbers (`measures.suppression`) show as * and stay out of the change, trend and range. `caveats`
    (`data_quality.card_caveats`) says where the latest value rests on some of the member practices only.
    """
    spread = {}
    if practice_spread is not None:
        for row in practice_ranges(practice_spread).itertuples():
            spread[(row.measure, pd.Timestamp(row.period_start).date())] = (
                (float(row.practice_min), float(row.practice_max), int(row.practices)), int(row.suppressed))
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
    hidden = (series[suppression.FLAG].fillna(False).astype(bool).to_numpy() if suppression.FLAG in series
              else np.zeros(len(series), dtype=bool))
    newest = series.groupby("measure", sort=False)["version"].transform("max").to_numpy()
    keep = (series["version"].to_numpy() == newest) & (series["value"].notna().to_numpy() | hidden)
    rows = pd.DataFrame({"measure": series["measure"].to_numpy()[keep],
                         "period_start": pd.to_datetime(series["period_start"]).to_numpy()[keep],
                         "period_end": (pd.to_datetime(series["period_end"]).to_numpy()[keep] if "period_end" in series
                                        else np.full(int(keep.sum()), np.datetime64("NaT"))),
                         "value": series["value"].to_numpy(dtype="float64", na_value=np.nan)[keep],
                         "hidden": hidden[keep]}).sort_values(["measure", "period_start"], kind="stable")
    return {measure_id: (group["period_start"].to_numpy(), group["period_end"].to_numpy(), group["value"].to_numpy(),
                         group["hidden"].to_numpy())
            for measure_id, group in rows.groupby("measure", sort=False)}

