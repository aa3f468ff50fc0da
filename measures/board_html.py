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

# The board pack's icon colours (Making Data Count): blue improvement or passing, orange concern or failing,
# purple special cause where no direction is better, grey common cause and hit-and-miss.
ICON_COLOURS = {"improvement": charts.POINT_COLOURS["special_cause_improvement"],
                "concern": charts.POINT_COLOURS["special_cause_concern"],
                "neutral": charts.POINT_COLOURS["special_cause_neutral_high"],
                "common": charts.POINT_COLOURS["common_cause"],
                "consistent_pass": charts.POINT_COLOURS["special_cause_improvement"],
                "consistent_fail": charts.POINT_COLOURS["special_cause_concern"],
                "inconsistent": charts.POINT_COLOURS["common_cause"]}
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


def variation_alt(kind: str | None) -> str:
    return detail.VARIATION_TEXT.get(kind or "", "No variation icon: too few points for an SPC chart")


def assurance_alt(row: BoardRow) -> str:
    if row.assurance:
        return detail.ASSURANCE_TEXT[row.assurance]
    if row.latest_period is None or detail.target_for(row.measure, row.latest_period) is None:
        return "No assurance icon: no target this year"
    if row.measure.improvement_direction == "neutral":
        return "No assurance icon: no direction is better"
    return "No assurance icon: too few points for an SPC chart"


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


def row_html(row: BoardRow, pcn_code: str) -> str:
    measure = row.measure
    value_class = "pcnb-value" + ("" if row.has_data else " pcnb-nodata")
    meta = [f'<span class="{value_class}">{_e(row.value_text)}</span> '
            f'<span class="pcnb-period">{_e(row.period_text)}</span>']
    comparison = verdict_html(row)
    if comparison:
        meta.append(comparison)
    if row.goal:
        meta.append(f'<span class="pcnb-goal">{_e(row.goal)}</span>')
    spark = sparkline_svg(row.trend) if row.has_data else None
    trend = (f'<img class="pcnb-spark" src="{_data_uri(spark)}" width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}" '
             f'alt="Trend, last {len(row.trend)} periods">' if spark else '<span class="pcnb-spark"></span>')
    tip = measure.name + ("" if not row.reasons else " · Needs attention: " + "; ".join(row.reasons))
    return (
        f'<li><a class="pcnb-row" href="{_e(measure_link(measure.id, pcn_code))}" title="{_e(tip)}" '
        f'data-measure="{_e(measure.id)}">'
        f'<span class="pcnb-name">{_e(measure.label)}</span>'
        f'<span class="pcnb-meta">{" · ".join(meta)}</span>'
        f'<span class="pcnb-icons">{_icon_img(row.variation, variation_alt(row.variation), "pcnb-variation")}'
        f'{_icon_img(row.assurance, assurance_alt(row), "pcnb-assurance")}</span>'
        f"{trend}"
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
        f"hit and miss · {icon(None, 'none')} none (too few points, or no target).",
        f"Compared with the ICB by {int(CONFIDENCE * 100)}% interval (Fingertips): {chip('better')} / "
        f"{chip('worse')} when the PCN's interval lies wholly above or below the ICB value, by the measure's "
        f"better direction ({chip('higher')} / {chip('lower')} where neither is better), {chip('similar')} "
        "when it overlaps. Wilson score interval for proportions, Byar's for rates of events; staff time, money, "
        "ratios, raw counts and standardised rates: not compared. Trend: the last 24 periods. "
        "Select a measure for its chart and definition.",
    ]
    if footnote:
        lines.append(_e(footnote))
    return '<div class="pcnb-legend">' + "".join(f"<p>{line}</p>" for line in lines) + "</div>"


_AREAS = {"national_des": "national", "local_integration": "integration", "practice_support": "support"}

STYLE = f"""
/* Streamlit keeps 10rem under every page for a chat input; the board has none, and it must fit one screen. */
[data-testid="stMainBlockContainer"]:has(#{ROOT_ID}) {{ padding-bottom: 1rem; }}
.pcnb {{ container-type: inline-size; color: {TEXT_COLOUR}; font-size: 15px; line-height: 1.22; }}
.pcnb * {{ box-sizing: border-box; }}
.pcnb-head {{ display: flex; flex-wrap: wrap; align-items: baseline; column-gap: 14px; margin: 0 0 8px 0; }}
.pcnb-head h1 {{ font-size: 28px; font-weight: 700; line-height: 1.2; margin: 0; padding: 0; color: {TEXT_COLOUR}; }}
.pcnb-org {{ font-size: 15px; color: {MUTED_COLOUR}; }}
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


def board_html(rows_by_family: dict[str, list[BoardRow]], pcn: dict, *, footnote: str | None = None) -> str:
    """The whole board: a `<style>`, the PCN's name, three family columns, and a legend naming the methods.

    `pcn` has the PCN's code and names (`pcn`, `pcn_name`, `sub_icb_name`, `icb_name`); `rows_by_family` holds
    the rows to show (access rules applied); `footnote` is the text added under the legend when any row shows
    a suppressed value (default `suppression.footnote()`).
    """
    suppressed = any(row.latest_suppressed or row.suppressed_points
                     for rows in rows_by_family.values() for row in rows)
    footnote = (suppression.footnote() if footnote is None else footnote) if suppressed else None
    columns = []
    for family in FAMILIES:
        rows = rows_by_family.get(family, [])
        items = "".join(row_html(row, pcn["pcn"]) for row in rows) or (
            '<li class="pcnb-empty">No measures shown.</li>')
        columns.append(f'<section class="pcnb-family pcnb-{_AREAS[family]}" data-family="{_e(family)}">'
                       f"<h2>{_e(FAMILY_LABELS[family])}</h2><ul>{items}</ul></section>")
    places = " · ".join(_e(part) for part in (pcn["pcn"], pcn.get("sub_icb_name"), pcn.get("icb_name"))
                        if part and part == part)
    return (f"<style>{STYLE}</style>"
            f'<div class="pcnb" id="{ROOT_ID}"><div class="pcnb-head"><h1>{_e(pcn["pcn_name"])}</h1>'
            f'<span class="pcnb-org">{places}</span></div>'
            f'<div class="pcnb-cols">{"".join(columns)}{legend_html(footnote)}</div></div>')
