"""Dated notes and change points (rebases) on a measure's chart for one organisation, stored for every viewer."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from . import access
from .store import Store
from .versioned import PerVersion

MAX_NOTE_LENGTH = 200
MAX_REASON_LENGTH = 200
REBASE_COLUMNS = ["rebase_id", "period_start", "reason", "created_by", "created_at"]


def add(store: Store, measure_id: str, org_code: str, on_date: date, note: str, actor: str | None = None) -> None:
    note = (note or "").strip()
    if not note:
        raise ValueError("An annotation needs a note: say what happened on that date.")
    if len(note) > MAX_NOTE_LENGTH:
        raise ValueError(f"An annotation note is at most {MAX_NOTE_LENGTH} characters; this one has {len(note)}.")
    with store.writer() as con:
        con.execute(
            "INSERT INTO annotations VALUES (nextval('annotation_id_seq'), ?, ?, ?, ?, ?, ?)",
            [measure_id, org_code, on_date, note, actor, datetime.now().replace(microsecond=0)],
        )


def _require_editor(principal: access.Principal, org_code: str, doing: str) -> None:
    # The page offers the form to editors only; this holds for any other caller too.
    if not access.can_edit(principal, org_code):
        raise access.AccessDenied(f"{principal.actor} may not {doing} for {org_code}: only its editors and "
                                  f"administrators may. Your access: {principal.roles_text}. Nothing was saved.")


def _checked_reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError(f"{what} needs a reason: say what changed in the process (for example, a new triage "
                         "model went live). Nothing was saved.")
    if len(reason) > MAX_REASON_LENGTH:
        raise ValueError(f"The reason is at most {MAX_REASON_LENGTH} characters; this one has {len(reason)}. "
                         "Nothing was saved.")
    return reason


def add_rebase(store: Store, measure_id: str, org_code: str, from_period: date, reason: str,
               principal: access.Principal) -> int:
    """Recalculate the measure's limits for the organisation from the period holding `from_period`; returns its id.

    Only the organisation's editors (and administrators) may; the row records who, when and why, and the
    access log has a line for it. A second live change point at the same period is refused.
    """
    _require_editor(principal, org_code, "recalculate SPC limits")
    reason = _checked_reason(reason, "Recalculating the limits")
    start = pd.Timestamp(from_period).to_period("M").to_timestamp().date()
    with store.writer() as con:
        clash = con.execute(
            "SELECT count(*) FROM rebases WHERE measure_id = ? AND org_code = ? AND period_start = ? "
            "AND removed_at IS NULL", [measure_id, org_code, start]).fetchone()[0]
        if clash:
            raise ValueError(f"The limits of {measure_id} for {org_code} are already recalculated from "
                             f"{start:%b %Y}. Nothing was saved.")
        rebase_id = con.execute("SELECT nextval('rebase_id_seq')").fetchone()[0]
        con.execute("INSERT INTO rebases VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                    [rebase_id, measure_id, org_code, start, reason, principal.actor,
                     datetime.now().replace(microsecond=0)])
    access.log_event(store, principal, "rebase", f"{measure_id} {org_code}", f"from {start:%Y-%m}: {reason}")
    return int(rebase_id)


def remove_rebase(store: Store, rebase_id: int, principal: access.Principal, reason: str | None = None) -> None:
    """Stop using a change point; the row stays, marked with who removed it, when and (if given) why."""
    found = store.query("SELECT measure_id, org_code, period_start FROM rebases "
                        "WHERE rebase_id = ? AND removed_at IS NULL", [int(rebase_id)]) if _has_rebases(store) \
        else pd.DataFrame()
    if found.empty:
        raise ValueError(f"No change point {rebase_id} is in use (it may have been removed already). "
                         "Nothing was changed.")
    measure_id, org_code, start = found.iloc[0]
    _require_editor(principal, org_code, "remove a recalculation of SPC limits")
    reason = (reason or "").strip()[:MAX_REASON_LENGTH] or None
    with store.writer() as con:
        con.execute("UPDATE rebases SET removed_by = ?, removed_at = ?, removal_reason = ? "
                    "WHERE rebase_id = ? AND removed_at IS NULL",
                    [principal.actor, datetime.now().replace(microsecond=0), reason, int(rebase_id)])
    access.log_event(store, principal, "remove_rebase", f"{measure_id} {org_code}",
                     f"from {pd.Timestamp(start):%Y-%m}" + (f": {reason}" if reason else ""))


_HAS_REBASES: PerVersion[bool] = PerVersion(kept=64)


def _has_rebases(store: Store) -> bool:
    """Whether the store has the change points' table, asked once per data version: only a migration creates it,
    and a migration is a new version."""
    return _HAS_REBASES.get(store, (), lambda: bool(store.query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'rebases'")["n"].iloc[0]))


def rebases(store: Store, measure_id: str, org_code: str) -> pd.DataFrame:
    """The change points in use for a measure and organisation, oldest first (none in a store from before them)."""
    if not _has_rebases(store):
        return pd.DataFrame(columns=REBASE_COLUMNS)
    frame = store.query(
        "SELECT rebase_id, period_start, reason, created_by, created_at FROM rebases "
        "WHERE measure_id = ? AND org_code = ? AND removed_at IS NULL ORDER BY period_start, rebase_id",
        [measure_id, org_code])
    return frame.assign(period_start=pd.to_datetime(frame["period_start"]))


def rebase_dates(store: Store, measure_id: str, org_code: str) -> list[date]:
    """The first periods of recalculated limits, for `detail.read(..., rebase=...)`."""
    return [pd.Timestamp(d).date() for d in rebases(store, measure_id, org_code)["period_start"]]


_REBASES_BY_ORG: PerVersion[dict[str, dict[str, list[date]]]] = PerVersion(kept=16)


def rebase_dates_by_measure(store: Store, org_code: str) -> dict[str, list[date]]:
    """`rebase_dates` of every measure of the organisation: a screen of all its measures needs them all.

    Every organisation's are read in one query once per data version (change points are few, and a new or
    removed one is a write, so a new version), and each organisation's are then a look-up."""
    every = _REBASES_BY_ORG.get(store, (), lambda: _every_rebase_date(store))
    return {measure_id: list(starts) for measure_id, starts in every.get(org_code, {}).items()}


def _every_rebase_date(store: Store) -> dict[str, dict[str, list[date]]]:
    every: dict[str, dict[str, list[date]]] = {}
    if _has_rebases(store):
        found = store.query("SELECT org_code, measure_id, period_start FROM rebases WHERE removed_at IS NULL "
                            "ORDER BY period_start, rebase_id")
        for org, measure_id, start in zip(found["org_code"], found["measure_id"], found["period_start"]):
            every.setdefault(str(org), {}).setdefault(str(measure_id), []).append(pd.Timestamp(start).date())
    return every
