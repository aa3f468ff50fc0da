"""The pickers whose choice lives in the URL (PCN, measure, any option), and meeting mode."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ..catalogue import FAMILY_LABELS
from ..text import escape_markdown as plain  # user and file text shown literally in Markdown elements
from ..text import shown
from .reads import query, reads_all_local


def pick_pcn() -> dict:
    """The PCN picker in the sidebar; its choice lives in the URL (`?pcn=CODE`) so a link opens the same view."""
    pcns = query("pcns")
    if pcns.empty:
        st.info("The database holds no PCNs yet. Import the published practice-to-PCN map, or build the demo.")
        st.stop()
    codes = pcns["pcn"].tolist()
    labels = {row.pcn: f"{row.pcn_name} ({row.pcn})" + (f", closed {row.close_date:%b %Y}" if pd.notna(row.close_date) else "")
              for row in pcns.itertuples()}
    wanted = st.query_params.get("pcn")
    if "pcn_picker" not in st.session_state:
        # A new session starts from the URL; after that the picker is the source and the URL follows it.
        if wanted and wanted not in labels:
            st.session_state["_unknown_pcn"] = wanted
        # Without a PCN in the URL (as after signing in), open the first PCN the user reads in full
        st.session_state["pcn_picker"] = (wanted if wanted in labels
                                          else next((code for code in codes if reads_all_local(code)), codes[0]))
    if st.session_state.get("_unknown_pcn"):
        (st if meeting_mode() else st.sidebar).error(
            f"No PCN with code {plain(shown(st.session_state['_unknown_pcn']))}; showing another PCN instead.")
    if meeting_mode():  # no sidebar in a meeting: the PCN is the one in the URL
        choice = st.session_state["pcn_picker"]
    else:
        choice = st.sidebar.selectbox("PCN", codes, format_func=labels.get, key="pcn_picker")
    st.query_params["pcn"] = choice
    return pcns.set_index("pcn").loc[choice].to_dict() | {"pcn": choice}


def pick_from_url(label: str, options: list[str], *, param: str, key: str) -> str:
    """A picker whose choice lives in the URL (`?param=value`), so a link opens the same choice."""
    if key not in st.session_state:
        wanted = st.query_params.get(param)
        st.session_state[key] = wanted if wanted in options else options[0]
    choice = st.selectbox(label, options, key=key, width=240)
    st.query_params[param] = choice
    return choice


MEETING = "meeting"


def meeting_mode() -> bool:
    """Is the app shown in a meeting (`?mode=meeting`): no sidebar, no editing controls, large type?"""
    return st.query_params.get("mode") == MEETING


def pick_measure(catalogue, *, label: str = "Measure", key: str = "measure_picker"):
    """A measure picker whose choice lives in the URL (`?measure=ID`)."""
    ids = [m.id for m in catalogue if m.status != "retired"]
    names = {m.id: f"{m.label} ({FAMILY_LABELS[m.family]})" for m in catalogue}
    if key not in st.session_state:
        wanted = st.query_params.get("measure")
        st.session_state[key] = wanted if wanted in names else ids[0]
    choice = st.selectbox(label, ids, format_func=names.get, key=key)
    st.query_params["measure"] = choice
    return catalogue.get(choice)
