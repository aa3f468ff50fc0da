"""Charts laid out for every screen down to a phone's and for print: titles, legends, footnotes, dated notes."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import convert_to_base64

from .. import suppression
from .style import FOOTER_PIXELS, LEGEND_OFFSET_PIXELS, TEMPLATE_NAME, chart_text, _merged

# The narrowest chart the page draws (a 390 px phone, less the page's padding): titles, legends and footnotes
# are laid out to fit it, so nothing is clipped or overprinted on any screen.
NARROWEST_LEGEND_PIXELS = 240  # the plot area's width there, within which a horizontal legend wraps
NARROWEST_PLOT_PIXELS = 250  # the plot area's width there, across which notes dated on the chart must fit
# Title and subtitle lines are measured in pixels (the room beside the title's padding, less a margin for a
# phone's own Arial); footnote lines wrap at 64 characters, and the suppression footnote (73) stays whole, as it
# reads everywhere else.
TITLE_PIXELS = 330
_WRAP = {"note": 64, "axis": 34}  # characters a line at that width, by font size
TITLE_FONT_PIXELS, SUBTITLE_FONT_PIXELS = 22, 15
# A note dated on the chart is as tall as Plotly draws its lines (1.3 times the font size each) and its background's
# padding, with a pixel between one note and the next.
NOTE_LINE_SPACING, NOTE_PAD_PIXELS = 1.3, 3
# Arial's advance widths in thousandths of an em, for space to tilde (its metrics are Helvetica's); any other
# character counts as wide as a capital.
_ARIAL_WIDTHS = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556,
    556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667,
    556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556,
    556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722,
    500, 500, 500, 334, 260, 334, 584)
_SENTENCE_BREAKS = (":", ";", ",", ".")
# The footnote is moved from the plot's left edge back to near the figure's, so a line has room. The plot's edge is
# at least the left margin in (automargin only widens it), so a shift of no more than the margin, less this edge,
# keeps the footnote on the figure whatever the axis labels need.
FOOTNOTE_EDGE_PIXELS = 4
TEMPLATE_LEFT_PIXELS = pio.templates[TEMPLATE_NAME].layout.margin.l
FOOTNOTE_SHIFT_PIXELS = FOOTNOTE_EDGE_PIXELS - TEMPLATE_LEFT_PIXELS
FOOTNOTE_FONT_PIXELS = 10.5  # the suppression footnote, kept whole, then fits a phone
# The plot's width in a download (827 px wide, less the margins and room for the y axis's labels): notes dated on a
# chart are kept apart at this width, so a printed chart never overprints two notes that are close together.
PRINT_PLOT_PIXELS = 680
# On screen the title and subtitle are text above the chart, where they wrap to its width as an SVG title cannot;
# above the plot is left room for the top tick label and the modebar.
SCREEN_TOP_PIXELS = 30
MEETING_FONT_PIXELS = 18  # ticks, axis titles and legend read from the back of a room


def _wrapped(text: str, width: int) -> list[str]:
    """Plain text in lines of at most `width` characters."""
    import textwrap

    lines = []
    for part in str(text).split("\n"):
        lines += textwrap.wrap(part, width, break_long_words=True, break_on_hyphens=False) or [""]
    return lines


def text_pixels(text: str, size: float) -> float:
    """How wide `text` draws in Arial at `size` px."""
    return sum(_ARIAL_WIDTHS[ord(c) - 32] if 32 <= ord(c) < 127 else 722 for c in str(text)) * size / 1000


def _fitted(text: str, pixels: float, size: float) -> list[str]:
    """Plain text in lines no wider than `pixels` at `size` px, each as full as it can be, except that a line the
    text goes on after ends at its last sentence break (":", ";", "," or "."), where one falls past its middle: so
    a title breaks after the measure's name, not before the PCN's last word."""
    lines: list[str] = []
    for part in str(text).split("\n"):
        words = part.split()
        if not words:
            lines.append("")
        while words:
            if text_pixels(words[0], size) > pixels:  # a word wider than a line, cut where it reaches the edge
                cut = next(n for n in range(len(words[0]), 0, -1)
                           if text_pixels(words[0][:n], size) <= pixels or n == 1)
                lines.append(words[0][:cut])
                words[0] = words[0][cut:]
                continue
            n = 1
            while n < len(words) and text_pixels(" ".join(words[:n + 1]), size) <= pixels:
                n += 1
            if n < len(words):
                n = next((k for k in range(n, 1, -1) if words[k - 1].endswith(_SENTENCE_BREAKS)
                          and text_pixels(" ".join(words[:k]), size) > pixels / 2), n)
            lines.append(" ".join(words[:n]))
            words = words[n:]
    return lines


def _note_text(text) -> str:
    """A note's own text, whatever lines an earlier fit broke it into (a `<br>` in chart text is always a break)."""
    return " ".join(html.unescape(part) for part in str(text).split("<br>"))


def _fit_chart_notes(fig: go.Figure, plot_pixels: float = NARROWEST_PLOT_PIXELS) -> None:
    """Notes dated on the chart, wrapped to the room on the side each opens towards in a plot `plot_pixels` wide,
    and each moved off the plot's edge by the notes before it that it would overprint there.

    Only on a chart whose date axis has a set range: there the note cannot stretch the axis to make room. Laid out
    again at another width, each note is placed afresh from its own text.
    """
    notes = [a for a in fig.layout.annotations if a.xref in (None, "x") and a.yref == "paper" and a.y in (0, 1)]
    found = [dict(x=a.x, y=a.y, xanchor=a.xanchor, text=a.text, size=a.font.size) for a in notes]
    for note, changes in zip(notes, _note_places(fig.layout.xaxis.range, found, plot_pixels)):
        note.update(changes)


def _fit_chart_notes_in(layout: dict, plot_pixels: float = NARROWEST_PLOT_PIXELS) -> None:
    """`_fit_chart_notes` for a figure written as a dictionary: its layout's notes changed in place."""
    notes = [a for a in layout.get("annotations", ()) if a.get("xref") in (None, "x") and a.get("yref") == "paper"
             and a.get("y") in (0, 1)]
    found = [dict(x=a.get("x"), y=a.get("y"), xanchor=a.get("xanchor"), text=a.get("text"),
                  size=(a.get("font") or {}).get("size")) for a in notes]
    for note, changes in zip(notes, _note_places(layout.get("xaxis", {}).get("range"), found, plot_pixels)):
        _merged(note, changes)


def _note_places(axis, notes: list[dict], plot_pixels: float) -> list[dict]:
    """What `_fit_chart_notes` changes in each of `notes` (x, y, xanchor, text and font size of each), in order."""
    if not axis or not notes:
        return [{} for _ in notes]
    start, end = (pd.Timestamp(value) for value in axis)
    placed: list[tuple[float, float, float, float, float]] = []  # edge, left, right, offset, height
    changes: list[dict] = [{} for _ in notes]
    for index in sorted(range(len(notes)), key=lambda i: pd.Timestamp(notes[i]["x"])):
        note = notes[index]
        size = note["size"] or 13
        at = (pd.Timestamp(note["x"]) - start) / (end - start) * plot_pixels
        room = at if note["xanchor"] == "right" else plot_pixels - at
        lines = _fitted(_note_text(note["text"]), max(room, plot_pixels / 2) - 6, size)
        width = max(text_pixels(line, size) for line in lines) + 6
        left, right = (at - width, at) if note["xanchor"] == "right" else (at, at + width)
        height = math.ceil(size * NOTE_LINE_SPACING * len(lines)) + NOTE_PAD_PIXELS
        offset = max([o + h for edge, l, r, o, h in placed if edge == note["y"] and l < right and left < r],
                     default=0)
        placed.append((note["y"], left, right, offset, height))
        changes[index] = dict(text="<br>".join(chart_text(line) for line in lines), align=note["xanchor"] or "left",
                              yshift=offset if note["y"] == 0 else -offset)
    return changes


def _fit_to_narrow_screens(fig: go.Figure, title: str, subtitle: str, footnote_lines: Sequence[str],
                           legend_labels: Sequence[str], axis_title_lines: int = 1,
                           footnote_shift: float = FOOTNOTE_SHIFT_PIXELS, font: float = 14) -> go.Figure:
    """Re-lay a `titled` figure so its title, subtitle, legend and footnote fit the narrowest chart.

    Title and subtitle wrap onto more lines (the plot moves down); the footnote wraps and sits below as many
    legend rows as the legend needs at that width; notes dated on the chart wrap to fit beside their line. The
    plot area keeps its size, so axes read the same. `footnote_shift` moves the footnote left from the plot's edge,
    at most to FOOTNOTE_EDGE_PIXELS inside the figure's. `font` is the size of the ticks and the legend's text.
    """
    margin = fig.layout.margin
    updates, footnote_changes = _narrow_layout(fig.layout.height, margin.t, margin.b, margin.l, title, subtitle,
                                               footnote_lines, legend_labels, axis_title_lines, footnote_shift, font)
    fig.update_layout(updates)
    for annotation in fig.layout.annotations:
        if _is_footnote(annotation.yref, annotation.y, annotation.text):
            annotation.update(footnote_changes)
    _fit_chart_notes(fig)
    return fig


def _fit_to_narrow_screens_in(layout: dict, title: str, subtitle: str, footnote_lines: Sequence[str],
                             legend_labels: Sequence[str], axis_title_lines: int = 1,
                             footnote_shift: float = FOOTNOTE_SHIFT_PIXELS, font: float = 14) -> dict:
    """`_fit_to_narrow_screens` for a figure written as a dictionary: its layout changed in place and returned."""
    margin = layout.get("margin") or {}
    updates, footnote_changes = _narrow_layout(layout.get("height"), margin.get("t"), margin.get("b"),
                                               margin.get("l"), title, subtitle, footnote_lines, legend_labels,
                                               axis_title_lines, footnote_shift, font)
    _merged(layout, updates)
    for annotation in layout.get("annotations", ()):
        if _is_footnote(annotation.get("yref"), annotation.get("y"), annotation.get("text")):
            _merged(annotation, footnote_changes)
    _fit_chart_notes_in(layout)
    return layout


def _is_footnote(yref, y, text) -> bool:
    return yref == "paper" and y is not None and y < 0 and str(text).startswith("Source:")


def _narrow_layout(height, top_margin, bottom_margin, left_margin, title: str, subtitle: str,
                   footnote_lines: Sequence[str], legend_labels: Sequence[str], axis_title_lines: int,
                   footnote_shift: float, font: float) -> tuple[dict, dict]:
    """What `_fit_to_narrow_screens` changes: the layout's, and the footnote's."""
    title_lines = _fitted(title, TITLE_PIXELS, TITLE_FONT_PIXELS)
    subtitle_lines = _fitted(subtitle, TITLE_PIXELS, SUBTITLE_FONT_PIXELS)
    whole = suppression.footnote()
    note_lines = [line for note in footnote_lines
                  for line in ([note] if note == whole else _wrapped(note, _WRAP["note"]))]
    row, rows = 0, 1
    for label in legend_labels:  # 14 px text: a swatch and gap of 40 px, about 7.7 px a character
        width = 40 + 7.7 * font / 14 * len(label)
        if row and row + width > NARROWEST_LEGEND_PIXELS:
            rows, row = rows + 1, 0
        row += width
    height = height or pio.templates[TEMPLATE_NAME].layout.height
    top = 95 + 27 * (len(title_lines) - 1) + 19 * (len(subtitle_lines) - 1)
    plot_pixels = max(height - (top_margin or 95) - (bottom_margin or FOOTER_PIXELS), 100)
    legend_offset = LEGEND_OFFSET_PIXELS + 19 * (axis_title_lines - 1) + 1.2 * (font - 14)  # taller tick labels
    footnote_offset = legend_offset + 31 * font / 14 * rows + 8  # a 14 px legend's rows are about 31 px apart
    bottom = footnote_offset + 13 * len(note_lines) + 12
    updates = dict(
        height=plot_pixels + top + bottom, margin=dict(t=top, b=bottom),
        # Plotly anchors a title of several lines a little too high; the offset keeps its first line on the page.
        title=dict(text="<br>".join(chart_text(line) for line in title_lines), yref="container", yanchor="top",
                   y=1 - (4 + 9 * (len(title_lines) - 1)) / (plot_pixels + top + bottom), pad=dict(t=12, l=6),
                   subtitle=dict(text="<br>".join(chart_text(line) for line in subtitle_lines))),
        legend=dict(y=-legend_offset / plot_pixels))
    left = left_margin if left_margin is not None else TEMPLATE_LEFT_PIXELS
    shift = max(footnote_shift, FOOTNOTE_EDGE_PIXELS - left)  # never back past the figure's edge
    return updates, dict(text="<br>".join(chart_text(line) for line in note_lines), y=-footnote_offset / plot_pixels,
                         xshift=shift, font=dict(size=FOOTNOTE_FONT_PIXELS))


def copied(fig: go.Figure) -> go.Figure:
    """A copy of a figure, its arrays still arrays, not validated again: `go.Figure(fig)` checks every property of
    a figure that was checked when it was built."""
    return go.Figure(data=fig.data, layout=fig.layout, skip_invalid=False, _validate=False)


def _written(fig: go.Figure) -> dict:
    """A figure as the dictionary it holds (`data` and `layout`), every dictionary and list of them copied so the
    copy can be changed, its arrays and values shared (the figure's are read-only). `go.Figure(_written(fig),
    skip_invalid=False, _validate=False)` is `copied(fig)`, without building the figure's own objects first."""
    # The figure's own dictionaries: `fig.data` and `fig.layout` would build an object for every property.
    return {"data": [_containers(trace) for trace in fig._data], "layout": _containers(fig._layout)}


def _text_arrays_as_lists(value) -> None:
    """The arrays of text left after `convert_to_base64` (names, codes, hover data) as lists, in place.

    The screen's dictionary is serialised by `st.plotly_chart` on every rerun, and orjson, which Plotly uses, takes
    its fast path only when it knows every value: an array of objects sends Plotly through its own cleaning of
    the whole dictionary first (5-9 ms for an area's 1,300 PCNs, against 0.4 ms). Each array becomes what that
    cleaning makes of it (dates as `np.datetime_as_string` writes them), so the JSON sent is the same either way."""
    # Only in the containers `_written` copied (dictionaries, and lists of them): other lists are the figure's own.
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in list(items):
        if isinstance(item, np.ndarray) and item.dtype.kind in "OU":
            value[key] = item.tolist()
        elif isinstance(item, np.ndarray) and item.dtype.kind == "M":
            value[key] = np.datetime_as_string(item).tolist()
        elif isinstance(item, dict) or (isinstance(item, list) and item and isinstance(item[0], dict)):
            _text_arrays_as_lists(item)


def _containers(value):
    if isinstance(value, dict):
        return {key: _containers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], dict):
        return [_containers(item) for item in value]
    return value


def for_screens(fig: go.Figure, *, font: float = 14) -> go.Figure:
    """A copy of a `titled` figure laid out for every screen down to a phone's, as the compare charts are.

    Title, subtitle, footnote and legend are read back from the figure and re-laid by `_fit_to_narrow_screens`
    (`font`: the size of its ticks and legend). The figure itself is left as it was, one line of title, for
    downloads: their print size and file name.
    """
    shown = _written(fig)
    layout = shown["layout"]
    footnotes = [a for a in layout.get("annotations", ()) if _is_footnote(a.get("yref"), a.get("y"), a.get("text"))]
    footnote_lines = [html.unescape(line) for a in footnotes for line in str(a.get("text")).split("<br>")]
    legend = [html.unescape(t["name"]) for t in shown["data"] if t.get("showlegend") is not False and t.get("name")]
    title, subtitle = heading(fig)
    _fit_to_narrow_screens_in(layout, title, subtitle, footnote_lines, legend, font=font)
    return go.Figure(shown, skip_invalid=False, _validate=False)


def for_meeting(fig: go.Figure) -> go.Figure:
    """A copy of a `titled` figure read from across a room: ticks, axis titles and legend at MEETING_FONT_PIXELS,
    600 px tall, and laid out as `for_screens` lays a chart out for every screen down to a phone's."""
    shown = copied(fig)
    size = MEETING_FONT_PIXELS
    shown.update_layout(height=600, legend=dict(font=dict(size=size)))
    shown.update_xaxes(tickfont=dict(size=size), title=dict(font=dict(size=size)))
    shown.update_yaxes(tickfont=dict(size=size), title=dict(font=dict(size=size)))
    return for_screens(shown, font=size)


def heading(fig: go.Figure) -> tuple[str, str]:
    """A figure's title and subtitle as plain text, each on one line whatever breaks a layout put in them."""
    def one_line(text) -> str:
        return " ".join(html.unescape(part).strip() for part in str(text or "").split("<br>")).strip()

    return one_line(fig.layout.title.text), one_line(fig.layout.title.subtitle.text)


def untitled(fig: go.Figure) -> go.Figure:
    """A copy of a figure without its title and subtitle, for a screen that shows them as text above the chart.

    The room above the plot shrinks to SCREEN_TOP_PIXELS and the figure by as much, so the plot, its legend and its
    footnote keep their sizes and places. The figure itself keeps its title, for downloads.
    """
    return go.Figure(untitled_dict(fig), skip_invalid=False, _validate=False)


def untitled_dict(fig: go.Figure) -> dict:
    """`untitled(fig)` as its `to_dict()`: what a screen is sent, with one copy of the figure's arrays, not three."""
    template = pio.templates[TEMPLATE_NAME].layout
    top = fig.layout.margin.t if fig.layout.margin.t is not None else template.margin.t
    height = fig.layout.height or template.height
    cut = max(top - SCREEN_TOP_PIXELS, 0)
    # As `fig.to_dict()` gives it, its arrays typed as Plotly.js reads them, without deep-copying them first: the
    # figure's arrays are read-only and shared, and only what this changes (the title, the margin) is copied.
    shown = _written(fig)
    convert_to_base64(shown)
    _text_arrays_as_lists(shown)
    layout = shown.setdefault("layout", {})
    title = layout.setdefault("title", {})
    title["text"] = ""
    title.setdefault("subtitle", {})["text"] = ""
    layout.setdefault("margin", {})["t"] = top - cut
    layout["height"] = height - cut
    return shown
