"""The demo's observations as compact columns: codes as categories in sorted order, periods as datetime64."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from .catalogue import Measure

OBSERVATION_COLUMNS = ["measure_id", "measure_version", "org_code", "org_level", "period_start", "period_end",
                       "numerator", "denominator", "value", "basis"]
BASES = ("derived", "recorded", "sum_of_practices", "synthetic")
LEVELS = ("pcn", "practice")


@dataclass(frozen=True)
class ObservationCodes:
    """One category list per text column for every frame of observations, so that millions of rows hold codes,
    not strings, and the frames concatenate without converting. The lists are sorted, so ordering by a column's
    codes is ordering by its text, as the database orders it."""

    measures: pd.Index
    orgs: pd.Index

    @classmethod
    def of(cls, measure_ids, org_codes) -> ObservationCodes:
        return cls(pd.Index(sorted(set(measure_ids))), pd.Index(sorted(set(org_codes))))

    def rows(self, measure: Measure, codes: np.ndarray, level: str, org_index: np.ndarray,
             period_start: np.ndarray, period_end: np.ndarray, numerator: np.ndarray, denominator,
             value: np.ndarray, basis: str) -> pd.DataFrame:
        """Observation rows of one measure at one level: `codes[org_index]` the organisations, one row each."""
        size = len(org_index)
        return pd.DataFrame({
            "measure_id": self._repeat(self.measures, measure.id, size),
            "measure_version": np.full(size, measure.version, dtype=np.int64),
            "org_code": pd.Categorical.from_codes(self.orgs.get_indexer(codes)[org_index], self.orgs),
            "org_level": self._repeat(pd.Index(LEVELS), level, size),
            "period_start": period_start, "period_end": period_end,
            "numerator": np.asarray(numerator, dtype=float),
            "denominator": (np.asarray(denominator, dtype=float) if denominator is not None
                            else np.full(size, np.nan)),
            "value": np.asarray(value, dtype=float),
            "basis": self._repeat(pd.Index(BASES), basis, size),
        })

    @staticmethod
    def _repeat(categories: pd.Index, value: str, size: int) -> pd.Categorical:
        return pd.Categorical.from_codes(np.full(size, categories.get_loc(value), dtype=np.int32), categories)


def month_periods(months: pd.DatetimeIndex, month_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The start and last day of each month named by `month_index`, as datetime64."""
    starts = months.to_numpy()
    ends = (months + pd.offsets.MonthEnd(0)).to_numpy()
    return starts[month_index], ends[month_index]


def fixed_period(start: date, end: date, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One period (say a financial year) for `size` rows, as datetime64."""
    return (np.full(size, np.datetime64(start, "s")), np.full(size, np.datetime64(end, "s")))
