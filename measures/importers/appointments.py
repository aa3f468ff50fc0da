"""Appointments in General Practice, practice-level crosstab → monthly access measures per practice and per PCN."""

from __future__ import annotations

import pandas as pd

from .common import (DATE_FORMATS, Rejections, check_counts, duplicates, ident, label, measures_catalogue,
                     memory_connection, month_ended, not_in_future, number_sql, observations, read_csv_table, reject_unknown,
                     require_values, shorten, shown, stop_on_rows)
from .context import StoreContext
from .loading import Load
from .totals import CONTRIBUTION_COLUMNS

PUBLICATION = "Appointments in General Practice: practice-level crosstab"
SHORT = "appointments"
ORDER = 60
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/appointments-in-general-practice"
CADENCE = "monthly"  # how often a new file is published: monthly or annual
REQUIRED = ["APPOINTMENT_MONTH_START_DATE", "GP_CODE", "PCN_CODE", "HCP_TYPE", "APPT_MODE", "NATIONAL_CATEGORY",
            "TIME_BETWEEN_BOOK_AND_APPT", "COUNT_OF_APPOINTMENTS", "APPT_STATUS"]
OPTIONAL = ["GP_NAME", "SUPPLIER", "PCN_NAME", "SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_NAME"]
KEY = ["APPOINTMENT_MONTH_START_DATE", "GP_CODE", "HCP_TYPE", "APPT_MODE", "NATIONAL_CATEGORY",
       "TIME_BETWEEN_BOOK_AND_APPT", "APPT_STATUS"]
_ADVICE = f"Download the file again from {LANDING_PAGE}."
UNALLOCATED = "U"

# Labels as published; compared without case and with runs of spaces collapsed ("8  to 14 Days").
WITHIN_14_DAYS = ["Same Day", "1 Day", "2 to 7 Days", "8  to 14 Days"]
KNOWN_INTERVALS = WITHIN_14_DAYS + ["15  to 21 Days", "22  to 28 Days", "More than 28 Days"]
UNKNOWN_INTERVAL = ["Unknown / Data Issue"]
KNOWN_MODES = ["Face-to-Face", "Telephone", "Home Visit", "Video Conference/Online"]
KNOWN_STAFF = ["GP", "Other Practice staff"]
KNOWN_STATUS = ["Attended", "DNA"]
ACC_08_CATEGORIES = [  # the eight national categories of IIF ACC-08
    "General Consultation Acute", "General Consultation Routine", "Unplanned Clinical Activity", "Clinical Triage",
    "Walk-in", "Home Visit", "Care Home Visit", "Care Related Encounter but does not fit into any other category"]

# measure → (numerator column, denominator column) of the per-practice sums below
MEASURES = {
    "appointments_per_1000": ("total", "registered_patients"),
    "appointments_same_day_pct": ("same_day", "interval_known"),
    "appointments_within_14_days_pct": ("within_14", "interval_known"),
    "dna_rate": ("dna", "status_known"),
    "face_to_face_pct": ("face_to_face", "mode_known"),
    "non_gp_appointments_pct": ("other_staff", "staff_known"),
    "acc_08_monthly": ("acc08_within_14", "acc08_known"),  # the IIF file gives the yearly acc_08
}


def _labels(values: list[str]) -> list[str]:
    return [label(v) for v in values]


def parse(source, context: StoreContext) -> Load:
    name = source.name
    context.require_practices(name, "appointments")
    con = memory_connection()
    rows = read_csv_table(con, source)
    require_values(name, con, ["APPOINTMENT_MONTH_START_DATE", "GP_CODE", "COUNT_OF_APPOINTMENTS"], _ADVICE)
    stop_on_rows(name, con, "SELECT _row, APPOINTMENT_MONTH_START_DATE FROM raw "
                            "WHERE try_strptime(trim(APPOINTMENT_MONTH_START_DATE), $formats) IS NULL",
                 {"formats": DATE_FORMATS}, "APPOINTMENT_MONTH_START_DATE",
                 "is not a date the importer knows (such as 01OCT2025)", _ADVICE)
    not_in_future(name, con, "CAST(try_strptime(trim(APPOINTMENT_MONTH_START_DATE), $formats) AS DATE)",
                  "APPOINTMENT_MONTH_START_DATE", _ADVICE, {"formats": DATE_FORMATS})
    month_ended(name, con, "CAST(try_strptime(trim(APPOINTMENT_MONTH_START_DATE), $formats) AS DATE)",
                "APPOINTMENT_MONTH_START_DATE", _ADVICE, {"formats": DATE_FORMATS})
    check_counts(name, con, "COUNT_OF_APPOINTMENTS", "a count of appointments", _ADVICE)
    rejections = Rejections()
    notes: list[str] = []
    columns = [r[0] for r in con.execute("DESCRIBE raw").fetchall() if r[0] != "_row"]
    keep = duplicates(name, con, KEY, columns, rejections, "practice, month and appointment type")
    con.register("known_practices", context.codes("practice"))
    known = reject_unknown(con, "GP_CODE", "known_practices", rejections,
                           "practice code not in any imported map",
                           "Import a practice-to-PCN map or ePCN workbook that lists these practices to load them.",
                           keep_sql=keep)
    params = {
        "formats": DATE_FORMATS, "within": _labels(WITHIN_14_DAYS), "intervals": _labels(KNOWN_INTERVALS),
        "modes": _labels(KNOWN_MODES), "staff": _labels(KNOWN_STAFF), "status": _labels(KNOWN_STATUS),
        "acc08": _labels(ACC_08_CATEGORIES), "same_day": label("Same Day"), "dna": label("DNA"),
        "f2f": label("Face-to-Face"), "other": label("Other Practice staff"),
    }
    # Labels are compared as label() normalises them (case, runs of spaces); each distinct label once, in Python.
    dimensions = {"interval": "TIME_BETWEEN_BOOK_AND_APPT", "mode": "APPT_MODE", "staff": "HCP_TYPE",
                  "status": "APPT_STATUS", "category": "NATIONAL_CATEGORY"}
    for name_, column in dimensions.items():
        values = [r[0] for r in con.execute(f"SELECT DISTINCT {ident(column)} FROM raw").fetchall()]
        con.register(f"_labels_{name_}", pd.DataFrame({"published": pd.Series(values, dtype=object),
                                                         "label": [label(v) for v in values]}))
    joins = " ".join(f"LEFT JOIN _labels_{n} ON _labels_{n}.published IS NOT DISTINCT FROM r.{ident(c)}"
                     for n, c in dimensions.items())
    con.execute(f"""
        CREATE TABLE appts AS
        SELECT CAST(try_strptime(trim(r.APPOINTMENT_MONTH_START_DATE), $formats) AS DATE) AS month,
               trim(r.GP_CODE) AS practice, nullif(trim(coalesce(r.PCN_CODE, '')), '') AS pcn,
               {", ".join(f"_labels_{n}.label AS {n}" for n in dimensions)},
               {number_sql('COUNT_OF_APPOINTMENTS')} AS n
        FROM (SELECT * FROM raw WHERE {keep} AND {known}) r {joins}
    """, {"formats": DATE_FORMATS})
    _unrecognised(con, notes, params)
    practices = con.execute("""
        SELECT month, practice, min(pcn) AS pcn, count(DISTINCT pcn) AS pcn_codes,
               sum(n) AS total,
               coalesce(sum(n) FILTER (WHERE interval = $same_day), 0) AS same_day,
               coalesce(sum(n) FILTER (WHERE list_contains($within, interval)), 0) AS within_14,
               coalesce(sum(n) FILTER (WHERE list_contains($intervals, interval)), 0) AS interval_known,
               coalesce(sum(n) FILTER (WHERE status = $dna), 0) AS dna,
               coalesce(sum(n) FILTER (WHERE list_contains($status, status)), 0) AS status_known,
               coalesce(sum(n) FILTER (WHERE mode = $f2f), 0) AS face_to_face,
               coalesce(sum(n) FILTER (WHERE list_contains($modes, mode)), 0) AS mode_known,
               coalesce(sum(n) FILTER (WHERE staff = $other), 0) AS other_staff,
               coalesce(sum(n) FILTER (WHERE list_contains($staff, staff)), 0) AS staff_known,
               coalesce(sum(n) FILTER (WHERE list_contains($acc08, category) AND list_contains($within, interval)), 0)
                   AS acc08_within_14,
               coalesce(sum(n) FILTER (WHERE list_contains($acc08, category) AND list_contains($intervals, interval)), 0)
                   AS acc08_known
        FROM appts GROUP BY 1, 2 ORDER BY 1, 2
    """, {k: v for k, v in params.items() if k != "formats"}).df()
    split = practices[practices["pcn_codes"] > 1]
    if len(split):
        notes.append(f"{len(split):,} practices are listed under more than one PCN_CODE in a month; each row counts "
                     "towards the PCN it names.")

    # Denominator of the per-1,000 rate: each practice's list size at the extract nearest the month.
    con.register("practice_lists", context.frame("practice_lists"))
    con.register("_months", practices[["month", "practice"]])
    nearest = con.execute("""
        SELECT m.month, m.practice, l.registered_patients, l.extract_date
        FROM _months m JOIN practice_lists l ON l.org_code = m.practice
        QUALIFY row_number() OVER (PARTITION BY m.month, m.practice
                                   ORDER BY abs(date_diff('day', l.extract_date, m.month)), l.extract_date DESC) = 1
    """).df()
    practices = practices.merge(nearest, on=["month", "practice"], how="left")
    no_list = practices[practices["registered_patients"].isna()]
    if len(no_list):
        notes.append(f"{len(no_list):,} practices have no list size at any imported extract (for example "
                     f"{', '.join(map(shorten, no_list['practice'].head(5)))}); their appointments per 1,000 is recorded empty (NULL). "
                     "Import the list sizes (gp-reg-pat-prac-all.csv) that include them.")
    if practices["extract_date"].notna().any():
        used = sorted({pd.Timestamp(d).date() for d in practices["extract_date"].dropna()})
        notes.append(f"appointments per 1,000 divide by list sizes from the extract of "
                     f"{', '.join(f'{d:%d %b %Y}' for d in used)}.")

    # PCN figures: the sum over the practice rows the file gives for each PCN_CODE (not the unallocated U).
    con.register("known_pcns", context.codes("pcn"))
    unallocated = practices[(practices["pcn"].isna()) | (practices["pcn"] == UNALLOCATED)]
    if len(unallocated):
        notes.append(f"{unallocated['practice'].nunique():,} practices have PCN_CODE {UNALLOCATED} or none "
                     f"({', '.join(map(shorten, unallocated['practice'].unique()[:5]))}): practice values only, in no PCN total.")
    contributed = _pcn_contributions(con, params, notes)

    catalogue = measures_catalogue()
    frames = []
    base = practices.rename(columns={"practice": "org_code"})
    base = base.assign(org_level="practice", period_start=base["month"],
                       period_end=(pd.to_datetime(base["month"]) + pd.offsets.MonthEnd(0)).dt.date)
    for measure_id, (num, den) in MEASURES.items():
        frames.append(observations(measure_id, base.assign(numerator=base[num], denominator=base[den]), "published",
                                   catalogue))
    # PCN totals are not written from this file alone: a month may come in several files (one per region), so each
    # PCN total is rebuilt, when the file is written, over every practice the store holds for that PCN and month.
    contributions = _contribution_rows(contributed)
    loaded = int(con.execute("SELECT count(*) FROM appts").fetchall()[0][0])
    months = sorted({pd.Timestamp(m).date() for m in practices["month"]})
    pcn_months = len(contributed[["month", "pcn"]].drop_duplicates()) if len(contributed) else 0
    notes.insert(0, f"{', '.join(f'{m:%b %Y}' for m in months)}: {len(practices):,} practice-months, "
                    f"{pcn_months:,} PCN-months, {int(practices['total'].sum()):,} appointments.")
    vintage = max(months).isoformat() if months else ""
    return Load(publication=PUBLICATION, vintage=vintage, rows_read=rows, rows_loaded=loaded, rejections=rejections,
                notes=notes, observations=pd.concat(frames, ignore_index=True) if frames else None,
                contributions=contributions)


def _contribution_rows(contributed: pd.DataFrame) -> pd.DataFrame:
    """One row per measure, PCN, month and practice: what the practice's rows naming that PCN add to its totals. The
    per-1,000 rate's denominator is the practice's list size, empty where it has none (totals.py leaves such
    practices out of the rate, numerator and denominator alike)."""
    if contributed.empty:
        return pd.DataFrame(columns=CONTRIBUTION_COLUMNS)
    base = contributed.assign(period_start=contributed["month"],
                              period_end=(pd.to_datetime(contributed["month"]) + pd.offsets.MonthEnd(0)).dt.date)
    parts = []
    for measure_id, (num, den) in MEASURES.items():
        parts.append(pd.DataFrame({
            "measure_id": measure_id, "org_code": base["pcn"], "practice_code": base["practice"],
            "period_start": base["period_start"], "period_end": base["period_end"],
            "numerator": base[num].astype("float64"), "denominator": base[den].astype("float64")}))
    return pd.concat(parts, ignore_index=True)[CONTRIBUTION_COLUMNS]


def _pcn_contributions(con, params, notes) -> pd.DataFrame:
    """Numerators and denominators of each practice's rows naming each PCN (not the unallocated U, nor a PCN in no
    imported map), with the practice's list size for the per-1,000 rate."""
    frame = con.execute("""
        WITH p AS (
            SELECT a.month, a.pcn, a.practice, sum(a.n) AS total,
                   coalesce(sum(a.n) FILTER (WHERE a.interval = $same_day), 0) AS same_day,
                   coalesce(sum(a.n) FILTER (WHERE list_contains($within, a.interval)), 0) AS within_14,
                   coalesce(sum(a.n) FILTER (WHERE list_contains($intervals, a.interval)), 0) AS interval_known,
                   coalesce(sum(a.n) FILTER (WHERE a.status = $dna), 0) AS dna,
                   coalesce(sum(a.n) FILTER (WHERE list_contains($status, a.status)), 0) AS status_known,
                   coalesce(sum(a.n) FILTER (WHERE a.mode = $f2f), 0) AS face_to_face,
                   coalesce(sum(a.n) FILTER (WHERE list_contains($modes, a.mode)), 0) AS mode_known,
                   coalesce(sum(a.n) FILTER (WHERE a.staff = $other), 0) AS other_staff,
                   coalesce(sum(a.n) FILTER (WHERE list_contains($staff, a.staff)), 0) AS staff_known,
                   coalesce(sum(a.n) FILTER (WHERE list_contains($acc08, a.category)
                                                   AND list_contains($within, a.interval)), 0) AS acc08_within_14,
                   coalesce(sum(a.n) FILTER (WHERE list_contains($acc08, a.category)
                                                   AND list_contains($intervals, a.interval)), 0) AS acc08_known
            FROM appts a WHERE a.pcn IS NOT NULL AND a.pcn <> $u GROUP BY ALL
        ), sized AS (
            SELECT p.*, l.registered_patients FROM p LEFT JOIN (
                SELECT m.month, m.practice, l.registered_patients FROM (SELECT DISTINCT month, practice FROM p) m
                JOIN practice_lists l ON l.org_code = m.practice
                QUALIFY row_number() OVER (PARTITION BY m.month, m.practice
                                           ORDER BY abs(date_diff('day', l.extract_date, m.month)), l.extract_date DESC) = 1
            ) l USING (month, practice)
        )
        SELECT * FROM sized WHERE pcn IN (SELECT org_code FROM known_pcns) ORDER BY month, pcn, practice
    """, {**{k: v for k, v in params.items() if k != "formats"}, "u": UNALLOCATED}).df()
    unknown = con.execute("SELECT DISTINCT pcn FROM appts WHERE pcn IS NOT NULL AND pcn <> $u "
                          "AND pcn NOT IN (SELECT org_code FROM known_pcns) ORDER BY 1", {"u": UNALLOCATED}).fetchall()
    if unknown:
        notes.append(f"{len(unknown):,} PCN codes are in no imported map ({', '.join(shorten(r[0]) for r in unknown[:5])}); their "
                     "practices load, but no PCN total is written for them.")
    counts = frame.assign(sized=frame["registered_patients"].notna()).groupby(["month", "pcn"])["sized"].agg(["sum", "size"])
    partial = list(counts[counts["sum"] < counts["size"]].index.get_level_values("pcn").unique())
    if partial:
        notes.append(f"{len(partial):,} PCNs have practices without a list size ({', '.join(map(shorten, partial[:5]))}); "
                     "their appointments per 1,000 covers the practices that have one.")
    return frame


def _unrecognised(con, notes: list[str], params: dict) -> None:
    """Labels the importer does not know are counted in totals but in no numerator or known-value denominator."""
    checks = [
        ("interval", "TIME_BETWEEN_BOOK_AND_APPT", params["intervals"] + _labels(UNKNOWN_INTERVAL)),
        ("mode", "APPT_MODE", params["modes"] + ["unknown"]),
        ("staff", "HCP_TYPE", params["staff"] + ["unknown"]),
        ("status", "APPT_STATUS", params["status"] + ["unknown"]),
    ]
    for column, published, known in checks:
        found = con.execute(f"SELECT {column}, sum(n) FROM appts WHERE {column} <> '' AND NOT list_contains($k, {column}) "
                            "GROUP BY 1 ORDER BY 2 DESC", {"k": known}).fetchall()
        if found:
            listed = ", ".join(f"{shown(v)} ({n:,})" for v, n in found[:5])
            notes.append(f"{published} has values the importer does not know: {listed}; they count in totals but as "
                         "unknown in the measures that leave unknowns out.")
    blank = con.execute("SELECT sum(n) FROM appts WHERE status = ''").fetchall()[0][0]
    if blank:
        notes.append(f"{int(blank):,} appointments have a blank APPT_STATUS, read as Unknown (left out of the DNA rate).")
