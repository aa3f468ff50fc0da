"""Overview: one PCN against both of its goals, the national DES markers beside them."""

import streamlit as st

from measures import data_quality, ui
from measures.catalogue import FAMILIES
from measures.overview import build_cards

pcn = st.session_state["current_pcn"]
st.title(ui.plain(pcn["pcn_name"]))
st.caption(" · ".join(ui.plain(part) for part in (pcn["pcn"], pcn["sub_icb_name"], pcn["icb_name"])))

series, comparator = ui.query("overview", pcn["pcn"])
cards = build_cards(ui.query("local.catalogue_with_local", pcn["pcn"]), series, comparator,  # YAML + app-defined
                    practice_spread=ui.query("practice_spread", pcn["pcn"]),
                    caveats=data_quality.card_caveats(ui.query("data_quality.practice_completeness", pcn["pcn"])))

# Outside the PCN (and its ICB's analysts) only the periods it has published are shown.
member = ui.reads_all_local(pcn["pcn"])
if not member:
    ui.refuse(pcn["pcn"], f"{pcn['pcn_name']} ({pcn['pcn']}): unpublished local values (Integration and "
                          "Support for practices)")

for column, family in zip(st.columns(3, gap="medium"), FAMILIES):
    with column:
        ui.family_heading(family)
        for card in cards[family]:
            if member or family == "national_des" or card.has_data:
                ui.measure_card(card)
