"""One measure for one PCN over time: the SPC result, its icons, goal lines and a plain-English reading."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date

import pandas as pd

from . import stats, suppression
from .catalogue import Measure, financial_year_of

MIN_POINTS_FOR_LIMITS = 12

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


@dataclass(frozen=True)
class Reading:
    result: pd.DataFrame
    variation: str | None
    assurance: str | None
    target: float | None
    points: int
    suppressed: tuple[pd.Timestamp, ...] = ()  # periods whose values are suppressed as small numbers

    @property
    def too_short(self) -> bool:
        return self.points < MIN_POINTS_FOR_LIMITS

    @property
    def latest_suppressed(self) -> bool:
        return bool(self.suppressed) and max(self.suppressed) > self.result["date"].max()


def latest_version(series: pd.DataFrame, *, keep_suppressed: bool = False) -> pd.DataFrame:
    """The rows of the series' newest version that have a value (and, if asked, those suppressed as small numbers)."""
    if series.empty:
        return series
    rows = series[series["version"] == series["version"].max()]
    shown = rows["value"].notna()
    if keep_suppressed and suppression.FLAG in rows:
        shown |= rows[suppression.FLAG].fillna(False).astype(bool)
    return rows[shown]


def suppressed_periods(series: pd.DataFrame) -> tuple[pd.Timestamp, ...]:
    """The periods of the newest version whose values are suppressed as small numbers, oldest first."""
    if series.empty or suppression.FLAG not in series:
        return ()
    rows = latest_version(series, keep_suppressed=True)
    hidden = rows[rows[suppression.FLAG].fillna(False).astype(bool)]
    return tuple(sorted(pd.to_datetime(hidden["period_start"])))


def target_for(measure: Measure, day: date) -> float | None:
    """A target where the catalogue sets one; otherwise the IIF upper threshold (full payment)."""
    target = measure.target_for(day)
    if target:
        return target.value
    threshold = measure.threshold_for(day)
    return threshold.upper if threshold else None


def read(series: pd.DataFrame, measure: Measure, rebase: list[date] | None = None) -> Reading | None:
    """The SPC reading of a tidy series, or None when fewer than two values exist.

    Values suppressed as small numbers are left out: the limits and signals use the values shown.
    """
    rows = latest_version(series)
    if len(rows) < 2:
        return None
    frame = pd.DataFrame({"date": pd.to_datetime(rows["period_start"]), "value": rows["value"].astype(float)})
    target = target_for(measure, frame["date"].max().date())
    with warnings.catch_warnings():
        # Short series are flagged by `Reading.too_short`, which the page and packs show in words.
        warnings.simplefilter("ignore", UserWarning)
        result = stats.spc(frame, "value", "date", improvement_direction=measure.improvement_direction,
                           target=target, rebase=[pd.Timestamp(d) for d in rebase] if rebase else None)
    variation, assurance = stats.spc_icons(result)
    return Reading(result.reset_index(drop=True), variation, assurance, target, len(frame),
                   suppressed_periods(series))


POINT_TEXT = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Special cause: improvement",
    "special_cause_concern": "Special cause: concern",
    "special_cause_neutral_high": "Special cause: high",
    "special_cause_neutral_low": "Special cause: low",
    "suppressed": "Suppressed (small number); left out of the limits",
}


def data_table(series: pd.DataFrame, reading: Reading, measure: Measure) -> pd.DataFrame:
    """The numbers behind the SPC chart, a row per period: the parts, the value, the limits and the point type.

    A period whose value is suppressed as a small number has a row with no numbers and the `suppressed` flag,
    so the table shows the footnote and a download writes `*` in its parts and value.
    """
    rows = latest_version(series).assign(date=lambda f: pd.to_datetime(f["period_start"]))
    joined = reading.result.merge(rows[["date", "numerator", "denominator"]], on="date", how="left")
    if reading.suppressed:
        hidden = pd.DataFrame({"date": pd.to_datetime(list(reading.suppressed)), "point_type": "suppressed"})
        joined = pd.concat([joined, hidden], ignore_index=True).sort_values("date", kind="stable")
    table = pd.DataFrame({
        "Period": joined["date"].dt.strftime("%b %Y"),
        "Numerator": joined["numerator"],
        "Denominator": joined["denominator"],
        measure.label: joined["value"].round(measure.decimals + 2),
        "Mean": joined["mean"].round(measure.decimals + 2),
        "Lower process limit": joined["lpl"].round(measure.decimals + 2),
        "Upper process limit": joined["upl"].round(measure.decimals + 2),
        "Point": joined["point_type"].map(POINT_TEXT).fillna(joined["point_type"]),
        suppression.FLAG: (joined["point_type"] == "suppressed").to_numpy(),
    }).reset_index(drop=True)
    table.attrs[suppression.COLUMNS_ATTR] = ["Numerator", "Denominator", measure.label]
    return table


def goal_lines(measure: Measure, start: date, end: date) -> pd.DataFrame:
    """Targets and IIF thresholds as horizontal segments over the financial years they apply to."""
    rows = []
    first = pd.Timestamp(start)
    last = pd.Timestamp(end) + pd.offsets.MonthEnd(0)
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


def narrative(reading: Reading, measure: Measure, org_name: str) -> str:
    """A deterministic plain-English sentence on what the chart shows, for boards and board packs."""
    result = reading.result
    last = result.iloc[-1]
    when = pd.Timestamp(last["date"]).strftime("%B %Y")
    sentence = (f"{measure.label} for {org_name} was {measure.format_value(last['value'])} in {when}, "
                f"against a mean of {measure.format_value(last['mean'])}")
    if pd.notna(last["lpl"]) and pd.notna(last["upl"]):
        sentence += (f" and process limits of {measure.format_value(last['lpl'])} to "
                     f"{measure.format_value(last['upl'])}")
    sentence += ". "
    rule = last.get("special_cause_rule")
    rule_text = {"outside_limits": "the latest point is outside the process limits",
                 "trend": "the latest points form a run of consecutive rises or falls",
                 "two_in_three": "two of the last three points are close to a process limit",
                 "run": "the latest points sit in a run on one side of the mean"}.get(rule if isinstance(rule, str) else "")
    variation = VARIATION_TEXT.get(reading.variation or "", "")
    sentence += f"{variation}" + (f": {rule_text}." if rule_text and reading.variation != "common_cause" else ".")
    if reading.assurance and reading.target is not None:
        sentence += f" Against the target of {measure.format_value(reading.target)}: {ASSURANCE_TEXT[reading.assurance].lower()}."
    if reading.too_short:
        sentence += f" With only {reading.points} points the limits are provisional."
    if reading.suppressed:
        count = len(reading.suppressed)
        sentence += (f" {count} value{'s are' if count != 1 else ' is'} suppressed as small numbers"
                     + (f", including the latest ({pd.Timestamp(max(reading.suppressed)):%B %Y})"
                        if reading.latest_suppressed else "")
                     + "; the chart and its limits use the values shown.")
    return sentence


def financial_year_label(day: date) -> str:
    return financial_year_of(day)
