"""Reads the money view needs: a PCN's and its practices' IIF figures for a year, list sizes and England's totals."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd

from ..store import Store
from . import default_rules
from .money import financial_year_end

INPUT_COLUMNS = ["measure", "version", "org", "level", "period_start", "period_end", "numerator", "denominator",
                 "value"]


def _year_bounds(financial_year: str) -> tuple[date, date]:
    return date(int(financial_year[:4]), 4, 1), financial_year_end(financial_year)


def _measures(financial_year: str) -> list[str]:
    return sorted({i.measure for i in default_rules().year(financial_year).iif.indicators})


def iif_inputs(store: Store, pcn_code: str, financial_year: str) -> pd.DataFrame:
    """Every figure of the year's IIF measures for the PCN and its practices (members at each period's end),
    month by month within the financial year (the publication counts from 1 April), in the tidy shape with
    `level` ('pcn' or 'practice')."""
    start, end = _year_bounds(financial_year)
    measures = _measures(financial_year)
    if not measures:
        return pd.DataFrame(columns=INPUT_COLUMNS)
    return store.query(
        """
        SELECT o.measure_id AS measure, o.measure_version AS version, o.org_code AS org, o.org_level AS level,
               o.period_start, o.period_end, o.numerator, o.denominator, o.value
        FROM observations o
        WHERE o.measure_id IN (SELECT unnest($measures)) AND o.period_end BETWEEN $start AND $end
          AND (o.org_code = $pcn
               OR (o.org_level = 'practice' AND EXISTS (
                   SELECT 1 FROM memberships m WHERE m.child_code = o.org_code AND m.parent_level = 'pcn'
                     AND m.parent_code = $pcn AND m.start_date <= o.period_end
                     AND (m.end_date IS NULL OR m.end_date >= o.period_end))))
        ORDER BY o.measure_id, o.period_end, o.org_level, o.org_code
        """, {"measures": measures, "start": start, "end": end, "pcn": pcn_code})


def list_sizes(store: Store, org_codes: list[str], day: date) -> pd.DataFrame:
    """Each organisation's registered and weighted patients at the latest extract on or before `day` (the
    earliest one after it when none is before)."""
    if not org_codes:
        return pd.DataFrame(columns=["org", "extract_date", "registered_patients", "weighted_patients"])
    return store.query(
        """
        SELECT org_code AS org, extract_date, registered_patients, weighted_patients FROM list_sizes
        WHERE org_code IN (SELECT unnest($orgs))
        QUALIFY row_number() OVER (PARTITION BY org_code
                                   ORDER BY extract_date > $day, abs(date_diff('day', extract_date, $day))) = 1
        """, {"orgs": list(org_codes), "day": day})


def england(store: Store, financial_year: str, day: date) -> dict:
    """England's figures the adjustments divide by, at `day`: the mean PCN list size, the total list, and each
    IIF measure's total denominator over the PCNs that have one at that period end."""
    start, end = _year_bounds(financial_year)
    lists = store.query(
        """
        WITH latest AS (
            SELECT l.org_code, l.registered_patients FROM list_sizes l
            JOIN organisations o ON o.org_code = l.org_code AND o.org_level = 'pcn'
            QUALIFY row_number() OVER (PARTITION BY l.org_code
                                       ORDER BY l.extract_date > $day, abs(date_diff('day', l.extract_date, $day))) = 1
        )
        SELECT count(*) AS pcns, sum(registered_patients) AS patients, avg(registered_patients) AS mean_list
        FROM latest
        """, {"day": day}).iloc[0]
    denominators = store.query(
        """
        SELECT o.measure_id AS measure, o.denominator, l.registered_patients AS patients
        FROM observations o
        JOIN list_sizes l ON l.org_code = o.org_code
        WHERE o.org_level = 'pcn' AND o.measure_id IN (SELECT unnest($measures)) AND o.period_end = $day
          AND o.denominator IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY o.measure_id, o.org_code
                                   ORDER BY l.extract_date > $day, abs(date_diff('day', l.extract_date, $day))) = 1
        """, {"measures": _measures(financial_year), "day": day})
    summed = (denominators.groupby("measure")[["denominator", "patients"]].sum()
              if not denominators.empty else pd.DataFrame(columns=["denominator", "patients"]))
    return {"pcns": int(lists["pcns"] or 0),
            "mean_list": None if pd.isna(lists["mean_list"]) else float(lists["mean_list"]),
            "patients": None if pd.isna(lists["patients"]) else float(lists["patients"]),
            "denominators": {m: (float(r.denominator), float(r.patients)) for m, r in summed.iterrows()},
            "year": financial_year, "start": start, "end": end}


def money(store: Store, pcn_code: str, financial_year: str):
    """The money view of one PCN and year (`view.MoneyView`), from the store and the year's rules."""
    from .view import money_view

    rules = default_rules()
    rules.year(financial_year)  # a year with no rules is refused before any read
    inputs = iif_inputs(store, pcn_code, financial_year)
    day = pd.Timestamp(inputs["period_end"].max()).date() if not inputs.empty else financial_year_end(financial_year)
    view = money_view(rules, financial_year, pcn_code, inputs, list_sizes(store, [pcn_code], day),
                      england(store, financial_year, day))
    codes = sorted({m.org for m in view.practices})
    names = store.query("SELECT org_code, name FROM organisations WHERE org_code IN (SELECT unnest($c))",
                        {"c": codes}) if codes else pd.DataFrame(columns=["org_code", "name"])
    own = inputs[(inputs["level"] == "pcn") & (inputs["org"] == pcn_code)]
    return replace(view, names=dict(zip(names["org_code"], names["name"])), history=own.reset_index(drop=True))


def data_years(store: Store) -> list[str]:
    """The financial years of the rules, the ones with IIF figures loaded first (latest first)."""
    from .view import years_with_data

    rules = default_rules()
    measures = sorted({i.measure for y in rules.years.values() for i in y.iif.indicators})
    years = list(rules.years)
    if not measures or not years:
        return years_with_data(rules, [])
    # One EXISTS per year, each stopping at its first row, rather than every IIF figure's period in England.
    parameters: dict = {"m": measures}
    checks = []
    for n, year in enumerate(years):
        parameters[f"start{n}"], parameters[f"end{n}"] = _year_bounds(year)
        checks.append(f"SELECT {n} AS year WHERE EXISTS (SELECT 1 FROM observations WHERE measure_id IN "
                      f"(SELECT unnest($m)) AND org_level = 'pcn' AND period_end BETWEEN $start{n} AND $end{n})")
    held = store.query(" UNION ALL ".join(checks), parameters)["year"].tolist()
    return years_with_data(rules, [_year_bounds(years[n])[1] for n in held])


# --- ARRS against entitlement ------------------------------------------------------------------------------------


def pcn_list_history(store: Store, pcn_code: str) -> pd.DataFrame:
    """Every list-size extract of the PCN: extract_date, registered_patients, weighted_patients."""
    from .arrs import LIST_COLUMNS

    return store.query(
        "SELECT extract_date, registered_patients, weighted_patients FROM list_sizes WHERE org_code = $pcn "
        "ORDER BY extract_date", {"pcn": pcn_code}).reindex(columns=LIST_COLUMNS)


def workforce_in_year(store: Store, pcn_code: str, financial_year: str) -> pd.DataFrame:
    """The PCN's staff by role at its latest workforce census in the financial year: census_date, staff_role,
    staff_group, fte, headcount (no rows when the year has no census)."""
    from .arrs import WORKFORCE_COLUMNS

    start, end = _year_bounds(financial_year)
    return store.query(
        """
        SELECT census_date, staff_role, staff_group, fte, headcount FROM workforce_roles
        WHERE org_code = $pcn AND census_date = (
            SELECT max(census_date) FROM workforce_roles
            WHERE org_code = $pcn AND census_date BETWEEN $start AND $end)
        ORDER BY staff_role
        """, {"pcn": pcn_code, "start": start, "end": end}).reindex(columns=WORKFORCE_COLUMNS)


def arrs(store: Store, pcn_code: str, financial_year: str):
    """ARRS against entitlement for one PCN and year (`arrs.ArrsView`), from the store and the year's rules."""
    from .arrs import arrs_view

    year_rules = default_rules().year(financial_year)  # a year with no rules is refused before any read
    return arrs_view(year_rules, pcn_code, pcn_list_history(store, pcn_code),
                     workforce_in_year(store, pcn_code, financial_year))


def arrs_years(store: Store) -> list[str]:
    """The financial years of the rules, the ones with a workforce census loaded first (latest first)."""
    from .arrs import years_with_census

    dates = store.query("SELECT DISTINCT census_date FROM workforce_roles")["census_date"].tolist()
    return years_with_census(list(default_rules().years), [pd.Timestamp(d).date() for d in dates])
