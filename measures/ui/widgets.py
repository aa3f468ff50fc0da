"""What pages show: family headings, measure cards, definitions, empty states, charts, SPC badges and tables."""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from .. import charts, suppression
from ..catalogue import FAMILY_LABELS
from ..overview import Card
from ..text import escape_markdown as plain  # user and file text shown literally in Markdown elements
from .downloads import figure_downloads
from .figures import derived


def family_heading(family: str) -> None:
    st.subheader(FAMILY_LABELS[family], divider="blue")


def measure_card(card: Card) -> None:
    measure = card.measure
    with st.container(border=True):
        # st.metric cuts a label longer than its column with an ellipsis; the name above it wraps instead.
        st.markdown(f":small[{plain(measure.label)}]", help=plain(measure.description))
        st.metric(
            plain(measure.label),
            card.value_text,
            delta=card.change_text,
            delta_color=card.delta_color,
            chart_data=card.trend or None,
            chart_type="line",
            label_visibility="collapsed",
        )
        st.caption(" · ".join(part for part in (card.period_text, card.comparator_text, card.practice_range_text,
                                                plain(card.data_caveat), plain(card.goal), card.suppression_text)
                              if part))
        with st.popover("Definition", width="content"):
            definition(measure)


def definition(measure) -> None:
    # One element, not one a line: the Overview draws a definition for each of its 36 cards on every run.
    st.markdown(definition_text(measure))


def definition_text(measure) -> str:
    """A measure's definition as Markdown: its name and code, description, parts, unit and direction, source and
    caveats, every catalogue text escaped (`plain`)."""
    direction = {"increase": "higher is better", "decrease": "lower is better", "neutral": "neither direction is better"}
    items = [f"- **Numerator:** {plain(measure.numerator.definition)}"]
    if measure.denominator:
        items.append(f"- **Denominator:** {plain(measure.denominator.definition)}")
    items.append(f"- **Unit:** {plain(measure.unit)}; {direction[measure.improvement_direction]}")
    items.append(f"- **Source:** {plain(measure.source.publication)}" + _landing_page(measure.source.landing_page))
    items += [f"- *Caveat:* {plain(caveat)}" for caveat in measure.caveats]
    heading = f"**{plain(measure.name)}**" + (f" ({plain(measure.code)})" if measure.code else "")
    return "\n\n".join([heading, plain(measure.description), "\n".join(items)])


_WEB_ADDRESS = re.compile(r"https?://[^\s()<>\[\]\\`*$~|{}\"']+")


def _landing_page(address: str | None) -> str:
    """A link to a measure's landing page when it is a plain web address; anything else is shown as text."""
    if not address:
        return ""
    if _WEB_ADDRESS.fullmatch(address):
        return f" ([landing page]({address}))"
    return f" (landing page: {plain(address)})"


def empty_state(message: str) -> None:
    st.info(message, icon=":material/info:")


def frame_or_empty(frame: pd.DataFrame, message: str) -> bool:
    if frame is None or frame.empty:
        empty_state(message)
        return False
    return True


class _SerialisedOnce(go.Figure):
    """A figure shown on every rerun and never changed, which is its `to_dict`, worked out once.

    `st.plotly_chart` reads a figure only through `to_dict`, a deep copy of every trace's arrays: 10-30 ms a
    rerun for a ranked chart of 1,300 PCNs. So this holds the dictionary and answers `to_dict` with it, the one
    copy serving every run; the figure itself is left empty, as building it from the dictionary would copy every
    array once more (2 ms for 1,300 PCNs). Only for `st.plotly_chart`: read it through `to_dict`.
    """

    def __init__(self, as_dict: dict):
        super().__init__()
        self._as_dict = as_dict

    def to_dict(self):
        return self._as_dict


def _untitled(fig):
    return derived(fig, ("untitled",), lambda shown: _SerialisedOnce(charts.untitled_dict(shown)))


def show_figure(fig, *, key: str | None = None, export=None, controls: bool = True) -> None:
    """The chart under its title and subtitle, and its downloads; `export` is the figure they hand out when it is
    not the one shown. Without `controls`, a chart only to be read (as in a meeting): no downloads and no modebar.

    The title and subtitle are text above the chart, where they wrap to the screen's width (an SVG title cannot
    wrap, and a figure cannot know the width it will be drawn at); the downloads keep them inside the figure.
    """
    title, subtitle = charts.heading(fig)
    lines = [f"**{plain(title)}**" if title else "", f":gray[{plain(subtitle)}]" if subtitle else ""]
    with st.container(gap="xsmall"):  # the title close over its chart, as it reads inside a download
        if any(lines):
            st.markdown("  \n".join(line for line in lines if line))
        # theme=None: the figure's own template, so the screen matches every export. The modebar's own image
        # button would save the chart without its title; the downloads below carry it, with the source and date.
        st.plotly_chart(_untitled(fig), theme=None, width="stretch", key=key,
                        config={"displaylogo": False, "modeBarButtonsToRemove": ["toImage"],
                                "displayModeBar": controls})
    if controls:
        figure_downloads(fig if export is None else export, key=key)  # PNG, SVG and PDF of every chart


_BADGE_COLOURS = {"improvement": "blue", "concern": "orange", "neutral": "violet", "common": "gray",
                  "consistent_pass": "blue", "consistent_fail": "orange", "inconsistent": "gray"}


def spc_badges(variation: str | None, assurance: str | None) -> None:
    from ..detail import ASSURANCE_TEXT, VARIATION_TEXT

    if variation:
        st.badge(VARIATION_TEXT[variation], color=_BADGE_COLOURS[variation.split("_")[0]], icon=":material/insights:")
    if assurance:
        st.badge(ASSURANCE_TEXT[assurance], color=_BADGE_COLOURS[assurance], icon=":material/flag:")


# A Styler sends every cell's display text, so it is kept to tables short enough for that to cost little.
BLANK_MISSING_MAX_ROWS = 500


def _number_text(value) -> str:
    if pd.isna(value):
        return ""
    number = float(value)
    if number.is_integer():
        return f"{number:.0f}"
    return f"{number:.4f}".rstrip("0").rstrip(".")


def blank_missing(frame: pd.DataFrame) -> dict:
    """Display formatters for the columns holding missing values: blank where missing, the rest as written
    (whole numbers without a decimal point, others to at most 4 decimals)."""
    formatters = {}
    for column in frame.columns:
        if not frame[column].isna().any():
            continue
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            formatters[column] = _number_text
        else:
            formatters[column] = _other_text
    return formatters


def _other_text(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}" if value == value.normalize() else f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def table(frame: pd.DataFrame, *, key: str | None = None, formats: dict[str, str] | None = None) -> None:
    """A table on screen, with a footnote when it holds suppressed rows; the `suppressed` flag is not shown.

    With `formats` (column: format, for a short table) a suppressed number reads `*`; without, it is blank.
    """
    flagged = frame[suppression.FLAG].astype(bool) if suppression.FLAG in frame else pd.Series(False, index=frame.index)
    columns = [c for c in frame.columns if c != suppression.FLAG]
    shown = frame
    if formats is None and len(frame) <= BLANK_MISSING_MAX_ROWS and (blanks := blank_missing(frame[columns])):
        shown = frame.style.format(blanks)  # Streamlit writes "None" in an empty cell; a board reads it as a value
    if formats is not None:  # a Styler's display text: cheap for a short table, slow for England's 1,300 PCNs
        shown = frame.style
        for column, pattern in formats.items():
            if column in frame:
                shown = shown.format(pattern, subset=[column], na_rep="")
                if flagged.any():
                    shown = shown.format(pattern, subset=pd.IndexSlice[frame.index[flagged], [column]],
                                         na_rep=suppression.MARK)
    st.dataframe(shown, hide_index=True, width="stretch", column_order=columns, key=key)
    if flagged.any():
        st.caption(suppression.footnote())
