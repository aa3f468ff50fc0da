"""One measure for one PCN over time: the SPC result, its icons, goal lines and a plain-English reading."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from . import stats, suppression
from .catalogue import Measure, financial_year_of
from .overview import covers_financial_year

MIN_POINTS_FOR_LIMITS = 12
# Above this share of suppressed values the limits rest on too few of the values recorded to read signals from.
MAX_SUPPRESSED_SHARE = 0.25
SPC_METHOD = "XmR chart, NHSRplotthedots rules"
INTERVAL_METHODS = {"wilson": "Wilson score", "byar": "Byar's method", "dobson": "Dobson's method"}
FREQUENCIES = {"monthly": "MS", "quarterly": "QS-JAN"}

VARIATION_TEXT = {
    "common_cause": "Common cause variation: no signal of change",
    "improvement_high": "Special cause improvement (high)",
    "improvement_low": "Special cause improvement (low)",
    "concern_high": "Special cause concern (high)",
    "concern_low": "Special cause concern (low)",
    "neutral_high": "Special cause variation (high), no direction is better",
    "neutral_low": "Special cause variation (low), no direction is better",
}
ASSURANCE_TEXT = {
    "consistent_pass": "Will consistently meet the target",
    "consistent_fail": "Will consistently fail the target unless the process changes",
    "inconsistent": "Will hit and miss the target at random",
}
SUPPRESSION_METHOD = ("Suppressed values are gaps: the moving ranges either side of each are dropped, and the limits "
                      "and signals use the values shown. Limits computed with the hidden values would let them be "
                      "worked back by subtraction, so none are.")


@dataclass(frozen=True)
class Reading:
    """How one series reads. `mode` is "spc" (an XmR chart with icons) or "points" (values with intervals only).

    `result` has date and value per shown period; in "spc" mode also the `stats.spc` columns, with `lpl` and
    `upl` as calculated and `lpl_shown` / `upl_shown` held within the measure's natural range for display; in
    "points" mode `lower_95` / `upper_95` where the measure's comparison method gives an interval.
    """

    result: pd.DataFrame
    variation: str | None
    assurance: str | None
    target: float | None
    points: int
    suppressed: tuple[pd.Timestamp, ...] = ()  # periods whose values are suppressed as small numbers
    mode: str = "spc"
    why_points: str | None = None  # "annual" or "short" in "points" mode
    rebases: tuple[pd.Timestamp, ...] = ()  # first periods of recalculated limits, as used
    natural_range: tuple[float | None, float | None] = (None, None)
    interval_method: str | None = None  # in "points" mode, the name of the interval drawn (None: no interval)
    withheld: str | None = None  # why an SPC chart's icons are not given, when they are not
    yearly: bool = False  # each value covers a financial year (labelled 2023/24, not by its first month)

    @property
    def too_short(self) -> bool:
        return self.points < MIN_POINTS_FOR_LIMITS

    @property
    def latest_suppressed(self) -> bool:
        return bool(self.suppressed) and max(self.suppressed) > self.result["date"].max()

    @property
    def shows_limits(self) -> bool:
        return self.mode == "spc"

    @property
    def clipped(self) -> bool:
        """Does any process limit lie outside the measure's natural range (shown at its edge)?"""
        if self.mode != "spc":
            return False
        return bool(((self.result["lpl"] != self.result["lpl_shown"]) & self.result["lpl"].notna()).any()
                    or ((self.result["upl"] != self.result["upl_shown"]) & self.result["upl"].notna()).any())

    @property
    def latest_segment_points(self) -> int:
        if self.mode != "spc" or not self.rebases:
            return self.points
        return int((self.result["date"] >= max(self.rebases)).sum())


def latest_version(series: pd.DataFrame, *, keep_suppressed: bool = False) -> pd.DataFrame:
    """The rows of the series' newest version that have a value (and, if asked, those suppressed as small numbers)."""
    if series.empty:
        return series
    # One selection on arrays: the practice table reads each member practice's series, the chart the PCN's twice.
    values = series["value"].to_numpy()
    shown = ~np.isnan(values) if values.dtype.kind == "f" else series["value"].notna().to_numpy()
    if keep_suppressed and suppression.FLAG in series:
        shown = shown | _flagged(series)
    return series[_newest(series) & shown]


def _newest(series: pd.DataFrame) -> np.ndarray:
    version = series["version"].to_numpy()
    if version.dtype.kind in "iu":
        return version == version.max()
    version = series["version"]
    return (version == version.max()).to_numpy(dtype=bool, na_value=False)


def _flagged(series: pd.DataFrame) -> np.ndarray:
    flags = series[suppression.FLAG]
    if flags.dtype == bool:
        return flags.to_numpy()
    return flags.fillna(False).astype(bool).to_numpy()


def suppressed_periods(series: pd.DataFrame) -> tuple[pd.Timestamp, ...]:
    """The periods of the newest version whose values are suppressed as small numbers, oldest first."""
    if series.empty or suppression.FLAG not in series:
        return ()
    hidden = series["period_start"][_newest(series) & _flagged(series)]
    return tuple(sorted(pd.to_datetime(hidden)))


def target_for(measure: Measure, day: date) -> float | None:
    """The goal a latest value is held to: a target where the catalogue sets one, else the IIF upper threshold.

    For whether a measure needs attention. Assurance icons use `assurance_target` (explicit targets only).
    """
    target = measure.target_for(day)
    if target:
        return target.value
    threshold = measure.threshold_for(day)
    return threshold.upper if threshold else None


def assurance_target(measure: Measure, day: date) -> float | None:
    """The explicit target for the financial year of `day`, or None: IIF thresholds are payment bands, not targets."""
    target = measure.target_for(day)
    return target.value if target else None


def natural_range(measure: Measure, values=()) -> tuple[float | None, float | None]:
    """The values a measure can take: 0 to 100% for a percentage, never below 0 for the rest.

    No catalogue measure can be negative. A proportion that can pass 100% (a budget overspent) shows it in its
    values, and then has no upper bound.
    """
    values = np.asarray(values, dtype=float)
    top = float(measure.multiplier) if measure.type == "proportion" else None
    if top is not None and len(values) and np.nanmax(values, initial=-np.inf) > top:
        top = None
    return 0.0, top


def interval_method(measure: Measure) -> str | None:
    """The name of the interval drawn around a single value, from the measure's comparison method; None if none."""
    return INTERVAL_METHODS.get(getattr(measure, "comparison", None) or "")


def _with_intervals(frame: pd.DataFrame, measure: Measure) -> tuple[pd.DataFrame, str | None]:
    from . import compare  # compare reads readings too; imported here to keep the modules independent

    method = interval_method(measure)
    if method is None or "numerator" not in frame:
        return frame.assign(lower_95=np.nan, upper_95=np.nan), None
    try:
        bounded = compare.with_intervals(frame, measure)
    except (ValueError, ZeroDivisionError):  # a period the method cannot take (a zero denominator): no bars
        return frame.assign(lower_95=np.nan, upper_95=np.nan), None
    for column in ("lower_95", "upper_95"):
        if column not in bounded:
            bounded[column] = np.nan
    found = bounded["lower_95"].notna().any()
    return bounded, method if found else None


def _snapped_rebases(rebase, dates: pd.Series) -> tuple[pd.Timestamp, ...]:
    """Each change point moved to the first shown period on or after it; one at the first period changes nothing."""
    if not rebase or dates.empty:
        return ()
    ordered = np.sort(pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]"))
    snapped = set()
    for day in rebase:
        position = np.searchsorted(ordered, pd.Timestamp(day).to_datetime64(), side="left")
        if 0 < position < len(ordered):
            snapped.add(pd.Timestamp(ordered[position]))
    return tuple(sorted(snapped))


def _filled(frame: pd.DataFrame, hidden: tuple[pd.Timestamp, ...], measure: Measure) -> pd.DataFrame:
    """The shown values with a gap row for each suppressed and each missing period, so gaps break moving ranges."""
    gaps = pd.DataFrame({"date": pd.to_datetime(list(hidden)), "value": np.nan})
    gaps = gaps[~gaps["date"].isin(frame["date"])]
    combined = pd.concat([frame, gaps], ignore_index=True) if len(gaps) else frame
    freq = FREQUENCIES.get(measure.frequency)
    if freq:
        try:
            combined = stats.fill_missing_periods(combined, "date", freq=freq)
        except ValueError:  # periods off the measure's calendar: read the rows as they are
            pass
    return combined.sort_values("date", kind="stable").reset_index(drop=True)


def read(series: pd.DataFrame, measure: Measure, rebase: list[date] | None = None) -> Reading | None:
    """The reading of a tidy series, or None when it has no value shown.

    Annual measures, and series of fewer than 12 values, are read as points with intervals: no limits, no
    variation or assurance icon. Otherwise an XmR chart: suppressed and missing periods are gaps that break the
    moving ranges; `rebase` dates start new limits (each moved to the first period on or after it); assurance is
    judged only against an explicit target for the latest period's financial year; limits are also given held
    within the measure's natural range, for display.
    """
    rows = latest_version(series)
    if len(rows) < 1:
        return None
    hidden = suppressed_periods(series)
    columns = {"date": pd.to_datetime(rows["period_start"]).to_numpy(), "value": rows["value"].astype(float).to_numpy()}
    for part in ("numerator", "denominator"):
        if part in rows:
            columns[part] = rows[part].astype(float).to_numpy()
    frame = pd.DataFrame(columns).sort_values("date", kind="stable").reset_index(drop=True)
    yearly = measure.frequency == "annual" and "period_end" in rows and all(
        covers_financial_year(start, end) for start, end in zip(rows["period_start"], rows["period_end"]))
    latest_day = frame["date"].max().date()
    target = assurance_target(measure, latest_day)
    bounds = natural_range(measure, frame["value"])
    if measure.frequency == "annual" or len(frame) < MIN_POINTS_FOR_LIMITS:
        result, method = _with_intervals(frame, measure)
        # The columns an XmR reading has, empty, added in one step (one `assign` of each cost more than the rest).
        empty = {**dict.fromkeys(("mean", "lpl", "upl", "lpl_shown", "upl_shown"), np.nan), "point_type": None,
                 "rebase_group": 0}
        result = pd.concat([result, pd.DataFrame(empty, index=result.index)], axis=1)
        return Reading(result.reset_index(drop=True), None, None, target, len(frame), hidden, mode="points",
                       why_points="annual" if measure.frequency == "annual" else "short",
                       natural_range=bounds, interval_method=method, yearly=yearly)

    rebases = _snapped_rebases(rebase, frame["date"])
    with warnings.catch_warnings():
        # Short segments are named in the reading (`latest_segment_points`); the package's warning says the same.
        warnings.simplefilter("ignore", UserWarning)
        result = stats.spc(_filled(frame[["date", "value"]], hidden, measure), "value", "date",
                           improvement_direction=measure.improvement_direction, target=target,
                           rebase=list(rebases) or None, gaps="break")
    variation, assurance = stats.spc_icons(result)
    result = result[result["value"].notna()].merge(frame.drop(columns="value"), on="date", how="left")
    result["lpl_shown"], result["upl_shown"] = stats.clip_limits(result["lpl"], result["upl"], *bounds)
    withheld = None
    if hidden and len(hidden) / (len(hidden) + len(frame)) > MAX_SUPPRESSED_SHARE:
        withheld = (f"{len(hidden)} of {len(hidden) + len(frame)} values are suppressed as small numbers, too many "
                    "for the limits to be read: no variation or assurance icon is given")
        variation = assurance = None
    return Reading(result.reset_index(drop=True), variation, assurance, target, len(frame), hidden,
                   rebases=rebases, natural_range=bounds, withheld=withheld)


def points_reason(reading: Reading) -> str:
    """Why a series is drawn as points with intervals, not as an XmR chart (empty for an XmR chart)."""
    if reading.mode != "points":
        return ""
    if reading.why_points == "annual":
        return "an annual measure: no SPC limits or variation and assurance icons"
    return f"fewer than {MIN_POINTS_FOR_LIMITS} values: no SPC limits or variation and assurance icons yet"


def method_subtitle(reading: Reading, measure: Measure) -> str:
    """The chart's subtitle: the method, any recalculation of the limits, and which direction is better."""
    direction = {"increase": "higher is better", "decrease": "lower is better",
                 "neutral": "no direction is better"}[measure.improvement_direction]
    if reading.mode == "points":
        what = f"{reading.points} value{'s' if reading.points != 1 else ''}"
        interval = (f" with 95% confidence intervals ({reading.interval_method})" if reading.interval_method
                    else ", no interval for this measure")
        return f"{what}{interval}; {points_reason(reading)}; {direction}"
    text = SPC_METHOD
    if reading.rebases:
        text += "; limits recalculated from " + ", ".join(f"{d:%b %Y}" for d in reading.rebases)
    return f"{text}; {direction}"


def chart_notes(reading: Reading, measure: Measure) -> list[str]:
    """Footnote lines that say how the chart treats what it does not show plainly."""
    notes = []
    if reading.clipped:
        low, high = reading.natural_range
        edges = " and ".join(measure.format_value(edge) for edge in (low, high) if edge is not None)
        notes.append(f"Process limits beyond the possible range are drawn at its edge ({edges}); "
                     "the numbers behind the chart give them as calculated.")
    if reading.mode == "spc" and reading.suppressed:
        notes.append(SUPPRESSION_METHOD)
    if reading.withheld:
        notes.append(reading.withheld[0].upper() + reading.withheld[1:] + ".")
    return notes


POINT_TEXT = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Special cause: improvement",
    "special_cause_concern": "Special cause: concern",
    "special_cause_neutral_high": "Special cause: high",
    "special_cause_neutral_low": "Special cause: low",
    "suppressed": "Suppressed (small number); a gap in the limits",
}


def period_text(reading: Reading, day, *, long: bool = False) -> str:
    """`Jan 2025` (`January 2025` when long), or the financial year `2023/24` of a value that covers one."""
    day = pd.Timestamp(day)
    if reading.yearly:
        return financial_year_of(day.date())
    return day.strftime("%B %Y" if long else "%b %Y")


def data_table(series: pd.DataFrame, reading: Reading, measure: Measure) -> pd.DataFrame:
    """The numbers behind the chart, a row per period: the parts, the value, and the limits or the interval.

    Process limits are given as calculated, not held within the natural range as the chart draws them. A
    period whose value is suppressed as a small number has a row with no numbers and the `suppressed` flag,
    so the table shows the footnote and a download writes `*` in its parts and value.
    """
    joined = reading.result.copy()
    for part in ("numerator", "denominator"):
        if part not in joined:
            joined[part] = np.nan
    if reading.suppressed:
        hidden = pd.DataFrame({"date": pd.to_datetime(list(reading.suppressed)), "point_type": "suppressed"})
        joined = pd.concat([joined, hidden], ignore_index=True).sort_values("date", kind="stable")
    digits = measure.decimals + 2
    columns = {
        "Period": [period_text(reading, d) for d in joined["date"]],
        "Numerator": joined["numerator"],
        "Denominator": joined["denominator"],
        measure.label: joined["value"].round(digits),
    }
    if reading.mode == "spc":
        columns.update({
            "Mean": joined["mean"].round(digits),
            "Lower process limit": joined["lpl"].round(digits),
            "Upper process limit": joined["upl"].round(digits),
            "Point": joined["point_type"].map(POINT_TEXT).fillna(joined["point_type"]),
        })
        if reading.rebases:
            starts = pd.Series(pd.NaT, index=joined.index)
            for first in reading.rebases:
                starts[joined["date"] >= first] = first
            columns["Limits from"] = [f"{d:%b %Y}" if pd.notna(d) else "first period" for d in starts]
    else:
        columns.update({
            "Lower 95% limit": joined["lower_95"].round(digits) if "lower_95" in joined else np.nan,
            "Upper 95% limit": joined["upper_95"].round(digits) if "upper_95" in joined else np.nan,
        })
    columns[suppression.FLAG] = (joined["point_type"] == "suppressed").to_numpy()
    table = pd.DataFrame(columns).reset_index(drop=True)
    table.attrs[suppression.COLUMNS_ATTR] = ["Numerator", "Denominator", measure.label]
    return table


def goal_lines(measure: Measure, start: date, end: date) -> pd.DataFrame:
    """Targets and IIF thresholds as horizontal segments over the financial years they apply to."""
    rows = []
    first = pd.Timestamp(start)
    last = (pd.Timestamp(end) + pd.DateOffset(years=1) - pd.Timedelta(days=1) if measure.frequency == "annual"
            else pd.Timestamp(end) + pd.offsets.MonthEnd(0))
    for threshold in measure.thresholds:
        year_start = pd.Timestamp(int(threshold.financial_year[:4]), 4, 1)
        span = (max(first, year_start), min(last, year_start + pd.DateOffset(years=1) - pd.Timedelta(days=1)))
        if span[0] > span[1]:
            continue
        rows.append((*span, threshold.lower, "IIF thresholds"))
        rows.append((*span, threshold.upper, "IIF thresholds"))
    for target in measure.targets:
        year_start = pd.Timestamp(int(target.financial_year[:4]), 4, 1)
        span = (max(first, year_start), min(last, year_start + pd.DateOffset(years=1) - pd.Timedelta(days=1)))
        if span[0] <= span[1]:
            rows.append((*span, target.value, target.label or "Target"))
    return pd.DataFrame(rows, columns=["start", "end", "value", "label"])


RULE_TEXT = {"outside_limits": "the latest point is outside the process limits",
             "trend": "the latest points form a run of consecutive rises or falls",
             "two_in_three": "two of the last three points are close to a process limit",
             "run": "the latest points sit in a run on one side of the mean"}


def narrative(reading: Reading, measure: Measure, org_name: str) -> str:
    """A deterministic plain-English sentence on what the chart shows, for boards and board packs.

    Limits are given as the chart draws them, within the measure's natural range.
    """
    result = reading.result
    last = result.iloc[-1]
    when = period_text(reading, last["date"], long=True)
    sentence = f"{measure.label} for {org_name} was {measure.format_value(last['value'])} in {when}"
    if reading.mode == "points":
        if reading.interval_method and pd.notna(last.get("lower_95")):
            sentence += (f" (95% confidence interval {measure.format_value(last['lower_95'])} to "
                         f"{measure.format_value(last['upper_95'])}, {reading.interval_method})")
        sentence += ". "
        sentence += ("An annual measure gives too few points for an SPC chart, so it has no variation or "
                     "assurance icon." if reading.why_points == "annual" else
                     f"With {reading.points} value{'s' if reading.points != 1 else ''}, fewer than "
                     f"{MIN_POINTS_FOR_LIMITS}, SPC limits cannot be trusted yet, so there is no variation or "
                     "assurance icon.")
    else:
        sentence += f", against a mean of {measure.format_value(last['mean'])}"
        if pd.notna(last["lpl_shown"]) and pd.notna(last["upl_shown"]):
            sentence += (f" and process limits of {measure.format_value(last['lpl_shown'])} to "
                         f"{measure.format_value(last['upl_shown'])}")
            if last["lpl_shown"] != last["lpl"] or last["upl_shown"] != last["upl"]:
                sentence += " (as far as the measure can go)"
        sentence += ". "
        if reading.rebases:
            first = max(reading.rebases)
            sentence += f"The limits are recalculated from {first:%B %Y}"
            if reading.latest_segment_points < MIN_POINTS_FOR_LIMITS:
                sentence += (f" and rest on {reading.latest_segment_points} points since, so they are "
                             "provisional")
            sentence += ". "
        if reading.withheld:
            sentence += reading.withheld[0].upper() + reading.withheld[1:] + "."
        else:
            rule = last.get("special_cause_rule")
            rule_text = RULE_TEXT.get(rule if isinstance(rule, str) else "")
            variation = VARIATION_TEXT.get(reading.variation or "", "")
            sentence += variation + (f": {rule_text}." if rule_text and reading.variation != "common_cause"
                                     else ".")
            if reading.assurance and reading.target is not None:
                sentence += (f" Against the target of {measure.format_value(reading.target)} for "
                             f"{financial_year_of(pd.Timestamp(last['date']).date())}: "
                             f"{ASSURANCE_TEXT[reading.assurance].lower()}.")
    if reading.suppressed:
        count = len(reading.suppressed)
        sentence += (f" {count} value{'s are' if count != 1 else ' is'} suppressed as small numbers"
                     + (f", including the latest ({pd.Timestamp(max(reading.suppressed)):%B %Y})"
                        if reading.latest_suppressed else "")
                     + ("; each is a gap in the limits, which use the values shown." if reading.mode == "spc"
                        else "; the chart shows the values that are not."))
    return sentence.strip()


def financial_year_label(day: date) -> str:
    return financial_year_of(day)
