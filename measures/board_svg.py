"""The board's icons and sparklines as small SVG images: Making Data Count rings and a neutral grey trend line.

Streamlit's `st.html` sanitises with DOMPurify, which drops inline `<svg>` elements but keeps `<img>` with a
`data:` URI, so each is drawn here as an SVG document for an image.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from . import charts

ICON_COLOURS = charts.ICON_COLOURS
EMPTY_ICON_COLOUR = "#AEB7BD"
TEXT_COLOUR = charts.NHS_TEXT
MUTED_COLOUR = charts.NHS_DARK_GREY
TREND_COLOUR = charts.NHS_MID_GREY

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
