"""The fair-share chart: each practice's share of a PCN resource beside its share of the PCN's population."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import suppression
from .charts import NHS_BLUE, NHS_DARK_GREY, NHS_MID_GREY, NHS_PALE_GREY, NHS_TEXT, chart_text, titled

RESOURCE_COLOUR = NHS_BLUE  # bars: share of the resource
POPULATION_COLOUR = NHS_TEXT  # markers: fair share, near-black on blue; a different shape, not only a colour
POPULATION_BASIS = {"weighted_population": "weighted population", "registered_population": "registered patients"}


def fair_share_figure(frame: pd.DataFrame, *, measure_label: str, population: str, pcn_name: str,
                      period_text: str, source: str) -> go.Figure:
    """Horizontal bars of each practice's share of the resource, a marker at its fair share, the gap labelled.

    `frame` has org_name, org_code, resource_share and population_share (fractions that each sum to 1),
    as `measures.local.fair_share` returns. Practices are sorted from most above to most below their fair
    share; the label beside each bar says by how many percentage points. A practice whose share is suppressed
    as a small number (`suppressed`, shares missing) keeps its fair-share marker, labelled `* suppressed`.
    """
    frame = frame.copy()
    frame["gap_points"] = (frame["resource_share"] - frame["population_share"]) * 100
    frame = frame.sort_values(["gap_points", "org_name"], ascending=[True, False]).reset_index(drop=True)
    # The labels are the axis categories and its tick text, so they are escaped as chart text once, here.
    frame["label"] = [chart_text(f"{name} ({code})") for name, code in zip(frame["org_name"], frame["org_code"])]
    resource_pct = frame["resource_share"] * 100
    population_pct = frame["population_share"] * 100

    fig = go.Figure()
    fig.add_trace(go.Bar(
        x=resource_pct, y=frame["label"], orientation="h", name="Share of the PCN's total",
        marker=dict(color=RESOURCE_COLOUR), width=0.6,
        hovertemplate="%{y}<br>Share of the PCN's total: %{x:.1f}%<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=population_pct, y=frame["label"], mode="markers", name=f"Fair share ({chart_text(population)})",
        marker=dict(symbol="diamond", size=16, color=POPULATION_COLOUR, line=dict(color="#FFFFFF", width=1.5)),
        hovertemplate="%{y}<br>Fair share: %{x:.1f}%<extra></extra>",
    ))
    # Dotted line from bar end to fair share, so the eye reads the gap as a distance.
    for row, resource_value, population_value in zip(frame["label"], resource_pct, population_pct):
        if np.isnan(resource_value):
            continue
        fig.add_shape(type="line", x0=resource_value, x1=population_value, y0=row, y1=row, xref="x", yref="y",
                      line=dict(color=NHS_MID_GREY, width=1.5, dash="dot"), layer="below")
    right = float(np.nanmax(np.r_[resource_pct, population_pct, 1])) if len(frame) else 1.0
    for row, gap, resource_value, population_value in zip(frame["label"], frame["gap_points"], resource_pct,
                                                          population_pct):
        if np.isnan(gap):  # suppressed: the share of a small number would give the number away
            text, resource_value = f"{suppression.MARK} suppressed", population_value
        else:
            text = "at fair share" if abs(gap) < 0.05 else f"{abs(gap):.1f} pts {'above' if gap > 0 else 'below'}"
        fig.add_annotation(x=max(resource_value, population_value), y=row, text=text, showarrow=False,
                           xanchor="left", xshift=14, font=dict(size=13, color=NHS_DARK_GREY))
    fig.update_layout(barmode="overlay", height=max(420, 46 * len(frame) + 260), bargap=0.35,
                      margin=dict(r=150), hovermode="closest")
    fig.update_xaxes(title_text="Share of the PCN total (%)", ticksuffix="%", range=[0, right * 1.25],
                     showgrid=True, gridcolor=NHS_PALE_GREY)
    fig.update_yaxes(categoryorder="array", categoryarray=frame["label"].tolist(), gridcolor="rgba(0,0,0,0)",
                     tickfont=dict(size=13))
    title = f"{measure_label}: where it went, practice by practice"
    subtitle = (f"{pcn_name}, {period_text}. Bars: each practice's share of the PCN's total; "
                f"diamonds: its fair share, by {population}")
    notes = [suppression.footnote()] if suppression.FLAG in frame and frame[suppression.FLAG].any() else []
    return titled(fig, title, subtitle, source, None, notes)
