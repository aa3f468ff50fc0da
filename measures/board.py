"""The board view's rows: for one PCN, each measure's latest value, SPC icons, goal, ICB verdict and trend."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from . import compare, detail, stats, suppression
from .boardpack import attention_reasons
from .catalogue import FAMILIES, Catalogue, Measure
from .overview import goal_text, month_label

TREND_POINTS = 24
CONFIDENCE = 0.95  # the level `judge` reads from compare.with_intervals (its 95% columns)

# Words in a measure's unit or numerator that say it counts resources, not people or events: no Poisson or
# binomial interval describes the sampling error of staff time or money.
_RESOURCE_WORDS = re.compile(r"\b(fte|full-time equivalent|hours?|pounds)\b|£", re.IGNORECASE)

METHOD_NAMES = {"wilson": "Wilson score", "byars": "Byar's"}

# Why a measure is not judged against the ICB: the Fingertips methods give no interval for it.
NOT_EVENTS = "not a count of people or events"
RAW_COUNT = "a raw count, and PCNs differ in size"
STANDARDISED = "a standardised rate needs Dobson's method"


def comparison_method(measure: Measure) -> tuple[str | None, str | None]:
    """The interval that judges the measure against the ICB ('wilson' or 'byars'), or None and the reason.

    Wilson for proportions of people or events, Byar's (exact under 10 events) for rates of events. Means,
    pounds, ratios, staff time (FTE, hours) and proportions of pounds are not events; a raw count is not
    comparable across PCNs of different size; a directly standardised rate needs Dobson's method, which a
    crude Byar's interval would misstate.
    """
    if not compare.supports_intervals(measure):
        return None, NOT_EVENTS
    if _RESOURCE_WORDS.search(f"{measure.unit} {measure.numerator.definition}"):
        return None, NOT_EVENTS
    if measure.type == "count":
        return None, RAW_COUNT
    if "directly standardised" in measure.numerator.definition.lower():
        return None, STANDARDISED
    return ("wilson" if measure.type == "proportion" else "byars"), None


@dataclass(frozen=True)
class Verdict:
    """The PCN's latest value against the ICB's, by the Fingertips rule (interval wholly above or below)."""

    outcome: str  # better, similar, worse (higher, lower with no better direction), not_compared, suppressed
    method: str | None = None  # wilson or byars; None when not compared
    lower: float | None = None
    upper: float | None = None
    reason: str | None = None  # why it is not compared

    @property
    def compared(self) -> bool:
        return self.method is not None and self.outcome not in ("not_compared", "suppressed")


def judge(measure: Measure, numerator: float | None, denominator: float | None, value: float | None,
          comparator: float | None, *, suppressed: bool = False) -> Verdict:
    """Better, similar or worse than the ICB: the PCN's 95% interval wholly above or below the ICB value.

    The interval is the Compare page's (`compare.with_intervals`), so both screens give the same answer.
    """
    method, reason = comparison_method(measure)
    if method is None:
        return Verdict("not_compared", reason=reason)
    if suppressed:
        return Verdict("suppressed", reason="the latest value is suppressed as a small number")
    if _missing(comparator):
        return Verdict("not_compared", reason="no ICB value")
    if _missing(value) or _missing(numerator) or _missing(denominator) or denominator <= 0:
        return Verdict("not_compared", reason="no numerator and denominator for an interval")
    try:
        bounds = compare.with_intervals(pd.DataFrame({"numerator": [float(numerator)],
                                                      "denominator": [float(denominator)]}), measure)
    except ValueError:  # a numerator above its denominator, or below zero: no interval exists
        return Verdict("not_compared", reason="the numerator and denominator give no interval")
    lower, upper = float(bounds["lower_95"].iloc[0]), float(bounds["upper_95"].iloc[0])
    outcome = str(stats.benchmark(float(value), lower, upper, float(comparator), measure.improvement_direction))
    if outcome == "not_compared":
        return Verdict(outcome, reason="the interval is undefined")
    return Verdict(outcome, method, lower, upper)


def _missing(number) -> bool:
    return number is None or bool(pd.isna(number))


@dataclass(frozen=True)
class BoardRow:
    """One measure on the board: what it is now, how its process behaves, and how it sits against the ICB."""

    measure: Measure
    latest_value: float | None = None
    latest_period: date | None = None
    latest_suppressed: bool = False
    numerator: float | None = None
    denominator: float | None = None
    variation: str | None = None  # Making Data Count icon codes, as detail.read gives them
    assurance: str | None = None
    goal: str | None = None
    comparator: float | None = None
    comparator_org: str | None = None
    verdict: Verdict = field(default_factory=lambda: Verdict("not_compared", reason="no data"))
    trend: tuple[float | None, ...] = ()  # oldest to latest; None where a value is suppressed
    reasons: tuple[str, ...] = ()  # why the board pack would give it an exception page

    @property
    def has_data(self) -> bool:
        return self.latest_value is not None or self.latest_suppressed

    @property
    def value_text(self) -> str:
        if self.latest_suppressed:
            return suppression.MARK
        return self.measure.format_value(self.latest_value) if self.has_data else "No data"

    @property
    def period_text(self) -> str:
        return month_label(self.latest_period) if self.latest_period else "no submission yet"

    @property
    def suppressed_points(self) -> int:
        return sum(value is None for value in self.trend)


def board_rows(catalogue: Catalogue, series: pd.DataFrame, comparator: pd.DataFrame | None) -> list[BoardRow]:
    """A row per measure that is not retired, in catalogue order; a measure with no data still has a row.

    `series` and `comparator` are what `queries.overview` returns, with small numbers already suppressed
    (`measures.suppression`): a suppressed latest value shows as *, stays out of the SPC limits and is not
    compared, and shows as a gap in the trend.
    """
    comparators = _comparators(comparator)
    by_measure = dict(tuple(series.groupby("measure", sort=False))) if not series.empty else {}
    rows = []
    for measure in catalogue:
        if measure.status == "retired":
            continue
        rows.append(_row(measure, by_measure.get(measure.id), comparators))
    return rows


def by_family(rows: list[BoardRow]) -> dict[str, list[BoardRow]]:
    """The rows of each family (catalogue.FAMILIES order), each in catalogue order."""
    grouped: dict[str, list[BoardRow]] = {family: [] for family in FAMILIES}
    for row in rows:
        grouped[row.measure.family].append(row)
    return grouped


def _comparators(comparator: pd.DataFrame | None) -> dict:
    if comparator is None or comparator.empty:
        return {}
    return {(measure_id, pd.Timestamp(day)): (None if pd.isna(value) else float(value), org)
            for measure_id, day, value, org in zip(comparator["measure"], pd.to_datetime(comparator["period_start"]),
                                                   comparator["comparator"], comparator["comparator_org"])}


def _row(measure: Measure, series: pd.DataFrame | None, comparators: dict) -> BoardRow:
    if series is None or series.empty:
        return BoardRow(measure, verdict=judge(measure, None, None, None, None))
    rows = detail.latest_version(series, keep_suppressed=True)
    if rows.empty:
        return BoardRow(measure, verdict=judge(measure, None, None, None, None))
    rows = rows.assign(period_start=pd.to_datetime(rows["period_start"])).sort_values("period_start", kind="stable")
    hidden = (rows[suppression.FLAG].fillna(False).astype(bool).to_numpy() if suppression.FLAG in rows
              else np.zeros(len(rows), dtype=bool))
    latest = rows.iloc[-1]
    latest_hidden = bool(hidden[-1])
    latest_period = latest["period_start"].date()
    latest_value = None if latest_hidden else float(latest["value"])
    reading = detail.read(rows, measure)
    comparator_value, comparator_org = comparators.get((measure.id, pd.Timestamp(latest_period)), (None, None))
    numerator = None if latest_hidden or pd.isna(latest["numerator"]) else float(latest["numerator"])
    denominator = None if latest_hidden or pd.isna(latest["denominator"]) else float(latest["denominator"])
    values = rows["value"].to_numpy(dtype="float64", na_value=np.nan)
    trend = tuple(None if h or np.isnan(v) else round(float(v), 4)
                  for v, h in zip(values[-TREND_POINTS:], hidden[-TREND_POINTS:]))
    return BoardRow(
        measure=measure, latest_value=latest_value, latest_period=latest_period, latest_suppressed=latest_hidden,
        numerator=numerator, denominator=denominator,
        variation=reading.variation if reading is not None else None,
        assurance=reading.assurance if reading is not None else None,
        goal=goal_text(measure, latest_period), comparator=comparator_value, comparator_org=comparator_org,
        verdict=judge(measure, numerator, denominator, latest_value, comparator_value, suppressed=latest_hidden),
        trend=trend, reasons=attention_reasons(measure, reading, latest_value, latest_period),
    )
