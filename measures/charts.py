"""Pure Plotly figure builders (DataFrame in, go.Figure out) and the one template every chart uses."""

from __future__ import annotations

import html
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
    from . import detail  # detail has no charts; imported here so that charts stays a leaf for other modules

    if reading is not None:
        suppressed = reading.suppressed
    mode = reading.mode if reading is not None else "spc"
    x = pd.to_datetime(result["date"])
    hidden = pd.Series(pd.to_datetime(list(suppressed))).drop_duplicates()
    fig = go.Figure()
    if mode == "spc":
        _spc_limit_traces(fig, result, x)
    line = pd.DataFrame({"date": x, "value": result["value"].to_numpy(dtype=float)})
    if len(hidden):  # a missing value breaks the line, so no segment is drawn across a suppressed month
        line = pd.concat([line, pd.DataFrame({"date": hidden, "value": np.nan})]).sort_values("date", kind="stable")
    if mode == "spc" or len(line) > 1:
        fig.add_trace(go.Scatter(x=line["date"], y=line["value"], mode="lines",
                                 line=dict(color=NHS_MID_GREY, width=1.5, dash="solid" if mode == "spc" else "dot"),
                                 showlegend=False, hoverinfo="skip", connectgaps=False))
    if mode == "spc":
        for point_type, colour in POINT_COLOURS.items():
            rows = result[result["point_type"] == point_type]
            if rows.empty:
                continue
            fig.add_trace(go.Scatter(
                x=pd.to_datetime(rows["date"]), y=rows["value"], mode="markers", name=POINT_LABELS[point_type],
                marker=dict(color=colour, size=10, line=dict(color="#FFFFFF", width=1)),
                hovertemplate=f"%{{x|%b %Y}}: {_hover_value(measure)}<br>{POINT_LABELS[point_type]}<extra></extra>",
            ))
    else:
        _interval_points(fig, result, measure, reading)
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
    rebases = reading.rebases if reading is not None and mode == "spc" else ()
    for first in rebases:
        reason = (rebase_reasons or {}).get(pd.Timestamp(first))
        fig.add_vline(x=pd.Timestamp(first).timestamp() * 1000, line=dict(color=NHS_TEXT, width=2, dash="dashdot"))
        fig.add_annotation(x=pd.Timestamp(first), y=0, yref="paper", xanchor="left", yanchor="bottom",
                           showarrow=False, font=dict(size=12, color=NHS_TEXT), bgcolor="rgba(255,255,255,0.85)",
                           text=chart_text(f"Limits recalculated from {pd.Timestamp(first):%b %Y}"
                                           + (f": {reason}" if reason else "")))
    notes = []
    if len(hidden):
        fig.add_trace(go.Scatter(
            x=hidden, y=[0.0] * len(hidden), yaxis="y2", mode="text", text=[suppression.MARK] * len(hidden),
            textposition="top center", textfont=dict(size=20, color=NHS_DARK_GREY),
            name=f"{suppression.MARK} Suppressed (small number)",
            showlegend=False,  # the footnote explains the *; a text trace's legend swatch reads "Aa"
            hovertemplate="%{x|%b %Y}: suppressed (small number)<extra></extra>"))
        fig.update_layout(yaxis2=dict(overlaying="y", range=[0, 1], visible=False, fixedrange=True))
        notes = [suppression.footnote()]
        if reading is None:
            notes.append(f"The process limits and signals use the {len(x)} values shown.")
    if reading is not None:
        notes += detail.chart_notes(reading, measure)
        subtitle = subtitle or detail.method_subtitle(reading, measure)
    fig.update_yaxes(title_text=axis_title(measure))
    latest = max([*x, *hidden]) if len(x) or len(hidden) else None
    if reading is not None and reading.yearly:  # a tick per value, named by the financial year it covers
        years = [detail.period_text(reading, day) for day in x]
        fig.update_xaxes(tickmode="array", tickvals=list(x), ticktext=years)
        latest = f"Data to {detail.period_text(reading, latest)}" if latest is not None else None
    else:
        fig.update_xaxes(tickformat="%b %Y")
    return titled(fig, f"{measure.label}: {org_name}", subtitle or _spc_subtitle(measure),
                  source or measure.source.publication, latest, [*notes, *caveats])


def _spc_limit_traces(fig: go.Figure, result: pd.DataFrame, x: pd.Series) -> None:
    """Mean and process limits, each segment of recalculated limits drawn on its own (no line joins them)."""
    groups = result["rebase_group"].to_numpy() if "rebase_group" in result else np.zeros(len(result), dtype=int)
    for column, name, dash, width in (("upl", "Process limits", "dash", 1.5), ("lpl", None, "dash", 1.5),
                                      ("mean", "Mean", "solid", 2)):
        shown = f"{column}_shown" if f"{column}_shown" in result else column
        for index, group in enumerate(pd.unique(groups)):
            inside = groups == group
            fig.add_trace(go.Scatter(
                x=x[inside], y=result[shown][inside], mode="lines", name=name or "Process limits",
                showlegend=name is not None and index == 0,
                line=dict(color=NHS_DARK_GREY if column == "mean" else NHS_MID_GREY, dash=dash, width=width),
                hoverinfo="skip", legendgroup=column if column == "mean" else "limits",
            ))


def _interval_points(fig: go.Figure, result: pd.DataFrame, measure: Measure, reading) -> None:
    """Each value as a point with its 95% interval (where the measure's method gives one); no SPC colours."""
    has_interval = reading is not None and reading.interval_method and "lower_95" in result
    values = result["value"].to_numpy(dtype=float)
    error = None
    if has_interval:
        error = dict(type="data", symmetric=False, array=result["upper_95"].to_numpy(dtype=float) - values,
                     arrayminus=values - result["lower_95"].to_numpy(dtype=float), color=NHS_DARK_GREY,
                     thickness=1.5, width=6)
    label = "Value with 95% interval" if has_interval else "Value"
    fig.add_trace(go.Scatter(
        x=pd.to_datetime(result["date"]), y=values, mode="markers", name=label, error_y=error,
        marker=dict(color=NHS_BLUE, size=11, line=dict(color="#FFFFFF", width=1)),
        hovertemplate=f"%{{x|%b %Y}}: {_hover_value(measure)}<extra></extra>",
    ))


def _spc_subtitle(measure: Measure) -> str:
    direction = {"increase": "higher is better", "decrease": "lower is better",
                 "neutral": "no direction is better"}[measure.improvement_direction]
    return f"XmR chart, NHSRplotthedots rules; {direction}"


NAMED_BARS_MAX = 60
# The narrowest chart the page draws (a 390 px phone, less the page's padding): titles, legends and footnotes
# are laid out to fit it, so nothing is clipped or overprinted on any screen.
NARROWEST_LEGEND_PIXELS = 240  # the plot area's width there, within which a horizontal legend wraps
# Footnote lines wrap at 64 characters; the suppression footnote (73) stays whole, as it reads everywhere else.
_WRAP = {"title": 30, "subtitle": 46, "note": 64, "axis": 34}  # characters a line at that width, by font size
FOOTNOTE_SHIFT_PIXELS = -68  # from the plot's left edge (about 72 px in) to the figure's, so a line has room
FOOTNOTE_FONT_PIXELS = 10.5  # the suppression footnote, kept whole, then fits a phone
NOT_COMPARED_COLOUR = "#8A9BB0"


def _wrapped(text: str, width: int) -> list[str]:
    """Plain text in lines of at most `width` characters, broken first where the sentence breaks."""
    import textwrap

    lines = []
    for part in str(text).split("\n"):
        lines += textwrap.wrap(part, width, break_long_words=True, break_on_hyphens=False) or [""]
    return lines


def _fit_to_narrow_screens(fig: go.Figure, title: str, subtitle: str, footnote_lines: Sequence[str],
                           legend_labels: Sequence[str], axis_title_lines: int = 1,
                           footnote_shift: float = FOOTNOTE_SHIFT_PIXELS) -> go.Figure:
    """Re-lay a `titled` figure so its title, subtitle, legend and footnote fit the narrowest chart.

    Title and subtitle wrap onto more lines (the plot moves down); the footnote wraps and sits below as many
    legend rows as the legend needs at that width. The plot area keeps its size, so axes read the same.
    """
    title_lines = _wrapped(title, _WRAP["title"])
    subtitle_lines = _wrapped(subtitle, _WRAP["subtitle"])
    whole = suppression.footnote()
    note_lines = [line for note in footnote_lines
                  for line in ([note] if note == whole else _wrapped(note, _WRAP["note"]))]
    row, rows = 0, 1
    for label in legend_labels:  # 14 px text: a swatch and gap of 40 px, about 7.7 px a character
        width = 40 + 7.7 * len(label)
        if row and row + width > NARROWEST_LEGEND_PIXELS:
            rows, row = rows + 1, 0
        row += width
    height = fig.layout.height or pio.templates[TEMPLATE_NAME].layout.height
    margin = fig.layout.margin
    top = 95 + 27 * (len(title_lines) - 1) + 19 * (len(subtitle_lines) - 1)
    plot_pixels = max(height - (margin.t or 95) - (margin.b or FOOTER_PIXELS), 100)
    legend_offset = LEGEND_OFFSET_PIXELS + 19 * (axis_title_lines - 1)
    footnote_offset = legend_offset + 31 * rows + 8  # a legend row is about 31 px apart in the browser
    bottom = footnote_offset + 13 * len(note_lines) + 12
    fig.update_layout(
        height=plot_pixels + top + bottom, margin=dict(t=top, b=bottom),
        # Plotly anchors a title of several lines a little too high; the offset keeps its first line on the page.
        title=dict(text="<br>".join(chart_text(line) for line in title_lines), yref="container", yanchor="top",
                   y=1 - (4 + 9 * (len(title_lines) - 1)) / (plot_pixels + top + bottom), pad=dict(t=12, l=6),
                   subtitle=dict(text="<br>".join(chart_text(line) for line in subtitle_lines))),
        legend=dict(y=-legend_offset / plot_pixels))
    footnote = [a for a in fig.layout.annotations if a.yref == "paper" and a.y is not None and a.y < 0
                and str(a.text).startswith("Source:")]
    for annotation in footnote:
        annotation.update(text="<br>".join(chart_text(line) for line in note_lines), y=-footnote_offset / plot_pixels,
                          xshift=footnote_shift, font=dict(size=FOOTNOTE_FONT_PIXELS))
    return fig


def for_screens(fig: go.Figure) -> go.Figure:
    """A copy of a `titled` figure laid out for every screen down to a phone's, as the compare charts are.

    Title, subtitle, footnote and legend are read back from the figure and re-laid by `_fit_to_narrow_screens`.
    The figure itself is left as it was, one line of title, for downloads: their print size and file name.
    """
    shown = go.Figure(fig)
    footnotes = [a for a in shown.layout.annotations if a.yref == "paper" and a.y is not None and a.y < 0
                 and str(a.text).startswith("Source:")]
    footnote_lines = [html.unescape(line) for a in footnotes for line in str(a.text).split("<br>")]
    legend = [html.unescape(t.name) for t in shown.data if t.showlegend is not False and t.name]
    return _fit_to_narrow_screens(shown, html.unescape(shown.layout.title.text or ""),
                                  html.unescape(shown.layout.title.subtitle.text or ""), footnote_lines, legend)


def _legend_line(label: str, dash: str, width: float = 2) -> go.Scatter:
    """A legend entry for a reference line drawn with add_hline / add_vline (which have none of their own)."""
    return go.Scatter(x=[None], y=[None], mode="lines", name=chart_text(label), hoverinfo="skip",
                      line=dict(color=NHS_TEXT, dash=dash, width=width))


def _natural_range(measure: Measure, values: Sequence[float]) -> list[float] | None:
    """An axis range from 0 that stops at the measure's natural top (100 for a percentage) unless a value is above."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    top = max(finite, default=0.0)
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
    frame = frame.sort_values("value", ascending=True, na_position="first").reset_index(drop=True)
    fig = go.Figure()
    groups = BENCHMARK_COLOURS.items() if intervals else [("__all__", NOT_COMPARED_COLOUR)]
    for outcome, colour in groups:
        rows = frame[frame["benchmark"] == outcome] if intervals else frame[frame["value"].notna()]
        if rows.empty:
            continue
        bar = dict(
            x=rows["value"], y=rows["org"].map(chart_text), orientation="h",
            name=BENCHMARK_LABELS[outcome] if intervals else "Not compared (no interval applies)",
            showlegend=intervals,
            marker=dict(color=colour, line=dict(color=[NHS_TEXT if o == highlight else NHS_MID_GREY for o in rows["org"]],
                                                width=[3 if o == highlight else 0.5 for o in rows["org"]])),
        )
        value_text = f"{hover_text(measure.label)}: %{{x:,.{measure.decimals}f}}"
        if intervals:
            bar.update(
                error_x=dict(type="data", symmetric=False, array=rows["upper_95"] - rows["value"],
                             arrayminus=rows["value"] - rows["lower_95"], color=NHS_DARK_GREY, thickness=1.2, width=3),
                customdata=np.stack([rows["name"].map(chart_text), rows["lower_95"], rows["upper_95"]], axis=-1),
                hovertemplate=(f"%{{customdata[0]}} (%{{y}})<br>{value_text}"
                               f"<br>95% CI %{{customdata[1]:,.{measure.decimals}f}} to "
                               f"%{{customdata[2]:,.{measure.decimals}f}}<extra></extra>"))
        else:
            bar.update(customdata=rows["name"].map(chart_text),
                       hovertemplate=f"%{{customdata}} (%{{y}})<br>{value_text}<extra></extra>")
        fig.add_trace(go.Bar(**bar))
    hidden = _suppressed_rows(frame)
    if not hidden.empty:  # no bar to draw: a * at zero says the PCN is there and why it has no bar
        fig.add_trace(go.Scatter(
            x=[0] * len(hidden), y=hidden["org"].map(chart_text), mode="text", text=[suppression.MARK] * len(hidden),
            textposition="middle right", textfont=dict(size=16, color=NHS_DARK_GREY),
            name=f"{suppression.MARK} Suppressed (small number)", customdata=hidden["name"].map(chart_text),
            showlegend=False,
            hovertemplate="%{customdata} (%{y}): suppressed (small number)<extra></extra>"))
    reach = [*frame["value"], *(frame["upper_95"] if intervals and "upper_95" in frame else []),
             comparator_value if comparator_value is not None else np.nan]
    x_range = _natural_range(measure, reach)
    if comparator_value is not None:
        # Named in the legend, which wraps on a narrow screen, rather than beside the line, where a long ICB
        # name would run off the edge or over the bars.
        fig.add_vline(x=comparator_value, line=dict(color=NHS_TEXT, dash="dash", width=2))
        fig.add_trace(_legend_line(f"{comparator_label} {measure.format_value(comparator_value)}", "dash"))
    many = len(frame) > NAMED_BARS_MAX
    fig.update_layout(barmode="overlay", height=760 if many else max(420, 22 * len(frame) + 260),
                      bargap=0.0 if many else 0.25)
    # Past a few dozen PCNs names cannot be read: draw a caterpillar chart and leave names to the hover.
    # Keyed by code (names repeat across England), labelled by name.
    codes = frame["org"].map(chart_text).tolist()
    fig.update_yaxes(categoryorder="array", categoryarray=codes, tickmode="array",
                     tickvals=codes, ticktext=frame["name"].map(chart_text).tolist(), tickfont=dict(size=12),
                     showticklabels=not many, title_text=f"{len(frame):,} PCNs, ranked" if many else None)
    fig.update_xaxes(title_text=axis_title(measure), range=x_range)
    title = f"{measure.label}: {area_label}, {pd.Timestamp(period):%b %Y}"
    subtitle = f"{interval_text or 'Ranked, with 95% confidence intervals'}; compared with {comparator_label}"
    footnotes = [*_suppression_notes(hidden), *notes]
    fig = titled(fig, title, subtitle, source or measure.source.publication, period, footnotes)
    labels = [t.name for t in fig.data if t.showlegend is not False and t.name]
    # The PCN names push the plot right; the footnote starts back near the figure's edge (12 px names, ~5.8 px a
    # character, plus the ticks).
    names = 0 if many or frame.empty else min(int(frame["name"].astype(str).str.len().max()), 45)
    plot_left = max(72.0, 5.8 * names + 26)
    return _fit_to_narrow_screens(fig, title, subtitle, _footnote_lines(source or measure.source.publication, period,
                                                                        footnotes), labels,
                                  footnote_shift=4 - plot_left)


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
    from . import compare

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
    chosen = frame[(frame["org"] == highlight) & frame["value"].notna() & (outcome != "")]  # a suppressed PCN is not plotted
    if not chosen.empty:
        row = chosen.iloc[0]
        # The label opens away from the nearer edge and is drawn past the plot's clip, so it is never cut off.
        side = "left" if row["denominator"] > top * 0.6 else "right" if row["denominator"] < top * 0.25 else "center"
        fig.add_trace(go.Scatter(x=[row["denominator"]], y=[row["value"]], mode="markers+text",
                                 name=chart_text(row["name"]), text=[chart_text(row["name"])],
                                 textposition=f"top {side}", cliponaxis=False, showlegend=False,
                                 textfont=dict(size=14, color=NHS_TEXT),
                                 marker=dict(symbol="diamond", size=17, color="rgba(0,0,0,0)",
                                             line=dict(color=NHS_TEXT, width=3)),
                                 hoverinfo="skip"))
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
    return _fit_to_narrow_screens(fig, title, subtitle, _footnote_lines(source or measure.source.publication, period,
                                                                        footnotes), legend, len(x_title))


def _suppressed_rows(frame: pd.DataFrame) -> pd.DataFrame:
    if suppression.FLAG not in frame:
        return frame.iloc[:0]
    return frame[frame[suppression.FLAG].fillna(False).astype(bool)]


def _suppression_notes(hidden: pd.DataFrame) -> list[str]:
    """The footnote lines of a chart of PCNs some of whose values are suppressed (empty when none are)."""
    if hidden.empty:
        return []
    return [suppression.footnote(), "Averages pool the values shown."]
