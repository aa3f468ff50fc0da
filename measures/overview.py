"""The Overview cards: for one PCN, each measure's latest value, change, trend, target and ICB comparator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from .catalogue import FAMILIES, Catalogue, Measure

TREND_POINTS = 24


@dataclass(frozen=True)
class Card:
    measure: Measure
    latest_value: float | None = None
    latest_period: date | None = None
    previous_value: float | None = None
    previous_period: date | None = None
    trend: list[float] = field(default_factory=list)
    comparator: float | None = None
    comparator_org: str | None = None
    goal: str | None = None  # threshold or target text for the latest period's financial year
    practice_range: tuple[float, float, int] | None = None  # lowest, highest, practices counted

    @property
    def has_data(self) -> bool:
        return self.latest_value is not None

    @property
    def value_text(self) -> str:
        return self.measure.format_value(self.latest_value) if self.has_data else "No data"

    @property
    def period_text(self) -> str:
        return month_label(self.latest_period) if self.latest_period else "no submission yet"

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
        return f"{self.change:+,.{self.measure.decimals}f}{unit} since {month_label(self.previous_period)}"

    @property
    def delta_color(self) -> str:
        """Streamlit metric colouring that follows the measure's improvement direction."""
        return {"increase": "normal", "decrease": "inverse"}.get(self.measure.improvement_direction, "off")

    @property
    def practice_range_text(self) -> str | None:
        if not self.practice_range:
            return None
        low, high, count = self.practice_range
        return f"{count} practices: {self.measure.format_value(low)} to {self.measure.format_value(high)}"

    @property
    def comparator_text(self) -> str | None:
        if self.comparator is None:
            return None
        return f"ICB average {self.measure.format_value(self.comparator)}"


def month_label(day: date | pd.Timestamp | None) -> str:
    return pd.Timestamp(day).strftime("%b %Y") if day is not None else ""


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


def build_cards(catalogue: Catalogue, series: pd.DataFrame, comparator: pd.DataFrame,
                practice_spread: pd.DataFrame | None = None) -> dict[str, list[Card]]:
    """Cards grouped by family, in catalogue order; a measure with no data still gets a card saying so.

    `practice_spread` (measure, period_start, practice_min, practice_max, practices) adds, for
    practice-level measures, the range across member practices: a PCN average hides who missed out.
    """
    spread = {}
    if practice_spread is not None:
        for row in practice_spread.itertuples():
            spread[(row.measure, pd.Timestamp(row.period_start).date())] = (
                float(row.practice_min), float(row.practice_max), int(row.practices))
    by_measure = {m: rows for m, rows in series.groupby("measure", sort=False)} if not series.empty else {}
    cards: dict[str, list[Card]] = {family: [] for family in FAMILIES}
    for measure in catalogue:
        if measure.status == "retired":
            continue
        rows = by_measure.get(measure.id)
        if rows is None:
            cards[measure.family].append(Card(measure))
            continue
        rows = rows[rows["version"] == rows["version"].max()].dropna(subset=["value"]).sort_values("period_start")
        if rows.empty:
            cards[measure.family].append(Card(measure))
            continue
        latest = rows.iloc[-1]
        previous = rows.iloc[-2] if len(rows) > 1 else None
        latest_period = pd.Timestamp(latest["period_start"]).date()
        match = comparator[(comparator["measure"] == measure.id)
                           & (pd.to_datetime(comparator["period_start"]) == pd.Timestamp(latest_period))]
        cards[measure.family].append(Card(
            measure=measure,
            latest_value=float(latest["value"]),
            latest_period=latest_period,
            previous_value=float(previous["value"]) if previous is not None else None,
            previous_period=pd.Timestamp(previous["period_start"]).date() if previous is not None else None,
            trend=[round(float(v), 4) for v in rows["value"].tail(TREND_POINTS)],
            comparator=float(match["comparator"].iloc[0]) if not match.empty and pd.notna(match["comparator"].iloc[0]) else None,
            comparator_org=match["comparator_org"].iloc[0] if not match.empty else None,
            goal=goal_text(measure, latest_period),
            practice_range=spread.get((measure.id, latest_period)) if measure.level == "practice" else None,
        ))
    return cards
