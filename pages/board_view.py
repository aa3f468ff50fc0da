"""Board view: one PCN against both of its goals on one screen, what it did for each practice, and meeting mode."""

from urllib.parse import urlencode

import streamlit as st

from measures import (board, board_html, charts, charts_money, detail, money_html, neighbourhood_board, practice_view,
                      suppression, ui)
from measures.contract import default_rules
from measures.contract.view import order_for_year, what_if_text
from measures.practice_html import practice_html

pcn = st.session_state["current_pcn"]
meeting = ui.meeting_mode()
catalogue = ui.query("local.catalogue_with_local", pcn["pcn"])
# The change points Measure detail recalculates limits from, so the board's icons are the chart's.
rebases = ui.query("annotations.rebase_dates_by_measure", pcn["pcn"])
# The PCN's stored board summary when it still describes the data (one read); else computed from its series.
rows = ui.board_rows(pcn["pcn"], catalogue, rebases)

# As the Overview: outside the PCN (and its ICB's analysts) only the periods it has published are shown.
member = ui.reads_all_local(pcn["pcn"])
if not member:
    ui.refuse(pcn["pcn"], f"{pcn['pcn_name']} ({pcn['pcn']}): unpublished local values (Integration and "
                          "Support for practices)")
shown = {family: [row for row in family_rows if member or family == "national_des" or row.has_data]
         for family, family_rows in board.by_family(rows).items()}
# The chosen financial year (`?year=`) puts its IIF indicators first; earlier years' stay as history.
years = ui.query("contract.data_years")
year = st.query_params.get("year") if st.query_params.get("year") in years else years[0]
shown["national_des"] = order_for_year(shown["national_des"], default_rules(), year)
footnote = suppression.footnote(ui.suppress_below())
# Fair shares are the PCN's own local values of every period: its members only, so nobody else is offered them.
practices_offered = member and bool(practice_view.fair_share_measures(catalogue))

PRACTICES_TITLE = "What the PCN did for each practice"
VIEWS = {"measures": "Measures", "practices": "Practices", "money": "Money"}


def practice_matrix():
    # Through ui.query, so the members-only rule, caching and small-number suppression apply as everywhere else.
    return practice_view.practice_matrix(ui.store(), pcn["pcn"], catalogue,
                                         read_shares=lambda *args: ui.query("local.fair_share", *args))


def set_meeting(on: bool) -> None:
    for name in ("mode", "step", "measure", "view"):
        st.query_params.pop(name, None)
    if on:
        st.query_params.update(mode=ui.MEETING, step="0")


def meeting_toggle(on: bool) -> None:
    st.toggle("Meeting mode", value=on, key="leave_meeting" if on else "enter_meeting", on_change=set_meeting,
              args=(not on,), help="The board for a projector: no sidebar or editing controls, large type, and "
                                   "a screen for each measure needing attention")


def board_screen() -> None:
    offered = [v for v in VIEWS if v != "practices" or practices_offered]
    if st.query_params.get("view") not in offered:
        st.query_params.pop("view", None)
    # The PCN's name and the controls share one line: the board must fit one projector screen.
    with st.container(horizontal=True, vertical_alignment="center", gap="medium", key="board_controls"):
        st.html(board_html.heading_html(pcn), width="stretch")
        if "board_view" not in st.session_state:  # a new session starts from the URL
            st.session_state["board_view"] = st.query_params.get("view", "measures")
        view = st.segmented_control("View", offered, format_func=VIEWS.get, key="board_view",
                                    required=True, label_visibility="collapsed")
        if view == "measures":
            st.query_params.pop("view", None)
        else:
            st.query_params["view"] = view
        meeting_toggle(False)
    if view == "practices":
        practices_screen()
    elif view == "money":
        money_screen()
    else:
        # One element for the whole board: 35 rows of Streamlit widgets take seconds to draw on a projector's laptop.
        st.html(board_html.board_html(shown, pcn, footnote=footnote, heading=False))
        neighbourhoods_section()


def neighbourhoods_section() -> None:
    """The neighbourhoods the PCN works in, each with its integration measures, under a label saying what it spans."""
    footprints = ui.neighbourhood_footprints(pcn["pcn"])
    if not footprints:
        return
    everything = ui.query("local.catalogue_with_local")  # a PCN's own catalogue leaves neighbourhood measures out
    found = []
    for fp in footprints:
        measures = neighbourhood_board.integration_measures(everything, fp.icb)
        found.append(neighbourhood_board.section(fp, ui.neighbourhood_board_rows(fp.code, measures), len(measures)))
    # Switched on in the sidebar, so the board alone still fits one projector screen; the label says what each spans.
    if st.sidebar.toggle(ui.plain(" · ".join(section.label for section in found)), key="show_neighbourhoods",
                         help="Show the integration measures of the neighbourhoods this PCN works in, under the board"):
        st.html(neighbourhood_board.sections_html(found, pcn["pcn"]))


def practices_screen(*, large: bool = False) -> None:
    matrix = practice_matrix()
    if large:
        st.html(board_html.heading_html(pcn, meeting=True))
    st.html(practice_html(matrix, pcn_name=pcn["pcn_name"], font_size=22 if large else 15,
                          caption=f"{PRACTICES_TITLE}: share of the PCN's total ÷ fair share, "
                                  f"{practice_view.period_text(*_span(matrix))}"))
    if not large and not matrix.empty:
        with st.expander("Each practice against its fair share, as a chart", icon=":material/bar_chart:"):
            ui.show_figure(practice_view.fair_share_panels(matrix, pcn_name=pcn["pcn_name"]), key="fair_share_panels")


def money_screen() -> None:
    """The IIF money of one financial year: points and pounds, what it would take, each practice, the payments."""
    year = ui.pick_from_url("Financial year", years, param="year", key="money_year")
    view = ui.query("contract.money", pcn["pcn"], year)
    st.html(money_html.indicators_html(view))
    paying = [item for item in view.indicators if item.in_iif and item.lower is not None
              and item.achievement is not None]
    if paying:
        columns = st.columns(len(paying))
        extra = {}
        for column, item in zip(columns, paying):
            room = max(int(item.denominator - item.numerator), 0)
            extra[item.indicator] = column.number_input(f"What if: more patients reached for {item.indicator}",
                                                        min_value=0, max_value=room, value=0, step=1,
                                                        key=f"what_if_{item.indicator}", width=320)
        sentence = what_if_text(view, view.with_more_patients(extra))
        if sentence:
            st.markdown(ui.plain(sentence))
        for column, item in zip(st.columns(len(paying)), paying):
            own = view.history[view.history["measure"] == item.measure]
            with column:
                ui.show_figure(charts_money.trajectory_chart(item, own, pcn["pcn_name"]),
                               key=f"money_trajectory_{item.indicator}")
    if view.practices:
        with st.expander("Each practice", icon=":material/table_rows:"):
            st.html(money_html.practices_html(view, view.names))
    st.html(money_html.payments_html(default_rules().year(year)))
    arrs = ui.query("contract.arrs", pcn["pcn"], year)
    st.html(money_html.arrs_html(arrs))
    st.html(money_html.notes_html(view, extra=arrs.caveats))
    ui.download_table(view.table(practices=True), f"iif-money-{pcn['pcn']}-{year.replace('/', '-')}",
                      key="money_table")


def _span(matrix):
    if matrix.empty:
        return None, None
    return matrix["period_start"].iloc[0], matrix["period_end"].iloc[0]


# --- meeting mode ---------------------------------------------------------------------------------------------


def meeting_link(**params) -> str:
    """A query-only address: it keeps the board's own path, whatever it is served under."""
    return "?" + urlencode({"pcn": pcn["pcn"], "mode": ui.MEETING, **params})


def go_to(step: int) -> None:
    st.query_params.pop("measure", None)
    st.query_params["step"] = str(step)


def meeting_screens() -> None:
    st.html(f"<style>{board_html.MEETING_PAGE_STYLE}</style>")
    visible = [row for family_rows in shown.values() for row in family_rows]
    attention = board.needing_attention(visible)
    screens = ["board", *attention, *(["practices"] if practices_offered else [])]
    try:
        step = min(max(int(st.query_params.get("step", "0")), 0), len(screens) - 1)
    except ValueError:
        step = 0
    chosen = next((row for row in visible if row.measure.id == st.query_params.get("measure")), None)
    if chosen is not None and chosen in attention:
        chosen, step = None, attention.index(chosen) + 1
    if chosen is None:
        st.query_params["step"] = str(step)
        st.query_params.pop("measure", None)
    screen = chosen or screens[step]
    previous_step, next_step = (0, 1) if chosen is not None else (step - 1, step + 1)
    last = len(screens) - 1
    with st.container(horizontal=True, vertical_alignment="center", gap="medium", key="meeting_controls"):
        st.button("Previous", key="meeting_previous", shortcut="Left",
                  disabled=chosen is None and step == 0, on_click=go_to, args=(max(previous_step, 0),))
        st.button("Next", type="primary", key="meeting_next", shortcut="Right",
                  disabled=chosen is None and step == last, on_click=go_to, args=(min(next_step, last),))
        st.markdown(position_text(screen, step, attention), width="stretch")
        meeting_toggle(True)
    if screen == "board":
        links = {row.measure.id: meeting_link(step=attention.index(row) + 1) if row in attention
                 else meeting_link(measure=row.measure.id) for row in visible}
        st.html(board_html.board_html(shown, pcn, footnote=footnote, meeting=True, links=links))
    elif screen == "practices":
        practices_screen(large=True)
    else:
        measure_screen(screen)


def position_text(screen, step: int, attention: list) -> str:
    if screen == "board":
        count = len(attention)
        return (f"**The board** · {count} measure{'s' if count != 1 else ''} need{'s' if count == 1 else ''} "
                "attention" if count else "**The board** · no measure needs attention")
    if screen == "practices":
        return f"**{PRACTICES_TITLE}**"
    if screen in attention:
        return f"**Needs attention: {step} of {len(attention)}**"
    return "**Not among the measures needing attention**"


def measure_screen(row: board.BoardRow) -> None:
    """One measure, large: its name, value and icons, why it needs attention, its SPC chart and what it shows."""
    measure = row.measure
    st.html(board_html.step_head_html(row, pcn["pcn_name"]))
    series, _ = ui.query("overview", pcn["pcn"])  # one measure's chart needs the series the summary left out
    reading = board.measure_reading(series, measure, rebase=rebases.get(measure.id))
    chart_column, text_column = st.columns([3, 2], gap="large")
    with chart_column:
        if reading is not None:
            figure = charts.spc_chart(
                reading.result, measure, pcn["pcn_name"], annotations=ui.query("annotations", measure.id, pcn["pcn"]),
                suppressed=reading.suppressed, reading=reading,  # as Measure detail draws it
                rebase_reasons=_rebase_reasons(measure.id) if reading.rebases else None,
                goal_lines=detail.goal_lines(measure, reading.result["date"].min(), reading.result["date"].max()))
            # Read from across a room, and laid out for a phone too, where the two columns stack.
            ui.show_figure(charts.for_meeting(figure), key="meeting_chart", controls=False)
    with text_column:
        narrative = detail.narrative(reading, measure, pcn["pcn_name"]) if reading is not None else None
        st.html(board_html.step_reading_html(row, narrative))


def _rebase_reasons(measure_id: str) -> dict:
    changes = ui.query("annotations.rebases", measure_id, pcn["pcn"])
    return dict(zip(changes["period_start"], changes["reason"]))


if meeting:
    meeting_screens()
else:
    board_screen()
