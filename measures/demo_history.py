"""The demo's local values, recorded by the actor "demo" as editors record values: monthly returns, then corrections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .catalogue import Measure, compute_values
from .local import ENTRY_COLUMNS, GRID_SOURCE, Batch, save_in, save_new_in, validate_in
from .store import Connection

if TYPE_CHECKING:
    from .demo import Population

DEMO_ACTOR = "demo"
_HISTORY_PCNS = ("UZ0001", "UZ0002", "UZ0003")
# (measure, level, how the first submission differed from the value finally agreed)
_CORRECTIONS = (
    ("int_mdt_case_reviews", "pcn", lambda n, d: (n - 3 if n >= 3 else n + 2, d)),  # reviews missed, then added
    ("int_proactive_care_plan_pct", "pcn", lambda n, d: (n - max(1, round(n * 0.1)) if n >= 1 else 1, d)),
    ("ps_arrs_hours_per_1000_weighted", "practice", lambda n, d: (round(n * 1.15) + 5, d)),  # hours double-counted
)


def returns_source(month: date) -> str:
    """The source the audit log gives a generated month's values: plainly the demo's generation, not a file."""
    return f"synthetic demo returns for {month:%B %Y} (generated)"


def submitted_at(month: date) -> datetime:
    """When the demo's returns for a month were recorded: the 6th of the month after, in the morning."""
    return datetime(month.year + (month.month == 12), month.month % 12 + 1, 6, 9, 15)


@dataclass(frozen=True)
class LocalCodes:
    """Local values' codes as categories, one list for every measure: millions of rows, not strings row by row."""

    measures: pd.Index
    orgs: pd.Index  # the PCNs, then the practices
    levels: pd.Index


def entered_values(measure: Measure, pop: Population, num: np.ndarray, den: np.ndarray | None,
                   present: np.ndarray, codes: LocalCodes) -> pd.DataFrame:
    """The values of a local measure that were submitted, at its level, with the PCN each belonged to that month."""
    org_index, month_index = np.nonzero(present)
    pcns = len(pop.pcn_codes)
    if measure.level == "practice":
        orgs, pcn_of = org_index + pcns, pop.pcn_of_practice[org_index, month_index]
    else:
        orgs, pcn_of = org_index, org_index
    values = compute_values(measure, num, den if den is not None else np.full(num.shape, np.nan))
    rows = len(org_index)
    return pd.DataFrame({
        "measure_id": pd.Categorical.from_codes(np.full(rows, codes.measures.get_loc(measure.id)), codes.measures),
        "measure_version": measure.version,
        "org_code": pd.Categorical.from_codes(orgs, codes.orgs),
        "org_level": pd.Categorical.from_codes(np.full(rows, codes.levels.get_loc(measure.level)), codes.levels),
        "pcn_code": pd.Categorical.from_codes(pcn_of, codes.orgs), "period_start": pop.months[month_index],
        "period_end": (pop.months + pd.offsets.MonthEnd(0))[month_index],
        "numerator": num[org_index, month_index],
        "denominator": den[org_index, month_index] if den is not None else np.nan,
        "value": values[org_index, month_index],
    })


def record_local_values(con: Connection, entered: pd.DataFrame, measures: dict[tuple[str, int], Measure],
                        last_month: date) -> int:
    """Record every generated local value as its month's return, then correct a few of the last month's.

    `entered` holds the values as recorded (ENTRY_COLUMNS but `row`): PCN rows of PCN measures, practice rows of
    practice measures; the PCN sums and derived measures follow from saving them, as for any recorded value. A few
    values of the last month were first submitted wrong and corrected in the grid a fortnight later, so the audit
    log has corrections to show. Returns the values saved.
    """
    # One return a month, its rows in measure and organisation order, numbered as the rows of a file with a header.
    entered = entered.sort_values(["period_start", "measure_id", "org_code"], kind="stable", ignore_index=True)
    final_rows = _first_submissions(entered, measures, last_month)
    starts = entered["period_start"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, starts[1:] != starts[:-1], True])
    entered.insert(0, "row", np.arange(len(entered)) - np.repeat(bounds[:-1], np.diff(bounds)) + 2)
    ids = set(entered["measure_id"].unique())
    used = {key: measure for key, measure in measures.items() if key[0] in ids}
    batches = []
    for first, end in zip(bounds[:-1], bounds[1:]):
        month = pd.Timestamp(starts[first]).date()
        batches.append((Batch(returns_source(month), entered.iloc[first:end][ENTRY_COLUMNS], 0, used),
                        submitted_at(month)))
    count = sum(saved.changed for saved in save_new_in(con, batches, DEMO_ACTOR))
    corrected = submitted_at(last_month).replace(day=20, hour=14, minute=40)
    if final_rows:
        batch = validate_in(con, final_rows, GRID_SOURCE, today=corrected.date())
        count += save_in(con, batch, DEMO_ACTOR, at=corrected).changed
    return count


def _first_submissions(entered: pd.DataFrame, measures: dict[tuple[str, int], Measure],
                       last_month: date) -> list[tuple[int, dict]]:
    """Put a few of the last month's values as first submitted into `entered`; returns the grid rows correcting them."""
    last = entered[entered["period_start"] == pd.Timestamp(last_month)]
    final_rows = []
    for pcn in _HISTORY_PCNS:
        for measure_id, level, first_submission in _CORRECTIONS:
            found = last[(last["measure_id"] == measure_id) & (last["org_level"] == level)
                         & (last["pcn_code"] == pcn)].sort_values("org_code")
            if found.empty:
                continue  # that month's submission is one of the demo's missing ones
            at, held = found.index[0], found.iloc[0]
            first_n, first_d = first_submission(held["numerator"], held["denominator"])
            measure = measures[(measure_id, int(held["measure_version"]))]
            entered.loc[at, ["numerator", "denominator", "value"]] = [
                first_n, first_d, compute_values(measure, [first_n], [first_d])[0]]
            final_rows.append((len(final_rows) + 2, {
                "measure_id": measure_id, "period_start": last_month, "org_code": held["org_code"],
                "numerator": held["numerator"],
                "denominator": None if pd.isna(held["denominator"]) else held["denominator"]}))
    return final_rows
