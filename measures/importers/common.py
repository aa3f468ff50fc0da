"""Shared pieces of the importers: the user-facing error, rejected-row reports, CSV reading and value checks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from .. import limits
from ..catalogue import CATALOGUE_DIR, Catalogue, compute_values, default_catalogue, parse_measure
from ..text import SHOWN_CHARS, shorten, shown  # noqa: F401  (the importers' names for them)

EXAMPLES = 5  # rejected or faulty rows quoted in a message
SAFE_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,62}")
HEADER_TEXT = re.compile(r"[A-Za-z0-9_ ]*")  # every published CSV header: letters, digits, underscores, spaces
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class PublicationError(ValueError):
    """A file that cannot be imported. Its text is written for the person running the import:
    it names the file, the row and column where that helps, and what to do. Nothing was imported."""


def canonical(name: object) -> str:
    """A column name as the importers compare it: no BOM, one space for any run of spaces or line breaks, upper case."""
    text = "" if name is None else str(name)
    return re.sub(r"\s+", " ", text.replace("\ufeff", "")).strip().upper()


def ident(name: str) -> str:
    """A column or table name as a quoted SQL identifier (any double quote inside doubled), for names in SQL text."""
    return '"' + str(name).replace('"', '""') + '"'


def label(value: object) -> str:
    """A published category label as compared: trimmed, runs of spaces collapsed, lower case ('8  to 14 Days')."""
    return re.sub(r"\s+", " ", str(value or "")).strip().lower()


def memory_connection(store=None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for parsing (drawing no progress bar). With `store`, the store may be attached to it
    even once parsing has cut it off from every other file, so that it also reads and writes the store."""
    con = duckdb.connect(":memory:", config=_CONFIG)
    con.execute("SET enable_progress_bar = false")
    if store is not None:
        store.allow_store_paths(con)
    return con


# ------------------------------------------------------------------------------------------------
# Reports


@dataclass
class Example:
    row: int | None
    value: str | None = None
    column: str | None = None
    extra: str | None = None

    def text(self) -> str:
        parts = [f"row {self.row:,}" if self.row is not None else None,
                 f"{shorten(self.column)} {shown(self.value)}" if self.column
                 else (shown(self.value) if self.value is not None else None),
                 shorten(self.extra) if self.extra is not None else None]
        return " ".join(p for p in parts if p)


@dataclass
class RejectedGroup:
    reason: str
    count: int
    examples: list[Example]
    advice: str = ""


@dataclass
class Rejections:
    """Rows left out of an import, grouped by reason, each with a count and the first few row numbers."""

    groups: list[RejectedGroup] = field(default_factory=list)

    def add(self, reason: str, count: int, examples: list[Example], advice: str = "") -> None:
        if count:
            self.groups.append(RejectedGroup(reason, int(count), examples[:EXAMPLES], advice))

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)

    def lines(self) -> list[str]:
        out = []
        for group in self.groups:
            shown = "; ".join(e.text() for e in group.examples)
            more = f" (first {len(group.examples)}: {shown})" if shown else ""
            out.append(f"rejected {group.count:,} row{'s' if group.count != 1 else ''}: {group.reason}{more}."
                       + (f" {group.advice}" if group.advice else ""))
        return out


# ------------------------------------------------------------------------------------------------
# Reading a CSV into the in-memory connection


def read_csv_table(con: duckdb.DuckDBPyConnection, source, table: str = "raw") -> int:
    """Read a published CSV into `table` with every value as text, columns renamed to their canonical
    names and `_row` the row number as a spreadsheet shows it (header = row 1). Returns the data rows.

    A header holding anything but letters, digits, underscores and spaces (a quote, a semicolon, a line break) is
    refused: published headers never do. One that is not a plain name (with a space, say) becomes COLUMN_<position>:
    no importer reads such a column by name, and so no text from the file is ever part of an SQL statement. Once the
    file is read, the connection loses access to files altogether (no COPY, ATTACH or read_csv of anything else)."""
    _check_header(source)
    header = [name if SAFE_NAME.fullmatch(name := canonical(h)) else f"COLUMN_{i + 1}"
              for i, h in enumerate(source.header)]
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen:
            seen[name] += 1
            header[i] = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
    columns = {name: "VARCHAR" for name in header}
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT row_number() OVER () + 1 AS _row, * FROM read_csv(?, "
            "header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
            "columns = ?)",
            [str(source.path), columns],
        )
    except duckdb.Error as exc:
        raise PublicationError(_csv_problem(source.name, str(exc), len(header))) from None
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    for line in getattr(source, "blank_lines", []):  # ascending: each shift leaves earlier rows' numbers right
        con.execute(f"UPDATE {table} SET _row = _row + 1 WHERE _row >= ?", [line])
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    if rows == 0:
        raise PublicationError(f"{source.name}: has a header (row 1) but no data rows. The download may have been cut "
                               "short: download the file again. Nothing was imported.")
    _check_cell_lengths(source, con, header, table)
    return rows


def read_practice_csv(source, context, publication: str, needed: Sequence[str] = (),
                      advice: str = "") -> tuple[duckdb.DuckDBPyConnection, int]:
    """How an importer of per-practice rows opens its file: refused before it is read while the store holds no
    practices (`publication` names the rows in that message), read into `raw` with its header checked
    (read_csv_table), then stopped at the first empty cell of a `needed` column. Returns the connection and the
    number of data rows."""
    context.require_practices(source.name, publication)
    con = context.connection()  # the DuckDB the store is read and written through too
    rows = read_csv_table(con, source)
    require_values(source.name, con, list(needed), advice)
    return con, rows


def _check_header(source) -> None:
    for position, cell in enumerate(source.header, start=1):
        text = str(cell).replace("\ufeff", "").strip(" \t")
        if not HEADER_TEXT.fullmatch(text):
            odd = next(c for c in text if not HEADER_TEXT.fullmatch(c))
            raise PublicationError(
                f"{source.name}: row 1 (the header), column {position}: {shown(cell)} is not a column name of a "
                f"published file: it holds {_character(odd)}, and published headers hold only letters, digits, "
                "underscores and spaces. The file is damaged or has been edited: download it again. "
                "Nothing was imported.")


def _character(char: str) -> str:
    names = {'"': "a double quote", "'": "a single quote", ";": "a semicolon", "\n": "a line break",
             "\r": "a line break", "\t": "a tab"}
    return names.get(char, f"the character {char!r}")


def _check_cell_lengths(source, con, header: list[str], table: str) -> None:
    """Refuse a file with a cell longer than any published value could be (PCN_MAX_CELL_CHARS)."""
    limit = limit_value(source.name, limits.max_cell_chars)
    too_long = " OR ".join(f"length({ident(c)}) > {limit}" for c in header)
    first = con.execute(f"SELECT _row, [{', '.join(f'length({ident(c)})' for c in header)}] FROM {table} "
                        f"WHERE {too_long} ORDER BY _row LIMIT 1").fetchall()
    if not first:
        return
    row, lengths = first[0]
    index = next(i for i, n in enumerate(lengths) if n is not None and n > limit)
    raise PublicationError(
        f"{source.name}: row {row:,}, column {shorten(canonical(source.header[index]) or index + 1)}: holds "
        f"{lengths[index]:,} characters; the most accepted in one cell is {limit:,} (set by {limits.CELL_CHARS_VAR}). "
        "No published value is that long: the file is damaged or not a published file. Download it again. "
        "Nothing was imported.")


def limit_value(name: str, setting):
    """A limit's value; a limit set wrongly in the environment is a message, not a traceback."""
    try:
        return setting()
    except limits.LimitExceeded as exc:
        raise PublicationError(f"{name}: cannot be checked: {exc}. Nothing was imported.") from None


def _csv_problem(name: str, message: str, columns: int) -> str:
    """DuckDB's error about a CSV file, as a message naming the file and row (DuckDB's "Line" counts the header)."""
    line = re.search(r"Line:\s*(\d+)", message)
    found = re.search(r"Found:\s*(\d+)", message)
    original = re.search(r"Original Line:\s*\n?(.*)", message)
    where = f"row {int(line.group(1)):,}" if line else "a row"
    start = shorten(original.group(1).strip(), 80) if original and original.group(1).strip() else ""
    quoted = f" (it starts {start!r})" if start else ""
    if line and found:
        return (f"{name}: row {int(line.group(1)):,} has {found.group(1)} values but the header (row 1) has {columns} "
                f"columns{quoted}. The file may be cut short or damaged, or a value holds an unquoted comma: "
                "download the file again. Nothing was imported.")
    if "unterminated quote" in message or "quoted value" in message.lower():
        return (f"{name}: {where} has a value that opens a double quote (\") and never closes it{quoted}. The file is "
                "damaged or was edited by hand: download the file again. Nothing was imported.")
    if "maximum line size" in message.lower():
        return (f"{name}: {where} is longer than any row of a published file (over 2 MB){quoted}. The file is damaged or "
                "not a published file: download it again. Nothing was imported.")
    first = shorten(message.strip().splitlines()[0], 120) if message.strip() else "unreadable"
    return (f"{name}: {where} could not be read as CSV ({first}). Download the file again. Nothing was imported."
            if line else f"{name}: could not be read as a CSV file ({first}). Download the file again. "
                         "Nothing was imported.")


# ------------------------------------------------------------------------------------------------
# Checks that stop an import (a file that is wrong as a whole) and checks that reject rows


def examples(con, sql: str, params=None) -> tuple[int, list[Example]]:
    """Run `sql` (selecting _row and value from the offending rows) and return (count, first examples)."""
    params = params or []
    count = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0]
    rows = con.execute(f"SELECT * FROM ({sql}) ORDER BY 1 LIMIT {EXAMPLES}", params).fetchall()
    return count, [Example(int(r[0]), None if len(r) < 2 or r[1] is None else str(r[1])) for r in rows]


def stop_on_rows(name: str, con, sql: str, params, column: str, problem: str, advice: str) -> None:
    """Raise a PublicationError if `sql` (selecting _row, value) finds any row: a faulty value in a column."""
    count, found = examples(con, sql, params)
    if not count:
        return
    first = found[0]
    value = "an empty cell" if first.value is None else shown(first.value)
    others = ""
    if count > 1:
        rows = ", ".join(f"{e.row:,}" for e in found[1:])
        others = (f" {count - 1:,} more row{'s' if count > 2 else ''} like this "
                  f"({'rows' if count > 2 else 'row'} {rows}{', …' if count > len(found) else ''}).")
    raise PublicationError(f"{name}: row {first.row:,}, column {shorten(column)}: {value} {problem}.{others} "
                           f"Nothing was imported from this file. {advice}")


def require_values(name: str, con, columns: list[str], advice: str, table: str = "raw") -> None:
    for column in columns:
        stop_on_rows(name, con, f"SELECT _row, {ident(column)} FROM {table} WHERE trim(coalesce({ident(column)}, '')) = ''",
                     [], column, "is missing: every row needs a value here", advice)


# Digits with an optional sign and decimal point, after thousands commas are removed: not NaN, infinity, 1e400 or
# 0x10, which a cast to DOUBLE would take.
NUMBER_PATTERN = r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)"


def _cleaned(column: str) -> str:
    return f"replace(trim({ident(column)}), ',', '')"


def check_counts(name: str, con, column: str, what: str, advice: str, whole: bool = True, table: str = "raw",
                 maximum: float | None = None, limit: str | None = None) -> None:
    """Counts must be numbers written in digits, whole where `whole`, not negative and at most `maximum` (by default
    PCN_MAX_COUNT; `limit` says where the maximum comes from); the first faulty row stops the import."""
    if maximum is None:
        maximum = limit_value(name, limits.max_count)
        limit = f"the most accepted for one row (set by {limits.COUNT_VAR})"
    number = f"TRY_CAST({_cleaned(column)} AS DOUBLE)"
    select = f"SELECT _row, {ident(column)} FROM {table} WHERE"
    stop_on_rows(name, con, f"{select} NOT regexp_full_match(coalesce({_cleaned(column)}, ''), $pattern)",
                 {"pattern": NUMBER_PATTERN}, column,
                 f"is not a number written in digits ({what}; NaN, infinity and exponents are not accepted)", advice)
    if whole:
        stop_on_rows(name, con, f"{select} {number} <> round({number})", [], column,
                     f"is not a whole number ({what})", advice)
    stop_on_rows(name, con, f"{select} {number} < 0", [], column, f"is negative ({what} cannot be below zero)", advice)
    stop_on_rows(name, con, f"{select} {number} > $maximum", {"maximum": float(maximum)}, column,
                 f"is more than {_number(maximum)} ({what}), {limit}. No published row holds so many: check the file",
                 advice)


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def check_range(name: str, con, column: str, low: float, high: float, problem: str, advice: str,
                table: str = "raw") -> None:
    """Stop on the first row whose (already checked) number in `column` is outside low..high; `problem` says why."""
    stop_on_rows(name, con, f"SELECT _row, {ident(column)} FROM {table} WHERE TRY_CAST({_cleaned(column)} AS DOUBLE) "
                            "NOT BETWEEN $low AND $high", {"low": low, "high": high}, column, problem, advice)


def number_sql(column: str, whole: bool = True) -> str:
    """SQL turning a checked count column into a number."""
    cleaned = _cleaned(column)
    return f"CAST(round(CAST({cleaned} AS DOUBLE)) AS BIGINT)" if whole else f"CAST({cleaned} AS DOUBLE)"


DATE_FORMATS = ["%d%b%Y", "%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d-%b-%Y", "%d-%m-%Y"]


def not_in_future(name: str, con, sql_date: str, column: str, advice: str, params: dict | None = None,
                  table: str = "raw") -> None:
    """Stop on the first row whose date (`sql_date`, an SQL expression over checked columns) is after today: no
    published file is for a day that has not come yet."""
    today = date.today()
    stop_on_rows(name, con, f"SELECT _row, {ident(column)} FROM {table} WHERE {sql_date} > $today",
                 {**(params or {}), "today": today}, column,
                 f"is after today ({today:%d %b %Y}); a published file is never dated in the future", advice)


def month_ended(name: str, con, sql_date: str, column: str, advice: str, params: dict | None = None,
                table: str = "raw") -> None:
    """Stop on the first row whose month (`sql_date` is any day of it) has not ended: a monthly publication counts
    a month, or takes a census of it, only once the month is over, so this month's figures would be partial."""
    today = date.today()
    stop_on_rows(name, con, f"SELECT _row, {ident(column)} FROM {table} WHERE {sql_date} >= $this_month",
                 {**(params or {}), "this_month": today.replace(day=1)}, column,
                 f"is a month that has not ended yet (today is {today:%d %b %Y}); a published file is only for "
                 "months that are over", advice)


def months_over(name: str, con, column: str, sql_date: str, formats: list[str], problem: str, advice: str) -> None:
    """A column of months written as text: stop on the first row that is not one of `formats` (`problem` says so),
    then on a month after today, then on a month not yet over (`sql_date` parses the column with `$formats`)."""
    stop_on_rows(name, con, f"SELECT _row, {ident(column)} FROM raw "
                            f"WHERE try_strptime(trim({ident(column)}), $formats) IS NULL",
                 {"formats": formats}, column, problem, advice)
    not_in_future(name, con, sql_date, column, advice, {"formats": formats})
    month_ended(name, con, sql_date, column, advice, {"formats": formats})


def single_date(name: str, con, column: str, advice: str, table: str = "raw") -> date:
    """The one date a file is for (an extract or achievement date), not after today; every row must agree."""
    parsed = f"CAST(try_strptime(trim({ident(column)}), $formats) AS DATE)"
    stop_on_rows(name, con, f"SELECT _row, {ident(column)} FROM {table} WHERE {parsed} IS NULL",
                 {"formats": DATE_FORMATS}, column, "is not a date the importer knows (such as 01Jul2026, 2025-12-01 or "
                 "31/03/2024)", advice)
    not_in_future(name, con, parsed, column, advice, {"formats": DATE_FORMATS}, table)
    dates = con.execute(f"SELECT DISTINCT {parsed} AS d FROM {table} ORDER BY d", {"formats": DATE_FORMATS}).fetchall()
    if len(dates) > 1:
        rows = con.execute(
            f"SELECT min(_row), {ident(column)} FROM {table} GROUP BY 2 ORDER BY 1 LIMIT 3").fetchall()
        listed = ", ".join(f"{shown(v)} (row {r:,})" for r, v in rows)
        raise PublicationError(f"{name}: column {column} holds {len(dates)} different dates ({listed}); a published file "
                               "is for one date. Import each published file as it was downloaded. Nothing was imported.")
    return dates[0][0]


def duplicates(name: str, con, key: list[str], columns: list[str], rejections: Rejections, what: str,
               table: str = "raw") -> str:
    """Find repeated rows. Rows that repeat an earlier row exactly are rejected (the first copy is kept) and reported;
    rows that repeat a key with different values stop the import. Returns SQL for the rows to keep."""
    key_sql = ", ".join(ident(c) for c in key)
    all_sql = ", ".join(ident(c) for c in dict.fromkeys([*columns, *key]))
    # One row per distinct row (with the rows that repeat it), then keys that still repeat are conflicts.
    con.execute(f"CREATE OR REPLACE TEMP TABLE _distinct AS SELECT min(_row) AS _first, list(_row ORDER BY _row) AS _rows, "
                f"{all_sql} FROM {table} GROUP BY ALL")
    conflicts = con.execute(
        f"SELECT {key_sql}, list(_first ORDER BY _first)[:3] AS rows_ FROM _distinct GROUP BY ALL "
        f"HAVING count(*) > 1 ORDER BY rows_[1] LIMIT 1").fetchall()
    if conflicts:
        first = conflicts[0]
        rows = first[len(key)]
        keytext = ", ".join(f"{c} {shown(v)}" for c, v in zip(key, first[: len(key)]) if not c.startswith("_"))
        raise PublicationError(
            f"{name}: rows {', '.join(f'{r:,}' for r in rows)} are for the same {what} ({keytext}) but hold different "
            "values, so the importer cannot tell which is right. Download the file again; if the publisher's file "
            "really says this, report it to them. Nothing was imported.")
    con.execute("CREATE OR REPLACE TEMP TABLE _dups AS SELECT unnest(_rows) AS _row, _first FROM _distinct "
                "WHERE len(_rows) > 1")
    count, found = examples(con, "SELECT _row, 'repeats row ' || _first FROM _dups WHERE _row <> _first")
    for example in found:
        example.extra, example.value = example.value, None
    rejections.add(f"an exact repeat of an earlier row (each {what} was counted once)", count, found,
                   "Check the totals against the publisher's own summary if this is unexpected.")
    con.execute("CREATE OR REPLACE TEMP TABLE _repeats AS SELECT _row FROM _dups WHERE _row <> _first")
    return "_row NOT IN (SELECT _row FROM _repeats)"


def reject_unknown(con, code_column: str, known_table: str, rejections: Rejections, reason: str, advice: str,
                   keep_sql: str = "TRUE", table: str = "raw") -> str:
    """Reject rows whose organisation code is not known to the store; returns SQL for the rows to keep."""
    sql = (f"SELECT _row, {ident(code_column)} FROM {table} WHERE {keep_sql} AND {ident(code_column)} NOT IN "
           f"(SELECT org_code FROM {known_table})")
    count, found = examples(con, sql)
    for example in found:
        example.column = code_column
    rejections.add(reason, count, found, advice)
    return f"{ident(code_column)} IN (SELECT org_code FROM {known_table})"


# ------------------------------------------------------------------------------------------------
# Periods and observations


def month_end(day: date) -> date:
    return (pd.Timestamp(day) + pd.offsets.MonthEnd(0)).date()


def financial_year_start(day: date) -> date:
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


class _MeasuresByFile:
    """The few catalogue measures an import needs, each read from its own file: a command-line import does not
    pay for parsing the whole catalogue. Once the whole catalogue is loaded in the process, it is used instead."""

    @staticmethod
    @lru_cache(maxsize=64)
    def get(measure_id: str):
        return parse_measure(CATALOGUE_DIR / f"{measure_id}.yaml")


def measures_catalogue():
    """The catalogue, or the measures of it that are asked for (see _MeasuresByFile)."""
    return default_catalogue() if default_catalogue.cache_info().currsize else _MeasuresByFile()


OBSERVATION_COLUMNS = ["measure_id", "measure_version", "org_code", "org_level", "period_start", "period_end",
                       "numerator", "denominator", "value", "basis"]


def select_columns(frame: pd.DataFrame | pa.Table, columns: list[str]) -> pd.DataFrame | pa.Table:
    """`columns` of a DataFrame or an Arrow table, in that order."""
    return frame.select(columns) if isinstance(frame, pa.Table) else frame[columns]


def with_import_id(frame: pd.DataFrame | pa.Table, import_id: int) -> pd.DataFrame | pa.Table:
    """A DataFrame or an Arrow table with an import_id column added."""
    if isinstance(frame, pa.Table):
        return frame.append_column("import_id", pa.array([int(import_id)] * len(frame), pa.int64()))
    return frame.assign(import_id=import_id)


def value_sql(numerator: str, denominator: str, multiplier: str) -> str:
    """`catalogue.compute_values` in SQL for a measure that is not a count: numerator ÷ denominator × multiplier,
    empty where the denominator is not above 0 (the arguments are SQL expressions)."""
    return f"CASE WHEN {denominator} > 0 THEN {numerator} / {denominator} * {multiplier} END"


def observations(measure_id: str, frame: pd.DataFrame, basis: str, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Rows for the observations table from a frame with org_code, org_level, period_start, period_end, numerator
    and (except for counts) denominator; the value follows the catalogue (numerator ÷ denominator × multiplier)."""
    measure = (catalogue if catalogue is not None else measures_catalogue()).get(measure_id)
    if frame.empty:
        return pd.DataFrame(columns=OBSERVATION_COLUMNS)
    numerator = frame["numerator"].astype("float64").to_numpy()
    if measure.type == "count":
        denominator = np.full(len(frame), np.nan)
    else:
        denominator = frame["denominator"].astype("float64").to_numpy()
    values = compute_values(measure, numerator, denominator)
    _refuse_overflow(measure, frame, numerator, denominator, values)
    return pd.DataFrame({
        "measure_id": measure.id,
        "measure_version": measure.version,
        "org_code": frame["org_code"].astype(str).to_numpy(),
        "org_level": frame["org_level"].astype(str).to_numpy(),
        "period_start": list(frame["period_start"]),
        "period_end": list(frame["period_end"]),
        "numerator": numerator,
        "denominator": denominator,
        "value": values,
        "basis": basis,
    })


def _refuse_overflow(measure, frame: pd.DataFrame, numerator, denominator, values) -> None:
    """A value that is infinite, or empty although its numerator and denominator are given, would be stored as no
    value at all: stop instead (the counts' limits keep published files far from this)."""
    given = np.isfinite(numerator) & (np.isfinite(denominator) & (denominator > 0) if measure.type != "count" else True)
    broken = np.isinf(numerator) | np.isinf(denominator) | np.isinf(values) | (given & np.isnan(values))
    if not broken.any():
        return
    index = int(np.flatnonzero(broken)[0])
    org, start = frame["org_code"].iloc[index], frame["period_start"].iloc[index]
    raise PublicationError(
        f"{measure.id} for {shorten(org)} from {start}: the value of {numerator[index]:g} ÷ {denominator[index]:g} "
        f"× {measure.multiplier:g} is too large to store ({int(broken.sum()):,} value{'s' if broken.sum() > 1 else ''} "
        "like this). The counts it is built from cannot be right: check the file. Nothing was imported.")
