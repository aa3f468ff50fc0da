"""The Streamlit helpers the pages share: the store, cached queries, the PCN picker, banners and cards."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from . import access, local, queries, serving, suppression
from .catalogue import FAMILY_LABELS
from .overview import Card
from .store import DEFAULT_DB, Store, StoreDamaged, StoreWriteFailed, default_db_path, migration_files
from .text import escape_markdown as plain  # user and file text shown literally in Markdown elements
from .text import shown

APP_TITLE = "PCN dashboard"
SERVE = "import sys; from measures.ui import serve; sys.exit(serve(sys.argv[1:]))"  # python -c SERVE run app.py …


def serve(argv: list[str]) -> int:
    """`streamlit run` for this app (`argv` as after `streamlit`), with every page's URL opening cleanly first time.

    Streamlit decides once per server, on its first visitor, whether the app uses the old `pages/` folder
    multipage mode, because a `pages/` folder sits beside `app.py`. A first visitor who opens `/compare` or
    `/measure` is then told "Page not found" (no file is named so) while `st.navigation` draws the page under
    the dialog. This app uses `st.navigation` only, so the folder mode is switched off before the server starts.
    `./run.sh app` and the browser tests start the app this way; a bare `streamlit run app.py` still works, but
    its first visitor to a deep link sees that dialog once.
    """
    import sys

    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", *argv]
    try:
        cli.main()  # a click command: it ends by raising SystemExit with the server's exit code
    except SystemExit as stopped:
        return stopped.code if isinstance(stopped.code, int) else (0 if stopped.code is None else 1)
    return 0


@st.cache_resource(show_spinner="Preparing the database (first run only)…")
def _prepared(path: str) -> bool:
    """Build the demo if the default database is missing, and bring the schema up to date."""
    store = Store(path)
    if not store.exists():
        if Path(path).resolve() != DEFAULT_DB.resolve():
            return False
        from .demo import build_demo

        build_demo(path)
    if store.schema_version() < len(migration_files()):
        store.migrate()
    return True


def store_problem(problem: StoreDamaged | StoreWriteFailed) -> None:
    """Say what is wrong with the database file and what to do, and show nothing else."""
    st.error(str(problem), icon=":material/database:")
    st.stop()


def refuse_open_network() -> None:
    """Show only why, and stop, when open demo mode would be served beyond this machine (measures.serving).

    app.py calls this first; `store()` calls it too, because a page named in the URL of a freshly started
    server runs without app.py (Streamlit's `pages/` folder) and every page reads through `store()`.
    """
    from streamlit import config  # looked up at each call: AppTest overrides `config.get_option` while it runs

    address = config.get_option("server.address")
    if not address and config.get_option("global.appTest"):
        return  # AppTest runs the script with no server: nothing listens on the default address
    refusal = serving.open_network_refusal(
        address, auth_configured(),
        listen_locally="start it with `./run.sh app`, or `streamlit run app.py --server.address 127.0.0.1`")
    if refusal:
        st.error(refusal, icon=":material/public:")
        st.stop()


def store() -> Store:
    refuse_open_network()
    path = str(default_db_path())
    try:
        prepared = _prepared(path)
    except (StoreDamaged, StoreWriteFailed) as problem:
        store_problem(problem)
    if not prepared:
        st.error(f"No database at `{path}` (from `PCN_DB`). Build one with "
                 f"`python -m measures demo --db {path}` or import publications with `python -m measures import`.")
        st.stop()
    return Store(path)


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(name: str, db_path: str, version: tuple, args: tuple, suppress_below: int):
    # `version` is in the key so that any committed write makes old results unreachable; `suppress_below`
    # because the Overview's ICB average leaves out values suppressed at that threshold (measures.suppression).
    store = Store(db_path)
    if name == "overview":  # the effective catalogue: YAML files plus measures defined in the app
        return queries.overview(store, *args, catalogue=local.catalogue_with_local(store))
    if name.startswith("local."):  # Read functions of measures.local, e.g. query("local.fair_share", ...)
        return getattr(local, name.removeprefix("local."))(store, *args)
    if name.startswith("contract."):  # the money view, e.g. query("contract.money", pcn, "2025/26")
        from .contract import reads as contract_reads

        return getattr(contract_reads, name.removeprefix("contract."))(store, *args)
    if name.startswith("annotations."):  # change points and notes, e.g. query("annotations.rebase_dates", ...)
        from . import annotations

        return getattr(annotations, name.removeprefix("annotations."))(store, *args)
    return getattr(queries, name)(store, *args)


@st.cache_resource(max_entries=256, show_spinner=False)
def _board_rows(pcn_code: str, db_path: str, version: tuple, suppress_below: int, measures: tuple,
                series: pd.DataFrame, comparator: pd.DataFrame, practice_spread: pd.DataFrame, rebases: tuple,
                _catalogue, _rebases):
    # The frames are in the key, not just the PCN and data version: they are what this principal may read,
    # so two people with different rights never share rows. The catalogue is keyed by its measures' ids and
    # versions. Rows are frozen dataclasses, shared read-only between sessions.
    from . import board

    return board.board_rows(_catalogue, series, comparator, practice_spread=practice_spread, rebases=_rebases)


def board_rows(pcn_code: str, catalogue, series: pd.DataFrame, comparator: pd.DataFrame,
               practice_spread: pd.DataFrame, rebases: dict) -> list:
    """`measures.board.board_rows`, computed once per PCN, data version and what the principal may read."""
    db = store()
    measures = tuple((m.id, m.version) for m in catalogue)
    rebase_key = tuple(sorted((k, tuple(v)) for k, v in (rebases or {}).items()))
    return _board_rows(pcn_code, str(db.path), db.data_version(), suppress_below(), measures, series, comparator,
                       practice_spread, rebase_key, catalogue, rebases)


def query(name: str, *args):
    """Run a named function of `measures.queries`, cached until the database changes.

    The cached result is the same for everyone; what the signed-in principal may read is filtered
    out of it on every call (`measures.access`), so a crafted URL meets the same rules. Then
    small numbers are suppressed (`measures.suppression`), for everyone, in every widget and download.
    """
    db = store()
    below = suppress_below()
    try:
        result = _cached(name, str(db.path), db.data_version(), args, below)
    except StoreDamaged as problem:
        store_problem(problem)
    return _suppressed(name, _for_principal(name, result, args), args, below)


def dataset_banner() -> None:
    meta = query("meta")
    if meta.get("dataset") == "synthetic":
        st.warning(plain(meta.get("dataset_label") or "Synthetic demo data."), icon=":material/science:")


def pick_pcn() -> dict:
    """The PCN picker in the sidebar; its choice lives in the URL (`?pcn=CODE`) so a link opens the same view."""
    pcns = query("pcns")
    if pcns.empty:
        st.info("The database holds no PCNs yet. Import the published practice-to-PCN map, or build the demo.")
        st.stop()
    codes = pcns["pcn"].tolist()
    labels = {row.pcn: f"{row.pcn_name} ({row.pcn})" + (f", closed {row.close_date:%b %Y}" if pd.notna(row.close_date) else "")
              for row in pcns.itertuples()}
    wanted = st.query_params.get("pcn")
    if "pcn_picker" not in st.session_state:
        # A new session starts from the URL; after that the picker is the source and the URL follows it.
        if wanted and wanted not in labels:
            st.session_state["_unknown_pcn"] = wanted
        # Without a PCN in the URL (as after signing in), open the first PCN the user reads in full
        st.session_state["pcn_picker"] = (wanted if wanted in labels
                                          else next((code for code in codes if reads_all_local(code)), codes[0]))
    if st.session_state.get("_unknown_pcn"):
        (st if meeting_mode() else st.sidebar).error(
            f"No PCN with code {plain(shown(st.session_state['_unknown_pcn']))}; showing another PCN instead.")
    if meeting_mode():  # no sidebar in a meeting: the PCN is the one in the URL
        choice = st.session_state["pcn_picker"]
    else:
        choice = st.sidebar.selectbox("PCN", codes, format_func=labels.get, key="pcn_picker")
    st.query_params["pcn"] = choice
    return pcns.set_index("pcn").loc[choice].to_dict() | {"pcn": choice}


def pick_from_url(label: str, options: list[str], *, param: str, key: str) -> str:
    """A picker whose choice lives in the URL (`?param=value`), so a link opens the same choice."""
    if key not in st.session_state:
        wanted = st.query_params.get(param)
        st.session_state[key] = wanted if wanted in options else options[0]
    choice = st.selectbox(label, options, key=key, width=240)
    st.query_params[param] = choice
    return choice


MEETING = "meeting"


def meeting_mode() -> bool:
    """Is the app shown in a meeting (`?mode=meeting`): no sidebar, no editing controls, large type?"""
    return st.query_params.get("mode") == MEETING


def family_heading(family: str) -> None:
    st.subheader(FAMILY_LABELS[family], divider="blue")


def measure_card(card: Card) -> None:
    measure = card.measure
    with st.container(border=True):
        # st.metric cuts a label longer than its column with an ellipsis; the name above it wraps instead.
        st.markdown(f":small[{plain(measure.label)}]", help=plain(measure.description))
        st.metric(
            plain(measure.label),
            card.value_text,
            delta=card.change_text,
            delta_color=card.delta_color,
            chart_data=card.trend or None,
            chart_type="line",
            label_visibility="collapsed",
        )
        st.caption(" · ".join(part for part in (card.period_text, card.comparator_text, card.practice_range_text,
                                                plain(card.goal), card.suppression_text) if part))
        with st.popover("Definition", width="content"):
            definition(measure)


def definition(measure) -> None:
    st.markdown(f"**{plain(measure.name)}**" + (f" ({plain(measure.code)})" if measure.code else ""))
    st.markdown(plain(measure.description))
    st.markdown(f"- **Numerator:** {plain(measure.numerator.definition)}")
    if measure.denominator:
        st.markdown(f"- **Denominator:** {plain(measure.denominator.definition)}")
    direction = {"increase": "higher is better", "decrease": "lower is better", "neutral": "neither direction is better"}
    st.markdown(f"- **Unit:** {plain(measure.unit)}; {direction[measure.improvement_direction]}")
    st.markdown(f"- **Source:** {plain(measure.source.publication)}" + _landing_page(measure.source.landing_page))
    for caveat in measure.caveats:
        st.markdown(f"- *Caveat:* {plain(caveat)}")


_WEB_ADDRESS = re.compile(r"https?://[^\s()<>\[\]\\`*$~|{}\"']+")


def _landing_page(address: str | None) -> str:
    """A link to a measure's landing page when it is a plain web address; anything else is shown as text."""
    if not address:
        return ""
    if _WEB_ADDRESS.fullmatch(address):
        return f" ([landing page]({address}))"
    return f" (landing page: {plain(address)})"


def empty_state(message: str) -> None:
    st.info(message, icon=":material/info:")


def frame_or_empty(frame: pd.DataFrame, message: str) -> bool:
    if frame is None or frame.empty:
        empty_state(message)
        return False
    return True


def pick_measure(catalogue, *, label: str = "Measure", key: str = "measure_picker"):
    """A measure picker whose choice lives in the URL (`?measure=ID`)."""
    ids = [m.id for m in catalogue if m.status != "retired"]
    names = {m.id: f"{m.label} ({FAMILY_LABELS[m.family]})" for m in catalogue}
    if key not in st.session_state:
        wanted = st.query_params.get("measure")
        st.session_state[key] = wanted if wanted in names else ids[0]
    choice = st.selectbox(label, ids, format_func=names.get, key=key)
    st.query_params["measure"] = choice
    return catalogue.get(choice)


def show_figure(fig, *, key: str | None = None, export=None) -> None:
    """The chart, and its downloads; `export` is the figure they hand out when it is not the one shown."""
    # theme=None: the figure's own template, so the screen matches every export.
    st.plotly_chart(fig, theme=None, width="stretch", key=key,
                    config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}})
    figure_downloads(fig if export is None else export, key=key)  # PNG, SVG and PDF of every chart


_BADGE_COLOURS = {"improvement": "blue", "concern": "orange", "neutral": "violet", "common": "gray",
                  "consistent_pass": "blue", "consistent_fail": "orange", "inconsistent": "gray"}


def spc_badges(variation: str | None, assurance: str | None) -> None:
    from .detail import ASSURANCE_TEXT, VARIATION_TEXT

    if variation:
        st.badge(VARIATION_TEXT[variation], color=_BADGE_COLOURS[variation.split("_")[0]], icon=":material/insights:")
    if assurance:
        st.badge(ASSURANCE_TEXT[assurance], color=_BADGE_COLOURS[assurance], icon=":material/flag:")


# --- Chart, table and board-pack downloads -------------------------------------------------------------


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

    from . import exports

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

    from . import exports

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
    from . import boardpack

    return boardpack.available_periods(Store(db_path), pcn_code)


_PACKS: dict[tuple, object] = {}
_PACKS_LOCK = threading.Lock()  # download callables run on their own threads


def _board_pack(db_path: str, version: tuple, pcn_code: str, period, who: access.Principal) -> object:
    """The pack model, kept for the latest few choices: a second format reuses the exported charts.

    The cache is shared between sessions, so the reader's right to the pack is checked before every use.
    """
    from . import boardpack

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
    from . import boardpack, exports

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


# --- Who sees what (sign-in, roles, refusals; the rules are in measures.access) ----------------------------

# Reads of a PCN's local values that only its members (viewers, editors, ICB analysts, administrators) may make:
# the name of the function in measures.local, and which argument is the PCN code.
_MEMBERS_ONLY = {"local.grid_frame": 1, "local.template_frame": 1, "local.recent_changes": 0, "local.fair_share": 1}


def auth_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an `[auth]` section: sign-in is required and roles apply."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: open demo mode
        return False


@st.cache_resource(max_entries=8, show_spinner=False)
def _directory(db_path: str, version: tuple) -> access.Directory:
    return access.directory(Store(db_path))


def directory() -> access.Directory:
    """Each PCN's ICB, practice memberships and published periods, cached until the database changes."""
    db = store()
    return _directory(str(db.path), db.data_version())


def access_config() -> access.AccessFile | None:
    try:
        return access.load_access()
    except access.AccessFileError as exc:
        st.error(f"The access file cannot be used, so nobody is let in until it is fixed:\n\n{exc}",
                 icon=":material/lock:")
        st.stop()


def principal() -> access.Principal:
    """Who is looking: `access.OPEN` without `[auth]`; otherwise the signed-in user with the access file's grants."""
    if not auth_configured():
        return access.OPEN
    if not st.user.is_logged_in:
        return access.Principal()  # no identity, no grants; the sign-in gate keeps this one out of the pages
    return access.principal_from_claims(st.user.to_dict(), access_config())


def _for_principal(name: str, result, args: tuple):
    who = principal()
    if who.is_admin or result is None:
        return result
    facts = directory()
    if name == "series" or name == "local.value_history":
        columns = {} if name == "series" else {"measure": "measure_id", "org": "org_code"}
        return access.filter_rows(result, who, facts, **columns)
    if name == "overview":
        series, comparator = result
        return access.filter_rows(series, who, facts), access.filter_comparator(comparator, who, args[0], facts)
    if name == "pcn_values":
        return access.filter_rows(result, who, facts, measure_id=args[0])
    if name == "practice_spread":
        if result.empty:
            return result
        return result[access.readable_mask(result.assign(org=args[0]), who, facts)]
    if name in _MEMBERS_ONLY:
        pcn = args[_MEMBERS_ONLY[name]]
        if not access.member_of(who, pcn, facts):
            refuse(pcn, f"{pcn}'s local values")
            st.stop()
    return result


def refuse(pcn: str, what: str, *, show: bool = True) -> None:
    """Say on screen why something is not shown, and log the refusal once per session and target."""
    who = principal()
    if show:
        st.error(f"**Not shown to you: {plain(what)}.** A PCN's local values are shown to "
                 f"{plain(access.who_may_read(pcn, directory()))}. You are signed in as {plain(who.actor)} "
                 f"({plain(who.roles_text)}).", icon=":material/lock:")
    logged = st.session_state.setdefault("_refusals_logged", set())
    if (pcn, what) not in logged:
        logged.add((pcn, what))
        access.log_event(store(), who, "refused", what, f"pcn={pcn}")


def sign_in_gate() -> access.Principal:
    """Before any page: without `[auth]`, open demo mode; with it, a sign-in page until the user signs in."""
    if not auth_configured():
        return access.OPEN

    def sign_in_page() -> None:
        st.title(APP_TITLE)
        st.markdown("Sign in with your organisation's account to see PCN measures. National published data is "
                    "shown to everyone signed in; a PCN's locally recorded values to its own staff and ICB "
                    "analysts, and to others once the PCN publishes them.")
        if st.button("Sign in", type="primary", icon=":material/login:", key="sign_in"):
            st.login()

    if not st.user.is_logged_in:
        st.navigation([st.Page(sign_in_page, title="Sign in", url_path="signin", icon=":material/login:")],
                      position="hidden").run()
        st.stop()
    who = principal()
    if not st.session_state.get("_sign_in_logged"):
        st.session_state["_sign_in_logged"] = True
        # Every tab and reload is a new session on the same sign-in: log each sign-in (identity token) once.
        if not _sign_in_logged_already(who, st.user.to_dict().get("iat")):
            access.log_event(store(), who, "sign_in", None, who.roles_text)
    return who


def _sign_in_logged_already(who: access.Principal, issued_at) -> bool:
    """Has this identity a sign_in row since its identity token was issued (`iat`, seconds since 1970)?"""
    if not isinstance(issued_at, (int, float)):
        return False
    from datetime import datetime

    found = store().query("SELECT count(*) AS n FROM access_log WHERE actor = ? AND action = 'sign_in' "
                          "AND logged_at >= ?", [who.actor, datetime.fromtimestamp(int(issued_at))])
    return bool(found["n"].iloc[0])


def account_sidebar(who: access.Principal) -> None:
    """Who is signed in and with what access, and a sign-out button; or the open demo mode notice."""
    with st.sidebar.container(key="account"):
        if who.open:
            st.info("**Open demo mode**: no sign-in is configured, so everyone sees everything. Configure `[auth]` "
                    "in `.streamlit/secrets.toml` to require sign-in and apply roles.", icon=":material/lock_open:")
            return
        st.markdown(f"Signed in as **{plain(who.name or who.actor)}**" + (f" ({plain(who.actor)})" if who.name else ""))
        st.markdown(f":small[{plain(who.roles_text)}]")
        if access_config() is None:
            st.warning("No access file: everyone signed in has national data and published local values only.",
                       icon=":material/warning:")
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            access.log_event(store(), who, "sign_out")
            st.logout()
        if access.can_administer(who):
            log = access.access_log(store(), limit=ACCESS_LOG_ROWS)
            st.markdown(f"**Access log**: the latest {len(log):,} sign-ins, refusals, exports and publications, "
                        "newest first.")
            download_table(log, "access log", key="access_log")


ACCESS_LOG_ROWS = 5000  # an administrator's download of the access log: the latest rows, newest first


def reads_all_local(pcn_code: str) -> bool:
    """Does the signed-in principal read every period of the PCN's local values (a member of it)?"""
    return access.member_of(principal(), pcn_code, directory())


def editable(pcn_code: str) -> bool:
    """May the signed-in principal record values, define measures, add notes and publish for the PCN?"""
    return access.can_edit(principal(), pcn_code)


# --- Small-number suppression (the rules are in measures.suppression) --------------------------------------

# Reads whose values the PCN's editors see as they entered them, and which argument locates the PCN
# (None: the organisation and period arguments); everyone else sees them suppressed.
_ENTERED_VALUES = {"local.grid_frame": 1, "local.recent_changes": 0, "local.value_history": None}
_HISTORY_VALUES = ("old_numerator", "old_denominator", "old_value", "new_numerator", "new_denominator", "new_value")


def suppress_below() -> int:
    """The suppression threshold (`PCN_SUPPRESS_BELOW`); a bad setting stops the page with a clear message."""
    try:
        return suppression.threshold()
    except suppression.SuppressionSettingError as exc:
        st.error(f"The small-number suppression setting cannot be used, so nothing is shown until it is "
                 f"fixed:\n\n{exc}", icon=":material/error:")
        st.stop()


@st.cache_resource(max_entries=8, show_spinner=False)
def _suppression_rules(db_path: str, version: tuple) -> dict:
    return suppression.rules(local.catalogue_with_local(Store(db_path)))


def _suppressed(name: str, result, args: tuple, below: int):
    """Suppress small numbers in a named read's result; its PCN's editors see the values they entered."""
    if result is None:
        return result
    if name in _ENTERED_VALUES:
        where = _ENTERED_VALUES[name]
        pcn = args[where] if where is not None else access.pcn_of_rows(
            pd.DataFrame({"org": [args[1]], "period_start": [args[2]]}), directory()).iloc[0]
        if pcn is not None and editable(pcn):
            return result
        if name != "local.grid_frame":
            # A change log cannot be suppressed cell by cell against its PCN's totals: its values are editors' only.
            return result.assign(**{column: float("nan") for column in _HISTORY_VALUES if column in result})
    db = store()
    version = db.data_version()

    def practices(measure_ids, pcn_codes, period_start):  # a PCN total is checked against its practices
        return _practice_values(str(db.path), version, tuple(measure_ids),
                                None if pcn_codes is None else tuple(pcn_codes), period_start)

    return suppression.suppress_query(name, result, args, _suppression_rules(str(db.path), version), below,
                                      practices=practices)


@st.cache_data(max_entries=64, show_spinner=False)
def _practice_values(db_path: str, version: tuple, measure_ids: tuple, pcn_codes: tuple | None, period_start):
    return suppression.practice_values(Store(db_path), measure_ids, pcn_codes, period_start)


def table(frame: pd.DataFrame, *, key: str | None = None, formats: dict[str, str] | None = None) -> None:
    """A table on screen, with a footnote when it holds suppressed rows; the `suppressed` flag is not shown.

    With `formats` (column: format, for a short table) a suppressed number reads `*`; without, it is blank.
    """
    flagged = frame[suppression.FLAG].astype(bool) if suppression.FLAG in frame else pd.Series(False, index=frame.index)
    columns = [c for c in frame.columns if c != suppression.FLAG]
    shown = frame
    if formats is not None:  # a Styler's display text: cheap for a short table, slow for England's 1,300 PCNs
        shown = frame.style
        for column, pattern in formats.items():
            if column in frame:
                shown = shown.format(pattern, subset=[column], na_rep="")
                if flagged.any():
                    shown = shown.format(pattern, subset=pd.IndexSlice[frame.index[flagged], [column]],
                                         na_rep=suppression.MARK)
    st.dataframe(shown, hide_index=True, width="stretch", column_order=columns, key=key)
    if flagged.any():
        st.caption(suppression.footnote())

