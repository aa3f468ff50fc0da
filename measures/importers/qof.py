"""Quality and Outcomes Framework disease prevalence (PREVALENCE_2425.csv) → practice context for peer groups."""

from __future__ import annotations

import re
from pathlib import Path

from datetime import date

from .. import limits
from .common import (PublicationError, Rejections, canonical, check_counts, duplicates, examples, ident, limit_value,
                     number_sql, read_csv_table, reject_unknown, require_values, shown)
from .context import StoreContext
from .loading import Load

PUBLICATION = "Quality and Outcomes Framework: disease prevalence"
SHORT = "QOF prevalence"
ORDER = 70
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/quality-and-outcomes-framework-achievement-prevalence-and-exceptions-data"
CADENCE = "annual"  # how often a new file is published: monthly or annual
REQUIRED = ["PRACTICE_CODE", "GROUP_CODE", "REGISTER", "PATIENT_LIST_TYPE", "PRACTICE_LIST_SIZE"]
# The published prevalence file states its year only in its name (and the archive's); a file that carries a year
# column as well is read from it, and every place that states a year must agree.
YEAR_COLUMNS = ["REPORTING_YEAR", "FINANCIAL_YEAR", "ACHIEVEMENT_YEAR", "QOF_YEAR"]
OPTIONAL = list(YEAR_COLUMNS)
_ADVICE = f"Download the file again from {LANDING_PAGE}."


def years_in(text: str) -> set[str]:
    """Financial years written in a name or a cell: 2024-25, 2024_25, 2024/25, 202425 or 2425 (→ 2024/25)."""
    found = set()
    for pattern in (r"(?<!\d)(20\d{2})[-_/ ](\d{2})(?!\d)", r"(?<!\d)(20\d{2})(\d{2})(?!\d)",
                    r"(?<!\d)(\d{2})(\d{2})(?!\d)"):
        for match in re.finditer(pattern, str(text)):
            first, second = int(match.group(1)) % 100, int(match.group(2))
            if (first + 1) % 100 == second:
                found.add(f"20{first:02d}/{second:02d}")
    return found


def financial_year(file_name: str) -> str:
    """The QOF year its published name states (PREVALENCE_2425.csv → 2024/25), and the archive's it came in."""
    return _year(file_name, {})


def _stated_in_names(file_name: str) -> dict[str, set[str]]:
    parts = str(file_name).split("/")
    stated = {"its name": years_in(Path(parts[-1]).name)}
    if len(parts) > 1:
        stated[f"the archive it came in ({'/'.join(parts[:-1])})"] = years_in("/".join(parts[:-1]))
    return {where: years for where, years in stated.items() if years}


def _year(file_name: str, stated: dict[str, set[str]]) -> str:
    """The one year every place states (names, and `stated`: a year column), or a PublicationError saying why not."""
    stated = {**_stated_in_names(file_name), **stated}
    for where, years in stated.items():
        if len(years) > 1:
            raise PublicationError(f"{file_name}: {where} states more than one QOF year ({', '.join(sorted(years))}), so "
                                   "the importer cannot tell which year the file is for. Keep the name as published "
                                   "(PREVALENCE_2425.csv is 2024/25). Nothing was imported.")
    years = {next(iter(y)) for y in stated.values()}
    if len(years) > 1:
        said = "; ".join(f"{where} says {next(iter(y))}" for where, y in stated.items())
        raise PublicationError(f"{file_name}: {said}. A file is for one QOF year: check that this is the file you "
                               "meant, and keep its name as published. Nothing was imported.")
    if not years:
        raise PublicationError(f"{file_name}: the QOF prevalence file says its year only in its published name "
                               "(PREVALENCE_2425.csv is 2024/25, or the archive QOF2425.zip it comes in), and neither "
                               "this name nor a column of the file has one. Keep the name as published, or rename it "
                               "with the year, such as PREVALENCE_2425.csv. Nothing was imported.")
    return years.pop()


def _year_column(name: str, con, present: set[str]) -> dict[str, set[str]]:
    """The year a year column states, if the file has one: every row must state the same one."""
    column = next((c for c in YEAR_COLUMNS if c in present), None)
    if column is None:
        return {}
    values = con.execute(f"SELECT {ident(column)}, min(_row) FROM raw GROUP BY 1 ORDER BY 2").fetchall()
    years: dict[str, int] = {}
    for value, row in values:
        found = years_in(value or "")
        if len(found) != 1:
            raise PublicationError(f"{name}: row {row:,}, column {column}: {shown(value)} is not a financial year "
                                   f"(such as 2024-25). {_ADVICE} Nothing was imported.")
        years.setdefault(found.pop(), row)
    if len(years) > 1:
        listed = ", ".join(f"{y} (row {r:,})" for y, r in list(years.items())[:3])
        raise PublicationError(f"{name}: column {column} holds {len(years)} QOF years ({listed}); a published file is "
                               f"for one year. {_ADVICE} Nothing was imported.")
    return {f"its column {column}": set(years)}


def _check_begun(name: str, year: str, stated: dict[str, set[str]]) -> None:
    today = date.today()
    if int(year[:4]) > today.year or (int(year[:4]) == today.year and today.month < 4):
        where = next(iter(stated), None) or next(iter(_stated_in_names(name)), "its name")
        raise PublicationError(f"{name}: {where} says QOF {year}, a year that has not begun yet (today is "
                               f"{today:%d %b %Y}). Keep the name as published. Nothing was imported.")


def parse(source, context: StoreContext) -> Load:
    name = source.name
    header = {canonical(h) for h in source.header}
    if not any(c in header for c in YEAR_COLUMNS):
        _check_begun(name, _year(name, {}), {})
    context.require_practices(name, "QOF")
    con = context.connection()  # the DuckDB the store is read and written through too
    rows = read_csv_table(con, source)
    stated = _year_column(name, con, {r[0] for r in con.execute("DESCRIBE raw").fetchall()})
    year = _year(name, stated)
    _check_begun(name, year, stated)
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
