"""Local measures: record values (grid or template), see every change, fair shares, and define measures."""

import streamlit as st

from measures import ui
from measures.charts_fair_share import POPULATION_BASIS, fair_share_figure
from measures.ui import local_define, local_fair, local_history, local_page, local_record

# Who is looking (the page stops for anyone who may not read the PCN's local values), and what is left to record.
page = local_page.open_page(st.session_state["current_pcn"])
if page.can_edit:
    local_page.show_reminders(page)

# Pick: one measure and one period for the whole page, kept in the URL; every tab follows them.
picked = local_page.pick_measure_and_period(page)
local_page.publishing(page)

record_tab, upload_tab, history_tab, fair_tab, define_tab = st.tabs(
    ["Record values", "Upload a file", "History", "Fair share", "Define a measure"])

if picked:
    measure, period = picked
    # Query: the values held for the measure and period, one row per organisation.
    grid = ui.query("local.grid_frame", measure.id, page.code, period)
    with record_tab:
        local_record.grid_tab(page, measure, period, grid)
    with upload_tab:
        local_record.upload_tab(page, measure, period)
    with history_tab:
        local_history.show(page, measure, period, grid)
    with fair_tab:
        span = local_fair.pick_span(page, measure, period)
        shares = ui.query("local.fair_share", measure.id, page.code, *span) if span else None
        if span and ui.frame_or_empty(shares, "No practice values recorded in this period."):
            # Figure, then show: each practice's share of the resource against its share of the population.
            ui.show_figure(fair_share_figure(
                shares, measure_label=measure.label, population=POPULATION_BASIS[measure.fair_share],
                pcn_name=page.pcn["pcn_name"], period_text=local_fair.period_text(shares),
                source=f"{measure.source.publication}; population from list sizes"), key="fair_chart")
            local_fair.show_table(page, measure, shares)

with define_tab:
    local_define.show(page)
