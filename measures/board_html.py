"""The board view as one HTML string: three family columns of compact rows, meeting mode and its measure screens.

Streamlit's `st.html` sanitises with DOMPurify, which drops inline `<svg>` elements (and `target`), but keeps
`<style>`, links and `<img>` with a `data:` URI: so each icon and sparkline is a small SVG drawn into an image
(`measures.board_svg`), and the style sheets are `measures.board_style`. Every text that comes from a catalogue
file, the database or a user is escaped here.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from . import detail, suppression
from .board import CONFIDENCE, METHOD_NAMES, BoardRow
from .board_style import BIG_ICON, MEETING_PAGE_STYLE, MEETING_STYLE, ROOT_ID, STYLE, VERDICT_COLOURS
from .board_svg import (EMPTY_ICON_COLOUR, ICON_COLOURS, ICON_SIZE, MUTED_COLOUR, SPARK_HEIGHT, SPARK_WIDTH,
                        TEXT_COLOUR, TREND_COLOUR, _data_uri, icon_colour, icon_letter, icon_svg, sparkline_svg)
from .catalogue import FAMILIES, FAMILY_LABELS

# The drawing and the style sheets live beside this module; pages and the board pack import them from here.
__all__ = ["ROOT_ID", "STEP_ID", "STYLE", "MEETING_STYLE", "MEETING_PAGE_STYLE", "VERDICT_COLOURS", "ICON_COLOURS",
           "EMPTY_ICON_COLOUR", "ICON_SIZE", "MUTED_COLOUR", "SPARK_HEIGHT", "SPARK_WIDTH", "TEXT_COLOUR",
           "TREND_COLOUR", "BIG_ICON", "icon_colour", "icon_letter", "icon_svg", "sparkline_svg", "assurance_alt",
           "variation_alt", "verdict_html", "caveat_html", "row_html", "meeting_row_html", "legend_html", "meeting_legend_html",
           "board_html", "measure_link", "heading_html", "step_head_html", "step_reading_html"]


def _e(text) -> str:
    return html.escape(str(text), quote=True)


ANNUAL_POINTS = "Annual: shown as a point, no icons"
SHORT_POINTS = f"Fewer than {detail.MIN_POINTS_FOR_LIMITS} points: shown as points, no icons"


def _points_alt(row: BoardRow) -> str | None:
    """Why a row has neither icon, as Measure detail reads its series: annual, too short, or too many suppressed."""
    if row.why_points == "annual":
        return ANNUAL_POINTS
    if row.why_points == "short":
        return SHORT_POINTS
    if row.withheld:
        return row.withheld[0].upper() + row.withheld[1:]
    if not row.has_data:
        return "No icon: no data"
    return None


def variation_alt(kind: str | None, row: BoardRow | None = None) -> str:
    if kind:
        return detail.VARIATION_TEXT.get(kind, kind)
    return (_points_alt(row) if row is not None else None) or "No variation icon"


def assurance_alt(row: BoardRow) -> str:
    """The assurance icon in words, or why there is none: judged only against an explicit target for the latest
    period's financial year (IIF thresholds are payment bands, drawn on the chart, not targets)."""
    if row.assurance:
        return detail.ASSURANCE_TEXT[row.assurance]
    without = _points_alt(row)
    if without:
        return without
    if row.latest_period is None or detail.assurance_target(row.measure, row.latest_period) is None:
        return "No assurance icon: no target this year"
    if row.measure.improvement_direction == "neutral":
        return "No assurance icon: no direction is better"
    return "No assurance icon"


BY_CONSTRUCTION = ("No icon: the PCN's value is 1.00 by construction (its practices' shares add up to the "
                   "whole); the range across its practices is shown instead")


def _icon_img(kind: str | None, alt: str, css_class: str) -> str:
    return (f'<img class="pcnb-icon {css_class}" src="{_data_uri(icon_svg(kind))}" width="{ICON_SIZE}" '
            f'height="{ICON_SIZE}" alt="{_e(alt)}" title="{_e(alt)}">')


def measure_link(measure_id: str, pcn_code: str) -> str:
    """Measure detail for the measure and PCN, relative so that it works under any base path."""
    return "measure?" + urlencode({"measure": measure_id, "pcn": pcn_code})


def verdict_html(row: BoardRow) -> str:
    """The ICB's value and the Fingertips verdict on it; nothing when the ICB has no value."""
    verdict = row.verdict
    if row.comparator is None:
        return ""
    icb = f"ICB {row.measure.format_value(row.comparator)}"
    if verdict.compared:
        tip = (f"{int(CONFIDENCE * 100)}% interval {row.measure.format_value(verdict.lower)} to "
               f"{row.measure.format_value(verdict.upper)} ({METHOD_NAMES[verdict.method]}) against the ICB's "
               f"{row.measure.format_value(row.comparator)}")
        outcome = verdict.outcome
        return (f'<span class="pcnb-icb">{_e(icb)} <span class="pcnb-verdict pcnb-{_e(outcome)}" '
                f'title="{_e(tip)}">{_e(outcome)}</span></span>')
    tip = f"Not compared: {verdict.reason}" if verdict.reason else "Not compared"
    return (f'<span class="pcnb-icb">{_e(icb)} <span class="pcnb-not-compared" title="{_e(tip)}">'
            f"not compared</span></span>")


def _row_icons(row: BoardRow, size_class: str = "") -> str:
    by_construction = row.practice_range is not None
    variation = BY_CONSTRUCTION if by_construction else variation_alt(row.variation, row)
    assurance = BY_CONSTRUCTION if by_construction else assurance_alt(row)
    return (_icon_img(row.variation, variation, f"pcnb-variation{size_class}")
            + _icon_img(row.assurance, assurance, f"pcnb-assurance{size_class}"))


def _trend_html(row: BoardRow) -> str:
    spark = sparkline_svg(row.trend) if row.has_data else None
    return (f'<img class="pcnb-spark" src="{_data_uri(spark)}" width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}" '
            f'alt="Trend, last {len(row.trend)} periods">' if spark else '<span class="pcnb-spark"></span>')


CAVEAT_TIP = "The latest value leaves out member practices with no figure for the period (see the Data page)"


def caveat_html(row: BoardRow) -> str:
    """The row's data caveat ("1 of 5 practices missing") in plain muted text, or nothing."""
    if not row.caveat:
        return ""
    return f'<span class="pcnb-caveat" title="{_e(CAVEAT_TIP)}">{_e(row.caveat)}</span>'


def row_html(row: BoardRow, pcn_code: str, href: str | None = None) -> str:
    """One measure as a link: name, latest value and period, ICB verdict, goal, icons and trend.

    `href` is where the row leads (default: Measure detail for the measure and PCN).
    """
    measure = row.measure
    value_class = "pcnb-value" + ("" if row.has_data else " pcnb-nodata")
    meta = [f'<span class="{value_class}">{_e(row.value_text)}</span> '
            f'<span class="pcnb-period">{_e(row.period_text)}</span>']
    if row.caveat:
        meta.append(caveat_html(row))
    comparison = verdict_html(row)
    if comparison:
        meta.append(comparison)
    if row.goal:
        meta.append(f'<span class="pcnb-goal">{_e(row.goal)}</span>')
    tip = measure.name + ("" if not row.reasons else " · Needs attention: " + "; ".join(row.reasons))
    return (
        f'<li><a class="pcnb-row" href="{_e(href or measure_link(measure.id, pcn_code))}" title="{_e(tip)}" '
        f'data-measure="{_e(measure.id)}">'
        f'<span class="pcnb-name">{_e(measure.label)}</span>'
        f'<span class="pcnb-meta">{" · ".join(meta)}</span>'
        f'<span class="pcnb-icons">{_row_icons(row)}</span>'
        f"{_trend_html(row)}"
        "</a></li>"
    )


def meeting_row_html(row: BoardRow, href: str) -> str:
    """A row for meeting mode: one line of large type (name, value, ICB verdict, icons, trend), no small print."""
    measure = row.measure
    value_class = "pcnb-value" + ("" if row.has_data else " pcnb-nodata")
    verdict = ""
    if row.verdict.compared:
        verdict = f'<span class="pcnb-verdict pcnb-{_e(row.verdict.outcome)}">{_e(row.verdict.outcome)}</span>'
    flag = ' data-attention="true"' if row.reasons else ""
    tip = f"{measure.name}, {row.period_text or row.value_text}" + ("" if not row.reasons else " · Needs attention: "
                                                  + "; ".join(row.reasons))
    return (
        f'<li><a class="pcnb-row" href="{_e(href)}" title="{_e(tip)}" data-measure="{_e(measure.id)}"{flag}>'
        f'<span class="pcnb-name">{_e(measure.label)}</span>'
        f'<span class="{value_class}">{_e(row.value_text)}</span>'
        f'<span class="pcnb-chip">{verdict}</span>'
        f'<span class="pcnb-icons">{_row_icons(row)}</span>'
        "</a></li>"
    )


def legend_html(footnote: str | None, comparison: str | None = None) -> str:
    """The board's icons and methods in words; `comparison` replaces the line on the comparison with the ICB."""
    def icon(kind, alt):
        return (f'<img class="pcnb-legend-icon" src="{_data_uri(icon_svg(kind))}" width="18" height="18" '
                f'alt="{_e(alt)}">')

    def chip(outcome):
        return f'<span class="pcnb-verdict pcnb-{outcome}">{outcome}</span>'

    lines = [
        "Variation (Making Data Count XmR chart, NHSRplotthedots rules): "
        f"{icon('common_cause', 'common cause')} common cause · "
        f"{icon('improvement_high', 'improvement high')}{icon('improvement_low', 'improvement low')} "
        "special cause improvement, high or low · "
        f"{icon('concern_high', 'concern high')}{icon('concern_low', 'concern low')} concern · "
        f"{icon('neutral_high', 'neutral high')} no direction is better. "
        f"Assurance against the target: {icon('consistent_pass', 'passing')} consistently passing · "
        f"{icon('consistent_fail', 'failing')} consistently failing · {icon('inconsistent', 'hit and miss')} "
        f"hit and miss · {icon(None, 'none')} none (an annual measure or fewer than "
        f"{detail.MIN_POINTS_FOR_LIMITS} points, shown as points; or no target that year: IIF thresholds are not "
        "targets).",
        f"Compared with the ICB by {int(CONFIDENCE * 100)}% interval (Fingertips): {chip('better')} / "
        f"{chip('worse')} when the PCN's interval lies wholly above or below the ICB value, by the measure's "
        f"better direction ({chip('higher')} / {chip('lower')} where neither is better), {chip('similar')} "
        "when it overlaps, by each measure's declared method: Wilson score for proportions, Byar's (exact under "
        "10 events) for rates of events; staff time, money, ratios, raw counts, standardised rates (Dobson's "
        "method needs age bands): not compared. Trend: the last 24 periods. "
        "Select a measure for its chart and definition.",
    ]
    if comparison is not None:
        lines[1] = _e(comparison)
    if footnote:
        lines.append(_e(footnote))
    return '<div class="pcnb-legend">' + "".join(f"<p>{line}</p>" for line in lines) + "</div>"


_AREAS = {"national_des": "national", "local_integration": "integration", "practice_support": "support"}


def family_columns_html(rows_by_family: dict[str, list[BoardRow]], pcn_code: str,
                        links: dict[str, str] | None = None) -> list[str]:
    """A board's three family columns, one `<section>` each; `links` as `board_html` takes them."""
    columns = []
    for family in FAMILIES:
        rows = rows_by_family.get(family, [])
        items = "".join(row_html(row, pcn_code, (links or {}).get(row.measure.id)) for row in rows) or (
            '<li class="pcnb-empty">No measures shown.</li>')
        columns.append(f'<section class="pcnb-family pcnb-{_AREAS[family]}" data-family="{_e(family)}">'
                       f"<h2>{_e(FAMILY_LABELS[family])}</h2><ul>{items}</ul></section>")
    return columns


def board_html(rows_by_family: dict[str, list[BoardRow]], pcn: dict, *, footnote: str | None = None,
               meeting: bool = False, links: dict[str, str] | None = None, heading: bool = True) -> str:
    """The whole board: a `<style>`, the PCN's name, three family columns, and a legend naming the methods.

    `pcn` has the PCN's code and names (`pcn`, `pcn_name`, `sub_icb_name`, `icb_name`); `rows_by_family` holds
    the rows to show (access rules applied); `footnote` is the text added under the legend when any row shows
    a suppressed value (default `suppression.footnote()`). `meeting` draws the large type of meeting mode, a
    line a measure; `links` (measure id -> address) overrides where rows lead (default: Measure detail);
    `heading=False` leaves out the PCN's name, for a page that draws it beside its controls (`heading_html`).
    """
    if meeting:
        return _meeting_board_html(rows_by_family, pcn, footnote=footnote, links=links or {})
    footnote = _footnote_if_suppressed(rows_by_family, footnote)
    columns = family_columns_html(rows_by_family, pcn["pcn"], links)
    places = " · ".join(_e(part) for part in (pcn["pcn"], pcn.get("sub_icb_name"), pcn.get("icb_name"))
                        if part and part == part)
    head = (f'<div class="pcnb-head"><h1>{_e(pcn["pcn_name"])}</h1><span class="pcnb-org">{places}</span></div>'
            if heading else "")
    return (f"<style>{STYLE}</style>"
            f'<div class="pcnb" id="{ROOT_ID}">{head}'
            f'<div class="pcnb-cols">{"".join(columns)}{legend_html(footnote)}</div></div>')


# --- meeting mode: type read from the back of a room, and one screen per measure needing attention ----------------

def meeting_legend_html(footnote: str | None) -> str:
    def icon(kind, alt):
        return (f'<img class="pcnb-legend-icon" src="{_data_uri(icon_svg(kind))}" width="24" height="24" '
                f'alt="{_e(alt)}">')

    lines = [
        f"{icon('common_cause', 'common cause')} common cause · {icon('improvement_high', 'improvement')} "
        f"improvement · {icon('concern_high', 'concern')} concern · {icon('neutral_high', 'neutral')} no "
        f"direction is better · {icon('consistent_pass', 'passing')} passing, {icon('consistent_fail', 'failing')} "
        f"failing, {icon('inconsistent', 'hit and miss')} hit and miss the target (Making Data Count).",
        "better / similar / worse: the PCN's 95% interval against the ICB value (Fingertips).",
        "Measures marked › need attention: Next steps through them, one a screen.",
    ]
    if footnote:
        lines.append(_e(footnote))
    return '<div class="pcnb-legend">' + "".join(f"<p>{line}</p>" for line in lines) + "</div>"


def _footnote_if_suppressed(rows_by_family: dict[str, list[BoardRow]], footnote: str | None) -> str | None:
    """The suppression footnote (default `suppression.footnote()`) when any row shows a suppressed value, else None."""
    suppressed = any(row.latest_suppressed or row.suppressed_points
                     for rows in rows_by_family.values() for row in rows)
    return (suppression.footnote() if footnote is None else footnote) if suppressed else None


def _meeting_board_html(rows_by_family: dict[str, list[BoardRow]], pcn: dict, *, footnote: str | None,
                        links: dict[str, str]) -> str:
    footnote = _footnote_if_suppressed(rows_by_family, footnote)
    columns = []
    for family in FAMILIES:
        rows = rows_by_family.get(family, [])
        items = "".join(meeting_row_html(row, links.get(row.measure.id) or measure_link(row.measure.id, pcn["pcn"]))
                        for row in rows) or '<li class="pcnb-empty">No measures shown.</li>'
        columns.append(f'<section class="pcnb-family pcnb-{_AREAS[family]}" data-family="{_e(family)}">'
                       f"<h2>{_e(FAMILY_LABELS[family])}</h2><ul>{items}</ul></section>")
    places = " · ".join(_e(part) for part in (pcn["pcn"], pcn.get("sub_icb_name"), pcn.get("icb_name"))
                        if part and part == part)
    return (f"<style>{MEETING_STYLE}</style>"
            f'<div class="pcnb pcnb-meeting" id="{ROOT_ID}"><div class="pcnb-head"><h1>{_e(pcn["pcn_name"])}</h1>'
            f'<span class="pcnb-org">{places}</span></div>'
            f'<div class="pcnb-cols">{"".join(columns)}{meeting_legend_html(footnote)}</div></div>')


STEP_ID = "pcn-meeting-step"


def step_head_html(row: BoardRow, pcn_name: str) -> str:
    """A measure needing attention, large: its name, family, latest value and period, icons in words, goal, ICB."""
    measure = row.measure
    facts = [f'<span class="pcnm-value">{_e(row.value_text)}</span>'
             f'<span class="pcnm-period">{_e(row.period_text)}</span>']
    for kind, alt in ((row.variation, variation_alt(row.variation, row)), (row.assurance, assurance_alt(row))):
        if kind:
            facts.append(f'<span class="pcnm-icon"><img src="{_data_uri(icon_svg(kind))}" width="{BIG_ICON}" '
                         f'height="{BIG_ICON}" alt=""><span>{_e(alt)}</span></span>')
    extra = []
    if row.caveat:
        extra.append(_e(row.caveat))
    if row.goal:
        extra.append(_e(row.goal))
    if row.comparator is not None:
        if row.verdict.compared:
            extra.append(f"ICB {_e(measure.format_value(row.comparator))}: "
                         f'<span class="pcnb-verdict pcnb-{_e(row.verdict.outcome)}">{_e(row.verdict.outcome)}</span>')
        else:
            extra.append(f"ICB {_e(measure.format_value(row.comparator))} (not compared)")
    return (f"<style>{MEETING_STYLE}</style>"
            f'<div class="pcnm" id="{STEP_ID}" data-measure="{_e(measure.id)}">'
            f"<h1>{_e(measure.label)}</h1>"
            f'<p class="pcnm-family">{_e(FAMILY_LABELS[measure.family])} · {_e(pcn_name)}'
            + (" · " + " · ".join(extra) if extra else "") + "</p>"
            f'<div class="pcnm-facts">{"".join(facts)}</div></div>')


def step_reading_html(row: BoardRow, narrative: str | None) -> str:
    """Why the measure needs attention, and what its chart shows in plain English."""
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in row.reasons)
    body = (f'<div class="pcnm pcnm-reading"><h2>Why it needs attention</h2>'
            + (f"<ul>{reasons}</ul>" if reasons else
               '<p class="pcnm-muted">Not among the measures needing attention this period.</p>')
            + "<h2>What the chart shows</h2>"
            + f"<p>{_e(narrative or 'Too few values for an SPC chart.')}</p></div>")
    return f"<style>{MEETING_STYLE}</style>" + body


def heading_html(pcn: dict, *, meeting: bool = False) -> str:
    """The PCN's name and places as the board heads them, for a view that is not the board itself."""
    places = " · ".join(_e(part) for part in (pcn["pcn"], pcn.get("sub_icb_name"), pcn.get("icb_name"))
                        if part and part == part)
    return (f"<style>{MEETING_STYLE if meeting else STYLE}</style>"
            f'<div class="pcnb pcnb-heading{" pcnb-meeting" if meeting else ""}"><div class="pcnb-head">'
            f'<h1>{_e(pcn["pcn_name"])}</h1><span class="pcnb-org">{places}</span></div></div>')
