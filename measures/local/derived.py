"""Measures computed from other recorded measures, recomputed whenever a value they depend on changes."""

from __future__ import annotations

import pandas as pd

from .common import _unregister
from .definitions import _versions_in

FAIR_SHARE_RATIO = "ps_arrs_fair_share_ratio"
ARRS_HOURS = "ps_arrs_hours_per_1000_weighted"
# derived measure -> the measure whose practice numerators it is computed from
DERIVED = {FAIR_SHARE_RATIO: ARRS_HOURS}


def recompute_in(con, touched: pd.DataFrame) -> int:
    """Recompute every derived measure for the PCNs and periods whose source values changed; returns rows written.

    `touched` has measure_id, pcn_code, period_start and import_id of each saved or deleted value; each derived
    value is written under the import that touched its PCN and period. The ARRS fair-share
    ratio of a practice is its hours over its fair share of the PCN's hours that month: all hours held for the
    PCN's practices, times the practice's share of the weighted population (list sizes at the period's start)
    of the PCN's practices with hours held, so the fair shares add up to the hours and the PCN's ratio is 1.
    Its PCN row is the sum of its practices, as for any practice measure. Sums add practices in code order, so
    the same values always give the same result to the last bit.
    """
    versions = _versions_in(con)
    written = 0
    for derived_id, source_id in DERIVED.items():
        if derived_id not in versions or source_id not in versions:
            continue
        cells = touched[touched["measure_id"] == source_id]
        if cells.empty:
            continue
        derived = versions[derived_id][max(versions[derived_id])]
        source_version = max(versions[source_id])
        keys = cells[["pcn_code", "period_start", "import_id"]].dropna().drop_duplicates(
            subset=["pcn_code", "period_start"], keep="last")
        keys = keys.assign(period_start=pd.to_datetime(keys["period_start"]))
        con.register("_derive_keys", keys)
        try:
            con.execute(
                """
                CREATE OR REPLACE TEMP TABLE _derived AS
                WITH members AS (
                    SELECT k.pcn_code, CAST(k.period_start AS DATE) AS period_start, m.child_code AS org_code,
                           k.import_id
                    FROM _derive_keys k
                    JOIN memberships m ON m.parent_code = k.pcn_code AND m.parent_level = 'pcn'
                     AND m.child_level = 'practice' AND m.start_date <= CAST(k.period_start AS DATE)
                     AND (m.end_date IS NULL OR m.end_date >= CAST(k.period_start AS DATE))
                ), weighted AS (
                    SELECT mb.pcn_code, mb.period_start, mb.org_code, mb.import_id, ls.weighted_patients
                    FROM members mb
                    ASOF LEFT JOIN list_sizes ls ON ls.org_code = mb.org_code AND ls.extract_date <= mb.period_start
                ), hours AS (
                    SELECT w.pcn_code, w.period_start, w.org_code, w.import_id, w.weighted_patients, o.period_end,
                           o.numerator AS hours
                    FROM weighted w
                    JOIN observations o ON o.org_code = w.org_code AND o.period_start = w.period_start
                     AND o.measure_id = ? AND o.measure_version = ? AND o.org_level = 'practice'
                    WHERE o.numerator IS NOT NULL
                    QUALIFY row_number() OVER (PARTITION BY o.org_code, o.period_start ORDER BY o.import_id DESC) = 1
                ), totals AS (
                    SELECT pcn_code, period_start, sum(weighted_patients ORDER BY org_code) AS pcn_weighted
                    FROM hours GROUP BY ALL
                )
                SELECT h.org_code, h.pcn_code, h.period_start, h.period_end, h.import_id, h.hours AS numerator,
                       round(sum(h.hours) OVER (PARTITION BY h.pcn_code, h.period_start ORDER BY h.org_code
                                                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                             * h.weighted_patients / t.pcn_weighted, 2) AS denominator
                FROM hours h JOIN totals t USING (pcn_code, period_start)
                """, [source_id, source_version])
            # Every practice of the touched PCN-periods, and the PCN itself, loses its old derived value first,
            # so a practice whose hours were deleted has no ratio left.
            con.execute(
                """
                DELETE FROM observations o USING (
                    SELECT m.child_code AS org_code, CAST(k.period_start AS DATE) AS period_start FROM _derive_keys k
                    JOIN memberships m ON m.parent_code = k.pcn_code AND m.parent_level = 'pcn'
                     AND m.child_level = 'practice' AND m.start_date <= CAST(k.period_start AS DATE)
                     AND (m.end_date IS NULL OR m.end_date >= CAST(k.period_start AS DATE))
                    UNION ALL SELECT pcn_code, CAST(period_start AS DATE) FROM _derive_keys
                ) k
                WHERE o.measure_id = ? AND o.measure_version = ? AND o.org_code = k.org_code
                  AND o.period_start = k.period_start
                """, [derived.id, derived.version])
            value = "CASE WHEN denominator > 0 THEN numerator / denominator * ? END"
            con.execute(
                f"""
                INSERT INTO observations (measure_id, measure_version, org_code, org_level, period_start, period_end,
                                          numerator, denominator, value, basis, import_id)
                SELECT ?, ?, org_code, 'practice', period_start, period_end, numerator, denominator, {value},
                       'derived', import_id
                FROM _derived WHERE denominator IS NOT NULL
                UNION ALL
                SELECT ?, ?, pcn_code, 'pcn', period_start, any_value(period_end), sum(numerator ORDER BY org_code),
                       sum(denominator ORDER BY org_code),
                       CASE WHEN sum(denominator) > 0
                            THEN sum(numerator ORDER BY org_code) / sum(denominator ORDER BY org_code) * ? END,
                       'sum_of_practices', any_value(import_id)
                FROM _derived WHERE denominator IS NOT NULL GROUP BY pcn_code, period_start
                """, [derived.id, derived.version, derived.multiplier, derived.id, derived.version, derived.multiplier])
            written += con.execute("SELECT count(*) FROM _derived WHERE denominator IS NOT NULL").fetchone()[0]
            con.execute("DROP TABLE _derived")
        finally:
            _unregister(con, "_derive_keys")
    return written
