"""Chart, table and board-pack downloads, each file written to the access log when it is handed out."""

from __future__ import annotations

import threading

import pandas as pd
import streamlit as st

from .. import access
from ..store import Store
from ..text import escape_markdown as plain  # user and file text shown literally in Markdown elements
from .database import store
from .identity import principal
from .reads import reads_all_local


def _logged_export(file_name: str, make):
    """Wrap a download's data callable so that each file handed out is written to the access log.

    Who and which database are read now: the callable runs later, on a thread with no script context.
    """
    who, db = principal(), store()
    pcn = (st.session_state.get("current_pcn") or {}).get("pcn")

    def data() -> bytes:
        payload = make()
        access.log_event(db, who, "export", file_name, f"pcn={pcn}" if pcn else None)
        return payload

    return data


def figure_downloads(fig, *, key: str | None = None) -> None:
    """PNG, SVG and PDF buttons under a chart; each export runs only when its button is clicked."""
    from functools import partial

    from .. import exports

    key = key or exports.slug(fig.layout.title.text or "chart")
    with st.container(horizontal=True, gap="small", key=f"{key}_downloads"):
        for fmt, mime in exports.IMAGE_FORMATS.items():
            file_name = exports.figure_filename(fig, fmt)
            st.download_button(fmt.upper(), data=_logged_export(file_name, partial(exports.figure_image, fig, fmt)),
                               file_name=file_name, mime=mime, key=f"{key}_{fmt}",
                               on_click="ignore", type="tertiary", icon=":material/download:",
                               help=f"This chart as {fmt.upper()}, print size, with its title and source")


def download_table(frame: pd.DataFrame, name: str, *, key: str | None = None) -> None:
    """CSV and XLSX buttons for a table; text that a spreadsheet would run as a formula is neutralised."""
    from functools import partial

    from .. import exports

    stem = exports.slug(name)
    key = key or f"table_{stem}"
    with st.container(horizontal=True, gap="small", key=f"{key}_downloads"):
        st.download_button("CSV", data=_logged_export(f"{stem}.csv", partial(exports.to_csv_bytes, frame)),
                           file_name=f"{stem}.csv",
                           mime=exports.TABLE_FORMATS["csv"], key=f"{key}_csv", on_click="ignore", type="tertiary",
                           icon=":material/download:", help="This table as CSV (UTF-8)")
        st.download_button("XLSX", data=_logged_export(f"{stem}.xlsx", partial(exports.to_xlsx_bytes, frame, name)),
                           file_name=f"{stem}.xlsx",
                           mime=exports.TABLE_FORMATS["xlsx"], key=f"{key}_xlsx", on_click="ignore",
                           type="tertiary", icon=":material/download:", help="This table as an Excel workbook")


@st.cache_data(max_entries=64, show_spinner=False)
def _pack_periods(db_path: str, version: tuple, pcn_code: str) -> list:
    from .. import boardpack

    return boardpack.available_periods(Store(db_path), pcn_code)


_PACKS: dict[tuple, object] = {}
_PACKS_LOCK = threading.Lock()  # download callables run on their own threads


def _board_pack(db_path: str, version: tuple, pcn_code: str, period, who: access.Principal) -> object:
    """The pack model, kept for the latest few choices: a second format reuses the exported charts.

    The cache is shared between sessions, so the reader's right to the pack is checked before every use.
    """
    from .. import boardpack

    if not who.is_admin:
        access.require_local(who, pcn_code, access.directory(Store(db_path)), "board pack")
    cache_key = (db_path, version, pcn_code, period)
    with _PACKS_LOCK:
        if cache_key not in _PACKS:
            while len(_PACKS) >= 4:
                _PACKS.pop(next(iter(_PACKS)))
            _PACKS[cache_key] = boardpack.build_pack(Store(db_path), pcn_code, period, principal=who)
        return _PACKS[cache_key]


def board_pack_sidebar(pcn: dict) -> None:
    """The sidebar's Board pack section: a format, a period, and a download built when it is clicked."""
    from .. import boardpack, exports

    db = store()
    path, version = str(db.path), db.data_version()
    periods = _pack_periods(path, version, pcn["pcn"])
    with st.sidebar.expander("Board pack", icon=":material/slideshow:"):
        if not reads_all_local(pcn["pcn"]):  # A pack holds the PCN's local values in every period
            st.markdown(f"Board packs of {plain(pcn['pcn_name'])} are for its own viewers and editors, analysts of its "
                        "ICB and administrators.")
            return
        # Plain markdown, not st.caption: pages and their tests read the first caption as the page's own.
        if not periods:
            st.markdown("No data for this PCN yet.")
            return
        fmt = st.radio("Format", list(boardpack.FORMATS), format_func=boardpack.FORMAT_LABELS.get,
                       horizontal=True, key="board_pack_format")
        period = st.selectbox("Data as of", periods, format_func=lambda d: d.strftime("%b %Y"),
                              key="board_pack_period", help="Later months are left out, as if the pack were "
                                                            "produced at the end of this month.")
        st.markdown("Cover, summary matrix, a page per measure needing attention, definitions and sources.")
        stem = f"board-pack-{pcn['pcn'].lower()}-{period:%Y-%m}"

        who = principal()  # read here: the download callables run later, on a thread of their own

        def pack_file() -> bytes:
            return boardpack.render(_board_pack(path, version, pcn["pcn"], period, who), fmt)

        def summary_csv() -> bytes:
            return exports.to_csv_bytes(_board_pack(path, version, pcn["pcn"], period, who).summary_frame())

        def summary_xlsx() -> bytes:
            return exports.to_xlsx_bytes(_board_pack(path, version, pcn["pcn"], period, who).summary_frame(),
                                         "summary")

        st.download_button(f"Download board pack ({boardpack.FORMAT_LABELS[fmt]})",
                           data=_logged_export(f"{stem}.{fmt}", pack_file), file_name=f"{stem}.{fmt}", mime=boardpack.FORMATS[fmt], key="board_pack_download",
                           on_click="ignore", type="primary", icon=":material/download:", width="stretch")
        with st.container(horizontal=True, gap="small"):
            st.download_button("Summary CSV", data=_logged_export(f"{stem}-summary.csv", summary_csv), file_name=f"{stem}-summary.csv",
                               mime=exports.TABLE_FORMATS["csv"], key="board_pack_summary_csv", on_click="ignore",
                               type="tertiary", icon=":material/download:")
            st.download_button("Summary XLSX", data=_logged_export(f"{stem}-summary.xlsx", summary_xlsx),
                               file_name=f"{stem}-summary.xlsx",
                               mime=exports.TABLE_FORMATS["xlsx"], key="board_pack_summary_xlsx",
                               on_click="ignore", type="tertiary", icon=":material/download:")
