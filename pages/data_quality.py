"""Data: how fresh each publication is, which practices are missing from it, and who has not recorded local values."""

import streamlit as st

from measures import access, data_quality, ui

pcn = st.session_state["current_pcn"]


try:
    today = data_quality.today()
except ValueError as problem:
    st.error(ui.plain(problem), icon=":material/event_busy:")
    st.stop()

st.title("Data")
st.caption(f"What the figures rest on, judged on {today.day} {today:%B %Y}: each publication's latest file, the "
           "practices missing from it, and the local values not recorded yet")

st.subheader("Publications", divider="blue")
publications = data_quality.freshness(ui.query("data_quality.publications"), today)
if due := publications.loc[publications["due"], "status"].tolist():
    st.warning("**Newer files to import**\n\n" + "\n".join(f"- {ui.plain(line)}" for line in due),
               icon=":material/schedule:")
table = data_quality.publications_table(publications)
ui.table(table, key="publications_view")
ui.download_table(table, "publications", key="publications")
with st.expander("Every import of a published file or of the demo, newest first", icon=":material/history:"):
    history = data_quality.imports_table(ui.query("data_quality.imports"))
    ui.table(history, key="imports_view")
    ui.download_table(history, "imports", key="imports")

has_icb = isinstance(pcn.get("icb"), str)
whole_icb = has_icb and st.toggle(f"Every PCN of {ui.plain(pcn['icb_name'])}", value=True, key="data_scope")
codes = data_quality.pcns_in_scope(ui.query("pcns"), pcn["pcn"], whole_icb)
where = pcn["icb_name"] if whole_icb else pcn["pcn_name"]

st.subheader("Missing from the publications", divider="blue")
coverage = ui.query("data_quality.coverage", codes)
st.caption(ui.plain(data_quality.coverage_summary(coverage)) + " A practice missing from every publication may "
           "have closed or merged since the latest practice-to-PCN map or ePCN workbook.")
gaps = data_quality.coverage_table(data_quality.incomplete(coverage))
if ui.frame_or_empty(gaps, "No member practice is missing from any publication loaded."):
    ui.table(gaps, key="coverage_view")
    ui.download_table(gaps, f"missing from publications {where}", key="coverage")

st.markdown("**Practices without a list size**")
no_list = data_quality.coverage_table(data_quality.without_list_size(coverage))
if ui.frame_or_empty(no_list, "Every member practice has a list size in each month list sizes are loaded for."):
    ui.table(no_list, key="no_list_view")
    ui.download_table(no_list, f"practices without a list size {where}", key="no_list")

st.markdown("**Unknowns in the appointments data**")
if ui.query("meta").get("dataset") == "synthetic":
    ui.empty_state(data_quality.DEMO_UNKNOWNS)
else:
    shares = ui.query("data_quality.appointment_unknowns", codes)
    unknowns = data_quality.unknowns_table(shares)
    if ui.frame_or_empty(unknowns, "No appointments are loaded for these PCNs."):
        ui.table(unknowns, key="unknowns_view")
        ui.download_table(unknowns, f"appointment unknowns {where}", key="unknowns")
    if data_quality.category_not_held(shares):
        st.caption(data_quality.NOT_STORED)

st.markdown("**Practices included in the appointments figures**")
included = ui.query("data_quality.appointment_coverage", data_quality.sub_icbs_in_scope(ui.query("pcns"), codes))
if ui.frame_or_empty(included, data_quality.NO_COVERAGE_FILE):
    summary = ui.plain(data_quality.nhs_coverage_summary(included))
    if included["partial"].any():
        st.warning(summary, icon=":material/warning:")
    else:
        st.caption(summary)
    included_table = data_quality.nhs_coverage_table(included)
    ui.table(included_table, key="appointment_coverage_view")
    ui.download_table(included_table, f"appointments coverage {where}", key="appointment_coverage")

st.subheader("Local measures: who has not recorded what", divider="blue")
# Outside a PCN (and its ICB's analysts) only the periods it has published are read, gaps included.
submissions = access.filter_rows(ui.query("data_quality.local_submissions", codes, today), ui.principal(), ui.directory())
if published_only := not all(ui.reads_all_local(code) for code in codes):
    st.info("Shown for the periods each PCN has published; its own staff and its ICB's analysts see every period.",
            icon=":material/lock:")
st.caption(data_quality.gaps_summary(submissions, published_only=published_only))
missing = data_quality.gap_table(submissions)
if ui.frame_or_empty(missing, "Every value expected is recorded."):
    ui.table(missing, key="local_gaps_view")
    ui.download_table(missing, f"local values not recorded {where}", key="local_gaps")
