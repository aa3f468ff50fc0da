"""Patients Registered at a GP Practice: the practice → PCN → sub-ICB → ICB → region map (gp-reg-pat-prac-map.csv)."""

from __future__ import annotations

import pandas as pd

from .common import Rejections, duplicates, read_csv_table, require_values, single_date
from .context import StoreContext
from .loading import Load

PUBLICATION = "Patients Registered at a GP Practice: practice to PCN map"
SHORT = "practice-to-PCN map"
ORDER = 10  # maps load first: every other publication joins to them
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/patients-registered-at-a-gp-practice"
CADENCE = "monthly"  # how often a new file is published: monthly or annual
UNALLOCATED = "U"

REQUIRED = ["EXTRACT_DATE", "PRACTICE_CODE", "PRACTICE_NAME", "PCN_CODE", "PCN_NAME", "SUB_ICB_LOCATION_CODE",
            "SUB_ICB_LOCATION_NAME", "ONS_SUB_ICB_LOCATION_CODE", "ICB_CODE", "ICB_NAME", "ONS_ICB_CODE",
            "COMM_REGION_CODE", "COMM_REGION_NAME", "ONS_COMM_REGION_CODE"]
OPTIONAL = ["PUBLICATION", "PRACTICE_POSTCODE", "SUPPLIER_NAME"]
_ADVICE = f"Download the map again from {LANDING_PAGE}."


def parse(source, context: StoreContext) -> Load:
    con = context.connection()  # the DuckDB the store is read and written through too
    rows = read_csv_table(con, source)
    name = source.name
    require_values(name, con, ["PRACTICE_CODE", "PCN_CODE", "SUB_ICB_LOCATION_CODE", "ICB_CODE", "COMM_REGION_CODE"],
                   _ADVICE)
    extract = single_date(name, con, "EXTRACT_DATE", _ADVICE)
    rejections = Rejections()
    present = [c for c in REQUIRED + OPTIONAL if c in {r[0] for r in con.execute("DESCRIBE raw").fetchall()}]
    keep = duplicates(name, con, ["PRACTICE_CODE"], present, rejections, "practice")
    con.execute(f"CREATE TABLE map AS SELECT * FROM raw WHERE {keep}")
    postcode = "PRACTICE_POSTCODE" if "PRACTICE_POSTCODE" in present else "NULL"

    def frame(sql: str, params=None) -> pd.DataFrame:
        return con.execute(sql, params or {}).df()

    organisations = pd.concat([
        frame(f"SELECT PRACTICE_CODE AS org_code, 'practice' AS org_level, PRACTICE_NAME AS name, NULL AS ons_code, "
              f"{postcode} AS postcode FROM map"),
        frame("SELECT PCN_CODE AS org_code, 'pcn' AS org_level, any_value(PCN_NAME) AS name, NULL AS ons_code, "
              "NULL AS postcode FROM map WHERE PCN_CODE <> $u GROUP BY 1", {"u": UNALLOCATED}),
        frame("SELECT SUB_ICB_LOCATION_CODE AS org_code, 'sub_icb' AS org_level, any_value(SUB_ICB_LOCATION_NAME) AS name, "
              "any_value(ONS_SUB_ICB_LOCATION_CODE) AS ons_code, NULL AS postcode FROM map GROUP BY 1"),
        frame("SELECT ICB_CODE AS org_code, 'icb' AS org_level, any_value(ICB_NAME) AS name, any_value(ONS_ICB_CODE) AS "
              "ons_code, NULL AS postcode FROM map GROUP BY 1"),
        frame("SELECT COMM_REGION_CODE AS org_code, 'region' AS org_level, any_value(COMM_REGION_NAME) AS name, "
              "any_value(ONS_COMM_REGION_CODE) AS ons_code, NULL AS postcode FROM map GROUP BY 1"),
    ], ignore_index=True)
    organisations["name"] = organisations["name"].fillna(organisations["org_code"]).str.strip()

    # A PCN's sub-ICB is where most of its practices are; a few PCNs straddle two.
    pcn_sub = frame("""
        SELECT PCN_CODE AS child_code, SUB_ICB_LOCATION_CODE AS parent_code, count(*) AS n,
               count(DISTINCT SUB_ICB_LOCATION_CODE) OVER (PARTITION BY PCN_CODE) AS places
        FROM map WHERE PCN_CODE <> $u GROUP BY 1, 2
        QUALIFY row_number() OVER (PARTITION BY PCN_CODE ORDER BY count(*) DESC, SUB_ICB_LOCATION_CODE) = 1
    """, {"u": UNALLOCATED})
    straddling = int((pcn_sub["places"] > 1).sum())
    edges = pd.concat([
        frame("SELECT PRACTICE_CODE AS child_code, CASE WHEN PCN_CODE = $u THEN NULL ELSE PCN_CODE END AS parent_code, "
              "'practice' AS child_level, 'pcn' AS parent_level FROM map", {"u": UNALLOCATED}),
        frame("SELECT PRACTICE_CODE AS child_code, SUB_ICB_LOCATION_CODE AS parent_code, 'practice' AS child_level, "
              "'sub_icb' AS parent_level FROM map"),
        pcn_sub[["child_code", "parent_code"]].assign(child_level="pcn", parent_level="sub_icb"),
        frame("SELECT DISTINCT SUB_ICB_LOCATION_CODE AS child_code, ICB_CODE AS parent_code, 'sub_icb' AS child_level, "
              "'icb' AS parent_level FROM map"),
        frame("SELECT DISTINCT ICB_CODE AS child_code, COMM_REGION_CODE AS parent_code, 'icb' AS child_level, "
              "'region' AS parent_level FROM map"),
    ], ignore_index=True)
    edges = edges.drop_duplicates(["child_code", "parent_level"])
    evidence = edges.assign(start_date=extract, end_date=None, dated_start=False, seen_on=extract)

    unallocated = int(con.execute("SELECT count(*) FROM map WHERE PCN_CODE = $u", {"u": UNALLOCATED}).fetchall()[0][0])
    loaded = int(con.execute("SELECT count(*) FROM map").fetchall()[0][0])
    notes = [f"{unallocated:,} practices are unallocated (PCN_CODE {UNALLOCATED}): they belong to no PCN from "
             f"{extract:%d %b %Y} and are in no PCN total."] if unallocated else []
    if straddling:
        notes.append(f"{straddling:,} PCNs have practices in more than one sub-ICB; each is placed in the sub-ICB "
                     "holding most of its practices.")
    counts = organisations["org_level"].value_counts()
    notes.insert(0, f"{counts.get('practice', 0):,} practices, {counts.get('pcn', 0):,} PCNs, "
                    f"{counts.get('sub_icb', 0):,} sub-ICBs, {counts.get('icb', 0):,} ICBs and "
                    f"{counts.get('region', 0):,} regions, dated from the extract date {extract:%d %b %Y}.")
    return Load(publication=PUBLICATION, vintage=extract.isoformat(), rows_read=rows, rows_loaded=loaded,
                rejections=rejections, notes=notes, organisations=organisations, organisations_authority=True,
                evidence=evidence, refresh_pcn_lists=True)
