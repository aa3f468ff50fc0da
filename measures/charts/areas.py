"""Charts comparing areas: PCNs ranked with their intervals, and the funnel plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import suppression
from ..catalogue import Measure
from .screens import (_WRAP, FOOTNOTE_EDGE_PIXELS, TEMPLATE_LEFT_PIXELS, _fit_to_narrow_screens, _wrapped,
                      _fit_to_narrow_screens_in, text_pixels, _written)
from .style import (BENCHMARK_COLOURS, BENCHMARK_LABELS, NHS_BLUE, NHS_DARK_BLUE, NHS_DARK_GREY, NHS_LIGHT_BLUE,
                    NHS_MID_GREY, NHS_ORANGE, NHS_TEXT, axis_title, chart_text, hover_text, _merged, titled,
                    _titled_layout, shared_array, written_figure)

NAMED_BARS_MAX = 60
# The bars' names are 12 px; Plotly's automargin leaves about 12 px beside the widest (measured in Chromium).
NAME_FONT_PIXELS, NAME_PAD_PIXELS = 12, 12
NOT_COMPARED_COLOUR = "#8A9BB0"


def _legend_line(label: str, dash: str, width: float = 2) -> go.Scatter:
    """A legend entry for a reference line drawn with add_hline / add_vline (which have none of their own).

    A comparator's label is written as it reads mid-sentence ("the neighbourhoods together"); an entry starts
    with a capital."""
    return go.Scatter(**_legend_line_spec(label, dash, width))


def _legend_line_spec(label: str, dash: str, width: float = 2) -> dict:
    label = label[:1].upper() + label[1:]
    return dict(x=[None], y=[None], mode="lines", name=chart_text(label), hoverinfo="skip",
                line=dict(color=NHS_TEXT, dash=dash, width=width))


def _natural_range(measure: Measure, values: Sequence[float]) -> list[float] | None:
    """An axis range from 0 that stops at the measure's natural top (100 for a percentage) unless a value is above."""
    values = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if len(finite) else 0.0
    if measure.unit == "%" and top > 100:  # an overspent budget: the axis reaches it
        return [0, top * 1.05]
    if measure.unit == "%":
        return [0, 100] if top > 90 or top <= 0 else [0, top * 1.08]
    return [0, top * 1.08] if top > 0 else None


def _footnote_lines(source: str, period, notes: Sequence[str]) -> list[str]:
    footnote = f"Source: {source}"
    if period:
        footnote += f" · Data to {pd.Timestamp(period):%b %Y}"
    return [footnote, *[note for note in notes if note]]


def ranked_bar(frame: pd.DataFrame, measure: Measure, *, highlight: str | None, comparator_label: str,
               comparator_value: float | None, period: date, area_label: str, source: str | None = None,
               interval_text: str | None = None, intervals: bool = True, notes: Sequence[str] = ()) -> go.Figure:
    """Organisations ranked by value with 95% intervals, coloured by comparison with the comparator.

    `frame` has org, name, value, lower_95, upper_95, benchmark. `interval_text` names the method in the
    subtitle ("Ranked, with 95% confidence intervals (Wilson score)"); with `intervals` False the bars are one
    colour, with no error bars, and the subtitle says why (`interval_text`). `notes` are further footnotes.
    """
    # Written as one dictionary and made into a figure once (`written_figure`): each `add_trace` and `update_*`
    # of a figure checks what it changes again, 70-150 ms for an area's 1,300 PCNs.
    drawn = [c for c in ("org", "name", "value", "lower_95", "upper_95", "benchmark", suppression.FLAG) if c in frame]
    frame = frame[drawn].sort_values("value", ascending=True, na_position="first").reset_index(drop=True)
    # Columns as arrays, each selection of bars a mask over them: pandas' own selections cost a few milliseconds
    # a chart in indexes and copies, for the same values.
    codes = shared_array([chart_text(code) for code in frame["org"].tolist()], dtype=object)
    names = shared_array([chart_text(name) for name in frame["name"].tolist()], dtype=object)
    value = frame["value"].to_numpy(dtype=float, na_value=np.nan)
    if intervals:
        lower, upper = (frame[column].to_numpy(dtype=float, na_value=np.nan) for column in ("lower_95", "upper_95"))
        benchmark = frame["benchmark"].to_numpy(dtype=object)
    data: list[dict] = []
    groups = BENCHMARK_COLOURS.items() if intervals else [("__all__", NOT_COMPARED_COLOUR)]
    for outcome, colour in groups:
        chosen = (benchmark == outcome) if intervals else ~np.isnan(value)
        if not chosen.any():
            continue
        x = value[chosen]
        bar = dict(
            type="bar", x=x, y=codes[chosen], orientation="h",
            name=BENCHMARK_LABELS[outcome] if intervals else "Not compared (no interval applies)",
            showlegend=intervals,
            marker=dict(color=colour, line=dict(color=NHS_MID_GREY, width=0.5)),
        )
        value_text = f"{hover_text(measure.label)}: %{{x:,.{measure.decimals}f}}"
        if intervals:
            low, high = lower[chosen], upper[chosen]
            bar.update(
                error_x=dict(type="data", symmetric=False, array=high - x, arrayminus=x - low, color=NHS_DARK_GREY,
                             thickness=1.2, width=3),
                customdata=shared_array(np.stack([names[chosen], low, high], axis=-1)),
                hovertemplate=(f"%{{customdata[0]}} (%{{y}})<br>{value_text}"
                               f"<br>95% CI %{{customdata[1]:,.{measure.decimals}f}} to "
                               f"%{{customdata[2]:,.{measure.decimals}f}}<extra></extra>"))
        else:
            bar.update(customdata=names[chosen],
                       hovertemplate=f"%{{customdata}} (%{{y}})<br>{value_text}<extra></extra>")
        data.append(bar)
    hidden = _suppressed_rows(frame)
    if not hidden.empty:  # no bar to draw: a * at zero says the PCN is there and why it has no bar
        data.append(dict(
            type="scatter", x=[0] * len(hidden), y=codes[hidden.index], mode="text",
            text=[suppression.MARK] * len(hidden), textposition="middle right",
            textfont=dict(size=16, color=NHS_DARK_GREY), name=f"{suppression.MARK} Suppressed (small number)",
            customdata=names[hidden.index], showlegend=False,
            hovertemplate="%{customdata} (%{y}): suppressed (small number)<extra></extra>"))
    reach = [*value, *(upper if intervals else []), comparator_value if comparator_value is not None else np.nan]
    x_range = _natural_range(measure, reach)
    layout: dict = {}
    if comparator_value is not None:
        # Named in the legend, which wraps on a narrow screen, rather than beside the line, where a long ICB
        # name would run off the edge or over the bars. The line is what `add_vline` draws.
        layout["shapes"] = [dict(type="line", x0=comparator_value, x1=comparator_value, xref="x", y0=0, y1=1,
                                 yref="y domain", line=dict(color=NHS_TEXT, dash="dash", width=2))]
        data.append(dict(type="scatter", **_legend_line_spec(
            f"{comparator_label} {measure.format_value(comparator_value)}", "dash")))
    many = len(frame) > NAMED_BARS_MAX
    layout.update(barmode="overlay", height=760 if many else max(420, 22 * len(frame) + 260),
                  bargap=0.0 if many else 0.25)
    # Past a few dozen PCNs names cannot be read: draw a caterpillar chart and leave names to the hover.
    # Keyed by code (names repeat across England), labelled by name.
    layout["yaxis"] = dict(categoryorder="array", categoryarray=codes, tickmode="array", tickvals=codes,
                           ticktext=names, tickfont=dict(size=NAME_FONT_PIXELS), showticklabels=not many)
    if many:
        layout["yaxis"]["title"] = dict(text=f"{len(frame):,} PCNs, ranked")
    layout["xaxis"] = dict(title=dict(text=axis_title(measure)))
    if x_range is not None:
        layout["xaxis"]["range"] = x_range
    title = f"{measure.label}: {area_label}, {pd.Timestamp(period):%b %Y}"
    subtitle = f"{interval_text or 'Ranked, with 95% confidence intervals'}; compared with {comparator_label}"
    footnotes = [*_suppression_notes(hidden), *notes]
    _titled_layout(layout, title, subtitle, source or measure.source.publication, period, footnotes)
    labels = [t["name"] for t in data if t.get("showlegend") is not False and t.get("name")]
    # The names push the plot right. The left margin is set to the widest name as drawn, so the footnote can be
    # moved back by exactly the margin: were the names to need more room, the plot and the footnote would move
    # right together, never the footnote past the figure's edge.
    shown_names = [] if many else [str(name) for name in frame["name"].dropna()]
    plot_left = math.ceil(max([text_pixels(name, NAME_FONT_PIXELS) for name in shown_names], default=0)
                          + NAME_PAD_PIXELS)
    plot_left = max(plot_left, TEMPLATE_LEFT_PIXELS)
    _merged(layout, dict(margin=dict(l=plot_left)))
    _fit_to_narrow_screens_in(layout, title, subtitle, _footnote_lines(source or measure.source.publication, period,
                                                                      footnotes), labels,
                             footnote_shift=FOOTNOTE_EDGE_PIXELS - plot_left)
    fig = written_figure(data, layout)
    return highlighted(fig, highlight) if highlight is not None else fig


# How a PCN sits on the funnel: beyond 99.8%, beyond 95% only, or within, and on which side.
FUNNEL_COLOURS = {
    "high_998": NHS_BLUE, "high_95": "#7FB2E5", "within": "#D5DADD", "low_95": "#F6C48A", "low_998": NHS_ORANGE,
}
FUNNEL_NEUTRAL_COLOURS = {
    "high_998": NHS_DARK_BLUE, "high_95": "#8C9FCF", "within": "#D5DADD", "low_95": "#A9DCF2", "low_998": NHS_LIGHT_BLUE,
}


def _funnel_labels(direction: str) -> dict[str, str]:
    high, low = {"increase": ("Better", "Worse"), "decrease": ("Worse", "Better")}.get(direction, ("Higher", "Lower"))
    return {"high_998": f"{high}: beyond 99.8%", "high_95": f"{high}: beyond 95%", "within": "Within 95% limits",
            "low_95": f"{low}: beyond 95%", "low_998": f"{low}: beyond 99.8%"}


def funnel_plot(frame: pd.DataFrame, limits: pd.DataFrame, measure: Measure, *, highlight: str | None,
                comparator_label: str, comparator_value: float, period: date, area_label: str,
                source: str | None = None, notes: Sequence[str] = ()) -> go.Figure:
    """Value against denominator with 95% and 99.8% limits; each PCN coloured by which limits it lies beyond.

    `frame` has org, name, value, denominator; `limits` (from `compare.funnel`) has denominator, lower_95,
    upper_95, lower_998, upper_998 and, in `attrs["funnel"]`, the centre (`target`) and whether the limits
    were adjusted for overdispersion, which the subtitle says. Without that the centre is `comparator_value`.
    """
    from .. import compare

    info = limits.attrs.get("funnel", {})
    centre = info.get("target", comparator_value)
    centre_label = (f"Average of the {info['units']} PCNs shown" if "units" in info else comparator_label)
    fig = go.Figure()
    for column, name, dash in (("upper_998", "99.8% limits", "dash"), ("lower_998", None, "dash"),
                               ("upper_95", "95% limits", "dot"), ("lower_95", None, "dot")):
        fig.add_trace(go.Scatter(x=limits["denominator"], y=limits[column], mode="lines", name=name or "",
                                 showlegend=name is not None, legendgroup=column[-3:],
                                 line=dict(color=NHS_DARK_GREY, dash=dash, width=1.5), hoverinfo="skip"))
    fig.add_hline(y=centre, line=dict(color=NHS_TEXT, width=1.5))
    fig.add_trace(_legend_line(f"{centre_label} {measure.format_value(centre)}", "solid", width=1.5))
    outcome = compare.funnel_outcome(frame, limits)
    colours = FUNNEL_NEUTRAL_COLOURS if measure.improvement_direction == "neutral" else FUNNEL_COLOURS
    labels = _funnel_labels(measure.improvement_direction)
    for key in compare.FUNNEL_OUTCOMES:
        rows = frame[outcome == key]
        if rows.empty:
            continue
        fig.add_trace(go.Scatter(
            x=rows["denominator"], y=rows["value"], mode="markers", name=labels[key],
            marker=dict(color=colours[key], size=13 if key.endswith("998") else 11, line=dict(color=NHS_DARK_GREY, width=1)),
            customdata=np.stack([rows["name"].map(chart_text), rows["org"].map(chart_text)], axis=-1),
            hovertemplate=(f"%{{customdata[0]}} (%{{customdata[1]}})<br>{hover_text(measure.label)}: "
                           f"%{{y:,.{measure.decimals}f}}<br>Denominator: %{{x:,.0f}}<br>{labels[key]}<extra></extra>"),
        ))
    top = float(limits["denominator"].max())
    x_title = _wrapped(measure.denominator.definition if measure.denominator else "Denominator", _WRAP["axis"])[:3]
    fig.update_xaxes(title_text="<br>".join(chart_text(line) for line in x_title), range=[0, top * 1.02],
                     tickformat=",~s")
    plotted = frame.loc[outcome != "", "value"].tolist()
    if measure.unit == "%":  # small PCNs' limits reach 0% and 100%: the axis stops there, never past them
        low = min([*plotted, *limits["lower_998"].tolist()], default=0.0)
        high = max([*plotted, *limits["upper_998"].tolist()], default=100.0)
        pad = (high - low) * 0.06 or 1.0
        top_of_axis = high + pad if max(plotted, default=0.0) > 100 else min(100.0, high + pad)
        fig.update_yaxes(range=[max(0.0, low - pad), top_of_axis])
    else:
        fig.update_yaxes(rangemode="tozero")
    fig.update_yaxes(title_text=axis_title(measure))
    hidden = _suppressed_rows(frame)
    footnotes = _suppression_notes(hidden)
    if footnotes:
        footnotes[-1] = f"{len(hidden)} suppressed PCN{' is' if len(hidden) == 1 else 's are'} not plotted. " + footnotes[-1]
    counted = int((outcome != "").sum())
    beyond_95 = int(outcome.isin(["high_95", "high_998", "low_95", "low_998"]).sum())
    beyond_998 = int(outcome.isin(["high_998", "low_998"]).sum())
    footnotes.append(f"{beyond_95} of {counted} PCNs beyond 95% (chance alone: {counted * 0.05:.1f}), "
                     f"{beyond_998} beyond 99.8% (chance alone: {counted * 0.002:.1f}).")
    if info.get("method"):
        footnotes.append(info["method"])
    footnotes += list(notes)
    title = f"{measure.label}: funnel plot, {area_label}, {pd.Timestamp(period):%b %Y}"
    subtitle = compare.funnel_method_text(limits)
    fig = titled(fig, title, subtitle, source or measure.source.publication, period, footnotes)
    legend = [t.name for t in fig.data if t.showlegend is not False and t.name]
    fig = _fit_to_narrow_screens(fig, title, subtitle, _footnote_lines(source or measure.source.publication, period,
                                                                       footnotes), legend, len(x_title))
    return highlighted(fig, highlight) if highlight is not None else fig


def highlighted(fig: go.Figure, org: str) -> go.Figure:
    """A copy of a `ranked_bar` or `funnel_plot` figure drawn without a highlight, with `org` picked out: its bar
    outlined, or its point ringed and named. The figure itself is left as it was.

    Both builders end here, so a figure built for one PCN equals this applied to the one built for none: a page can
    build an area's figure once and pick out each PCN in a few milliseconds.
    """
    tree = _written(fig)
    code = chart_text(org)
    for trace in tree["data"]:
        if trace.get("type") == "bar":  # a ranked bar's traces are keyed by code on y
            picked = (np.asarray(trace["y"], dtype=object) == code).tolist()
            if any(picked):
                colours = shared_array([NHS_TEXT if p else NHS_MID_GREY for p in picked], dtype=object)
                widths = shared_array([3 if p else 0.5 for p in picked], dtype=float)
                _merged(trace, dict(marker=dict(line=dict(color=colours, width=widths))))
    shown = go.Figure(tree, skip_invalid=False, _validate=False)
    points = [(trace, i) for trace in fig.data if trace.type == "scatter" and trace.mode == "markers"
              and trace.customdata is not None for i, row in enumerate(trace.customdata) if row[1] == code]
    if points:  # a funnel's PCN markers carry (name, code); a suppressed PCN is not plotted, so never picked out
        trace, i = points[0]
        x, y, name = trace.x[i], trace.y[i], trace.customdata[i][0]
        top = shown.layout.xaxis.range[1] / 1.02  # the axis reaches 2% past the largest denominator
        # The label opens away from the nearer edge and is drawn past the plot's clip, so it is never cut off.
        side = "left" if x > top * 0.6 else "right" if x < top * 0.25 else "center"
        shown.add_trace(go.Scatter(x=[x], y=[y], mode="markers+text", name=name, text=[name],
                                   textposition=f"top {side}", cliponaxis=False, showlegend=False,
                                   textfont=dict(size=14, color=NHS_TEXT),
                                   marker=dict(symbol="diamond", size=17, color="rgba(0,0,0,0)",
                                               line=dict(color=NHS_TEXT, width=3)),
                                   hoverinfo="skip"))
    return shown


def _suppressed_rows(frame: pd.DataFrame) -> pd.DataFrame:
    if suppression.FLAG not in frame:
        return frame.iloc[:0]
    return frame[frame[suppression.FLAG].fillna(False).astype(bool)]


def _suppression_notes(hidden: pd.DataFrame) -> list[str]:
    """The footnote lines of a chart of PCNs some of whose values are suppressed (empty when none are)."""
    if hidden.empty:
        return []
    return [suppression.footnote(), "Averages pool the values shown."]
