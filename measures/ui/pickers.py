"""The pickers whose choice lives in the URL (PCN, measure, any option), and meeting mode."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from .. import access, queries
from ..catalogue import FAMILY_LABELS
from ..store import Store, StoreDamaged
from ..text import escape_markdown as plain  # user and file text shown literally in Markdown elements
from ..text import shown
from ..versioned import PerVersion
from .database import store, store_problem
from .identity import principal
from .reads import reads_all_local


@dataclass(frozen=True)
class PcnChoices:
    """The PCN picker's options for one data version: codes in the picker's order, their labels, and each code's
    row of the hierarchy (values in `columns`' order: a dict is made only for the PCN chosen)."""

    codes: tuple[str, ...]
    labels: Mapping[str, str]
    columns: tuple[str, ...]
    values: Mapping[str, tuple]
    icb_of: Mapping[str, str | None]

    def row(self, code: str) -> dict:
        """The PCN's row as a dict of its own (the values are shared, the dict is not)."""
        return dict(zip(self.columns, self.values[code]))


# The picker's options, built once per data version and shared read-only by every session (1,300 labels are not
# rebuilt per rerun), and their order for each principal. Plain holders: Streamlit's cache hashes every argument
# and works out their names on every call, which cost more than the lookups themselves on every rerun.
_CHOICES: PerVersion = PerVersion(kept=4)
_ORDERS: PerVersion = PerVersion(kept=64)


def _pcn_choices(db: Store) -> PcnChoices:
    # Column by column (`tolist`): row by row, pandas boxed 9,100 values one at a time, 45-60 ms at national scale;
    # a dict per row took as long again as the labels.
    pcns = queries.pcns(db)
    columns = tuple(pcns.columns)
    lists = [pcns[column].tolist() for column in columns]
    codes, names, closes, icbs = (lists[columns.index(c)] for c in ("pcn", "pcn_name", "close_date", "icb"))
    labels = {code: f"{name} ({code})" + (f", closed {close:%b %Y}" if pd.notna(close) else "")
              for code, name, close in zip(codes, names, closes)}
    values = dict(zip(codes, zip(*lists)))
    icb_of = {code: (icb if isinstance(icb, str) else None) for code, icb in zip(codes, icbs)}
    return PcnChoices(tuple(values), labels, columns, values, icb_of)


def picker_order(codes: tuple[str, ...], icb_of: Mapping[str, str | None], who: access.Principal) -> tuple[str, ...]:
    """The picker's order for a principal: their own PCNs, then the rest of their ICBs' PCNs, then everyone else.

    Own PCNs are those they view or edit; their ICBs are those they analyse and those of their own PCNs. In open
    demo mode, and for anyone with no PCN or ICB of their own, the order is unchanged (open PCNs by name).
    """
    if who.open:
        return codes
    own = who.viewer_pcns
    icbs = set(who.analyst_icbs) | ({icb_of.get(code) for code in own} - {None})
    if not own and not icbs:
        return codes
    rank = {code: 0 if code in own else 1 if icb_of.get(code) in icbs else 2 for code in codes}
    return tuple(sorted(codes, key=rank.__getitem__))  # stable: name order within each group


def pcn_choices() -> tuple[tuple[str, ...], PcnChoices]:
    """The PCN picker's codes in the signed-in principal's order, and the options they index (cached)."""
    db = store()
    try:
        choices = _CHOICES.get(db, (), lambda: _pcn_choices(Store(db.path)))
    except StoreDamaged as problem:
        store_problem(problem)
    who = principal()
    return _ORDERS.get(db, (who.cache_key,), lambda: picker_order(choices.codes, choices.icb_of, who)), choices


def pick_pcn() -> dict:
    """The PCN picker in the sidebar; its choice lives in the URL (`?pcn=CODE`) so a link opens the same view.

    Searchable by typing (name or code); the signed-in user's own PCNs and ICB come first.
    """
    codes, choices = pcn_choices()
    if not codes:
        st.info("The database holds no PCNs yet. Import the published practice-to-PCN map, or build the demo.")
        st.stop()
    labels = choices.labels
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
    return choices.row(choice)


def pick_from_url(label: str, options: list[str], *, param: str, key: str, format_func=str,
                  width: int | str = 240, container=None) -> str:
    """A picker whose choice lives in the URL (`?param=value`), so a link opens the same choice.

    A choice no longer among the options (another measure's periods) falls back to the first option.
    """
    if key not in st.session_state:
        wanted = st.query_params.get(param)
        st.session_state[key] = wanted if wanted in options else options[0]
    elif st.session_state[key] not in options:
        st.session_state[key] = options[0]
    choice = (container or st).selectbox(label, options, key=key, width=width, format_func=format_func)
    st.query_params[param] = choice
    return choice


def pick_period(label: str, periods: list, *, key: str, param: str = "period", container=None):
    """A period picker (dates, newest first) whose choice lives in the URL as `?param=YYYY-MM-DD`.

    A choice that is not among these periods (another measure's frequency) falls back to the newest.
    """
    if key not in st.session_state:
        wanted = st.query_params.get(param)
        st.session_state[key] = next((day for day in periods if day.isoformat() == wanted), periods[0])
    elif st.session_state[key] not in periods:
        st.session_state[key] = periods[0]
    choice = (container or st).selectbox(label, periods, key=key, format_func=lambda day: f"{day:%b %Y}")
    st.query_params[param] = choice.isoformat()
    return choice


MEETING = "meeting"


def meeting_mode() -> bool:
    """Is the app shown in a meeting (`?mode=meeting`): no sidebar, no editing controls, large type?"""
    return st.query_params.get("mode") == MEETING


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
