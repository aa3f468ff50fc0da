"""Primary Care Network Workforce individual-level CSV → FTE per 10,000 patients by role group, and staff by role.

Beside FTE per 10,000 by role group: headcount, and FTE and headcount by each staff role."""

from __future__ import annotations

from datetime import date

import pandas as pd

from .. import limits
from .common import (PublicationError, Rejections, check_counts, check_range, examples, limit_value, measures_catalogue,
                     month_end, month_ended, not_in_future, number_sql, observations, read_csv_table,
                     reject_unknown, require_values, shorten)
from .context import StoreContext
from .loading import Load

PUBLICATION = "Primary Care Network Workforce: individual-level CSV"
SHORT = "PCN workforce"
ORDER = 50  # after list sizes: FTE is divided by the PCN's registered patients
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/primary-care-network-workforce"
CADENCE = "monthly"  # how often a new file is published: monthly or annual
REQUIRED = ["DATA_SOURCE", "CENSUS_YEAR", "CENSUS_MONTH", "PCN_CODE", "STAFF_GROUP", "STAFF_ROLE", "FTE",
            "UNIQUE_IDENTIFIER"]
OPTIONAL = ["PCN_NAME", "SUB_ICB_CODE", "SUB_ICB_NAME", "ICB_CODE", "ICB_NAME", "COMM_REGION_CODE",
            "COMM_REGION_NAME", "DETAILED_STAFF_ROLE"]
_ADVICE = f"Download the file again from {LANDING_PAGE}."

# Role groups exactly as the catalogue's numerator definitions word them (STAFF_ROLE as published).
PHARMACY = ["Pharmacists", "Pharmacy Technicians", "Trainee Pharmacy Technicians"]
PERSONALISED_CARE = ["Social Prescribing Link Workers", "Health and Wellbeing Coaches", "Care Coordinators"]
DIRECT_CARE_OTHER = ["Physiotherapists", "Paramedics", "Physician Associates", "Mental Health and Wellbeing Practitioners",
                     "Nursing Associates", "Trainee Nursing Associates", "General Practice Assistants", "Dieticians",
                     "Dietitians", "Podiatrists", "Occupational Therapists", "Advanced Nurse Practitioners"]
MENTAL_HEALTH_SUFFIX = "(mental health practitioners)"  # every staff role ending so is a mental health practitioner
DIGITAL = ["Digital and Transformation Leads"]
GROUPS = {
    "workforce_pharmacy_fte_per_10k": "pharmacy",
    "workforce_personalised_care_fte_per_10k": "personalised",
    "workforce_direct_care_other_fte_per_10k": "direct_other",
}
STAFF = "nwrs staff"
FIRST_CENSUS_YEAR = 2019  # Primary Care Networks began in July 2019


def tidy(role: str | None) -> str:
    """A STAFF_ROLE as stored: as published, with runs of spaces made one and the ends trimmed."""
    return " ".join(str(role or "").split())


def role_group(role: str | None) -> str | None:
    """The ARRS role group of a STAFF_ROLE: pharmacy, personalised, direct_other, digital, or None (not ARRS)."""
    text = tidy(role).lower()
    if text.endswith(MENTAL_HEALTH_SUFFIX):
        return "direct_other"  # before personalised care: link workers recorded as mental health practitioners
    if text in {r.lower() for r in PHARMACY}:
        return "pharmacy"
    if text in {r.lower() for r in PERSONALISED_CARE}:
        return "personalised"
    if text in {r.lower() for r in DIRECT_CARE_OTHER} or (text.startswith("advanced ") and text.endswith(" practitioners")):
        return "direct_other"
    if text in {r.lower() for r in DIGITAL}:
        return "digital"
    return None


def parse(source, context: StoreContext) -> Load:
    name = source.name
    context.require_pcns(name, "workforce")
    context.require_list_sizes(name, "workforce")
    con = context.connection()  # the DuckDB the store is read and written through too
    rows = read_csv_table(con, source)
    require_values(name, con, ["PCN_CODE", "STAFF_ROLE", "FTE", "CENSUS_YEAR", "CENSUS_MONTH"], _ADVICE)
    check_counts(name, con, "FTE", "full-time equivalent", _ADVICE, whole=False,
                 maximum=limit_value(name, limits.max_fte),
                 limit=f"the most accepted for one workforce record (set by {limits.FTE_VAR})")
    for column in ("CENSUS_YEAR", "CENSUS_MONTH"):
        check_counts(name, con, column, "the census year and month", _ADVICE)
    check_range(name, con, "CENSUS_YEAR", FIRST_CENSUS_YEAR, date.today().year,
                f"is not a census year (PCNs began in {FIRST_CENSUS_YEAR}; a census is never after this year)", _ADVICE)
    check_range(name, con, "CENSUS_MONTH", 1, 12, "is not a month (1 to 12)", _ADVICE)
    not_in_future(name, con, "make_date(CAST(CENSUS_YEAR AS INTEGER), CAST(CENSUS_MONTH AS INTEGER), 1)",
                  "CENSUS_MONTH", _ADVICE)
    month_ended(name, con, "make_date(CAST(CENSUS_YEAR AS INTEGER), CAST(CENSUS_MONTH AS INTEGER), 1)",
                "CENSUS_MONTH", _ADVICE)
    months = con.execute("SELECT DISTINCT CAST(CENSUS_YEAR AS INTEGER), CAST(CENSUS_MONTH AS INTEGER) FROM raw").fetchall()
    if len(months) != 1 or not 1 <= months[0][1] <= 12:
        raise PublicationError(f"{name}: columns CENSUS_YEAR and CENSUS_MONTH hold {len(months)} census months "
                               f"({', '.join(f'{y}-{m:02d}' for y, m in months[:3])}); a published file is for one month. "
                               f"{_ADVICE} Nothing was imported.")
    start = date(months[0][0], months[0][1], 1)
    census = month_end(start)
    rejections = Rejections()
    notes: list[str] = []

    con.register("known_pcns", context.codes("pcn"))
    known = reject_unknown(con, "PCN_CODE", "known_pcns", rejections, "PCN code not in any imported map",
                           "Import a practice-to-PCN map or ePCN workbook that lists these PCNs to load them.")
    roles = sorted(r[0] for r in con.execute("SELECT DISTINCT STAFF_ROLE FROM raw").fetchall())
    con.register("_roles", pd.DataFrame({"STAFF_ROLE": roles, "grp": [role_group(r) for r in roles],
                                         "role": [tidy(r) for r in roles]}))
    con.execute(f"""
        CREATE TABLE staff AS
        SELECT r._row, r.PCN_CODE AS org_code, {number_sql('FTE', whole=False)} AS fte, g.grp, g.role,
               nullif(regexp_replace(trim(r.STAFF_GROUP), '\\s+', ' ', 'g'), '') AS staff_group,
               lower(trim(r.DATA_SOURCE)) = $staff AS is_staff, nullif(trim(r.UNIQUE_IDENTIFIER), '') AS person
        FROM raw r JOIN _roles g USING (STAFF_ROLE) WHERE {known}
    """, {"staff": STAFF})
    unidentified, found = examples(con, "SELECT _row, org_code FROM staff WHERE is_staff AND person IS NULL")
    if unidentified:
        notes.append(f"{unidentified:,} staff records have no UNIQUE_IDENTIFIER (first at row {found[0].row:,}); "
                     "their FTE is counted, their headcount cannot be.")
    totals = con.execute("""
        SELECT org_code,
               sum(fte) AS total,
               coalesce(sum(fte) FILTER (WHERE grp IS NOT NULL), 0) AS arrs,
               coalesce(sum(fte) FILTER (WHERE grp = 'pharmacy'), 0) AS pharmacy,
               coalesce(sum(fte) FILTER (WHERE grp = 'personalised'), 0) AS personalised,
               coalesce(sum(fte) FILTER (WHERE grp = 'direct_other'), 0) AS direct_other,
               count(DISTINCT person) FILTER (WHERE is_staff) AS headcount,
               count(*) FILTER (WHERE NOT is_staff) AS contracted
        FROM staff GROUP BY 1 ORDER BY 1
    """).df()

    # Denominator: the PCN's registered patients at the list-size extract nearest the census date.
    lists = context.frame("pcn_lists")
    con.register("pcn_lists", lists)
    nearest = con.execute("""
        SELECT org_code, extract_date, registered_patients FROM pcn_lists
        QUALIFY row_number() OVER (PARTITION BY org_code
                                   ORDER BY abs(date_diff('day', extract_date, $census)), extract_date DESC) = 1
    """, {"census": census}).df()
    frame = totals.merge(nearest, on="org_code", how="left")
    missing = frame[frame["registered_patients"].isna()]
    if len(missing):
        shown = ", ".join(map(shorten, missing["org_code"].head(5)))
        notes.append(f"{len(missing):,} PCNs have no list size at any imported extract (for example {shown}); their "
                     "FTE per 10,000 is empty. Import list sizes after the map that lists them.")
    used = sorted(set(frame["extract_date"].dropna()))
    if used:
        gaps = [abs((pd.Timestamp(d).date() - census).days) for d in used]
        notes.append(f"FTE per 10,000 divides by PCN list sizes from the extract of "
                     f"{', '.join(f'{pd.Timestamp(d):%d %b %Y}' for d in used)} "
                     f"({max(gaps)} days from the census date {census:%d %b %Y}).")
    base = frame.assign(org_level="pcn", period_start=start, period_end=census,
                        denominator=frame["registered_patients"])
    catalogue = measures_catalogue()
    parts = {"workforce_fte_per_10k": "total", "workforce_arrs_fte_per_10k": "arrs",
             **{measure: group for measure, group in GROUPS.items()}}
    frames = [observations(measure, base.assign(numerator=base[column]), "published", catalogue)
              for measure, column in parts.items()]
    frames.append(observations("workforce_headcount", base.assign(numerator=base["headcount"]), "published", catalogue))
    other_roles = [r for r in roles if role_group(r) is None]
    notes.insert(0, f"census {census:%d %b %Y}: {len(frame):,} PCNs, {float(totals['total'].sum()):,.1f} FTE "
                    f"({int(totals['contracted'].sum()):,} contracted-service records carry FTE but no headcount); "
                    f"{len(other_roles)} staff roles count only in the all-staff total.")
    by_role = con.execute("""
        SELECT org_code, $census AS census_date, role AS staff_role,
               string_agg(DISTINCT staff_group, '; ' ORDER BY staff_group) AS staff_group,
               sum(fte) AS fte, count(DISTINCT person) FILTER (WHERE is_staff) AS headcount
        FROM staff GROUP BY org_code, role ORDER BY org_code, role
    """, {"census": census}).df()
    loaded = int(con.execute("SELECT count(*) FROM staff").fetchall()[0][0])
    return Load(publication=PUBLICATION, vintage=census.isoformat(), rows_read=rows, rows_loaded=loaded,
                rejections=rejections, notes=notes, observations=pd.concat(frames, ignore_index=True),
                tables={"workforce_roles": by_role}, table_scopes={"workforce_roles": ("org_code", "census_date")})
