"""Compare areas: one measure across PCNs, ranked with confidence intervals and on a funnel plot."""

import streamlit as st

from measures import access, charts, compare, ui
from measures.catalogue import default_catalogue

pcn = st.session_state["current_pcn"]
measure = ui.pick_measure(default_catalogue())
periods = ui.query("measure_periods", measure.id)
if not periods:
    ui.empty_state(f"No PCN has values for {ui.plain(measure.label)} yet.")
    st.stop()

area_column, period_column, comparator_column = st.columns(3)
areas = ui.query("areas")
area_labels = {"england": "All England"} | {f"{r.level}:{r.code}": f"{r.name} ({r.code})" for r in areas.itertuples()}
default_area = f"icb:{pcn['icb']}" if f"icb:{pcn['icb']}" in area_labels else "england"
area = area_column.selectbox("Area", list(area_labels), index=list(area_labels).index(default_area),
                             format_func=area_labels.get, key="area_picker")
period = period_column.selectbox("Period", periods, format_func=lambda d: d.strftime("%b %Y"), key="period_picker")
comparator_choice = comparator_column.radio("Compare with", ["ICB", "England"], horizontal=True, key="comparator")
peers = st.selectbox("Peer group", list(compare.PEER_GROUPS), format_func=compare.PEER_GROUPS.get, key="peer_group",
                     help="Peers are chosen from the whole area, with the chosen PCN always included.")

everyone = ui.query("pcn_values", measure.id, period)
if access.is_local_measure(measure.id) and not ui.principal().is_admin:  # issue 7
    st.info(f"{ui.plain(measure.label)} is set locally: PCNs are shown where you may read their values (your own "
            "PCNs, your ICB's as an ICB analyst, and any PCN that has published this period).", icon=":material/lock:")
    if everyone.empty:
        ui.empty_state(f"No PCN's values of {ui.plain(measure.label)} for {period:%b %Y} are readable by you.")
        st.stop()
shown = everyone if area == "england" else everyone[everyone[area.split(":")[0]] == area.split(":")[1]]
if peers != "area":
    shown = compare.peer_group(shown, pcn["pcn"], by=peers)
comparator_pool = everyone[everyone["icb"] == pcn["icb"]] if comparator_choice == "ICB" else everyone
comparator_label = f"{pcn['icb_name']} average" if comparator_choice == "ICB" else "England average"
comparator = compare.pooled_value(comparator_pool, measure)
frame = compare.benchmarked(shown, measure, comparator)

st.caption(f"{len(frame)} PCNs · {ui.plain(measure.label)} · {period:%b %Y} · comparator: "
           f"{ui.plain(comparator_label)} {measure.format_value(comparator)}")
ranked_tab, funnel_tab, table_tab = st.tabs(["Ranked", "Funnel plot", "Table"])
with ranked_tab:
    ui.show_figure(charts.ranked_bar(frame, measure, highlight=pcn["pcn"], comparator_label=comparator_label,
                                     comparator_value=comparator, period=period, area_label=area_labels[area]),
                   key="ranked_chart")
with funnel_tab:
    limits = compare.funnel(frame, measure, comparator) if comparator is not None else None
    if limits is None:
        ui.empty_state(f"A funnel plot needs a proportion or a rate; {ui.plain(measure.label)} is a {measure.type}.")
    else:
        ui.show_figure(charts.funnel_plot(frame, limits, measure, highlight=pcn["pcn"],
                                          comparator_label=comparator_label, comparator_value=comparator,
                                          period=period, area_label=area_labels[area]), key="funnel_chart")
with table_tab:
    table = compare.comparison_table(frame, measure)
    ui.table(table)  # issue 7: a suppressed PCN's numbers are blank, compared "suppressed", with the footnote
    ui.download_table(table, f"{measure.label} {area_labels[area]} {period:%Y-%m}", key="compare_table")  # issue 6
