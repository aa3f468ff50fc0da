"""IIF money from the year's rules: points, pounds earned and missed, patients to each threshold, and the what-if."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction

import pandas as pd

from . import YearRules, normalise_code

IIF_COLUMNS = ["indicator", "year", "org", "numerator", "denominator", "achievement", "lower", "upper",
               "points_available", "points_achieved", "pounds_per_point", "pounds_earned", "pounds_missed",
               "patients_to_lower", "patients_to_upper"]
ADJUSTMENT_LABELS = {"list_size": "list-size adjustment", "prevalence": "prevalence adjustment"}


def _exact(value) -> Fraction:
    return Fraction(str(float(value)))


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def achievement(numerator, denominator) -> float | None:
    """The share achieved, 0 to 1; None without a positive denominator."""
    if not (_known(numerator) and _known(denominator)) or denominator <= 0:
        return None
    return float(numerator) / float(denominator)


def points_achieved(share: float | None, lower: float | None, upper: float | None,
                    points: float | None) -> float | None:
    """Points earned under the IIF rule: none at or below the lower threshold, all at or above the upper, linear
    between. `share` is 0–1; thresholds are percentages as the rules write them."""
    if share is None or lower is None or upper is None or points is None:
        return None
    percent = _exact(share) * 100
    low, high = _exact(lower), _exact(upper)
    if percent >= high:
        return float(points)
    if percent <= low:
        return 0.0
    return float(_exact(points) * (percent - low) / (high - low))


def patients_to(numerator, denominator, threshold: float | None) -> int | None:
    """The fewest more patients (in the numerator, out of the same denominator) that bring achievement to
    `threshold` percent; 0 when it is already reached. None when it cannot be worked out."""
    if threshold is None or not (_known(numerator) and _known(denominator)) or denominator <= 0:
        return None
    needed = _exact(threshold) / 100 * _exact(denominator) - _exact(numerator)
    return max(0, math.ceil(needed))


@dataclass(frozen=True)
class Adjustments:
    """The factors a year's payment is multiplied by, with what each was worked out from."""

    factors: dict[str, float | None] = field(default_factory=dict)
    workings: dict[str, str] = field(default_factory=dict)

    def product(self, wanted: list[str]) -> float | None:
        total = 1.0
        for name in wanted:
            factor = self.factors.get(name)
            if factor is None:
                return None
            total *= factor
        return total


def adjustments(list_size, mean_list_size, denominator, national_denominator, national_list_size) -> Adjustments:
    """List-size adjustment (the PCN's list ÷ the mean PCN list) and prevalence adjustment (the PCN's
    denominator per patient ÷ England's), from the figures loaded here."""
    factors: dict[str, float | None] = {"list_size": None, "prevalence": None}
    workings: dict[str, str] = {}
    if _known(list_size) and _known(mean_list_size) and mean_list_size > 0 and list_size > 0:
        factors["list_size"] = float(list_size) / float(mean_list_size)
        workings["list_size"] = f"{list_size:,.0f} patients ÷ mean PCN list {mean_list_size:,.0f}"
    if (_known(list_size) and list_size > 0 and _known(denominator) and _known(national_denominator)
            and _known(national_list_size) and national_denominator > 0 and national_list_size > 0):
        own = float(denominator) / float(list_size)
        england = float(national_denominator) / float(national_list_size)
        factors["prevalence"] = own / england
        workings["prevalence"] = (f"{own * 1000:,.2f} per 1,000 patients ÷ England's {england * 1000:,.2f} "
                                  "per 1,000")
    return Adjustments(factors, workings)


@dataclass(frozen=True)
class IndicatorMoney:
    """One IIF indicator's money for one organisation and year; None where a rule or a figure is not known."""

    indicator: str
    year: str
    org: str
    measure: str
    in_iif: bool | None
    ach_date: date | None
    numerator: float | None
    denominator: float | None
    lower: float | None
    upper: float | None
    points_available: float | None
    pounds_per_point: float | None
    adjustment: float | None  # the product of the year's adjustments; 1 when the year has none
    adjustment_workings: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    pays: bool = True  # False for a practice: the IIF pays PCNs

    @property
    def achievement(self) -> float | None:
        return achievement(self.numerator, self.denominator)

    @property
    def points_achieved(self) -> float | None:
        if not self.pays or not self.in_iif:
            return None
        return points_achieved(self.achievement, self.lower, self.upper, self.points_available)

    def _pounds(self, points: float | None) -> float | None:
        if points is None or self.pounds_per_point is None or self.adjustment is None:
            return None
        return points * self.pounds_per_point * self.adjustment

    @property
    def pounds_earned(self) -> float | None:
        return self._pounds(self.points_achieved)

    @property
    def pounds_missed(self) -> float | None:
        earned = self.points_achieved
        if earned is None or self.points_available is None:
            return None
        return self._pounds(self.points_available - earned)

    @property
    def pounds_available(self) -> float | None:
        return self._pounds(self.points_available) if self.pays and self.in_iif else None

    @property
    def patients_to_lower(self) -> int | None:
        return patients_to(self.numerator, self.denominator, self.lower)

    @property
    def patients_to_upper(self) -> int | None:
        return patients_to(self.numerator, self.denominator, self.upper)

    def with_more_patients(self, extra: int) -> "IndicatorMoney":
        """The same indicator had `extra` more patients been reached (never more than the denominator)."""
        if extra < 0:
            raise ValueError("the number of extra patients cannot be negative")
        if not (_known(self.numerator) and _known(self.denominator)):
            return self
        return replace(self, numerator=min(float(self.numerator) + extra, float(self.denominator)))

    def row(self) -> dict:
        return {"indicator": self.indicator, "year": self.year, "org": self.org, "numerator": self.numerator,
                "denominator": self.denominator, "achievement": self.achievement, "lower": _share(self.lower),
                "upper": _share(self.upper), "points_available": self.points_available if self.pays else None,
                "points_achieved": self.points_achieved,
                "pounds_per_point": self.pounds_per_point if self.pays and self.in_iif else None,
                "pounds_earned": self.pounds_earned, "pounds_missed": self.pounds_missed,
                "patients_to_lower": self.patients_to_lower, "patients_to_upper": self.patients_to_upper}


def _share(percent: float | None) -> float | None:
    return None if percent is None else float(_exact(percent) / 100)


def indicator_money(rules: YearRules, code: str, org: str, numerator, denominator, *, ach_date: date | None = None,
                    adjust: Adjustments | None = None, pays: bool = True) -> IndicatorMoney:
    """One indicator's money under a year's rules for one organisation's numerator and denominator."""
    indicator = rules.indicator(code)
    if indicator is None:
        raise KeyError(f"{normalise_code(code)} is not an indicator of {rules.financial_year}")
    caveats = list(rules.iif.caveats) + list(indicator.caveats)
    factor, workings = 1.0, []
    for name in (rules.iif.adjustments if pays and indicator.in_iif else []):
        value = (adjust or Adjustments()).factors.get(name)
        if value is None:
            factor = None
            caveats.append(f"The {ADJUSTMENT_LABELS[name]} cannot be worked out from the data loaded here, so "
                           "pounds are not shown.")
            break
        factor *= value
        workings.append(f"{ADJUSTMENT_LABELS[name]} {value:.3f} ({(adjust or Adjustments()).workings.get(name, '')})")
    return IndicatorMoney(
        indicator=indicator.code, year=rules.financial_year, org=org, measure=indicator.measure,
        in_iif=indicator.in_iif, ach_date=ach_date,
        numerator=float(numerator) if _known(numerator) else None,
        denominator=float(denominator) if _known(denominator) else None,
        lower=indicator.lower, upper=indicator.upper,
        points_available=indicator.points if indicator.in_iif else None,
        pounds_per_point=rules.iif.pounds_per_point, adjustment=factor, adjustment_workings=tuple(workings),
        caveats=tuple(dict.fromkeys(caveats)), pays=pays)


def financial_year_end(financial_year: str) -> date:
    return date(int(financial_year[:4]) + 1, 3, 31)


def trajectory(money: IndicatorMoney) -> pd.DataFrame:
    """From the achievement date to 31 March: the achievement (0–1) each month end needs to be on a straight line
    to the upper threshold, and the patients a month that closes the gap at today's denominator."""
    columns = ["month_end", "needed", "patients_per_month"]
    if money.ach_date is None or money.upper is None or money.achievement is None:
        return pd.DataFrame(columns=columns)
    end = financial_year_end(money.year)
    months = pd.date_range(pd.Timestamp(money.ach_date) + pd.offsets.MonthEnd(1), pd.Timestamp(end), freq="ME")
    if len(months) == 0:
        return pd.DataFrame(columns=columns)
    start, goal = money.achievement, max(money.achievement, money.upper / 100)
    steps = [(n + 1) / len(months) for n in range(len(months))]
    per_month = math.ceil((money.patients_to_upper or 0) / len(months))
    return pd.DataFrame({"month_end": [m.date() for m in months],
                         "needed": [start + (goal - start) * s for s in steps],
                         "patients_per_month": per_month})


def year_total(items: list[IndicatorMoney]) -> dict:
    """The year's totals over the indicators that pay; a total is None when any part of it is not known."""
    paying = [m for m in items if m.pays and m.in_iif]

    def total(values):
        values = list(values)
        return None if not values or any(v is None for v in values) else float(sum(values))

    return {"points_available": total(m.points_available for m in paying),
            "points_achieved": total(m.points_achieved for m in paying),
            "pounds_earned": total(m.pounds_earned for m in paying),
            "pounds_missed": total(m.pounds_missed for m in paying),
            "indicators": len(paying)}
