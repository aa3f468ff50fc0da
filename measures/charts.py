"""Pure Plotly figure builders (DataFrame in, go.Figure out) and the one template every chart uses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from . import suppression
from .catalogue import Measure

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
    footnote = f"Source: {source}"
    if data_date:
        footnote += f" · Data to {pd.Timestamp(data_date):%b %Y}" if not isinstance(data_date, str) else f" · {data_date}"
    notes = [note for note in notes if note]
    footnote = "<br>".join(chart_text(line) for line in [footnote, *notes])
    fig.update_layout(template=TEMPLATE_NAME,
                      title=dict(text=chart_text(title), subtitle=dict(text=chart_text(subtitle or ""))))
    # Paper coordinates scale with the plot area, so place the legend and footnote from the pixel height.
    height = fig.layout.height or pio.templates[TEMPLATE_NAME].layout.height
    plot_pixels = max(height - 95 - FOOTER_PIXELS, 100)
    if notes:
        extra = NOTE_LINE_PIXELS * len(notes)
        fig.update_layout(height=height + extra, margin=dict(b=FOOTER_PIXELS + extra))
    fig.update_layout(legend=dict(y=-LEGEND_OFFSET_PIXELS / plot_pixels))
    fig.add_annotation(text=footnote, xref="paper", yref="paper", x=0, y=-FOOTNOTE_OFFSET_PIXELS / plot_pixels,
                       xanchor="left", yanchor="top", showarrow=False, align="left",
                       font=dict(size=12, color=NHS_DARK_GREY))
    return fig


def _hover_value(measure: Measure) -> str:
    suffix = "%" if measure.unit == "%" else ""
    return f"%{{y:,.{measure.decimals}f}}{suffix}"


def spc_chart(result: pd.DataFrame, measure: Measure, org_name: str, *, source: str | None = None,
              annotations: pd.DataFrame | None = None, goal_lines: pd.DataFrame | None = None,
              subtitle: str | None = None, suppressed: Sequence = ()) -> go.Figure:
    """A Making Data Count XmR chart from `stats.spc` output (date, value, mean, limits, point_type).

    `goal_lines` has columns start, end, value, label (targets or IIF thresholds by year);
    `annotations` has columns date and note; `suppressed` lists the dates of values suppressed as small
    numbers: the line breaks there, a * marks each, and the footnote says the limits use the values shown.
    """
    x = pd.to_datetime(result["date"])
    hidden = pd.Series(pd.to_datetime(list(suppressed))).drop_duplicates()
    fig = go.Figure()
    for column, name, dash, width in (("upl", "Process limits", "dash", 1.5), ("lpl", None, "dash", 1.5),
                                      ("mean", "Mean", "solid", 2)):
        fig.add_trace(go.Scatter(
            x=x, y=result[column], mode="lines", name=name or "Process limits", showlegend=name is not None,
            line=dict(color=NHS_DARK_GREY if column == "mean" else NHS_MID_GREY, dash=dash, width=width),
            hoverinfo="skip", legendgroup=column if column == "mean" else "limits",
        ))
    line = pd.DataFrame({"date": x, "value": result["value"].to_numpy(dtype=float)})
    if len(hidden):  # a missing value breaks the line, so no segment is drawn across a suppressed month
        line = pd.concat([line, pd.DataFrame({"date": hidden, "value": np.nan})]).sort_values("date", kind="stable")
    fig.add_trace(go.Scatter(x=line["date"], y=line["value"], mode="lines", line=dict(color=NHS_MID_GREY, width=1.5),
                             showlegend=False, hoverinfo="skip", connectgaps=False))
    for point_type, colour in POINT_COLOURS.items():
        rows = result[result["point_type"] == point_type]
        if rows.empty:
            continue
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(rows["date"]), y=rows["value"], mode="markers", name=POINT_LABELS[point_type],
            marker=dict(color=colour, size=10, line=dict(color="#FFFFFF", width=1)),
            hovertemplate=f"%{{x|%b %Y}}: {_hover_value(measure)}<br>{POINT_LABELS[point_type]}<extra></extra>",
        ))
    if goal_lines is not None:
        for row in goal_lines.itertuples():
            fig.add_trace(go.Scatter(
                x=[row.start, row.end], y=[row.value, row.value], mode="lines", name=chart_text(row.label),
                line=dict(color=NHS_DARK_BLUE, dash="dot", width=2.5), legendgroup=chart_text(row.label),
                showlegend=chart_text(row.label) not in {t.name for t in fig.data},
                hovertemplate=f"{hover_text(row.label)}: %{{y}}<extra></extra>",
            ))

    if annotations is not None:
        for row in annotations.itertuples():
            fig.add_vline(x=pd.Timestamp(row.date).timestamp() * 1000, line=dict(color=NHS_DARK_BLUE, width=1))
            fig.add_annotation(x=pd.Timestamp(row.date), y=1, yref="paper", text=chart_text(row.note), showarrow=False,
                               xanchor="left", yanchor="top", font=dict(size=13, color=NHS_DARK_BLUE),
                               bgcolor="rgba(255,255,255,0.85)")
    notes = []
    if len(hidden):
        fig.add_trace(go.Scatter(
            x=hidden, y=[0.0] * len(hidden), yaxis="y2", mode="text", text=[suppression.MARK] * len(hidden),
            textposition="top center", textfont=dict(size=20, color=NHS_DARK_GREY),
            name=f"{suppression.MARK} Suppressed (small number)",
            showlegend=False,  # the footnote explains the *; a text trace's legend swatch reads "Aa"
            hovertemplate="%{x|%b %Y}: suppressed (small number)<extra></extra>"))
        fig.update_layout(yaxis2=dict(overlaying="y", range=[0, 1], visible=False, fixedrange=True))
        notes = [suppression.footnote(), f"The process limits and signals use the {len(x)} values shown."]
    fig.update_yaxes(title_text=axis_title(measure))
    fig.update_xaxes(tickformat="%b %Y")
    latest = max([*x, *hidden]) if len(x) or len(hidden) else None
    return titled(fig, f"{measure.label}: {org_name}", subtitle or _spc_subtitle(measure),
                  source or measure.source.publication, latest, notes)


def _spc_subtitle(measure: Measure) -> str:
    direction = {"increase": "higher is better", "decrease": "lower is better",
                 "neutral": "no direction is better"}[measure.improvement_direction]
    return f"XmR chart, Making Data Count rules; {direction}"


NAMED_BARS_MAX = 60


def ranked_bar(frame: pd.DataFrame, measure: Measure, *, highlight: str | None, comparator_label: str,
               comparator_value: float | None, period: date, area_label: str, source: str | None = None) -> go.Figure:
    """Organisations ranked by value with 95% intervals, coloured by comparison with the comparator.

    `frame` has org, name, value, lower_95, upper_95, benchmark.
    """
    frame = frame.sort_values("value", ascending=True, na_position="first").reset_index(drop=True)
    fig = go.Figure()
    for outcome, colour in BENCHMARK_COLOURS.items():
        rows = frame[frame["benchmark"] == outcome]
        if rows.empty:
            continue
        fig.add_trace(go.Bar(
            x=rows["value"], y=rows["org"].map(chart_text), orientation="h", name=BENCHMARK_LABELS[outcome],
            marker=dict(color=colour, line=dict(color=[NHS_TEXT if o == highlight else NHS_MID_GREY for o in rows["org"]],
                                                width=[3 if o == highlight else 0.5 for o in rows["org"]])),
            error_x=dict(type="data", symmetric=False, array=rows["upper_95"] - rows["value"],
                         arrayminus=rows["value"] - rows["lower_95"], color=NHS_DARK_GREY, thickness=1.2, width=3),
            customdata=np.stack([rows["name"].map(chart_text), rows["lower_95"], rows["upper_95"]], axis=-1),
            hovertemplate=(f"%{{customdata[0]}} (%{{y}})<br>{hover_text(measure.label)}: %{{x:,.{measure.decimals}f}}"
                           f"<br>95% CI %{{customdata[1]:,.{measure.decimals}f}} to %{{customdata[2]:,.{measure.decimals}f}}"
                           "<extra></extra>"),
        ))
    hidden = _suppressed_rows(frame)
    if not hidden.empty:  # no bar to draw: a * at zero says the PCN is there and why it has no bar
        fig.add_trace(go.Scatter(
            x=[0] * len(hidden), y=hidden["org"].map(chart_text), mode="text", text=[suppression.MARK] * len(hidden),
            textposition="middle right", textfont=dict(size=16, color=NHS_DARK_GREY),
            name=f"{suppression.MARK} Suppressed (small number)", customdata=hidden["name"].map(chart_text),
            showlegend=False,
            hovertemplate="%{customdata} (%{y}): suppressed (small number)<extra></extra>"))
    if comparator_value is not None:
        fig.add_vline(x=comparator_value, line=dict(color=NHS_TEXT, dash="dash", width=2))
        fig.add_annotation(x=comparator_value, y=1, yref="paper", yanchor="bottom", showarrow=False,
                           text=chart_text(f"{comparator_label} {measure.format_value(comparator_value)}"),
                           font=dict(size=13))
    many = len(frame) > NAMED_BARS_MAX
    fig.update_layout(barmode="overlay", height=760 if many else max(420, 22 * len(frame) + 260),
                      bargap=0.0 if many else 0.25)
    # Past a few dozen PCNs names cannot be read: draw a caterpillar chart and leave names to the hover.
    # Keyed by code (names repeat across England), labelled by name.
    codes = frame["org"].map(chart_text).tolist()
    fig.update_yaxes(categoryorder="array", categoryarray=codes, tickmode="array",
                     tickvals=codes, ticktext=frame["name"].map(chart_text).tolist(), tickfont=dict(size=12),
                     showticklabels=not many, title_text=f"{len(frame):,} PCNs, ranked" if many else None)
    fig.update_xaxes(title_text=axis_title(measure))
    return titled(fig, f"{measure.label}: {area_label}, {pd.Timestamp(period):%b %Y}",
                  f"Ranked, with 95% confidence intervals; compared with {comparator_label}",
                  source or measure.source.publication, period, _suppression_notes(hidden))


def funnel_plot(frame: pd.DataFrame, limits: pd.DataFrame, measure: Measure, *, highlight: str | None,
                comparator_label: str, comparator_value: float, period: date, area_label: str,
                source: str | None = None) -> go.Figure:
    """Value against denominator with 95% and 99.8% control limits around the comparator.

    `frame` has org, name, value, denominator, benchmark; `limits` has denominator and
    lower_95, upper_95, lower_998, upper_998.
    """
    fig = go.Figure()
    for column, name, dash in (("upper_998", "99.8% limits", "dash"), ("lower_998", None, "dash"),
                               ("upper_95", "95% limits", "dot"), ("lower_95", None, "dot")):
        fig.add_trace(go.Scatter(x=limits["denominator"], y=limits[column], mode="lines", name=name or "",
                                 showlegend=name is not None, legendgroup=column[-3:],
                                 line=dict(color=NHS_DARK_GREY, dash=dash, width=1.5), hoverinfo="skip"))
    fig.add_hline(y=comparator_value, line=dict(color=NHS_TEXT, width=1.5))
    fig.add_annotation(x=1, xref="paper", y=comparator_value, xanchor="right", yanchor="bottom", showarrow=False,
                       text=chart_text(f"{comparator_label} {measure.format_value(comparator_value)}"),
                       font=dict(size=13))
    for outcome, colour in BENCHMARK_COLOURS.items():
        rows = frame[frame["benchmark"] == outcome]
        if rows.empty:
            continue
        fig.add_trace(go.Scatter(
            x=rows["denominator"], y=rows["value"], mode="markers", name=BENCHMARK_LABELS[outcome],
            marker=dict(color=colour, size=11, line=dict(color=NHS_DARK_GREY, width=1)),
            customdata=np.stack([rows["name"].map(chart_text), rows["org"].map(chart_text)], axis=-1),
            hovertemplate=(f"%{{customdata[0]}} (%{{customdata[1]}})<br>{hover_text(measure.label)}: "
                           f"%{{y:,.{measure.decimals}f}}<br>Denominator: %{{x:,.0f}}<extra></extra>"),
        ))
    chosen = frame[(frame["org"] == highlight) & frame["value"].notna()]  # a suppressed PCN is not plotted
    if not chosen.empty:
        row = chosen.iloc[0]
        fig.add_trace(go.Scatter(x=[row["denominator"]], y=[row["value"]], mode="markers+text",
                                 name=chart_text(row["name"]), text=[chart_text(row["name"])],
                                 textposition="top center",
                                 marker=dict(symbol="diamond", size=17, color="rgba(0,0,0,0)",
                                             line=dict(color=NHS_TEXT, width=3)),
                                 hoverinfo="skip"))
    fig.update_xaxes(title_text=chart_text(measure.denominator.definition) if measure.denominator else "Denominator",
                     rangemode="tozero")
    fig.update_yaxes(title_text=axis_title(measure))
    hidden = _suppressed_rows(frame)
    notes = _suppression_notes(hidden)
    if notes:
        notes[-1] = f"{len(hidden)} suppressed PCN{' is' if len(hidden) == 1 else 's are'} not plotted. " + notes[-1]
    return titled(fig, f"{measure.label}: funnel plot, {area_label}, {pd.Timestamp(period):%b %Y}",
                  "Each point is a PCN; points outside the limits differ from the comparator by more than chance",
                  source or measure.source.publication, period, notes)


def _suppressed_rows(frame: pd.DataFrame) -> pd.DataFrame:
    if suppression.FLAG not in frame:
        return frame.iloc[:0]
    return frame[frame[suppression.FLAG].fillna(False).astype(bool)]


def _suppression_notes(hidden: pd.DataFrame) -> list[str]:
    """The footnote lines of a chart of PCNs some of whose values are suppressed (empty when none are)."""
    if hidden.empty:
        return []
    return [suppression.footnote(), "Averages pool the values shown."]
