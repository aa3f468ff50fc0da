"""Synthetic IIF figures for the demo as the MI Network Contract DES gives them: each practice's year to date."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .catalogue import Measure, compute_values
from .demo_rows import ObservationCodes, month_periods

# The IIF indicators the demo fills the way the monthly publication does: practice counts from 1 April,
# summed into the PCN at each month's membership. CAN-04 counts referrals (the denominator grows through the
# year); HI-03 counts health checks among a register that stays about the same size.
YEAR_TO_DATE = ("can_02_fit", "hi_03_ld_health_checks")


def _financial_month(months: pd.DatetimeIndex) -> np.ndarray:
    """1 for April, 12 for March."""
    return ((months.month - 4) % 12 + 1).to_numpy()


def _financial_year(months: pd.DatetimeIndex) -> np.ndarray:
    return np.where(months.month >= 4, months.year, months.year - 1)


def _cumulate_within_years(monthly: np.ndarray, years: np.ndarray) -> np.ndarray:
    out = np.zeros_like(monthly, dtype=float)
    for year in np.unique(years):
        columns = years == year
        out[:, columns] = np.cumsum(monthly[:, columns], axis=1)
    return out


def year_to_date(measure: Measure, pop, rng: np.random.Generator, codes: ObservationCodes) -> pd.DataFrame:
    """Practice rows and PCN sums, one row a month, each the year to date (period = the month)."""
    own = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
    n_practices, n_months = pop.registered.shape
    fmonth = _financial_month(pop.months)[None, :]
    years = _financial_year(pop.months)
    if measure.id == "can_02_fit":
        referrals = own.poisson(np.maximum(pop.registered * 0.0006 * (1 + own.normal(0, 0.25, (n_practices, 1))), 0))
        share = np.clip(own.normal(0.74, 0.09, (n_practices, 1)) + own.normal(0, 0.04, (n_practices, n_months)),
                        0.2, 1.0)
        with_fit = own.binomial(referrals, share)
        denominator = _cumulate_within_years(referrals.astype(float), years)
        numerator = _cumulate_within_years(with_fit.astype(float), years)
    else:
        register = np.round(pop.registered * 0.0055 * (1 + own.normal(0, 0.2, (n_practices, 1))))
        final = np.clip(own.normal(0.70, 0.10, (n_practices, len(np.unique(years)))), 0.2, 0.98)
        by_year = {year: n for n, year in enumerate(np.unique(years))}
        final_each_month = final[:, [by_year[y] for y in years]]
        numerator = np.floor(register * final_each_month * (fmonth / 12) ** 1.3)
        denominator = register
    pcn_numerator, pcn_denominator = pop.pcn_sum(numerator), pop.pcn_sum(denominator)
    frames = []
    for level, orgs, num, den, basis in (("practice", pop.practice_codes, numerator, denominator, "synthetic"),
                                         ("pcn", pop.pcn_codes, pcn_numerator, pcn_denominator, "sum_of_practices")):
        org_index, month_index = np.nonzero(np.ones(num.shape, dtype=bool))
        n, d = num[org_index, month_index], den[org_index, month_index]
        frames.append(codes.rows(measure, orgs, level, org_index, *month_periods(pop.months, month_index), n, d,
                                 compute_values(measure, n, d), basis))
    return pd.concat(frames, ignore_index=True)
