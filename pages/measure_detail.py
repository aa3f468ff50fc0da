"""Measure detail: one measure for the chosen PCN as a Making Data Count SPC chart, with its definition beside it."""

import base64

import pandas as pd
import streamlit as st

from measures import access, annotations, board_html, data_quality, detail, suppression, ui

pcn = st.session_state["current_pcn"]
measure = ui.pick_measure(ui.query("local.catalogue_with_local", pcn["pcn"]))  # YAML + app-defined
series = ui.query("series", measure.id, pcn["pcn"])
if access.is_local_measure(measure.id) and not ui.reads_all_local(pcn["pcn"]):  # unpublished local values
    ui.refuse(pcn["pcn"], f"{pcn['pcn_name']} ({pcn['pcn']}): unpublished values of {measure.label}")
changes = ui.query("annotations.rebases", measure.id, pcn["pcn"])
notes = ui.query("annotations", measure.id, pcn["pcn"])
caveats = [c for c in [data_quality.chart_caveat(ui.query("data_quality.practice_completeness", pcn["pcn"]),
                                                 measure.id)] if c]
reading, figure, on_screen = ui.measure_chart(series, measure, pcn["pcn"], pcn["pcn_name"], changes, notes, caveats)
# In a meeting the page is shown, not worked on: no note, change-point or removal controls.
may_edit = ui.editable(pcn["pcn"]) and not ui.meeting_mode()


def rebase_controls(notes: pd.DataFrame) -> None:
    """Editors mark a change point (from a chart note or a date) with a reason, and remove one."""
    with st.expander("Recalculate the limits after a change", icon=":material/restart_alt:",
                     expanded=not changes.empty):
        st.caption("When the process changed for a known reason (a new service, a lost role), limits from before "
                   "no longer describe it. The limits are recalculated from the first period on or after the "
                   "date; who did it, when and why are recorded.")
        for row in changes.itertuples():
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.markdown(f"From **{pd.Timestamp(row.period_start):%b %Y}**: {ui.plain(row.reason)}  \n"
                          f":gray[by {ui.plain(row.created_by)}, {pd.Timestamp(row.created_at):%d %b %Y %H:%M}]")
            if right.button("Remove", key=f"remove_rebase_{row.rebase_id}", icon=":material/undo:"):
                try:
                    annotations.remove_rebase(ui.store(), row.rebase_id, ui.principal())
                    st.rerun()
                except (ValueError, access.AccessDenied) as problem:
                    st.error(ui.plain(problem))
        with st.form("rebase", clear_on_submit=True, border=False):
            choices = ["A date"] + [f"{pd.Timestamp(n.date):%d %b %Y}: {n.note}" for n in notes.itertuples()]
            source = st.selectbox("Change point", range(len(choices)), format_func=lambda i: choices[i],
                                  help="A note already on the chart, or a date", key="rebase_source")
            on_date = st.date_input("Date (when the change point is a date)", format="DD/MM/YYYY",
                                    value=reading.result["date"].max().date(), key="rebase_date")
            reason = st.text_input("Why the process changed", max_chars=annotations.MAX_REASON_LENGTH,
                                   placeholder="e.g. two pharmacists joined; the rota changed", key="rebase_reason")
            if st.form_submit_button("Recalculate the limits from here", key="rebase_submit"):
                note = notes.iloc[source - 1] if source else None
                day = pd.Timestamp(note["date"]).date() if note is not None else on_date
                try:
                    annotations.add_rebase(ui.store(), measure.id, pcn["pcn"], day,
                                           reason or (note["note"] if note is not None else ""), ui.principal())
                    st.rerun()
                except (ValueError, access.AccessDenied) as problem:
                    st.error(ui.plain(problem))


def icon_image(kind) -> str:
    kind = kind if isinstance(kind, str) else None  # a practice with no icon reads NaN from its table
    return "data:image/svg+xml;base64," + base64.b64encode(board_html.icon_svg(kind).encode()).decode("ascii")


def practice_section() -> None:
    """Every member practice of a practice-level measure: its latest value and its own SPC icons."""
    table = ui.practice_spc_table(pcn["pcn"], measure)  # local values: the PCN's members, or published periods
    st.subheader("Each practice")
    if table.empty:
        ui.empty_state(f"{ui.plain(pcn['pcn_name'])} has no member practices on record.")
        return
    st.caption("Each practice's own series, read the same way as the PCN's: icons only for 12 or more values "
               "of a measure that is not annual.")
    shown = pd.DataFrame({
        "Practice": table["org_name"], "Code": table["org"],
        "Latest": [text if period is not None else "No data" for text, period
                   in zip(table["latest_text"], table["latest_period"])],
        "Period": [f"{pd.Timestamp(p):%b %Y}" if p is not None else "–" for p in table["latest_period"]],
        "Values": table["points"],
        "Variation": [icon_image(k) for k in table["variation"]],
        "Variation (in words)": [t or "No icon" for t in table["variation_text"]],
        "Assurance": [icon_image(k) for k in table["assurance"]],
        "Assurance (in words)": [t or "No icon" for t in table["assurance_text"]],
    })
    st.dataframe(shown, hide_index=True, width="stretch", key="practice_spc_table", column_config={
        "Variation": st.column_config.ImageColumn("Variation", width="small"),
        "Assurance": st.column_config.ImageColumn("Assurance", width="small")})
    if table["latest_suppressed"].any():
        st.caption(suppression.footnote())


chart_column, side_column = st.columns([3, 1], gap="large")
with chart_column:
    if reading is None:
        ui.empty_state(f"{ui.plain(pcn['pcn_name'])} has no values for {ui.plain(measure.label)} yet; "
                       "no chart can be drawn.")
    else:
        if reading.mode == "points" and reading.why_points == "short":
            st.warning(f"Only {reading.points} point{'s' if reading.points != 1 else ''}: SPC limits need at least "
                       f"{detail.MIN_POINTS_FOR_LIMITS}. Each value is shown with its interval, with no variation "
                       "or assurance icon.", icon=":material/warning:")
        elif reading.mode == "points":
            st.info("An annual measure: each value is shown with its interval, with no SPC limits or variation "
                    "and assurance icons.", icon=":material/info:")
        ui.spc_badges(reading.variation, reading.assurance)
        # On screen the title, legend and footnote wrap to fit a phone; downloads keep the print layout.
        ui.show_figure(on_screen, key="spc_chart", export=figure)
        st.markdown(ui.plain(detail.narrative(reading, measure, pcn["pcn_name"])))
        with st.expander("The numbers behind the chart", icon=":material/table:"):
            table = detail.data_table(series, reading, measure)
            ui.table(table, key="spc_table")  # A suppressed period's row is blank, with the footnote
            ui.download_table(table, f"{measure.id} {pcn['pcn']} SPC", key="spc_table_download")
        if may_edit:  # Notes and change points are added by the PCN's editors
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
            if reading.mode == "spc":
                rebase_controls(notes)
    if measure.level == "practice":
        practice_section()
with side_column:
    ui.definition(measure)
