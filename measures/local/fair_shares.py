"""Fair share: each member practice's share of the PCN's resource beside its share of the PCN's patients."""

from __future__ import annotations

from datetime import date

import pandas as pd

from ..store import Store
from .definitions import _resolve


def fair_share(store: Store, measure_id: str, pcn_code: str, start: date, end: date) -> pd.DataFrame:
    """Each member practice's share of the PCN's resource (the measure's numerator) beside its share of population.

    Population follows the measure's `fair_share` field (registered or weighted patients, from list_sizes at
    each period's start). A practice counts only in the periods it belonged to the PCN, and only in periods
    with a value, so both shares are over the same practice-periods and each adds up to 100%.
    """
    with store.reader() as con:
        measure = _resolve(con, measure_id)
        if measure.fair_share is None:
            raise ValueError(f"{measure_id} has no fair_share field, so it has no fair share to compare with")
        column = "weighted_patients" if measure.fair_share == "weighted_population" else "registered_patients"
        frame = con.execute(
            f"""
            WITH held AS (
                SELECT o.org_code, o.period_start, o.numerator
                FROM observations o
                JOIN memberships m ON m.child_code = o.org_code AND m.parent_code = ? AND m.parent_level = 'pcn'
                 AND m.start_date <= o.period_start AND (m.end_date IS NULL OR m.end_date >= o.period_start)
                WHERE o.measure_id = ? AND o.measure_version = ? AND o.org_level = 'practice'
                  AND o.period_start BETWEEN ? AND ? AND o.numerator IS NOT NULL
            )
            SELECT h.org_code, org.name AS org_name, sum(h.numerator) AS resource,
                   sum(ls.{column}) AS population, count(*) AS periods,
                   min(h.period_start) AS first_period, max(h.period_start) AS last_period
            FROM held h
            ASOF LEFT JOIN list_sizes ls ON ls.org_code = h.org_code AND ls.extract_date <= h.period_start
            JOIN organisations org ON org.org_code = h.org_code
            GROUP BY ALL
            ORDER BY h.org_code
            """, [pcn_code, measure.id, measure.version, start, end]).df()
    frame = frame.astype({"resource": "float64", "population": "float64"})
    for column in ("first_period", "last_period"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    frame["resource_share"] = frame["resource"] / frame["resource"].sum() if len(frame) else []
    frame["population_share"] = frame["population"] / frame["population"].sum() if len(frame) else []
    frame["gap_points"] = (frame["resource_share"] - frame["population_share"]) * 100
    frame["ratio"] = frame["resource_share"] / frame["population_share"]
    return frame
