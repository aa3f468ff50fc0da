"""PCN figures rebuilt from what the store holds whenever what they rest on changes: totals, sums of practices, rates."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from .common import (OBSERVATION_COLUMNS, measures_catalogue, observations, select_columns, value_sql,
                     with_import_id)
from .hierarchy import MEMBERSHIP_AT_SQL, PCN_SPANS_SQL
from .vintages import write_newest

CONTRIBUTION_COLUMNS = ["measure_id", "org_code", "practice_code", "period_start", "period_end", "numerator",
                        "denominator"]
CONTRIBUTION_KEYS = ("measure_id", "practice_code", "period_start", "period_end")
_PERIOD = ("measure_id", "period_start", "period_end")


def _insert_observations(con, frame: pd.DataFrame) -> None:
    columns = ", ".join(OBSERVATION_COLUMNS + ["import_id"])
    con.register("_derived", frame[OBSERVATION_COLUMNS + ["import_id"]])
    try:
        con.execute(f"INSERT INTO observations ({columns}) SELECT {columns} FROM _derived "
                    "ORDER BY org_code, measure_id, period_start")
    finally:
        con.unregister("_derived")


def _as_observations(frame: pd.DataFrame, basis: str) -> pd.DataFrame:
    """Observation rows (values as the catalogue computes them) from a frame with measure_id, org_code, org_level,
    period_start, period_end, numerator, denominator and import_id."""
    catalogue = measures_catalogue()
    parts = []
    for measure_id, rows in frame.groupby("measure_id", sort=True):
        rows = rows.reset_index(drop=True)
        parts.append(observations(measure_id, rows, basis, catalogue).assign(import_id=rows["import_id"].to_numpy()))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=OBSERVATION_COLUMNS + ["import_id"])


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


# ------------------------------------------------------------------------------------------------
# Totals over every practice a publication gave for a PCN (the appointments crosstab)


def write_contributions(con, frame: pd.DataFrame | pa.Table, publication: str, vintage: str,
                        import_id: int) -> dict[str, int]:
    """Record what each practice gave towards its PCN's totals, replacing what an older (or the same) vintage of the
    publication said about the same practice, measure and period, and keeping what a newer vintage said; then
    rebuild the PCN totals of every measure and period the file touched over all the practices held for them."""
    frame = with_import_id(select_columns(frame, CONTRIBUTION_COLUMNS), import_id)
    con.register("_contributed", frame)
    try:
        write_newest(con, "pcn_contributions", "_contributed", CONTRIBUTION_KEYS, CONTRIBUTION_COLUMNS + ["import_id"],
                     publication, vintage)
        con.execute("CREATE OR REPLACE TEMP TABLE _contributed_periods AS "
                    "SELECT DISTINCT measure_id, period_start, period_end FROM _contributed")
    finally:
        con.unregister("_contributed")
    return _rebuild_contributed_totals(con, publication, import_id)


def _rebuild_contributed_totals(con, publication: str, import_id: int) -> dict[str, int]:
    """PCN totals (basis sum_of_practices) of the periods in _contributed_periods: the sums over every practice held
    for the PCN. A rate whose denominator some practices lack (a list size) is summed over the practices that have
    one, numerator and denominator alike; where none has one, the numerator is the total and the rate is empty. (A
    practice is in a PCN's rows once: the primary key of pcn_contributions ends with practice_code.)"""
    params = {"publication": publication, "import_id": import_id}
    con.execute("""
        DELETE FROM observations USING _contributed_periods k, imports i
        WHERE observations.measure_id = k.measure_id AND observations.period_start = k.period_start
          AND observations.period_end = k.period_end AND observations.org_level = 'pcn'
          AND observations.basis = 'sum_of_practices' AND observations.import_id = i.import_id
          AND i.publication = $publication
    """, {"publication": publication})
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _pcn_totals AS
        SELECT c.measure_id, c.org_code, 'pcn' AS org_level, c.period_start, c.period_end,
               CASE WHEN count(c.denominator) > 0 THEN sum(c.numerator) FILTER (WHERE c.denominator IS NOT NULL)
                    ELSE sum(c.numerator) END AS numerator,
               sum(c.denominator) AS denominator, max(c.import_id) AS import_id,
               count(*) AS practices, count(*) FILTER (WHERE c.import_id <> $import_id) AS from_other_files
        FROM pcn_contributions c JOIN _contributed_periods USING (measure_id, period_start, period_end)
        JOIN imports i ON i.import_id = c.import_id
        WHERE i.publication = $publication
        GROUP BY ALL
    """, params)
    totals, with_others, from_others = con.execute("""
        SELECT (SELECT count(*) FROM _pcn_totals), count(*), sum(practices) FROM (
            SELECT org_code, period_start, max(from_other_files) AS practices FROM _pcn_totals
            WHERE from_other_files > 0 GROUP BY ALL)
    """).fetchall()[0]
    if not totals:
        return {"pcn_totals": 0, "pcns_with_other_files": 0}
    _insert_totals(con)
    return {"pcn_totals": int(totals), "pcns_with_other_files": int(with_others),
            "practices_from_other_files": int(from_others or 0)}


def _insert_totals(con) -> None:
    """The observations of _pcn_totals, their values computed in SQL as observations() computes them (numerator ÷
    denominator × multiplier, a count its numerator); where anything is not a finite number, through observations()
    itself, which refuses a value too large to store and words that message."""
    catalogue = measures_catalogue()
    ids = [r[0] for r in con.execute("SELECT DISTINCT measure_id FROM _pcn_totals ORDER BY 1").fetchall()]
    measures = [catalogue.get(measure_id) for measure_id in ids]
    described = {"measure_id": [m.id for m in measures], "measure_version": [int(m.version) for m in measures],
                 "multiplier": [float(m.multiplier) for m in measures],
                 "is_count": [m.type == "count" for m in measures]}
    computed = f"""
        SELECT t.measure_id, m.measure_version, CAST(t.org_code AS VARCHAR) AS org_code, t.org_level, t.period_start,
               t.period_end, CAST(t.numerator AS DOUBLE) AS numerator,
               CASE WHEN NOT m.is_count THEN CAST(t.denominator AS DOUBLE) END AS denominator,
               CASE WHEN m.is_count THEN CAST(t.numerator AS DOUBLE)
                    ELSE {value_sql("CAST(t.numerator AS DOUBLE)", "CAST(t.denominator AS DOUBLE)", "m.multiplier")}
               END AS value, 'sum_of_practices' AS basis, t.import_id
        FROM _pcn_totals t
        JOIN (SELECT unnest($measure_id) AS measure_id, unnest($measure_version) AS measure_version,
                     unnest($multiplier) AS multiplier, unnest($is_count) AS is_count) m USING (measure_id)
    """
    odd = con.execute(f"""
        SELECT count(*) FROM ({computed})
        WHERE NOT (isfinite(coalesce(numerator, 0)) AND isfinite(coalesce(denominator, 0))
                   AND isfinite(coalesce(value, 0)))
    """, described).fetchall()[0][0]
    if odd:
        totals = con.execute("SELECT * FROM _pcn_totals").df()
        _insert_observations(con, _as_observations(_dates(totals, "period_start", "period_end"), "sum_of_practices"))
        return
    columns = ", ".join(OBSERVATION_COLUMNS + ["import_id"])
    con.execute(f"INSERT INTO observations ({columns}) SELECT {columns} FROM ({computed}) "
                "ORDER BY org_code, measure_id, period_start", described)


# ------------------------------------------------------------------------------------------------
# Sums of practices at their membership (the IIF annual file, the MI Network Contract DES monthly figures)


def rebuild_member_sums(con, publication: str) -> dict[str, int]:
    """Every PCN figure (basis sum_of_practices) of a publication that gives practice figures, as the sum of the
    practices in the PCN on the period's last day at the memberships the store holds now; a PCN figure the
    publication gives itself is never replaced. A practice figure without its numerator (or, for a rate or
    proportion, its denominator) is in no sum. Returns how many figures there are and how many changed."""
    params = {"publication": publication}
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _member_figures AS
        SELECT o.measure_id, o.org_code AS child_code, o.period_start, o.period_end AS at_date, o.numerator,
               o.denominator, o.import_id
        FROM observations o JOIN imports i ON i.import_id = o.import_id
        WHERE i.publication = $publication AND o.org_level = 'practice'
    """, params)
    measures = [r[0] for r in con.execute("SELECT DISTINCT measure_id FROM _member_figures").fetchall()]
    catalogue = measures_catalogue()
    counts = [m for m in measures if catalogue.get(m).type == "count"]
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _member_sums_before AS
        SELECT o.measure_id, o.org_code, o.period_start, o.period_end, o.numerator, o.denominator
        FROM observations o JOIN imports i ON i.import_id = o.import_id
        WHERE i.publication = $publication AND o.org_level = 'pcn' AND o.basis = 'sum_of_practices'
    """, params)
    con.execute("""
        DELETE FROM observations USING imports i
        WHERE observations.import_id = i.import_id AND i.publication = $publication
          AND observations.org_level = 'pcn' AND observations.basis = 'sum_of_practices'
    """, params)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _member_pcn AS
        WITH pcn_spans AS ({PCN_SPANS_SQL}), _at AS (SELECT DISTINCT child_code, at_date FROM _member_figures)
        {MEMBERSHIP_AT_SQL}
    """)
    sums = con.execute("""
        WITH summed AS (
            SELECT f.measure_id, m.parent_code AS org_code, 'pcn' AS org_level, f.period_start,
                   f.at_date AS period_end, sum(f.numerator) AS numerator, sum(f.denominator) AS denominator,
                   max(f.import_id) AS import_id
            FROM _member_figures f JOIN _member_pcn m USING (child_code, at_date)
            WHERE f.numerator IS NOT NULL AND (f.denominator IS NOT NULL OR list_contains(CAST($counts AS VARCHAR[]), f.measure_id))
            GROUP BY ALL
        ), given AS (
            SELECT o.measure_id, o.org_code, o.period_start, o.period_end
            FROM observations o JOIN imports i ON i.import_id = o.import_id
            WHERE i.publication = $publication AND o.org_level = 'pcn' AND o.basis <> 'sum_of_practices'
        )
        SELECT * FROM summed ANTI JOIN given USING (measure_id, org_code, period_start, period_end)
    """, {"publication": publication, "counts": counts}).df()
    if sums.empty:
        return {"sums": 0, "changed": int(con.execute("SELECT count(*) FROM _member_sums_before").fetchall()[0][0])}
    _insert_observations(con, _as_observations(_dates(sums, "period_start", "period_end"), "sum_of_practices"))
    changed = con.execute("""
        SELECT count(*) FROM (
            SELECT measure_id, org_code, period_start, period_end, numerator, denominator FROM _member_sums_before
            EXCEPT
            SELECT o.measure_id, o.org_code, o.period_start, o.period_end, o.numerator, o.denominator
            FROM observations o JOIN imports i ON i.import_id = o.import_id
            WHERE i.publication = $publication AND o.org_level = 'pcn' AND o.basis = 'sum_of_practices')
    """, params).fetchall()[0][0]
    added = con.execute("""
        SELECT count(*) FROM (
            SELECT o.measure_id, o.org_code, o.period_start, o.period_end, o.numerator, o.denominator
            FROM observations o JOIN imports i ON i.import_id = o.import_id
            WHERE i.publication = $publication AND o.org_level = 'pcn' AND o.basis = 'sum_of_practices'
            EXCEPT
            SELECT measure_id, org_code, period_start, period_end, numerator, denominator FROM _member_sums_before)
    """, params).fetchall()[0][0]
    return {"sums": len(sums), "changed": int(max(changed, added))}


# ------------------------------------------------------------------------------------------------
# Rates per PCN list size (the workforce FTE per 10,000)


def rebuild_pcn_denominators(con, publication: str) -> dict[str, int]:
    """Divide every PCN rate of a publication (every measure but counts) by the PCN's registered patients at the
    list-size extract nearest the period's last day, as the store holds them now (a later list size, or a map that
    moves practices, changes them). Returns how many figures there are and how many changed."""
    frame = con.execute("""
        SELECT o.* FROM observations o JOIN imports i ON i.import_id = o.import_id
        WHERE i.publication = $publication AND o.org_level = 'pcn'
    """, {"publication": publication}).df()
    if frame.empty:
        return {"figures": 0, "changed": 0}
    catalogue = measures_catalogue()
    frame = frame[[catalogue.get(m).type != "count" for m in frame["measure_id"]]].reset_index(drop=True)
    if frame.empty:
        return {"figures": 0, "changed": 0}
    con.register("_rates", frame[["measure_id", "org_code", "period_start", "period_end"]])
    try:
        nearest = con.execute("""
            SELECT r.measure_id, r.org_code, r.period_start, r.period_end, l.registered_patients AS new_denominator
            FROM _rates r JOIN list_sizes l ON l.org_code = r.org_code
            JOIN organisations o ON o.org_code = l.org_code AND o.org_level = 'pcn'
            QUALIFY row_number() OVER (PARTITION BY r.measure_id, r.org_code, r.period_start, r.period_end
                                       ORDER BY abs(date_diff('day', l.extract_date, r.period_end)),
                                                l.extract_date DESC) = 1
        """).df()
    finally:
        con.unregister("_rates")
    keys = ["measure_id", "org_code", "period_start", "period_end"]
    frame = _dates(frame, "period_start", "period_end")
    merged = frame.merge(_dates(nearest, "period_start", "period_end"), on=keys, how="left")
    old, new = merged["denominator"].astype("float64"), merged["new_denominator"].astype("float64")
    changed = ~((old == new) | (old.isna() & new.isna()))
    if not changed.any():
        return {"figures": len(merged), "changed": 0}
    rebuilt = merged[changed].assign(denominator=new[changed]).reset_index(drop=True)
    con.register("_stale", rebuilt[keys])
    try:
        con.execute("""
            DELETE FROM observations USING _stale s, imports i
            WHERE observations.measure_id = s.measure_id AND observations.org_code = s.org_code
              AND observations.period_start = s.period_start AND observations.period_end = s.period_end
              AND observations.org_level = 'pcn' AND observations.import_id = i.import_id
              AND i.publication = $publication
        """, {"publication": publication})
    finally:
        con.unregister("_stale")
    parts = [_as_observations(rows, basis) for basis, rows in rebuilt.groupby("basis")]
    _insert_observations(con, pd.concat(parts, ignore_index=True))
    return {"figures": len(merged), "changed": int(changed.sum())}
