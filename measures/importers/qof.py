"""Quality and Outcomes Framework disease prevalence (PREVALENCE_2425.csv) → practice context for peer groups."""

from __future__ import annotations

import re
from pathlib import Path

from datetime import date

from .. import limits
from .common import (PublicationError, Rejections, check_counts, duplicates, examples, limit_value,
                     memory_connection, number_sql, read_csv_table, reject_unknown, require_values)
from .context import StoreContext
from .loading import Load

PUBLICATION = "Quality and Outcomes Framework: disease prevalence"
SHORT = "QOF prevalence"
ORDER = 70
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/quality-and-outcomes-framework-achievement-prevalence-and-exceptions-data"
REQUIRED = ["PRACTICE_CODE", "GROUP_CODE", "REGISTER", "PATIENT_LIST_TYPE", "PRACTICE_LIST_SIZE"]
OPTIONAL = []
_ADVICE = f"Download the file again from {LANDING_PAGE}."


def financial_year(file_name: str) -> str:
    """The QOF year, which the file states only in its name as published (PREVALENCE_2425.csv → 2024/25)."""
    for match in re.finditer(r"(?<!\d)(\d{2})(\d{2})(?!\d)", Path(file_name).name):
        first, second = int(match.group(1)), int(match.group(2))
        if (first + 1) % 100 == second:
            return f"20{first:02d}/{second:02d}"
    raise PublicationError(f"{file_name}: the QOF prevalence file says its year only in its published name "
                           "(PREVALENCE_2425.csv is 2024/25), and this name has none. Keep the name as published, "
                           "or rename it with the year, such as PREVALENCE_2425.csv. Nothing was imported.")


def parse(source, context: StoreContext) -> Load:
    name = source.name
    year = financial_year(name)
    if int(year[:4]) > date.today().year or (int(year[:4]) == date.today().year and date.today().month < 4):
        raise PublicationError(f"{name}: its name says QOF {year}, a year that has not begun yet (today is "
                               f"{date.today():%d %b %Y}). Keep the name as published. Nothing was imported.")
    context.require_practices(name, "QOF")
    con = memory_connection()
    rows = read_csv_table(con, source)
    require_values(name, con, ["PRACTICE_CODE", "GROUP_CODE", "REGISTER", "PRACTICE_LIST_SIZE"], _ADVICE)
    check_counts(name, con, "REGISTER", "patients on the disease register", _ADVICE)
    check_counts(name, con, "PRACTICE_LIST_SIZE", "patients on the list", _ADVICE,
                 maximum=limit_value(name, limits.max_list_size),
                 limit=f"the most patients accepted on one practice list (set by {limits.LIST_SIZE_VAR})")
    rejections = Rejections()
    keep = duplicates(name, con, ["PRACTICE_CODE", "GROUP_CODE"], REQUIRED, rejections, "practice and disease group")
    con.register("known_practices", context.codes("practice"))
    known = reject_unknown(con, "PRACTICE_CODE", "known_practices", rejections, "practice code not in any imported map",
                           "Import a practice-to-PCN map or ePCN workbook that lists these practices to load them.",
                           keep_sql=keep)
    # A register cannot hold more patients than the list it is counted against; the real 2024/25 file has one such
    # row (120 on a list of 119), so such rows are left out and reported rather than the whole file refused.
    count, found = examples(con, f"SELECT _row, REGISTER FROM raw WHERE {keep} AND {known} AND "
                                 f"{number_sql('REGISTER')} > {number_sql('PRACTICE_LIST_SIZE')}")
    for example in found:
        example.column = "REGISTER"
    rejections.add("a REGISTER larger than its PRACTICE_LIST_SIZE (a prevalence above 100%)", count, found,
                   "A register counts patients on the list, so one of the two figures is wrong: check the file.")
    plausible = f"{number_sql('REGISTER')} <= {number_sql('PRACTICE_LIST_SIZE')}"
    frame = con.execute(f"""
        SELECT PRACTICE_CODE AS org_code, 'qof_prevalence_' || upper(trim(GROUP_CODE)) AS indicator, $year AS period,
               {number_sql('REGISTER')} AS numerator, {number_sql('PRACTICE_LIST_SIZE')} AS denominator,
               CASE WHEN {number_sql('PRACTICE_LIST_SIZE')} > 0
                    THEN {number_sql('REGISTER')} * 100.0 / {number_sql('PRACTICE_LIST_SIZE')} END AS value,
               trim(PATIENT_LIST_TYPE) AS detail
        FROM raw WHERE {keep} AND {known} AND {plausible} ORDER BY 1, 2
    """, {"year": year}).df()
    groups = frame["indicator"].nunique()
    notes = [f"QOF {year}: {frame['org_code'].nunique():,} practices × {groups} disease groups; prevalence = register ÷ "
             "the list it is counted against (PATIENT_LIST_TYPE) × 100, stored as practice context for peer groups."]
    return Load(publication=PUBLICATION, vintage=year.replace("/", "-"), rows_read=rows, rows_loaded=len(frame),
                rejections=rejections, notes=notes,
                context=frame[["org_code", "indicator", "period", "value", "numerator", "denominator", "detail"]])
