"""One cell of a filled-in template: blank or not, a formula, a number in range, a date; and numbers as text."""

from __future__ import annotations

import re
from datetime import date, datetime

import numpy as np
import pandas as pd

from ..catalogue import Measure
from .problems import _shown

# A text cell starting with one of these is how a spreadsheet formula (or a CSV-injection payload) begins.
# `=` and `@` always mark a formula; `+` and `-` only when the cell is not a plain number, so -3 is a number.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Plain decimals in ASCII digits only: `\d` would take Arabic-Indic or full-width digits (and float() reads them),
# and an exponent (1e2) is not how anyone types a count; the importers refuse both too.
_NUMBER = re.compile(r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NOT_FINITE_WORDS = ("inf", "infinity", "nan")

# No PCN or practice records more than this in one period: the largest PCN serves about 200,000 patients and
# holds a few million pounds of ARRS money a year. A larger numerator or denominator is a typing slip (an extra
# digit run, 1e308) that would swamp every sum and chart it is added to.
MAX_RECORDED = 10_000_000
# Money may run higher: a currency measure's numerator is pounds paid, which for a large PCN can reach tens of
# millions over a year; a billion is beyond any PCN.
MAX_RECORDED_MONEY = 1_000_000_000


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _is_number_text(text: str) -> bool:
    text = text.strip()
    return bool(_NUMBER.match(text) or _THOUSANDS.match(text))


def _formula_problem(value) -> str | None:
    if type(value).__name__ in ("ArrayFormula", "DataTableFormula"):
        return "is a spreadsheet formula; type the number itself"
    if not isinstance(value, str) or not value:
        return None
    text = value.lstrip(" ")
    if not text or text[0] not in FORMULA_PREFIXES:
        return None
    if text[0] in "+-" and (_is_number_text(text) or text[1:].strip().lower() in _NOT_FINITE_WORDS):
        return None  # -3 and +3 are numbers; -inf is refused as a number that is not finite
    return (f"{_shown(value)} starts with {text[0]!r} like a spreadsheet formula; cells starting with "
            "=, +, - or @ are refused unless they are plain numbers, so type the value itself")


def _number(value) -> float:
    """A cell as a number; raises ValueError with a message for anything else (including NaN and infinity)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        text = str(value).strip()
        if text.lstrip("+-").lower() in _NOT_FINITE_WORDS:
            raise ValueError(f"{_shown(value)} is not a number; type the count or amount itself")
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        if not _NUMBER.match(text):
            raise ValueError(f"{_shown(value)} is not a number; write the number in digits, such as 1234 or 12.5")
        number = float(text)
    if not np.isfinite(number):
        raise ValueError(f"{_shown(value)} is not a finite number; type the count or amount itself")
    return number


def _number_text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _amount_text(number: float) -> str:
    """A number for a message: as typed where it is ordinary, in powers of ten where it is huge or tiny."""
    if number == 0 or 1e-6 <= abs(number) < 1e15:
        return _number_text(number)
    return f"{number:.4g}"


def _amount_problem(measure: Measure | None, part: str, number: float) -> str | None:
    """Why a numerator or denominator is beyond what the measure can hold, or None."""
    money = measure is not None and measure.type == "currency" and part == "numerator"
    limit = MAX_RECORDED_MONEY if money else MAX_RECORDED
    if -limit <= number <= limit:
        return None
    what = "a currency measure's numerator (pounds)" if money else f"a {part}"
    beyond = f"above {limit:,}, the most" if number > 0 else f"below -{limit:,}, the least"
    return (f"{_amount_text(number)} is {beyond} {what} can be for one organisation and period; check for "
            "a slip such as an extra digit")


def _day(value) -> date:
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise ValueError(f"{_shown(value)} is not a date")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"{_shown(text)} is not a date; write it as YYYY-MM-DD, for example 2026-09-01")
