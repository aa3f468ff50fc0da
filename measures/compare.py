"""Comparing PCNs fairly: confidence intervals, comparator, benchmark, funnel limits and peer groups."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import stats, suppression
from .catalogue import Measure, compute_values

# Types whose sampling error Fingertips methods describe; others are compared without intervals.
_INTERVAL_TYPES = {"proportion", "rate", "count"}


def supports_intervals(measure: Measure) -> bool:
    return measure.type in _INTERVAL_TYPES


def pooled_value(frame: pd.DataFrame, measure: Measure) -> float | None:
    """The area's own value: sum of numerators over sum of denominators (mean of PCNs for counts).

    Suppressed values are missing, so they stay out of the sums: an average pools only the values shown.
    """
    if frame.empty:
        return None
    if measure.type == "count":
        mean = frame["value"].mean()
        return None if pd.isna(mean) else float(mean)
    value = compute_values(measure, [frame["numerator"].sum()], [frame["denominator"].sum()])[0]
    return None if np.isnan(value) else float(value)


def with_intervals(frame: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """Add 95% and 99.8% intervals in the measure's own units (Wilson for proportions, Byar's for counts and rates)."""
    frame = frame.copy()
    num = frame["numerator"].to_numpy(dtype=float)
    den = frame["denominator"].to_numpy(dtype=float) if "denominator" in frame else np.full(len(frame), np.nan)
    for level, tag in ((0.95, "95"), (0.998, "99_8")):
        if measure.type == "proportion":
            lower, upper = stats.wilson_ci(num, den, level)
            lower, upper = np.asarray(lower) * measure.multiplier, np.asarray(upper) * measure.multiplier
        elif measure.type == "rate":
            lower, upper = stats.rate_ci(num, den, measure.multiplier, level)
        elif measure.type == "count":
            lower, upper = stats.byars_ci(num, level)
        else:
            lower = upper = np.full(len(frame), np.nan)
        frame[f"lower_{tag}"] = np.asarray(lower, dtype=float)
        frame[f"upper_{tag}"] = np.asarray(upper, dtype=float)
    return frame


def benchmarked(frame: pd.DataFrame, measure: Measure, comparator: float | None) -> pd.DataFrame:
    """Better / similar / worse than the comparator by 95% interval, following the measure's polarity.

    A PCN whose value is suppressed as a small number (`measures.suppression`) is `suppressed`, not compared.
    """
    frame = with_intervals(frame, measure)
    if comparator is None:
        frame["benchmark"] = "not_compared"
    else:
        frame["benchmark"] = np.asarray(stats.benchmark(
            frame["value"].to_numpy(float), frame["lower_95"].to_numpy(float), frame["upper_95"].to_numpy(float),
            comparator, measure.improvement_direction), dtype=object)
    if suppression.FLAG in frame:
        frame.loc[frame[suppression.FLAG].fillna(False).astype(bool), "benchmark"] = "suppressed"
    return frame


def funnel(frame: pd.DataFrame, measure: Measure, comparator: float) -> pd.DataFrame | None:
    """Funnel limits across the range of denominators, or None where the measure has no funnel."""
    denominators = frame["denominator"].dropna().to_numpy(float) if "denominator" in frame else np.array([])
    if measure.type not in ("proportion", "rate") or not len(denominators):
        return None
    top = float(denominators.max()) * 1.05
    grid = np.unique(np.concatenate([np.geomspace(max(1.0, denominators.min() * 0.5), top, 120), denominators]))
    if measure.type == "proportion":
        limits = stats.funnel_limits_proportion(comparator / measure.multiplier, grid)
        for column in [c for c in limits.columns if c.startswith(("lower", "upper"))]:
            limits[column] = limits[column] * measure.multiplier
    else:
        limits = stats.funnel_limits_rate(comparator, grid, multiplier=measure.multiplier)
    return limits.rename(columns={"lower_99_8": "lower_998", "upper_99_8": "upper_998"})


PEER_GROUPS = {
    "area": "Every PCN in the area",
    "list_size": "The 20 PCNs closest in list size",
    "imd_score": "The 20 PCNs closest in deprivation (IMD 2025)",
}


def peer_group(frame: pd.DataFrame, pcn_code: str, by: str, size: int = 20) -> pd.DataFrame:
    """The PCNs most like the chosen one on `by` (e.g. list size, deprivation), the chosen one included."""
    if by not in frame or pcn_code not in set(frame["org"]):
        return frame
    anchor = frame.loc[frame["org"] == pcn_code, by].iloc[0]
    if pd.isna(anchor):
        return frame
    distance = (frame[by] - anchor).abs()
    return frame.loc[distance.sort_values(kind="stable").index[:size]].sort_index()


def comparison_table(frame: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """The sortable table the Compare page shows and exports (with the `suppressed` flag, when the frame has it)."""
    flag = [suppression.FLAG] if suppression.FLAG in frame else []
    table = frame[["org", "name", "sub_icb_name", "numerator", "denominator", "value", "lower_95", "upper_95",
                   "benchmark", "list_size", "imd_score", *flag]].rename(columns={
        "org": "PCN code", "name": "PCN", "sub_icb_name": "Place", "numerator": "Numerator",
        "denominator": "Denominator", "value": measure.label, "lower_95": "95% CI lower", "upper_95": "95% CI upper",
        "benchmark": "Compared with comparator", "list_size": "List size", "imd_score": "IMD score (deprivation)"})
    table = table.sort_values(measure.label, ascending=measure.improvement_direction == "decrease")
    table = table.reset_index(drop=True)
    # A download writes * in these columns of a suppressed PCN; a missing list size or IMD score stays blank.
    table.attrs[suppression.COLUMNS_ATTR] = ["Numerator", "Denominator", measure.label, "95% CI lower", "95% CI upper"]
    return table
