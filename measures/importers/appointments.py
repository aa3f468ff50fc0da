"""Appointments in General Practice, practice-level crosstab → monthly access measures per practice and per PCN."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa

from .. import limits
from .common import (DATE_FORMATS, EXAMPLES, NUMBER_PATTERN, OBSERVATION_COLUMNS, SAFE_NAME, Example, Rejections,
                     _check_header, canonical, check_counts, duplicates, ident, label, limit_value, measures_catalogue,
                     months_over, number_sql, read_csv_table, require_values, shorten,
                     shown, value_sql)
from .context import StoreContext
from .loading import Load
from .totals import CONTRIBUTION_COLUMNS

PUBLICATION = "Appointments in General Practice: practice-level crosstab"
SHORT = "appointments"
ORDER = 60
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/appointments-in-general-practice"
CADENCE = "monthly"  # how often a new file is published: monthly or annual
CONTEXT = ("organisations", "practice_lists")  # what the parse reads from the store
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
# A coverage caveat, not a measure for boards: the share of appointments with a mapped national category, stored
# per practice and month for the Data page. It has no catalogue entry, so no board, card or comparison lists it.
CATEGORY_MAPPED = "appt_category_mapped"
NOT_MAPPED = ["Unmapped", "Inconsistent Mapping"]  # a blank category is not mapped either


def _labels(values: list[str]) -> list[str]:
    return [label(v) for v in values]


# The sums kept per month, practice and PCN_CODE, over the distinct rows of the file (an exact repeat counts once).
# Each {name} stands for the published values (of the column named) whose label is among those counted, bound one
# by one (`_bound_lists`): DuckDB compares a column against bound values faster than it searches a bound list.
def _in(name: str, column: str) -> str:
    return f"{column} IN {{{name}}}"


def _bound_lists(picked: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, str]]:
    """Each picked list as the parenthesised parameters that stand for it, and those parameters' values."""
    lists, values = {}, {}
    for name, picks in picked.items():
        names = [f"{name}_{i}" for i in range(len(picks))]
        lists[name] = f"({', '.join(f'${n}' for n in names)})" if picks else "(NULL)"  # NULL: matches nothing
        values.update(zip(names, picks))
    return lists, values


_SUMS = {
    "total": "sum(n)",
    "same_day": f"sum(n) FILTER (WHERE {_in('same_day', 'TIME_BETWEEN_BOOK_AND_APPT')})",
    "within_14": f"sum(n) FILTER (WHERE {_in('within', 'TIME_BETWEEN_BOOK_AND_APPT')})",
    "interval_known": f"sum(n) FILTER (WHERE {_in('intervals', 'TIME_BETWEEN_BOOK_AND_APPT')})",
    "dna": f"sum(n) FILTER (WHERE {_in('dna', 'APPT_STATUS')})",
    "status_known": f"sum(n) FILTER (WHERE {_in('status', 'APPT_STATUS')})",
    "face_to_face": f"sum(n) FILTER (WHERE {_in('f2f', 'APPT_MODE')})",
    "mode_known": f"sum(n) FILTER (WHERE {_in('modes', 'APPT_MODE')})",
    "other_staff": f"sum(n) FILTER (WHERE {_in('other', 'HCP_TYPE')})",
    "staff_known": f"sum(n) FILTER (WHERE {_in('staff', 'HCP_TYPE')})",
    "acc08_within_14": f"sum(n) FILTER (WHERE {_in('acc08', 'NATIONAL_CATEGORY')} "
                       f"AND {_in('within', 'TIME_BETWEEN_BOOK_AND_APPT')})",
    "acc08_known": f"sum(n) FILTER (WHERE {_in('acc08', 'NATIONAL_CATEGORY')} "
                   f"AND {_in('intervals', 'TIME_BETWEEN_BOOK_AND_APPT')})",
    "category_mapped": f"sum(n) FILTER (WHERE {_in('mapped', 'NATIONAL_CATEGORY')})",
    "blank_status": "sum(n) FILTER (WHERE " + _in("blank_status", "coalesce(APPT_STATUS, '')") + ")",
}
# name → (dimension, the labels it counts)
_PICKS = {
    "same_day": ("interval", {label("Same Day")}), "within": ("interval", set(_labels(WITHIN_14_DAYS))),
    "intervals": ("interval", set(_labels(KNOWN_INTERVALS))), "dna": ("status", {label("DNA")}),
    "status": ("status", set(_labels(KNOWN_STATUS))), "f2f": ("mode", {label("Face-to-Face")}),
    "modes": ("mode", set(_labels(KNOWN_MODES))), "other": ("staff", {label("Other Practice staff")}),
    "staff": ("staff", set(_labels(KNOWN_STAFF))), "acc08": ("category", set(_labels(ACC_08_CATEGORIES))),
}
_KNOWN = "GP_CODE IN (SELECT org_code FROM known_practices)"
_DIMENSIONS = {"interval": "TIME_BETWEEN_BOOK_AND_APPT", "mode": "APPT_MODE", "staff": "HCP_TYPE",
               "status": "APPT_STATUS", "category": "NATIONAL_CATEGORY"}
_MONTH = "CAST(try_strptime(trim(APPOINTMENT_MONTH_START_DATE), $formats) AS DATE)"
# The list size nearest each month, per practice (ties: the later extract).
_NEAREST = """
    SELECT m.month, m.practice, l.registered_patients, l.extract_date
    FROM (SELECT DISTINCT month, practice FROM pp) m JOIN practice_lists l ON l.org_code = m.practice
    QUALIFY row_number() OVER (PARTITION BY m.month, m.practice
                               ORDER BY abs(date_diff('day', l.extract_date, m.month)), l.extract_date DESC) = 1
"""


class _NeedsRows(Exception):
    """The file needs reading row by row (a check found something, or the file is unusual): messages name rows."""


def parse(source, context: StoreContext) -> Load:
    context.require_practices(source.name, "appointments")
    try:
        return _parse(source, context, by_row=False)
    except _NeedsRows:
        return _parse(source, context, by_row=True)


def _parse(source, context: StoreContext, by_row: bool) -> Load:
    """Each distinct row of the file once (`d`), read in one pass: read and grouped in one statement, or, `by_row`,
    through the table of every row the other importers read (read_csv_table), whose checks word the messages."""
    name = source.name
    # The DuckDB the store is read and written through as well; reading row by row starts again in a new one.
    con = context.fresh_connection() if by_row else context.connection()
    # What the store knows, copied in once: each is read several times below.
    for table, frame in [("known_practices", context.codes("practice")), ("known_pcns", context.codes("pcn")),
                         ("practice_lists", context.frame("practice_lists"))]:
        con.register("_frame", frame)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM _frame")
        con.unregister("_frame")
    if by_row:
        rows = read_csv_table(con, source)
        columns = [r[0] for r in con.execute("DESCRIBE raw").fetchall() if r[0] != "_row"]
        _group(con, "raw", columns)
        con.execute("CREATE VIEW firsts AS SELECT * FROM d")
        summary = _summary(con, name)
    else:
        rows, columns, summary = _read_grouped(con, source)
    rejections = Rejections()
    notes: list[str] = []
    found = _distinct_rows(name, con, columns, rejections, by_row, summary)
    # Labels are compared as label() normalises them (case, runs of spaces): each distinct published value is
    # labelled once, in Python, and the sums below pick the published values whose label they count.
    _unrecognised(con, found, notes)
    picked = {name_: [v for v in found[dimension] if label(v) in wanted]
              for name_, (dimension, wanted) in _PICKS.items()}
    picked["mapped"] = [v for v in found["category"] if label(v) not in {"", *_labels(NOT_MAPPED)}]
    picked["blank_status"] = [v for v in found["status"] if label(v) == ""]
    lists, values = _bound_lists(picked)
    sums = ", ".join(f"coalesce({sql.format(**lists)}, 0) AS {column}" if column != "total" else f"{sql} AS {column}"
                     for column, sql in _SUMS.items())
    # Summed first per month, practice and PCN_CODE as published, then (a few hundred rows) per month and code as
    # compared: the dates parsed, the codes trimmed. Every month is a date by now (_distinct_rows).
    con.execute(f"""
        CREATE TABLE pp AS
        SELECT {_MONTH} AS month, trim(GP_CODE) AS practice, nullif(trim(coalesce(PCN_CODE, '')), '') AS pcn,
               {", ".join(f"sum({column}) AS {column}" for column in _SUMS)}, sum(_rows) AS _rows
        FROM (SELECT APPOINTMENT_MONTH_START_DATE, GP_CODE, PCN_CODE, {sums}, count(*) AS _rows
              FROM (SELECT *, {number_sql('COUNT_OF_APPOINTMENTS')} AS n FROM d WHERE _known) GROUP BY ALL)
        GROUP BY ALL
    """, {"formats": DATE_FORMATS, **values})
    con.execute(f"CREATE TABLE nearest AS {_NEAREST}")
    con.execute(f"""
        CREATE TABLE practices AS
        SELECT p.*, l.registered_patients, l.extract_date FROM (
            SELECT month, practice, min(pcn) AS pcn, count(DISTINCT pcn) AS pcn_codes,
                   {", ".join(f"sum({column}) AS {column}" for column in _SUMS)}, sum(_rows) AS _rows
            FROM pp GROUP BY 1, 2) p
        LEFT JOIN nearest l USING (month, practice)
    """)
    facts = _practice_notes(con, notes)
    contributions, pcn_months = _pcn_contributions(con, notes)
    observed = _observations(con)
    # PCN totals are not written from this file alone: a month may come in several files (one per region), so each
    # PCN total is rebuilt, when the file is written, over every practice the store holds for that PCN and month.
    months = sorted(facts["months"] or [])
    notes.insert(0, f"{', '.join(f'{m:%b %Y}' for m in months)}: {facts['practice_months']:,} practice-months, "
                    f"{pcn_months:,} PCN-months, {int(facts['total'] or 0):,} appointments.")
    vintage = max(months).isoformat() if months else ""
    return Load(publication=PUBLICATION, vintage=vintage, rows_read=rows, rows_loaded=int(facts["loaded"] or 0),
                rejections=rejections, notes=notes, observations=observed, contributions=contributions)


def _group(con, table: str, columns: list[str]) -> None:
    """`d`: each distinct row once, with how many rows hold it, the first six of them (_first the first) and whether
    its practice is known (_known)."""
    listed = ", ".join(ident(c) for c in columns)
    con.execute(f"CREATE TABLE d AS SELECT _rows[1] AS _first, *, {_KNOWN} AS _known FROM ("
                f"SELECT min(_row, 6) AS _rows, count(*) AS _copies, {listed} FROM {table} GROUP BY ALL)")


_READ = ("read_csv(?, header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
         "columns = ?)")
_PREFIX = 2_048  # rows read first, in order, for the rows the report quotes (then eight times as many, and so on)
_LONGEST_ROW = 2_097_152  # bytes: DuckDB's own limit, which read_csv_table keeps
_SMALL_READ = _READ.replace("columns = ?", f"columns = ?, buffer_size = {1 << 20}")  # for those first rows


def _read_grouped(con, source) -> tuple[int, list[str], dict]:
    """`d`: the file read and grouped to its distinct rows in one statement, its columns named as read_csv_table
    names them, with whether each row's practice is known (_known); and `firsts` (see _first_rows). Anything
    read_csv_table would word a message about (a header, a row that is not CSV, blank lines that shift row numbers,
    a cell too long, no rows), and any fault _summary finds, is left to the reading row by row. Returns the number
    of rows, the columns and the summary."""
    _check_header(source)
    if source.blank_lines:
        raise _NeedsRows
    header = [n if SAFE_NAME.fullmatch(n := canonical(h)) else f"COLUMN_{i + 1}" for i, h in enumerate(source.header)]
    seen: dict[str, int] = {}
    for i, n in enumerate(header):
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1:
            header[i] = f"{n}_{seen[n]}"
    listed, types = ", ".join(ident(c) for c in header), {n: "VARCHAR" for n in header}
    # A cell holds no more characters than its row holds bytes: in rows of at most the limit in bytes, no cell is
    # too long (a longer row fails the read, and is left to read_csv_table).
    longest = min(int(limit_value(source.name, limits.max_cell_chars)), _LONGEST_ROW)
    try:
        # No row numbers here: numbering rows in order would read the file on one core instead of all of them.
        # Grouped by every column (an exact repeat is of the whole row) but keeping only the columns read below:
        # rows differing only in a kept-out column share a key, which _summary finds and leaves to reading row by row.
        kept = ", ".join(ident(c) for c in REQUIRED)
        con.execute(f"CREATE TABLE d AS SELECT *, {_KNOWN} AS _known FROM (SELECT count(*) AS _copies, {kept} "
                    f"FROM {_READ.replace('columns = ?', 'columns = ?, max_line_size = ?')} GROUP BY {listed})",
                    [str(source.path), types, longest])
    except duckdb.Error:
        raise _NeedsRows from None
    summary = _summary(con, source.name)
    if not summary["rows"]:
        raise _NeedsRows
    if summary["faults"] or summary["keys"] < summary["count"]:
        raise _NeedsRows
    _first_rows(con, source, listed, types, min(int(summary["repeats"]), EXAMPLES),
                min(int(summary["unknown"]), EXAMPLES))
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return int(summary["rows"]), header, summary


def _first_rows(con, source, listed: str, types: dict, repeats: int, unknown: int) -> None:
    """`firsts`: as `d`, with the first six rows of each distinct row (_rows; _first the first), over as many of the
    file's first rows as hold the first `repeats` exact repeats and `unknown` rows of practices in no map that the
    report quotes (the earliest of each, so a prefix that holds that many holds the right ones)."""
    if not (repeats or unknown):
        return  # nothing to quote: no `firsts`
    prefix = _PREFIX
    while True:
        sql = (f"CREATE OR REPLACE TABLE firsts AS SELECT _rows[1] AS _first, * FROM (SELECT min(_row, 6) AS _rows, "
               f"count(*) AS _copies, {listed} FROM (SELECT row_number() OVER () + 1 AS _row, * FROM {{read}} "
               f"LIMIT {int(prefix)}) GROUP BY ALL)")
        # DuckDB reads a file in buffers of 32 MB: the first, short prefix is read through a small one. A row
        # longer than that buffer fails there, and is read through the usual one.
        reader = _SMALL_READ if prefix == _PREFIX else _READ
        try:
            con.execute(sql.format(read=reader), [str(source.path), types])
        except duckdb.Error:
            if reader == _READ:
                raise
            con.execute(sql.format(read=_READ), [str(source.path), types])
        read, found_repeats, found_unknown = con.execute(
            f"SELECT sum(_copies), sum(_copies - 1), count(*) FILTER (WHERE NOT {_KNOWN}) FROM firsts").fetchall()[0]
        if read < prefix or (found_repeats >= repeats and found_unknown >= unknown):
            return
        prefix *= 8


def _summary(con, name: str) -> dict:
    """What one pass over `d` finds: its rows, exact repeats, rows of practices in no map, whether any check that
    stops the import finds something (`faults`: dates, counts and practice codes over their distinct values), the
    distinct rows and keys (keys counted by their hash), and per dimension the distinct published values (a blank as
    '') of the rows that load."""
    today = date.today()
    maximum = float(limit_value(name, limits.max_count))
    cleaned = "replace(trim(v), ',', '')"
    number = f"TRY_CAST({cleaned} AS DOUBLE)"
    month = _MONTH.replace("APPOINTMENT_MONTH_START_DATE", "v")
    date_faults = ["trim(coalesce(v, '')) = ''", f"{month} IS NULL", f"{month} > $today", f"{month} >= $this_month"]
    count_faults = ["trim(coalesce(v, '')) = ''", f"NOT regexp_full_match(coalesce({cleaned}, ''), $pattern)",
                    f"{number} <> round({number})", f"{number} < 0", f"{number} > $maximum"]
    names = list(_DIMENSIONS)
    # The distinct values are found first, in subqueries of their own: a condition on them would otherwise be
    # evaluated on every row of `d`.
    row = con.execute(f"""
        WITH months AS (SELECT DISTINCT APPOINTMENT_MONTH_START_DATE AS v FROM d),
             counts AS (SELECT DISTINCT COUNT_OF_APPOINTMENTS AS v FROM d),
             codes AS (SELECT DISTINCT GP_CODE AS v FROM d),
             kinds AS (SELECT DISTINCT {", ".join(ident(c) for c in _DIMENSIONS.values())} FROM d WHERE _known)
        SELECT sum(_copies), sum(_copies - 1), count(*) FILTER (WHERE NOT _known),
               (SELECT count(*) FROM months WHERE {" OR ".join(f"({f})" for f in date_faults)})
             + (SELECT count(*) FROM counts WHERE {" OR ".join(f"({f})" for f in count_faults)})
             + (SELECT count(*) FROM codes WHERE trim(coalesce(v, '')) = ''),
               count(*), count(DISTINCT hash({", ".join(ident(c) for c in KEY)})),
               {", ".join(f"(SELECT list(DISTINCT coalesce({ident(_DIMENSIONS[n])}, '')) FROM kinds)" for n in names)}
        FROM d
    """, {"formats": DATE_FORMATS, "today": today, "this_month": today.replace(day=1), "pattern": NUMBER_PATTERN,
          "maximum": maximum}).fetchall()[0]
    facts = dict(zip(["rows", "repeats", "unknown", "faults", "count", "keys"], row))
    facts["found"] = {n: sorted(values or []) for n, values in zip(names, row[6:])}
    return facts


def _distinct_rows(name: str, con, columns: list[str], rejections: Rejections, by_row: bool,
                   summary: dict) -> dict[str, list[str]]:
    """`d`: each distinct row once, with the first row it is on. Every check that stops the import has run in
    one pass (_summary); only when one finds something are they run one by one, in order, so that the message
    names the first faulty row of the first check, as each check words it. Rows that repeat a key (practice, month
    and appointment type) with other values stop the import (duplicates() words that message); exact repeats and
    rows of practices in no imported map are rejected and reported. Returns, per dimension, the distinct published
    values (a blank as '') of the rows that load."""
    what = "practice, month and appointment type"
    faults, count, keys, repeats, unknown = (summary[k] for k in ("faults", "count", "keys", "repeats", "unknown"))
    if faults and not by_row:
        raise _NeedsRows
    if faults:
        require_values(name, con, ["APPOINTMENT_MONTH_START_DATE", "GP_CODE", "COUNT_OF_APPOINTMENTS"], _ADVICE)
        months_over(name, con, "APPOINTMENT_MONTH_START_DATE", _MONTH, DATE_FORMATS,
                    "is not a date the importer knows (such as 01OCT2025)", _ADVICE)
        check_counts(name, con, "COUNT_OF_APPOINTMENTS", "a count of appointments", _ADVICE)
    if keys < count:  # keys are counted by their hash: duplicates() compares the values themselves
        if not by_row:
            raise _NeedsRows
        duplicates(name, con, KEY, columns, Rejections(), what)
    if repeats:
        first_repeats = con.execute(f"SELECT unnest(_rows[2:]) AS r, _first FROM firsts WHERE _copies > 1 "
                                    f"ORDER BY r LIMIT {EXAMPLES}").fetchall()
        rejections.add(f"an exact repeat of an earlier row (each {what} was counted once)", int(repeats),
                       [Example(int(r), extra=f"repeats row {first}") for r, first in first_repeats],
                       "Check the totals against the publisher's own summary if this is unexpected.")
    if unknown:
        first_unknown = con.execute(f"SELECT _first, GP_CODE FROM firsts WHERE NOT {_KNOWN} ORDER BY 1 LIMIT {EXAMPLES}"
                                    ).fetchall()
        rejections.add("practice code not in any imported map", int(unknown),
                       [Example(int(r), None if v is None else str(v), "GP_CODE") for r, v in first_unknown],
                       "Import a practice-to-PCN map or ePCN workbook that lists these practices to load them.")
    return summary["found"]


def _unrecognised(con, found: dict[str, list[str]], notes: list[str]) -> None:
    """Labels the importer does not know are counted in totals but in no numerator or known-value denominator."""
    checks = [
        ("interval", _labels(KNOWN_INTERVALS) + _labels(UNKNOWN_INTERVAL)),
        ("mode", _labels(KNOWN_MODES) + ["unknown"]),
        ("staff", _labels(KNOWN_STAFF) + ["unknown"]),
        ("status", _labels(KNOWN_STATUS) + ["unknown"]),
    ]
    for dimension, known in checks:
        odd = [v for v in found[dimension] if label(v) != "" and label(v) not in known]
        if not odd:
            continue
        column = _DIMENSIONS[dimension]
        sums: dict[str, int] = {}
        for value, n in con.execute(
                f"SELECT coalesce({ident(column)}, '') AS v, sum({number_sql('COUNT_OF_APPOINTMENTS')}) FROM d "
                f"WHERE _known AND list_contains($odd, v) GROUP BY 1", {"odd": odd}).fetchall():
            sums[label(value)] = sums.get(label(value), 0) + int(n)
        listed = ", ".join(f"{shown(v)} ({n:,})" for v, n in sorted(sums.items(), key=lambda p: (-p[1], p[0]))[:5])
        notes.append(f"{column} has values the importer does not know: {listed}; they count in totals but as "
                     "unknown in the measures that leave unknowns out.")


def _practice_notes(con, notes: list[str]) -> dict:
    """What the report says about the practices' figures; returns the months, practice-months, appointments and
    rows loaded."""
    facts = dict(zip(
        ["blank", "split", "no_list", "no_list_first", "extracts", "unallocated", "unallocated_first", "months",
         "practice_months", "total", "loaded"],
        con.execute(f"""
            SELECT sum(blank_status), count(*) FILTER (WHERE pcn_codes > 1),
                   count(*) FILTER (WHERE registered_patients IS NULL),
                   (list(practice ORDER BY month, practice) FILTER (WHERE registered_patients IS NULL))[:{EXAMPLES}],
                   list(DISTINCT extract_date ORDER BY extract_date) FILTER (WHERE extract_date IS NOT NULL),
                   count(DISTINCT practice) FILTER (WHERE pcn IS NULL OR pcn = $u),
                   list(practice ORDER BY month, practice) FILTER (WHERE pcn IS NULL OR pcn = $u),
                   list(DISTINCT month), count(*), sum(total), sum(_rows)
            FROM practices
        """, {"u": UNALLOCATED}).fetchall()[0]))
    if facts["blank"]:
        notes.append(f"{int(facts['blank']):,} appointments have a blank APPT_STATUS, read as Unknown (left out of the "
                     "DNA rate).")
    if facts["split"]:
        notes.append(f"{facts['split']:,} practices are listed under more than one PCN_CODE in a month; each row counts "
                     "towards the PCN it names.")
    # Denominator of the per-1,000 rate: each practice's list size at the extract nearest the month.
    if facts["no_list"]:
        notes.append(f"{facts['no_list']:,} practices have no list size at any imported extract (for example "
                     f"{', '.join(map(shorten, facts['no_list_first']))}); their appointments per 1,000 is recorded "
                     "empty (NULL). Import the list sizes (gp-reg-pat-prac-all.csv) that include them.")
    if facts["extracts"]:
        notes.append(f"appointments per 1,000 divide by list sizes from the extract of "
                     f"{', '.join(f'{d:%d %b %Y}' for d in facts['extracts'])}.")
    # PCN figures: the sum over the practice rows the file gives for each PCN_CODE (not the unallocated U).
    if facts["unallocated"]:
        first = list(dict.fromkeys(facts["unallocated_first"]))[:5]
        notes.append(f"{facts['unallocated']:,} practices have PCN_CODE {UNALLOCATED} or none "
                     f"({', '.join(map(shorten, first))}): practice values only, in no PCN total.")
    return facts


def _observations(con) -> pa.Table:
    """Each practice's observation of every measure a month, the value as the catalogue computes it (numerator ÷
    denominator × multiplier, empty where there is nothing to divide by), and its mapped-category share."""
    catalogue = measures_catalogue()
    parts = []
    for measure_id, (num, den) in [*MEASURES.items(), (CATEGORY_MAPPED, ("category_mapped", "total"))]:
        if measure_id == CATEGORY_MAPPED:
            version, multiplier = 1, 100.0
        else:
            measure = catalogue.get(measure_id)
            assert measure.type != "count", measure_id  # every appointments measure divides
            version, multiplier = measure.version, float(measure.multiplier)
        parts.append(f"SELECT '{measure_id}' AS measure_id, {int(version)} AS measure_version, practice AS org_code, "
                     f"month AS period_start, CAST({num} AS DOUBLE) AS numerator, CAST({den} AS DOUBLE) AS denominator, "
                     f"{multiplier!r} AS multiplier, {len(parts)} AS _measure FROM practices")
    return con.sql(f"""
        SELECT measure_id, measure_version, org_code, 'practice' AS org_level, period_start,
               last_day(period_start) AS period_end, numerator, denominator,
               {value_sql("numerator", "denominator", "multiplier")} AS value, 'published' AS basis
        FROM ({" UNION ALL ".join(parts)}) ORDER BY _measure, period_start, org_code
    """).to_arrow_table().select(OBSERVATION_COLUMNS)


def _pcn_contributions(con, notes) -> tuple[pa.Table, int]:
    """What each practice's rows naming each PCN add to that PCN's totals (not the unallocated U, nor a PCN in no
    imported map), one row per measure, PCN, month and practice (totals.CONTRIBUTION_COLUMNS). The per-1,000 rate's
    denominator is the practice's list size, empty where it has none (totals.py leaves such practices out of the
    rate, numerator and denominator alike). Returns them with the number of PCN-months."""
    con.execute("""
        CREATE TABLE contributed AS
        SELECT p.*, l.registered_patients FROM pp p LEFT JOIN nearest l USING (month, practice)
        WHERE p.pcn IS NOT NULL AND p.pcn <> $u AND p.pcn IN (SELECT org_code FROM known_pcns)
    """, {"u": UNALLOCATED})
    unknown, partial, pcn_months = con.execute("""
        SELECT (SELECT list(pcn ORDER BY pcn) FROM (SELECT DISTINCT pcn FROM pp WHERE pcn IS NOT NULL AND pcn <> $u
                                                    AND pcn NOT IN (SELECT org_code FROM known_pcns))),
               (SELECT list(pcn ORDER BY month, pcn) FROM (SELECT month, pcn FROM contributed GROUP BY month, pcn
                                                           HAVING count(registered_patients) < count(*))),
               (SELECT count(*) FROM (SELECT DISTINCT month, pcn FROM contributed))
    """, {"u": UNALLOCATED}).fetchall()[0]
    if unknown:
        notes.append(f"{len(unknown):,} PCN codes are in no imported map ({', '.join(shorten(r) for r in unknown[:5])}); "
                     "their practices load, but no PCN total is written for them.")
    partial = list(dict.fromkeys(partial or []))
    if partial:
        notes.append(f"{len(partial):,} PCNs have practices without a list size ({', '.join(map(shorten, partial[:5]))}); "
                     "their appointments per 1,000 covers the practices that have one.")
    pcn_months = int(pcn_months)
    parts = " UNION ALL ".join(
        f"SELECT '{measure_id}' AS measure_id, pcn AS org_code, practice AS practice_code, month AS period_start, "
        f"last_day(month) AS period_end, CAST({num} AS DOUBLE) AS numerator, CAST({den} AS DOUBLE) AS denominator, "
        f"{index} AS _measure FROM contributed"
        for index, (measure_id, (num, den)) in enumerate(MEASURES.items()))
    frame = con.sql(f"SELECT * FROM ({parts}) ORDER BY _measure, period_start, org_code, practice_code")
    return frame.to_arrow_table().select(CONTRIBUTION_COLUMNS), pcn_months
