"""Recording local values on the page: the grid, the template and upload, the preview and the save with a reason."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import streamlit as st

from .. import local
from ..catalogue import Measure
from ..text import escape_markdown as plain
from .local_page import LocalPage, month_text
from .reads import query
from .widgets import empty_state, table


def number_text(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:,.10g}"


def show_problems(error: local.RecordingError) -> None:
    st.error(f"**Nothing was saved.** {len(error.problems)} problem{'s' if len(error.problems) != 1 else ''} "
             "to fix:\n\n" + "\n".join(f"- {plain(p)}" for p in error.problems[:50]), icon=":material/block:")


def show_preview(page: LocalPage, batch: local.Batch) -> pd.DataFrame:
    """What saving would change, counted and listed; returns the rows that change."""
    frame = local.preview(page.store, batch)
    changed = frame[frame["change"] != "unchanged"]
    deleted = int((frame["change"] == "deleted").sum())
    st.markdown(f"**Preview:** {int((frame['change'] == 'new').sum())} new, "
                f"{int((frame['change'] == 'correction').sum())} corrected, "
                + (f"{deleted} deleted, " if deleted else "")
                + f"{int((frame['change'] == 'unchanged').sum())} unchanged, "
                f"{batch.skipped - deleted} blank rows skipped.")
    if batch.sheet_note:  # which sheet of a workbook was read (hidden sheets never are)
        st.markdown(plain(batch.sheet_note))
    if not changed.empty:
        st.dataframe(pd.DataFrame({
            "Row": changed["row"], "Organisation": changed["org_code"],
            "Period": [month_text(d) for d in changed["period_start"]], "Change": changed["change"],
            "Earlier": [f"{number_text(n)} / {number_text(d)}".rstrip(" /") for n, d in
                        zip(changed["old_numerator"], changed["old_denominator"])],
            "New": [f"{number_text(n)} / {number_text(d)}".rstrip(" /") for n, d in
                    zip(changed["numerator"], changed["denominator"])],
        }), hide_index=True, key=None)
    return changed


def save_button(page: LocalPage, batch: local.Batch, changed: pd.DataFrame, key: str, round_key: str) -> None:
    """The reason box and the save button: a name is needed to save, and a reason to delete."""
    actor = page.actor
    if not actor.strip():
        st.warning("Enter your name in the sidebar before saving, so the change log says who made the change.")
    deleting = bool((changed["change"] == "deleted").any())
    reason = st.text_input("Why (kept in the change log; needed to delete a value)", key=f"{key}_reason",
                           placeholder="e.g. entered against the wrong practice")
    if deleting and not reason.strip():
        st.info("Say why before deleting: the change log keeps the deleted value and the reason.",
                icon=":material/info:")
    if st.button(f"Save {len(changed)} change{'s' if len(changed) != 1 else ''}", type="primary", key=key,
                 disabled=changed.empty or not actor.strip() or not page.can_edit or (deleting and not reason.strip())):
        saved = local.save(page.store, batch, actor, principal=page.who, reason=reason)
        st.session_state["local_flash"] = plain(saved.summary()) + ". Earlier values are kept in the history."
        st.session_state[round_key] = st.session_state.get(round_key, 0) + 1
        st.session_state.pop(f"{key}_reason", None)
        st.rerun()


def grid_tab(page: LocalPage, measure: Measure, period: date, grid: pd.DataFrame) -> None:
    """One period's values, one row per organisation: read only, or a grid an editor types into."""
    st.markdown(f"**{plain(measure.label)}, {month_text(period)}** (change the measure or period above)")
    columns = ["org_code", "org_name", "numerator"] + (["denominator"] if measure.denominator else [])
    if not page.can_edit:  # Read only, and small numbers suppressed: editors see the values they entered
        names = {"org_code": "Code", "org_name": "Organisation", "numerator": "Numerator",
                 "denominator": "Denominator"}
        table(grid[[*columns, "suppressed"]].rename(columns=names), key="grid_read_only",
              formats={"Numerator": "{:,.10g}", "Denominator": "{:,.10g}"})
        return
    round_no = st.session_state.get("grid_round", 0)
    grid_key = f"grid:{measure.id}:{period}:{round_no}"
    # Numbers as numbers, so an empty cell shows empty (not "None")
    grid = grid.astype({"numerator": "float64", "denominator": "float64"})
    edited = st.data_editor(
        grid, key=grid_key, hide_index=True, num_rows="fixed", placeholder="",
        column_order=columns, disabled=["org_code", "org_name"],
        column_config={
            "org_code": "Code", "org_name": "Organisation",
            "numerator": st.column_config.NumberColumn("Numerator", help=plain(measure.numerator.definition)),
            "denominator": st.column_config.NumberColumn(
                "Denominator", help=plain(measure.denominator.definition) if measure.denominator else None),
        })
    st.caption("Type numbers into the grid, then **Check and preview**: nothing is checked while you type, "
               "and nothing is saved before the preview. Clearing both cells of a row deletes its value "
               "(the change log keeps it, with your reason).")
    edited_cells = edited[["numerator", "denominator"]].astype("float64")
    edits = edited_cells.to_json()
    dirty = not edited_cells.equals(grid[["numerator", "denominator"]])
    if st.button("Check and preview", key="preview_grid", disabled=not dirty, icon=":material/fact_check:"):
        st.session_state["grid_checked"] = (grid_key, edits)
    if dirty and st.session_state.get("grid_checked") == (grid_key, edits):
        try:
            batch = local.batch_from_grid(page.store, measure.id, page.code, period, edited)
        except local.RecordingError as exc:
            show_problems(exc)
        else:
            save_button(page, batch, show_preview(page, batch), "save_grid", "grid_round")
    elif dirty:
        st.caption("Changed since the last check: press **Check and preview** to see what would be saved.")


def upload_tab(page: LocalPage, measure: Measure, period: date) -> None:
    """A template to download (the periods up to the one picked), and a filled-in one to check and save."""
    if not page.can_edit:  # A template holds the values as entered, and an upload's preview shows them
        empty_state("Templates and uploads are for the PCN's editors.")
        return
    code = page.code
    count = st.selectbox(f"Periods in the template, up to {month_text(period)}", [1, 3, 6, 12], index=1,
                         key="template_periods")
    chosen = tuple(local.periods_ending(measure, period, count))
    template = query("local.template_frame", measure.id, code, chosen)
    stem = f"{measure.id}_{code}_{chosen[0]:%Y-%m}_to_{chosen[-1]:%Y-%m}" if chosen else f"{measure.id}_{code}"
    left, right = st.columns(2)
    left.download_button("Download template (CSV)", local.template_csv(template), file_name=f"{stem}.csv",
                         mime="text/csv", icon=":material/download:")
    right.download_button("Download template (XLSX)", local.template_xlsx(template, measure),
                          file_name=f"{stem}.xlsx", icon=":material/download:",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    rows_are = "each member practice" if measure.level == "practice" else "the PCN"
    st.caption(f"{len(template)} rows: {rows_are} for each period, with the values held now. Fill in "
               "numerator and denominator; leave both blank where there is nothing to record.")
    try:
        limit = local.max_upload_mb()
    except ValueError as setting:  # a PCN_MAX_UPLOAD_MB that is not a number above 0
        st.error(f"Uploads are off until the setting is fixed: {plain(str(setting))}", icon=":material/error:")
        limit = None
    uploaded = None if limit is None else st.file_uploader(
        f"Filled-in template (CSV or XLSX, up to {limit:g} MB)", type=["csv", "xlsx"],
        max_upload_size=max(1, math.ceil(limit)), key=f"upload:{st.session_state.get('upload_round', 0)}")
    if uploaded is not None:
        try:
            batch = local.parse_upload(page.store, uploaded.name, uploaded.getvalue(), pcn_code=code)
        except local.RecordingError as exc:
            show_problems(exc)
        else:
            save_button(page, batch, show_preview(page, batch), "save_upload", "upload_round")
