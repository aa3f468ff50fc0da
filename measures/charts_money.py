"""The money view's chart: an IIF indicator's year to date against its thresholds and the path to the upper one."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .charts import NHS_BLUE, NHS_DARK_GREY, NHS_MID_GREY, for_screens, titled
from .contract.money import IndicatorMoney, trajectory


def trajectory_chart(item: IndicatorMoney, history: pd.DataFrame, pcn_name: str, *,
                     source: str = "Network Contract DES (MI), NHS England") -> go.Figure:
    """Achievement month by month this financial year (`history`: period_end, numerator, denominator of the PCN),
    the lower and upper thresholds as lines, and the straight path from the latest month to the upper threshold
    by 31 March, laid out for every screen down to a phone's. Pure: a DataFrame in, a figure out."""
    fig = go.Figure()
    rows = history.dropna(subset=["numerator", "denominator"])
    rows = rows[rows["denominator"] > 0].sort_values("period_end")
    if not rows.empty:
        fig.add_trace(go.Scatter(x=pd.to_datetime(rows["period_end"]), y=rows["numerator"] / rows["denominator"] * 100,
                                 mode="lines+markers", name="Achievement, year to date",
                                 line=dict(color=NHS_BLUE, width=3), marker=dict(size=8)))
    path = trajectory(item)
    if not path.empty and item.ach_date is not None and item.achievement is not None:
        xs = [pd.Timestamp(item.ach_date), *pd.to_datetime(path["month_end"])]
        ys = [item.achievement * 100, *(path["needed"] * 100)]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="Path to the upper threshold by 31 March",
                                 line=dict(color=NHS_DARK_GREY, width=2, dash="dot")))
    for value, label in ((item.lower, "Lower threshold"), (item.upper, "Upper threshold")):
        if value is not None:
            fig.add_hline(y=value, line=dict(color=NHS_MID_GREY, width=1.5, dash="dash"),
                          annotation_text=f"{label} {value:g}%", annotation_position="top left",
                          annotation_font=dict(color=NHS_DARK_GREY))
    fig.update_yaxes(title_text="% of the denominator", range=[0, 100], ticksuffix="%")
    fig.update_layout(showlegend=True, legend=dict(orientation="h", x=0, xanchor="left"))
    per_month = int(path["patients_per_month"].iloc[0]) if not path.empty else None
    subtitle = (f"{item.year}, year to date from 1 April. Straight-line path: about {per_month:,} more patients a "
                "month at today's denominator" if per_month else f"{item.year}, year to date from 1 April")
    # Laid out for every screen down to a phone's, as the compare charts are: the footnote wraps to fit a column.
    return for_screens(titled(fig, f"{item.indicator} achievement: {pcn_name}", subtitle, source, item.ach_date,
                              notes=["Method: numerator ÷ denominator; thresholds from the year's contract rules"]))
