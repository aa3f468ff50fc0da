"""Measure detail: one measure for the chosen PCN as a Making Data Count SPC chart, with its definition beside it."""

import streamlit as st

from measures import access, annotations, charts, detail, ui
from measures.catalogue import default_catalogue

pcn = st.session_state["current_pcn"]
measure = ui.pick_measure(default_catalogue())
series = ui.query("series", measure.id, pcn["pcn"])
if access.is_local_measure(measure.id) and not ui.reads_all_local(pcn["pcn"]):  # issue 7
    ui.refuse(pcn["pcn"], f"{pcn['pcn_name']} ({pcn['pcn']}): unpublished values of {measure.label}")
reading = detail.read(series, measure)

chart_column, side_column = st.columns([3, 1], gap="large")
with chart_column:
    if reading is None:
        ui.empty_state(f"{ui.plain(pcn['pcn_name'])} has fewer than two values for {ui.plain(measure.label)}; "
                       "no chart can be drawn yet.")
    else:
        if reading.too_short:
            st.warning(f"Only {reading.points} points: SPC limits need at least {detail.MIN_POINTS_FOR_LIMITS} "
                       "to be trusted. Read them as provisional.", icon=":material/warning:")
        ui.spc_badges(reading.variation, reading.assurance)
        notes = ui.query("annotations", measure.id, pcn["pcn"])
        figure = charts.spc_chart(
            reading.result, measure, pcn["pcn_name"], annotations=notes, suppressed=reading.suppressed,
            goal_lines=detail.goal_lines(measure, reading.result["date"].min(), reading.result["date"].max()))
        ui.show_figure(figure, key="spc_chart")
        st.markdown(ui.plain(detail.narrative(reading, measure, pcn["pcn_name"])))
        with st.expander("The numbers behind the chart", icon=":material/table:"):
            table = detail.data_table(series, reading, measure)
            ui.table(table, key="spc_table")  # issue 7: a suppressed period's row is blank, with the footnote
            ui.download_table(table, f"{measure.id} {pcn['pcn']} SPC", key="spc_table_download")
        if ui.editable(pcn["pcn"]):  # issue 7: notes are added by the PCN's editors
            with st.form("annotate", clear_on_submit=True, border=True):
                st.markdown("**Add a note to the chart**")
                when, note = st.columns([1, 3])
                on_date = when.date_input("Date", value=reading.result["date"].max().date(), format="DD/MM/YYYY")
                text = note.text_input("Note", max_chars=annotations.MAX_NOTE_LENGTH,
                                       placeholder="e.g. new online consultation system went live")
                if st.form_submit_button("Add note"):
                    try:
                        annotations.add(ui.store(), measure.id, pcn["pcn"], on_date, text,
                                        actor=None if ui.principal().open else ui.principal().actor)
                        st.rerun()
                    except ValueError as problem:
                        st.error(ui.plain(problem))
with side_column:
    ui.definition(measure)
