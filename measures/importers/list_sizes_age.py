"""Patients Registered at a GP Practice by 5-year age band (gp-reg-pat-prac-quin-age.csv) → list sizes and age bands."""

from __future__ import annotations

from .. import limits
from .common import (PublicationError, Rejections, check_counts, duplicates, ident, limit_value, number_sql,
                     read_practice_csv, reject_unknown, require_values, shorten, single_date, stop_on_rows)
from .context import StoreContext
from .list_sizes import list_size_load
from .loading import LIST_SIZES_PUBLICATION, Load

PUBLICATION = LIST_SIZES_PUBLICATION
SHORT = "list sizes by 5-year age band"
ORDER = 31  # with the all-persons list sizes (same publication): after the maps, before what divides by list size
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/patients-registered-at-a-gp-practice"
CADENCE = "monthly"  # how often a new file is published: monthly or annual
REQUIRED = ["EXTRACT_DATE", "SEX", "AGE_GROUP_5", "NUMBER_OF_PATIENTS"]
OPTIONAL = ["PUBLICATION", "ORG_TYPE", "TYPE", "ORG_CODE", "CODE", "ONS_CODE", "POSTCODE", "SUB_ICB_LOCATION_CODE",
            "ONS_SUB_ICB_LOCATION_CODE"]
_ADVICE = f"Download the file again from {LANDING_PAGE}."
SEXES = ["ALL", "FEMALE", "MALE"]
ALL = "ALL"
BAND = r"^([0-9]{1,3}_[0-9]{1,3}|[0-9]{1,3}\+|ALL)$"  # 0_4 … 90_94, 95+, and ALL for the whole list
PRACTICE_TYPE = "GP"  # the file's organisation type for a practice; the other rows are PCNs, sub-ICBs, ICBs, regions


def parse(source, context: StoreContext) -> Load:
    name = source.name
    con, rows = read_practice_csv(source, context, "list size")  # which columns need values depends on the header
    present = [r[0] for r in con.execute("DESCRIBE raw").fetchall() if r[0] != "_row"]
    # The file names the practice ORG_CODE (and its type ORG_TYPE); the all-persons file says CODE and TYPE.
    code = next((c for c in ("ORG_CODE", "CODE") if c in present), None)
    if code is None:
        raise PublicationError(
            f"{name}: looks like the 5-year age band list sizes (gp-reg-pat-prac-quin-age.csv) but row 1, the header, "
            f"has no column ORG_CODE (or CODE), the code of each row's practice. Columns found: "
            f"{', '.join(shorten(h) for h in source.header[:12] if h.strip())}. {_ADVICE} Nothing was imported.")
    kind = next((c for c in ("ORG_TYPE", "TYPE") if c in present), None)
    require_values(name, con, [code, "SEX", "AGE_GROUP_5", "NUMBER_OF_PATIENTS"], _ADVICE)
    extract = single_date(name, con, "EXTRACT_DATE", _ADVICE)
    notes: list[str] = []
    rejections = Rejections()
    if kind is not None:
        others = con.execute(f"SELECT count(*) FROM raw WHERE upper(trim({ident(kind)})) <> $gp",
                             {"gp": PRACTICE_TYPE}).fetchall()[0][0]
        if others == rows:
            raise PublicationError(f"{name}: has no rows with {kind} {PRACTICE_TYPE}, so no practice's list; this is "
                                   "the file for areas only. Download gp-reg-pat-prac-quin-age.csv, the practice "
                                   f"file, from {LANDING_PAGE}. Nothing was imported.")
        if others:
            notes.append(f"{others:,} rows for PCNs, sub-ICB locations, ICBs and regions ({kind} other than "
                         f"{PRACTICE_TYPE}) were not used: list sizes are per practice, and a PCN's is the sum of its "
                         "practices on the extract date.")
        con.execute(f"CREATE TABLE gp AS SELECT * FROM raw WHERE upper(trim({ident(kind)})) = $gp",
                    {"gp": PRACTICE_TYPE})
    else:
        con.execute("CREATE TABLE gp AS SELECT * FROM raw")
    stop_on_rows(name, con, "SELECT _row, SEX FROM gp WHERE NOT list_contains($sexes, upper(trim(SEX)))",
                 {"sexes": SEXES}, "SEX", "is not a sex the file uses (ALL, FEMALE or MALE)", _ADVICE)
    stop_on_rows(name, con, "SELECT _row, AGE_GROUP_5 FROM gp WHERE NOT regexp_matches(upper(trim(AGE_GROUP_5)), $band)",
                 {"band": BAND}, "AGE_GROUP_5", "is not a 5-year age band (such as 0_4, 90_94, 95+ or ALL)", _ADVICE)
    check_counts(name, con, "NUMBER_OF_PATIENTS", "registered patients", _ADVICE, table="gp",
                 maximum=limit_value(name, limits.max_list_size),
                 limit=f"the most patients accepted on one practice list (set by {limits.LIST_SIZE_VAR})")
    columns = [c for c in present if c in REQUIRED + OPTIONAL]
    keep = duplicates(name, con, [code, "SEX", "AGE_GROUP_5"], columns, rejections, "practice, sex and age band",
                      table="gp")
    con.register("known_practices", context.codes("practice"))
    known = reject_unknown(con, code, "known_practices", rejections,
                           "practice code not in any imported practice map (closed or merged since, or a newer practice)",
                           "Import a practice-to-PCN map of the same month, or the ePCN workbook, to load these rows.",
                           keep_sql=keep, table="gp")
    con.execute(f"""
        CREATE TABLE bands AS
        SELECT trim({ident(code)}) AS org_code, upper(trim(SEX)) AS sex, upper(trim(AGE_GROUP_5)) AS age_band,
               {number_sql('NUMBER_OF_PATIENTS')} AS registered_patients
        FROM gp WHERE {keep} AND {known}
    """)
    # A practice's list size is its SEX ALL, AGE_GROUP_5 ALL row (the all-persons file's figure). Without that row it is
    # the sum of its SEX ALL bands, else of its female and male bands, and the notes say so.
    lists = con.execute("""
        SELECT org_code,
               max(registered_patients) FILTER (WHERE sex = $all AND age_band = $all) AS whole,
               sum(registered_patients) FILTER (WHERE sex = $all AND age_band <> $all) AS persons_bands,
               sum(registered_patients) FILTER (WHERE sex <> $all AND age_band <> $all) AS sex_bands
        FROM bands GROUP BY org_code ORDER BY org_code
    """, {"all": ALL}).df()
    whole, persons, by_sex = lists["whole"].notna(), lists["persons_bands"].notna(), lists["sex_bands"].notna()
    lists["registered_patients"] = (lists["whole"].fillna(lists["persons_bands"]).fillna(lists["sex_bands"])
                                    .astype("int64"))
    if (~whole & persons).any():
        notes.append(f"{int((~whole & persons).sum()):,} practices have no SEX ALL, AGE_GROUP_5 ALL row; their list "
                     "size is the sum of their SEX ALL age bands.")
    if (~whole & ~persons & by_sex).any():
        notes.append(f"{int((~whole & ~persons & by_sex).sum()):,} practices have neither a SEX ALL, AGE_GROUP_5 ALL "
                     "row nor SEX ALL bands; their list size is the sum of their female and male age bands.")
    differ = whole & persons & (lists["whole"] != lists["persons_bands"])
    if differ.any():
        first = lists.loc[differ, "org_code"].head(5)
        notes.append(f"{int(differ.sum()):,} practices' SEX ALL age bands add up to other than their AGE_GROUP_5 ALL "
                     f"row (for example {', '.join(map(shorten, first))}); the ALL row is the list size.")
    bands = con.execute("""
        SELECT org_code, CAST($extract AS DATE) AS extract_date, sex, age_band, registered_patients
        FROM bands WHERE age_band <> $all ORDER BY org_code, sex, age_band
    """, {"all": ALL, "extract": extract}).df()
    notes.append(f"{len(bands):,} practice counts by sex and 5-year age band kept for age-weighted denominators "
                 f"({bands['org_code'].nunique():,} practices).")
    return list_size_load(lists[["org_code", "registered_patients"]], extract, rows, rejections, notes,
                          tables={"list_size_age_bands": bands},
                          table_scopes={"list_size_age_bands": ("org_code", "extract_date")})
