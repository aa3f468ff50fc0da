"""Neighbourhood board: one neighbourhood of the PCN's ICB on one screen, its practices' measures summed."""

import streamlit as st

from measures import board, neighbourhood_board, neighbourhoods, suppression, ui
from measures.ui import neighbourhood_define

pcn = st.session_state["current_pcn"]
icb = pcn.get("icb") if isinstance(pcn.get("icb"), str) else None  # a PCN of no ICB in the data has NaN
icb_name = pcn.get("icb_name") if isinstance(pcn.get("icb_name"), str) else None
hoods = ui.query("neighbourhood_list", icb) if icb else None

if hoods is None or hoods.empty:
    ui.empty_state(f"No neighbourhoods are defined for {ui.plain(icb_name or 'this PCN’s ICB')} yet. An "
                   "ICB defines its neighbourhoods (a code, a name and their member PCNs or practices, with dates) "
                   "in a file, which an administrator loads with `python -m measures neighbourhoods FILE` (or "
                   "enters here, in the app).")
else:
    # The PCN's own neighbourhoods first, so that the picker opens on one it works in.
    own = [fp.code for fp in ui.neighbourhood_footprints(pcn["pcn"])]
    codes = neighbourhood_board.picker_order(hoods, own)
    names = dict(zip(hoods["neighbourhood"], hoods["name"]))
    today = {fp.code: fp for fp in ui.neighbourhood_footprints()}
    pcns = ui.query("pcns")
    pcn_names = dict(zip(pcns["pcn"], pcns["pcn_name"]))
    with st.container(horizontal=True, vertical_alignment="center", gap="medium", key="neighbourhood_controls"):
        heading = st.container(width="stretch")  # filled once the picker has chosen
        code = ui.pick_from_url("Neighbourhood", codes, param="neighbourhood", key="neighbourhood_picker",
                                format_func=lambda c: f"{names[c]} ({c})", width=340)
    with heading:
        st.html(neighbourhood_board.heading_html(today.get(code), code, names[code], pcn_names), width="stretch")

    everything = ui.query("local.catalogue_with_local")  # a PCN's own catalogue leaves neighbourhood measures out
    rows = ui.neighbourhood_board_rows(code, neighbourhoods.board_measures(everything, icb))
    # As the PCN board: outside the neighbourhood's PCNs (and its ICB's analysts) only published periods are shown.
    member = ui.reads_all_local(code)
    if not member:
        ui.refuse(code, f"{names[code]} ({code}): unpublished local values (Integration and Support for practices)")
    shown = {family: [row for row in family_rows if member or family == "national_des" or row.has_data]
             for family, family_rows in board.by_family(rows).items()}
    # One element for the whole board, as the PCN board draws its own.
    st.html(neighbourhood_board.own_board_html(shown, pcn["pcn"], footnote=suppression.footnote(ui.suppress_below())))
    ui.neighbourhood_pack_sidebar(code, names[code])

if icb:  # administrators only: the ICB's neighbourhoods as a table to edit (nothing for anyone else)
    neighbourhood_define.define_section(icb, icb_name)
