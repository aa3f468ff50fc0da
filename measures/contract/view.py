"""The money view's model: a PCN's IIF indicators for one year, its practices, the totals and the what-if."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import pandas as pd

from . import ContractRules, YearRules
from .money import (IIF_COLUMNS, Adjustments, IndicatorMoney, adjustments, indicator_money, trajectory,
                    year_total)

STATUS_ORDER = {True: 0, None: 1, False: 2}


def status_text(in_iif: bool | None, year: str) -> str:
    return {True: f"In the IIF for {year}", None: f"IIF place for {year} to be confirmed",
            False: f"Not in the IIF for {year}"}[in_iif]


@dataclass(frozen=True)
class MoneyView:
    """What the page, the pack and the command line show for one PCN and year."""

    year: str
    pcn: str
    indicators: tuple[IndicatorMoney, ...]
    practices: tuple[IndicatorMoney, ...] = ()
    caveats: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)  # practice code → name, for the drill-down
    history: pd.DataFrame | None = None  # the PCN's own figures month by month (`reads.iif_inputs` rows)

    @property
    def total(self) -> dict:
        return year_total(list(self.indicators))

    def table(self, practices: bool = False) -> pd.DataFrame:
        """The command line's columns (achievement and thresholds as fractions 0–1, blank where not known)."""
        items = list(self.indicators) + (list(self.practices) if practices else [])
        return pd.DataFrame([m.row() for m in items], columns=IIF_COLUMNS)

    def with_more_patients(self, extra: dict[str, int]) -> "MoneyView":
        """The view had `extra[code]` more patients been reached for each indicator."""
        changed = tuple(m.with_more_patients(int(extra.get(m.indicator, 0) or 0)) for m in self.indicators)
        return replace(self, indicators=changed, extra=dict(extra))

    def trajectory(self, code: str) -> pd.DataFrame:
        item = next((m for m in self.indicators if m.indicator == code), None)
        return trajectory(item) if item is not None else trajectory_empty()


def trajectory_empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["month_end", "needed", "patients_per_month"])


def latest_in_year(inputs: pd.DataFrame, measure: str, level: str) -> pd.DataFrame:
    rows = inputs[(inputs["measure"] == measure) & (inputs["level"] == level)]
    if rows.empty:
        return rows
    return rows[rows["period_end"] == rows["period_end"].max()]


def money_view(rules: ContractRules, year: str, pcn_code: str, inputs: pd.DataFrame, lists: pd.DataFrame,
               england: dict) -> MoneyView:
    """Combine a year's rules with the PCN's figures (`reads.iif_inputs`), list sizes (`reads.list_sizes`, the
    PCN's row) and England's figures (`reads.england`)."""
    year_rules: YearRules = rules.year(year)
    pcn_list = lists.loc[lists["org"] == pcn_code, "registered_patients"]
    pcn_list = float(pcn_list.iloc[0]) if len(pcn_list) and pd.notna(pcn_list.iloc[0]) else None
    items, practice_items = [], []
    ordered = sorted(year_rules.iif.indicators, key=lambda i: STATUS_ORDER[i.in_iif])
    for indicator in ordered:
        own = latest_in_year(inputs, indicator.measure, "pcn")
        own = own[own["org"] == pcn_code]
        numerator = own["numerator"].iloc[0] if len(own) else None
        denominator = own["denominator"].iloc[0] if len(own) else None
        ach_date = pd.Timestamp(own["period_end"].iloc[0]).date() if len(own) else None
        national = england.get("denominators", {}).get(indicator.measure, (None, None))
        adjust = adjustments(pcn_list, england.get("mean_list"), denominator, national[0], national[1])
        item = indicator_money(year_rules, indicator.code, pcn_code, numerator, denominator, ach_date=ach_date,
                               adjust=adjust)
        if not len(own) and indicator.in_iif is not False:
            item = _with_caveat(item, f"No {indicator.code} figures for this PCN in {year} are loaded.")
        items.append(item)
        for row in latest_in_year(inputs, indicator.measure, "practice").itertuples():
            practice_items.append(indicator_money(year_rules, indicator.code, row.org, row.numerator,
                                                  row.denominator, ach_date=pd.Timestamp(row.period_end).date(),
                                                  adjust=Adjustments(), pays=False))
    caveats = list(dict.fromkeys(c for m in items for c in m.caveats))
    if year_rules.iif.adjustments:
        caveats.append("The adjustments are worked out from the figures loaded here (the PCN's list against the "
                       "mean PCN list, and its prevalence against England's); NHS England uses its own national "
                       "figures, so pounds are an estimate.")
    sources = tuple(year_rules.cite(s) for s in dict.fromkeys(
        [year_rules.iif.source] + [i.source for i in year_rules.iif.indicators]))
    return MoneyView(year, pcn_code, tuple(items), tuple(practice_items), tuple(caveats), sources)


def _with_caveat(item: IndicatorMoney, caveat: str) -> IndicatorMoney:
    return replace(item, caveats=item.caveats + (caveat,))


def years_with_data(rules: ContractRules, periods: list[date]) -> list[str]:
    """The rules' years for a picker: first those with IIF figures loaded and an indicator confirmed in the IIF
    (the latest first), then those with figures, then the rest."""
    from ..catalogue import financial_year_of

    have = {financial_year_of(p) for p in periods}
    years = list(reversed(list(rules.years)))

    def confirmed(year: str) -> bool:
        return any(i.in_iif for i in rules.year(year).iif.indicators)

    return sorted(years, key=lambda y: (y not in have, not confirmed(y), years.index(y)))


def iif_standing(rules: ContractRules, measure_id: str, year: str) -> tuple[int, str | None]:
    """Where a measure stands in the chosen year's IIF: a sort rank (0 in it, 1 to be confirmed, 2 not in it)
    and, for a measure that was in the IIF in another year, a short note saying so for a board row ("retired
    from the IIF 2024/25": the board must fit one screen)."""
    chosen = rules.year(year)
    here = next((i for i in chosen.iif.indicators if i.measure == measure_id), None)
    if here is not None and here.in_iif:
        return 0, None
    if here is not None and here.in_iif is None:
        return 1, f"IIF {year} to be confirmed"
    paid = [y for y, r in rules.years.items() if any(i.measure == measure_id and i.in_iif for i in r.iif.indicators)]
    if not paid:
        return 2, None
    later = [y for y in rules.years if y > paid[-1]]
    if paid[-1] < year and later:
        return 2, f"retired from the IIF {later[0]}"
    return 2, f"IIF in {', '.join(paid)} only"


def order_for_year(rows: list, rules: ContractRules, year: str) -> list:
    """Board rows of the national family with the chosen year's IIF indicators first, and a note on those the
    IIF paid in another year (kept as history). Rows are `measures.board.BoardRow`."""
    ranked = []
    for position, row in enumerate(rows):
        rank, note = iif_standing(rules, row.measure.id, year)
        if note:
            row = replace(row, goal=f"{row.goal} · {note}" if row.goal else note)
        ranked.append((rank, position, row))
    return [row for _, _, row in sorted(ranked, key=lambda t: (t[0], t[1]))]


def what_if_text(before: MoneyView, after: MoneyView) -> str:
    """The what-if in a sentence: points and pounds with the extra patients, against the year as it stands."""
    parts = []
    for was, now in zip(before.indicators, after.indicators):
        extra = int(after.extra.get(now.indicator, 0) or 0)
        if not extra or now.points_achieved is None:
            continue
        line = (f"{now.indicator} with {extra:,} more patient{'s' if extra != 1 else ''}: "
                f"{now.achievement * 100:.1f}%, {_points(now.points_achieved)} of {_points(now.points_available)} "
                f"points")
        if now.pounds_earned is not None and was.pounds_earned is not None:
            line += f", £{now.pounds_earned:,.0f} (£{now.pounds_earned - was.pounds_earned:,.0f} more)"
        parts.append(line)
    return "; ".join(parts) + "." if parts else ""


def _points(value: float | None) -> str:
    return "not known" if value is None else f"{value:,.1f}".removesuffix(".0")
