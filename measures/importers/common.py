"""Shared pieces of the importers: the user-facing error, rejected-row reports, CSV reading and value checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import duckdb
import numpy as np
import pandas as pd

from ..catalogue import CATALOGUE_DIR, Catalogue, compute_values, default_catalogue, parse_measure

EXAMPLES = 5  # rejected or faulty rows quoted in a message
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class PublicationError(ValueError):
    """A file that cannot be imported. Its text is written for the person running the import:
    it names the file, the row and column where that helps, and what to do. Nothing was imported."""


def canonical(name: object) -> str:
    """A column name as the importers compare it: no BOM, one space for any run of spaces or line breaks, upper case."""
    text = "" if name is None else str(name)
    return re.sub(r"\s+", " ", text.replace("\ufeff", "")).strip().upper()


def label(value: object) -> str:
    """A published category label as compared: trimmed, runs of spaces collapsed, lower case ('8  to 14 Days')."""
    return re.sub(r"\s+", " ", str(value or "")).strip().lower()


def memory_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for parsing; it never touches the store file (and draws no progress bar)."""
    con = duckdb.connect(":memory:", config=_CONFIG)
    con.execute("SET enable_progress_bar = false")
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
                 f"{self.column} {self.value!r}" if self.column else (repr(self.value) if self.value is not None else None),
                 self.extra]
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
    names and `_row` the row number as a spreadsheet shows it (header = row 1). Returns the data rows."""
    header = [canonical(h) or f"COLUMN_{i + 1}" for i, h in enumerate(source.header)]
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
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    if rows == 0:
        raise PublicationError(f"{source.name}: has a header (row 1) but no data rows. The download may have been cut "
                               "short: download the file again. Nothing was imported.")
    return rows


def _csv_problem(name: str, message: str, columns: int) -> str:
    line = re.search(r"Line:\s*(\d+)", message)
    found = re.search(r"Found:\s*(\d+)", message)
    original = re.search(r"Original Line:\s*(.*)", message)
    if line and found:
        shown = original.group(1).strip()[:120] if original else ""
        return (f"{name}: row {int(line.group(1)):,} has {found.group(1)} values but the header (row 1) has {columns} "
                f"columns{f' ({shown!r})' if shown else ''}. The file may be cut short or damaged, or a value holds an "
                "unquoted comma: download the file again. Nothing was imported.")
    first = message.strip().splitlines()[0] if message.strip() else "unreadable"
    return f"{name}: could not be read as a CSV file ({first}). Download the file again. Nothing was imported."


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
    value = "an empty cell" if first.value is None else repr(first.value)
    others = ""
    if count > 1:
        rows = ", ".join(f"{e.row:,}" for e in found[1:])
        others = (f" {count - 1:,} more row{'s' if count > 2 else ''} like this "
                  f"({'rows' if count > 2 else 'row'} {rows}{', …' if count > len(found) else ''}).")
    raise PublicationError(f"{name}: row {first.row:,}, column {column}: {value} {problem}.{others} "
                           f"Nothing was imported from this file. {advice}")


def require_values(name: str, con, columns: list[str], advice: str, table: str = "raw") -> None:
    for column in columns:
        stop_on_rows(name, con, f'SELECT _row, "{column}" FROM {table} WHERE trim(coalesce("{column}", \'\')) = \'\'',
                     [], column, "is missing: every row needs a value here", advice)


def check_counts(name: str, con, column: str, what: str, advice: str, whole: bool = True, table: str = "raw") -> None:
    """Counts must be numbers, whole where `whole`, and not negative; the first faulty row stops the import."""
    cleaned = f"replace(trim(\"{column}\"), ',', '')"
    stop_on_rows(name, con, f'SELECT _row, "{column}" FROM {table} WHERE TRY_CAST({cleaned} AS DOUBLE) IS NULL',
                 [], column, f"is not a number ({what})", advice)
    if whole:
        stop_on_rows(name, con,
                     f'SELECT _row, "{column}" FROM {table} WHERE TRY_CAST({cleaned} AS DOUBLE) <> '
                     f'round(TRY_CAST({cleaned} AS DOUBLE))', [], column, f"is not a whole number ({what})", advice)
    stop_on_rows(name, con, f'SELECT _row, "{column}" FROM {table} WHERE TRY_CAST({cleaned} AS DOUBLE) < 0',
                 [], column, f"is negative ({what} cannot be below zero)", advice)


def number_sql(column: str, whole: bool = True) -> str:
    """SQL turning a checked count column into a number."""
    cleaned = f"replace(trim(\"{column}\"), ',', '')"
    return f"CAST(round(CAST({cleaned} AS DOUBLE)) AS BIGINT)" if whole else f"CAST({cleaned} AS DOUBLE)"


DATE_FORMATS = ["%d%b%Y", "%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d-%b-%Y", "%d-%m-%Y"]


def single_date(name: str, con, column: str, advice: str, table: str = "raw") -> date:
    """The one date a file is for (an extract or achievement date); every row must agree."""
    stop_on_rows(name, con,
                 f'SELECT _row, "{column}" FROM {table} WHERE try_strptime(trim("{column}"), $formats) IS NULL',
                 {"formats": DATE_FORMATS}, column, "is not a date the importer knows (such as 01Jul2026, 2025-12-01 or "
                 "31/03/2024)", advice)
    dates = con.execute(f'SELECT DISTINCT CAST(try_strptime(trim("{column}"), $formats) AS DATE) AS d FROM {table} ORDER BY d',
                        {"formats": DATE_FORMATS}).fetchall()
    if len(dates) > 1:
        rows = con.execute(
            f'SELECT min(_row), "{column}" FROM {table} GROUP BY 2 ORDER BY 1 LIMIT 3').fetchall()
        shown = ", ".join(f"{v!r} (row {r:,})" for r, v in rows)
        raise PublicationError(f"{name}: column {column} holds {len(dates)} different dates ({shown}); a published file "
                               "is for one date. Import each published file as it was downloaded. Nothing was imported.")
    return dates[0][0]


def duplicates(name: str, con, key: list[str], columns: list[str], rejections: Rejections, what: str,
               table: str = "raw") -> str:
    """Find repeated rows. Rows that repeat an earlier row exactly are rejected (the first copy is kept) and reported;
    rows that repeat a key with different values stop the import. Returns SQL for the rows to keep."""
    key_sql = ", ".join(f'"{c}"' for c in key)
    all_sql = ", ".join(f'"{c}"' for c in dict.fromkeys([*columns, *key]))
    # One row per distinct row (with the rows that repeat it), then keys that still repeat are conflicts.
    con.execute(f"CREATE OR REPLACE TEMP TABLE _distinct AS SELECT min(_row) AS _first, list(_row ORDER BY _row) AS _rows, "
                f"{all_sql} FROM {table} GROUP BY ALL")
    conflicts = con.execute(
        f"SELECT {key_sql}, list(_first ORDER BY _first)[:3] AS rows_ FROM _distinct GROUP BY ALL "
        f"HAVING count(*) > 1 ORDER BY rows_[1] LIMIT 1").fetchall()
    if conflicts:
        first = conflicts[0]
        rows = first[len(key)]
        keytext = ", ".join(f"{c} {v!r}" for c, v in zip(key, first[: len(key)]) if not c.startswith("_"))
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
    sql = (f'SELECT _row, "{code_column}" FROM {table} WHERE {keep_sql} AND "{code_column}" NOT IN '
           f"(SELECT org_code FROM {known_table})")
    count, found = examples(con, sql)
    for example in found:
        example.column = code_column
    rejections.add(reason, count, found, advice)
    return f'"{code_column}" IN (SELECT org_code FROM {known_table})'


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
