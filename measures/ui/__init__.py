"""The Streamlit helpers the pages share, one job per module; pages use them as `from measures import ui`, `ui.X`."""

# The only package of `measures` that imports Streamlit. Read it in this order: launch (the app's name and
# launcher), identity (who is looking), database (the store), reads (cached, access-checked, suppressed queries),
# pickers, widgets, figures (cached per data version), downloads, signin (the sign-in gate and the account sidebar).

from ..catalogue import FAMILY_LABELS
from ..text import escape_markdown as plain  # user and file text shown literally in Markdown elements
from ..text import shown
from .database import directory, refuse_open_network, store, store_problem
from .downloads import board_pack_sidebar, download_table, figure_downloads
from .downloads import neighbourhood_pack_sidebar
from .figures import cached_figure, measure_chart
from .identity import access_config, auth_configured, principal
from .launch import APP_TITLE, SERVE, serve
from .pickers import MEETING, meeting_mode, pick_from_url, pick_measure, pick_pcn, pick_period
from .reads import (area_view, board_rows, dataset_banner, editable, neighbourhood_board_rows, neighbourhood_footprints,
                    practice_spc_table, query, reads_all_local, refuse, suppress_below)
from .signin import ACCESS_LOG_ROWS, account_sidebar, sign_in_gate
from .widgets import (definition, empty_state, family_heading, frame_or_empty, measure_card, show_figure, spc_badges,
                      table)

__all__ = [
    "ACCESS_LOG_ROWS", "APP_TITLE", "FAMILY_LABELS", "MEETING", "SERVE", "access_config", "account_sidebar", "area_view",
    "auth_configured", "board_pack_sidebar", "board_rows", "cached_figure", "dataset_banner", "definition", "directory",
    "download_table", "editable", "empty_state", "family_heading", "figure_downloads", "frame_or_empty",
    "measure_card", "measure_chart", "meeting_mode", "neighbourhood_footprints", "pick_from_url", "pick_measure", "pick_pcn",
    "pick_period", "plain", "practice_spc_table", "principal",
    "query", "neighbourhood_board_rows",
    "reads_all_local", "refuse", "refuse_open_network", "serve", "shown", "show_figure", "sign_in_gate",
    "spc_badges", "store", "store_problem", "suppress_below", "table",
    "neighbourhood_pack_sidebar",
]
