"""Board summaries: each PCN's board rows computed once per data version and stored, so a board is one read.

A PCN's board (`board.board_rows`) costs its queries (some fifteen) plus its SPC readings, intervals and goals,
about 0.4 s at national scale when its inputs are read PCN by PCN. The rows are computed here the way the
board view computes them (the effective catalogue, the Overview's series and ICB comparator, the practice
spread, the change points, the data caveats, small numbers suppressed) for two audiences: `members`, who read
every period of the PCN's local values, and `others`, who read its published periods only (`measures.access`).
The ICB comparator of a local measure pools other PCNs' values, so whether a reader may see it depends on who
they are: rows keep it, and `for_principal` drops it (and judges again without it) where
`access.filter_comparator` would, on every read.

A stored row is used only while it still describes the data (see migration 013): its `basis` is the latest
import that can change the PCN's board. Every write of observations starts an import (publications, the
demo, values recorded in the app or from a file), so any write the summary does not know of makes it unused,
and the board is computed live as before, never shown stale. The demo build and `refresh` compute every PCN,
reading each input once for all of them (`board_inputs.EveryPcn`); a save of recorded values refreshes the
PCNs it touched and brings the other PCNs of their ICBs up to date (only their comparators can have moved)
inside its own turn (`store.after_commit`), so the copy it publishes holds both.
"""

from __future__ import annotations

import hashlib
import json
import zlib
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from . import access, annotations, board, data_quality, local, queries, suppression
from .board import BoardRow, Verdict
from .catalogue import Catalogue
from .store import ConnectionReader, DatabaseError, Store, after_commit
from .versioned import PerVersion

MEMBERS = "members"
OTHERS = "others"
AUDIENCES = (MEMBERS, OTHERS)

_log = logging.getLogger(__name__)

# The PCNs whose values pool into this PCN's ICB comparator (its ICB's current PCNs), and their practices.
_ORGS = """
    WITH place AS (
        SELECT mi.parent_code AS icb FROM memberships ms
        JOIN memberships mi ON mi.child_code = ms.parent_code AND mi.parent_level = 'icb' AND mi.end_date IS NULL
        WHERE ms.child_code = ? AND ms.child_level = 'pcn' AND ms.parent_level = 'sub_icb' AND ms.end_date IS NULL
    ),
    pcns AS (
        SELECT ? AS pcn
        UNION
        SELECT ms.child_code FROM memberships ms
        JOIN memberships mi ON mi.child_code = ms.parent_code AND mi.parent_level = 'icb' AND mi.end_date IS NULL
        WHERE ms.child_level = 'pcn' AND ms.parent_level = 'sub_icb' AND ms.end_date IS NULL
          AND mi.parent_code IN (SELECT icb FROM place)
    ),
    orgs AS (
        SELECT pcn AS org FROM pcns
        UNION
        SELECT child_code FROM memberships WHERE parent_level = 'pcn' AND parent_code IN (SELECT pcn FROM pcns)
    )
"""

# The latest import that can change the PCN's board: any import but recorded values, and recorded values of an
# organisation in the PCN's ICB. Then the PCN's published periods. Both as the summary stores them.
_BASIS = """
    SELECT greatest(
        (SELECT coalesce(max(import_id), 0) FROM imports WHERE kind <> 'recorded'),
        (SELECT coalesce(max(import_id), 0) FROM value_audit WHERE org_code IN (SELECT org FROM orgs))) AS basis,
        coalesce((SELECT string_agg(strftime(period_start, '%Y-%m-%d'), ',' ORDER BY period_start)
                  FROM published_periods WHERE pcn_code = ?), '') AS published
"""


def _basis(store, pcn_code: str) -> tuple[int, str]:
    found = store.query(_ORGS + _BASIS, [pcn_code, pcn_code, pcn_code])
    return int(found["basis"].iloc[0]), str(found["published"].iloc[0])


# What every PCN's basis rests on (the latest import of published data, the latest save for each organisation, each
# PCN's peers and published periods), by store and data version: one read of the whole audit (about 50 ms at
# national scale) in place of one per ICB (about 20 ms each, and twenty sessions of twenty ICBs paid each one).
_EVERY_BASIS: PerVersion[tuple] = PerVersion(kept=4)


def _current_basis(store, pcn_code: str) -> tuple[int, str]:
    """`_basis(store, pcn_code)`, from every PCN's facts held once per data version."""
    from . import board_inputs

    return board_inputs.basis_of(_EVERY_BASIS.get(store, (), lambda: board_inputs._basis_facts(store)), pcn_code)


# --- computing -----------------------------------------------------------------------------------------------


def compute(store, pcn_code: str, audience: str, below: int) -> list[BoardRow]:
    """The PCN's board rows as the board view computes them for a reader of `audience`, at threshold `below`,
    with every ICB comparator kept (`for_principal` applies the reader's rights to those)."""
    return compute_audiences(store, pcn_code, below)[0][audience]


def compute_audiences(store, pcn_code: str, below: int, *, everything: Catalogue | None = None,
                      facts: access.Directory | None = None) -> tuple[dict[str, list[BoardRow]], Catalogue, dict]:
    """The rows for each audience from one PCN's reads (the board view's own), with the PCN's catalogue and
    change points they used.

    `everything` (the whole effective catalogue) and `facts` (`access.directory`) may be passed by a caller that
    reads many PCNs. The national measures' rows are the same for every audience, so only the local ones are
    computed again for `others`, and only when the PCN holds some of its local values back."""
    return _audiences(_OnePcn(store, everything, facts), pcn_code, below)


class _OnePcn:
    """One PCN's inputs, read as the board view reads them (`queries.overview` and the rest)."""

    def __init__(self, store, everything: Catalogue | None = None, facts: access.Directory | None = None):
        self.store = store
        self.everything = everything or local.catalogue_with_local(store)  # as measures.ui reads the Overview
        self._facts = facts

    def facts(self) -> access.Directory:
        if self._facts is None:
            self._facts = access.directory(self.store)
        return self._facts

    def catalogue(self, pcn_code: str) -> Catalogue:
        return local.catalogue_with_local(self.store, pcn_code)

    def overview(self, pcn_code: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        return queries.overview(self.store, pcn_code, catalogue=self.everything)

    def spread(self, pcn_code: str) -> pd.DataFrame:
        return queries.practice_spread(self.store, pcn_code)

    def rebases(self, pcn_code: str) -> dict:
        return annotations.rebase_dates_by_measure(self.store, pcn_code)

    def caveats(self, pcn_code: str) -> dict:
        return data_quality.card_caveats(data_quality.practice_completeness(self.store, pcn_code))

    def practices(self, pcn_code: str):
        return lambda ids, pcns, period: suppression.practice_values(self.store, ids, pcns, period)

    def holds_back(self, pcn_code: str) -> bool:
        return _holds_back(self.store, pcn_code)

    def readable(self, frame: pd.DataFrame, pcn_code: str) -> pd.Series:
        """Which of the PCN's rows a reader outside it may read."""
        return access.readable_mask(frame, access.Principal(), self.facts())

    def basis(self, pcn_code: str) -> tuple[int, str]:
        return _basis(self.store, pcn_code)


def _audiences(reads, pcn_code: str, below: int) -> tuple[dict[str, list[BoardRow]], Catalogue, dict]:
    catalogue = reads.catalogue(pcn_code)
    series, comparator = reads.overview(pcn_code)
    spread = reads.spread(pcn_code)
    rebases = reads.rebases(pcn_code)
    caveats = reads.caveats(pcn_code)
    rules = suppression.rules(reads.everything)
    shown, pooled = suppression.suppress_query("overview", (series, comparator), (pcn_code,), rules, below,
                                               practices=reads.practices(pcn_code))

    def rows(measures: Catalogue, shown: pd.DataFrame, spread: pd.DataFrame) -> list[BoardRow]:
        spread = suppression.suppress_query("practice_spread", spread, (pcn_code,), rules, below)
        return board.board_rows(measures, shown, pooled, spread, rebases, caveats=caveats)

    members = rows(catalogue, shown, spread)
    others = members
    if reads.holds_back(pcn_code):
        if not spread.empty:
            spread = spread[reads.readable(spread.assign(org=pcn_code), pcn_code)]
        local_only = Catalogue(tuple(m for m in catalogue if access.is_local_measure(m.id)))
        # The series' small numbers are suppressed row by row and by the PCN's practices, never by its other
        # rows, so the rows others may read are suppressed as the members' are: no need to suppress them again.
        # The practices' spread is suppressed within each measure and period, so it is, without the hidden ones.
        readable = shown if series.empty else shown[reads.readable(series, pcn_code).to_numpy(dtype=bool)]
        held_back = {row.measure.id: row for row in rows(local_only, readable, spread)}
        others = [held_back.get(row.measure.id, row) for row in members]
    return {MEMBERS: members, OTHERS: others}, catalogue, rebases


def catalogue_key(catalogue: Catalogue) -> str:
    """A digest of every measure's definition: a row is read back only with the catalogue it was computed from."""
    digest = hashlib.sha256()
    for measure in catalogue:
        digest.update(measure.model_dump_json().encode("utf-8"))
    return digest.hexdigest()


def rebase_key(rebases: dict | None) -> str:
    return json.dumps(sorted((measure, [str(day) for day in days]) for measure, days in (rebases or {}).items()))


def _entries(store, pcn_codes: Sequence[str], below: int) -> list[list]:
    """The table rows for the PCNs, each audience computed once (the same when the PCN has no local values to
    hold back); many PCNs' inputs are read in one pass (`board_inputs.EveryPcn`)."""
    from .board_inputs import EveryPcn

    entries = []
    now = datetime.now().replace(microsecond=0)
    reads = EveryPcn(store, pcn_codes) if len(pcn_codes) > 1 else _OnePcn(store)
    digests: dict[int, tuple[Catalogue, str]] = {}  # PCNs of one ICB share their catalogue (kept, so ids stay)
    for pcn_code in pcn_codes:
        basis, published = reads.basis(pcn_code)
        found, catalogue, rebases = _audiences(reads, pcn_code, below)
        if id(catalogue) not in digests:
            digests[id(catalogue)] = (catalogue, catalogue_key(catalogue))
        keys = (digests[id(catalogue)][1], rebase_key(rebases))
        members = pack(encode(found[MEMBERS]))
        others = members if found[OTHERS] is found[MEMBERS] else pack(encode(found[OTHERS]))
        for audience, blob in ((MEMBERS, members), (OTHERS, others)):
            entries.append([pcn_code, audience, below, basis, published, *keys, blob, now])
    return entries


def _holds_back(store, pcn_code: str) -> bool:
    """Does anyone outside the PCN see less of it: local values (its own or its practices') in a period it has
    not published?"""
    found = store.query(  # local: any measure the built-in catalogue does not call national (access.is_local_measure)
        """
        SELECT count(*) AS n FROM observations o
        WHERE NOT list_contains(?, o.measure_id)
          AND (o.org_code = ? OR o.org_code IN (SELECT child_code FROM memberships
                                                WHERE parent_level = 'pcn' AND parent_code = ?))
          AND NOT EXISTS (SELECT 1 FROM published_periods p WHERE p.pcn_code = ? AND p.period_start = o.period_start)
        """, [sorted(access.national_ids()), pcn_code, pcn_code, pcn_code])
    return int(found["n"].iloc[0]) > 0


def _write(con, entries: list[list]) -> None:
    if not entries:
        return
    frame = pd.DataFrame(entries, columns=["pcn_code", "audience", "suppress_below", "basis", "published",
                                           "catalogue_key", "rebase_key", "rows_z", "computed_at"])
    con.register("_summaries", frame)
    try:
        con.execute("DELETE FROM board_summaries s USING _summaries n WHERE s.pcn_code = n.pcn_code "
                    "AND s.audience = n.audience AND s.suppress_below = n.suppress_below")
        con.execute("INSERT INTO board_summaries SELECT * FROM _summaries")
    finally:
        con.unregister("_summaries")


def _all_pcns(store) -> list[str]:
    return [str(code) for code in queries.pcns(store)["pcn"]]


def _compute_part(path: str, pcn_codes: list[str], below: int) -> list[list]:
    return _entries(Store(path), pcn_codes, below)


def refresh(store: Store, pcn_codes: Iterable[str] | None = None, *, workers: int | None = None,
            below: int | None = None) -> int:
    """Compute and store the board summaries of the PCNs (default: every PCN) from the published copy, then
    write them in one short transaction; returns the PCNs refreshed. A summary whose data changed meanwhile
    keeps the basis it was computed from, so it is not used. `workers` processes share a long list."""
    below = suppression.threshold() if below is None else below
    codes = list(pcn_codes) if pcn_codes is not None else _all_pcns(store)
    workers = workers or min(os.cpu_count() or 1, 8)
    if workers > 1 and len(codes) >= 8 * workers:
        parts = [codes[i::workers] for i in range(workers)]
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            entries = [entry for done in pool.map(_compute_part, [str(store.path)] * workers, parts,
                                                  [below] * workers) for entry in done]
    else:
        entries = _entries(store, codes, below)
    with store.writer() as con:
        _write(con, entries)
    return len(codes)


def refresh_in(con, path: Path | str, pcn_codes: Iterable[str] | None = None, below: int | None = None) -> None:
    """`refresh` inside the caller's transaction, reading what it sees (a writer's turn after a commit, a build);
    default: every PCN."""
    below = suppression.threshold() if below is None else below
    reader = ConnectionReader(con, path)
    codes = sorted(set(pcn_codes)) if pcn_codes is not None else _all_pcns(reader)
    _write(con, _entries(reader, codes, below))


@after_commit
def _after_recorded(con, path: Path, imports: tuple) -> None:
    """After a save of recorded values: refresh the summaries of the PCNs whose values (or whose practices')
    it changed, where they had one (a store nobody refreshed stays that way), and bring the other PCNs of
    their ICBs up to date (`_repool`): their boards changed only where their ICB comparator pooled a saved value."""
    from . import board_inputs

    recorded = sorted({import_id for import_id, kind in imports if kind == "recorded"})
    if not recorded:
        return
    touched = con.execute(
        """
        SELECT DISTINCT coalesce(m.parent_code, a.org_code) AS pcn
        FROM value_audit a
        LEFT JOIN memberships m ON m.child_code = a.org_code AND m.parent_level = 'pcn'
             AND m.start_date <= a.period_start AND (m.end_date IS NULL OR m.end_date >= a.period_start)
        JOIN organisations p ON p.org_code = coalesce(m.parent_code, a.org_code) AND p.org_level = 'pcn'
        WHERE list_contains(?, a.import_id)
        """, [recorded]).fetchall()
    codes = sorted(code for (code,) in touched)
    if not codes:
        return
    had = {code for (code,) in con.execute("SELECT DISTINCT pcn_code FROM board_summaries "
                                           "WHERE list_contains(?, pcn_code)", [codes]).fetchall()}
    changed = _saved_measures(con, recorded)
    peers = _peers(con, codes)
    if not had and not peers:
        return
    # Every basis the two steps below check, as it was before the save: one read of the audit for both.
    before = board_inputs.bases(ConnectionReader(con, path), sorted(had | set(peers)), excluding=recorded)
    if had:
        whole = _refresh_saved(con, path, sorted(had), recorded, set(changed["measure_id"]), before)
        if whole:
            refresh_in(con, path, whole)
    _repool(con, path, peers, recorded, changed, before)


def _peers(con, saved_for: list[str]) -> list[str]:
    """The other PCNs of the saved PCNs' ICBs that have a stored board at the threshold in force."""
    from . import board_inputs

    return [code for (code,) in con.execute(
        f"""
        WITH places AS ({board_inputs._PLACES})
        SELECT DISTINCT b.pcn FROM places a JOIN places b ON b.icb = a.icb
        WHERE list_contains(?, a.pcn) AND NOT list_contains(?, b.pcn)
          AND EXISTS (SELECT 1 FROM board_summaries s WHERE s.pcn_code = b.pcn AND s.suppress_below = ?)
        ORDER BY 1
        """, [saved_for, saved_for, suppression.threshold()]).fetchall()]


def _saved_measures(con, recorded: list[int]) -> pd.DataFrame:
    """What a save wrote (measure_id, period_start): its values (and those it deleted), their PCN sums and the
    measures derived from them."""
    return con.execute(
        "SELECT measure_id, period_start FROM value_audit WHERE list_contains($ids, import_id) "
        "UNION SELECT measure_id, period_start FROM observations WHERE list_contains($ids, import_id)",
        {"ids": recorded}).df()


class _SomeMeasures(_OnePcn):
    """One PCN's inputs as `_OnePcn` reads them, its series and ICB comparators for some measures only."""

    def __init__(self, store, measure_ids: set[str]):
        super().__init__(store)
        self.measure_ids = sorted(measure_ids)

    def overview(self, pcn_code: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        return queries.overview(self.store, pcn_code, catalogue=self.everything, measure_ids=self.measure_ids)


def _refresh_saved(con, path: Path, pcn_codes: list[str], recorded: list[int], saved: set[str],
                   before: dict[str, tuple[int, str]]) -> list[str]:
    """The stored boards of the PCNs a save recorded values for, brought up to date: the rows of the measures it
    wrote computed again (each row reads only its own measure's series, comparator, spread, change points and
    caveat: `board.board_rows`), the other rows as stored. Only boards that were up to date before the save, from
    the same definitions and change points; returns the PCNs whose whole board must be computed instead.

    The saved measures' series and ICB comparators are read, not every measure's: at national scale the saved
    PCN's board took 355-590 ms of a one-value save's turn of the writers computed whole, 240-270 ms so."""
    below = suppression.threshold()
    reader = ConnectionReader(con, path)
    stored = con.execute(
        "SELECT pcn_code, audience, basis, published, catalogue_key, rebase_key, rows_z FROM board_summaries "
        "WHERE suppress_below = ? AND list_contains(?, pcn_code)", [below, pcn_codes]).df()
    whole, entries = [], []
    stamp = datetime.now().replace(microsecond=0)
    reads = _SomeMeasures(reader, saved)
    for code in pcn_codes:
        mine = stored[stored["pcn_code"] == code]
        if sorted(mine["audience"]) != sorted(AUDIENCES) or any(
                before[code] != (basis, published) for basis, published in zip(mine["basis"], mine["published"])):
            whole.append(code)
            continue
        found, catalogue, rebases = _audiences(reads, code, below)
        keys = (catalogue_key(catalogue), rebase_key(rebases))
        if any((kept, changes) != keys for kept, changes in zip(mine["catalogue_key"], mine["rebase_key"])):
            whole.append(code)
            continue
        basis, published = _basis(reader, code)
        for item in mine.itertuples():
            fresh = {row["measure"][0]: row for row in json.loads(encode(found[item.audience]))}
            rows = [fresh[row["measure"][0]] if row["measure"][0] in saved else row
                    for row in json.loads(unpack(item.rows_z))]
            entries.append([code, item.audience, below, basis, published, *keys,
                            pack(json.dumps(rows, separators=(",", ":"))), stamp])
    _write(con, entries)
    return whole


def _repool(con, path: Path, peers: list[str], recorded: list[int], changed: pd.DataFrame,
            before: dict[str, tuple[int, str]]) -> None:
    """The stored boards of the other PCNs of the saved PCNs' ICBs (`peers`), as they are after the save.

    A save changes a peer's board only through its ICB comparator: each measure's value pooled over the ICB's
    PCNs at the peer's own latest two periods. So a row whose measure and latest period a saved value pooled
    into gets the comparator pooled again and its verdict judged again (`board._row` does the same); the rest of
    the row, and every other row, stays as stored. Only rows that were up to date before the save (their basis
    then, in `before`) are brought on to the basis of now; the others stay unused, as before."""
    from . import board_inputs

    below = suppression.threshold()
    reader = ConnectionReader(con, path)
    if not peers:
        return
    # The save's imports are the newest, and each peer's basis counts its ICB's saves: so each basis is now theirs.
    now = {code: (max(before[code][0], max(recorded)), before[code][1]) for code in peers}
    stored = con.execute(
        "SELECT pcn_code, audience, basis, published, catalogue_key, rows_z FROM board_summaries "
        "WHERE suppress_below = ? AND list_contains(?, pcn_code)", [below, peers]).df()
    stored = stored[[before[code] == (basis, published) for code, basis, published
                     in zip(stored["pcn_code"], stored["basis"], stored["published"])]]
    if stored.empty:
        return
    entries = []
    stamp = datetime.now().replace(microsecond=0)
    # Each peer's own latest two periods of each measure saved, where a saved value pooled into them.
    con.register("_changed", changed)
    try:
        compared = con.execute(
            f"""
            WITH places AS ({board_inputs._PLACES}),
            latest AS (
                SELECT org_code, measure_id, period_start,
                       row_number() OVER (PARTITION BY org_code, measure_id ORDER BY period_start DESC) AS k
                FROM observations
                WHERE org_level = 'pcn' AND list_contains(?, org_code)
                  AND measure_id IN (SELECT measure_id FROM _changed)
            )
            SELECT DISTINCT l.org_code AS pcn, p.icb, l.measure_id AS measure, l.period_start
            FROM latest l JOIN _changed c ON c.measure_id = l.measure_id AND c.period_start = l.period_start
            JOIN places p ON p.pcn = l.org_code
            WHERE l.k <= 2
            """, [sorted(set(stored["pcn_code"]))]).df()
    finally:
        con.unregister("_changed")
    everything = local.catalogue_with_local(reader)
    icb_of = {row.pcn: row.icb for row in queries.pcns(reader).drop_duplicates("pcn").itertuples()
              if isinstance(row.icb, str)}
    compared = compared[[icb_of.get(pcn) == icb for pcn, icb in zip(compared["pcn"], compared["icb"])]]
    pooled = (board_inputs.pool(reader, compared[["icb", "measure", "period_start"]].drop_duplicates(), everything)
              if not compared.empty else pd.DataFrame(columns=["icb", "measure", "period_start", "comparator",
                                                               "comparator_org"]))
    values = {(icb, measure, pd.Timestamp(day).date()): (None if pd.isna(value) else float(value), org)
              for icb, measure, day, value, org in zip(pooled["icb"], pooled["measure"], pooled["period_start"],
                                                       pooled["comparator"], pooled["comparator_org"])}
    repooled = {(pcn, measure, pd.Timestamp(day).date()) for pcn, measure, day
                in zip(compared["pcn"], compared["measure"], compared["period_start"])}
    catalogues: dict[tuple, tuple[Catalogue, str]] = {}
    for item in stored.itertuples():
        key = (icb_of.get(item.pcn_code), item.catalogue_key)
        if key not in catalogues:
            found = local.catalogue_with_local(reader, item.pcn_code)
            catalogues[key] = (found, catalogue_key(found))
        catalogue, digest = catalogues[key]
        if digest != item.catalogue_key:
            continue  # computed from other definitions: left unused
        by_id = {measure.id: measure for measure in catalogue}
        rows = json.loads(unpack(item.rows_z))
        for row in rows:
            measure = by_id.get(row["measure"][0])
            day = date.fromisoformat(row["latest_period"]) if row["latest_period"] else None
            if measure is None or day is None or board.pcn_value_is_one(measure) \
                    or (item.pcn_code, measure.id, day) not in repooled:
                continue
            value, org = values.get((icb_of.get(item.pcn_code), measure.id, day), (None, None))
            row["comparator"], row["comparator_org"] = value, org
            row["verdict"] = asdict(board.judge(measure, row["numerator"], row["denominator"], row["latest_value"],
                                                value, suppressed=row["latest_suppressed"]))
        basis, published = now[item.pcn_code]
        entries.append([item.pcn_code, item.audience, below, basis, published,
                        pack(json.dumps(rows, separators=(",", ":"))), stamp])
    _restamp(con, entries)


def _restamp(con, entries: list[list]) -> None:
    """Write the rows brought up to date over the stored ones (their catalogue and change points are the same)."""
    if not entries:
        return
    frame = pd.DataFrame(entries, columns=["pcn_code", "audience", "suppress_below", "basis", "published",
                                           "rows_z", "computed_at"])
    con.register("_restamped", frame)
    try:
        con.execute("UPDATE board_summaries s SET basis = n.basis, published = n.published, rows_z = n.rows_z, "
                    "computed_at = n.computed_at FROM _restamped n WHERE s.pcn_code = n.pcn_code "
                    "AND s.audience = n.audience AND s.suppress_below = n.suppress_below")
    finally:
        con.unregister("_restamped")


# --- reading -------------------------------------------------------------------------------------------------


def read(store, pcn_code: str, audience: str, below: int, catalogue: Catalogue,
         rebases: dict | None) -> list[BoardRow] | None:
    """The stored rows for the PCN and audience, if they still describe the data; None otherwise (compute live).

    A read on the table's key, checked against the basis and published periods of now."""
    try:
        basis, published = _current_basis(store, pcn_code)
        found = store.query("SELECT rows_z, catalogue_key, rebase_key FROM board_summaries WHERE pcn_code = ? "
                            "AND audience = ? AND suppress_below = ? AND basis = ? AND published = ?",
                            [pcn_code, audience, below, basis, published])
    except DatabaseError:  # a file from before the table, read-only until its next write migrates it
        return None
    if found.empty:
        return None
    stored = found.iloc[0]
    if stored["catalogue_key"] != catalogue_key(catalogue) or stored["rebase_key"] != rebase_key(rebases):
        return None
    try:
        return decode(unpack(stored["rows_z"]), catalogue)
    except (KeyError, ValueError, TypeError) as exc:
        _log.warning("the stored board of %s cannot be read (%s); computing it", pcn_code, exc)
        return None


def audience_of(principal: access.Principal, pcn_code: str, directory: access.Directory) -> str:
    return MEMBERS if access.member_of(principal, pcn_code, directory) else OTHERS


def for_principal(rows: list[BoardRow], principal: access.Principal, pcn_code: str,
                  directory: access.Directory) -> list[BoardRow]:
    """The rows with each ICB comparator the principal may not read taken out and the verdict judged without it,
    as the board computes them from a comparator `access.filter_comparator` has filtered."""
    if principal.is_admin:
        return rows
    held = [row for row in rows if row.comparator is not None and row.latest_period is not None]
    if not held:
        return rows
    frame = pd.DataFrame({"measure": [row.measure.id for row in held],
                          "period_start": [pd.Timestamp(row.latest_period) for row in held]})
    kept = access.filter_comparator(frame, principal, pcn_code, directory)
    readable = set(zip(kept["measure"], kept["period_start"]))
    shown = []
    for row in rows:
        if row in held and (row.measure.id, pd.Timestamp(row.latest_period)) not in readable:
            row = replace(row, comparator=None, comparator_org=None, verdict=board.judge(
                row.measure, row.numerator, row.denominator, row.latest_value, None,
                suppressed=row.latest_suppressed))
        shown.append(row)
    return shown


# --- rows as text --------------------------------------------------------------------------------------------


def pack(text: str) -> bytes:
    """The rows' JSON as stored: zlib-compressed, because a blob of a few KB is read by key in a few ms where the
    same rows as a 20 KB string cost tens to hundreds (DuckDB decompresses a string column a vector at a time)."""
    return zlib.compress(text.encode("utf-8"), 1)


def unpack(blob: bytes) -> str:
    return zlib.decompress(blob).decode("utf-8")


def encode(rows: Sequence[BoardRow]) -> str:
    items = []
    for row in rows:
        item = {f.name: getattr(row, f.name) for f in fields(BoardRow) if f.name != "measure"}
        item["measure"] = [row.measure.id, row.measure.version]
        item["latest_period"] = row.latest_period.isoformat() if row.latest_period else None
        item["verdict"] = asdict(row.verdict)
        items.append(item)
    return json.dumps(items, separators=(",", ":"))


def decode(text: str, catalogue: Catalogue) -> list[BoardRow]:
    by_id = {measure.id: measure for measure in catalogue}
    rows = []
    for item in json.loads(text):
        measure_id, version = item.pop("measure")
        measure = by_id[measure_id]
        if measure.version != version:
            raise ValueError(f"{measure_id} is at version {measure.version}, the row at {version}")
        item["latest_period"] = date.fromisoformat(item["latest_period"]) if item["latest_period"] else None
        item["verdict"] = Verdict(**item["verdict"])
        item["trend"] = tuple(item["trend"])
        item["reasons"] = tuple(item["reasons"])
        if item["practice_range"] is not None:
            item["practice_range"] = tuple(item["practice_range"])
        rows.append(BoardRow(measure=measure, **item))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m measures.board_summaries --db PATH`: compute every PCN's board summary (after an import)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m measures.board_summaries", description=main.__doc__)
    parser.add_argument("--db", help="DuckDB file (default: $PCN_DB, else data/demo.duckdb)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per core, up to 8)")
    options = parser.parse_args(argv)
    store = Store(options.db)
    started = datetime.now()
    done = refresh(store, workers=options.workers)
    print(f"Board summaries of {done} PCNs written to {store.path} in "
          f"{(datetime.now() - started).total_seconds():.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
