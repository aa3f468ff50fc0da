"""Chart, table and board-pack downloads, each file written to the access log when it is handed out."""

from __future__ import annotations

import threading

import pandas as pd
import streamlit as st

from .. import access
from ..store import Store
from ..text import escape_markdown as plain  # user and file text shown literally in Markdown elements
from ..versioned import PerVersion
from .database import directory, store
from .identity import principal
from .reads import reads_all_local


def _logged_export(file_name: str, make, detail: str | None = None):
    """Wrap a download's data callable so that each file handed out is written to the access log.

    Who and which database are read now: the callable runs later, on a thread with no script context. The log
    names the current PCN unless `detail` says what the file is of.
    """
    who, db = principal(), store()
    pcn = (st.session_state.get("current_pcn") or {}).get("pcn")
    detail = detail or (f"pcn={pcn}" if pcn else None)

    def data() -> bytes:
        payload = make()
        access.log_event(db, who, "export", file_name, detail)
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


_PACK_PERIODS: PerVersion[tuple] = PerVersion(kept=256)


def _pack_periods(db: Store, code: str, neighbourhood: bool = False) -> list:
    """The months a pack of `code` can be had for, newest first, held per data version (shared: a copy is given)."""
    # One PCN's months, an indexed read of a few ms: reading every PCN's at once (40-150 ms at national scale) made
    # the first board after a change wait for all 1,300.
    from .. import boardpack

    read = boardpack.neighbourhood_periods if neighbourhood else boardpack.available_periods
    return list(_PACK_PERIODS.get(db, (code, neighbourhood), lambda: tuple(read(Store(db.path), code))))


_PACKS: dict[tuple, object] = {}
_PACKS_LOCK = threading.Lock()  # download callables run on their own threads


def _board_pack(db_path: str, version: tuple, code: str, period, who: access.Principal,
                neighbourhood: bool = False) -> object:
    """The pack model, kept for the latest few choices: a second format reuses the exported charts.

    The cache is shared between sessions, so the reader's right to the pack is checked before every use; all who
    may read a pack read the same one (a PCN's or a neighbourhood's members read all its values).
    """
    from .. import boardpack

    if not who.is_admin:
        access.require_local(who, code, access.directory(Store(db_path)), "board pack")
    cache_key = (db_path, version, code, period, neighbourhood)
    build = boardpack.build_neighbourhood_pack if neighbourhood else boardpack.build_pack
    with _PACKS_LOCK:
        if cache_key not in _PACKS:
            while len(_PACKS) >= 4:
                _PACKS.pop(next(iter(_PACKS)))
            _PACKS[cache_key] = build(Store(db_path), code, period, principal=who)
        return _PACKS[cache_key]


def board_pack_sidebar(pcn: dict) -> None:
    """The sidebar's Board pack section: a format, a period, and a download built when it is clicked."""
    _pack_sidebar(pcn["pcn"], "Board pack", "board_pack", neighbourhood=False,
                  refusal=f"Board packs of {plain(pcn['pcn_name'])} are for its own viewers and editors, analysts of "
                          "its ICB and administrators.", no_data="No data for this PCN yet.")


def neighbourhood_pack_sidebar(code: str, name: str) -> None:
    """The sidebar's board pack of a neighbourhood: a format, a period, and a download built when it is clicked."""
    pcns = ", ".join(sorted(directory().neighbourhood_pcns.get(code, ())))
    _pack_sidebar(code, f"Board pack: {plain(name)}", "neighbourhood_pack", neighbourhood=True,
                  refusal=f"Board packs of {plain(name)} are for the viewers and editors of its PCNs"
                          f"{f' ({plain(pcns)})' if pcns else ''}, analysts of its ICB and administrators.",
                  no_data="No data for this neighbourhood yet.")


def _pack_sidebar(code: str, title: str, key: str, *, neighbourhood: bool, refusal: str, no_data: str) -> None:
    """A sidebar expander offering the pack of `code`, its widgets keyed from `key`: members only, as a pack holds
    the local values of every period."""
    from .. import boardpack, exports

    db = store()
    path, version = str(db.path), db.data_version()
    periods = _pack_periods(db, code, neighbourhood)
    with st.sidebar.expander(title, icon=":material/slideshow:"):
        if not reads_all_local(code):
            st.markdown(refusal)
            return
        # Plain markdown, not st.caption: pages and their tests read the first caption as the page's own.
        if not periods:
            st.markdown(no_data)
            return
        fmt = st.radio("Format", list(boardpack.FORMATS), format_func=boardpack.FORMAT_LABELS.get,
                       horizontal=True, key=f"{key}_format")
        period = st.selectbox("Data as of", periods, format_func=lambda d: d.strftime("%b %Y"),
                              key=f"{key}_period", help="Later months are left out, as if the pack were "
                                                        "produced at the end of this month.")
        st.markdown("Cover, summary matrix, a page per measure needing attention, definitions and sources.")
        stem = f"board-pack-{code.lower()}-{period:%Y-%m}"
        detail = f"neighbourhood={code}" if neighbourhood else None

        who = principal()  # read here: the download callables run later, on a thread of their own

        def pack() -> object:
            return _board_pack(path, version, code, period, who, neighbourhood)

        def pack_file() -> bytes:
            return boardpack.render(pack(), fmt)

        def summary_csv() -> bytes:
            return exports.to_csv_bytes(pack().summary_frame())

        def summary_xlsx() -> bytes:
            return exports.to_xlsx_bytes(pack().summary_frame(), "summary")

        st.download_button(f"Download board pack ({boardpack.FORMAT_LABELS[fmt]})",
                           data=_logged_export(f"{stem}.{fmt}", pack_file, detail), file_name=f"{stem}.{fmt}",
                           mime=boardpack.FORMATS[fmt], key=f"{key}_download",
                           on_click="ignore", type="primary", icon=":material/download:", width="stretch")
        with st.container(horizontal=True, gap="small"):
            st.download_button("Summary CSV", data=_logged_export(f"{stem}-summary.csv", summary_csv, detail),
                               file_name=f"{stem}-summary.csv", mime=exports.TABLE_FORMATS["csv"],
                               key=f"{key}_summary_csv", on_click="ignore", type="tertiary",
                               icon=":material/download:")
            st.download_button("Summary XLSX", data=_logged_export(f"{stem}-summary.xlsx", summary_xlsx, detail),
                               file_name=f"{stem}-summary.xlsx", mime=exports.TABLE_FORMATS["xlsx"],
                               key=f"{key}_summary_xlsx", on_click="ignore", type="tertiary",
                               icon=":material/download:")
