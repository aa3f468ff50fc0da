"""Fingertips National General Practice Profiles: IMD deprivation score per practice → practice context."""

from __future__ import annotations

from datetime import date

from .common import Rejections, check_counts, check_range, duplicates, number_sql, read_practice_csv, reject_unknown
from .context import StoreContext
from .loading import Load

PUBLICATION = "Fingertips National General Practice Profiles: IMD score"
SHORT = "IMD score"
ORDER = 80
LANDING_PAGE = "https://fingertips.phe.org.uk/profile/general-practice"
CADENCE = "annual"  # how often a new file is published: monthly or annual
REQUIRED = ["PRACTICE_CODE", "IMD_YEAR", "IMD_SCORE"]
OPTIONAL = ["PRACTICE_NAME"]
_ADVICE = f"Download the indicator again from {LANDING_PAGE}."
FIRST_IMD_YEAR = 2000  # the first English Index of Multiple Deprivation


def parse(source, context: StoreContext) -> Load:
    name = source.name
    con, rows = read_practice_csv(source, context, "IMD", ["PRACTICE_CODE", "IMD_YEAR"], _ADVICE)
    check_counts(name, con, "IMD_YEAR", "the IMD year", _ADVICE)
    check_range(name, con, "IMD_YEAR", FIRST_IMD_YEAR, date.today().year, f"is not a year of an Index of Multiple "
                f"Deprivation (they run from {FIRST_IMD_YEAR} to this year, {date.today().year})", _ADVICE)
    rejections = Rejections()
    notes = []
    blank = con.execute("SELECT count(*) FROM raw WHERE trim(coalesce(IMD_SCORE, '')) = ''").fetchall()[0][0]
    if blank:
        notes.append(f"{blank:,} practices have no IMD score (Fingertips leaves it empty for practices it cannot score); "
                     "they were not loaded.")
        con.execute("DELETE FROM raw WHERE trim(coalesce(IMD_SCORE, '')) = ''")
    check_counts(name, con, "IMD_SCORE", "a deprivation score", _ADVICE, whole=False, maximum=100,
                 limit="and IMD scores run from 0 to 100")
    keep = duplicates(name, con, ["PRACTICE_CODE", "IMD_YEAR"], ["PRACTICE_CODE", "IMD_YEAR", "IMD_SCORE"], rejections,
                      "practice and IMD year")
    con.register("known_practices", context.codes("practice"))
    known = reject_unknown(con, "PRACTICE_CODE", "known_practices", rejections, "practice code not in any imported map",
                           "Import a practice-to-PCN map or ePCN workbook that lists these practices to load them.",
                           keep_sql=keep)
    frame = con.execute(f"""
        SELECT PRACTICE_CODE AS org_code, 'imd_score' AS indicator, CAST({number_sql('IMD_YEAR')} AS VARCHAR) AS period,
               {number_sql('IMD_SCORE', whole=False)} AS value, NULL::DOUBLE AS numerator, NULL::DOUBLE AS denominator,
               'IMD ' || CAST({number_sql('IMD_YEAR')} AS VARCHAR) || ' score (higher = more deprived)' AS detail
        FROM raw WHERE {keep} AND {known} ORDER BY 1
    """).df()
    years = sorted(frame["period"].unique())
    notes.insert(0, f"IMD {', '.join(years)}: {len(frame):,} practice scores (median {frame['value'].median():.1f}), "
                    "stored as practice context for deprivation peer groups.")
    return Load(publication=PUBLICATION, vintage=max(years) if years else "", rows_read=rows, rows_loaded=len(frame),
                rejections=rejections, notes=notes, context=frame)
