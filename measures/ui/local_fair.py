"""The Local measures page's Fair share tab: the span picked, and the table beside the chart."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from ..catalogue import Measure
from ..text import escape_markdown as plain
from .downloads import download_table
from .local_page import LocalPage, month_text
from .widgets import empty_state, table


def pick_span(page: LocalPage, measure: Measure, period: date) -> tuple[date, date] | None:
    """The months to share over, ending at the period picked; None (said why) for a measure with no fair share."""
    if not (measure.fair_share and measure.level == "practice"):
        fair = [m.label for m in page.measures if m.fair_share and m.level == "practice"]
        empty_state(f"{plain(measure.label)} has no fair share (the `fair_share` field). "
                    + (f"Pick one that has, above: {plain(', '.join(fair))}." if fair else
                       "No practice-support measure here has one."))
        return None
    span = st.segmented_control("Over", [12, 6, 3, 1], default=12, key="fair_span",
                                format_func=lambda n: "the month" if n == 1 else f"{n} months") or 12
    return (pd.Timestamp(period) - pd.DateOffset(months=span - 1)).date(), period


def period_text(shares: pd.DataFrame) -> str:
    first, last = shares["first_period"].min(), shares["last_period"].max()
    return month_text(first) if first == last else f"{month_text(first)} to {month_text(last)}"


def show_table(page: LocalPage, measure: Measure, shares: pd.DataFrame) -> None:
    fair_table = pd.DataFrame({
        "Practice": shares["org_name"] + " (" + shares["org_code"] + ")",
        "Share of resource": (shares["resource_share"] * 100).round(1),
        "Fair share": (shares["population_share"] * 100).round(1),
        "Gap (points)": shares["gap_points"].round(1),
        "Months": shares["periods"],
        "suppressed": shares["suppressed"],  # Shown as *, with the footnote
    })
    table(fair_table, key="fair_table", formats=dict.fromkeys(["Share of resource", "Fair share", "Gap (points)"],
                                                              "{:.1f}"))
    download_table(fair_table, f"{measure.id} fair share {page.code} {period_text(shares)}", key="fair_share_table")
