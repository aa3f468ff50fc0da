"""One organisation's series: a Making Data Count XmR chart, or its values with intervals where SPC does not apply."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import suppression
from ..catalogue import Measure
from .screens import PRINT_PLOT_PIXELS, _fit_chart_notes_in
from .style import (NHS_BLUE, NHS_DARK_BLUE, NHS_DARK_GREY, NHS_MID_GREY, NHS_TEXT, POINT_COLOURS, POINT_LABELS,
                    axis_title, chart_text, hover_text, _merged, _titled_layout, written_figure)

def _hover_value(measure: Measure) -> str:
    suffix = "%" if measure.unit == "%" else ""
    return f"%{{y:,.{measure.decimals}f}}{suffix}"


def spc_chart(result: pd.DataFrame, measure: Measure, org_name: str, *, source: str | None = None,
              annotations: pd.DataFrame | None = None, goal_lines: pd.DataFrame | None = None,
              subtitle: str | None = None, suppressed: Sequence = (), reading=None,
              rebase_reasons: dict | None = None, caveats: Sequence[str] = ()) -> go.Figure:
    """A Making Data Count XmR chart from `stats.spc` output (date, value, mean, limits, point_type).

    With `reading` (a `detail.Reading`) the chart follows it: an XmR chart with the limits held within the
    measure's natural range (`lpl_shown`, `upl_shown`), each segment of recalculated limits drawn on its own
    with a line at its first period (labelled from `rebase_reasons`, first period -> reason), the method and any
    recalculation in the subtitle; or, for an annual measure or a short series, the values with their 95%
    intervals and no limits. `goal_lines` has columns start, end, value, label (targets or IIF thresholds by
    year); `annotations` has columns date and note; `suppressed` lists the dates of values suppressed as small
    numbers: the line breaks there, a * marks each, and the footnote says how the limits treat them. Each of
    `caveats` (such as "Incomplete data: September 2026 (1 of 5 practices missing).") is a further footnote.
    """
    from .. import detail  # detail has no charts; imported here so that charts stays a leaf for other modules

    # Written as one dictionary and made into a figure once (`written_figure`): each `add_trace` and `update_*`
    # of a figure checks what it changes again, and the template is copied on each change of the layout.
    if reading is not None:
        suppressed = reading.suppressed
    mode = reading.mode if reading is not None else "spc"
    x = pd.to_datetime(result["date"])
    hidden = pd.Series(pd.to_datetime(list(suppressed))).drop_duplicates()
    data: list[dict] = []
    layout: dict = {}
    if mode == "spc":
        data += _spc_limit_traces(result, x)
    line = pd.DataFrame({"date": x, "value": result["value"].to_numpy(dtype=float)})
    if len(hidden):  # a missing value breaks the line, so no segment is drawn across a suppressed month
        line = pd.concat([line, pd.DataFrame({"date": hidden, "value": np.nan})]).sort_values("date", kind="stable")
    if mode == "spc" or len(line) > 1:
        data.append(dict(type="scatter", x=line["date"], y=line["value"], mode="lines",
                         line=dict(color=NHS_MID_GREY, width=1.5, dash="solid" if mode == "spc" else "dot"),
                         showlegend=False, hoverinfo="skip", connectgaps=False))
    if mode == "spc":
        for point_type, colour in POINT_COLOURS.items():
            rows = result[result["point_type"] == point_type]
            if rows.empty:
                continue
            data.append(dict(
                type="scatter", x=pd.to_datetime(rows["date"]), y=rows["value"], mode="markers",
                name=POINT_LABELS[point_type], marker=dict(color=colour, size=10, line=dict(color="#FFFFFF", width=1)),
                hovertemplate=f"%{{x|%b %Y}}: {_hover_value(measure)}<br>{POINT_LABELS[point_type]}<extra></extra>",
            ))
    else:
        data.append(_interval_points(result, measure, reading))
    if goal_lines is not None:
        for row in goal_lines.itertuples():
            data.append(dict(
                type="scatter", x=[row.start, row.end], y=[row.value, row.value], mode="lines",
                name=chart_text(row.label), line=dict(color=NHS_DARK_BLUE, dash="dot", width=2.5),
                legendgroup=chart_text(row.label),
                showlegend=chart_text(row.label) not in {t.get("name") for t in data},
                hovertemplate=f"{hover_text(row.label)}: %{{y}}<extra></extra>",
            ))

    rebases = reading.rebases if reading is not None and mode == "spc" else ()
    note_dates = list(pd.to_datetime(annotations["date"])) if annotations is not None else []
    # A note at a date would stretch an axis left to its own range by the note's width (Plotly makes room for
    # it), so the range is set to what is drawn; each note opens towards the wider side of its line.
    reach = [*x, *hidden, *note_dates, *map(pd.Timestamp, rebases)]
    if goal_lines is not None:
        reach += [*pd.to_datetime(goal_lines["start"]), *pd.to_datetime(goal_lines["end"])]
    x_range = _date_range(reach)
    shapes, notes_drawn = [], []
    if annotations is not None:
        for row in annotations.itertuples():
            shapes.append(_vline(pd.Timestamp(row.date).timestamp() * 1000, dict(color=NHS_DARK_BLUE, width=1)))
            notes_drawn.append(dict(x=pd.Timestamp(row.date), y=1, yref="paper", text=chart_text(row.note),
                                    showarrow=False, xanchor=_opening(row.date, x_range), yanchor="top",
                                    font=dict(size=13, color=NHS_DARK_BLUE), bgcolor="rgba(255,255,255,0.85)"))
    for first in rebases:
        reason = (rebase_reasons or {}).get(pd.Timestamp(first))
        shapes.append(_vline(pd.Timestamp(first).timestamp() * 1000, dict(color=NHS_TEXT, width=2, dash="dashdot")))
        notes_drawn.append(dict(x=pd.Timestamp(first), y=0, yref="paper", xanchor=_opening(first, x_range),
                                yanchor="bottom", showarrow=False, font=dict(size=12, color=NHS_TEXT),
                                bgcolor="rgba(255,255,255,0.85)",
                                text=chart_text(f"Limits recalculated from {pd.Timestamp(first):%b %Y}"
                                                + (f": {reason}" if reason else ""))))
    if shapes:
        layout.update(shapes=shapes, annotations=notes_drawn)
    notes = []
    if len(hidden):
        data.append(dict(
            type="scatter", x=hidden, y=[0.0] * len(hidden), yaxis="y2", mode="text",
            text=[suppression.MARK] * len(hidden), textposition="top center",
            textfont=dict(size=20, color=NHS_DARK_GREY), name=f"{suppression.MARK} Suppressed (small number)",
            showlegend=False,  # the footnote explains the *; a text trace's legend swatch reads "Aa"
            hovertemplate="%{x|%b %Y}: suppressed (small number)<extra></extra>"))
        layout["yaxis2"] = dict(overlaying="y", range=[0, 1], visible=False, fixedrange=True)
        notes = [suppression.footnote()]
        if reading is None:
            notes.append(f"The process limits and signals use the {len(x)} values shown.")
    if reading is not None:
        notes += detail.chart_notes(reading, measure)
        subtitle = subtitle or detail.method_subtitle(reading, measure)
    for axis in ("yaxis", "yaxis2"):  # as `update_yaxes` writes it, into every y axis drawn
        if axis == "yaxis" or axis in layout:
            _merged(layout, {axis: dict(title=dict(text=axis_title(measure)))})
    latest = max([*x, *hidden]) if len(x) or len(hidden) else None
    if reading is not None and reading.yearly:  # a tick per value, named by the financial year it covers
        years = [detail.period_text(reading, day) for day in x]
        layout["xaxis"] = dict(tickmode="array", tickvals=list(x), ticktext=years)
        latest = f"Data to {detail.period_text(reading, latest)}" if latest is not None else None
    else:
        layout["xaxis"] = dict(tickformat="%b %Y")
    if x_range:
        layout["xaxis"]["range"] = x_range
    # Two notes close together would print over each other: each is moved off the plot's edge past those it meets.
    _fit_chart_notes_in(layout, PRINT_PLOT_PIXELS)
    _titled_layout(layout, f"{measure.label}: {org_name}", subtitle or _spc_subtitle(measure),
                  source or measure.source.publication, latest, [*notes, *caveats])
    return written_figure(data, layout)


def _vline(x: float, line: dict) -> dict:
    """The line `add_vline` draws at `x`, across the whole plot."""
    return dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain", line=line)


def _spc_limit_traces(result: pd.DataFrame, x: pd.Series) -> list[dict]:
    """Mean and process limits, each segment of recalculated limits drawn on its own (no line joins them)."""
    groups = result["rebase_group"].to_numpy() if "rebase_group" in result else np.zeros(len(result), dtype=int)
    traces = []
    for column, name, dash, width in (("upl", "Process limits", "dash", 1.5), ("lpl", None, "dash", 1.5),
                                      ("mean", "Mean", "solid", 2)):
        shown = f"{column}_shown" if f"{column}_shown" in result else column
        for index, group in enumerate(pd.unique(groups)):
            inside = groups == group
            traces.append(dict(
                type="scatter", x=x[inside], y=result[shown][inside], mode="lines", name=name or "Process limits",
                showlegend=name is not None and index == 0,
                line=dict(color=NHS_DARK_GREY if column == "mean" else NHS_MID_GREY, dash=dash, width=width),
                hoverinfo="skip", legendgroup=column if column == "mean" else "limits",
            ))
    return traces


def _interval_points(result: pd.DataFrame, measure: Measure, reading) -> dict:
    """Each value as a point with its 95% interval (where the measure's method gives one); no SPC colours."""
    has_interval = reading is not None and reading.interval_method and "lower_95" in result
    values = result["value"].to_numpy(dtype=float)
    error = None
    if has_interval:
        error = dict(type="data", symmetric=False, array=result["upper_95"].to_numpy(dtype=float) - values,
                     arrayminus=values - result["lower_95"].to_numpy(dtype=float), color=NHS_DARK_GREY,
                     thickness=1.5, width=6)
    label = "Value with 95% interval" if has_interval else "Value"
    return dict(
        type="scatter", x=pd.to_datetime(result["date"]), y=values, mode="markers", name=label, error_y=error,
        marker=dict(color=NHS_BLUE, size=11, line=dict(color="#FFFFFF", width=1)),
        hovertemplate=f"%{{x|%b %Y}}: {_hover_value(measure)}<extra></extra>",
    )


def _spc_subtitle(measure: Measure) -> str:
    direction = {"increase": "higher is better", "decrease": "lower is better",
                 "neutral": "no direction is better"}[measure.improvement_direction]
    return f"XmR chart, NHSRplotthedots rules; {direction}"


def _date_range(days: list) -> list[pd.Timestamp] | None:
    """A date axis reaching every date drawn, with room for a marker at either end."""
    days = [pd.Timestamp(day) for day in days if not pd.isna(day)]
    if not days:
        return None
    first, last = min(days), max(days)
    pad = (last - first) * 0.03 if last > first else pd.Timedelta(days=20)
    return [first - pad, last + pad]


def _opening(day, x_range: list[pd.Timestamp] | None) -> str:
    """Which way a note at `day` opens: away from the nearer edge of the axis, so it runs over the plot, not off it."""
    if not x_range:
        return "left"
    return "right" if pd.Timestamp(day) > x_range[0] + (x_range[1] - x_range[0]) / 2 else "left"
