"""Board view: one PCN against both of its goals on one screen, read the Making Data Count way."""

import streamlit as st

from measures import board, suppression, ui
from measures.board_html import board_html

pcn = st.session_state["current_pcn"]
series, comparator = ui.query("overview", pcn["pcn"])
rows = board.board_rows(ui.query("local.catalogue_with_local", pcn["pcn"]), series, comparator)

# As the Overview: outside the PCN (and its ICB's analysts) only the periods it has published are shown.
member = ui.reads_all_local(pcn["pcn"])
if not member:
    ui.refuse(pcn["pcn"], f"{pcn['pcn_name']} ({pcn['pcn']}): unpublished local values (Integration and "
                          "Support for practices)")
shown = {family: [row for row in family_rows if member or family == "national_des" or row.has_data]
         for family, family_rows in board.by_family(rows).items()}
# One element for the whole board: 35 rows of Streamlit widgets take seconds to draw on a projector's laptop.
st.html(board_html(shown, pcn, footnote=suppression.footnote(ui.suppress_below())))
