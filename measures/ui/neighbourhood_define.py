"""An administrator defines an ICB's neighbourhoods in the app: the neighbourhood file's rows as a table to edit."""

from __future__ import annotations

import streamlit as st

from ..importers import neighbourhoods as hood_file
from ..text import escape_markdown as plain
from .database import store
from .identity import principal

_KINDS = ["pcn", "practice"]


def _columns() -> dict:
    # The headings are the ones the checks name ("row 3, column Start"), so a message points at what is on screen.
    heading = hood_file.TABLE_COLUMNS
    return {
        "neighbourhood_code": st.column_config.TextColumn(
            heading["neighbourhood_code"], max_chars=30,
            help="The ICB's own code for it: letters, digits and hyphens, e.g. QZZ-RIVERSIDE"),
        "name": st.column_config.TextColumn(
            heading["name"], max_chars=120, width="medium",
            help="On one row of the neighbourhood (or the same on each of its rows)"),
        "member_kind": st.column_config.SelectboxColumn(
            heading["member_kind"], options=_KINDS, help="pcn: every practice the PCN has on each day; "
                                                         "practice: that practice alone"),
        "member_code": st.column_config.TextColumn(heading["member_code"], max_chars=12,
                                                   help="The PCN's code (e.g. U00254) or the practice's (e.g. A81001)"),
        "start_date": st.column_config.DateColumn(heading["start_date"], format="YYYY-MM-DD",
                                                  help="The first day it is a member"),
        "end_date": st.column_config.DateColumn(heading["end_date"], format="YYYY-MM-DD",
                                                help="The last day it is a member; blank while it still is"),
    }


def _problems(problem: Exception) -> None:
    lines = str(problem).splitlines()
    st.error(f"Nothing was saved: {len(lines)} problem{'s' if len(lines) != 1 else ''} to fix.\n\n"
             + "\n".join(f"- {plain(line)}" for line in lines), icon=":material/error:")


def define_section(icb_code: str, icb_name: str | None = None) -> None:
    """For administrators, the ICB's neighbourhoods and their dated members as an editable table: Check it, Save it
    (the same checks and loading as a neighbourhood file, all or nothing), or download it as that file.

    Anyone else is shown nothing. A store without neighbourhoods (or none for the ICB) gives an empty table.
    """
    who = principal()
    if not who.is_admin or not icb_code:  # a PCN of no ICB in the data has no ICB to define them for
        return
    db = store()
    icb = f"{icb_name} ({icb_code})" if icb_name else icb_code
    round_key = f"hood_define_round:{icb_code}"
    with st.expander("Define this ICB's neighbourhoods", icon=":material/edit_location_alt:"):
        if flash := st.session_state.pop(f"hood_define_flash:{icb_code}", None):
            st.success(flash, icon=":material/check_circle:")
        held = hood_file.held_file(db, icb_code)
        st.markdown(f"Each row is one member of a neighbourhood of {plain(icb)}: a whole PCN or one practice, "
                    "from its start date to its end date (blank while it still is). Give a neighbourhood's name on "
                    "one of its rows. Saving makes the table the ICB's neighbourhoods, as loading a neighbourhood "
                    "file does; a neighbourhood with recorded values stays (end its members' dates instead).")
        if not held.neighbourhoods:
            st.info(f"{plain(icb)} has no neighbourhoods yet: add a row for each member.",
                    icon=":material/info:")
        edited = st.data_editor(
            hood_file.table_rows(held), key=f"hood_table:{icb_code}:{st.session_state.get(round_key, 0)}",
            num_rows="dynamic", hide_index=True, width="stretch", column_order=list(hood_file.TABLE_COLUMNS),
            column_config=_columns(), placeholder="")  # a blank End reads as "still a member", not as None
        st.caption("Problems are named by row (counted from 1 at the top) and column. Nothing is checked while "
                   "you type, and nothing is saved until every row is right.")
        rows = edited.to_dict("records")
        left, middle, right = st.columns(3)
        check = left.button("Check", key=f"hood_check:{icb_code}", icon=":material/fact_check:")
        save = middle.button("Save", key=f"hood_save:{icb_code}", type="primary", icon=":material/save:")
        if held.neighbourhoods:
            right.download_button(
                "Download as a neighbourhood file", hood_file.file_text(held),
                file_name=f"neighbourhoods-{icb_code.lower()}.yaml", mime="application/x-yaml",
                key=f"hood_download:{icb_code}", icon=":material/download:",
                help="What is saved now, as the file `python -m measures neighbourhoods FILE` loads: "
                     "keep it under version control")
        if not (check or save):
            return
        try:
            loaded = hood_file.load_rows(db, icb_code, rows, actor=who.actor, dry_run=check and not save,
                                         principal=who)
        except hood_file.NeighbourhoodFileError as problem:
            _problems(problem)
            return
        if loaded.dry_run:
            st.success(f"The table is right: {plain(loaded.what)}. Nothing saved yet.", icon=":material/check:")
        elif not loaded.changed:
            st.info(f"Nothing changed: {plain(loaded.what)}, as already saved.", icon=":material/info:")
        else:
            st.session_state[round_key] = st.session_state.get(round_key, 0) + 1  # the table reloads from the store
            st.session_state[f"hood_define_flash:{icb_code}"] = (f"Saved {plain(loaded.what)}, by "
                                                                 f"{plain(who.actor)}.")
            st.rerun()
