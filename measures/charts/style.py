"""The charts' look: NHS colours, the Making Data Count and comparison colours, the template, chart text and titles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ..catalogue import Measure

# NHS identity colours.
NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_LIGHT_BLUE = "#41B6E6"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_PALE_GREY = "#E8EDEE"
NHS_TEXT = "#212B32"
NHS_WARM_YELLOW = "#FFB81C"
NHS_ORANGE = "#ED8B00"

# Making Data Count point colours, as NHSRplotthedots draws them: blue improvement, orange concern,
# purple neutral, grey common cause. Blue and orange stay distinct for the common colour-vision deficiencies.
POINT_COLOURS = {
    "common_cause": "#7B7D7D",
    "special_cause_improvement": "#289DE0",
    "special_cause_concern": "#FAB428",
    "special_cause_neutral_high": "#361475",
    "special_cause_neutral_low": "#361475",
}
# The Making Data Count icons' colours, on the board view and in the board pack alike: blue improvement or passing,
# orange concern or failing, purple special cause where no direction is better, grey common cause and hit-and-miss.
ICON_COLOURS = {"improvement": POINT_COLOURS["special_cause_improvement"],
                "concern": POINT_COLOURS["special_cause_concern"],
                "neutral": POINT_COLOURS["special_cause_neutral_high"],
                "common": POINT_COLOURS["common_cause"],
                "consistent_pass": POINT_COLOURS["special_cause_improvement"],
                "consistent_fail": POINT_COLOURS["special_cause_concern"],
                "inconsistent": POINT_COLOURS["common_cause"]}
POINT_LABELS = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Improvement",
    "special_cause_concern": "Concern",
    "special_cause_neutral_high": "Special cause (high)",
    "special_cause_neutral_low": "Special cause (low)",
}

# Fingertips-style comparison, in a blue/orange scheme that survives colour-blindness and grey printing.
BENCHMARK_COLOURS = {
    "better": NHS_BLUE,
    "similar": "#AEB7BD",
    "worse": NHS_ORANGE,
    "higher": NHS_LIGHT_BLUE,
    "lower": NHS_DARK_BLUE,
    "not_compared": "#FFFFFF",
}
BENCHMARK_LABELS = {
    "better": "Better than comparator",
    "similar": "Similar",
    "worse": "Worse than comparator",
    "higher": "Higher",
    "lower": "Lower",
    "not_compared": "Not compared",
}

FONT = "Arial, Helvetica, sans-serif"
# Below the plot: tick labels and axis title, then the legend, then the source footnote. The footnote sits a
# legend row lower than one row needs, so a legend that wraps on a narrow screen does not run into it.
FOOTER_PIXELS = 174
LEGEND_OFFSET_PIXELS = 62
FOOTNOTE_OFFSET_PIXELS = 152
NOTE_LINE_PIXELS = 17  # each further footnote line (12 px text)
TEMPLATE_NAME = "nhs_board"

pio.templates[TEMPLATE_NAME] = go.layout.Template(
    layout=dict(
        font=dict(family=FONT, size=16, color=NHS_TEXT),
        title=dict(font=dict(size=22, color=NHS_TEXT), x=0, xanchor="left", y=0.97, yanchor="top",
                   subtitle=dict(font=dict(size=15, color=NHS_DARK_GREY))),
        colorway=[NHS_BLUE, NHS_ORANGE, NHS_DARK_BLUE, NHS_LIGHT_BLUE, NHS_DARK_GREY, NHS_WARM_YELLOW],
        paper_bgcolor="#FFFFFF",
        plot_bgcolor="#FFFFFF",
        margin=dict(l=70, r=30, t=95, b=FOOTER_PIXELS),
        xaxis=dict(showgrid=False, linecolor=NHS_MID_GREY, ticks="outside", tickcolor=NHS_MID_GREY,
                   tickfont=dict(size=14), title=dict(font=dict(size=15)), automargin=True),
        yaxis=dict(gridcolor=NHS_PALE_GREY, zeroline=False, linecolor=NHS_MID_GREY, tickfont=dict(size=14),
                   title=dict(font=dict(size=15)), automargin=True),
        legend=dict(orientation="h", yanchor="top", xanchor="left", x=0, font=dict(size=14),
                    bgcolor="rgba(255,255,255,0)"),
        hoverlabel=dict(font=dict(family=FONT, size=14)),
        width=None,
        height=560,
    )
)


@lru_cache(maxsize=8)
def _template_json(name: str) -> dict:
    return pio.templates[name].to_plotly_json()


class _Shared(np.ndarray):
    """An array figures hold and never change, which every figure made from another shares rather than copies."""

    def __deepcopy__(self, memo):
        return self


def shared_array(values, dtype=None) -> np.ndarray:
    """`values` as a read-only array that a figure built from it, and every figure copied from that one, share.

    Plotly deep-copies whatever a figure is built from, an array of text item by item: for an area's 1,300 PCNs
    the names and codes cost several milliseconds at each of the three figures a chart goes through (built,
    one PCN picked out, laid out for screens). Read-only, so a figure cannot change what the others read; its
    JSON is the same as a list's."""
    array = np.array(values, dtype=dtype).view(_Shared)
    array.flags.writeable = False
    return array


def written_figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure from the dictionaries a builder wrote, with the board template in place, made without Plotly
    checking every value again: that check was half of building an area's ranked chart (6-10 ms) and gives the
    same figure. The builders' dictionaries are checked instead by the tests, which build every kind of chart
    through `go.Figure(...)` and compare (tests/test_chart_layout.py)."""
    if isinstance(layout.get("template"), str):  # named, as `titled` names it: the template itself, as Plotly
        layout = layout | {"template": _template_json(layout["template"])}
    return go.Figure(dict(data=data, layout=layout), skip_invalid=False, _validate=False)


def chart_text(text: object) -> str:
    """User or file text for any text a figure draws (titles, notes, names, ticks, hover): shown as written.

    Plotly reads `<b>`, `<a href>`, `<br>` and entities in every such string, so `&`, `<` and `>` become entities;
    `$` too, since a string between two dollars is typeset as maths where MathJax is loaded.
    """
    if text is None:
        return ""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("$", "&#36;"))


def hover_text(text: object) -> str:
    """User or file text written into a hovertemplate, where `%{...}` would also be read as a field."""
    return chart_text(text).replace("%", "&#37;")


def axis_title(measure: Measure) -> str:
    return chart_text(measure.unit) if measure.unit != "%" else "Per cent"


def titled(fig: go.Figure, title: str, subtitle: str | None, source: str, data_date: date | str | None,
           notes: Sequence[str] = ()) -> go.Figure:
    """Put title, subtitle, and a source and data-date footnote inside the figure, so exports carry them.

    Each of `notes` (such as the small-number suppression footnote) is a further line under the source; the
    figure grows by a line for each, so the plot keeps its size. All of them are plain text, shown as written.
    """
    updates, footnote = _titling(fig.layout.height, title, subtitle, source, data_date, notes)
    fig.update_layout(updates)
    fig.add_annotation(**footnote)
    return fig


def _titled_layout(layout: dict, title: str, subtitle: str | None, source: str, data_date: date | str | None,
                  notes: Sequence[str] = ()) -> dict:
    """`titled` for a figure still being written as a dictionary's layout (changed in place and returned)."""
    updates, footnote = _titling(layout.get("height"), title, subtitle, source, data_date, notes)
    _merged(layout, updates)
    layout.setdefault("annotations", []).append(footnote)
    return layout


def _titling(height: float | None, title: str, subtitle: str | None, source: str, data_date: date | str | None,
             notes: Sequence[str]) -> tuple[dict, dict]:
    """What `titled` writes into a figure `height` px tall (None: the template's): the layout's changes and the
    footnote's annotation."""
    footnote = f"Source: {source}"
    if data_date:
        footnote += f" · Data to {pd.Timestamp(data_date):%b %Y}" if not isinstance(data_date, str) else f" · {data_date}"
    notes = [note for note in notes if note]
    footnote = "<br>".join(chart_text(line) for line in [footnote, *notes])
    updates = dict(template=TEMPLATE_NAME,
                   title=dict(text=chart_text(title), subtitle=dict(text=chart_text(subtitle or ""))))
    # Paper coordinates scale with the plot area, so place the legend and footnote from the pixel height.
    height = height or pio.templates[TEMPLATE_NAME].layout.height
    plot_pixels = max(height - 95 - FOOTER_PIXELS, 100)
    if notes:
        extra = NOTE_LINE_PIXELS * len(notes)
        updates.update(height=height + extra, margin=dict(b=FOOTER_PIXELS + extra))
    updates["legend"] = dict(y=-LEGEND_OFFSET_PIXELS / plot_pixels)
    return updates, dict(text=footnote, xref="paper", yref="paper", x=0, y=-FOOTNOTE_OFFSET_PIXELS / plot_pixels,
                         xanchor="left", yanchor="top", showarrow=False, align="left",
                         font=dict(size=12, color=NHS_DARK_GREY))


def _merged(target: dict, updates: dict) -> dict:
    """`updates` written into `target` (changed in place and returned) as `update_layout` writes them into a
    figure: a dictionary into a dictionary key by key, anything else in place of what was there."""
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merged(target[key], value)
        else:
            target[key] = _merged({}, value) if isinstance(value, dict) else value
    return target
