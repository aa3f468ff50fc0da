"""The board view as one HTML string: three family columns of compact rows, icons and sparklines as SVG images.

Streamlit's `st.html` sanitises with DOMPurify, which drops inline `<svg>` elements (and `target`), but keeps
`<style>`, links and `<img>` with a `data:` URI: so each icon and sparkline is a small SVG drawn into an image.
Every text that comes from a catalogue file, the database or a user is escaped here.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from urllib.parse import urlencode

from . import charts, detail, suppression
from .board import CONFIDENCE, METHOD_NAMES, BoardRow
from .catalogue import FAMILIES, FAMILY_LABELS

ROOT_ID = "pcn-board"

ICON_COLOURS = charts.ICON_COLOURS
EMPTY_ICON_COLOUR = "#AEB7BD"
TEXT_COLOUR = charts.NHS_TEXT
MUTED_COLOUR = charts.NHS_DARK_GREY
TREND_COLOUR = charts.NHS_MID_GREY

# The Compare page's Fingertips colours; text on each chosen for contrast.
VERDICT_COLOURS = {outcome: charts.BENCHMARK_COLOURS[outcome]
                   for outcome in ("better", "similar", "worse", "higher", "lower")}
_VERDICT_TEXT_COLOURS = {"better": "#FFFFFF", "similar": TEXT_COLOUR, "worse": TEXT_COLOUR,
                         "higher": TEXT_COLOUR, "lower": "#FFFFFF"}

ICON_SIZE = 26
SPARK_WIDTH, SPARK_HEIGHT = 88, 26
NARROW_SPARK_WIDTH = 56  # on a phone the name needs the width more than the trend does


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def icon_colour(kind: str | None) -> str:
    if not kind:
        return EMPTY_ICON_COLOUR
    group = kind if kind in ICON_COLOURS else kind.split("_")[0]
    return ICON_COLOURS.get(group, charts.NHS_MID_GREY)


def icon_letter(kind: str | None) -> str | None:
    """H or L for special cause, P, F or ? for assurance, None for common cause (a wave) or no icon."""
    if not kind or kind == "common_cause":
        return None
    letter = {"consistent_pass": "P", "consistent_fail": "F", "inconsistent": "?"}.get(kind)
    return letter or ("H" if kind.endswith("high") else "L")


def icon_svg(kind: str | None) -> str:
    """The board pack's round icon as SVG: a coloured ring with a letter, or a wave for common cause."""
    colour = icon_colour(kind)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{ICON_SIZE}" height="{ICON_SIZE}" '
             f'viewBox="0 0 24 24">']
    if not kind:  # a dashed empty ring keeps the column aligned where there is no icon
        parts.append(f'<circle cx="12" cy="12" r="10" fill="none" stroke="{colour}" stroke-width="1.5" '
                     'stroke-dasharray="3 2.5"/>')
    else:
        parts.append(f'<circle cx="12" cy="12" r="10.2" fill="#FFFFFF" stroke="{colour}" stroke-width="2.2"/>')
        letter = icon_letter(kind)
        if letter:
            parts.append(f'<text x="12" y="16.6" text-anchor="middle" font-family="Arial, Helvetica, sans-serif" '
                         f'font-size="13" font-weight="700" fill="{colour}">{_e(letter)}</text>')
        else:
            parts.append(f'<polyline points="5,13.5 7.3,10.5 9.6,13.5 11.9,10.5 14.2,13.5 16.5,10.5 18.8,13.5" '
                         f'fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round" '
                         'stroke-linecap="round"/>')
    parts.append("</svg>")
    return "".join(parts)


def sparkline_svg(trend: Sequence[float | None]) -> str | None:
    """The last points as one neutral grey line, broken where a value is suppressed; None under two values."""
    shown = [v for v in trend if v is not None]
    if len(shown) < 2:
        return None
    low, high = min(shown), max(shown)
    span = (high - low) or 1.0
    pad = 3
    step = (SPARK_WIDTH - 2 * pad) / max(len(trend) - 1, 1)
    segments, current = [], []
    for index, value in enumerate(trend):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        y = SPARK_HEIGHT - pad - (value - low) / span * (SPARK_HEIGHT - 2 * pad) if high != low else SPARK_HEIGHT / 2
        current.append((pad + index * step, y))
    if current:
        segments.append(current)
    body = []
    for segment in segments:
        if len(segment) == 1:  # a lone value between gaps is a dot, not an invisible line
            x, y = segment[0]
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.3" fill="{TREND_COLOUR}"/>')
        else:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
            body.append(f'<polyline points="{points}" fill="none" stroke="{TREND_COLOUR}" stroke-width="1.6" '
                        'stroke-linejoin="round" stroke-linecap="round"/>')
    if trend[-1] is not None:
        x, y = segments[-1][-1]
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{TREND_COLOUR}"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}" '
            f'viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" preserveAspectRatio="none">' + "".join(body) + "</svg>")


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


def row_html(row: BoardRow, pcn_code: str, href: str | None = None) -> str:
    """One measure as a link: name, latest value and period, ICB verdict, goal, icons and trend.

    `href` is where the row leads (default: Measure detail for the measure and PCN).
    """
    measure = row.measure
    value_class = "pcnb-value" + ("" if row.has_data else " pcnb-nodata")
    meta = [f'<span class="{value_class}">{_e(row.value_text)}</span> '
            f'<span class="pcnb-period">{_e(row.period_text)}</span>']
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
    tip = f"{measure.name}, {row.period_text}" + ("" if not row.reasons else " · Needs attention: "
                                                  + "; ".join(row.reasons))
    return (
        f'<li><a class="pcnb-row" href="{_e(href)}" title="{_e(tip)}" data-measure="{_e(measure.id)}"{flag}>'
        f'<span class="pcnb-name">{_e(measure.label)}</span>'
        f'<span class="{value_class}">{_e(row.value_text)}</span>'
        f'<span class="pcnb-chip">{verdict}</span>'
        f'<span class="pcnb-icons">{_row_icons(row)}</span>'
        "</a></li>"
    )


def legend_html(footnote: str | None) -> str:
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
    if footnote:
        lines.append(_e(footnote))
    return '<div class="pcnb-legend">' + "".join(f"<p>{line}</p>" for line in lines) + "</div>"


_AREAS = {"national_des": "national", "local_integration": "integration", "practice_support": "support"}

STYLE = f"""
/* Streamlit keeps 10rem under every page for a chat input; the board has none, and it must fit one screen. */
[data-testid="stMainBlockContainer"]:has(#{ROOT_ID}) {{ padding-top: 4rem; padding-bottom: 1rem; }}
.pcnb {{ container-type: inline-size; color: {TEXT_COLOUR}; font-size: 15px; line-height: 1.22; }}
.pcnb * {{ box-sizing: border-box; }}
.pcnb-head {{ display: flex; flex-wrap: wrap; align-items: baseline; column-gap: 14px; margin: 0 0 8px 0; }}
.pcnb-head h1 {{ font-size: 28px; font-weight: 700; line-height: 1.2; margin: 0; padding: 0; color: {TEXT_COLOUR}; }}
.pcnb-org {{ font-size: 15px; color: {MUTED_COLOUR}; }}
.pcnb-heading .pcnb-head {{ margin: 0; }}
.pcnb-cols {{ display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); grid-template-rows: auto 1fr;
  grid-template-areas: "national integration support" "national legend legend"; gap: 0 20px; align-items: start; }}
.pcnb-national {{ grid-area: national; }} .pcnb-integration {{ grid-area: integration; }}
.pcnb-support {{ grid-area: support; }} .pcnb-legend {{ grid-area: legend; }}
.pcnb-family h2 {{ font-size: 18px; font-weight: 700; line-height: 1.3; margin: 0; padding: 0 0 2px 0;
  border-bottom: 2px solid {charts.NHS_BLUE}; color: {TEXT_COLOUR}; }}
.pcnb-family ul {{ list-style: none; margin: 0; padding: 0; }}
.pcnb-family li {{ margin: 0; padding: 0; }}
.pcnb-family li::marker {{ content: none; }}
.pcnb-row {{ display: grid; grid-template-columns: minmax(0, 1fr) auto {SPARK_WIDTH}px;
  grid-template-areas: "name icons spark" "meta icons spark"; column-gap: 8px; align-items: center;
  padding: 1px 4px; border-bottom: 1px solid {charts.NHS_PALE_GREY}; color: {TEXT_COLOUR};
  text-decoration: none; }}
.pcnb-row:hover, .pcnb-row:focus-visible {{ background: #F0F4F5; color: {TEXT_COLOUR}; text-decoration: none; }}
.pcnb-row:focus-visible {{ outline: 3px solid {charts.NHS_WARM_YELLOW}; outline-offset: -1px; }}
.pcnb-name {{ grid-area: name; font-size: 16px; font-weight: 600; overflow-wrap: anywhere; }}
.pcnb-meta {{ grid-area: meta; font-size: 15px; color: {MUTED_COLOUR}; overflow-wrap: anywhere; }}
.pcnb-value {{ font-size: 16px; font-weight: 700; font-variant-numeric: tabular-nums; color: {TEXT_COLOUR}; }}
.pcnb-nodata {{ font-weight: 400; color: {MUTED_COLOUR}; }}
.pcnb-icons {{ grid-area: icons; display: flex; gap: 3px; }}
.pcnb-icon {{ display: block; width: {ICON_SIZE}px; height: {ICON_SIZE}px; }}
.pcnb-spark {{ grid-area: spark; display: block; width: {SPARK_WIDTH}px; height: {SPARK_HEIGHT}px; }}
.pcnb-icb {{ white-space: nowrap; }}
.pcnb-verdict {{ display: inline-block; padding: 0 6px; border-radius: 9px; font-weight: 600; line-height: 1.25; }}
""" + "".join(
    f".pcnb-{outcome} {{ background: {colour}; color: {_VERDICT_TEXT_COLOURS[outcome]}; }}\n"
    for outcome, colour in VERDICT_COLOURS.items()) + f"""
.pcnb-not-compared {{ font-style: italic; }}
.pcnb-legend {{ margin-top: 10px; padding-top: 6px; border-top: 1px solid {charts.NHS_PALE_GREY}; font-size: 15px;
  color: {MUTED_COLOUR}; }}
.pcnb-legend p {{ margin: 0 0 6px 0; }}
.pcnb-legend-icon {{ display: inline-block; width: 18px; height: 18px; vertical-align: -4px; margin-right: 1px; }}
/* Narrow screens: the families stack, then the trend narrows (after the rules they override). */
@container (max-width: 860px) {{
  .pcnb-cols {{ grid-template-columns: minmax(0, 1fr); grid-template-rows: none;
    grid-template-areas: "national" "integration" "support" "legend"; gap: 14px; }}
}}
@container (max-width: 480px) {{
  .pcnb-row {{ grid-template-columns: minmax(0, 1fr) auto {NARROW_SPARK_WIDTH}px; column-gap: 6px; }}
  .pcnb-spark {{ width: {NARROW_SPARK_WIDTH}px; }}
}}
"""


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
    columns = []
    for family in FAMILIES:
        rows = rows_by_family.get(family, [])
        items = "".join(row_html(row, pcn["pcn"], (links or {}).get(row.measure.id)) for row in rows) or (
            '<li class="pcnb-empty">No measures shown.</li>')
        columns.append(f'<section class="pcnb-family pcnb-{_AREAS[family]}" data-family="{_e(family)}">'
                       f"<h2>{_e(FAMILY_LABELS[family])}</h2><ul>{items}</ul></section>")
    places = " · ".join(_e(part) for part in (pcn["pcn"], pcn.get("sub_icb_name"), pcn.get("icb_name"))
                        if part and part == part)
    head = (f'<div class="pcnb-head"><h1>{_e(pcn["pcn_name"])}</h1><span class="pcnb-org">{places}</span></div>'
            if heading else "")
    return (f"<style>{STYLE}</style>"
            f'<div class="pcnb" id="{ROOT_ID}">{head}'
            f'<div class="pcnb-cols">{"".join(columns)}{legend_html(footnote)}</div></div>')


# --- meeting mode: type read from the back of a room, and one screen per measure needing attention ----------------

MEETING_ICON = 30
BIG_ICON = 64

# Applied by the page in meeting mode: Streamlit's own text is sized in rem, so a larger root makes every
# widget, banner and caption large too; the sidebar and its opening control are not drawn at all.
MEETING_PAGE_STYLE = """
html { font-size: 20px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarCollapseButton"] { display: none !important; }
[data-testid="stHeader"] { display: none; }
[data-testid="stMainBlockContainer"][data-testid] { padding-top: 1rem !important; padding-bottom: 1rem; max-width: none; }
[data-testid="stAlertContainer"] { padding-top: 0.5rem; padding-bottom: 0.5rem; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 1rem; }
/* Buttons, toggles and their shortcut hints are drawn at 0.875rem: in a meeting they are body text too. */
[data-testid="stMain"] :is(button, button *, label, label *) { font-size: 1rem !important; }
"""

MEETING_STYLE = STYLE + f"""
.pcnb-meeting {{ font-size: 20px; line-height: 1.25; }}
.pcnb-meeting .pcnb-head h1 {{ font-size: 36px; }}
.pcnb-meeting .pcnb-org {{ font-size: 20px; }}
.pcnb-meeting .pcnb-cols {{ grid-template-rows: auto 1fr; gap: 0 28px; }}
.pcnb-meeting .pcnb-family h2 {{ font-size: 24px; }}
/* No sparkline in a meeting: the icons carry the chart's reading, and the names need the width. */
.pcnb-meeting .pcnb-row {{ grid-template-columns: minmax(0, 1fr) auto auto auto;
  grid-template-areas: "name value chip icons"; padding: 2px 4px; column-gap: 10px; }}
.pcnb-meeting .pcnb-row .pcnb-spark {{ display: none; }}
.pcnb-meeting .pcnb-name {{ font-size: 20px; }}
.pcnb-meeting .pcnb-value {{ grid-area: value; font-size: 20px; text-align: right; }}
.pcnb-meeting .pcnb-chip {{ grid-area: chip; min-width: 4.4em; text-align: center; }}
.pcnb-meeting .pcnb-icon {{ width: {MEETING_ICON}px; height: {MEETING_ICON}px; }}
.pcnb-meeting .pcnb-row[data-attention] .pcnb-name::after {{ content: " ›"; color: {MUTED_COLOUR}; }}
.pcnb-meeting .pcnb-legend {{ font-size: 20px; }}
.pcnb-meeting .pcnb-legend-icon {{ width: 24px; height: 24px; vertical-align: -5px; }}
/* A laptop's screen: two columns, so that the names of large type keep a readable width. */
@container (max-width: 1300px) {{
  .pcnb-meeting .pcnb-cols {{ grid-template-columns: repeat(2, minmax(0, 1fr)); grid-template-rows: auto auto 1fr;
    grid-template-areas: "national integration" "national support" "national legend"; gap: 0 24px; }}
  .pcnb-meeting .pcnb-support {{ margin-top: 14px; }}
}}
@container (max-width: 860px) {{
  .pcnb-meeting .pcnb-cols {{ grid-template-columns: minmax(0, 1fr); grid-template-rows: none;
    grid-template-areas: "national" "integration" "support" "legend"; gap: 14px; }}
}}
@container (max-width: 480px) {{
  .pcnb-meeting .pcnb-row {{ grid-template-columns: minmax(0, 1fr) auto auto;
    grid-template-areas: "name name name" "value chip icons"; }}
}}
.pcnm {{ color: {TEXT_COLOUR}; font-size: 22px; line-height: 1.3; container-type: inline-size; }}
.pcnm * {{ box-sizing: border-box; }}
.pcnm h1 {{ font-size: 40px; font-weight: 700; line-height: 1.15; margin: 0; padding: 0; color: {TEXT_COLOUR}; }}
.pcnm-family {{ font-size: 22px; color: {MUTED_COLOUR}; margin: 2px 0 10px 0; }}
.pcnm-facts {{ display: flex; flex-wrap: wrap; align-items: center; gap: 10px 28px; }}
.pcnm-value {{ font-size: 56px; font-weight: 700; line-height: 1; font-variant-numeric: tabular-nums; }}
.pcnm-period {{ font-size: 22px; color: {MUTED_COLOUR}; }}
.pcnm-icon {{ display: flex; align-items: center; gap: 10px; max-width: 24em; }}
.pcnm-icon img {{ width: {BIG_ICON}px; height: {BIG_ICON}px; flex: none; }}
.pcnm h2 {{ font-size: 26px; font-weight: 700; margin: 18px 0 6px 0; padding: 0; color: {TEXT_COLOUR}; }}
.pcnm ul {{ margin: 0; padding-left: 1.1em; }}
.pcnm li {{ margin: 0 0 6px 0; }}
.pcnm p {{ margin: 0 0 8px 0; }}
.pcnm-muted {{ color: {MUTED_COLOUR}; }}
"""


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
