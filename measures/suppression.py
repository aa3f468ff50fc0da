"""Small-number suppression: counts of people or events below a threshold, and the rates built on them, are hidden.

The rules (NHS disclosure practice; README, "Small-number suppression"):

- **Threshold.** `PCN_SUPPRESS_BELOW`, a whole number of 1 or more (default 5): counts of 1 to threshold − 1 are
  suppressed; 1 turns suppression off. Zero is shown, because a zero reveals nobody.
- **Which measures.** Those counting people or events (types `count`, `proportion` and `rate`) in the locally
  recorded families (`local_integration`, `practice_support`). National published figures (`national_des`) are
  already published under NHS England's own disclosure control and are shown as published. A catalogue file
  overrides the default either way with `suppress_small_numbers: true` or `false` (false for a count of meetings,
  staff hours or pounds, which identify nobody). A measure no catalogue knows is suppressed as a rate.
- **Primary.** A row is suppressed when its count (the numerator; a count's value) is small, when its denominator
  is small, or, for a proportion, when denominator − numerator is small (the complement counts the same people).
- **Secondary.** A PCN's total (the sum of its practices, shown unless small itself) minus its shown practices,
  zeros included, leaves H for the k practices hidden; each hidden one is at least 1 (zeros are shown), so each lies
  in [1, H − (k − 1)]. For every PCN, measure and period, H − (k − 1) must reach the threshold for each figure the
  total sums: a count; a rate's numerator and denominator; a proportion's numerator, denominator and
  denominator − numerator. Until it does, the next-smallest non-zero shown practice is hidden too (zeros never
  are). If every non-zero practice is hidden and it still does not, the PCN total is hidden as well (a total of 5
  from practices of 2 and 3: each would be 1 to 4), wherever it is shown (`suppress_totals`). A PCN total that is
  small itself is hidden by the primary rule, and then nothing follows from it.
- **Shape.** A suppressed row keeps its organisation and period; numerator, denominator, value and interval bounds
  become missing and the boolean column `suppressed` is True. Averages over several organisations pool only the
  values shown, so an average cannot be unpicked into a suppressed one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

ENV_VAR = "PCN_SUPPRESS_BELOW"
DEFAULT_BELOW = 5
MARK = "*"
FLAG = "suppressed"
TYPES = ("count", "proportion", "rate")
FAMILIES = ("local_integration", "practice_support")
UNKNOWN_KIND = "rate"
# Columns that carry a suppressed row's figures, in the tidy shape and the Compare page's frames.
HIDDEN = ("numerator", "denominator", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "lower_998",
          "upper_998")

# A table's `attrs` entry naming the columns a suppressed row hides, where they are not the tidy names.
COLUMNS_ATTR = "suppressed_columns"

Rules = Mapping[str, "str | None"]  # measure id -> its type when its small numbers are suppressed, else None


class SuppressionSettingError(ValueError):
    """`PCN_SUPPRESS_BELOW` is set to something that is not a whole number of 1 or more."""


def threshold() -> int:
    """Counts below this are suppressed: `PCN_SUPPRESS_BELOW`, default 5; 1 turns suppression off."""
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT_BELOW
    try:
        below = int(text)
    except ValueError:
        below = 0
    if below < 1:
        raise SuppressionSettingError(f"{ENV_VAR} must be a whole number of 1 or more (counts below it are "
                                      f"suppressed; 1 turns suppression off), got {text!r}")
    return below


def footnote(below: int | None = None) -> str:
    """The footnote under every figure, table and pack page that has a suppressed value; empty when off."""
    below = threshold() if below is None else below
    if below <= 1:
        return ""
    counts = "1" if below == 2 else f"1 to {below - 1}"
    return f"{MARK} Values from counts of {counts} are suppressed (NHS disclosure practice)."


def applies_to(measure) -> bool:
    """Does the measure's catalogue entry say its small numbers are suppressed (explicitly, or by family and type)?"""
    explicit = getattr(measure, "suppress_small_numbers", None)
    if explicit is not None:
        return bool(explicit)
    return measure.family in FAMILIES and measure.type in TYPES


def rules(catalogue: Iterable) -> dict[str, str | None]:
    """For every measure of a catalogue, its type if its small numbers are suppressed, else None."""
    return {m.id: (m.type if applies_to(m) else None) for m in catalogue}


def _small(values, below: int) -> np.ndarray:
    values = np.asarray(values, dtype="float64")
    with np.errstate(invalid="ignore"):
        return (values > 0) & (values < below)


def primary_mask(kinds: Sequence, numerator, denominator, value, below: int) -> np.ndarray:
    """True where a row is suppressed by the primary rule; `kinds` holds each row's type (None: not suppressed)."""
    applies = np.array([isinstance(k, str) for k in kinds], dtype=bool)
    if below <= 1 or not applies.any():
        return np.zeros(len(kinds), dtype=bool)
    size = len(kinds)
    num = np.asarray(numerator, dtype="float64") if numerator is not None else np.full(size, np.nan)
    den = np.asarray(denominator, dtype="float64") if denominator is not None else np.full(size, np.nan)
    if value is not None:  # a count's value is its numerator (a rate's value is not)
        is_count = np.array([k == "count" for k in kinds], dtype=bool)
        num = np.where(np.isnan(num) & is_count, np.asarray(value, dtype="float64"), num)
    hidden = _small(num, below) | _small(den, below)
    is_proportion = np.array([k == "proportion" for k in kinds], dtype=bool)
    hidden |= is_proportion & _small(den - num, below)
    return applies & hidden


def _quantities(kind, numerator: np.ndarray, denominator: np.ndarray) -> list[np.ndarray]:
    """The additive figures of rows of one kind that a PCN total sums: a count's count, a rate's numerator and
    denominator, and a proportion's numerator, denominator and the people left out (denominator − numerator)."""
    if kind == "count":
        return [numerator]
    if kind == "proportion":
        return [numerator, denominator, denominator - numerator]
    return [numerator, denominator]


def _plan_group(kind, numerator: np.ndarray, denominator: np.ndarray, size: np.ndarray, hidden: np.ndarray,
                below: int) -> tuple[np.ndarray, bool]:
    """One group's rows to hide (the primary ones and as many more as needed), and whether its total must go too.

    The total is the sum of the group's rows; the shown rows, zeros included, are subtracted from it. Every
    hidden row is at least 1 (a zero is shown), so with k rows hidden whose figures add up to H, each lies in
    [1, H − (k − 1)]; that must not fit inside [1, below − 1], so H − (k − 1) ≥ below for every figure.
    """
    hidden = hidden.copy()
    # A figure no row has (a rate read without its denominator) cannot be subtracted, so it is not checked.
    figures = [np.nan_to_num(q, nan=0.0) for q in _quantities(kind, numerator, denominator) if not np.isnan(q).all()]
    totals = [float(q.sum()) for q in figures]
    if any(0 < total < below for total in totals):  # the total is suppressed itself: nothing follows from it
        return hidden, False
    # Next-smallest first; a zero is never hidden, because zeros are shown and a hidden zero would be read as ≥ 1.
    order = [i for i in np.argsort(size, kind="stable") if not hidden[i] and size[i] > 0]

    def safe(rows: np.ndarray) -> bool:
        count = int(rows.sum())
        return count == 0 or all(float(q[rows].sum()) - (count - 1) >= below for q in figures)

    added = []
    while not safe(hidden):
        if not order:
            return hidden, True  # every non-zero row is hidden and the total still pins them down
        added.append(order.pop(0))
        hidden[added[-1]] = True
    # A row hidden early may have become unnecessary once a larger one was hidden (a row with a zero in one
    # figure protects nothing in it): show again every added row the others no longer need.
    for row in added:
        hidden[row] = False
        if not safe(hidden):
            hidden[row] = True
    return hidden, False


def _secondary(frame: pd.DataFrame, flagged: pd.Series, kinds: np.ndarray, keys: Sequence[str],
               numerator: np.ndarray, denominator: np.ndarray, size: np.ndarray,
               below: int) -> tuple[pd.Series, list[tuple]]:
    """Hide more rows of each group until its total cannot pin a hidden one to a small number.

    Returns the rows to hide and the groups (their key values) whose total must be hidden as well.
    """
    flagged = flagged.copy()
    applies = np.array([isinstance(k, str) for k in kinds], dtype=bool)
    revealing = []
    positions = (frame.reset_index(drop=True).groupby(list(keys), dropna=False, sort=False).indices if keys
                 else {(): np.arange(len(frame))})
    hidden = flagged.to_numpy(dtype=bool).copy()
    for group, rows in positions.items():
        rows = np.asarray(rows)
        rows = rows[applies[rows]]
        if not len(rows) or not hidden[rows].any():
            continue
        kind = kinds[rows[0]]
        group_hidden, reveals = _plan_group(kind, numerator[rows], denominator[rows], size[rows], hidden[rows],
                                            below)
        hidden[rows] = group_hidden
        if reveals:
            revealing.append(group if isinstance(group, tuple) else (group,))
    return pd.Series(hidden, index=frame.index), revealing


def _suppress(frame: pd.DataFrame, rules: Rules, *, measure: str, measure_id: str | None, numerator: str | None,
              denominator: str | None, value: str | None, hide: Sequence[str], secondary: Sequence[str] | None,
              kind: str | None, flag: str, below: int | None) -> tuple[pd.DataFrame, list[tuple]]:
    below = threshold() if below is None else below
    frame = frame.copy()
    if frame.empty:
        frame[flag] = pd.Series(dtype=bool)
        return frame, []
    ids = [measure_id] * len(frame) if measure_id is not None else frame[measure].tolist()
    kinds = np.array([rules.get(i, UNKNOWN_KIND) for i in ids], dtype=object)
    if kind is not None:
        kinds = np.array([None if k is None else kind for k in kinds], dtype=object)

    def column(name):
        return frame[name].to_numpy(dtype="float64", na_value=np.nan) if name and name in frame else None

    flagged = pd.Series(primary_mask(kinds, column(numerator), column(denominator), column(value), below),
                        index=frame.index)
    revealing: list[tuple] = []
    if secondary is not None and flagged.any():
        empty = np.full(len(frame), np.nan)
        num = column(numerator) if column(numerator) is not None else empty
        if column(value) is not None:  # a count's value is its count
            is_count = np.array([k == "count" for k in kinds], dtype=bool)
            num = np.where(np.isnan(num) & is_count, column(value), num)
        den = column(denominator) if column(denominator) is not None else empty
        size = column(numerator) if numerator in frame else column(value)
        size = np.nan_to_num(size if size is not None else empty, nan=0.0)
        flagged, revealing = _secondary(frame, flagged, kinds, list(secondary), num, den, size, below)
    for name in hide:
        if name in frame and flagged.any():
            frame[name] = frame[name].where(~flagged)
    frame[flag] = flagged.to_numpy(dtype=bool)
    return frame, revealing


def suppress(frame: pd.DataFrame, rules: Rules, *, measure: str = "measure", measure_id: str | None = None,
             numerator: str | None = "numerator", denominator: str | None = "denominator",
             value: str | None = "value", hide: Sequence[str] = HIDDEN, secondary: Sequence[str] | None = None,
             kind: str | None = None, flag: str = FLAG, below: int | None = None) -> pd.DataFrame:
    """A copy of `frame` with its small numbers suppressed and a boolean `flag` column (see the module rules).

    `measure_id` names the measure of every row when the frame has no `measure` column; `secondary` lists the
    columns that make one group of practices (an empty list: the whole frame is one group; None: no secondary
    suppression); `kind` replaces the measure's type for a frame whose numerator is a plain count (fair shares).
    """
    return _suppress(frame, rules, measure=measure, measure_id=measure_id, numerator=numerator,
                     denominator=denominator, value=value, hide=hide, secondary=secondary, kind=kind, flag=flag,
                     below=below)[0]


def group_totals(practices: pd.DataFrame, rules: Rules, keys: Sequence[str], *, measure_id: str | None = None,
                 below: int | None = None) -> pd.DataFrame:
    """Each group's total (the sum of its practices: numerator, denominator) and whether it must be suppressed.

    The total is suppressed (`suppressed` True) when it is small itself (the primary rule on the sums) or when
    its practices are all hidden and it would still pin one of them to a small number.
    """
    below = threshold() if below is None else below
    keys = list(keys)
    columns = [*keys, "numerator", "denominator", FLAG]
    if practices.empty:
        return pd.DataFrame(columns=columns)
    _, revealing = _suppress(practices, rules, measure="measure", measure_id=measure_id, numerator="numerator",
                             denominator="denominator", value="value", hide=(), secondary=keys, kind=None,
                             flag=FLAG, below=below)
    ids = [measure_id] * len(practices) if measure_id is not None else practices["measure"].tolist()
    is_count = np.array([rules.get(i, UNKNOWN_KIND) == "count" for i in ids], dtype=bool)
    sized = practices.assign(  # a count's value is its count
        numerator=practices["numerator"].where(practices["numerator"].notna() | ~is_count, practices.get("value")))
    totals = sized.groupby(keys, dropna=False, sort=False)[["numerator", "denominator"]].sum(min_count=1) \
        .reset_index()
    ids = [measure_id] * len(totals) if measure_id is not None else totals["measure"].tolist()
    kinds = [rules.get(i, UNKNOWN_KIND) for i in ids]
    small = primary_mask(kinds, totals["numerator"], totals["denominator"], None, below)
    wanted = set(revealing)
    reveals = np.array([tuple(row) in wanted for row in totals[keys].itertuples(index=False, name=None)],
                       dtype=bool)
    totals[FLAG] = small | reveals
    return totals[columns]


def suppress_totals(frame: pd.DataFrame, practices: pd.DataFrame, rules: Rules, *, measure_id: str | None = None,
                    hide: Sequence[str] = HIDDEN, below: int | None = None) -> pd.DataFrame:
    """PCN rows of `frame` (already suppressed) also suppressed where their practices would give a value away.

    `practices` holds the PCNs' practice values (tidy shape plus `pcn`, as `practice_values` reads them); a PCN
    row is matched to its practices by measure, version and period.
    """
    if frame.empty or practices.empty or FLAG not in frame:
        return frame
    keys = ["measure", "version", "pcn", "period_start"]
    totals = group_totals(practices, rules, keys, measure_id=measure_id, below=below)
    hidden = totals[totals[FLAG].astype(bool)]
    if hidden.empty:
        return frame
    rows = frame.assign(_measure=measure_id if measure_id is not None else frame["measure"],
                        _period=pd.to_datetime(frame["period_start"]), _row=np.arange(len(frame)))
    hidden = hidden.assign(period_start=pd.to_datetime(hidden["period_start"]))
    matched = rows.merge(hidden[keys], left_on=["_measure", "version", "org", "_period"], right_on=keys)
    if matched.empty:
        return frame
    frame = frame.copy()
    extra = np.zeros(len(frame), dtype=bool)
    extra[matched["_row"].to_numpy()] = True
    flagged = frame[FLAG].fillna(False).astype(bool).to_numpy() | extra
    for name in hide:
        if name in frame:
            frame[name] = frame[name].where(~flagged)
    frame[FLAG] = flagged
    return frame


def practice_values(store, measure_ids: Iterable[str], pcn_codes: Iterable[str] | None = None,
                    period_start=None) -> pd.DataFrame:
    """The practice values behind PCN totals: each practice's rows with the PCN it belonged to at that date.

    Tidy shape plus `pcn`, for the named measures; `pcn_codes` (None: every PCN) and `period_start` (None:
    every period) narrow the read.
    """
    conditions, parameters = "", [sorted(set(measure_ids))]
    if pcn_codes is not None:
        conditions, parameters = " AND list_contains(?, m.parent_code)", [*parameters, sorted(set(pcn_codes))]
    if period_start is not None:
        conditions, parameters = conditions + " AND o.period_start = ?", [*parameters, period_start]
    return store.query(
        """
        SELECT o.measure_id AS measure, o.measure_version AS version, o.org_code AS org, m.parent_code AS pcn,
               o.period_start, o.period_end, o.numerator, o.denominator, o.value
        FROM observations o
        JOIN memberships m ON m.child_code = o.org_code AND m.parent_level = 'pcn'
             AND m.start_date <= o.period_start AND (m.end_date IS NULL OR m.end_date >= o.period_start)
        WHERE o.org_level = 'practice' AND list_contains(?, o.measure_id)
        """ + conditions + " ORDER BY o.measure_id, o.measure_version, m.parent_code, o.period_start, o.org_code",
        parameters)


PracticeReader = Callable[[Sequence[str], "Sequence[str] | None", object], pd.DataFrame]


def suppress_with_totals(frame: pd.DataFrame, practices: PracticeReader | None, rules: Rules,
                         pcn_codes: Sequence[str] | None, *, measure_id: str | None = None, period_start=None,
                         below: int | None = None) -> pd.DataFrame:
    """`suppress_totals` for a suppressed frame of PCN rows, reading the practices behind them with `practices`.

    `practices(measure_ids, pcn_codes, period_start)` returns `practice_values`; None leaves the frame as it is.
    """
    if practices is None or frame.empty:
        return frame
    ids = [measure_id] if measure_id is not None else frame["measure"].dropna().unique().tolist()
    ids = sorted(i for i in ids if rules.get(i, UNKNOWN_KIND) is not None)
    if not ids:
        return frame
    return suppress_totals(frame, practices(ids, pcn_codes, period_start), rules, measure_id=measure_id,
                           below=below)


def suppress_query(name: str, result, args: tuple, rules: Rules, below: int | None = None,
                   practices: PracticeReader | None = None):
    """Suppress the result of a named read (`measures.ui.query`'s names) by its shape; others pass unchanged.

    With `practices` (see `suppress_with_totals`; `lambda *a: practice_values(store, *a)` reads them), a PCN
    total is also suppressed where its practices would give one of them away.
    """
    if result is None:
        return result
    if name == "series":  # args: measure, organisation (a PCN or a practice)
        return suppress_with_totals(suppress(result, rules, below=below), practices, rules, [args[1]], below=below)
    if name == "overview":
        series, comparator = result
        return suppress_with_totals(suppress(series, rules, below=below), practices, rules, [args[0]],
                                    below=below), comparator
    if name == "pcn_values":
        shown = suppress(result, rules, measure_id=args[0], below=below)
        return suppress_with_totals(shown, practices, rules, None, measure_id=args[0], period_start=args[1],
                                    below=below)
    if name == "practice_spread":  # one PCN's practices: each measure and period is a group
        return suppress(result, rules, secondary=("measure", "version", "period_start"), below=below)
    if name == "local.fair_share":  # each practice's total over the months, and its share of the PCN's total
        return suppress(result, rules, measure_id=args[0], numerator="resource", denominator=None, value=None,
                        kind="count", hide=("resource", "resource_share", "gap_points", "ratio"), secondary=(),
                        below=below)
    if name == "local.grid_frame":  # one period's values of the PCN or of each of its practices
        return suppress(result, rules, measure_id=args[0], value=None, secondary=(), below=below)
    return result


def comparator_condition(rules: Rules, alias: str = "o", below: int | None = None) -> tuple[str, list]:
    """A SQL condition (and its bound parameters) true for the rows of `alias` that are shown, not suppressed.

    For totals pooled in SQL (the ICB average on the Overview), so a suppressed value never enters an average.
    """
    below = threshold() if below is None else below
    if below <= 1:
        return "TRUE", []
    exempt = sorted(i for i, k in rules.items() if k is None)
    counts = sorted(i for i, k in rules.items() if k == "count")
    proportions = sorted(i for i, k in rules.items() if k == "proportion")

    half = below / 2

    def small(expression: str) -> str:
        # 0 < x < below, written with x once so that its own placeholders are bound once
        return f"coalesce(abs({expression} - ?) < ?, FALSE)"

    count = f"coalesce({alias}.numerator, CASE WHEN list_contains(?, {alias}.measure_id) THEN {alias}.value END)"
    condition = (f"(list_contains(?, {alias}.measure_id) OR NOT ({small(count)} OR {small(f'{alias}.denominator')}"
                 f" OR (list_contains(?, {alias}.measure_id) AND "
                 f"{small(f'{alias}.denominator - {alias}.numerator')})))")
    return condition, [exempt, counts, half, half, half, half, proportions, half, half]


def starred(frame: pd.DataFrame, flag: str = FLAG) -> tuple[pd.DataFrame, bool]:
    """For a download: in each suppressed row the missing numbers are written `*`; the flag column is dropped.

    The columns are those named in `frame.attrs[COLUMNS_ATTR]` (a table whose other numbers may be missing for
    other reasons, such as a deprivation score), or else every numeric column. Returns the table and whether
    anything was suppressed (so the caller adds the footnote).
    """
    if flag not in frame:
        return frame, False
    flagged = frame[flag].fillna(False).astype(bool)
    table = frame.drop(columns=flag)
    if not flagged.any():
        return table, False
    table = table.copy()
    named = frame.attrs.get(COLUMNS_ATTR)
    for position, name in enumerate(table.columns):
        values = table.iloc[:, position]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if named is not None and name not in named:
            continue
        hidden = flagged & values.isna()
        if hidden.any():
            table.isetitem(position, values.astype(object).where(~hidden, MARK))
    return table, True

