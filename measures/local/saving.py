"""Saving recorded values: one transaction per save, every change to the audit log, and the log read back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from ..catalogue import compute_values
from ..store import Connection, Store, finish_import, start_import
from .common import _drop, _has_table, _in_writer, _now, _retrying, _unregister
from .derived import recompute_in
from .problems import Problem, RecordingError
from .validation import ENTRY_COLUMNS, Batch, parse_upload


def _compare(con, entries: pd.DataFrame) -> pd.DataFrame:
    """Each entry beside the value held now; `change` is new, correction or unchanged."""
    incoming = entries.assign(period_start=pd.to_datetime(entries["period_start"]),
                              period_end=pd.to_datetime(entries["period_end"]))
    con.register("_incoming", incoming)
    try:
        held = con.execute(
            """
            SELECT i.row, r.numerator AS rec_numerator, r.denominator AS rec_denominator, r.value AS rec_value,
                   o.numerator AS obs_numerator, o.denominator AS obs_denominator, o.value AS obs_value,
                   o.basis AS obs_basis
            FROM _incoming i
            LEFT JOIN recorded_values r
              ON r.measure_id = i.measure_id AND r.measure_version = i.measure_version
             AND r.org_code = i.org_code AND r.period_start = CAST(i.period_start AS DATE)
            LEFT JOIN (
                SELECT * FROM observations
                WHERE measure_id IN (SELECT measure_id FROM _incoming)
                  AND org_code IN (SELECT org_code FROM _incoming)
                QUALIFY row_number() OVER (PARTITION BY measure_id, measure_version, org_code, period_start
                                           ORDER BY import_id DESC) = 1
            ) o ON o.measure_id = i.measure_id AND o.measure_version = i.measure_version
               AND o.org_code = i.org_code AND o.period_start = CAST(i.period_start AS DATE)
               AND o.org_level = i.org_level
            """).df()
    finally:
        _unregister(con, "_incoming")
    frame = entries.merge(held, on="row", how="left")
    recorded = frame["rec_numerator"].notna()
    for part in ("numerator", "denominator", "value"):
        frame[f"old_{part}"] = np.where(recorded, frame[f"rec_{part}"], frame[f"obs_{part}"]).astype("float64")
    had = frame["old_numerator"].notna() | frame["old_denominator"].notna()
    frame["old_basis"] = [("recorded" if rec else (None if pd.isna(basis) else str(basis))) if held else None
                          for rec, basis, held in zip(recorded, frame["obs_basis"], had)]
    same = (_same(frame["old_numerator"], frame["numerator"]) & _same(frame["old_denominator"], frame["denominator"]))
    frame["change"] = np.where(~had, "new", np.where(same, "unchanged", "correction"))
    return frame.drop(columns=[c for c in frame.columns if c.startswith(("rec_", "obs_"))])


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    a, b = a.astype("float64"), b.astype("float64")
    close = pd.Series(np.isclose(a.fillna(0), b.fillna(0), rtol=1e-12, atol=1e-12), index=a.index)
    return (a.isna() & b.isna()) | (close & a.notna() & b.notna())


def _held_deletions(con, deletions: pd.DataFrame) -> pd.DataFrame:
    """The cleared cells that hold a value now, beside that value; `change` is deleted."""
    if deletions.empty:
        return _compare_empty()
    frame = _compare(con, deletions)
    held = frame[frame["old_numerator"].notna() | frame["old_denominator"].notna()]
    return held.assign(change="deleted")


def preview(store: Store, batch: Batch) -> pd.DataFrame:
    """What a save would do: each value beside the one held now: new, a correction, unchanged or deleted."""
    if batch.entries.empty and batch.deletions.empty:
        return _compare_empty()
    with store.reader() as con:
        if not _has_table(con, "recorded_values"):
            return batch.entries.assign(old_numerator=np.nan, old_denominator=np.nan, old_value=np.nan,
                                        old_basis=None, change="new")
        frames = [f for f in (_compare(con, batch.entries) if not batch.entries.empty else None,
                              _held_deletions(con, batch.deletions)) if f is not None and not f.empty]
    if not frames:
        return _compare_empty()
    return pd.concat(frames, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)


def _compare_empty() -> pd.DataFrame:
    return pd.DataFrame(columns=[*ENTRY_COLUMNS, "old_numerator", "old_denominator", "old_value", "old_basis",
                                 "change"])


@dataclass(frozen=True)
class Saved:
    import_id: int | None
    new: int
    corrected: int
    unchanged: int
    skipped: int
    source: str
    actor: str
    deleted: int = 0
    derived: int = 0  # values of derived measures recomputed (such as the ARRS fair-share ratio)

    @property
    def changed(self) -> int:
        return self.new + self.corrected + self.deleted

    def summary(self) -> str:
        deleted = f", {self.deleted} deleted" if self.deleted else ""
        derived = (f"; {self.derived} derived value{'s' if self.derived != 1 else ''} recomputed"
                   if self.derived else "")
        return (f"{self.changed} value{'s' if self.changed != 1 else ''} saved from {self.source} by {self.actor} "
                f"({self.new} new, {self.corrected} corrected{deleted}); {self.unchanged} unchanged, "
                f"{self.skipped} blank row{'s' if self.skipped != 1 else ''} skipped{derived}")


def save_in(con: Connection, batch: Batch, actor: str, *, at: datetime | None = None,
            reason: str | None = None) -> Saved:
    """Save a batch inside the caller's transaction: current values, deletions, the audit log and observations.

    Reads the values held now inside the same transaction, so two saves never overwrite each other
    unseen: the later one's audit rows carry the earlier one's values as their old values. A deletion
    needs a `reason`, kept in the audit log (as is any reason given for corrections). Derived measures
    (the ARRS fair-share ratio) are recomputed for the PCNs and periods changed.
    """
    actor = (actor or "").strip()
    if not actor:
        raise ValueError("say who is saving the values, so the audit log can show it")
    reason = (reason or "").strip() or None
    when = at or _now()
    compared = _compare(con, batch.entries) if not batch.entries.empty else _compare_empty()
    deleted = _held_deletions(con, batch.deletions)
    changed = compared[compared["change"] != "unchanged"].copy()
    unchanged = int((compared["change"] == "unchanged").sum())
    if changed.empty and deleted.empty:
        return Saved(None, 0, 0, unchanged, batch.skipped, batch.source, actor)
    if not deleted.empty and reason is None:
        raise ValueError("say why the values are deleted, so the audit log can show it")
    import_id = start_import(con, "recorded", file_name=batch.source, actor=actor,
                             note="values recorded locally", rows_read=len(batch.entries) + batch.skipped)
    if not changed.empty:
        _write_changes(con, changed.assign(changed_at=when, source=batch.source, import_id=import_id), actor, reason)
    if not deleted.empty:
        _write_deletions(con, deleted, actor, when, batch.source, reason, import_id)
    touched = pd.concat([changed, deleted], ignore_index=True).assign(import_id=import_id)
    _resum_pcns(con, touched[touched["org_level"] == "practice"], batch.measures)
    derived = recompute_in(con, touched)
    finish_import(con, import_id, rows_loaded=len(changed) + len(deleted), rows_rejected=0)
    corrected = int((changed["change"] == "correction").sum())
    return Saved(import_id, len(changed) - corrected, corrected, unchanged, batch.skipped, batch.source, actor,
                 deleted=len(deleted), derived=derived)


def save_new_in(con: Connection, batches: Sequence[tuple[Batch, datetime]], actor: str) -> list[Saved]:
    """`save_in` of each batch in turn, at its time, written in one pass: for a database that holds none of the values.

    A database being built (the demo) records years of returns at once: each batch gets its import, its values
    their current values, 'recorded' audit rows and observations, and the PCN sums and derived measures they touch,
    each under the batch's import, as `save_in` would write them. Raises ValueError if any value of the batches'
    measures is held already (those want `save_in`, which compares and corrects) or a batch has deletions.
    """
    actor = (actor or "").strip()
    if not actor:
        raise ValueError("say who is saving the values, so the audit log can show it")
    if any(not batch.deletions.empty for batch, _ in batches):
        raise ValueError("deletions are saved with save_in, which keeps the deleted value in the audit log")
    saved, measures, written = [], {}, []
    for batch, when in batches:
        if batch.entries.empty:
            saved.append(Saved(None, 0, 0, 0, batch.skipped, batch.source, actor))
            continue
        import_id = start_import(con, "recorded", file_name=batch.source, actor=actor,
                                 note="values recorded locally", rows_read=len(batch.entries) + batch.skipped)
        saved.append(Saved(import_id, len(batch.entries), 0, 0, batch.skipped, batch.source, actor))
        measures.update(batch.measures)
        written.append((batch, when, import_id))
    if not written:
        return saved
    # Millions of rows at a build: each batch's time, source and import as repeated codes, not strings.
    sizes = [len(batch.entries) for batch, _, _ in written]
    rows = sum(sizes)
    changed = pd.concat([batch.entries for batch, _, _ in written], ignore_index=True)
    changed["changed_at"] = np.repeat(np.array([when for _, when, _ in written], dtype="datetime64[us]"), sizes)
    changed["source"] = pd.Categorical.from_codes(np.repeat(np.arange(len(written)), sizes),
                                                  categories=[batch.source for batch, _, _ in written])
    changed["import_id"] = np.repeat(np.array([import_id for _, _, import_id in written]), sizes)
    for part in ("numerator", "denominator", "value"):
        changed[f"old_{part}"] = np.full(rows, np.nan)
    changed["old_basis"] = pd.Categorical.from_codes(np.full(rows, -1), categories=["recorded"])
    changed["change"] = pd.Categorical.from_codes(np.zeros(rows, dtype=np.int8), categories=["new"])
    touched = _write_changes(con, changed, actor, None, fresh=True)
    _resum_pcns(con, touched[touched["org_level"] == "practice"], measures)
    derived = recompute_in(con, touched)
    for done in saved:
        if done.import_id is not None:
            finish_import(con, done.import_id, rows_loaded=done.new, rows_rejected=0)
    if derived:  # the derived values of all the batches, counted once: save_in would count them batch by batch
        saved[-1] = replace(saved[-1], derived=derived)
    return saved


_KEYS = """measure_id = c.measure_id AND {t}.measure_version = c.measure_version
           AND {t}.org_code = c.org_code AND {t}.period_start = CAST(c.period_start AS DATE)"""


def _write_changes(con, changed: pd.DataFrame, actor: str, reason: str | None, *,
                   fresh: bool = False) -> pd.DataFrame | None:
    """Write new and corrected values: current values, the audit log (in import and row order), observations.

    Each row carries the `changed_at`, `source` and `import_id` of the save it belongs to. `fresh` says none of
    the values' measures has a value held yet: that is checked (ValueError if one has), there is nothing to
    replace, and the PCNs, periods and imports touched are returned (one row each, for the PCN sums and derived
    measures).
    """
    if not isinstance(changed["old_basis"].dtype, pd.CategoricalDtype):
        changed = changed.assign(old_basis=changed["old_basis"].astype(object))  # all None: still text
    # Read from the frame once, as Arrow: every statement below reads the table, not the frame again.
    con.register("_changed_rows", pa.Table.from_pandas(changed, preserve_index=False))
    try:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _changed AS
            SELECT * REPLACE (CAST(period_start AS DATE) AS period_start, CAST(period_end AS DATE) AS period_end,
                              CAST(measure_id AS VARCHAR) AS measure_id, CAST(org_code AS VARCHAR) AS org_code,
                              CAST(org_level AS VARCHAR) AS org_level, CAST(pcn_code AS VARCHAR) AS pcn_code,
                              CAST(source AS VARCHAR) AS source, CAST(old_basis AS VARCHAR) AS old_basis,
                              CAST(change AS VARCHAR) AS change),
                   CASE WHEN change = 'new' THEN 'recorded' ELSE 'corrected' END AS action
            FROM _changed_rows
            """)
    finally:
        _unregister(con, "_changed_rows")
    try:
        keys = _KEYS
        if fresh:  # checked by measure: a build holds none of a measure's values, or it is no build
            held = con.execute(
                """
                SELECT EXISTS (SELECT 1 FROM recorded_values WHERE measure_id IN (SELECT measure_id FROM _changed))
                    OR EXISTS (SELECT 1 FROM observations WHERE measure_id IN (SELECT measure_id FROM _changed))
                """).fetchall()[0][0]
            if held:
                raise ValueError("values of these measures are held already; save them with save_in, which "
                                 "compares and corrects them")
        else:
            con.execute(f"DELETE FROM recorded_values r USING _changed c WHERE r.{keys.format(t='r')}")
            con.execute(f"DELETE FROM observations o USING _changed c WHERE o.{keys.format(t='o')} "
                        "AND o.org_level = c.org_level")
        con.execute(
            """
            INSERT INTO recorded_values
            SELECT measure_id, measure_version, org_code, org_level, period_start, period_end, numerator,
                   denominator, value, ?, changed_at, source, import_id
            FROM _changed
            """, [actor])
        con.execute(
            f"""
            INSERT INTO value_audit ({_AUDIT_COLUMNS})
            SELECT nextval('value_audit_id_seq'), measure_id, measure_version, org_code, period_start,
                   action, old_numerator, old_denominator, old_value, old_basis,
                   numerator, denominator, value, ?, changed_at, source, import_id, ?
            FROM (SELECT * FROM _changed ORDER BY import_id, row)
            """, [actor, reason])
        con.execute(
            """
            INSERT INTO observations (measure_id, measure_version, org_code, org_level, period_start, period_end,
                                      numerator, denominator, value, basis, import_id)
            SELECT measure_id, measure_version, org_code, org_level, period_start, period_end, numerator,
                   denominator, value, 'recorded', import_id
            FROM _changed ORDER BY org_code, measure_id, period_start
            """)
        if fresh:
            return con.execute("SELECT DISTINCT measure_id, measure_version, org_level, pcn_code, period_start, "
                               "period_end, import_id FROM _changed").df()
        return None
    finally:
        _drop(con, "_changed")


_AUDIT_COLUMNS = ("audit_id, measure_id, measure_version, org_code, period_start, action, old_numerator, "
                  "old_denominator, old_value, old_basis, new_numerator, new_denominator, new_value, changed_by, "
                  "changed_at, source, import_id, reason")


def _write_deletions(con, deleted: pd.DataFrame, actor: str, when: datetime, source: str, reason: str,
                     import_id: int) -> None:
    """Remove each value from the current values and observations; the audit log keeps what it was."""
    deleted = deleted.assign(period_start=pd.to_datetime(deleted["period_start"]),
                             old_basis=deleted["old_basis"].astype(object))
    con.register("_deleted", deleted)
    try:
        con.execute(f"DELETE FROM recorded_values r USING _deleted c WHERE r.{_KEYS.format(t='r')}")
        con.execute(
            f"""
            INSERT INTO value_audit ({_AUDIT_COLUMNS})
            SELECT nextval('value_audit_id_seq'), measure_id, measure_version, org_code, CAST(period_start AS DATE),
                   'deleted', old_numerator, old_denominator, old_value, old_basis, NULL, NULL, NULL, ?, ?, ?, ?, ?
            FROM (SELECT * FROM _deleted ORDER BY row)
            """, [actor, when, source, import_id, reason])
        # Every source's row goes (published or recorded): a deleted value is shown nowhere.
        con.execute(f"DELETE FROM observations o USING _deleted c WHERE o.{_KEYS.format(t='o')} "
                    "AND o.org_level = c.org_level")
    finally:
        _unregister(con, "_deleted")


def _resum_pcns(con, practice_rows: pd.DataFrame, measures: dict) -> None:
    """Recompute each affected PCN value as the sum of its practices at that date (basis sum_of_practices).

    Each sum is written under the `import_id` of the saved rows that touched it. Sums add the practices in code
    order, so the same values always give the same sum to the last bit.
    """
    if practice_rows.empty:
        return
    keys = ["measure_id", "measure_version", "pcn_code", "period_start", "period_end"]
    affected = practice_rows[[*keys, "import_id"]].drop_duplicates(subset=keys, keep="last")
    con.register("_affected", affected)
    try:
        sums = con.execute(
            """
            SELECT a.measure_id, a.measure_version, a.pcn_code AS org_code, CAST(a.period_start AS DATE) AS period_start,
                   CAST(a.period_end AS DATE) AS period_end, sum(o.numerator ORDER BY o.org_code) AS numerator,
                   sum(o.denominator ORDER BY o.org_code) AS denominator, a.import_id
            FROM _affected a
            JOIN memberships m ON m.parent_code = a.pcn_code AND m.parent_level = 'pcn' AND m.child_level = 'practice'
             AND m.start_date <= CAST(a.period_start AS DATE)
             AND (m.end_date IS NULL OR m.end_date >= CAST(a.period_start AS DATE))
            JOIN observations o ON o.org_code = m.child_code AND o.org_level = 'practice'
             AND o.measure_id = a.measure_id AND o.measure_version = a.measure_version
             AND o.period_start = CAST(a.period_start AS DATE)
            GROUP BY ALL
            """).df()
        sums["value"] = np.nan
        for (measure_id, version), rows in sums.groupby(["measure_id", "measure_version"]):
            measure = measures[(measure_id, int(version))]
            sums.loc[rows.index, "value"] = compute_values(measure, rows["numerator"], rows["denominator"])
        sums["period_start"] = pd.to_datetime(sums["period_start"])
        sums["period_end"] = pd.to_datetime(sums["period_end"])
        con.register("_sums", sums)
        con.execute(
            """
            DELETE FROM observations o USING _affected a
            WHERE o.measure_id = a.measure_id AND o.measure_version = a.measure_version AND o.org_code = a.pcn_code
              AND o.org_level = 'pcn' AND o.period_start = CAST(a.period_start AS DATE)
            """)
        con.execute(
            """
            INSERT INTO observations (measure_id, measure_version, org_code, org_level, period_start, period_end,
                                      numerator, denominator, value, basis, import_id)
            SELECT measure_id, measure_version, org_code, 'pcn', CAST(period_start AS DATE), CAST(period_end AS DATE),
                   numerator, denominator, CASE WHEN isnan(value) THEN NULL ELSE value END, 'sum_of_practices',
                   import_id
            FROM _sums
            """)
    finally:
        _unregister(con, "_affected", "_sums")


def save(store: Store, batch: Batch, actor: str, *, at: datetime | None = None, principal=None,
         reason: str | None = None) -> Saved:
    """Save a batch as one all-or-nothing transaction (waits its turn behind other writers).

    With a `principal`, every PCN the batch touches must be one it edits, or nothing is saved.
    """
    if principal is not None and not (batch.entries.empty and batch.deletions.empty):
        from ..access import directory, require_edit

        known = directory(store)  # a neighbourhood's values are recorded by the editors of its PCNs
        for pcn_code in sorted(set(batch.entries["pcn_code"].dropna()) | set(batch.deletions["pcn_code"].dropna())):
            require_edit(principal, pcn_code, "record values", known)
    return _retrying(lambda: _in_writer(store, lambda con: save_in(con, batch, actor, at=at, reason=reason)))


def record_file(store: Store, path: Path | str, actor: str, *, pcn_code: str | None = None,
                today: date | None = None, dry_run: bool = False, principal=None) -> tuple[Batch, Saved | None]:
    """The command line's import: read a filled-in template, check it, and save it all or nothing."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordingError([Problem(path.name, None, None, f"cannot be read: {exc.strerror or exc}")]) from None
    batch = parse_upload(store, path.name, data, pcn_code=pcn_code, today=today)
    if batch.entries.empty:
        raise RecordingError([Problem(path.name, None, None, "has no values to record: every row's numerator "
                                                             "and denominator are blank")])
    if dry_run:
        return batch, None
    return batch, save(store, batch, actor, principal=principal)


# ---------------------------------------------------------------------------------------------
# History


_HISTORY_SELECT = """
    SELECT a.audit_id, a.measure_id, a.measure_version, a.org_code, org.name AS org_name, a.period_start, a.action,
           a.old_numerator, a.old_denominator, a.old_value, a.old_basis,
           a.new_numerator, a.new_denominator, a.new_value, a.changed_by, a.changed_at, a.source, a.reason
    FROM value_audit a LEFT JOIN organisations org ON org.org_code = a.org_code
"""


def value_history(store: Store, measure_id: str, org_code: str, period_start: date) -> pd.DataFrame:
    """Every change to one value, oldest first: who, when, the old and the new value, and the source."""
    return store.query(_HISTORY_SELECT + " WHERE a.measure_id = ? AND a.org_code = ? AND a.period_start = ? "
                                         "ORDER BY a.changed_at, a.audit_id",
                       [measure_id, org_code, period_start])


def recent_changes(store: Store, pcn_code: str, limit: int = 100) -> pd.DataFrame:
    """The latest changes to values of a PCN and of the practices that have belonged to it, newest first."""
    return store.query(
        _HISTORY_SELECT + """
        WHERE a.org_code = ? OR a.org_code IN (
            SELECT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn')
        ORDER BY a.changed_at DESC, a.audit_id DESC LIMIT ?
        """, [pcn_code, pcn_code, limit])
