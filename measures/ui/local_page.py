"""The Local measures page's frame: who may work there, the reminders, the one measure and period, publishing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from .. import data_quality, local
from ..catalogue import FAMILY_LABELS, Measure
from ..store import Store
from ..text import escape_markdown as plain
from .database import store
from .identity import principal
from .pickers import pick_from_url, pick_period
from .reads import editable, query, reads_all_local, refuse
from .widgets import empty_state


@dataclass
class LocalPage:
    """What every part of the page needs: the PCN, the store, who is looking and the measures recorded here."""

    pcn: dict
    store: Store
    who: object  # the access Principal
    actor: str  # the name the change log records
    can_edit: bool
    measures: list[Measure]

    @property
    def code(self) -> str:
        return self.pcn["pcn"]

    @property
    def by_id(self) -> dict[str, Measure]:
        return {m.id: m for m in self.measures}


def month_text(day) -> str:
    return pd.Timestamp(day).strftime("%b %Y")


def open_page(pcn: dict) -> LocalPage:
    """The title and caption, refusing anyone who may not read the PCN's local values (the page stops)."""
    code = pcn["pcn"]
    db = store()
    st.title("Local measures")
    st.caption(f"{plain(pcn['pcn_name'])} ({code}) · measures set by the PCN or by {plain(pcn['icb_name'])}: "
               "integration with local partners, and what the PCN did for its practices")
    # The PCN's own viewers and editors, its ICB's analysts and administrators work here; others are refused.
    who = principal()
    if not reads_all_local(code):
        refuse(code, f"{pcn['pcn_name']} ({code}): local values, their history and recording")
        st.stop()
    can_edit = editable(code)
    if who.open:
        actor = st.sidebar.text_input("Your name, for the change log", key="actor",
                                      placeholder="e.g. your name and role")
    else:  # signed in: the change log records the signed-in identity
        st.session_state["actor"] = actor = who.actor
        st.sidebar.markdown(f":small[Changes are logged as **{plain(actor)}**.]")
        if not can_edit:
            st.info(f"You can read {plain(pcn['pcn_name'])}'s local values; only its editors record values, "
                    f"define measures and publish periods. Your access: {plain(who.roles_text)}.",
                    icon=":material/visibility:")
    if flash := st.session_state.pop("local_flash", None):
        st.success(flash, icon=":material/check_circle:")
    return LocalPage(pcn, db, who, actor, can_edit, query("local.recordable_measures", code))


def show_reminders(page: LocalPage) -> None:
    """One calm line counting the ended periods still to record (the Data page's gaps), the detail folded away."""
    try:
        day = data_quality.today()
    except ValueError as problem:  # a PCN_TODAY that is not a date: the Data page says so too
        st.warning(f"No reminders of values to record: {plain(problem)}", icon=":material/event_busy:")
        return
    gaps = data_quality.gap_table(query("data_quality.local_submissions", (page.code,), day))
    summary = local.reminder_summary(gaps)
    if not summary:
        return
    st.info(f"**Still to record**: {plain(summary)}", icon=":material/pending_actions:")
    with st.expander("Which values (ended periods with no value)"):
        st.markdown("\n".join(f"- {plain(line)}" for line in local.still_to_record(gaps)))


def pick_measure_and_period(page: LocalPage) -> tuple[Measure, date] | None:
    """One measure and one period for the whole page, kept in the URL (?measure=ID&period=YYYY-MM-DD)."""
    if not page.measures:
        empty_state(f"No locally set measures apply to {plain(page.pcn['pcn_name'])} yet. Define one under "
                    "*Define a measure*.")
        return None
    by_id = page.by_id
    left, right = st.columns([3, 1])
    measure = by_id[pick_from_url(
        "Measure", list(by_id), param="measure", key="local_measure", width="stretch", container=left,
        format_func=lambda i: f"{by_id[i].label} ({FAMILY_LABELS[by_id[i].family]})")]
    periods = local.recent_periods(measure, 24)[::-1]
    period = pick_period("Period", periods, key="grid_period", container=right)
    level = "PCN" if measure.level == "pcn" else "practice"
    st.caption(f"Version {measure.version} · {level}-level {measure.type} · {measure.frequency} · "
               f"numerator: {plain(measure.numerator.definition)}"
               + (f" · denominator: {plain(measure.denominator.definition)}" if measure.denominator else ""))
    return measure, period


def publishing(page: LocalPage) -> None:
    """Publishing a period lets people outside the PCN (and its ICB's analysts) see its local values."""
    pcn = page.pcn
    published = query("local.published_periods", page.code)
    published_days = [pd.Timestamp(d).date() for d in published["period_start"]]
    with st.expander(f"Publishing: {len(published_days)} period{'s' if len(published_days) != 1 else ''} "
                     "published", icon=":material/public:"):
        st.markdown("Local values are shown to this PCN's own viewers and editors, to analysts of "
                    f"{plain(pcn['icb_name'])} and to administrators. **Publishing a period** shows every local "
                    "value of the PCN and its practices for that period to everyone signed in (small numbers stay "
                    "suppressed).")
        if published_days:
            st.markdown("Published: " + ", ".join(
                f"{month_text(row.period_start)} (by {plain(row.published_by)})" for row in published.itertuples()))
        if not page.can_edit:
            return
        choices = query("local.local_periods", page.code)
        unpublished = [d for d in choices if d not in published_days]
        left, right = st.columns(2)
        to_publish = left.selectbox("Period to publish", unpublished, format_func=month_text, key="publish_period")
        if left.button("Publish", key="publish", disabled=to_publish is None, icon=":material/public:"):
            local.publish_period(page.store, page.who, page.code, to_publish)
            st.session_state["local_flash"] = (f"Published {plain(pcn['pcn_name'])}'s local values for "
                                               f"{month_text(to_publish)}.")
            st.rerun()
        to_withdraw = right.selectbox("Published period to withdraw", published_days, format_func=month_text,
                                      key="withdraw_period")
        if right.button("Withdraw", key="withdraw", disabled=to_withdraw is None, icon=":material/public_off:"):
            local.withdraw_period(page.store, page.who, page.code, to_withdraw)
            st.session_state["local_flash"] = f"Withdrew {month_text(to_withdraw)}: only the PCN sees it again."
            st.rerun()
