"""The PCN dashboard: navigation, the PCN picker and the data banner shared by every page."""

import streamlit as st

from measures import ui
from measures.store import StoreDamaged, StoreWriteFailed

st.set_page_config(page_title=ui.APP_TITLE, page_icon=":material/monitoring:", layout="wide")
ui.refuse_open_network()  # open demo mode on a network address, however the app was started
principal = ui.sign_in_gate()  # A sign-in page when `[auth]` is configured, else open demo mode
meeting = ui.meeting_mode()  # `?mode=meeting`: the board on a projector, with no sidebar or editing controls

# Each url_path differs from its file's stem: where they match, a rerun under AppTest finds the
# page through the legacy `pages/` folder discovery and runs it without this script.
board_view = st.Page("pages/board_view.py", title="Board view", icon=":material/view_quilt:", url_path="board_home",
                     default=True)


def board_by_name():
    """`/board` names the board view, whose own address is `/`: go there, keeping the PCN and the other choices."""
    st.switch_page(board_view, query_params=st.query_params.to_dict())


# The default page's address is always `/`, whatever its url_path: without this page `/board` is "Page not found".
navigation = st.navigation([
    board_view,
    st.Page(board_by_name, title="Board view", url_path="board", visibility="hidden"),
    st.Page("pages/neighbourhood_board.py", title="Neighbourhood board", icon=":material/hub:", url_path="neighbourhood"),
    st.Page("pages/pcn_overview.py", title="Overview", icon=":material/dashboard:", url_path="overview", default=False),
    st.Page("pages/measure_detail.py", title="Measure detail", icon=":material/show_chart:", url_path="measure"),
    st.Page("pages/compare_areas.py", title="Compare areas", icon=":material/leaderboard:", url_path="compare"),
    st.Page("pages/local_measures.py", title="Local measures", icon=":material/edit_note:", url_path="local"),
    st.Page("pages/data_quality.py", title="Data", icon=":material/fact_check:", url_path="data"),
], position="hidden" if meeting else "sidebar")
st.session_state["current_pcn"] = ui.pick_pcn()
if not meeting:
    ui.account_sidebar(principal)  # Who is signed in, sign out
    ui.board_pack_sidebar(st.session_state["current_pcn"])  # Board pack downloads
ui.dataset_banner()
try:
    navigation.run()
except (StoreDamaged, StoreWriteFailed) as problem:  # a damaged file, or a save the disk could not take
    ui.store_problem(problem)
