"""The board view's rows: for one PCN, each measure's latest value, SPC icons, goal, ICB verdict and trend."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd

from . import compare, detail, stats, suppression
from .boardpack import attention_reasons
from .catalogue import FAMILIES, Catalogue, Measure, financial_year_of
from .overview import goal_text, month_label, practice_ranges

TREND_POINTS = 24
CONFIDENCE = 0.95  # the level `judge` reads from compare.with_intervals (its 95% columns)

# Words in a measure's unit or numerator that say it counts resources, not people or events: no Poisson or
# binomial interval describes the sampling error of staff time or money.
_RESOURCE_WORDS = re.compile(r"\b(fte|full-time equivalent|hours?|pounds)\b|£", re.IGNORECASE)

METHOD_NAMES = {"wilson": "Wilson score", "byar": "Byar's method, exact under 10 events"}

# Why a measure is not judged against the ICB. The first three are also why a measure declared `none` has no
# interval: the Fingertips methods give none for it.
NOT_EVENTS = "not a count of people or events"
RAW_COUNT = "a raw count, and PCNs differ in size"
STANDARDISED = "a directly standardised rate: Dobson's method needs age bands, which this database does not hold"
NORMAL = ("compared by the spread of every PCN's values (Compare areas), which one PCN against its ICB's value "
          "cannot show")
NO_METHOD = "its catalogue file declares no comparison method"


def comparison_method(measure: Measure) -> tuple[str | None, str | None]:
    """The interval that judges the measure against the ICB ('wilson' or 'byar'), or None and the reason.

    The method is the catalogue's `comparison`: Wilson score for a proportion of people or events; Byar's
    (exact under 10 events) for a rate of events, but not for a raw count, which Compare areas ranks per 1,000
    patients and the board has no list size to divide by. Dobson's method needs each PCN's events and
    population by age band, which no import provides, and a crude Byar's interval would misstate a
    standardised rate. A normal interval comes from the spread of many PCNs' values, not from one PCN's
    numerator. A measure declared `none` says why none applies.
    """
    declared = measure.comparison or "none"
    if declared == "wilson" and measure.type == "proportion":
        return "wilson", None
    if declared == "byar":
        return (None, RAW_COUNT) if measure.type == "count" else ("byar", None)
    if declared == "dobson":
        return None, STANDARDISED
    if declared == "normal":
        return None, NORMAL
    return None, no_interval_reason(measure)


def no_interval_reason(measure: Measure) -> str:
    """Why a measure declared `none` has no interval: staff time, money, ratios and means are not events, and
    a raw count is not comparable across PCNs of different size."""
    if not compare.supports_intervals(measure) or _RESOURCE_WORDS.search(
            f"{measure.unit} {measure.numerator.definition}"):
        return NOT_EVENTS
    if measure.type == "count":
        return RAW_COUNT
    if "directly standardised" in measure.numerator.definition.lower():
        return STANDARDISED
    return NO_METHOD


@dataclass(frozen=True)
class Verdict:
    """The PCN's latest value against the ICB's, by the Fingertips rule (interval wholly above or below)."""

    outcome: str  # better, similar, worse (higher, lower with no better direction), not_compared, suppressed
    method: str | None = None  # wilson or byar (the catalogue's names); None when not compared
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
    if numerator < 0 or (method == "wilson" and numerator > denominator):  # an overspend has no Wilson interval
        return Verdict("not_compared", reason="the numerator and denominator give no interval")
    try:
        bounds = compare.with_intervals(pd.DataFrame({"numerator": [float(numerator)],
                                                      "denominator": [float(denominator)]}), measure, method=method)
    except ValueError:
        return Verdict("not_compared", reason="the numerator and denominator give no interval")
    lower, upper = float(bounds["lower_95"].iloc[0]), float(bounds["upper_95"].iloc[0])
    if np.isnan(lower) or np.isnan(upper):
        return Verdict("not_compared", reason="the numerator and denominator give no interval")
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
    why_points: str | None = None  # "annual" or "short" when the series is read as points, with no icons
    withheld: str | None = None  # why an XmR chart's icons are not given (too many values suppressed)
    yearly: bool = False  # each value covers a financial year: its period reads 2023/24, not Apr 2023
    goal: str | None = None
    comparator: float | None = None
    comparator_org: str | None = None
    verdict: Verdict = field(default_factory=lambda: Verdict("not_compared", reason="no data"))
    trend: tuple[float | None, ...] = ()  # oldest to latest; None where a value is suppressed
    reasons: tuple[str, ...] = ()  # why the board pack would give it an exception page
    # For a measure whose PCN value is 1 by construction: the lowest and highest practice value of the latest
    # period, the practices shown and those suppressed as small numbers; None for every other measure.
    practice_range: tuple[float | None, float | None, int, int] | None = None
    # "1 of 5 practices missing" when the latest value leaves out member practices (data_quality.card_caveats).
    caveat: str | None = None

    @property
    def has_data(self) -> bool:
        return self.latest_value is not None or self.latest_suppressed

    @property
    def value_text(self) -> str:
        if self.practice_range is not None:
            low, high, shown, _ = self.practice_range
            if not shown:
                return suppression.MARK
            if self.measure.format_value(low) == self.measure.format_value(high):
                return f"{self.measure.format_value(low)}×"
            return f"{self.measure.format_value(low)}–{self.measure.format_value(high)}×"
        if self.latest_suppressed:
            return suppression.MARK
        return self.measure.format_value(self.latest_value) if self.has_data else "No data"

    @property
    def period_text(self) -> str:
        if self.latest_period is None:
            when = "no submission yet"
        else:
            when = financial_year_of(self.latest_period) if self.yearly else month_label(self.latest_period)
        if self.practice_range is not None:
            _, _, shown, hidden = self.practice_range
            counted = f"{shown} of {shown + hidden}" if hidden else f"{shown}"
            return f"across {counted} practice{'' if shown + hidden == 1 else 's'}, {when}"
        return when

    @property
    def suppressed_points(self) -> int:
        return sum(value is None for value in self.trend)


def pcn_value_is_one(measure: Measure) -> bool:
    """Is the measure's PCN value 1 by construction (a practice's share of a PCN resource over its fair share)?

    Its numerator is the practice's part of the resource and its denominator the practice's fair share of the
    PCN's whole resource, so summed over the practices both are the PCN's total: 1.00 every month, a flat line
    that says nothing. What says something is the spread across its practices.
    """
    return measure.level == "practice" and measure.fair_share is not None and measure.type == "ratio"


def board_rows(catalogue: Catalogue, series: pd.DataFrame, comparator: pd.DataFrame | None,
               practice_spread: pd.DataFrame | None = None,
               rebases: Mapping[str, Sequence[date]] | None = None,
               caveats: Mapping[tuple[str, date], str] | None = None) -> list[BoardRow]:
    """A row per measure that is not retired, in catalogue order; a measure with no data still has a row.

    `series` and `comparator` are what `queries.overview` returns, with small numbers already suppressed
    (`measures.suppression`): a suppressed latest value shows as *, stays out of the SPC limits and is not
    compared, and shows as a gap in the trend. `practice_spread` (`queries.practice_spread`, suppressed)
    gives a measure whose PCN value is 1 by construction (`pcn_value_is_one`) the range across its practices
    in place of that 1.00, with no trend, icons or ICB value, which would only describe the constant.
    `rebases` (measure id -> change points, `annotations.rebase_dates_by_measure`) recalculates the limits as
    Measure detail does, so both give the same icons. `caveats` ((measure id, period start) -> text,
    `data_quality.card_caveats`) gives a row whose latest value leaves out member practices its caveat, as the
    Overview's card has it.
    """
    comparators = _comparators(comparator)
    by_measure = dict(tuple(series.groupby("measure", sort=False))) if not series.empty else {}
    ranges = _practice_ranges(practice_spread)
    rows = []
    for measure in catalogue:
        if measure.status == "retired":
            continue
        row = _row(measure, by_measure.get(measure.id), comparators, (rebases or {}).get(measure.id))
        if pcn_value_is_one(measure) and row.latest_period is not None:
            found = ranges.get((measure.id, pd.Timestamp(row.latest_period)))
            row = replace(row, practice_range=found or (None, None, 0, 0), trend=(), variation=None,
                          assurance=None, why_points=None, withheld=None, comparator=None, comparator_org=None,
                          verdict=Verdict("not_compared", reason="1.00 at PCN level by construction"))
        if caveats and row.latest_period is not None:
            row = replace(row, caveat=caveats.get((measure.id, row.latest_period)))
        rows.append(row)
    return rows


def needing_attention(rows: list[BoardRow]) -> list[BoardRow]:
    """The rows the board pack gives an exception page (special-cause concern, a missed target or IIF threshold,
    consistently failing), in board order: the steps of meeting mode after the board itself."""
    return [row for row in rows if row.reasons]


def measure_reading(series: pd.DataFrame, measure: Measure,
                    rebase: Sequence[date] | None = None) -> detail.Reading | None:
    """The SPC reading of one measure's rows of `series` (as `board_rows` reads them, with the same change
    points), for its chart."""
    rows = series[series["measure"] == measure.id] if not series.empty else series
    rows = detail.latest_version(rows, keep_suppressed=True)
    if rows.empty:
        return None
    rows = rows.assign(period_start=pd.to_datetime(rows["period_start"])).sort_values("period_start", kind="stable")
    return detail.read(rows, measure, rebase=list(rebase) if rebase else None)


def _practice_ranges(practice_spread: pd.DataFrame | None) -> dict:
    if practice_spread is None or practice_spread.empty:
        return {}
    return {(row.measure, pd.Timestamp(row.period_start)):
            (None if pd.isna(row.practice_min) else float(row.practice_min),
             None if pd.isna(row.practice_max) else float(row.practice_max), int(row.practices), int(row.suppressed))
            for row in practice_ranges(practice_spread).itertuples()}


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


def _row(measure: Measure, series: pd.DataFrame | None, comparators: dict,
         rebase: Sequence[date] | None = None) -> BoardRow:
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
    reading = detail.read(rows, measure, rebase=list(rebase) if rebase else None)
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
        why_points=reading.why_points if reading is not None else None,
        withheld=reading.withheld if reading is not None else None,
        yearly=reading.yearly if reading is not None else False,
        goal=goal_text(measure, latest_period), comparator=comparator_value, comparator_org=comparator_org,
        verdict=judge(measure, numerator, denominator, latest_value, comparator_value, suppressed=latest_hidden),
        trend=trend, reasons=attention_reasons(measure, reading, latest_value, latest_period),
    )
