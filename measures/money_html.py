"""The money view's tables as HTML strings (IIF indicators, practices, the year's payments), every value escaped.

Only inline styles, so the strings survive `st.html` and pasting into a board paper. Nothing is coloured by
how much was earned: the threshold a value sits against is written in words.
"""

from __future__ import annotations

from html import escape

from .contract import YearRules
from .contract.money import IndicatorMoney
from .contract.view import MoneyView, status_text

TEXT = "#212B32"
MUTED = "#425563"
BORDER = "#D8DDE0"
HEAD = "#E8EDEE"
FONT = "Arial, Helvetica, sans-serif"
NOT_KNOWN = "not known"


def _e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def pounds(value: float | None) -> str:
    return NOT_KNOWN if value is None else f"£{value:,.0f}"


def points(value: float | None) -> str:
    return NOT_KNOWN if value is None else f"{value:,.1f}".removesuffix(".0")


def percent(share: float | None) -> str:
    return "no data" if share is None else f"{share * 100:.1f}%"


def points_text(achieved: float | None, available: float | None) -> str:
    if achieved is not None and available is not None:
        return f"{points(achieved)} of {points(available)}"
    if available is not None:
        return f"{points(available)} available"
    return NOT_KNOWN


def thresholds(item: IndicatorMoney) -> str:
    if item.lower is None:
        return NOT_KNOWN
    return f"{item.lower:g}% → {item.upper:g}%"


def standing(item: IndicatorMoney) -> str:
    """Where achievement sits against the thresholds, in words."""
    share = item.achievement
    if share is None or item.lower is None:
        return ""
    value = share * 100
    if value >= item.upper:
        return "at or above the upper threshold"
    if value <= item.lower:
        return "at or below the lower threshold"
    return "between the thresholds"


def patients_text(item: IndicatorMoney) -> str:
    if item.lower is None or item.achievement is None:
        return NOT_KNOWN
    to_lower, to_upper = item.patients_to_lower, item.patients_to_upper
    if to_upper == 0:
        return "upper threshold reached"
    parts = [] if to_lower == 0 else [f"{to_lower:,} to the lower"]
    parts.append(f"{to_upper:,} to the upper")
    return ", ".join(parts)


def money_cells(item: IndicatorMoney) -> tuple[str, ...]:
    """Thresholds, points, pounds earned and missed, and patients needed, as plain text; dashes for an indicator
    not in the IIF that year. The screen and the board pack show the same words."""
    if not item.in_iif:
        return ("–",) * 5
    return (thresholds(item), points_text(item.points_achieved, item.points_available), pounds(item.pounds_earned),
            pounds(item.pounds_missed), patients_text(item))


def total_cells(total: dict) -> tuple[str, ...]:
    """The year's row under `money_cells`: no thresholds, the points and pounds in all, no patients."""
    return ("", points_text(total["points_achieved"], total["points_available"]), pounds(total["pounds_earned"]),
            pounds(total["pounds_missed"]), "")


def _table(head: list[str], rows: list[list[str]], *, font_size: int, caption: str | None = None,
           first_left: bool = True, nowrap: tuple[int, ...] = ()) -> str:
    cell = f"padding:6px 8px;border-bottom:1px solid {BORDER};vertical-align:top"
    out = []
    if caption:  # above the table, not in it: on a phone the table scrolls sideways and the caption stays whole
        out.append(f'<p style="font-family:{FONT};font-size:{font_size}px;color:{TEXT};font-weight:bold;'
                   f'margin:4px 0 8px">{_e(caption)}</p>')
    out.append(f'<div style="overflow-x:auto;max-width:100%"><table style="border-collapse:collapse;width:100%;'
               f'font-family:{FONT};font-size:{font_size}px;color:{TEXT}">')
    out.append("<thead><tr>" + "".join(
        f'<th scope="col" style="{cell};background:{HEAD};text-align:{"left" if n == 0 and first_left else "right"}">'
        f"{_e(h)}</th>" for n, h in enumerate(head)) + "</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(
            f'<td style="{cell};text-align:{"left" if n == 0 and first_left else "right"}'
            f'{";white-space:nowrap" if n in nowrap else ""}">{value}</td>'
            for n, value in enumerate(row)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def indicators_html(view: MoneyView, *, font_size: int = 15) -> str:
    """One row per IIF indicator of the year: status, achievement, thresholds, points, pounds, patients needed."""
    head = ["Indicator", "Achievement", "Thresholds", "Points", "Earned", "Missed", "Patients needed"]
    rows = []
    for item in view.indicators:
        name = f"<strong>{_e(item.indicator)}</strong><br><span style=\"color:{MUTED}\">" \
               f"{_e(status_text(item.in_iif, item.year))}</span>"
        achieved = percent(item.achievement)
        if item.in_iif and item.ach_date is not None and item.achievement is not None:
            where = "; ".join(p for p in (f"to {item.ach_date:%d %b %Y}", standing(item)) if p)
            achieved += f"<br><span style=\"color:{MUTED}\">{_e(where)}</span>"
        rows.append([name, achieved, *map(_e, money_cells(item))])
    rows.append(["<strong>The year</strong>", "", *map(_e, total_cells(view.total))])
    return _table(head, rows, font_size=font_size, nowrap=(2, 3, 4, 5),
                  caption=f"Investment and Impact Fund {view.year}: points and pounds under the year's rules")


def practices_html(view: MoneyView, names: dict[str, str], *, font_size: int = 15) -> str:
    """Each practice's achievement and the patients it would need to reach each threshold on its own."""
    head = ["Practice", "Indicator", "Achievement", "Numerator", "Denominator", "Patients needed"]
    rows = []
    for item in sorted(view.practices, key=lambda m: (m.indicator, names.get(m.org, m.org))):
        rows.append([_e(f"{names.get(item.org, item.org)} ({item.org})"), _e(item.indicator),
                     _e(percent(item.achievement)),
                     _e("–" if item.numerator is None else f"{item.numerator:,.0f}"),
                     _e("–" if item.denominator is None else f"{item.denominator:,.0f}"), _e(patients_text(item))])
    return _table(head, rows, font_size=font_size,
                  caption="Each practice (the IIF pays the PCN; patients needed are the practice's own)")


def payments_html(rules: YearRules, *, font_size: int = 15) -> str:
    """The year's access payment and its parts, as the rules give them."""
    payment = rules.access_payment
    if not payment.in_contract:
        return (f'<p style="font-family:{FONT};font-size:{font_size}px;color:{TEXT}"><strong>{_e(payment.name)}'
                f"</strong>: not in the contract for {_e(rules.financial_year)}. "
                + " ".join(_e(c) for c in payment.caveats) + "</p>")
    rows = []
    for part in payment.parts:
        size = " · ".join(p for p in (
            f"{part.share * 100:.0f}%" if part.share is not None else None,
            f"£{part.amount_pounds / 1e6:,.1f}m nationally" if part.amount_pounds is not None else None,
            f"£{part.pounds_per_adjusted_patient:,.3f} per adjusted patient"
            if part.pounds_per_adjusted_patient is not None else None) if p) or NOT_KNOWN
        rows.append([_e(part.name), _e(size)])
        for component in part.components:
            share = (f"{component.share * 100:.0f}% of the part" if component.share is not None else
                     f"£{component.amount_pounds / 1e6:,.1f}m" if component.amount_pounds is not None else NOT_KNOWN)
            rows.append([f"&nbsp;&nbsp;{_e(component.name)}", _e(share)])
    total = f" (£{payment.total_pounds / 1e6:,.0f}m nationally)" if payment.total_pounds else ""
    return _table(["Part", "Size"], rows, font_size=font_size,
                  caption=f"{payment.name} {rules.financial_year}{total}")


def notes_html(view: MoneyView, *, font_size: int = 13, extra: tuple[str, ...] = ()) -> str:
    """The caveats and the sources of the year's numbers, as footnotes (`extra`: the ARRS view's)."""
    items = "".join(f"<li>{_e(c)}</li>" for c in dict.fromkeys([*view.caveats, *extra]))
    sources = "; ".join(_e(s) for s in view.sources)
    return (f'<div style="font-family:{FONT};font-size:{font_size}px;color:{MUTED}"><ul style="margin:4px 0 4px 18px;'
            f'padding:0">{items}</ul><p style="margin:4px 0">Sources: {sources}. Figures as reported; check the '
            "year's Network Contract DES specification before relying on one.</p></div>")


def arrs_html(view, *, font_size: int = 15) -> str:
    """ARRS against entitlement (`measures.contract.arrs.ArrsView`): the year's figures, then staff by role."""
    t = view.totals
    per_10k = "–" if t["arrs_fte_per_10k"] is None else f"{t['arrs_fte_per_10k']:.2f}"
    figures = [
        ("Weighted patients", NOT_KNOWN if view.weighted_patients is None else f"{view.weighted_patients:,.0f}"),
        ("Pounds per weighted patient", NOT_KNOWN if view.rate is None else f"£{view.rate:,.3f}"),
        ("Entitlement", pounds(t["entitlement"])),
        ("ARRS staff in post", f"{t['arrs_fte']:,.1f} FTE in {t['arrs_roles']} roles ({per_10k} per 10,000 patients)"),
        ("Estimated cost, roles with a known maximum", pounds(t["estimated_cost_known_roles"])),
        ("Estimated cost of every ARRS role", pounds(t["estimated_cost"])),
        ("Entitlement less estimated cost", pounds(t["entitlement_less_cost"])),
    ]
    census = f", staff at the census of {view.census_date:%d %b %Y}" if view.census_date else ""
    out = [_table(["Figure", "Value"], [[_e(a), _e(b)] for a, b in figures], font_size=font_size,
                  caption=f"Additional Roles Reimbursement Scheme {view.year}: entitlement against staff in post"
                          f"{census}")]
    rows = []
    for role in view.roles:
        rows.append([_e(role.staff_role), "yes" if role.counts else "no", _e(f"{role.fte:,.2f}"),
                     _e(f"{role.headcount:,}"),
                     _e("–" if role.fte_per_10k is None else f"{role.fte_per_10k:.2f}"),
                     _e(pounds(role.pounds_per_wte) if role.counts else "–"),
                     _e(pounds(role.estimated_cost) if role.counts else "–")])
    if rows:
        out.append(_table(["Role", "Counts for the ARRS", "FTE", "Headcount", "FTE per 10,000", "Maximum per WTE",
                           "Estimated cost"], rows, font_size=font_size, nowrap=(2, 3, 4, 5, 6)))
    return "".join(out)
