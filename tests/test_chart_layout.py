"""Charts laid out for every screen: notes dated on a chart stay beside their line, and titles break where they read."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest

from measures import charts, detail
from measures.catalogue import default_catalogue

DAYS = pd.date_range("2024-04-01", periods=30, freq="MS")
LONG_NOTE = "Two GPs left in the spring; locum cover was reduced while the practice recruited"


def reading_of(rebase=None):
    """Booked within 2 weeks for 30 months, with limits recalculated from each date of `rebase`."""
    measure = default_catalogue().get("acc_08_monthly")
    series = pd.DataFrame({"measure": measure.id, "version": 1, "org": "UZ0001", "period_start": DAYS,
                           "numerator": 70.0 + (np.arange(len(DAYS)) % 7), "denominator": 100.0})
    series["value"] = series["numerator"]
    return measure, detail.read(series, measure, rebase=rebase)


def chart_with_notes(notes: dict) -> object:
    measure, reading = reading_of()
    frame = pd.DataFrame({"date": list(notes), "note": list(notes.values())})
    return charts.spc_chart(reading.result, measure, "Ashvale PCN", reading=reading, annotations=frame)


def dated_notes(fig) -> list:
    return [a for a in fig.layout.annotations if a.xref in (None, "x") and a.yref == "paper"]


def test_a_note_at_the_last_month_leaves_the_date_axis_at_the_data_and_opens_towards_the_plot():
    fig = chart_with_notes({DAYS[-1]: LONG_NOTE, DAYS[2]: "New triage model"})
    low, high = (pd.Timestamp(value) for value in fig.layout.xaxis.range)
    span = DAYS[-1] - DAYS[0]
    # Plotly widens an axis left to its own range until a note fits; a set range a little past the data cannot be.
    assert DAYS[0] - span * 0.05 <= low < DAYS[0] and DAYS[-1] < high <= DAYS[-1] + span * 0.05
    opening = {pd.Timestamp(a.x): a.xanchor for a in dated_notes(fig)}
    assert opening == {DAYS[-1]: "right", DAYS[2]: "left"}


def test_on_a_phone_each_note_fits_beside_its_line_and_no_two_notes_overprint():
    fig = charts.for_screens(chart_with_notes({DAYS[-1]: LONG_NOTE, DAYS[-4]: "Extended hours began",
                                               DAYS[1]: "New triage model"}))
    low, high = (pd.Timestamp(value) for value in fig.layout.xaxis.range)
    plot = charts.NARROWEST_PLOT_PIXELS
    boxes = []
    for note in dated_notes(fig):
        lines = [html.unescape(line) for line in note.text.split("<br>")]
        at = (pd.Timestamp(note.x) - low) / (high - low) * plot
        width = max(charts.text_pixels(line, note.font.size) for line in lines)
        left, right = (at - width, at) if note.xanchor == "right" else (at, at + width)
        assert 0 <= left and right <= plot, (note.text, left, right)  # within the plot at a phone's width
        top = -(note.yshift or 0)
        boxes.append((left, right, top, top + 17 * len(lines)))
    assert " ".join(html.unescape(n.text).replace("<br>", " ") for n in dated_notes(fig)).count("locum cover") == 1
    for index, (left, right, top, bottom) in enumerate(boxes):
        for other in boxes[index + 1:]:
            overlap_across = left < other[1] and other[0] < right
            assert not (overlap_across and top < other[3] and other[2] < bottom), (boxes[index], other)


def test_a_limits_recalculated_note_near_the_end_opens_back_over_the_plot_and_fits_a_phone():
    measure, reading = reading_of(rebase=[DAYS[-13].date()])
    fig = charts.spc_chart(reading.result, measure, "Ashvale PCN", reading=reading,
                           rebase_reasons={DAYS[-13]: "the extended access hub opened for every practice"})
    (note,) = [a for a in dated_notes(fig) if str(a.text).startswith("Limits recalculated")]
    assert note.xanchor == "right"
    (shown,) = [a for a in dated_notes(charts.for_screens(fig)) if str(a.text).startswith("Limits recalculated")]
    assert all(charts.text_pixels(html.unescape(line), 12) <= charts.NARROWEST_PLOT_PIXELS * 0.6
               for line in shown.text.split("<br>"))


@pytest.mark.parametrize("label, lines", [
    ("Booked within 2 weeks", ["Booked within 2 weeks:", "Ashvale PCN"]),
    ("Same-day appointments", ["Same-day appointments:", "Ashvale PCN"]),
    ("Booked within 2 weeks (monthly)", ["Booked within 2 weeks (monthly):", "Ashvale PCN"]),
])
def test_a_title_too_wide_for_a_phone_breaks_after_the_measures_name_not_before_the_pcns_last_word(label, lines):
    measure, reading = reading_of()
    fig = charts.spc_chart(reading.result, measure.model_copy(update={"short_name": label}), "Ashvale PCN",
                           reading=reading)
    shown = charts.for_screens(fig)
    assert shown.layout.title.text.split("<br>") == lines
    assert all(charts.text_pixels(line, charts.TITLE_FONT_PIXELS) <= charts.TITLE_PIXELS for line in lines)
    assert fig.layout.title.text == f"{label}: Ashvale PCN"  # the download keeps its one line


def test_a_title_that_fits_a_phone_stays_on_one_line_on_every_screen():
    measure, reading = reading_of()
    fig = charts.spc_chart(reading.result, measure.model_copy(update={"short_name": "Visits filed in time"}),
                           "Ashvale PCN", reading=reading)
    title = charts.for_screens(fig).layout.title.text
    # 33 characters of narrow letters, 313 px at 22 px: measured, not counted, so it needs no break on any screen
    assert title == "Visits filed in time: Ashvale PCN"


def test_a_subtitle_breaks_at_its_semicolon():
    measure, reading = reading_of()
    fig = charts.spc_chart(reading.result, measure, "Ashvale PCN", subtitle="XmR chart, NHSRplotthedots rules; "
                           "higher is better, with a note that runs on")
    lines = charts.for_screens(fig).layout.title.subtitle.text.split("<br>")
    assert lines[0] == "XmR chart, NHSRplotthedots rules;"
    assert all(charts.text_pixels(line, charts.SUBTITLE_FONT_PIXELS) <= charts.TITLE_PIXELS for line in lines)


def test_in_a_download_notes_a_month_apart_are_stacked_and_notes_far_apart_both_hang_from_the_top():
    near = chart_with_notes({DAYS[10]: "New triage model began", DAYS[11]: "Extended hours began"})
    far = chart_with_notes({DAYS[2]: "New triage model began", DAYS[20]: "Extended hours began"})
    first, second = sorted(dated_notes(near), key=lambda a: pd.Timestamp(a.x))
    # The later note opens the same way and would start under the first one's text: it moves down by a note.
    assert first.xanchor == second.xanchor == "left" and (first.yshift or 0) == 0
    assert second.yshift <= -first.font.size * 1.3
    assert [a.yshift or 0 for a in dated_notes(far)] == [0, 0]
    # On a phone the notes are laid out afresh for its width, from their own text.
    shown = dated_notes(charts.for_screens(near))
    assert sorted(html.unescape(a.text.replace("<br>", " ")) for a in shown) == ["Extended hours began",
                                                                                  "New triage model began"]


def test_on_screen_the_title_comes_off_the_chart_as_one_line_of_text_and_the_plot_keeps_its_size():
    measure, reading = reading_of()
    printed = charts.spc_chart(reading.result, measure, "Ashvale PCN", reading=reading)
    laid_out = charts.for_screens(printed)
    assert "<br>" in laid_out.layout.title.text  # laid out for a phone, the figure's own title breaks early
    title, subtitle = charts.heading(laid_out)
    assert title == "Booked within 2 weeks (monthly): Ashvale PCN"
    assert subtitle == html.unescape(printed.layout.title.subtitle.text) and "<br>" not in subtitle
    screen = charts.untitled(laid_out)
    assert not screen.layout.title.text and not screen.layout.title.subtitle.text
    assert screen.layout.margin.t == charts.SCREEN_TOP_PIXELS
    plot = lambda fig: fig.layout.height - fig.layout.margin.t - fig.layout.margin.b  # noqa: E731
    assert plot(screen) == plot(laid_out) and screen.layout.height < laid_out.layout.height
    assert screen.layout.legend.y == laid_out.layout.legend.y  # paper coordinates: the same pixels below the plot
    # Neither figure it came from is changed: the download keeps its title inside, on one line.
    assert laid_out.layout.title.text.replace("<br>", " ") == title
    assert printed.layout.title.text == title


def test_a_meeting_chart_is_larger_and_leaves_its_wider_legend_more_room_above_the_footnote():
    measure, reading = reading_of()
    printed = charts.spc_chart(reading.result, measure, "Ashvale PCN", reading=reading,
                               goal_lines=detail.goal_lines(measure, DAYS[0], DAYS[-1]))

    def below_plot(fig):
        """How far below the plot the legend and the footnote start, in pixels."""
        plot = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
        (note,) = [a for a in fig.layout.annotations if str(a.text).startswith("Source:")]
        return -fig.layout.legend.y * plot, -note.y * plot

    desk, meeting = charts.for_screens(printed), charts.for_meeting(printed)
    assert meeting.layout.legend.font.size == meeting.layout.xaxis.tickfont.size == charts.MEETING_FONT_PIXELS
    (desk_legend, desk_note), (legend, note) = below_plot(desk), below_plot(meeting)
    labels = [t.name for t in meeting.data if t.showlegend is not False and t.name]
    # At a phone's width 18 px labels need more rows than 14 px ones, each row taller.
    assert note - legend > desk_note - desk_legend
    assert note - legend >= 31 * 18 / 14 * 2 and len(labels) >= 3
    assert printed.layout.legend.font.size is None  # the figure given is not changed


def test_a_figure_shown_again_is_copied_without_its_title_once_while_it_lives(monkeypatch):
    import gc

    import plotly.graph_objects as go

    from measures import charts
    from measures.ui import figures, widgets

    copies = []
    real = charts.untitled_dict
    monkeypatch.setattr(charts, "untitled_dict", lambda fig: copies.append(id(fig)) or real(fig))
    shown = go.Figure(layout={"title": {"text": "A chart"}})
    first, again = widgets._untitled(shown), widgets._untitled(shown)
    assert first is again and len(copies) == 1 and first.to_dict()["layout"]["title"]["text"] == ""
    other = go.Figure(layout={"title": {"text": "Another"}})
    assert widgets._untitled(other) is not first and len(copies) == 2
    key = id(shown)
    del shown, first, again
    gc.collect()
    assert not [held for held in figures._DERIVED if held[0] == key]  # a figure nobody holds leaves nothing behind


@pytest.mark.parametrize("kind", ["ranked, 1,300 PCNs", "ranked, 37 PCNs", "SPC with a note"])
def test_a_screen_copy_is_sent_as_the_same_json_and_an_area_chart_on_orjsons_fast_path(kind, monkeypatch):
    """Streamlit serialises the screen's dictionary on every rerun. Its arrays of text are lists, so orjson takes
    its fast path for an area's chart, and what is sent is the JSON the arrays themselves gave."""
    import orjson
    import plotly.io as pio

    from measures.charts import screens
    from measures.suppression import FLAG

    if kind.startswith("ranked"):
        rows = 1_300 if "1,300" in kind else 37
        frame = _ranked_frame(rows, suppressed=True).rename(columns={"_suppressed": FLAG})
        fig = charts.highlighted(charts.ranked_bar(
            frame, default_catalogue().get("dna_rate"), highlight=None, comparator_label="the ICB",
            comparator_value=10.0, period=DAYS[-1].date(), area_label="An ICB", intervals=True, notes=["A note"]),
            "U00002")
    else:
        fig = chart_with_notes({DAYS[-1]: LONG_NOTE})
    sent = charts.untitled_dict(fig)
    if kind.startswith("ranked"):  # raises TypeError when a value sends Plotly through its own cleaning
        orjson.dumps(sent, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    monkeypatch.setattr(screens, "_text_arrays_as_lists", lambda value: None)
    as_arrays = charts.untitled_dict(fig)
    assert pio.to_json(sent, validate=False) == pio.to_json(as_arrays, validate=False)
    assert any(isinstance(v, np.ndarray) for trace in as_arrays["data"] for v in trace.values())  # a real change


def _as_plotly_checks_it(fig) -> tuple[dict, dict]:
    """The figure's JSON, and the JSON of the same figure built again with Plotly checking every value: the
    builders make their figures without that check (`charts.style.written_figure`), so they must pass it."""
    import json

    import plotly.graph_objects as go

    return json.loads(fig.to_json()), json.loads(go.Figure(fig.to_dict()).to_json())


def _ranked_frame(n: int, suppressed: bool = False) -> pd.DataFrame:
    values = np.linspace(4.0, 16.0, n)
    frame = pd.DataFrame({"org": [f"U{i:05d}" for i in range(n)], "name": [f"PCN <{i}> & partners" for i in range(n)],
                          "value": values, "lower_95": values - 1.5, "upper_95": values + 1.5,
                          "benchmark": [("better", "similar", "worse")[i % 3] for i in range(n)]})
    if suppressed:
        frame["_suppressed"] = [i % 5 == 0 for i in range(n)]
        frame.loc[frame["_suppressed"], ["value", "lower_95", "upper_95"]] = np.nan
    return frame


@pytest.mark.parametrize("rows, intervals, suppressed, comparator", [
    (3, True, False, 10.0), (37, True, True, 10.0), (37, False, False, None), (1_300, True, True, 9.5)])
def test_a_ranked_chart_is_the_figure_plotly_makes_when_it_checks_every_value(rows, intervals, suppressed, comparator):
    from measures.suppression import FLAG

    frame = _ranked_frame(rows, suppressed).rename(columns={"_suppressed": FLAG})
    fig = charts.ranked_bar(frame, default_catalogue().get("dna_rate"), highlight="U00002", comparator_label="the ICB",
                            comparator_value=comparator, period=DAYS[-1].date(), area_label="An ICB",
                            intervals=intervals, notes=["A note"])
    built, checked = _as_plotly_checks_it(fig)
    assert built == checked and isinstance(built["layout"]["template"], dict)


@pytest.mark.parametrize("case", ["notes", "recalculated", "suppressed and caveats", "short series"])
def test_an_spc_chart_is_the_figure_plotly_makes_when_it_checks_every_value(case):
    if case == "notes":
        fig = chart_with_notes({DAYS[-1]: LONG_NOTE, DAYS[2]: "New triage model"})
    elif case == "recalculated":
        measure, reading = reading_of(rebase=[DAYS[12]])
        fig = charts.spc_chart(reading.result, measure, "Ashvale PCN", reading=reading,
                               rebase_reasons={DAYS[12]: "Two pharmacists joined"},
                               goal_lines=pd.DataFrame({"start": [DAYS[0]], "end": [DAYS[-1]], "value": [75.0],
                                                        "label": ["Target 75%"]}))
    elif case == "suppressed and caveats":
        measure, reading = reading_of()
        fig = charts.spc_chart(reading.result, measure, "Ashvale PCN", reading=reading, suppressed=[DAYS[5]],
                               caveats=["Incomplete data: September 2026 (1 of 5 practices missing)."])
    else:
        measure = default_catalogue().get("acc_08_monthly")
        series = pd.DataFrame({"measure": measure.id, "version": 1, "org": "UZ0001", "period_start": DAYS[:5],
                               "numerator": 70.0, "denominator": 100.0, "value": 70.0})
        reading = detail.read(series, measure)
        fig = charts.spc_chart(reading.result, measure, "Ashvale PCN", reading=reading)
    built, checked = _as_plotly_checks_it(fig)
    assert built == checked
