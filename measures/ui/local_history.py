"""The Local measures page's History tab: the PCN's recent changes, and every change to one value."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from ..catalogue import Measure
from ..text import escape_markdown as plain
from .downloads import download_table
from .local_page import LocalPage, month_text
from .reads import query
from .widgets import frame_or_empty


def show(page: LocalPage, measure: Measure, period: date, grid: pd.DataFrame) -> None:
    """The change log of the PCN and its practices, then the history of the picked measure's value for one of them."""
    code, by_id, can_edit = page.code, page.by_id, page.can_edit
    changes = query("local.recent_changes", code)
    st.subheader("Recent changes", divider="blue")
    if frame_or_empty(changes, f"No values of {plain(page.pcn['pcn_name'])} have been recorded, corrected or "
                               "deleted in the app yet; values shown elsewhere came from the data as loaded."):
        def shown(measure_id, value):
            known = by_id.get(measure_id)
            return "none" if pd.isna(value) else known.format_value(value) if known else f"{value:,.4g}"

        recent = pd.DataFrame({
            "When": changes["changed_at"], "Who": changes["changed_by"],
            "Measure": [by_id[i].label if i in by_id else i for i in changes["measure_id"]],
            "Organisation": changes["org_name"] + " (" + changes["org_code"] + ")",
            "Period": [month_text(d) for d in changes["period_start"]], "Change": changes["action"],
            "Earlier value": [shown(i, v) for i, v in zip(changes["measure_id"], changes["old_value"])],
            "New value": [shown(i, v) for i, v in zip(changes["measure_id"], changes["new_value"])],
            "Source": changes["source"], "Why": changes["reason"].fillna(""),
        })
        if not can_edit:  # A change log's values are for the PCN's editors (ui.query withholds them)
            recent = recent.drop(columns=["Earlier value", "New value"])
            st.caption("Values in the change log are shown to the PCN's editors; elsewhere small numbers are "
                       "suppressed.")
        st.dataframe(recent, hide_index=True, key="recent_changes")
        download_table(recent, f"{code} recent changes", key="recent_changes_table")
    st.subheader("History of one value", divider="blue")
    mine = changes[changes["measure_id"] == measure.id] if not changes.empty else changes
    orgs = grid["org_code"].tolist()
    org_names = dict(zip(grid["org_code"], grid["org_name"]))
    if not mine.empty:
        orgs = list(dict.fromkeys([*mine["org_code"], *orgs]))
        org_names.update(zip(mine["org_code"], mine["org_name"]))
    org = st.selectbox(f"Organisation ({plain(measure.label)}, {month_text(period)})", orgs,
                       format_func=lambda c: f"{org_names.get(c, c)} ({c})", key=f"history_org:{measure.id}")
    history = query("local.value_history", measure.id, org, period)
    if frame_or_empty(history, "This value has never been recorded or corrected here; any value shown came "
                               "from the data as loaded."):
        one_value = pd.DataFrame({
            "When": history["changed_at"], "Who": history["changed_by"], "Change": history["action"],
            "Version": history["measure_version"],
            "Earlier": [measure.format_value(v) if pd.notna(v) else "none" for v in history["old_value"]],
            "Earlier from": history["old_basis"].fillna(""),
            "New": [measure.format_value(v) if pd.notna(v) else "none" for v in history["new_value"]],
            "Numerator": history["new_numerator"], "Denominator": history["new_denominator"],
            "Source": history["source"], "Why": history["reason"].fillna(""),
        })
        if not can_edit:  # As in the change log above
            one_value = one_value.drop(columns=["Earlier", "New", "Numerator", "Denominator"])
        st.dataframe(one_value, hide_index=True, key="value_history")
        download_table(one_value, f"{measure.id} {org} {period:%Y-%m} history", key="value_history_table")
