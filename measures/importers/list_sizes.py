"""Patients Registered at a GP Practice: all persons per practice (gp-reg-pat-prac-all.csv) → list sizes."""

from __future__ import annotations

import pandas as pd

from .. import limits
from .common import (PublicationError, Rejections, check_counts, duplicates, limit_value, measures_catalogue,
                     month_end, number_sql, observations, read_practice_csv, reject_unknown, single_date)
from .context import StoreContext
from .loading import LIST_SIZES_PUBLICATION, Load

PUBLICATION = LIST_SIZES_PUBLICATION
SHORT = "list sizes"
ORDER = 30  # after the maps (practices must be known), before everything divided by list size
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/patients-registered-at-a-gp-practice"
CADENCE = "monthly"  # how often a new file is published: monthly or annual
REQUIRED = ["EXTRACT_DATE", "CODE", "SEX", "AGE", "NUMBER_OF_PATIENTS"]
OPTIONAL = ["PUBLICATION", "TYPE", "SUB_ICB_LOCATION_CODE", "ONS_SUB_ICB_LOCATION_CODE", "POSTCODE"]
_ADVICE = f"Download the file again from {LANDING_PAGE}."


def parse(source, context: StoreContext) -> Load:
    name = source.name
    con, rows = read_practice_csv(source, context, "list size", ["CODE", "NUMBER_OF_PATIENTS"], _ADVICE)
    extract = single_date(name, con, "EXTRACT_DATE", _ADVICE)
    rejections = Rejections()
    notes = []
    # The all-persons file has SEX = ALL and AGE = ALL; other splits are not list sizes.
    split = con.execute("SELECT count(*) FROM raw WHERE upper(trim(coalesce(SEX, ''))) <> 'ALL' "
                        "OR upper(trim(coalesce(AGE, ''))) <> 'ALL'").fetchall()[0][0]
    if split == rows:
        raise PublicationError(f"{name}: has no rows with SEX ALL and AGE ALL, so it is not the all-persons list "
                               f"(gp-reg-pat-prac-all.csv). Download that file from {LANDING_PAGE}. Nothing was imported.")
    if split:
        notes.append(f"{split:,} rows for single sexes or ages were not used; a list size is the SEX ALL, AGE ALL row.")
    con.execute("CREATE TABLE persons AS SELECT * FROM raw WHERE upper(trim(SEX)) = 'ALL' AND upper(trim(AGE)) = 'ALL'")
    if "TYPE" in {r[0] for r in con.execute("DESCRIBE persons").fetchall()}:
        other = con.execute("SELECT count(*) FROM persons WHERE upper(trim(coalesce(TYPE, 'GP'))) <> 'GP'").fetchall()[0][0]
        if other:
            notes.append(f"{other:,} rows of TYPE other than GP were not used.")
            con.execute("DELETE FROM persons WHERE upper(trim(coalesce(TYPE, 'GP'))) <> 'GP'")
    check_counts(name, con, "NUMBER_OF_PATIENTS", "registered patients", _ADVICE, table="persons",
                 maximum=limit_value(name, limits.max_list_size),
                 limit=f"the most patients accepted on one practice list (set by {limits.LIST_SIZE_VAR})")
    present = [r[0] for r in con.execute("DESCRIBE persons").fetchall() if r[0] != "_row"]
    keep = duplicates(name, con, ["CODE"], present, rejections, "practice", table="persons")
    con.register("known_practices", context.codes("practice"))
    known = reject_unknown(con, "CODE", "known_practices", rejections,
                           "practice code not in any imported practice map (closed or merged since, or a newer practice)",
                           "Import a practice-to-PCN map of the same month, or the ePCN workbook, to load these rows.",
                           keep_sql=keep, table="persons")
    frame = con.execute(f"SELECT CODE AS org_code, {number_sql('NUMBER_OF_PATIENTS')} AS registered_patients "
                        f"FROM persons WHERE {keep} AND {known} ORDER BY CODE").df()
    return list_size_load(frame, extract, rows, rejections, notes)


def list_size_load(frame: pd.DataFrame, extract, rows: int, rejections: Rejections, notes: list[str],
                   **extra) -> Load:
    """The Load of practice list sizes (org_code, registered_patients) at an extract date: the list sizes, the
    registered_patients observations of the extract's month, and the PCN totals rebuilt as sums of practices."""
    list_sizes = frame.assign(extract_date=extract)[["org_code", "extract_date", "registered_patients"]]
    start = extract.replace(day=1)
    obs = observations("registered_patients", pd.DataFrame({
        "org_code": frame["org_code"], "org_level": "practice", "period_start": start, "period_end": month_end(start),
        "numerator": frame["registered_patients"]}), "published", measures_catalogue())
    notes.insert(0, f"{len(frame):,} practice list sizes at {extract:%d %b %Y} "
                    f"({int(frame['registered_patients'].sum()):,} patients); PCN totals are the sum of the practices "
                    "in each PCN on that date.")
    return Load(publication=PUBLICATION, vintage=extract.isoformat(), rows_read=rows, rows_loaded=len(frame),
                rejections=rejections, notes=notes, list_sizes=list_sizes, observations=obs, refresh_pcn_lists=True,
                **extra)
