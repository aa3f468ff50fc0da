"""Board summaries: each PCN's board rows computed once per data version and stored, so a board is one read.

A PCN's board (`board.board_rows`) costs its queries plus about 0.4 s of SPC readings, intervals and goals at
national scale. The rows are computed here the way the board view computes them (the effective catalogue, the
Overview's series and ICB comparator, the practice spread, the change points, the data caveats, small numbers
suppressed) for two audiences: `members`, who read every period of the PCN's local values, and `others`, who
read its published periods only (`measures.access`). The ICB comparator of a local measure pools other PCNs'
values, so whether a reader may see it depends on who they are: rows keep it, and `for_principal` drops it
(and judges again without it) where `access.filter_comparator` would, on every read.

A stored row is used only while it still describes the data (see migration 013): its `basis` is the latest
import that can change the PCN's board. Every write of observations starts an import (publications, the
demo, values recorded in the app or from a file), so any write the summary does not know of makes it unused,
and the board is computed live as before, never shown stale. The demo build and `refresh` compute every PCN;
a save of recorded values refreshes the PCNs it touched inside its own turn (`store.after_commit`), so the
copy it publishes holds both.
"""

from __future__ import annotations

import hashlib
import json
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


# --- computing -----------------------------------------------------------------------------------------------


def compute(store, pcn_code: str, audience: str, below: int) -> list[BoardRow]:
    """The PCN's board rows as the board view computes them for a reader of `audience`, at threshold `below`,
    with every ICB comparator kept (`for_principal` applies the reader's rights to those)."""
    return compute_audiences(store, pcn_code, below)[0][audience]


def compute_audiences(store, pcn_code: str, below: int, *, everything: Catalogue | None = None,
                      facts: access.Directory | None = None) -> tuple[dict[str, list[BoardRow]], Catalogue, dict]:
    """The rows for each audience from one set of reads, with the PCN's catalogue and change points they used.

    `everything` (the whole effective catalogue) and `facts` (`access.directory`) may be passed by a caller that
    reads many PCNs. The national measures' rows are the same for every audience, so only the local ones are
    computed again for `others`, and only when the PCN holds some of its local values back."""
    everything = everything or local.catalogue_with_local(store)  # as measures.ui reads the Overview
    catalogue = local.catalogue_with_local(store, pcn_code)
    series, comparator = queries.overview(store, pcn_code, catalogue=everything)
    spread = queries.practice_spread(store, pcn_code)
    rebases = annotations.rebase_dates_by_measure(store, pcn_code)
    caveats = data_quality.card_caveats(data_quality.practice_completeness(store, pcn_code))
    rules = suppression.rules(everything)

    def rows(measures: Catalogue, series: pd.DataFrame, spread: pd.DataFrame) -> list[BoardRow]:
        shown, pooled = suppression.suppress_query(
            "overview", (series, comparator), (pcn_code,), rules, below,
            practices=lambda ids, pcns, period: suppression.practice_values(store, ids, pcns, period))
        spread = suppression.suppress_query("practice_spread", spread, (pcn_code,), rules, below)
        return board.board_rows(measures, shown, pooled, spread, rebases, caveats=caveats)

    members = rows(catalogue, series, spread)
    others = members
    if _holds_back(store, pcn_code):
        nobody, facts = access.Principal(), facts or access.directory(store)
        if not spread.empty:
            spread = spread[access.readable_mask(spread.assign(org=pcn_code), nobody, facts)]
        local_only = Catalogue(tuple(m for m in catalogue if access.is_local_measure(m.id)))
        held_back = {row.measure.id: row for row in rows(local_only, access.filter_rows(series, nobody, facts), spread)}
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
    hold back)."""
    entries = []
    now = datetime.now().replace(microsecond=0)
    everything = local.catalogue_with_local(store)
    facts = access.directory(store) if len(pcn_codes) > 1 else None  # else read only if needed
    for pcn_code in pcn_codes:
        basis, published = _basis(store, pcn_code)
        found, catalogue, rebases = compute_audiences(store, pcn_code, below, everything=everything, facts=facts)
        keys = (catalogue_key(catalogue), rebase_key(rebases))
        members = encode(found[MEMBERS])
        others = members if found[OTHERS] is found[MEMBERS] else encode(found[OTHERS])
        for audience, text in ((MEMBERS, members), (OTHERS, others)):
            entries.append([pcn_code, audience, below, basis, published, *keys, text, now])
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
                                           "catalogue_key", "rebase_key", "rows_json", "computed_at"])
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
    it changed, where they had one (a store nobody refreshed stays that way). The other PCNs of their ICB, whose
    comparators pool the values, are computed live until the next `refresh`: their basis has moved on."""
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
          AND EXISTS (SELECT 1 FROM board_summaries s WHERE s.pcn_code = p.org_code)
        """, [recorded]).fetchall()
    if touched:
        refresh_in(con, path, [code for (code,) in touched])


# --- reading -------------------------------------------------------------------------------------------------


def read(store, pcn_code: str, audience: str, below: int, catalogue: Catalogue,
         rebases: dict | None) -> list[BoardRow] | None:
    """The stored rows for the PCN and audience, if they still describe the data; None otherwise (compute live).

    One query, on the table's key, that also checks the basis and published periods of now."""
    try:
        found = store.query(
            _ORGS + """
            , now AS (""" + _BASIS + """)
            SELECT s.rows_json, s.catalogue_key, s.rebase_key FROM board_summaries s, now
            WHERE s.pcn_code = ? AND s.audience = ? AND s.suppress_below = ?
              AND s.basis = now.basis AND s.published = now.published
            """, [pcn_code, pcn_code, pcn_code, pcn_code, audience, below])
    except DatabaseError:  # a file from before the table, read-only until its next write migrates it
        return None
    if found.empty:
        return None
    stored = found.iloc[0]
    if stored["catalogue_key"] != catalogue_key(catalogue) or stored["rebase_key"] != rebase_key(rebases):
        return None
    try:
        return decode(stored["rows_json"], catalogue)
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
