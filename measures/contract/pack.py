"""The board pack's money page: the IIF of the pack's financial year and the year's access payment, as plain text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..catalogue import financial_year_of
from ..store import Store
from . import default_rules
from .reads import data_years, money
from .view import status_text

MONEY = "The money: Investment and Impact Fund"
HEADERS = ("Indicator", "Achievement", "Thresholds", "Points", "Earned", "Missed", "Patients needed")


@dataclass(frozen=True)
class MoneyPage:
    year: str
    rows: tuple[tuple[str, ...], ...]  # one per indicator, then the year's total
    payments: tuple[tuple[str, str], ...]  # the access payment's parts: name, size
    payment_note: str
    notes: tuple[str, ...]  # caveats, then the sources

    headers = HEADERS

    @property
    def heading(self) -> str:
        return (f"{self.year}: achievement against the thresholds, points and pounds under the year's rules, "
                "and the patients needed to reach each threshold")


def pack_year(store: Store, as_of: date) -> str:
    """The pack's financial year: that of its month when the rules cover it and IIF figures are loaded for it,
    else the latest such year before it (a year's money is read once it has figures)."""
    years = [y for y in data_years(store) if y <= financial_year_of(as_of)]
    own = financial_year_of(as_of)
    return own if own in years[:1] else (years[0] if years else sorted(default_rules().years)[-1])


def money_page(store: Store, pcn_code: str, as_of: date, year: str | None = None) -> MoneyPage:
    from ..money_html import money_cells, percent, total_cells

    chosen = year or pack_year(store, as_of)
    view = money(store, pcn_code, chosen)
    own = financial_year_of(as_of)
    why = () if year or chosen == own or own not in default_rules().years else (
        f"The pack's month falls in {own}, whose IIF points and thresholds the rules do not confirm; this page "
        f"shows {chosen}, the latest year they do with figures loaded.",)
    year = chosen
    rows = []
    for item in view.indicators:
        name = f"{item.indicator} ({status_text(item.in_iif, year)})"
        achieved = percent(item.achievement) + (f" to {item.ach_date:%d %b %Y}" if item.in_iif and item.ach_date
                                                else "")
        rows.append((name, achieved, *money_cells(item)))
    rows.append(("The year", "", *total_cells(view.total)))
    rules = default_rules().year(year)
    payment = rules.access_payment
    parts = []
    for part in payment.parts:
        size = "; ".join(p for p in (
            f"{part.share * 100:.0f}%" if part.share is not None else None,
            f"£{part.amount_pounds / 1e6:,.1f}m nationally" if part.amount_pounds is not None else None) if p)
        parts.append((part.name, size or "not known"))
    note = (f"{payment.name} {year}." if payment.in_contract
            else f"{payment.name}: not in the contract for {year}. " + " ".join(payment.caveats))
    sources = "Sources: " + "; ".join(view.sources) + ". Figures as reported; check the year's Network Contract " \
                                                      "DES specification before relying on one."
    return MoneyPage(year=year, rows=tuple(rows), payments=tuple(parts), payment_note=note,
                     notes=why + tuple(view.caveats) + (sources,))
