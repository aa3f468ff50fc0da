"""Chart footnotes start inside the figure on every chart, and a comparator's label reads as it is used."""

from __future__ import annotations

import html
import io
from datetime import date

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest

from measures import charts, detail, suppression
from measures.catalogue import default_catalogue
from tests import apptest

PERIOD = date(2026, 9, 1)
LEFT_MARGIN = pio.templates[charts.TEMPLATE_NAME].layout.margin.l  # automargin only ever widens it


def ranked_frame(names: list[str], suppressed_last: bool = True) -> pd.DataFrame:
    """Areas named `names`, the last suppressed (as the demo's Riverside neighbourhood is)."""
    count = len(names)
    frame = pd.DataFrame({"org": [f"Q{n:03d}" for n in range(count)], "name": names,
                          "value": np.linspace(40.0, 90.0, count), "benchmark": "similar"})
    frame["lower_95"], frame["upper_95"] = frame["value"] - 8, frame["value"] + 8
    frame[suppression.FLAG] = [suppressed_last and n == count - 1 for n in range(count)]
    frame.loc[frame[suppression.FLAG], ["value", "lower_95", "upper_95"]] = np.nan
    frame.loc[frame[suppression.FLAG], "benchmark"] = "suppressed"
    return frame


def ranked(names, measure_id="acc_08_monthly", **options):
    measure = default_catalogue().get(measure_id)
    options = {"highlight": None, "comparator_label": "NHS Synthetic Valley ICB average", "comparator_value": 60.0,
               "period": PERIOD, "area_label": "Neighbourhoods of NHS Synthetic Valley ICB"} | options
    return charts.ranked_bar(ranked_frame(names), measure, **options)


def funnel():
    from measures import compare

    measure = default_catalogue().get("acc_08_monthly")
    frame = pd.DataFrame({"org": [f"U{n}" for n in range(12)], "name": [f"PCN {n}" for n in range(12)],
                          "denominator": np.linspace(2_000, 30_000, 12)})
    frame["numerator"] = (frame["denominator"] * np.linspace(0.55, 0.85, 12)).round()
    frame["value"] = frame["numerator"] / frame["denominator"] * 100
    limits = compare.funnel(frame, measure)
    return charts.funnel_plot(frame, limits, measure, highlight="U3", comparator_label="ICB average",
                              comparator_value=70.0, period=PERIOD, area_label="NHS Synthetic Valley ICB")


def spc():
    measure = default_catalogue().get("acc_08_monthly")
    days = pd.date_range("2024-04-01", periods=24, freq="MS")
    series = pd.DataFrame({"measure": measure.id, "version": 1, "org": "UZ0001", "period_start": days,
                           "numerator": 70.0 + (np.arange(len(days)) % 7), "denominator": 100.0})
    series["value"] = series["numerator"]
    reading = detail.read(series, measure)
    return charts.spc_chart(reading.result, measure, "Ashvale PCN", reading=reading)


def footnote(fig):
    (note,) = [a for a in fig.layout.annotations if str(a.text).startswith("Source:")]
    return note


def footnote_left(fig) -> float:
    """Where the footnote starts, in pixels from the figure's left edge, at the least: it is placed from the plot's
    left edge, which is at least the left margin in (automargin widens the margin, never narrows it)."""
    note = footnote(fig)
    assert note.xref == "paper" and note.x == 0 and note.xanchor == "left"
    return (fig.layout.margin.l or LEFT_MARGIN) + (note.xshift or 0)


NAMES = {
    "the demo's neighbourhoods": ["Brackenby North", "Riverside"],
    "PCNs": ["Riverside PCN", "Millbrook PCN", "Ashvale PCN", "Hollowford PCN", "Kingsmead PCN"],
    "long lower-case names": ["Abbey Wood and Thamesmead south neighbourhood", "Riverside"],
    "short names": ["Oak", "Elm"],
    "wide capitals": ["WWWWWWWWWWWWWWWWWWWWWWWW", "MMMM"],
}


@pytest.mark.parametrize("case", list(NAMES))
def test_a_ranked_bars_footnote_starts_inside_the_figure_near_its_edge(case):
    fig = ranked(NAMES[case])
    # Inside the figure (not cut at its left edge), and near the edge, so a phone's line has its room.
    assert 0 < footnote_left(fig) <= 12, (case, fig.layout.margin.l, footnote(fig).xshift)
    # The margin is where the names reach when drawn: 12 px Arial, and automargin's pad beside them.
    widest = max(charts.text_pixels(name, 12) for name in NAMES[case])
    assert widest + 8 <= (fig.layout.margin.l or LEFT_MARGIN) <= max(widest + 16, LEFT_MARGIN)


def test_every_charts_footnote_starts_inside_the_figure_and_on_screen_they_line_up():
    shown = {"funnel": funnel(), "spc on screen": charts.for_screens(spc()),
             "caterpillar": ranked(["x"] * 2 + [f"PCN {n}" for n in range(70)]),
             **{case: ranked(names) for case, names in NAMES.items()}}
    lefts = {case: footnote_left(fig) for case, fig in shown.items()}
    assert footnote_left(spc()) > 0  # the download's footnote stays under the plot
    assert all(left > 0 for left in lefts.values()), lefts
    # Moved back to near the figure's edge by the same reckoning, the Compare tabs' footnotes start alike.
    assert len(set(lefts.values())) == 1, lefts


def test_a_ranked_bars_footnote_is_drawn_clear_of_the_figures_left_edge():
    from PIL import Image

    from measures import exports

    fig = ranked(NAMES["the demo's neighbourhoods"], measure_id="acc_08_monthly")
    png = exports.figure_image(fig, "png", width=1000, scale=1)
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    lines = len(str(footnote(fig).text).split("<br>"))
    bottom = grey[-(13 * lines + 16):]  # the footnote's lines, at the foot of the figure
    inked = np.flatnonzero((bottom < 160).any(axis=0))
    # A glyph cut by the edge leaves ink in the first column; Arial's "S" and "*" start a pixel or two in.
    assert inked.size and inked[0] >= 2, inked[:5]


def test_a_comparator_label_reads_as_written_mid_sentence_and_starts_its_legend_entry_with_a_capital():
    fig = ranked(NAMES["the demo's neighbourhoods"], comparator_label="the neighbourhoods together")
    subtitle = html.unescape(fig.layout.title.subtitle.text).replace("<br>", " ")
    assert "compared with the neighbourhoods together" in subtitle
    legend = [html.unescape(t.name) for t in fig.data if t.showlegend is not False and t.name]
    assert "The neighbourhoods together 60.0%" in legend


def test_compare_areas_neighbourhood_chart_reads_the_neighbourhoods_together_in_lower_case(app_env):
    import json

    at = apptest.open_app("pages/compare_areas.py", pcn="UZ0001", level="neighbourhood",
                          measure="nbh_mdt_partner_attendance_pct")
    (chart,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    ((_, subtitle),) = apptest.chart_headings(at)  # shown above the chart, which draws no title of its own
    assert not chart["layout"]["title"]["text"]
    assert "compared with the neighbourhoods together" in subtitle and "The neighbourhoods" not in subtitle


def test_the_money_views_trajectory_chart_wraps_its_footnote_to_a_phones_line():
    from measures import charts_money
    from measures.contract.money import IndicatorMoney

    item = IndicatorMoney(indicator="CAN-04", year="2025/26", org="UZ0001", measure="can_04", in_iif=True,
                          ach_date=date(2025, 9, 30), numerator=620, denominator=1000, lower=65, upper=80,
                          points_available=22, pounds_per_point=198.0, adjustment=1.0)
    history = pd.DataFrame({"period_end": pd.date_range("2025-04-30", periods=6, freq="ME"),
                            "numerator": [350, 560, 560, 540, 555, 620], "denominator": [1000] * 6})
    fig = charts_money.trajectory_chart(item, history, "Riverside PCN")
    lines = [html.unescape(line) for line in footnote(fig).text.split("<br>")]
    assert " ".join(lines).startswith("Source: Network Contract DES (MI), NHS England · Data to Sep 2025")
    assert len(lines) >= 3 and all(len(line) <= charts._WRAP["note"] for line in lines), lines
    assert 0 < footnote_left(fig) <= 12  # from near the figure's edge, where a phone's line has its room
