"""The board view's rows: for one PCN, each measure's latest value, SPC icons, goal, ICB verdict and trend."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd

from . import compare, detail, stats, suppression
from .catalogue import FAMILIES, Catalogue, Measure, financial_year_of
from .overview import covers_financial_year, goal_text, month_label

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
        lower, upper = _interval_95(measure, method, float(numerator), float(denominator))
    except ValueError:
        return Verdict("not_compared", reason="the numerator and denominator give no interval")
    if np.isnan(lower) or np.isnan(upper):
        return Verdict("not_compared", reason="the numerator and denominator give no interval")
    outcome = str(stats.benchmark(float(value), lower, upper, float(comparator), measure.improvement_direction))
    if outcome == "not_compared":
        return Verdict(outcome, reason="the interval is undefined")
    return Verdict(outcome, method, lower, upper)


def _interval_95(measure: Measure, method: str, numerator: float, denominator: float) -> tuple[float, float]:
    """The 95% interval `compare.with_intervals` gives one value that `judge` has found usable (a numerator of
    0 or more over a denominator above 0, a proportion no more than 1), by the same arithmetic without its table:
    the board judges some 30 values per PCN, and the table cost more than the interval."""
    x, n = np.array([numerator]), np.array([denominator])
    if method == "wilson" and measure.type == "proportion":
        low, high = stats.wilson_ci(x, n, compare.LEVELS["95"])
        return (float((np.asarray(low) * measure.multiplier)[0]), float((np.asarray(high) * measure.multiplier)[0]))
    if method == "byar":
        low, high = stats.poisson_ci(x, compare.LEVELS["95"], method="auto")
        if measure.type == "count":
            return float(np.asarray(low, dtype=float)[0]), float(np.asarray(high, dtype=float)[0])
        return (float((np.asarray(low) / n * measure.multiplier)[0]),
                float((np.asarray(high) / n * measure.multiplier)[0]))
    return float("nan"), float("nan")


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
        return self.measure.format_value(self.latest_value) if self.has_data else "No data yet"

    @property
    def period_text(self) -> str:
        if self.latest_period is None:
            when = ""  # the value already says "No data yet"
        else:
            when = financial_year_of(self.latest_period) if self.yearly else month_label(self.latest_period)
        if self.practice_range is not None:
            _, _, shown, hidden = self.practice_range
            counted = f"{shown} of {shown + hidden}" if hidden else f"{shown}"
            return f"across {counted} practice{'' if shown + hidden == 1 else 's'}" + (f", {when}" if when else "")
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
    by_measure = _Columns.of(series)
    ranges = _PracticeRanges(practice_spread)
    rows = []
    for measure in catalogue:
        if measure.status == "retired":
            continue
        row = _row(measure, by_measure, comparators, (rebases or {}).get(measure.id))
        if pcn_value_is_one(measure) and row.latest_period is not None:
            found = ranges.get(measure.id, row.latest_period)
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


class _PracticeRanges:
    """`overview.practice_ranges` of one measure and period, on demand: the board needs it only for the few
    measures whose PCN value is 1 by construction, at their latest period."""

    def __init__(self, practice_spread: pd.DataFrame | None):
        self.empty = practice_spread is None or practice_spread.empty
        if self.empty:
            return
        hidden = (practice_spread[suppression.FLAG].astype(bool).to_numpy() if suppression.FLAG in practice_spread
                  else np.zeros(len(practice_spread), dtype=bool))
        self.measure = practice_spread["measure"].to_numpy()
        self.start = pd.to_datetime(practice_spread["period_start"]).to_numpy("datetime64[ns]")
        self.shown = np.where(hidden, np.nan, practice_spread["value"].to_numpy(dtype="float64", na_value=np.nan))
        self.hidden = hidden

    def get(self, measure_id: str, day: date) -> tuple[float | None, float | None, int, int] | None:
        if self.empty:
            return None
        rows = (self.measure == measure_id) & (self.start == pd.Timestamp(day).to_datetime64())
        if not rows.any():
            return None
        shown = self.shown[rows]
        counted = shown[~np.isnan(shown)]
        low, high = (float(counted.min()), float(counted.max())) if len(counted) else (None, None)
        return low, high, int(len(counted)), int(self.hidden[rows].sum())


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


@dataclass(frozen=True)
class _Columns:
    """A PCN's series as arrays, with each measure's row positions in the order the series has them: the board
    reads 30-odd short series per PCN, and per-series DataFrames cost more than the readings themselves."""

    frame: pd.DataFrame
    positions: Mapping[str, np.ndarray]
    version: np.ndarray
    start: np.ndarray  # datetime64[ns]
    numerator: np.ndarray
    denominator: np.ndarray
    value: np.ndarray
    hidden: np.ndarray  # suppressed as a small number

    @classmethod
    def of(cls, series: pd.DataFrame, by: str = "measure") -> "_Columns | None":
        """`series` as arrays, its rows' positions by measure (or by another column `by`, such as `org`)."""
        if series is None or series.empty:
            return None

        def floats(name: str) -> np.ndarray:
            return series[name].to_numpy(dtype="float64", na_value=np.nan)

        hidden = (series[suppression.FLAG].fillna(False).astype(bool).to_numpy() if suppression.FLAG in series
                  else np.zeros(len(series), dtype=bool))
        return cls(series, series.reset_index(drop=True).groupby(by, sort=False).indices,
                   series["version"].to_numpy(), pd.to_datetime(series["period_start"]).to_numpy("datetime64[ns]"),
                   floats("numerator"), floats("denominator"), floats("value"), hidden)

    def latest_version(self, measure_id: str) -> np.ndarray | None:
        """The positions `detail.latest_version(..., keep_suppressed=True)` keeps of the measure, by period
        (stable); None when it has none."""
        at = self.positions.get(measure_id)
        if at is None or not len(at):
            return None
        at = np.asarray(at)
        versions = self.version[at]
        at = at[(versions == versions.max()) & (~np.isnan(self.value[at]) | self.hidden[at])]
        if not len(at):
            return None
        return at[np.argsort(self.start[at], kind="stable")]


def icons_by(series: pd.DataFrame, measure: Measure, by: str) -> dict[str, tuple[str | None, str | None, int]]:
    """For each value of column `by` (such as each practice) of a tidy series of one measure: its variation and
    assurance icons and how many values it shows, as `detail.read` reads its latest version (no change points),
    on arrays as the board reads each measure."""
    columns = _Columns.of(series, by=by)
    if columns is None:
        return {}
    found = {}
    for key in columns.positions:
        at = columns.latest_version(key)
        if at is None:
            continue
        reading = _reading(columns, at, measure, None)
        if reading is not None:
            found[key] = (reading.variation, reading.assurance, int((~np.isnan(columns.value[at])).sum()))
    return found


@dataclass(frozen=True)
class _Icons:
    """What the board takes from a measure's reading (`detail.Reading`): its icons and how it is read."""

    variation: str | None
    assurance: str | None
    why_points: str | None = None
    withheld: str | None = None
    yearly: bool = False


_STEPS = {"monthly": 1, "quarterly": 3}  # detail.FREQUENCIES in months: month starts, quarters from January


def _reading(columns: _Columns, at: np.ndarray, measure: Measure, rebase: Sequence[date] | None) -> _Icons | None:
    """`detail.read` of the rows at `at` (the latest version, by period), as far as the board uses it.

    The same steps on arrays: shown values, suppressed periods as gaps, missing periods added on the measure's
    calendar, change points moved to the next shown period, and `stats.xmr_icons` for the limits and rules."""
    shown = at[~np.isnan(columns.value[at])]
    if not len(shown):
        return None
    dates, values = columns.start[shown], columns.value[shown]
    latest_day = pd.Timestamp(dates.max()).date()
    if measure.frequency == "annual" or len(shown) < detail.MIN_POINTS_FOR_LIMITS:
        yearly = measure.frequency == "annual" and "period_end" in columns.frame and all(
            covers_financial_year(start, end) for start, end in
            zip(pd.to_datetime(columns.frame["period_start"].iloc[shown]), columns.frame["period_end"].iloc[shown]))
        return _Icons(None, None, "annual" if measure.frequency == "annual" else "short", yearly=yearly)
    hidden = columns.start[at[columns.hidden[at]]]
    if len(np.unique(dates)) < len(dates) or len(np.unique(hidden)) < len(hidden):
        # Two values of one period: as detail.read reads them (it says why it cannot).
        reading = detail.read(columns.frame.iloc[at], measure, rebase=list(rebase) if rebase else None)
        return _Icons(reading.variation, reading.assurance, reading.why_points, reading.withheld, reading.yearly)
    gaps = hidden[~np.isin(hidden, dates)]
    every = np.concatenate([dates, gaps])
    step = _STEPS.get(measure.frequency)
    if step:
        months = every.astype("datetime64[M]")
        on_calendar = (months.astype("datetime64[ns]") == every) & (months.astype(np.int64) % step == 0)
        if on_calendar.all():  # else the rows are read as they are, as detail.read does
            calendar = np.arange(months.min(), months.max() + 1, step).astype("datetime64[ns]")
            gaps = np.concatenate([gaps, calendar[~np.isin(calendar, every)]])
    filled_dates = np.concatenate([dates, gaps])
    filled = np.concatenate([values, np.full(len(gaps), np.nan)])
    order = np.argsort(filled_dates, kind="stable")
    filled_dates, filled = filled_dates[order], filled[order]
    rebases = detail._snapped_rebases(rebase, pd.Series(dates)) if rebase else ()
    starts = np.isin(filled_dates, np.array([day.to_datetime64() for day in rebases], dtype="datetime64[ns]"))
    variation, assurance = stats.xmr_icons(filled, starts, measure.improvement_direction,
                                           detail.assurance_target(measure, latest_day))
    withheld = None
    if len(hidden) and len(hidden) / (len(hidden) + len(shown)) > detail.MAX_SUPPRESSED_SHARE:
        withheld = (f"{len(hidden)} of {len(hidden) + len(shown)} values are suppressed as small numbers, too many "
                    "for the limits to be read: no variation or assurance icon is given")
        variation = assurance = None
    return _Icons(variation, assurance, withheld=withheld)


def _row(measure: Measure, columns: _Columns | None, comparators: dict,
         rebase: Sequence[date] | None = None) -> BoardRow:
    from .boardpack import attention_reasons  # here: the board pack's modules read the board's rows themselves

    at = columns.latest_version(measure.id) if columns is not None else None
    if at is None:
        return BoardRow(measure, verdict=judge(measure, None, None, None, None))
    last = at[-1]
    latest_hidden = bool(columns.hidden[last])
    latest_period = pd.Timestamp(columns.start[last]).date()
    latest_value = None if latest_hidden else float(columns.value[last])
    reading = _reading(columns, at, measure, rebase)
    comparator_value, comparator_org = comparators.get((measure.id, pd.Timestamp(latest_period)), (None, None))
    numerator = None if latest_hidden or np.isnan(columns.numerator[last]) else float(columns.numerator[last])
    denominator = None if latest_hidden or np.isnan(columns.denominator[last]) else float(columns.denominator[last])
    recent = at[-TREND_POINTS:]
    trend = tuple(None if h or np.isnan(v) else round(float(v), 4)
                  for v, h in zip(columns.value[recent], columns.hidden[recent]))
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
