"""Appointments in General Practice coverage file → practices and patients included against those open, per sub-ICB and month."""

from __future__ import annotations

from .common import (DATE_FORMATS, Rejections, canonical, check_counts, duplicates, ident,
                     months_over, number_sql, read_csv_table, require_values, shorten,
                     shown, stop_on_rows)
from .context import StoreContext
from .loading import Load

PUBLICATION = "Appointments in General Practice: coverage"
SHORT = "appointments coverage"
ORDER = 61  # needs nothing else in the store; listed beside the practice-level crosstab
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/appointments-in-general-practice"
CADENCE = "monthly"  # how often a new file is published: monthly or annual
TABLE = "appointment_coverage"

# APPOINTMENTS_GP_COVERAGE.csv, in the daily zip of each monthly release: the header as published (the counts'
# names have spaces) → the column of the coverage table. Compared as canonical() compares headers.
COLUMNS = {
    "SUB_ICB_LOCATION_CODE": "sub_icb_code",
    "APPOINTMENT_MONTH": "period_start",  # published Appointment_Month
    "Included Practices": "included_practices",
    "Open Practices": "open_practices",
    "Patients registered at included practices": "included_patients",
    "Patients registered at open practices": "open_patients",
}
REQUIRED = [canonical(c) for c in COLUMNS]
OPTIONAL = ["ICB_ONS_CODE", "REGION_CODE"]
COUNTS = {  # published column → what it counts, for messages
    "Included Practices": "a count of practices", "Open Practices": "a count of practices",
    "Patients registered at included practices": "a count of registered patients",
    "Patients registered at open practices": "a count of registered patients",
}
# Releases have written the month as 01OCT2025 and as 01-Oct-2025; "Oct-25" is read as its first day.
MONTH_FORMATS = [*DATE_FORMATS, "%b-%y"]
_ADVICE = (f"Download the release's daily zip again from {LANDING_PAGE} and import APPOINTMENTS_GP_COVERAGE.csv "
           "from it as it is.")
_MONTH = "CAST(date_trunc('month', try_strptime(trim(APPOINTMENT_MONTH), $formats)) AS DATE)"


def parse(source, context: StoreContext) -> Load:
    name = source.name
    con = context.connection()  # the DuckDB the store is read and written through too
    rows = read_csv_table(con, source)
    _published_names(con, source)
    require_values(name, con, list(COLUMNS), _ADVICE)
    months_over(name, con, "APPOINTMENT_MONTH", _MONTH, MONTH_FORMATS,
                "is not a month the importer knows (such as 01OCT2025)", _ADVICE)
    for column, what in COUNTS.items():
        check_counts(name, con, column, what, _ADVICE)
    rejections = Rejections()
    keep = duplicates(name, con, ["SUB_ICB_LOCATION_CODE", "APPOINTMENT_MONTH"], list(COLUMNS), rejections,
                      "sub-ICB location and month")
    con.execute(f"CREATE TABLE keyed AS SELECT *, trim(SUB_ICB_LOCATION_CODE) AS _code, {_MONTH} AS _month "
                f"FROM raw WHERE {keep}", {"formats": MONTH_FORMATS})
    # The same month written two ways (01OCT2025 and 01-Oct-2025), or a code with spaces around it, is the same key.
    stop_on_rows(name, con, "SELECT _row, APPOINTMENT_MONTH FROM keyed k WHERE EXISTS (SELECT 1 FROM keyed e "
                            "WHERE e._code = k._code AND e._month = k._month AND e._row < k._row)", [],
                 "APPOINTMENT_MONTH", "is for the sub-ICB location and month of an earlier row (written differently), "
                 "so the importer cannot tell which row is right", _ADVICE)
    counts = ", ".join(f"{number_sql(published)} AS {column}" for published, column in COLUMNS.items()
                       if published in COUNTS)
    frame = con.execute(f"""
        SELECT _code AS sub_icb_code, _month AS period_start, {counts}, _row
        FROM keyed ORDER BY period_start, sub_icb_code
    """).df()
    notes = _notes(frame, context)
    columns = list(COLUMNS.values())
    frame = frame[columns].astype({"included_practices": "int32", "open_practices": "int32",
                                   "included_patients": "int64", "open_patients": "int64"})
    months = sorted(frame["period_start"].dt.date.unique())
    frame["period_start"] = frame["period_start"].dt.date
    vintage = max(months).isoformat() if months else ""
    return Load(publication=PUBLICATION, vintage=vintage, rows_read=rows, rows_loaded=len(frame),
                rejections=rejections, notes=notes, tables={TABLE: frame})


def _published_names(con, source) -> None:
    """Give the columns this importer reads their published names: a name with a space is read in as
    COLUMN_<position> (see read_csv_table), so messages would otherwise name a column the file does not have."""
    header = [canonical(h) for h in source.header]
    for published in COLUMNS:
        position = header.index(canonical(published))
        current = [r[0] for r in con.execute("DESCRIBE raw").fetchall()][position + 1]  # after _row
        if current.upper() != published.upper():
            con.execute(f"ALTER TABLE raw RENAME COLUMN {ident(current)} TO {ident(published)}")


def _notes(frame, context: StoreContext) -> list[str]:
    if frame.empty:  # read_csv_table refuses a file without rows, and the first of repeated rows is kept
        return []
    months = sorted(frame["period_start"].dt.date.unique())
    latest = frame[frame["period_start"].dt.date == months[-1]]
    practices, open_ = int(latest["included_practices"].sum()), int(latest["open_practices"].sum())
    patients, open_patients = int(latest["included_patients"].sum()), int(latest["open_patients"].sum())
    share = f" ({100 * patients / open_patients:.1f}% of their patients)" if open_patients else ""
    notes = [f"{months[0]:%b %Y}–{months[-1]:%b %Y}: {frame['sub_icb_code'].nunique():,} sub-ICB locations, "
             f"{len(months):,} months; in {months[-1]:%b %Y}, {practices:,} of {open_:,} open practices included"
             f"{share}."]
    over = frame[(frame["included_practices"] > frame["open_practices"])
                 | (frame["included_patients"] > frame["open_patients"])]
    if len(over):
        listed = ", ".join(f"row {int(r._row):,} ({shorten(r.sub_icb_code)})" for r in over.head(5).itertuples())
        notes.append(f"{len(over):,} rows count more practices or patients included than open ({listed}); they are "
                     "stored as published, and a coverage above 100% is shown as it is.")
    known = set(context.codes("sub_icb")["org_code"])
    unknown = sorted(set(frame["sub_icb_code"]) - known)
    if known and unknown:
        notes.append(f"{len(unknown):,} sub-ICB codes are in no imported map ({', '.join(shown(c) for c in unknown[:5])}"
                     f"{', …' if len(unknown) > 5 else ''}); their coverage is stored and shown for no PCN.")
    return notes
