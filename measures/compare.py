"""Comparing PCNs fairly: each measure's declared method, intervals, comparator, funnel limits and peer groups."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.special import gammaincinv, ndtri

from . import stats, suppression
from .catalogue import Measure, Part, compute_values

# Types whose sampling error Fingertips methods describe; others are compared without intervals.
_INTERVAL_TYPES = {"proportion", "rate", "count"}
LEVELS = {"95": 0.95, "99_8": 0.998}
PER_PATIENTS = 1000  # a count of events is compared per 1,000 registered patients
NORMAL_MIN_PCNS = 3  # a spread needs a few values to mean anything
FUNNEL_MIN_PCNS = 3
# FunnelPlotR's square-root (CQC) z-scores take counts of 0, which its log (SHMI) ones cannot; local counts
# are small enough that a PCN with none in a month is common.
FUNNEL_SR_METHOD = "CQC"
FUNNEL_ADJUSTMENT = "additive"  # random effects, FunnelPlotR's default

METHOD_TEXT = {
    "wilson": "Wilson score",
    "byar": "Byar's method, exact below 10 events",
    "dobson": "Dobson's method",
    "normal": "normal interval from the spread of the PCNs shown",
    "none": "no interval",
}


def supports_intervals(measure: Measure) -> bool:
    return measure.type in _INTERVAL_TYPES


@dataclass(frozen=True)
class Comparison:
    """How Compare areas treats one measure: the measure as compared, its method, and why not, where it is not.

    `measure` is what is ranked: the catalogue's measure, except that a count of events becomes a rate per
    1,000 registered patients, since raw counts of PCNs of different size are not comparable.
    """

    measure: Measure
    method: str
    ranked: bool  # whether PCNs are ranked at all
    intervals: bool  # whether each PCN gets an interval and a better / similar / worse colour
    reason: str | None = None  # why there are no intervals (or no ranking), in words for the page
    per_patients: bool = False  # a count of events, divided by the PCN's list size

    def interval_text(self) -> str:
        """What a ranked chart's subtitle says of its intervals."""
        if not self.intervals:
            return f"Ranked without intervals: {self.reason}"
        if self.method == "normal":
            return f"Ranked, with 95% intervals ({METHOD_TEXT['normal']})"
        return f"Ranked, with 95% confidence intervals ({METHOD_TEXT[self.method]})"


def comparison_for(measure: Measure) -> Comparison:
    """The comparison Compare areas makes of a measure, from its catalogue `comparison` field."""
    method = measure.comparison or "none"
    if measure.type == "count":
        if method == "byar":
            return Comparison(per_patients_measure(measure), "byar", ranked=True, intervals=True, per_patients=True)
        return Comparison(measure, "none", ranked=False, intervals=False, reason=unranked_count_reason(measure))
    if method == "dobson":
        return Comparison(measure, "dobson", ranked=True, intervals=False, reason=dobson_reason(measure))
    if method == "none":
        return Comparison(measure, "none", ranked=True, intervals=False, reason=no_interval_reason(measure))
    return Comparison(measure, method, ranked=True, intervals=True)


def per_patients_measure(measure: Measure) -> Measure:
    """A count of events as the rate per 1,000 registered patients that Compare areas ranks."""
    return measure.model_copy(update={
        "type": "rate", "multiplier": float(PER_PATIENTS),
        "short_name": f"{measure.label} per 1,000 patients", "unit": f"{measure.unit} per 1,000 patients",
        "decimals": max(measure.decimals, 2),
        "denominator": Part(definition="Registered patients (the PCN's list size)"),
    })


def no_interval_reason(measure: Measure) -> str:
    """Why a measure that is not a count of events gets no interval, in the words a board member would use."""
    unit, numerator = measure.unit.lower(), measure.numerator.definition.lower()
    if "fte" in unit or "full-time equivalent" in unit:
        subject = "FTE is"
    elif "hour" in unit:
        subject = "Staff hours are"
    elif unit.startswith("£") or "pound" in numerator or "£" in numerator:
        subject = "Money (pounds) is"
    elif measure.type == "ratio":
        subject = "A ratio to a fair share is"
    elif measure.type == "mean":
        subject = f"An average ({measure.unit}) is"
    else:
        subject = f"{measure.label} is"
    return f"{subject} not a count of events: no interval applies"


def unranked_count_reason(measure: Measure) -> str:
    return (f"{measure.label} is a raw count ({measure.unit}), not a count of events, and raw counts are not "
            "compared across PCNs of different size: see each PCN against itself over time on Measure detail")


def dobson_reason(measure: Measure) -> str:
    name = measure.code or measure.label
    return (f"{name} is directly standardised, and Dobson's method needs each PCN's events and population by age "
            "band, which this database does not hold; a crude (Byar's) interval would misstate it, so none is drawn")


# --- preparing the PCNs' values ----------------------------------------------------------------------------------

EXCLUDED = "excluded"  # the column saying why a PCN is left out of intervals (empty where it is not)


def prepared(frame: pd.DataFrame, comparison: Comparison) -> pd.DataFrame:
    """The PCNs' values as compared, each with the reason it is left out of intervals (column `excluded`).

    A count of events is divided by the PCN's list size. A PCN is left out of intervals, never an error, when
    its denominator is 0 or missing, when a proportion's numerator exceeds its denominator (an overspent
    budget is above 100%: shown, but no Wilson interval exists), or when a part is negative.
    """
    frame = frame.copy()
    measure = comparison.measure
    if comparison.per_patients:
        frame["denominator"] = frame["list_size"].astype(float) if "list_size" in frame else np.nan
        frame["value"] = compute_values(measure, frame["numerator"], frame["denominator"])
    frame[EXCLUDED] = exclusions(frame, measure, comparison.method)
    return frame


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats (NaN where missing or not a number); all NaN when the frame has no such column."""
    if column not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def exclusions(frame: pd.DataFrame, measure: Measure, method: str | None = None) -> pd.Series:
    """Why each PCN is left out of intervals and pooling ('' where it is not); suppressed PCNs are not excluded."""
    # On arrays, not Series: every reading of a series asks, a dozen times a page, and pandas' masked assignments
    # cost more than the intervals themselves. Later reasons win, as each is written over the one before.
    method = method or measure.comparison
    reasons = np.full(len(frame), "", dtype=object)
    if frame.empty:
        return pd.Series(reasons, index=frame.index, dtype=object)
    hidden = (frame[suppression.FLAG].fillna(False).astype(bool).to_numpy() if suppression.FLAG in frame
              else np.zeros(len(frame), dtype=bool))
    numerator = _numbers(frame, "numerator")
    with np.errstate(invalid="ignore"):
        if measure.type == "count":
            reasons[np.isnan(numerator)] = "no count recorded"
            reasons[numerator < 0] = "a negative count"
        else:
            denominator = _numbers(frame, "denominator")
            label = measure.denominator.definition if measure.denominator else "denominator"
            reasons[np.isnan(numerator)] = "no numerator recorded"
            reasons[np.isnan(denominator)] = "no denominator recorded"
            reasons[denominator == 0] = "a denominator of 0, so no value"
            reasons[denominator < 0] = "a negative denominator"
            reasons[numerator < 0] = "a negative numerator"
            if measure.type == "proportion":
                over = (numerator > denominator) & (denominator > 0) & (reasons == "")
                for index in np.flatnonzero(over):
                    share = numerator[index] / denominator[index] * measure.multiplier
                    reasons[index] = (f"above 100% ({measure.format_value(share)}: more than its "
                                      f"{label.lower()[:60]})" if method == "wilson" else "")
    reasons[hidden] = ""
    return pd.Series(reasons, index=frame.index, dtype=object)


def _usable(frame: pd.DataFrame, measure: Measure) -> pd.Series:
    """Rows that can enter an interval or a pooled value: not suppressed, not excluded, with a value."""
    if frame.empty:
        return pd.Series(False, index=frame.index)
    reasons = frame[EXCLUDED] if EXCLUDED in frame else exclusions(frame, measure)
    value = _numbers(frame, "value") if "value" in frame else np.zeros(len(frame))
    usable = (reasons.to_numpy() == "") & ~np.isnan(value) & ~np.isnan(_numbers(frame, "numerator"))
    return pd.Series(usable, index=frame.index)


def exclusion_notes(frame: pd.DataFrame) -> list[str]:
    """One sentence per PCN left out of intervals, naming it and saying why."""
    if EXCLUDED not in frame:
        return []
    chosen = frame[EXCLUDED] != ""
    if not chosen.any():  # the usual case: no rows to take from a frame of every PCN
        return []
    left = frame[chosen]
    names = left["name"] if "name" in left else [""] * len(left)
    return [f"{_named(name, org)} has {reason}: left out of the intervals, the funnel and the average."
            for name, org, reason in zip(names, left["org"], left[EXCLUDED])]


def _named(name, org) -> str:
    return f"{name or ''} ({org})".strip()


def above_natural_range_notes(frame: pd.DataFrame, measure: Measure) -> list[str]:
    """For a percentage compared without intervals: which PCNs are above 100% (an overspend), shown as recorded."""
    if measure.unit != "%" or "value" not in frame:
        return []
    chosen = (pd.to_numeric(frame["value"], errors="coerce") > 100) & (frame.get(EXCLUDED, "") == "")
    if not chosen.any():
        return []
    over = frame[chosen]
    return [f"{name} ({org}) is above 100% ({measure.format_value(value)}): shown as recorded."
            for name, org, value in zip(over["name"], over["org"], over["value"])]


def pooled_value(frame: pd.DataFrame, measure: Measure) -> float | None:
    """The area's own value: sum of numerators over sum of denominators (mean of PCNs for counts).

    Suppressed values are missing, so they stay out of the sums: an average pools only the values shown. A PCN
    left out of intervals (a denominator of 0, a proportion over 100% with a Wilson interval) is left out too.
    """
    if frame.empty:
        return None
    if measure.type == "count":
        mean = frame["value"].mean()
        return None if pd.isna(mean) else float(mean)
    usable = frame[_usable(frame, measure)]
    if usable.empty:
        return None
    value = compute_values(measure, [usable["numerator"].sum()], [usable["denominator"].sum()])[0]
    return None if np.isnan(value) else float(value)


# --- intervals ---------------------------------------------------------------------------------------------------


def with_intervals(frame: pd.DataFrame, measure: Measure, *, method: str | None = None) -> pd.DataFrame:
    """Add 95% and 99.8% intervals in the measure's own units, by its declared comparison method.

    Wilson score for a proportion; Byar's method, exact Poisson below 10 events, for a count or a rate;
    a normal interval (± z standard deviations of the values given) for `normal`; none for `dobson` without
    age bands (see `dobson_intervals`) or `none`. A PCN with a denominator of 0 or a proportion above 1 gets
    no interval (missing limits), never an error.
    """
    frame = frame.copy()
    method = method or measure.comparison
    num = pd.to_numeric(frame["numerator"], errors="coerce").to_numpy(dtype=float)
    den = (pd.to_numeric(frame["denominator"], errors="coerce").to_numpy(dtype=float) if "denominator" in frame
           else np.full(len(frame), np.nan))
    usable = _usable(frame.assign(value=frame["value"] if "value" in frame else 0.0), measure).to_numpy()
    values = (pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float) if "value" in frame
              else compute_values(measure, num, den))
    for tag, level in LEVELS.items():
        lower = np.full(len(frame), np.nan)
        upper = np.full(len(frame), np.nan)
        if usable.any():
            x, n = num[usable], den[usable]
            if method == "wilson" and measure.type == "proportion":
                low, high = stats.wilson_ci(x, n, level)
                lower[usable], upper[usable] = np.asarray(low) * measure.multiplier, np.asarray(high) * measure.multiplier
            elif method == "byar":
                low, high = stats.poisson_ci(x, level, method="auto")
                if measure.type == "count":
                    lower[usable], upper[usable] = low, high
                else:
                    lower[usable] = np.asarray(low) / n * measure.multiplier
                    upper[usable] = np.asarray(high) / n * measure.multiplier
            elif method == "normal" and usable.sum() >= NORMAL_MIN_PCNS:
                spread = float(np.std(values[usable], ddof=1))
                z = float(ndtri(0.5 + level / 2))
                lower[usable], upper[usable] = values[usable] - z * spread, values[usable] + z * spread
        frame[f"lower_{tag}"] = lower
        frame[f"upper_{tag}"] = upper
    return frame


def dobson_intervals(bands: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """Directly standardised rates with Dobson's limits, one row per PCN, from counts and populations by age band.

    `bands` has org, count, population and standard_population, one row per PCN and age band, the bands in
    the same order for every PCN. Returns org, value, lower_95, upper_95, lower_99_8, upper_99_8 in the
    measure's units; a PCN with fewer than 10 events has no rate (PHEindicatormethods suppresses it).
    """
    table = stats.dsr_table(bands, "org", "count", "population", "standard_population",
                            multiplier=measure.multiplier, confidence=tuple(LEVELS.values()))
    return table[["org", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"]]


def benchmarked(frame: pd.DataFrame, measure: Measure, comparator: float | None, *,
                method: str | None = None) -> pd.DataFrame:
    """Better / similar / worse than the comparator by 95% interval, following the measure's polarity.

    A PCN whose value is suppressed as a small number (`measures.suppression`) is `suppressed`, not compared;
    one left out of intervals (see `exclusions`) is `not_compared`, as is every PCN of a measure with no interval.
    """
    if EXCLUDED not in frame:
        frame = frame.assign(**{EXCLUDED: exclusions(frame, measure, method)})
    frame = with_intervals(frame, measure, method=method)
    if comparator is None:
        frame["benchmark"] = "not_compared"
    else:
        frame["benchmark"] = np.asarray(stats.benchmark(
            frame["value"].to_numpy(float), frame["lower_95"].to_numpy(float), frame["upper_95"].to_numpy(float),
            comparator, measure.improvement_direction), dtype=object)
    if suppression.FLAG in frame:
        frame.loc[frame[suppression.FLAG].fillna(False).astype(bool), "benchmark"] = "suppressed"
    return frame


# --- funnel plots ------------------------------------------------------------------------------------------------

FUNNEL_OUTCOMES = ("high_998", "high_95", "within", "low_95", "low_998")


def no_funnel_reason(frame: pd.DataFrame, comparison: Comparison) -> str | None:
    """Why no funnel plot is drawn for these PCNs, or None when one is."""
    measure = comparison.measure
    if not comparison.intervals or comparison.method not in ("wilson", "byar"):
        why = comparison.reason or f"it is compared by a {METHOD_TEXT[comparison.method]}"
        return f"A funnel plot needs a proportion or a rate of events; {measure.label}: {why}."
    units = _funnel_units(frame, measure)
    if len(units) < FUNNEL_MIN_PCNS:
        return (f"A funnel plot needs at least {FUNNEL_MIN_PCNS} PCNs with a value; {len(units)} here have one "
                "(suppressed PCNs and those left out of intervals are not plotted).")
    if comparison.method == "byar" and not units["numerator"].sum() > 0:
        return f"No PCN shown has any events of {measure.label} this period, so there is no rate to centre a funnel on."
    return None


def _funnel_units(frame: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    usable = _usable(frame, measure) & (pd.to_numeric(frame["denominator"], errors="coerce") > 0)
    return frame.loc[usable, ["org", "numerator", "denominator"]].astype({"numerator": float, "denominator": float})


def funnel(frame: pd.DataFrame, measure: Measure, comparator: float | None = None, *,
           method: str | None = None) -> pd.DataFrame | None:
    """Funnel limits across the range of denominators, widened for overdispersion as FunnelPlotR widens them.

    The PCNs with a usable value are the units (suppressed ones and those left out of intervals are not).
    Proportions use FunnelPlotR's arcsine limits, rates its square-root (CQC) limits on observed ÷ expected,
    expected being the pooled rate of the PCNs shown; when the units vary more than chance allows (phi > 1) the
    limits are widened by additive random effects. Like FunnelPlotR, the funnel is centred on the pooled value
    of its own units, not on `comparator` (kept for callers that pass it).

    Returns one row per denominator: denominator, lower_95, upper_95, lower_998, upper_998, with
    `attrs["funnel"]` from `stats.funnel_overdispersed` (phi, tau2, adjusted, method note, target) plus
    `units` (the number of PCNs), or None where the measure has no funnel.
    """
    del comparator
    method = method or measure.comparison
    if method not in ("wilson", "byar") or measure.type not in ("proportion", "rate"):
        return None
    units = _funnel_units(frame, measure).reset_index(drop=True)
    if len(units) < 2 or (method == "byar" and not units["numerator"].sum() > 0):
        return None
    if method == "wilson":
        result = stats.funnel_overdispersed(units, "numerator", "denominator", data_type="PR",
                                            adjustment=FUNNEL_ADJUSTMENT, multiplier=measure.multiplier)
        scale, pooled = 1.0, result.attrs["funnel"]["target"] / measure.multiplier
    else:
        pooled = float(units["numerator"].sum() / units["denominator"].sum())
        units["expected"] = units["denominator"] * pooled
        result = stats.funnel_overdispersed(units, "numerator", "expected", data_type="SR",
                                            adjustment=FUNNEL_ADJUSTMENT, sr_method=FUNNEL_SR_METHOD,
                                            multiplier=pooled * measure.multiplier)
        scale = pooled
    info = dict(result.attrs["funnel"])
    denominators = units["denominator"].to_numpy(float)
    top = float(denominators.max()) * 1.08
    grid = np.unique(np.concatenate([np.geomspace(max(1.0, denominators.min() * 0.5), top, 160), denominators]))
    limits = _funnel_curve(grid * scale, info, data_type="PR" if method == "wilson" else "SR",
                           multiplier=measure.multiplier if method == "wilson" else pooled * measure.multiplier)
    limits.insert(0, "denominator", grid)
    info["units"] = len(units)
    info["data_type"] = "PR" if method == "wilson" else "SR"
    limits.attrs["funnel"] = info
    return limits


def _funnel_curve(size: np.ndarray, info: dict, *, data_type: str, multiplier: float) -> pd.DataFrame:
    """`stats.funnel_overdispersed`'s limits traced at any sizes (denominators, or expected events for rates).

    The same formulas, term for term, with phi and tau² estimated from the units, so the curve passes through
    each unit's own limits.
    """
    s = 1 / (2 * np.sqrt(size))
    used = info["adjustment"]
    spread = (np.sqrt(s ** 2 + info["tau2"]) if used == "additive"
              else np.sqrt(info["phi"]) * s if used == "multiplicative" else s)
    target = info["target"] / multiplier
    columns = {}
    for tag, z in stats.FUNNEL_Z.items():
        if data_type == "SR" and used == "none":
            low_tail, high_tail = stats.FUNNEL_POISSON_TAILS[tag]
            low, high = gammaincinv(size, low_tail) / size, gammaincinv(size + 1, high_tail) / size
        elif data_type == "SR":
            low = np.where(1 - z * spread < 0, 0.0, (1 - z * spread) ** 2)
            high = (1 + z * spread) ** 2
        else:
            centre = np.arcsin(np.sqrt(target))
            low = np.sin(np.clip(centre - z * spread, 0, np.pi / 2)) ** 2
            high = np.sin(np.clip(centre + z * spread, 0, np.pi / 2)) ** 2
        name = "998" if tag == "99_8" else tag
        columns[f"lower_{name}"] = low * multiplier
        columns[f"upper_{name}"] = high * multiplier
    return pd.DataFrame(columns)


def funnel_outcome(frame: pd.DataFrame, limits: pd.DataFrame) -> pd.Series:
    """Each PCN against the funnel at its own denominator: beyond 99.8%, beyond 95% only, or within, and which side.

    Values are `high_998`, `high_95`, `within`, `low_95`, `low_998`, or '' for a PCN not plotted (no value,
    suppressed, or left out of intervals). A value exactly on a limit is within, as FunnelPlotR counts it.
    """
    outcome = pd.Series("", index=frame.index, dtype=object)
    plotted = frame["value"].notna() & pd.to_numeric(frame.get("denominator"), errors="coerce").gt(0)
    if EXCLUDED in frame:
        plotted &= frame[EXCLUDED] == ""
    if not plotted.any():
        return outcome
    at = pd.to_numeric(frame.loc[plotted, "denominator"]).to_numpy(float)
    value = frame.loc[plotted, "value"].to_numpy(float)
    grid = limits["denominator"].to_numpy(float)
    bound = {column: np.interp(at, grid, limits[column].to_numpy(float))
             for column in ("lower_95", "upper_95", "lower_998", "upper_998")}
    outcome[plotted] = np.select(
        [value > bound["upper_998"], value > bound["upper_95"], value < bound["lower_998"], value < bound["lower_95"]],
        ["high_998", "high_95", "low_998", "low_95"], "within")
    return outcome


def funnel_method_text(limits: pd.DataFrame) -> str:
    """The funnel's subtitle: which limits, and whether they allow for overdispersion."""
    info = limits.attrs.get("funnel", {})
    base = ("95% and 99.8% limits, arcsine (FunnelPlotR)" if info.get("data_type") == "PR"
            else "95% and 99.8% limits, Poisson (FunnelPlotR)")
    if info.get("adjusted"):
        return f"{base}; limits adjusted for overdispersion (random effects, FunnelPlotR method)"
    if info:
        return f"{base}; not adjusted: no overdispersion detected (phi {info['phi']:.2f})"
    return base


# --- peers and the table -----------------------------------------------------------------------------------------

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


NOTE_COLUMN = "Note"


def comparison_table(frame: pd.DataFrame, measure: Measure, *, ranked: bool = True) -> pd.DataFrame:
    """The sortable table the Compare page shows and exports (with the `suppressed` flag, when the frame has it).

    Numbers are rounded: values and limits to one decimal more than the measure shows (a download can be
    re-analysed without carrying 13 figures), parts to 2 decimals, deprivation to 1. A PCN left out of intervals
    says why in a Note column. Unranked (a raw count), rows are in PCN order, not by value.
    """
    flag = [suppression.FLAG] if suppression.FLAG in frame else []
    frame = frame.copy()
    for column in ("lower_95", "upper_95", "benchmark"):
        if column not in frame:
            frame[column] = np.nan if column != "benchmark" else "not_compared"
    note = [NOTE_COLUMN] if EXCLUDED in frame and (frame[EXCLUDED] != "").any() else []
    if note:
        frame[NOTE_COLUMN] = frame[EXCLUDED].map(lambda reason: f"Left out of intervals: {reason}" if reason else "")
    for column in ("list_size", "imd_score", "denominator"):
        if column not in frame:
            frame[column] = np.nan
    names = {"org": "PCN code", "name": "PCN", "sub_icb_name": "Place", "numerator": "Numerator",
             "denominator": "Denominator", "value": measure.label, "lower_95": "95% CI lower",
             "upper_95": "95% CI upper", "benchmark": "Compared with comparator", "list_size": "List size",
             "imd_score": "IMD score (deprivation)"}
    # A context column named like the measure (the list size measure is "List size") is the measure itself.
    context = [column for column in ("list_size", "imd_score") if names[column] != measure.label]
    table = frame[["org", "name", "sub_icb_name", "numerator", "denominator", "value", "lower_95", "upper_95",
                   "benchmark", *note, *context, *flag]].rename(columns=names)
    for column, places in ((measure.label, measure.decimals + 1), ("95% CI lower", measure.decimals + 1),
                           ("95% CI upper", measure.decimals + 1), ("Numerator", 2), ("Denominator", 2),
                           ("IMD score (deprivation)", 1), ("List size", 0)):
        if column not in table:
            continue
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float).round(places)
    if ranked:
        table = table.sort_values(measure.label, ascending=measure.improvement_direction == "decrease")
    else:
        table = table.sort_values("PCN code")
    table = table.reset_index(drop=True)
    # A download writes * in these columns of a suppressed PCN; a missing list size or IMD score stays blank.
    table.attrs[suppression.COLUMNS_ATTR] = ["Numerator", "Denominator", measure.label, "95% CI lower", "95% CI upper"]
    return table


@dataclass(frozen=True)
class AreaView:
    """What Compare areas shows of one measure in one area and period: the PCNs shown, compared by the measure's
    method with the comparator, the notes on those left out, the funnel's limits and the table.

    `frame` is None when the measure is not ranked (a raw count); `table` then lists values as recorded. The
    funnel's limits and the table are worked out when first asked for: a page shows one tab at a time."""

    shown: pd.DataFrame
    frame: pd.DataFrame | None
    comparator: float | None
    comparator_label: str
    left_out: tuple[str, ...]
    as_recorded: tuple[str, ...]
    measure: Measure  # the catalogue's (the table of an unranked measure gives its values as recorded)

    @cached_property
    def comparison(self) -> Comparison:
        return comparison_for(self.measure)

    @cached_property
    def no_funnel(self) -> str | None:
        return None if self.frame is None else no_funnel_reason(self.frame, self.comparison)

    @cached_property
    def limits(self) -> pd.DataFrame | None:
        if self.frame is None or self.no_funnel:
            return None
        return funnel(self.frame, self.comparison.measure, method=self.comparison.method)

    @cached_property
    def table(self) -> pd.DataFrame:
        if self.frame is None:
            return comparison_table(prepared(self.shown, self.comparison), self.measure, ranked=False)
        return comparison_table(self.frame, self.comparison.measure)


def area_view(everyone: pd.DataFrame, measure: Measure, pcn: dict, *, area: str, peers: str,
              comparator_choice: str) -> AreaView:
    """Compare areas' reading of every PCN's values (`everyone`, one measure and period): the PCNs of `area`
    ("england", or "icb:CODE" / "sub_icb:CODE"), narrowed to the chosen PCN's peers unless `peers` is "area",
    against the chosen PCN's ICB ("ICB") or England ("England"), by `comparison_for(measure)`."""
    comparison = comparison_for(measure)
    compared = comparison.measure
    shown = everyone if area == "england" else everyone[everyone[area.split(":")[0]] == area.split(":")[1]]
    if peers != "area":
        shown = peer_group(shown, pcn["pcn"], by=peers)
    if not comparison.ranked:
        return AreaView(shown, None, None, "", (), (), measure)
    shown = prepared(shown, comparison)
    pool = everyone[everyone["icb"] == pcn["icb"]] if comparator_choice == "ICB" else everyone
    label = f"{pcn['icb_name']} average" if comparator_choice == "ICB" else "England average"
    comparator = pooled_value(prepared(pool, comparison), compared)
    frame = benchmarked(shown, compared, comparator if comparison.intervals else None, method=comparison.method)
    return AreaView(shown, frame, comparator, label, tuple(exclusion_notes(frame)),
                    tuple(above_natural_range_notes(frame, compared)), measure)
