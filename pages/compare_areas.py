"""Compare areas: one measure across PCNs (or an ICB's neighbourhoods), ranked and on a funnel plot.

Each measure is compared by its declared method."""

import pandas as pd
import streamlit as st

from measures import access, charts, compare, compare_neighbourhoods, suppression, ui

ROW_PIXELS, HEADER_PIXELS, MAX_TABLE_PIXELS = 35, 38, 1_450  # st.dataframe's row and header heights

pcn = st.session_state["current_pcn"]


def show_table(table: pd.DataFrame, name: str) -> None:
    """The table with numbers rounded to the measure's decimals and units, tall enough for an ICB's PCNs."""
    value_format = {"%": f"%.{compared.decimals}f%%"}.get(compared.unit, f"%.{compared.decimals}f")
    if compared.unit.startswith("£"):
        value_format = f"£%.{compared.decimals}f"
    unit = "" if compared.unit in ("%", "ratio") or compared.unit.startswith("£") else f" ({compared.unit})"
    numbers = {column: st.column_config.NumberColumn(f"{column}{unit}", format=value_format)
               for column in (compared.label, "95% CI lower", "95% CI upper") if column in table}
    whole = {column: st.column_config.NumberColumn(column, format="localized")
             for column in ("Numerator", "Denominator", "List size") if column in table}
    config = {**numbers, **whole, "IMD score (deprivation)": st.column_config.NumberColumn(format="%.1f")}
    if compare.NOTE_COLUMN in table:
        config[compare.NOTE_COLUMN] = st.column_config.TextColumn(width="large")
    flagged = table[suppression.FLAG].astype(bool) if suppression.FLAG in table else pd.Series(False, index=table.index)
    height = min(HEADER_PIXELS + ROW_PIXELS * len(table) + 2, MAX_TABLE_PIXELS)  # no inner scroll up to 40 rows
    st.dataframe(table, hide_index=True, width="stretch", height=height, column_config=config,
                 column_order=[c for c in table.columns if c != suppression.FLAG], key="compare_table_view")
    if flagged.any():  # a suppressed PCN's numbers are blank, compared "suppressed", with the footnote
        st.caption(suppression.footnote())
    ui.download_table(table, name, key="compare_table")


# An ICB with neighbourhoods compares them too (`?level=neighbourhood`).
LEVELS = {"pcn": "PCNs", "neighbourhood": "Neighbourhoods"}
level = "pcn"
if not ui.query("neighbourhood_list", pcn["icb"]).empty:
    if "compare_level" not in st.session_state:
        st.session_state["compare_level"] = st.query_params.get("level") if st.query_params.get("level") in LEVELS else "pcn"
    level = st.segmented_control("Compare", list(LEVELS), format_func=LEVELS.get, key="compare_level", required=True)
    if level == "pcn":
        st.query_params.pop("level", None)
    else:
        st.query_params["level"] = level

if level == "neighbourhood":
    everything = ui.query("local.catalogue_with_local")
    measure = ui.pick_measure(compare_neighbourhoods.measures(everything, pcn["icb"]), key="neighbourhood_measure")
    comparison = compare.comparison_for(measure)
    compared = comparison.measure
    periods = compare_neighbourhoods.periods(ui.store(), measure, pcn["icb"])
    if not periods:
        ui.empty_state(f"No neighbourhood of {ui.plain(pcn['icb_name'])} has values for {ui.plain(measure.label)} yet.")
        st.stop()
    period = st.selectbox("Period", periods, format_func=lambda d: d.strftime("%b %Y"), key="neighbourhood_period")
    values = compare_neighbourhoods.values(ui.store(), measure, pcn["icb"], period, ui.principal(), ui.directory())
    values = compare_neighbourhoods.suppressed(values, everything, measure, ui.suppress_below())
    if values.empty:
        ui.empty_state(f"No neighbourhood's values of {ui.plain(measure.label)} for {period:%b %Y} are readable by "
                       "you (a neighbourhood's are shown to its PCNs and its ICB's analysts, and to everyone once "
                       "published).")
        st.stop()
    shown = compare.prepared(values, comparison)
    name = f"{measure.label} neighbourhoods {pcn['icb']} {period:%Y-%m}"
    if not comparison.ranked:
        ui.empty_state(f"Not ranked: {ui.plain(comparison.reason)}.")
        show_table(compare_neighbourhoods.table(compare.comparison_table(shown, measure, ranked=False)), name)
        st.stop()
    comparator = compare.pooled_value(shown, compared)
    frame = compare.benchmarked(shown, compared, comparator if comparison.intervals else None, method=comparison.method)
    st.caption(f"{len(frame)} neighbourhoods of {ui.plain(pcn['icb_name'])} · {ui.plain(compared.label)} · "
               f"{period:%b %Y} · comparator: the neighbourhoods together {compared.format_value(comparator)} · "
               f"method: {compare.METHOD_TEXT[comparison.method]}")
    for note in compare.exclusion_notes(frame) + compare.above_natural_range_notes(frame, compared):
        st.warning(ui.plain(note), icon=":material/warning:")
    own = [fp.code for fp in ui.neighbourhood_footprints(pcn["pcn"])]
    ui.show_figure(ui.cached_figure(charts.ranked_bar, frame, measure=compared, highlight=own[0] if own else None,
                                    comparator_label=compare_neighbourhoods.COMPARATOR_LABEL,
                                    comparator_value=comparator, period=period, area_label=f"Neighbourhoods of {pcn['icb_name']}",
                                    interval_text=comparison.interval_text(), intervals=comparison.intervals),
                   key="neighbourhood_ranked_chart")
    show_table(compare_neighbourhoods.table(compare.comparison_table(frame, compared)), name)
    st.stop()

measure = ui.pick_measure(ui.query("local.catalogue_with_local", pcn["pcn"]))  # YAML + app-defined
comparison = compare.comparison_for(measure)
compared = comparison.measure  # a count of events is ranked per 1,000 patients
periods = ui.query("measure_periods", measure.id)
if not periods:
    ui.empty_state(f"No PCN has values for {ui.plain(measure.label)} yet.")
    st.stop()

area_column, period_column, comparator_column = st.columns(3)
area_labels = ui.query("area_choices")
default_area = f"icb:{pcn['icb']}" if f"icb:{pcn['icb']}" in area_labels else "england"
area = area_column.selectbox("Area", list(area_labels), index=list(area_labels).index(default_area),
                             format_func=area_labels.get, key="area_picker")
period = period_column.selectbox("Period", periods, format_func=lambda d: d.strftime("%b %Y"), key="period_picker")
comparator_choice = comparator_column.radio("Compare with", ["ICB", "England"], horizontal=True, key="comparator")
peers = st.selectbox("Peer group", list(compare.PEER_GROUPS), format_func=compare.PEER_GROUPS.get, key="peer_group",
                     help="Peers are chosen from the whole area, with the chosen PCN always included.")

everyone, view, view_key = ui.area_view(measure, period, pcn, area=area, peers=peers, comparator=comparator_choice)
if access.is_local_measure(measure.id) and not ui.principal().is_admin:  # local values: each PCN's readers only
    st.info(f"{ui.plain(measure.label)} is set locally: PCNs are shown where you may read their values (your own "
            "PCNs, your ICB's as an ICB analyst, and any PCN that has published this period).", icon=":material/lock:")
    if everyone.empty:
        ui.empty_state(f"No PCN's values of {ui.plain(measure.label)} for {period:%b %Y} are readable by you.")
        st.stop()

download_name = f"{measure.label} {area_labels[area]} {period:%Y-%m}"
if view.frame is None:
    ui.empty_state(f"Not ranked: {ui.plain(comparison.reason)}.")
    st.caption(f"{len(view.shown)} PCNs · {ui.plain(measure.label)} · {period:%b %Y} · values as recorded, in PCN order")
    show_table(view.table, download_name)
    st.stop()

st.caption(f"{len(view.frame)} PCNs · {ui.plain(compared.label)} · {period:%b %Y} · comparator: "
           f"{ui.plain(view.comparator_label)} {compared.format_value(view.comparator)} · method: "
           f"{compare.METHOD_TEXT[comparison.method]}")
if comparison.per_patients:
    st.info(f"{ui.plain(measure.label)} is a count: PCNs differ in size, so it is compared per 1,000 registered "
            "patients (the PCN's list size), with Byar's method.", icon=":material/info:")
if not comparison.intervals:
    st.info(f"No significance colours: {ui.plain(comparison.reason)}.", icon=":material/info:")
for note in view.left_out + view.as_recorded:
    st.warning(ui.plain(note), icon=":material/warning:")

# Only the open tab runs, and `?tab=` names it (a link can open the funnel): the funnel plot, and the table of
# every PCN in the area, are built and sent when they are looked at, not on every run of the ranked chart.
ranked_tab, funnel_tab, table_tab = st.tabs(["Ranked", "Funnel plot", "Table"], key="tab", on_change="rerun",
                                            bind="query-params")


def ranked() -> None:
    ui.show_figure(ui.cached_figure(charts.ranked_bar, view.frame, measure=compared, frames_key=view_key,
                                    highlight=pcn["pcn"], comparator_label=view.comparator_label,
                                    comparator_value=view.comparator, period=period, area_label=area_labels[area],
                                    interval_text=comparison.interval_text(), intervals=comparison.intervals,
                                    notes=view.left_out + view.as_recorded),
                   key="ranked_chart")


def funnel() -> None:
    if view.limits is None:
        ui.empty_state(ui.plain(view.no_funnel or f"No funnel plot for {measure.label}."))
        return
    ui.show_figure(ui.cached_figure(charts.funnel_plot, view.frame, view.limits, measure=compared,
                                    frames_key=view_key, highlight=pcn["pcn"],
                                    comparator_label=view.comparator_label, comparator_value=view.comparator,
                                    period=period, area_label=area_labels[area], notes=view.left_out),
                   key="funnel_chart")


def table() -> None:
    st.caption(f"95% confidence intervals: {compare.METHOD_TEXT[comparison.method]}." if comparison.intervals
               else f"No intervals: {ui.plain(comparison.reason)}.")
    show_table(view.table, download_name)


for tab, show in ((ranked_tab, ranked), (funnel_tab, funnel), (table_tab, table)):
    if tab.open:
        with tab:
            show()
