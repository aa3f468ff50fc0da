"""What pages read: named queries cached until the data changes, filtered for the principal, small numbers hidden."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import access, board_summaries, local, queries, suppression
from ..store import Store, StoreDamaged
from ..text import escape_markdown as plain  # user and file text shown literally in Markdown elements
from ..versioned import PerVersion
from .database import directory, store, store_problem
from .identity import principal


def _run(name: str, store: Store, args: tuple):
    """The named read itself: a function of `measures.queries`, or of the module its prefix names."""
    if name == "overview":  # the effective catalogue: YAML files plus measures defined in the app
        return queries.overview(store, *args, catalogue=local.catalogue_with_local(store))
    if name.startswith("local."):  # Read functions of measures.local, e.g. query("local.fair_share", ...)
        return getattr(local, name.removeprefix("local."))(store, *args)
    if name.startswith("contract."):  # the money view, e.g. query("contract.money", pcn, "2025/26")
        from ..contract import reads as contract_reads

        return getattr(contract_reads, name.removeprefix("contract."))(store, *args)
    if name.startswith("data_quality."):  # the Data page, e.g. query("data_quality.coverage", pcn_codes)
        from .. import data_quality

        return getattr(data_quality, name.removeprefix("data_quality."))(store, *args)
    if name.startswith("annotations."):  # change points and notes, e.g. query("annotations.rebase_dates", ...)
        from .. import annotations

        return getattr(annotations, name.removeprefix("annotations."))(store, *args)
    return getattr(queries, name)(store, *args)


# Named reads held per data version in the process, as read from the store (shared by every principal) and as
# each principal's rights and the threshold leave them. Keyed by plain tuples: Streamlit's caches hash every
# argument of every call, 3-5 ms of a page's run for its handful of reads. A new data version is a new key,
# so a committed write makes the older results unreachable, and the oldest go past the number kept.
_AS_READ: PerVersion = PerVersion(kept=512)
_AS_READABLE: PerVersion = PerVersion(kept=1024)


def _held(holder: PerVersion, db: Store, key: tuple, build):
    """`build()`, held under `key` when the key can be held (an argument of a type nobody hashes is worked out
    each time)."""
    try:
        hash(key)
    except TypeError:
        return build()
    return holder.get(db, key, build)


def _key_of(args: tuple) -> tuple:
    """The arguments as a key: a list (the Data page's PCN codes) as a tuple."""
    return tuple(tuple(arg) if isinstance(arg, list) else arg for arg in args)


def _as_read(name: str, db: Store, args: tuple, suppress_below: int):
    # `suppress_below` is in the key because the Overview's ICB average leaves out values suppressed at that
    # threshold (measures.suppression).
    return _held(_AS_READ, db, (name, _key_of(args), suppress_below), lambda: _run(name, Store(db.path), args))


@st.cache_resource(max_entries=256, show_spinner=False)
def _board_rows(pcn_code: str, db_path: str, version: tuple, suppress_below: int, measures: tuple,
                series: pd.DataFrame, comparator: pd.DataFrame, practice_spread: pd.DataFrame, rebases: tuple,
                caveats: tuple, _catalogue, _rebases):
    # The frames are in the key, not just the PCN and data version: they are what this principal may read,
    # so two people with different rights never share rows. The catalogue is keyed by its measures' ids and
    # versions. Rows are frozen dataclasses, shared read-only between sessions.
    from .. import board

    return board.board_rows(_catalogue, series, comparator, practice_spread=practice_spread, rebases=_rebases,
                            caveats=dict(caveats))


@st.cache_resource(max_entries=256, show_spinner=False)
def _stored_board_rows(pcn_code: str, db_path: str, version: tuple, suppress_below: int, audience: str,
                       measures: tuple, rebases: tuple, _catalogue, _rebases):
    # Rows as stored for everyone of the audience; what the principal may not read is taken out on every call.
    return board_summaries.read(Store(db_path), pcn_code, audience, suppress_below, _catalogue, _rebases)


def _keys(catalogue, rebases: dict) -> tuple[tuple, tuple]:
    return (tuple((m.id, m.version) for m in catalogue),
            tuple(sorted((k, tuple(v)) for k, v in (rebases or {}).items())))


def stored_board_rows(pcn_code: str, catalogue, rebases: dict) -> list | None:
    """The PCN's board rows from its stored summary, for the signed-in principal; None when none is usable."""
    db = store()
    who, facts = principal(), directory()
    measures, rebase_key = _keys(catalogue, rebases)
    try:
        rows = _stored_board_rows(pcn_code, str(db.path), db.data_version(), suppress_below(),
                                  board_summaries.audience_of(who, pcn_code, facts), measures, rebase_key,
                                  catalogue, rebases)
    except StoreDamaged as problem:
        store_problem(problem)
    return None if rows is None else board_summaries.for_principal(rows, who, pcn_code, facts)


def live_board_rows(pcn_code: str, catalogue, rebases: dict) -> list:
    """`measures.board.board_rows` from the named reads, computed once per PCN, data version and what the
    principal may read."""
    from .. import data_quality

    db = store()
    series, comparator = query("overview", pcn_code)
    practice_spread = query("practice_spread", pcn_code)
    caveats = data_quality.card_caveats(query("data_quality.practice_completeness", pcn_code))
    measures, rebase_key = _keys(catalogue, rebases)
    return _board_rows(pcn_code, str(db.path), db.data_version(), suppress_below(), measures, series, comparator,
                       practice_spread, rebase_key, tuple(sorted(caveats.items())), catalogue, rebases)


@st.cache_data(max_entries=64, show_spinner=False)
def _neighbourhood_read(code: str, db_path: str, version: tuple, measure_ids: tuple) -> pd.DataFrame:
    from .. import neighbourhoods

    return neighbourhoods.board_rows_read(Store(db_path), code, list(measure_ids))


@st.cache_resource(max_entries=256, show_spinner=False)
def _neighbourhood_board_rows(code: str, db_path: str, version: tuple, suppress_below: int, measures: tuple,
                              readable: pd.DataFrame, _catalogue):
    # As `_board_rows`: the rows the principal may read are in the key, so people with different rights never
    # share a board; the measures are keyed by their ids and versions.
    from .. import neighbourhood_board

    return neighbourhood_board.board_rows(_catalogue, readable, code, _suppression_rules(Store(db_path)),
                                          suppress_below)


def neighbourhood_board_rows(code: str, catalogue) -> list:
    """A neighbourhood's board rows for the signed-in principal, a row per measure of `catalogue` (practice-level
    ones summed over its practices): its raw rows read once per data version, the board computed once per data
    version and what the principal may read. Outside its PCNs and ICB's analysts, only whole readable periods."""
    from .. import neighbourhoods

    db = store()
    version = db.data_version()
    try:
        rows = _neighbourhood_read(code, str(db.path), version, tuple(m.id for m in catalogue))
    except StoreDamaged as problem:
        store_problem(problem)
    rows = neighbourhoods.readable(rows, principal(), directory(), code)
    return _neighbourhood_board_rows(code, str(db.path), version, suppress_below(),
                                     tuple((m.id, m.version) for m in catalogue), rows, catalogue)


def board_rows(pcn_code: str, catalogue, rebases: dict) -> list:
    """The PCN's board rows for the signed-in principal: its stored summary when it still describes the data
    (one read), else computed from the Overview's reads."""
    rows = stored_board_rows(pcn_code, catalogue, rebases)
    return rows if rows is not None else live_board_rows(pcn_code, catalogue, rebases)


def query(name: str, *args):
    """Run a named function of `measures.queries`, cached until the database changes.

    The cached result is the same for everyone; what the signed-in principal may read is filtered
    out of it (`measures.access`), so a crafted URL meets the same rules. Then small numbers are
    suppressed (`measures.suppression`), for everyone, in every widget and download. What a principal
    may read is kept too, by the data version and their rights, so a rerun does not filter and suppress
    again; each call gets its own copy of it.
    """
    db = store()
    below = suppress_below()
    who = principal()
    try:
        readable = _readable(name, db, args, below, who)
    except StoreDamaged as problem:
        store_problem(problem)
    if readable is not None and name in _MEMBERS_ONLY and not who.is_admin:
        pcn = args[_MEMBERS_ONLY[name]]
        if not access.member_of(who, pcn, directory()):  # refused on screen and logged each time, never kept
            refuse(pcn, f"{pcn}'s local values")
            st.stop()
    return _own_copy(readable)


def _readable(name: str, db: Store, args: tuple, below: int, who: access.Principal):
    # Keyed by the principal's rights as well as the data version and threshold: `_for_principal` and
    # `_suppressed` read nothing else (the directory and the suppression rules belong to the data version).
    # Shared between the principal's sessions, so `query` hands out copies.
    return _held(_AS_READABLE, db, (name, _key_of(args), below, who.cache_key), lambda: _suppressed(
        name, _for_principal(name, _as_read(name, db, args, below), args), args, below))


def _own_copy(result):
    """A copy a caller may change without changing what is kept: a DataFrame's is shallow (pandas copies a column
    when it is written), a list's or dict's holds the same (immutable) items."""
    if isinstance(result, (pd.DataFrame, pd.Series)):
        return result.copy(deep=False)
    if isinstance(result, tuple):
        return tuple(_own_copy(part) for part in result)
    if isinstance(result, (list, dict, set)):
        return type(result)(result)
    return result


# An area's reading held per data version and choice, keyed by what decides the values read (the principal's
# rights, the threshold) rather than by hashing the frame of 1,300 PCNs; `chosen` is the PCN where peers depend on
# it, else its ICB. A plain holder: Streamlit's cache hashes every argument on every rerun (about 1 ms here).
_AREA_VIEWS: PerVersion = PerVersion(kept=128)


def area_view(measure, period, pcn: dict, *, area: str, peers: str, comparator: str):
    """Compare areas' reading of a measure in an area and period (`compare.area_view`) from every PCN's values the
    principal may read, worked out once per data version and choice, and the key it is cached under (for the
    figures drawn from it). Shared: read only."""
    everyone = query("pcn_values", measure.id, period)
    db = store()
    chosen = (pcn["pcn"],) if peers != "area" else (pcn["icb"], pcn["icb_name"])
    key = (str(db.path), db.data_version(), measure.model_dump_json(), period, area, peers, comparator, chosen,
           principal().cache_key, suppress_below())

    def build():
        from .. import compare

        return compare.area_view(everyone, measure, pcn, area=area, peers=peers, comparator_choice=comparator)

    return everyone, _AREA_VIEWS.get(db, key[2:], build), key


@st.cache_data(max_entries=128, show_spinner=False)
def _practice_rows(db_path: str, version: tuple, pcn_code: str, measure_id: str, suppress_below: int):
    from .. import practice_view

    db = Store(db_path)
    return practice_view.practice_series(db, pcn_code, measure_id), practice_view.practice_members(db, pcn_code)


@st.cache_resource(max_entries=128, show_spinner=False)
def _practice_table(db_path: str, version: tuple, measure_key: str, pcn_code: str, principal_key: tuple,
                    suppress_below: int, _frame: pd.DataFrame, _members: pd.DataFrame, _measure) -> pd.DataFrame:
    # Keyed by what decides the rows the principal may read (the data version, the principal's rights, the
    # threshold) rather than by hashing the frames (4-6 ms each, on every rerun). Shared read-only between sessions.
    from .. import practice_view

    return practice_view.practice_spc_table(_frame, _measure, names=_members)


def practice_spc_table(pcn_code: str, measure) -> pd.DataFrame:
    """Each member practice's latest value and SPC icons (`practice_view.practice_spc_table`) for the signed-in
    principal: read once per data version, and read again (an SPC reading a practice) only when what the principal
    may read or the data change, not on every rerun."""
    db = store()
    version = db.data_version()
    try:
        frame, members = _practice_rows(str(db.path), version, pcn_code, measure.id, suppress_below())
    except StoreDamaged as problem:
        store_problem(problem)
    who = principal()
    frame = access.filter_rows(frame, who, directory())  # local values: members, or published periods
    return _practice_table(str(db.path), version, measure.model_dump_json(), pcn_code, who.cache_key,
                           suppress_below(), frame, members, measure)


def neighbourhood_footprints(pcn_code: str | None = None) -> list:
    """The neighbourhoods as they stand today (those the PCN has practices in, if given): every one is worked out
    once per data version, so a PCN not yet viewed costs a filter, not a read of every neighbourhood's practices."""
    every = query("neighbourhood_footprints")
    return every if pcn_code is None else [footprint for footprint in every if pcn_code in footprint.pcns]


def dataset_banner() -> None:
    meta = query("meta")
    if meta.get("dataset") == "synthetic":
        st.warning(plain(meta.get("dataset_label") or "Synthetic demo data."), icon=":material/science:")


# --- Who sees what (filters and refusals; sign-in is in ui.signin, the rules in measures.access) -----------

# Reads of a PCN's local values that only its members (viewers, editors, ICB analysts, administrators) may make:
# the name of the function in measures.local, and which argument is the PCN code.
_MEMBERS_ONLY = {"local.grid_frame": 1, "local.template_frame": 1, "local.recent_changes": 0, "local.fair_share": 1}


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
    return result  # a members-only read (`_MEMBERS_ONLY`) is refused by `query`, outside the cache


def refuse(pcn: str, what: str, *, show: bool = True) -> None:
    """Say on screen why something is not shown, and log the refusal once per session and target."""
    who, facts = principal(), directory()
    kind = "neighbourhood" if facts.is_neighbourhood(pcn) else "PCN"
    if show:
        st.error(f"**Not shown to you: {plain(what)}.** A {kind}'s local values are shown to "
                 f"{plain(access.who_may_read(pcn, facts))}. You are signed in as {plain(who.actor)} "
                 f"({plain(who.roles_text)}).", icon=":material/lock:")
    logged = st.session_state.setdefault("_refusals_logged", set())
    if (pcn, what) not in logged:
        logged.add((pcn, what))
        access.log_event(store(), who, "refused", what, f"pcn={pcn}")


def reads_all_local(pcn_code: str) -> bool:
    """Does the signed-in principal read every period of the PCN's local values (a member of it)?"""
    return access.member_of(principal(), pcn_code, directory)


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


_RULES: PerVersion = PerVersion(kept=8)


def _suppression_rules(db: Store) -> dict:
    return _RULES.get(db, (), lambda: suppression.rules(local.catalogue_with_local(Store(db.path))))


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

    return suppression.suppress_query(name, result, args, _suppression_rules(db), below,
                                      practices=practices)


@st.cache_data(max_entries=64, show_spinner=False)
def _practice_values(db_path: str, version: tuple, measure_ids: tuple, pcn_codes: tuple | None, period_start):
    return suppression.practice_values(Store(db_path), measure_ids, pcn_codes, period_start)
