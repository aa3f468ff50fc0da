"""Writing one parsed publication into the store inside the caller's transaction, replacing older vintages' rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from .common import OBSERVATION_COLUMNS, Rejections, measures_catalogue, select_columns, with_import_id
from .hierarchy import refresh_pcn_list_sizes, write_evidence
from .totals import rebuild_member_sums, rebuild_pcn_denominators, write_contributions
from .vintages import write_newest

LIST_SIZES_PUBLICATION = "Patients Registered at a GP Practice: list sizes"
OBSERVATION_KEYS = ("measure_id", "org_code", "period_start", "period_end")


@dataclass
class Load:
    """What a publication module hands over after parsing and validating a file in memory."""

    publication: str
    vintage: str  # ISO date: the extract, census, month or achievement date the file is for
    rows_read: int
    rows_loaded: int
    rejections: Rejections = field(default_factory=Rejections)
    notes: list[str] = field(default_factory=list)
    organisations: pd.DataFrame | None = None
    organisations_authority: bool = False  # True: names and ONS codes replace what the store has (the map)
    evidence: pd.DataFrame | None = None  # membership evidence (see hierarchy.EVIDENCE_COLUMNS)
    list_sizes: pd.DataFrame | None = None  # org_code, extract_date, registered_patients
    observations: pd.DataFrame | pa.Table | None = None  # OBSERVATION_COLUMNS
    context: pd.DataFrame | None = None  # practice_context rows without import_id
    refresh_pcn_lists: bool = False
    # What each practice gave towards its PCN's totals (totals.CONTRIBUTION_COLUMNS), for a publication that states
    # practice figures and the PCN of each: the PCN totals are then rebuilt over every practice the store holds.
    contributions: pd.DataFrame | pa.Table | None = None
    # Other tables a publication fills, by name: rows replace those with the same primary key, and where
    # `table_scopes` names columns for a table, every row already there with the same values of those columns
    # (say a PCN and a census date) is removed first, so a corrected file leaves nothing of the old one behind.
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    table_scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)


def write(con, load: Load, import_id: int) -> dict[str, int]:
    """Write a Load; returns counts of rows written by kind, for the report."""
    written: dict[str, int] = {}
    if load.organisations is not None and not load.organisations.empty:
        written["organisations listed"] = _organisations(con, load.organisations, import_id, load.organisations_authority)
    memberships_changed = load.evidence is not None and not load.evidence.empty
    if memberships_changed:
        for edge, rows in write_evidence(con, load.evidence, import_id).items():
            written[f"memberships {edge}"] = rows
    lists_changed = load.refresh_pcn_lists or (load.list_sizes is not None and not load.list_sizes.empty)
    if load.list_sizes is not None and not load.list_sizes.empty:
        frame = load.list_sizes.assign(import_id=import_id)
        _insert(con, "list_sizes", frame, replace=True)
        written["practice list sizes"] = len(frame)
    if load.refresh_pcn_lists:
        version = measures_catalogue().get("registered_patients").version
        summary = refresh_pcn_list_sizes(con, LIST_SIZES_PUBLICATION, version)
        if summary["pcn_list_sizes"]:
            written["PCN list sizes (sum of practices)"] = summary["pcn_list_sizes"]
        if summary["practices_assumed"]:
            load.notes.append(
                f"{summary['practices_assumed']:,} practice list sizes were added to the PCN the practice was first "
                "seen in on a later map, because no membership is dated for that extract; import the ePCN workbook "
                "or the map of the same month to date them.")
        if summary["practices_in_no_pcn"]:
            load.notes.append(f"{summary['practices_in_no_pcn']:,} practice list sizes belong to no PCN on their extract "
                              "date (unallocated, closed or not in any imported map) and are in no PCN total.")
    if load.observations is not None and len(load.observations):
        written.update(_observations(con, load.observations, load.publication, load.vintage, import_id, load.notes))
    if load.context is not None and not load.context.empty:
        frame = load.context.assign(import_id=import_id)
        _insert(con, "practice_context", frame, replace=True)
        written["practice context values"] = len(frame)
    for table, frame in load.tables.items():
        if frame is not None and not frame.empty:
            scope = load.table_scopes.get(table)
            if scope:
                _delete_scope(con, table, frame, scope)
            _insert(con, table, frame.assign(import_id=import_id), replace=True)
            written[table.replace("_", " ")] = len(frame)
    if load.contributions is not None and len(load.contributions):
        summary = write_contributions(con, load.contributions, load.publication, load.vintage, import_id)
        written["PCN totals (every practice held for the period)"] = summary["pcn_totals"]
        if summary["pcns_with_other_files"]:
            load.notes.append(
                f"{summary['pcns_with_other_files']:,} PCN totals also count {summary['practices_from_other_files']:,} "
                "practices an earlier file gave for the same month (a month published in several files); each PCN "
                "total is the sum over every practice held for it.")
    _rebuild_derived(con, load, memberships_changed, lists_changed, written)
    return written


def _derived_publications() -> tuple[list[str], list[str]]:
    """The publications whose PCN figures are sums of practices at their membership, and those whose PCN rates divide
    by the PCN's list size. Imported here, not at the top: those modules import this one."""
    from . import iif, ncdes, workforce

    return [iif.PUBLICATION, ncdes.PUBLICATION], [workforce.PUBLICATION]


def _rebuild_derived(con, load: Load, memberships_changed: bool, lists_changed: bool, written: dict[str, int]) -> None:
    """PCN figures that rest on memberships or list sizes, rebuilt when this file changed those (a map or list sizes
    imported after the IIF or workforce file) or brought the figures themselves, so that the order files are
    imported in does not change a PCN's figures."""
    summed, divided = _derived_publications()
    for publication in summed:
        if load.publication == publication:
            result = rebuild_member_sums(con, publication)
            written["PCN figures (sum of practices)"] = result["sums"]
        elif memberships_changed:
            result = rebuild_member_sums(con, publication)
            if result["changed"]:
                load.notes.append(f"{result['changed']:,} PCN figures of {publication} summed from practices were "
                                  "rebuilt at the memberships this file gives.")
    for publication in divided:
        if load.publication == publication or lists_changed:
            result = rebuild_pcn_denominators(con, publication)
            if result["changed"] and load.publication != publication:
                load.notes.append(f"{result['changed']:,} PCN rates of {publication} now divide by the PCN list "
                                  "sizes as they stand after this file (the extract nearest each census).")


def _delete_scope(con, table: str, frame: pd.DataFrame, scope: tuple[str, ...]) -> None:
    con.register("_scope", frame[list(scope)].drop_duplicates())
    try:
        match = " AND ".join(f"{table}.{column} = s.{column}" for column in scope)
        con.execute(f"DELETE FROM {table} USING _scope s WHERE {match}")
    finally:
        con.unregister("_scope")


def _insert(con, table: str, frame: pd.DataFrame, replace: bool = False) -> None:
    columns = ", ".join(frame.columns)
    con.register("_incoming", frame)
    try:
        con.execute(f"INSERT {'OR REPLACE ' if replace else ''}INTO {table} ({columns}) SELECT {columns} FROM _incoming")
    finally:
        con.unregister("_incoming")


def _organisations(con, frame: pd.DataFrame, import_id: int, authority: bool) -> int:
    columns = ["org_code", "org_level", "name", "ons_code", "postcode", "open_date", "close_date"]
    frame = frame.reindex(columns=columns).drop_duplicates("org_code").assign(import_id=import_id)
    con.register("_orgs", frame)
    try:
        if authority:
            con.execute("""
                UPDATE organisations SET name = n.name, ons_code = coalesce(n.ons_code, organisations.ons_code),
                       postcode = coalesce(n.postcode, organisations.postcode), import_id = n.import_id
                FROM _orgs n WHERE organisations.org_code = n.org_code
            """)
        else:  # dates are this publication's to give; names stay as the map has them
            con.execute("""
                UPDATE organisations SET open_date = coalesce(n.open_date, organisations.open_date),
                       close_date = n.close_date, postcode = coalesce(organisations.postcode, n.postcode)
                FROM _orgs n WHERE organisations.org_code = n.org_code AND n.org_level = 'pcn'
            """)
        con.execute("""
            INSERT INTO organisations (org_code, org_level, name, ons_code, postcode, open_date, close_date, import_id)
            SELECT org_code, org_level, name, ons_code, postcode, open_date, close_date, import_id FROM _orgs
            WHERE org_code NOT IN (SELECT org_code FROM organisations)
        """)
    finally:
        con.unregister("_orgs")
    return len(frame)


def _observations(con, frame: pd.DataFrame | pa.Table, publication: str, vintage: str, import_id: int,
                  notes: list[str]) -> dict[str, int]:
    """Insert observations, replacing rows of the same measure, organisation and period that older (or equal)
    vintages of the same publication wrote; rows a newer vintage wrote are kept and the incoming ones skipped."""
    frame = with_import_id(select_columns(frame, OBSERVATION_COLUMNS), import_id)
    con.register("_obs", frame)
    try:
        replaced, kept = write_newest(con, "observations", "_obs", OBSERVATION_KEYS,
                                      OBSERVATION_COLUMNS + ["import_id"], publication, vintage,
                                      order_by="org_code, measure_id, period_start")
        # Counted by DuckDB, whether the rows came as a DataFrame or as an Arrow table.
        counts = dict(con.execute("SELECT measure_id, count(*) FROM _obs WHERE measure_id IS NOT NULL "
                                  "GROUP BY measure_id").fetchall())
    finally:
        con.unregister("_obs")
    if replaced:
        notes.append(f"{replaced:,} observations from an earlier import of this publication were replaced.")
    if kept:
        notes.append(f"{kept:,} observations were not written because a newer vintage of this publication already "
                     "gave them.")
    return {f"observations: {measure}": int(n) for measure, n in sorted(counts.items())}
