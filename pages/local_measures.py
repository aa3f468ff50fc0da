"""Local measures: record values (grid or template), see every change, fair shares, and define measures."""

import math

import pandas as pd
import streamlit as st

from measures import access, data_quality, local, ui
from measures.catalogue import COMPARISONS_BY_TYPE, DEFAULT_COMPARISON, FAMILY_LABELS
from measures.charts_fair_share import POPULATION_BASIS, fair_share_figure

pcn = st.session_state["current_pcn"]
code = pcn["pcn"]
store = ui.store()
st.title("Local measures")
st.caption(f"{ui.plain(pcn['pcn_name'])} ({code}) · measures set by the PCN or by {ui.plain(pcn['icb_name'])}: "
           "integration with local partners, and what the PCN did for its practices")
# The PCN's own viewers and editors, its ICB's analysts and administrators work here; others are refused.
who = ui.principal()
if not ui.reads_all_local(code):
    ui.refuse(code, f"{pcn['pcn_name']} ({code}): local values, their history and recording")
    st.stop()
can_edit = ui.editable(code)
if who.open:
    actor = st.sidebar.text_input("Your name, for the change log", key="actor", placeholder="e.g. your name and role")
else:  # signed in: the change log records the signed-in identity
    st.session_state["actor"] = actor = who.actor
    st.sidebar.markdown(f":small[Changes are logged as **{ui.plain(actor)}**.]")
    if not can_edit:
        st.info(f"You can read {ui.plain(pcn['pcn_name'])}'s local values; only its editors record values, "
                f"define measures and publish periods. Your access: {ui.plain(who.roles_text)}.",
                icon=":material/visibility:")
if flash := st.session_state.pop("local_flash", None):
    st.success(flash, icon=":material/check_circle:")

measures = ui.query("local.recordable_measures", code)
by_id = {m.id: m for m in measures}

# Editors are reminded of the ended periods still to record: the same gaps as the Data page's table.
if can_edit:
    try:
        day = data_quality.today()
    except ValueError as problem:  # a PCN_TODAY that is not a date: the Data page says so too
        st.warning(f"No reminders of values to record: {ui.plain(problem)}", icon=":material/event_busy:")
        reminders = []
    else:
        reminders = local.still_to_record(data_quality.gap_table(
            ui.query("data_quality.local_submissions", (code,), day)))
    if reminders:
        st.info("**Still to record** (ended periods with no value):\n\n"
                + "\n".join(f"- {ui.plain(line)}" for line in reminders), icon=":material/pending_actions:")


def month_text(day) -> str:
    return pd.Timestamp(day).strftime("%b %Y")


def number_text(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:,.10g}"


def show_problems(error: local.RecordingError) -> None:
    st.error(f"**Nothing was saved.** {len(error.problems)} problem{'s' if len(error.problems) != 1 else ''} "
             "to fix:\n\n" + "\n".join(f"- {ui.plain(p)}" for p in error.problems[:50]), icon=":material/block:")


def show_preview(batch: local.Batch) -> pd.DataFrame:
    frame = local.preview(store, batch)
    changed = frame[frame["change"] != "unchanged"]
    deleted = int((frame["change"] == "deleted").sum())
    st.markdown(f"**Preview:** {int((frame['change'] == 'new').sum())} new, "
                f"{int((frame['change'] == 'correction').sum())} corrected, "
                + (f"{deleted} deleted, " if deleted else "")
                + f"{int((frame['change'] == 'unchanged').sum())} unchanged, "
                f"{batch.skipped - deleted} blank rows skipped.")
    if batch.sheet_note:  # which sheet of a workbook was read (hidden sheets never are)
        st.markdown(ui.plain(batch.sheet_note))
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


def save_button(batch: local.Batch, changed: pd.DataFrame, key: str, round_key: str) -> None:
    if not actor.strip():
        st.warning("Enter your name in the sidebar before saving, so the change log says who made the change.")
    deleting = bool((changed["change"] == "deleted").any())
    reason = st.text_input("Why (kept in the change log; needed to delete a value)", key=f"{key}_reason",
                           placeholder="e.g. entered against the wrong practice")
    if deleting and not reason.strip():
        st.info("Say why before deleting: the change log keeps the deleted value and the reason.",
                icon=":material/info:")
    if st.button(f"Save {len(changed)} change{'s' if len(changed) != 1 else ''}", type="primary", key=key,
                 disabled=changed.empty or not actor.strip() or not can_edit or (deleting and not reason.strip())):
        saved = local.save(store, batch, actor, principal=who, reason=reason)
        st.session_state["local_flash"] = ui.plain(saved.summary()) + ". Earlier values are kept in the history."
        st.session_state[round_key] = st.session_state.get(round_key, 0) + 1
        st.session_state.pop(f"{key}_reason", None)
        st.rerun()


if not measures:
    ui.empty_state(f"No locally set measures apply to {ui.plain(pcn['pcn_name'])} yet. Define one under "
                   "*Define a measure*.")
else:
    # One measure and one period for the whole page, kept in the URL (?measure=ID&period=YYYY-MM-DD): every tab
    # (grid, template, history, fair share) follows them.
    left, right = st.columns([3, 1])
    measure = by_id[ui.pick_from_url(
        "Measure", list(by_id), param="measure", key="local_measure", width="stretch", container=left,
        format_func=lambda i: f"{by_id[i].label} ({FAMILY_LABELS[by_id[i].family]})")]
    periods = local.recent_periods(measure, 24)[::-1]
    period = ui.pick_period("Period", periods, key="grid_period", container=right)
    level = "PCN" if measure.level == "pcn" else "practice"
    st.caption(f"Version {measure.version} · {level}-level {measure.type} · {measure.frequency} · "
               f"numerator: {ui.plain(measure.numerator.definition)}"
               + (f" · denominator: {ui.plain(measure.denominator.definition)}" if measure.denominator else ""))

# Publishing a period lets people outside the PCN (and its ICB's analysts) see its local values.
published = ui.query("local.published_periods", code)
published_days = [pd.Timestamp(d).date() for d in published["period_start"]]
with st.expander(f"Publishing: {len(published_days)} period{'s' if len(published_days) != 1 else ''} published",
                 icon=":material/public:"):
    st.markdown("Local values are shown to this PCN's own viewers and editors, to analysts of "
                f"{ui.plain(pcn['icb_name'])} and to administrators. **Publishing a period** shows every local "
                "value of the PCN and its practices for that period to everyone signed in (small numbers stay "
                "suppressed).")
    if published_days:
        st.markdown("Published: " + ", ".join(
            f"{month_text(row.period_start)} (by {ui.plain(row.published_by)})" for row in published.itertuples()))
    if can_edit:
        choices = ui.query("local.local_periods", code)
        unpublished = [d for d in choices if d not in published_days]
        left, right = st.columns(2)
        to_publish = left.selectbox("Period to publish", unpublished, format_func=month_text, key="publish_period")
        if left.button("Publish", key="publish", disabled=to_publish is None, icon=":material/public:"):
            local.publish_period(store, who, code, to_publish)
            st.session_state["local_flash"] = (f"Published {ui.plain(pcn['pcn_name'])}'s local values for "
                                               f"{month_text(to_publish)}.")
            st.rerun()
        to_withdraw = right.selectbox("Published period to withdraw", published_days, format_func=month_text,
                                      key="withdraw_period")
        if right.button("Withdraw", key="withdraw", disabled=to_withdraw is None, icon=":material/public_off:"):
            local.withdraw_period(store, who, code, to_withdraw)
            st.session_state["local_flash"] = f"Withdrew {month_text(to_withdraw)}: only the PCN sees it again."
            st.rerun()

record_tab, upload_tab, history_tab, fair_tab, define_tab = st.tabs(
    ["Record values", "Upload a file", "History", "Fair share", "Define a measure"])

if measures:
    with record_tab:
        grid = ui.query("local.grid_frame", measure.id, code, period)
        st.markdown(f"**{ui.plain(measure.label)}, {month_text(period)}** (change the measure or period above)")
        columns = ["org_code", "org_name", "numerator"] + (["denominator"] if measure.denominator else [])
        if not can_edit:  # Read only, and small numbers suppressed: editors see the values they entered
            names = {"org_code": "Code", "org_name": "Organisation", "numerator": "Numerator",
                     "denominator": "Denominator"}
            ui.table(grid[[*columns, "suppressed"]].rename(columns=names), key="grid_read_only",
                     formats={"Numerator": "{:,.10g}", "Denominator": "{:,.10g}"})
        else:
            round_no = st.session_state.get("grid_round", 0)
            grid_key = f"grid:{measure.id}:{period}:{round_no}"
            # Numbers as numbers, so an empty cell shows empty (not "None")
            grid = grid.astype({"numerator": "float64", "denominator": "float64"})
            edited = st.data_editor(
                grid, key=grid_key, hide_index=True, num_rows="fixed", placeholder="",
                column_order=columns, disabled=["org_code", "org_name"],
                column_config={
                    "org_code": "Code", "org_name": "Organisation",
                    "numerator": st.column_config.NumberColumn("Numerator",
                                                               help=ui.plain(measure.numerator.definition)),
                    "denominator": st.column_config.NumberColumn(
                        "Denominator", help=ui.plain(measure.denominator.definition) if measure.denominator else None),
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
                    batch = local.batch_from_grid(store, measure.id, code, period, edited)
                except local.RecordingError as exc:
                    show_problems(exc)
                else:
                    save_button(batch, show_preview(batch), "save_grid", "grid_round")
            elif dirty:
                st.caption("Changed since the last check: press **Check and preview** to see what would be saved.")

    with upload_tab:
        if not can_edit:  # A template holds the values as entered, and an upload's preview shows them
            ui.empty_state("Templates and uploads are for the PCN's editors.")
        else:
            count = st.selectbox(f"Periods in the template, up to {month_text(period)}", [1, 3, 6, 12], index=1,
                                 key="template_periods")
            chosen = tuple(local.periods_ending(measure, period, count))
            template = ui.query("local.template_frame", measure.id, code, chosen)
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
                st.error(f"Uploads are off until the setting is fixed: {ui.plain(str(setting))}", icon=":material/error:")
                limit = None
            uploaded = None if limit is None else st.file_uploader(
                f"Filled-in template (CSV or XLSX, up to {limit:g} MB)", type=["csv", "xlsx"],
                max_upload_size=max(1, math.ceil(limit)), key=f"upload:{st.session_state.get('upload_round', 0)}")
            if uploaded is not None:
                try:
                    batch = local.parse_upload(store, uploaded.name, uploaded.getvalue(), pcn_code=code)
                except local.RecordingError as exc:
                    show_problems(exc)
                else:
                    save_button(batch, show_preview(batch), "save_upload", "upload_round")

    with history_tab:
        changes = ui.query("local.recent_changes", code)
        st.subheader("Recent changes", divider="blue")
        if ui.frame_or_empty(changes, f"No values of {ui.plain(pcn['pcn_name'])} have been recorded, corrected or "
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
            ui.download_table(recent, f"{code} recent changes", key="recent_changes_table")
        st.subheader("History of one value", divider="blue")
        mine = changes[changes["measure_id"] == measure.id] if not changes.empty else changes
        orgs = grid["org_code"].tolist()
        org_names = dict(zip(grid["org_code"], grid["org_name"]))
        if not mine.empty:
            orgs = list(dict.fromkeys([*mine["org_code"], *orgs]))
            org_names.update(zip(mine["org_code"], mine["org_name"]))
        when = period
        org = st.selectbox(f"Organisation ({ui.plain(measure.label)}, {month_text(period)})", orgs,
                           format_func=lambda c: f"{org_names.get(c, c)} ({c})", key=f"history_org:{measure.id}")
        history = ui.query("local.value_history", measure.id, org, when)
        if ui.frame_or_empty(history, "This value has never been recorded or corrected here; any value shown came "
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
            ui.download_table(one_value, f"{measure.id} {org} {when:%Y-%m} history", key="value_history_table")

    with fair_tab:
        fair = [m.label for m in measures if m.fair_share and m.level == "practice"]
        if not (measure.fair_share and measure.level == "practice"):
            ui.empty_state(f"{ui.plain(measure.label)} has no fair share (the `fair_share` field). "
                           + (f"Pick one that has, above: {ui.plain(', '.join(fair))}." if fair else
                              "No practice-support measure here has one."))
        else:
            span = st.segmented_control("Over", [12, 6, 3, 1], default=12, key="fair_span",
                                        format_func=lambda n: "the month" if n == 1 else f"{n} months") or 12
            fair_measure, chosen_id = measure, measure.id
            end = period
            start = (pd.Timestamp(end) - pd.DateOffset(months=span - 1)).date()
            shares = ui.query("local.fair_share", chosen_id, code, start, end)
            if ui.frame_or_empty(shares, "No practice values recorded in this period."):
                first, last = shares["first_period"].min(), shares["last_period"].max()
                period_text = month_text(first) if first == last else f"{month_text(first)} to {month_text(last)}"
                ui.show_figure(fair_share_figure(
                    shares, measure_label=fair_measure.label, population=POPULATION_BASIS[fair_measure.fair_share],
                    pcn_name=pcn["pcn_name"], period_text=period_text,
                    source=f"{fair_measure.source.publication}; population from list sizes"), key="fair_chart")
                fair_table = pd.DataFrame({
                    "Practice": shares["org_name"] + " (" + shares["org_code"] + ")",
                    "Share of resource": (shares["resource_share"] * 100).round(1),
                    "Fair share": (shares["population_share"] * 100).round(1),
                    "Gap (points)": shares["gap_points"].round(1),
                    "Months": shares["periods"],
                    "suppressed": shares["suppressed"],  # Shown as *, with the footnote
                })
                ui.table(fair_table, key="fair_table", formats=dict.fromkeys(
                    ["Share of resource", "Fair share", "Gap (points)"], "{:.1f}"))
                ui.download_table(fair_table, f"{chosen_id} fair share {code} {period_text}", key="fair_share_table")


# ---------------------------------------------------------------------------------------------
# Define a measure: the same fields as a catalogue YAML file, checked by the same model.

_FIELDS = ("id", "name", "short_name", "description", "family", "level", "type", "numerator", "denominator",
           "unit", "multiplier", "decimals", "improvement_direction", "comparison", "frequency", "fair_share",
           "scope", "status", "tags", "caveats", "targets", "thresholds", "publication", "publisher")
_COMPARISON_NAMES = {"wilson": "Wilson score interval", "byar": "Byar's method", "dobson": "Dobson's method",
                     "normal": "normal interval", "none": "no interval (ranked only)"}


def _define(prefix: str) -> None:
    fields = {name: st.session_state.get(f"{prefix}{name}") for name in _FIELDS}
    st.session_state.pop("define_result", None)
    if not access.can_define(who, fields.get("scope") or code, code):  # editors of the scope, or administrators
        st.session_state["define_errors"] = {"scope": f"{who.actor} may not define measures set by "
                                                      f"{fields.get('scope') or code}: {who.roles_text}"}
        return
    try:
        measure = local.measure_from_form(fields)
        result = local.define_measure(store, measure, st.session_state.get("actor") or "")
    except local.DefinitionError as exc:
        st.session_state["define_errors"] = exc.errors
        return
    st.session_state["define_errors"] = {}
    st.session_state["define_result"] = result


def _field_error(name: str) -> None:
    message = st.session_state.get("define_errors", {}).get(name)
    if message:
        st.error(ui.plain(message), icon=":material/error:")


with define_tab:
    in_scope_app = [i for i in ui.query("local.app_defined_ids") if i in by_id]
    choice = st.selectbox("Measure to define or change", ["(a new measure)", *in_scope_app], key="define_choice")
    if choice == "(a new measure)":
        defaults = {"family": "local_integration", "level": "pcn", "type": "proportion", "multiplier": 100.0,
                    "decimals": 1, "unit": "%", "improvement_direction": "increase", "frequency": "monthly",
                    "scope": code, "status": "active", "publication": local.LOCAL_PUBLICATION,
                    "publisher": f"set locally by {pcn['pcn_name']}"}
    else:
        defaults = local.measure_form_defaults(by_id[choice])
        st.download_button("Download this measure as YAML", local.measure_yaml(by_id[choice]),
                           file_name=f"{choice}.yaml", mime="application/x-yaml", icon=":material/download:")
        with st.expander("Earlier definitions (every save is kept)"):
            st.dataframe(ui.query("local.definition_history", choice)[["revision", "version", "created_by",
                                                                          "created_at"]], hide_index=True)
    prefix = f"def:{choice}:"
    scopes = [code] + ([pcn["icb"]] if pcn.get("icb") else [])
    with st.form(f"define:{choice}"):
        st.markdown("Changing the numerator or denominator (or type, level or multiplier) makes a **new version**; "
                    "values recorded under earlier versions keep their version.")
        st.text_input("Id (lower-case letters, digits and _; the file name)", defaults.get("id", ""),
                      key=f"{prefix}id", disabled=choice != "(a new measure)")
        _field_error("id")
        st.text_input("Name", defaults.get("name", ""), key=f"{prefix}name")
        _field_error("name")
        st.text_input("Short name (optional)", defaults.get("short_name", ""), key=f"{prefix}short_name")
        st.text_area("Description (what it shows and why it matters)", defaults.get("description", ""),
                     key=f"{prefix}description")
        _field_error("description")
        left, middle, right = st.columns(3)
        left.selectbox("Family", local.LOCAL_FAMILIES, format_func=FAMILY_LABELS.get, key=f"{prefix}family",
                       index=local.LOCAL_FAMILIES.index(defaults["family"]))
        middle.selectbox("Level", ["pcn", "practice"], index=["pcn", "practice"].index(defaults["level"]),
                         key=f"{prefix}level")
        types = ["proportion", "rate", "count", "mean", "currency", "ratio"]
        right.selectbox("Type", types, index=types.index(defaults["type"]), key=f"{prefix}type")
        _field_error("family")
        _field_error("type")
        st.text_area("Numerator: what is counted", defaults.get("numerator", ""), key=f"{prefix}numerator")
        _field_error("numerator")
        st.text_area("Denominator (leave blank for a count)", defaults.get("denominator", ""),
                     key=f"{prefix}denominator")
        _field_error("denominator")
        left, middle, right = st.columns(3)
        left.text_input("Unit", defaults.get("unit", ""), key=f"{prefix}unit")
        middle.number_input("Multiplier", value=float(defaults.get("multiplier", 1.0)), key=f"{prefix}multiplier")
        right.number_input("Decimals", value=int(defaults.get("decimals", 1)), step=1, key=f"{prefix}decimals")
        _field_error("unit")
        _field_error("multiplier")
        _field_error("decimals")
        left, middle, right = st.columns(3)
        directions = ["increase", "decrease", "neutral"]
        left.selectbox("Better when it goes", directions, key=f"{prefix}improvement_direction",
                       index=directions.index(defaults["improvement_direction"]))
        frequencies = ["monthly", "quarterly", "annual"]
        middle.selectbox("Frequency", frequencies, index=frequencies.index(defaults["frequency"]),
                         key=f"{prefix}frequency")
        shares = ["", "registered_population", "weighted_population"]
        right.selectbox("Fair share follows (practice support)", shares,
                        index=shares.index(defaults.get("fair_share") or ""), key=f"{prefix}fair_share",
                        format_func=lambda s: s.replace("_", " ") or "none")
        left, right = st.columns(2)
        left.selectbox("Set by (scope)", scopes, index=scopes.index(defaults["scope"]) if defaults["scope"] in scopes
                       else 0, key=f"{prefix}scope")
        statuses = ["active", "draft", "retired"]
        right.selectbox("Status", statuses, index=statuses.index(defaults["status"]), key=f"{prefix}status")
        _field_error("scope")
        # The methods that fit the type as last submitted; a method that does not fit a changed type is refused.
        kind = st.session_state.get(f"{prefix}type") or defaults["type"]
        comparisons = list(COMPARISONS_BY_TYPE[kind])
        chosen = defaults.get("comparison") or DEFAULT_COMPARISON[kind]
        st.selectbox(f"Compare areas by (methods that fit a {kind})", comparisons, key=f"{prefix}comparison",
                     index=comparisons.index(chosen) if chosen in comparisons else 0,
                     format_func=_COMPARISON_NAMES.get)
        _field_error("comparison")
        left, right = st.columns(2)
        left.text_area(f"Targets, one financial year a line ({local.TARGET_EXAMPLE})", defaults.get("targets", ""),
                       key=f"{prefix}targets", help="A target for the year gives the SPC chart its assurance icon.")
        right.text_area(f"Thresholds, lower to upper, one year a line ({local.THRESHOLD_EXAMPLE})",
                        defaults.get("thresholds", ""), key=f"{prefix}thresholds",
                        help="No credit at or below lower, full credit at or above upper.")
        with left:
            _field_error("targets")
        with right:
            _field_error("thresholds")
        st.text_input("Tags (comma-separated)", defaults.get("tags", ""), key=f"{prefix}tags")
        st.text_area("Caveats (one per line)", defaults.get("caveats", ""), key=f"{prefix}caveats")
        _field_error("caveats")
        left, right = st.columns(2)
        left.text_input("Who records the data", defaults.get("publication", ""), key=f"{prefix}publication")
        right.text_input("Who set the measure", defaults.get("publisher", ""), key=f"{prefix}publisher")
        _field_error("publication")
        _field_error("form")
        _field_error("actor")
        st.form_submit_button("Check and save", type="primary", on_click=_define, args=(prefix,),
                              key="define_submit")
    if errors := st.session_state.get("define_errors"):
        st.error(f"Not saved: {len(errors)} field{'s' if len(errors) != 1 else ''} to fix (shown beside each).")
    if result := st.session_state.get("define_result"):
        saved = result.measure
        verb = {"new measure": "Saved a new measure", "new version": f"Saved version {saved.version} (the meaning "
                f"changed; values recorded under version {result.previous_version} keep it)",
                "updated": f"Saved changes to version {saved.version}", "unchanged": "Nothing changed"}[result.outcome]
        st.success(f"{verb}: {ui.plain(saved.name)} ({ui.plain(saved.id)}).", icon=":material/check_circle:")
        st.download_button("Download as YAML", local.measure_yaml(saved), file_name=f"{saved.id}.yaml",
                           mime="application/x-yaml", key="download_saved_yaml", icon=":material/download:")
