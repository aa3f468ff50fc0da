"""Locally set measures: definitions made in the app, recorded values, templates, validation and the audit log."""

from __future__ import annotations

import csv
import io
import random
import re
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterable

import duckdb
import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from . import limits
from .text import shorten, shown
from .catalogue import FAMILIES, Catalogue, Measure, compute_values, default_catalogue, parse_measure
from .store import Store, finish_import, start_import

LOCAL_FAMILIES = ("local_integration", "practice_support")
FIRST_PERIOD = date(2019, 7, 1)  # PCNs began on 1 July 2019; nothing earlier can be recorded
GRID_SOURCE = "in-app grid"
LOCAL_PUBLICATION = "Locally recorded by the PCN"

# The template's columns, in order. On upload only REQUIRED_COLUMNS must be present; others are ignored.
TEMPLATE_COLUMNS = ["measure_id", "measure_version", "period_start", "period_end", "org_code", "org_name",
                    "numerator", "denominator"]
REQUIRED_COLUMNS = ("measure_id", "period_start", "org_code", "numerator", "denominator")

# Changing any of these changes what a value means, so it makes a new version of the measure.
MEANING_FIELDS = ("numerator", "denominator", "type", "level", "multiplier")

# A text cell starting with one of these is how a spreadsheet formula (or a CSV-injection payload) begins.
# `=` and `@` always mark a formula; `+` and `-` only when the cell is not a plain number, so -3 is a number.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Plain decimals in ASCII digits only: `\d` would take Arabic-Indic or full-width digits (and float() reads them),
# and an exponent (1e2) is not how anyone types a count; the importers refuse both too.
_NUMBER = re.compile(r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
_NOT_FINITE_WORDS = ("inf", "infinity", "nan")

# No PCN or practice records more than this in one period: the largest PCN serves about 200,000 patients and
# holds a few million pounds of ARRS money a year. A larger numerator or denominator is a typing slip (an extra
# digit run, 1e308) that would swamp every sum and chart it is added to.
MAX_RECORDED = 10_000_000
# Money may run higher: a currency measure's numerator is pounds paid, which for a large PCN can reach tens of
# millions over a year; a billion is beyond any PCN.
MAX_RECORDED_MONEY = 1_000_000_000
# A cell of a template column is a code, a date, a number or a practice name; nothing there is this long.
MAX_CELL_CHARACTERS = 1_000
# Cells quoted back in a message are cut to this many characters, so a pasted page does not make a page of report.
SHOWN_CHARACTERS = 60
MAX_PROBLEMS_LISTED = 50
# Spreadsheet shape: Excel's last row, and the columns read (the template has 8; notes may follow).
MAX_SHEET_ROWS = 1_048_576
MAX_SHEET_COLUMNS = 100


def max_upload_mb() -> float:
    """The largest file accepted, in MB (1 MB = 1,048,576 bytes): `PCN_MAX_UPLOAD_MB`, default 5. A value that is
    not a finite number above 0 raises `limits.LimitExceeded` naming the variable (it would switch the limit off)."""
    return limits.setting("PCN_MAX_UPLOAD_MB", 5.0)


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()[0][0] > 0


def _unregister(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop registered frames without hiding the error that ended the transaction (if any)."""
    for name in names:
        try:
            con.unregister(name)
        except duckdb.Error:
            pass


def _in_writer(store: Store, work):
    """Run `work(con)` in the store's all-or-nothing writer and return its result."""
    with store.writer() as con:
        return work(con)


def _retrying(action):
    """Run a write; retry when another session of this process committed a conflicting change first.

    Other processes are kept out by the file lock (the store's writer waits for it); sessions inside one
    process share the database and DuckDB refuses the later of two conflicting transactions instead.
    """
    for attempt in range(8):
        try:
            return action()
        except (duckdb.TransactionException, duckdb.ConstraintException, duckdb.CatalogException) as exc:
            # Both sessions deleting the held row ("Conflict on tuple deletion"), or both inserting a value
            # that did not exist yet ("duplicate key" at insert or commit): the later one starts again.
            # DuckDB 2.0 can also miss its pandas scan when two connections first register frames at once.
            text = str(exc).lower()
            if not ("conflict" in text or "duplicate key" in text or "pandas_scan" in text) or attempt == 7:
                raise
            time.sleep(0.02 * (attempt + 1) * (1 + random.random()))


# ---------------------------------------------------------------------------------------------
# Definitions


class DefinitionError(ValueError):
    """A measure definition that cannot be saved; `errors` maps each form field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


def _field_for_model_error(message: str) -> str:
    lowered = message.lower()
    if "denominator" in lowered:
        return "denominator"
    if "scope" in lowered:
        return "scope"
    if "threshold" in lowered:
        return "thresholds"
    return "form"


def measure_from_form(fields: dict) -> Measure:
    """Build a Measure from the Local measures form; raises DefinitionError with one message per failing field.

    Form fields: id, name, short_name, description, family, level, type, numerator, denominator, unit,
    multiplier, decimals, improvement_direction, frequency, fair_share, scope, status, tags (comma-separated),
    caveats (one per line), publication, publisher. Blank optional fields are left out.
    """
    def text(name: str) -> str:
        value = fields.get(name)
        return "" if value is None else str(value).strip()

    def optional(name: str) -> str | None:
        return text(name) or None

    raw: dict = {
        "id": text("id"),
        "version": int(fields.get("version") or 1),
        "name": text("name"),
        "short_name": optional("short_name"),
        "description": text("description"),
        "family": text("family"),
        "level": text("level"),
        "type": text("type"),
        "numerator": {"definition": text("numerator")},
        "denominator": {"definition": text("denominator")} if text("denominator") else None,
        "unit": text("unit"),
        "multiplier": fields.get("multiplier", 1),
        "decimals": fields.get("decimals", 1),
        "improvement_direction": text("improvement_direction"),
        "frequency": text("frequency") or "monthly",
        "fair_share": optional("fair_share"),
        "tags": [t.strip() for t in text("tags").split(",") if t.strip()],
        "source": {"publication": text("publication") or LOCAL_PUBLICATION, "publisher": optional("publisher")},
        "caveats": [line.strip() for line in text("caveats").splitlines() if line.strip()],
        "scope": text("scope"),
        "status": text("status") or "active",
    }
    raw = {k: v for k, v in raw.items() if v is not None}
    try:
        return Measure.model_validate(raw)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            location = [str(part) for part in error["loc"]]
            message = error["msg"].removeprefix("Value error, ")
            if not location:
                name = _field_for_model_error(message)
            elif location[0] == "source":
                name = "publication" if location[-1] == "publication" else "publisher"
            else:
                name = location[0]
            errors.setdefault(name, message)
        raise DefinitionError(errors) from None


def measure_yaml(measure: Measure, *, comment: str | None = None) -> str:
    """The measure as a catalogue YAML file (`<id>.yaml`), readable by `parse_measure`."""
    data = measure.model_dump(mode="json", exclude_none=True)
    data = {key: value for key, value in data.items() if value != []}
    for key in ("multiplier",):
        if float(data[key]).is_integer():
            data[key] = int(data[key])
    header = f"# {measure.id}.yaml: a locally set measure, version {measure.version}"
    if comment:
        header += f"\n# {comment}"
    return header + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _parse_stored(measure_id: str, text: str) -> Measure:
    return parse_measure(Path(f"{measure_id}.yaml"), text)


def _meaning(measure: Measure) -> tuple:
    return tuple(getattr(measure, name) for name in MEANING_FIELDS)


def _definitions(con) -> pd.DataFrame:
    if not _has_table(con, "local_measures"):
        return pd.DataFrame(columns=["revision", "measure_id", "version", "yaml", "scope", "family",
                                     "created_by", "created_at"])
    return con.execute("SELECT * FROM local_measures ORDER BY revision").df()


def _catalogue_in(con, pcn_code: str | None = None) -> Catalogue:
    builtin = default_catalogue()
    known = set(builtin.ids())
    rows = _definitions(con)
    measures = list(builtin)
    if not rows.empty:
        scopes = None
        if pcn_code:
            scopes = {"national", pcn_code, _icb_of(con, pcn_code)}
        latest = rows.groupby("measure_id", sort=False).tail(1)
        for row in latest.itertuples():
            if row.measure_id in known:
                continue  # a version-controlled file with the same id wins
            if scopes is not None and row.scope not in scopes:
                continue
            measures.append(_parse_stored(row.measure_id, row.yaml))
    measures.sort(key=lambda m: (FAMILIES.index(m.family), m.id))
    return Catalogue(tuple(measures))


def catalogue_with_local(store: Store, pcn_code: str | None = None) -> Catalogue:
    """The effective catalogue: the built-in YAML files plus the measures defined in the app (latest version).

    With a PCN code, measures defined in the app for another PCN or ICB are left out.
    """
    with store.reader() as con:
        return _catalogue_in(con, pcn_code)


def _versions_in(con) -> dict[str, dict[int, Measure]]:
    """Every readable version of every measure: built-in files (their current version) and app definitions."""
    builtin = default_catalogue()
    versions = {m.id: {m.version: m} for m in builtin}
    builtin_ids = set(builtin.ids())
    for row in _definitions(con).groupby(["measure_id", "version"], sort=False).tail(1).itertuples():
        if row.measure_id not in builtin_ids:
            versions.setdefault(row.measure_id, {})[int(row.version)] = _parse_stored(row.measure_id, row.yaml)
    return versions


def _app_ids(rows: pd.DataFrame) -> set[str]:
    return set(rows["measure_id"]) - set(default_catalogue().ids())


def measure_versions(store: Store, measure_id: str) -> dict[int, Measure]:
    """Every version of a measure that can still be read: {version: Measure}."""
    with store.reader() as con:
        return _versions_in(con).get(measure_id, {})


def definition_history(store: Store, measure_id: str) -> pd.DataFrame:
    """Every save of an app-defined measure: revision, version, who, when, and the YAML."""
    return store.query(
        "SELECT revision, version, created_by, created_at, scope, yaml FROM local_measures "
        "WHERE measure_id = ? ORDER BY revision", [measure_id])


def app_defined_ids(store: Store) -> list[str]:
    with store.reader() as con:
        return sorted(_app_ids(_definitions(con)))


@dataclass(frozen=True)
class Defined:
    measure: Measure
    outcome: str  # "new measure" | "new version" | "updated" | "unchanged"
    previous_version: int | None = None


def define_measure(store: Store, measure: Measure, actor: str, *, at: datetime | None = None) -> Defined:
    """Store a measure defined in the app; a changed numerator or denominator (or type, level, multiplier) makes a new version.

    The version in `measure` is ignored: it is 1 for a new measure, the same as the latest for a change that
    keeps the meaning, and one more for a change of meaning. Every save is kept (table local_measures).
    """
    if not (actor or "").strip():
        raise DefinitionError({"actor": "say who is making the change, so the log can show it"})
    if measure.family not in LOCAL_FAMILIES:
        raise DefinitionError({"family": "national DES measures come from NHS England's publications; "
                                         "define integration or practice-support measures here"})
    if measure.scope == "national":
        raise DefinitionError({"scope": "a measure defined in the app names the ICB or PCN that set it"})
    if measure.id in default_catalogue().ids():
        raise DefinitionError({"id": f"{measure.id!r} is a built-in measure (measures/catalogue/{measure.id}.yaml); "
                                     "change that file, which is version-controlled, or choose another id"})

    def write(con) -> Defined:
        row = con.execute("SELECT version, yaml FROM local_measures WHERE measure_id = ? "
                          "ORDER BY revision DESC LIMIT 1", [measure.id]).fetchall()
        row = row[0] if row else None
        if row is None:
            saved, outcome, previous = measure.model_copy(update={"version": 1}), "new measure", None
        else:
            previous = int(row[0])
            latest = _parse_stored(measure.id, row[1])
            if _meaning(latest) != _meaning(measure):
                saved, outcome = measure.model_copy(update={"version": previous + 1}), "new version"
            else:
                saved = measure.model_copy(update={"version": previous})
                outcome = "unchanged" if saved == latest else "updated"
        if outcome != "unchanged":
            when = at or _now()
            text = measure_yaml(saved, comment=f"defined in the PCN dashboard by {actor.strip()} on {when:%Y-%m-%d}")
            _parse_stored(saved.id, text)  # the stored file must load back exactly
            con.execute(
                "INSERT INTO local_measures VALUES (nextval('local_measure_rev_seq'), ?, ?, ?, ?, ?, ?, ?)",
                [saved.id, saved.version, text, saved.scope, saved.family, actor.strip(), when])
        return Defined(saved, outcome, previous)

    return _retrying(lambda: _in_writer(store, write))


def measure_form_defaults(measure: Measure) -> dict:
    """The form fields that reproduce a measure (the inverse of `measure_from_form`)."""
    return {
        "id": measure.id, "name": measure.name, "short_name": measure.short_name or "",
        "description": measure.description, "family": measure.family, "level": measure.level,
        "type": measure.type, "numerator": measure.numerator.definition,
        "denominator": measure.denominator.definition if measure.denominator else "",
        "unit": measure.unit, "multiplier": float(measure.multiplier), "decimals": measure.decimals,
        "improvement_direction": measure.improvement_direction, "frequency": measure.frequency,
        "fair_share": measure.fair_share or "", "scope": measure.scope, "status": measure.status,
        "tags": ", ".join(measure.tags), "caveats": "\n".join(measure.caveats),
        "publication": measure.source.publication, "publisher": measure.source.publisher or "",
    }


# ---------------------------------------------------------------------------------------------
# Organisations, scope and periods


def _icb_of(con, pcn_code: str) -> str | None:
    rows = con.execute(
        """
        SELECT mi.parent_code FROM memberships ms
        JOIN memberships mi ON mi.child_code = ms.parent_code AND mi.parent_level = 'icb' AND mi.end_date IS NULL
        WHERE ms.child_code = ? AND ms.parent_level = 'sub_icb' AND ms.end_date IS NULL
        """, [pcn_code]).fetchall()
    return rows[0][0] if rows else None


def applies_to(measure: Measure, pcn_code: str, icb_code: str | None) -> bool:
    """A measure applies to a PCN when it is national, or set by that PCN or by its ICB."""
    return measure.scope in ("national", pcn_code) or (icb_code is not None and measure.scope == icb_code)


def recordable_measures(store: Store, pcn_code: str) -> list[Measure]:
    """The locally set measures a PCN records: integration and practice-support measures in its scope, not retired."""
    with store.reader() as con:
        catalogue = _catalogue_in(con, pcn_code)
        icb = _icb_of(con, pcn_code)
    return [m for m in catalogue if m.family in LOCAL_FAMILIES and m.status != "retired" and applies_to(m, pcn_code, icb)]


def is_period_start(measure: Measure, day: date) -> bool:
    if day.day != 1:
        return False
    if measure.frequency == "quarterly":
        return day.month in (1, 4, 7, 10)
    if measure.frequency == "annual":
        return day.month == 4
    return True


def period_end(measure: Measure, start: date) -> date:
    months = _PERIOD_MONTHS[measure.frequency]
    return (pd.Timestamp(start) + pd.DateOffset(months=months) - pd.Timedelta(days=1)).date()


def _period_containing(measure: Measure, day: date) -> date:
    start = date(day.year, day.month, 1)
    while not is_period_start(measure, start):
        start = (pd.Timestamp(start) - pd.DateOffset(months=1)).date()
    return start


def recent_periods(measure: Measure, count: int = 12, today: date | None = None) -> list[date]:
    """The latest `count` periods that have ended by `today`, oldest first."""
    today = today or date.today()
    step = _PERIOD_MONTHS[measure.frequency]
    start = _period_containing(measure, today)
    while period_end(measure, start) >= today:
        start = (pd.Timestamp(start) - pd.DateOffset(months=step)).date()
    periods = []
    while len(periods) < count and start >= FIRST_PERIOD:
        periods.append(start)
        start = (pd.Timestamp(start) - pd.DateOffset(months=step)).date()
    return periods[::-1]


def _members(con, pcn_code: str, day: date) -> pd.DataFrame:
    return con.execute(
        """
        SELECT m.child_code AS org_code, o.name AS org_name
        FROM memberships m JOIN organisations o ON o.org_code = m.child_code
        WHERE m.parent_code = ? AND m.parent_level = 'pcn' AND m.child_level = 'practice'
          AND m.start_date <= ? AND (m.end_date IS NULL OR m.end_date >= ?)
        ORDER BY o.name, m.child_code
        """, [pcn_code, day, day]).df()


def _organisations_for(con, measure: Measure, pcn_code: str, day: date) -> pd.DataFrame:
    if measure.level == "practice":
        return _members(con, pcn_code, day)
    return con.execute("SELECT org_code, name AS org_name FROM organisations WHERE org_code = ?", [pcn_code]).df()


# ---------------------------------------------------------------------------------------------
# Templates and the grid


def _resolve(con, measure_id: str, version: int | None = None) -> Measure:
    versions = _versions_in(con).get(measure_id)
    if not versions:
        raise KeyError(f"no measure {measure_id!r} in the catalogue")
    return versions[version] if version is not None else versions[max(versions)]


def _current_values(con, measure: Measure, keys: pd.DataFrame) -> pd.DataFrame:
    """The value held now for each (org_code, period_start) in keys: recorded, or from any other source."""
    con.register("_keys", keys[["org_code", "period_start"]].assign(period_start=pd.to_datetime(keys["period_start"])))
    try:
        return con.execute(
            """
            SELECT k.org_code, CAST(k.period_start AS DATE) AS period_start, o.numerator, o.denominator
            FROM _keys k
            LEFT JOIN (
                SELECT * FROM observations WHERE measure_id = ? AND measure_version = ?
                QUALIFY row_number() OVER (PARTITION BY org_code, period_start ORDER BY import_id DESC) = 1
            ) o ON o.org_code = k.org_code AND o.period_start = CAST(k.period_start AS DATE)
            """, [measure.id, measure.version]).df()
    finally:
        _unregister(con, "_keys")


def template_frame(store: Store, measure_id: str, pcn_code: str, periods: Iterable[date]) -> pd.DataFrame:
    """The template's rows: one per organisation and period, prefilled with the values held now (blank where none).

    For a practice-level measure the organisations are the PCN's member practices at each period's start.
    """
    with store.reader() as con:
        measure = _resolve(con, measure_id)
        frames = []
        for start in sorted(periods):
            orgs = _organisations_for(con, measure, pcn_code, start)
            frames.append(orgs.assign(period_start=start, period_end=period_end(measure, start)))
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["org_code", "org_name",
                                                                                          "period_start", "period_end"])
        if frame.empty:
            current = pd.DataFrame(columns=["org_code", "period_start", "numerator", "denominator"])
        else:
            current = _current_values(con, measure, frame)
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    current["period_start"] = pd.to_datetime(current["period_start"]).dt.date
    frame = frame.merge(current, on=["org_code", "period_start"], how="left")
    frame["measure_id"] = measure.id
    frame["measure_version"] = measure.version
    frame["period_end"] = pd.to_datetime(frame["period_end"]).dt.date
    return frame[TEMPLATE_COLUMNS].astype({"numerator": "float64", "denominator": "float64"})


def _safe_text(value):
    """Text written into a download never starts like a formula (a name such as '=Health' gets a leading quote)."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def _number_text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def template_csv(frame: pd.DataFrame) -> bytes:
    """The template as CSV (UTF-8 with a byte-order mark, so Excel reads names correctly)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TEMPLATE_COLUMNS)
    for row in frame[TEMPLATE_COLUMNS].itertuples(index=False):
        writer.writerow([row.measure_id, row.measure_version, row.period_start.isoformat(), row.period_end.isoformat(),
                         row.org_code, _safe_text(row.org_name), _number_text(row.numerator),
                         _number_text(row.denominator)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(frame: pd.DataFrame, measure: Measure) -> bytes:
    """The template as XLSX: a `values` sheet in the template columns and an `about` sheet with the definition."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "values"
    sheet.append(TEMPLATE_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="005EB8")
    for row in frame[TEMPLATE_COLUMNS].itertuples(index=False):
        sheet.append([row.measure_id, int(row.measure_version), row.period_start, row.period_end, row.org_code,
                      _safe_text(row.org_name),
                      None if pd.isna(row.numerator) else float(row.numerator),
                      None if pd.isna(row.denominator) else float(row.denominator)])
    for cells in sheet.iter_rows(min_row=2, min_col=3, max_col=4):
        for cell in cells:
            cell.number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEFGH", (34, 16, 12, 12, 10, 36, 12, 12)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"

    about = book.create_sheet("about")
    lines = [
        ("Measure", f"{measure.name} ({measure.id}, version {measure.version})"),
        ("Numerator", measure.numerator.definition),
        ("Denominator", measure.denominator.definition if measure.denominator else "none: a count has no denominator"),
        ("Unit", measure.unit),
        ("How to fill it in", "Type numbers into the numerator and denominator columns of the values sheet, one row "
                              "per organisation and period. Leave both blank where you have nothing to record. "
                              "Do not add formulas: cells starting with =, +, - or @ that are not plain numbers "
                              "are refused."),
        ("Upload", "On the Local measures page (Upload a file), or `python -m measures record FILE`."),
    ]
    for label, text in lines:
        about.append([label, _safe_text(text)])
        about.cell(row=about.max_row, column=1).font = Font(bold=True)
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 110
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def grid_frame(store: Store, measure_id: str, pcn_code: str, period: date) -> pd.DataFrame:
    """One period's values for the in-app grid: org_code, org_name, numerator, denominator."""
    frame = template_frame(store, measure_id, pcn_code, [period])
    return frame[["org_code", "org_name", "numerator", "denominator"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Reading and validating values


@dataclass(frozen=True)
class Problem:
    source: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [shorten(self.source, 120)]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {shorten(self.column, SHOWN_CHARACTERS)}")
        # Messages quote cells already cut by _shown; this bounds any that quote something else.
        return f"{', '.join(where)}: {shorten(self.message, 600)}"


class RecordingError(ValueError):
    """Values that cannot be saved. Nothing was saved; `problems` lists each one with its file, row and column."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        listed = [f"- {p}" for p in problems[:MAX_PROBLEMS_LISTED]]
        if len(problems) > MAX_PROBLEMS_LISTED:
            listed.append(f"- … and {len(problems) - MAX_PROBLEMS_LISTED:,} more")
        source = shorten(problems[0].source, 120) if problems else "the input"
        super().__init__(f"nothing was saved: {len(problems):,} problem{'s' if len(problems) != 1 else ''} "
                         f"in {source}\n" + "\n".join(listed))


def _shown(value) -> str:
    """A cell as quoted in a message: its text (trimmed) in quotes, cut to a readable length."""
    return shown(str(value).strip(), SHOWN_CHARACTERS)


ENTRY_COLUMNS = ["row", "measure_id", "measure_version", "org_code", "org_level", "pcn_code", "period_start",
                 "period_end", "numerator", "denominator", "value"]


@dataclass
class Batch:
    """Validated values ready to save: one row per organisation, period and measure version."""

    source: str
    entries: pd.DataFrame
    skipped: int = 0  # rows with a blank numerator and denominator
    measures: dict[tuple[str, int], Measure] = field(default_factory=dict)
    sheet: str | None = None  # the sheet of an xlsx file that was read
    hidden_sheets: tuple[str, ...] = ()  # the sheets of an xlsx file that were not read because they are hidden

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def sheet_note(self) -> str:
        """Which sheet of an xlsx file was read ('' for a CSV file or the grid), for the preview and the report."""
        if self.sheet is None:
            return ""
        note = f"Read the sheet {_shown(self.sheet)} of {shorten(self.source, 120)}"
        if self.hidden_sheets:
            names = ", ".join(_shown(name) for name in self.hidden_sheets[:5])
            more = f" and {len(self.hidden_sheets) - 5} more" if len(self.hidden_sheets) > 5 else ""
            note += f"; hidden sheets are never read ({names}{more})"
        return note


def _normalise_header(name) -> str:
    return re.sub(r"\s+", "_", str(name or "").strip().lower())


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _is_number_text(text: str) -> bool:
    text = text.strip()
    return bool(_NUMBER.match(text) or _THOUSANDS.match(text))


def _formula_problem(value) -> str | None:
    if type(value).__name__ in ("ArrayFormula", "DataTableFormula"):
        return "is a spreadsheet formula; type the number itself"
    if not isinstance(value, str) or not value:
        return None
    text = value.lstrip(" ")
    if not text or text[0] not in FORMULA_PREFIXES:
        return None
    if text[0] in "+-" and (_is_number_text(text) or text[1:].strip().lower() in _NOT_FINITE_WORDS):
        return None  # -3 and +3 are numbers; -inf is refused as a number that is not finite
    return (f"{_shown(value)} starts with {text[0]!r} like a spreadsheet formula; cells starting with "
            "=, +, - or @ are refused unless they are plain numbers, so type the value itself")


def _number(value) -> float:
    """A cell as a number; raises ValueError with a message for anything else (including NaN and infinity)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        text = str(value).strip()
        if text.lstrip("+-").lower() in _NOT_FINITE_WORDS:
            raise ValueError(f"{_shown(value)} is not a number; type the count or amount itself")
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        if not _NUMBER.match(text):
            raise ValueError(f"{_shown(value)} is not a number; write the number in digits, such as 1234 or 12.5")
        number = float(text)
    if not np.isfinite(number):
        raise ValueError(f"{_shown(value)} is not a finite number; type the count or amount itself")
    return number


def _amount_text(number: float) -> str:
    """A number for a message: as typed where it is ordinary, in powers of ten where it is huge or tiny."""
    if number == 0 or 1e-6 <= abs(number) < 1e15:
        return _number_text(number)
    return f"{number:.4g}"


def _amount_problem(measure: Measure | None, part: str, number: float) -> str | None:
    """Why a numerator or denominator is beyond what the measure can hold, or None."""
    money = measure is not None and measure.type == "currency" and part == "numerator"
    limit = MAX_RECORDED_MONEY if money else MAX_RECORDED
    if -limit <= number <= limit:
        return None
    what = "a currency measure's numerator (pounds)" if money else f"a {part}"
    beyond = f"above {limit:,}, the most" if number > 0 else f"below -{limit:,}, the least"
    return (f"{_amount_text(number)} is {beyond} {what} can be for one organisation and period; check for "
            "a slip such as an extra digit")


def _day(value) -> date:
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise ValueError(f"{_shown(value)} is not a date")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"{_shown(text)} is not a date; write it as YYYY-MM-DD, for example 2026-09-01")


def read_table(name: str, data: bytes) -> list[tuple[int, dict]]:
    """The rows of an uploaded CSV or XLSX file as (spreadsheet row number, {column: cell}); the header is row 1.

    Refuses files over the size limit, other file types, unreadable or damaged files, missing columns, and
    cells that would be lost or misread (see `_read_upload`).
    """
    return _read_upload(name, data)[0]


def _read_upload(name: str, data: bytes) -> tuple[list[tuple[int, dict]], str | None, tuple[str, ...]]:
    """`read_table`'s rows, with the xlsx sheet that was read and the hidden sheets that were not."""
    limit = max_upload_mb()
    if len(data) > limit * 1024 * 1024:
        raise RecordingError([Problem(name, None, None, f"is {len(data) / 1024 / 1024:.1f} MB; the largest file "
                                                        f"accepted is {limit:g} MB (set by PCN_MAX_UPLOAD_MB)")])
    suffix = Path(name).suffix.lower()
    sheet, hidden = None, ()
    if suffix == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        lines = _csv_lines(name, text)
    elif suffix == ".xlsx":
        lines, sheet, hidden = _xlsx_lines(name, data)
    else:
        raise RecordingError([Problem(name, None, None, "is not a CSV or XLSX file; download a template and fill it in")])
    if not lines:
        raise RecordingError([Problem(name, None, None, "is empty; it needs a header row in the template's columns")])
    header = [_normalise_header(cell) for cell in lines[0]]
    problems = []
    for column in REQUIRED_COLUMNS:
        if column not in header:
            problems.append(Problem(name, 1, column, "this column is missing; the template's columns are "
                                                     + ", ".join(TEMPLATE_COLUMNS)))
    seen = set()
    for column in header:
        if column and column in seen:
            problems.append(Problem(name, 1, column, "this column appears twice"))
        seen.add(column)
    for position, cell in enumerate(lines[0]):
        problem = _formula_problem(cell)
        if problem:
            problems.append(Problem(name, 1, header[position] or f"#{position + 1}", problem))
    if problems:
        raise RecordingError(problems)
    rows = []
    for number, cells in enumerate(lines[1:], start=2):
        if all(_blank(cell) for cell in cells):
            continue
        problems += _shape_problems(name, number, cells, header, csv_file=suffix == ".csv")
        rows.append((number, {column: cells[i] if i < len(cells) else None
                              for i, column in enumerate(header) if column}))
    if problems:
        raise RecordingError(problems)
    return rows, sheet, hidden


def _column_label(header: list[str], position: int) -> str:
    """A column as messages name it: its heading, or its position (and letter) where it has none."""
    if position < len(header) and header[position]:
        return header[position]
    from openpyxl.utils import get_column_letter

    return f"#{position + 1} ({get_column_letter(min(position + 1, 16384))})"


def _shape_problems(name: str, number: int, cells: list, header: list[str], *, csv_file: bool) -> list[Problem]:
    """Cells of one row that would be lost or misread: beyond the header, missing, too long, or holding a line break."""
    problems = []
    named = [i for i, column in enumerate(header) if column]
    for position, cell in enumerate(cells):
        if _blank(cell):
            continue
        if position >= len(header) or not header[position]:
            problems.append(Problem(name, number, _column_label(header, position),
                                    f"{_shown(cell)} is in a column with no heading, so it would be lost; give the "
                                    "column a heading (columns not in the template are ignored) or clear the cell"))
        elif header[position] in TEMPLATE_COLUMNS and isinstance(cell, str):
            if len(cell) > MAX_CELL_CHARACTERS:
                problems.append(Problem(name, number, header[position],
                                        f"{_shown(cell)} is longer than the {MAX_CELL_CHARACTERS:,} characters "
                                        "any cell of the template holds"))
            elif csv_file and ("\n" in cell or "\r" in cell):
                problems.append(Problem(name, number, header[position],
                                        f"{_shown(cell)} holds a line break, so a quote (\") was probably left open "
                                        "and the lines after it were read into this cell; remove the stray quote"))
    if csv_file and len(cells) < len(header) and named and len(cells) <= named[-1]:
        missing = [header[i] for i in named if i >= len(cells)]
        problems.append(Problem(name, number, missing[0],
                                f"the row has {len(cells)} cell{'s' if len(cells) != 1 else ''} but the header has "
                                f"{len(header)}, so it ends before {', '.join(missing)}; give every row a cell for "
                                "each column (a comma for each empty one)"))
    return problems


def _csv_lines(name: str, text: str) -> list[list]:
    """The records of a CSV file; a quote left open, a stray quote, or an over-long cell is named by row and column."""
    stream = io.StringIO(text, newline="")
    reader = csv.reader(stream, strict=True)
    lines: list[list] = []
    while True:
        start = stream.tell()
        try:
            lines.append(next(reader))
        except StopIteration:
            return lines
        except csv.Error as exc:
            raise RecordingError([_csv_fault(name, lines, text[start:stream.tell()], str(exc))]) from None


def _csv_fault(name: str, lines: list[list], raw: str, error: str) -> Problem:
    """The problem a CSV record that cannot be read poses, at its row and, where it can be told, its column."""
    row = len(lines) + 1
    position, fault = _faulty_field(raw, csv.field_size_limit())
    header = [_normalise_header(cell) for cell in lines[0]] if lines else []
    column = _column_label(header, position) if header else f"#{position + 1}"
    if fault == "open quote":
        message = ("a quote (\") opens in this cell and is never closed, so every line after it would be read "
                   "into this one cell; close the quote or remove it")
    elif fault == "too long":
        message = (f"the cell is over {csv.field_size_limit():,} characters long, more than a CSV cell can hold "
                   f"here; no cell of the template holds more than {MAX_CELL_CHARACTERS:,}")
    else:
        message = (f"the cell has text after its closing quote ({error}); quote the whole cell, or remove the "
                   "quotes")
    return Problem(name, row, column, message)


def _faulty_field(raw: str, limit: int) -> tuple[int, str]:
    """Where a CSV record goes wrong: (field position, 'open quote' | 'too long' | 'stray quote')."""
    position = length = 0
    quoted = closed = False
    index = 0
    while index < len(raw):
        char = raw[index]
        if quoted:
            if char == '"' and raw[index + 1:index + 2] == '"':
                index += 1
                length += 1
            elif char == '"':
                quoted, closed = False, True
            else:
                length += 1
        elif char == ",":
            position, length, closed = position + 1, 0, False
        elif char in "\r\n":
            break
        elif closed:
            return position, "stray quote"
        elif char == '"' and length == 0:
            quoted = True
        else:
            length += 1
        if length > limit:
            return position, "too long"
        index += 1
    return position, "open quote" if quoted else "stray quote"


def _xlsx_lines(name: str, data: bytes) -> tuple[list[list], str, tuple[str, ...]]:
    """The rows of the sheet to read, its title, and the hidden sheets left unread.

    The sheet is the visible one named `values` (the template's), else the first visible sheet: a hidden sheet is
    never read, as the person uploading cannot see what it holds. The archive is checked before it is opened, so
    a small file that unpacks to gigabytes is refused unread.
    """
    from openpyxl import load_workbook

    def refused(message: str) -> RecordingError:
        return RecordingError([Problem(name, None, None, message)])

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            limits.check_archive(archive, name, max_mb=limits.max_upload_unpacked_mb(max_upload_mb()),
                                 setting=limits.UPLOAD_UNPACKED_MB_VAR, expected="a filled-in template")
    except limits.LimitExceeded as exc:
        raise refused(str(exc).removeprefix(f"{name}: ")) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise refused(f"is not a readable XLSX file ({type(exc).__name__})") from None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or disguised file
        raise refused(f"is not a readable XLSX file ({type(exc).__name__})") from None
    try:
        visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
        hidden = tuple(ws.title for ws in book.worksheets if ws.sheet_state != "visible")
        if not visible:
            raise refused("has no visible sheet; hidden sheets are never read, so unhide the sheet of values")
        sheet = next((ws for ws in visible if ws.title.strip().lower() == "values"), visible[0])
        # The sheet's declared size is not trusted: a tiny file may claim every cell of a sheet, and openpyxl
        # would fill each row out to it. Rows are read as written, at most MAX_SHEET_COLUMNS wide.
        sheet.reset_dimensions()
        lines: list[list] = []
        no_cells: list = []
        try:
            for row in sheet.iter_rows(max_col=MAX_SHEET_COLUMNS, values_only=True):
                if len(lines) >= MAX_SHEET_ROWS:
                    raise refused(f"the sheet {_shown(sheet.title)} has rows after row {MAX_SHEET_ROWS:,}, the "
                                  "last a spreadsheet holds; it is damaged or not a filled-in template")
                if row.count(None) == len(row):  # counted in C: a sheet may jump a million rows
                    lines.append(no_cells)  # one shared list for the empty rows a sheet may jump over
                    continue
                row = list(row)
                while row and _blank(row[-1]):
                    row.pop()
                lines.append(row)
        except RecordingError:
            raise
        except Exception as exc:  # a damaged sheet (bad XML, an entity bomb, a number that is not) fails as it is read
            raise RecordingError([Problem(name, len(lines) + 1, None,
                                          f"the sheet {_shown(sheet.title)} is damaged at or after this row "
                                          f"({type(exc).__name__}), so it cannot be read; save the file again "
                                          "from the spreadsheet, or download a new template")]) from None
    finally:
        book.close()
    while lines and all(_blank(cell) for cell in lines[-1]):
        lines.pop()
    return lines, sheet.title, hidden


@dataclass
class _Context:
    """What validation looks up, read once per batch."""

    versions: dict[str, dict[int, Measure]]
    orgs: dict[str, tuple[str, str]]  # code -> (level, name)
    memberships: dict[str, list[tuple[date, date | None, str]]]  # practice -> [(start, end, pcn)]
    icb_of: dict[str, str | None]

    def pcn_of(self, practice: str, day: date) -> str | None:
        for start, end, pcn in self.memberships.get(practice, []):
            if start <= day and (end is None or end >= day):
                return pcn
        return None


def _context(con) -> _Context:
    versions = _versions_in(con)
    orgs = {code: (level, name) for code, level, name in
            con.execute("SELECT org_code, org_level, name FROM organisations").fetchall()}
    memberships: dict[str, list] = {}
    for child, parent, start, end in con.execute(
            "SELECT child_code, parent_code, start_date, end_date FROM memberships "
            "WHERE parent_level = 'pcn' AND child_level = 'practice' ORDER BY start_date").fetchall():
        memberships.setdefault(child, []).append((start, end, parent))
    icb_of = dict(con.execute(
        """
        SELECT ms.child_code, mi.parent_code FROM memberships ms
        JOIN memberships mi ON mi.child_code = ms.parent_code AND mi.parent_level = 'icb' AND mi.end_date IS NULL
        WHERE ms.parent_level = 'sub_icb' AND ms.child_level = 'pcn' AND ms.end_date IS NULL
        """).fetchall())
    return _Context(versions, orgs, memberships, icb_of)


def validate_rows(store: Store, rows: list[tuple[int, dict]], source: str, *, pcn_code: str | None = None,
                  today: date | None = None) -> Batch:
    """Check every row and return the values to save; raises RecordingError listing every problem.

    Each row names measure_id, period_start, org_code, numerator and denominator (measure_version is
    optional: the current version). With `pcn_code`, every organisation must be that PCN or one of its
    practices at the period's start. A row whose numerator and denominator are both blank is skipped.
    """
    with store.reader() as con:
        ctx = _context(con)
    return _validate(ctx, rows, source, pcn_code=pcn_code, today=today)


def validate_in(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, dict]], source: str, *,
                pcn_code: str | None = None, today: date | None = None) -> Batch:
    """`validate_rows` on an open connection (inside a transaction or a rebuild)."""
    return _validate(_context(con), rows, source, pcn_code=pcn_code, today=today)


def _validate(ctx: _Context, rows: list[tuple[int, dict]], source: str, *, pcn_code: str | None,
              today: date | None) -> Batch:
    today = today or date.today()
    problems: list[Problem] = []
    entries: list[dict] = []
    seen: dict[tuple, int] = {}
    used: dict[tuple[str, int], Measure] = {}
    skipped = 0
    for number, cells in rows:
        def bad(column: str, message: str) -> None:
            problems.append(Problem(source, number, column, message))

        formula_columns = set()
        for column, value in cells.items():
            problem = _formula_problem(value)
            if problem:
                bad(column, problem)
                formula_columns.add(column)
        if formula_columns:
            continue
        if _blank(cells.get("numerator")) and _blank(cells.get("denominator")):
            skipped += 1
            continue
        before = len(problems)

        measure_id = str(cells.get("measure_id") or "").strip()
        versions = ctx.versions.get(measure_id)
        measure = None
        if not measure_id:
            bad("measure_id", "is blank; name the measure, as in the template")
        elif not versions:
            bad("measure_id", f"{_shown(measure_id)} is not a measure in the catalogue")
        else:
            version_cell = cells.get("measure_version")
            version = max(versions)
            if not _blank(version_cell):
                try:
                    version = int(_number(version_cell))
                    if version != _number(version_cell):
                        raise ValueError
                except ValueError:
                    bad("measure_version", f"{_shown(version_cell)} is not a whole number")
                    version = None
            if version is not None and version not in versions:
                bad("measure_version", f"{measure_id} has no version {shorten(str(version), 20)}; "
                                       f"its versions are {', '.join(map(str, sorted(versions)))}")
            elif version is not None:
                measure = versions[version]
                if measure.family not in LOCAL_FAMILIES:
                    bad("measure_id", f"{measure_id} is a national DES measure; its values come from NHS England's "
                                      "publications and are not recorded by hand")
                    measure = None
                elif measure.status == "retired":
                    bad("measure_id", f"{measure_id} is retired; its values are kept but no new ones are recorded")
                    measure = None

        period = None
        try:
            period = _day(cells.get("period_start")) if not _blank(cells.get("period_start")) else None
            if period is None:
                bad("period_start", "is blank; give the first day of the period, for example 2026-09-01")
        except ValueError as exc:
            bad("period_start", str(exc))
        if period is not None and period > today:
            # Checked first: a date centuries ahead has no period end that pandas can compute.
            bad("period_start", f"the period starting {period} is in the future; record it once it is over")
            period = None
        if period is not None and measure is not None:
            if not is_period_start(measure, period):
                right = _period_containing(measure, period)
                bad("period_start", f"{period} is not the start of a {measure.frequency} period of {measure.id}; "
                                    f"the period containing it starts on {right}")
                period = None
            elif period < FIRST_PERIOD:
                bad("period_start", f"{period} is before {FIRST_PERIOD}, when PCNs began; it is outside the "
                                    "measure's range")
                period = None
            elif period_end(measure, period) >= today:
                bad("period_start", f"the period starting {period} has not ended yet (it ends "
                                    f"{period_end(measure, period)}); record it once it is over")
                period = None

        org_code = str(cells.get("org_code") or "").strip().upper()
        org_pcn = None
        if not org_code:
            bad("org_code", "is blank; give the practice or PCN code")
        elif org_code not in ctx.orgs:
            bad("org_code", f"{_shown(org_code)} is not a known organisation code")
        elif measure is not None:
            level, name = ctx.orgs[org_code]
            if level != measure.level:
                bad("org_code", f"{org_code} ({name}) is a {level.replace('_', '-')}, but {measure.id} is recorded "
                                f"for each {measure.level.upper() if measure.level == 'pcn' else measure.level}")
            elif level == "pcn":
                org_pcn = org_code
            elif period is not None:
                org_pcn = ctx.pcn_of(org_code, period)
                if org_pcn is None:
                    bad("org_code", f"{org_code} ({name}) belonged to no PCN on {period}")
            if org_pcn is not None and pcn_code is not None and org_pcn != pcn_code:
                pcn_name = ctx.orgs.get(pcn_code, ("", pcn_code))[1]
                if level == "pcn":
                    bad("org_code", f"{org_code} ({name}) is another PCN; these values are for {pcn_name} ({pcn_code})")
                else:
                    bad("org_code", f"{org_code} ({name}) was not a member of {pcn_name} ({pcn_code}) on {period}")
                org_pcn = None
            if org_pcn is not None and not applies_to(measure, org_pcn, ctx.icb_of.get(org_pcn)):
                bad("measure_id", f"{measure.id} is set by {measure.scope} and does not apply to {org_pcn}")
                org_pcn = None

        numerator = denominator = None
        try:
            if _blank(cells.get("numerator")):
                bad("numerator", "is blank but the denominator is filled in; give both, or leave both blank")
            else:
                numerator = _number(cells["numerator"])
                beyond = _amount_problem(measure, "numerator", numerator)
                if beyond:
                    bad("numerator", beyond)
                    numerator = None
        except ValueError as exc:
            bad("numerator", str(exc))
        if measure is not None and measure.type == "count":
            if not _blank(cells.get("denominator")):
                bad("denominator", f"must be blank: {measure.id} is a count, which has no denominator")
        else:
            try:
                if _blank(cells.get("denominator")):
                    if numerator is not None and measure is not None:
                        bad("denominator", "is blank; this measure divides by a denominator, so give both")
                else:
                    denominator = _number(cells["denominator"])
                    beyond = _amount_problem(measure, "denominator", denominator)
                    if beyond:
                        bad("denominator", beyond)
                        denominator = None
                    elif denominator <= 0:
                        bad("denominator", f"{_number_text(denominator)} is not above 0, so no value can be "
                                           "computed; leave the row blank if there is nothing to record")
                        denominator = None
            except ValueError as exc:
                bad("denominator", str(exc))
        if numerator is not None and numerator < 0 and (measure is None or measure.type != "currency"):
            bad("numerator", f"{_number_text(numerator)} is negative; only a currency measure (money recovered) "
                             "can have a numerator below 0")
        if (measure is not None and measure.type == "proportion" and numerator is not None
                and denominator is not None and numerator > denominator):
            bad("numerator", f"{_number_text(numerator)} is above the denominator ({_number_text(denominator)}); "
                             f"{measure.id} is a proportion, so the numerator counts some of the denominator")

        if len(problems) > before or measure is None or period is None or org_pcn is None:
            continue
        value = compute_values(measure, [numerator], [np.nan if denominator is None else denominator])[0]
        if not np.isfinite(value):
            bad("denominator", f"{_amount_text(denominator)} is so small that the value "
                               f"({_amount_text(numerator)} ÷ {_amount_text(denominator)} × "
                               f"{_number_text(measure.multiplier)}) is too large to hold; check the denominator")
            continue
        key = (measure.id, measure.version, org_code, period)
        if key in seen:
            bad("org_code", f"{org_code} for {period} is already given in row {seen[key]}; give each "
                            "organisation and period once")
            continue
        seen[key] = number
        used[(measure.id, measure.version)] = measure
        entries.append({
            "row": number, "measure_id": measure.id, "measure_version": measure.version, "org_code": org_code,
            "org_level": measure.level, "pcn_code": org_pcn, "period_start": period,
            "period_end": period_end(measure, period), "numerator": numerator,
            "denominator": np.nan if denominator is None else denominator,
            "value": float(value) if np.isfinite(value) else np.nan,
        })
    if problems:
        raise RecordingError(problems)
    frame = pd.DataFrame(entries, columns=ENTRY_COLUMNS).astype(
        {"numerator": "float64", "denominator": "float64", "value": "float64"})
    return Batch(source, frame, skipped, used)


def parse_upload(store: Store, name: str, data: bytes, *, pcn_code: str | None = None,
                 today: date | None = None) -> Batch:
    """Read and check an uploaded template (CSV or XLSX); the page and the command line both use this.

    For an xlsx file the batch says which sheet was read (`sheet`, `sheet_note`).
    """
    rows, sheet, hidden = _read_upload(name, data)
    batch = validate_rows(store, rows, name, pcn_code=pcn_code, today=today)
    batch.sheet, batch.hidden_sheets = sheet, hidden
    return batch


def batch_from_grid(store: Store, measure_id: str, pcn_code: str, period: date, edited: pd.DataFrame,
                    *, today: date | None = None) -> Batch:
    """Check one period's values as edited in the in-app grid; row numbers are the grid's, from 1."""
    with store.reader() as con:
        version = _resolve(con, measure_id).version
    rows = []
    for number, row in enumerate(edited.itertuples(index=False), start=1):
        rows.append((number, {
            "measure_id": measure_id, "measure_version": version, "period_start": period,
            "org_code": row.org_code, "numerator": row.numerator,
            "denominator": getattr(row, "denominator", None),
        }))
    return validate_rows(store, rows, GRID_SOURCE, pcn_code=pcn_code, today=today)


# ---------------------------------------------------------------------------------------------
# Saving: one transaction per save, read-modify-write inside it, every change to the audit log


def _compare(con, entries: pd.DataFrame) -> pd.DataFrame:
    """Each entry beside the value held now; `change` is new, correction or unchanged."""
    incoming = entries.assign(period_start=pd.to_datetime(entries["period_start"]),
                              period_end=pd.to_datetime(entries["period_end"]))
    con.register("_incoming", incoming)
    try:
        held = con.execute(
            """
            SELECT i.row, r.numerator AS rec_numerator, r.denominator AS rec_denominator, r.value AS rec_value,
                   o.numerator AS obs_numerator, o.denominator AS obs_denominator, o.value AS obs_value,
                   o.basis AS obs_basis
            FROM _incoming i
            LEFT JOIN recorded_values r
              ON r.measure_id = i.measure_id AND r.measure_version = i.measure_version
             AND r.org_code = i.org_code AND r.period_start = CAST(i.period_start AS DATE)
            LEFT JOIN (
                SELECT * FROM observations
                WHERE measure_id IN (SELECT measure_id FROM _incoming)
                  AND org_code IN (SELECT org_code FROM _incoming)
                QUALIFY row_number() OVER (PARTITION BY measure_id, measure_version, org_code, period_start
                                           ORDER BY import_id DESC) = 1
            ) o ON o.measure_id = i.measure_id AND o.measure_version = i.measure_version
               AND o.org_code = i.org_code AND o.period_start = CAST(i.period_start AS DATE)
               AND o.org_level = i.org_level
            """).df()
    finally:
        _unregister(con, "_incoming")
    frame = entries.merge(held, on="row", how="left")
    recorded = frame["rec_numerator"].notna()
    for part in ("numerator", "denominator", "value"):
        frame[f"old_{part}"] = np.where(recorded, frame[f"rec_{part}"], frame[f"obs_{part}"]).astype("float64")
    had = frame["old_numerator"].notna() | frame["old_denominator"].notna()
    frame["old_basis"] = [("recorded" if rec else (None if pd.isna(basis) else str(basis))) if held else None
                          for rec, basis, held in zip(recorded, frame["obs_basis"], had)]
    same = (_same(frame["old_numerator"], frame["numerator"]) & _same(frame["old_denominator"], frame["denominator"]))
    frame["change"] = np.where(~had, "new", np.where(same, "unchanged", "correction"))
    return frame.drop(columns=[c for c in frame.columns if c.startswith(("rec_", "obs_"))])


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    a, b = a.astype("float64"), b.astype("float64")
    close = pd.Series(np.isclose(a.fillna(0), b.fillna(0), rtol=1e-12, atol=1e-12), index=a.index)
    return (a.isna() & b.isna()) | (close & a.notna() & b.notna())


def preview(store: Store, batch: Batch) -> pd.DataFrame:
    """What a save would do: each value beside the one held now, and whether it is new, a correction or unchanged."""
    if batch.entries.empty:
        return _compare_empty()
    with store.reader() as con:
        if not _has_table(con, "recorded_values"):
            frame = batch.entries.assign(old_numerator=np.nan, old_denominator=np.nan, old_value=np.nan,
                                         old_basis=None, change="new")
        else:
            frame = _compare(con, batch.entries)
    return frame


def _compare_empty() -> pd.DataFrame:
    return pd.DataFrame(columns=[*ENTRY_COLUMNS, "old_numerator", "old_denominator", "old_value", "old_basis",
                                 "change"])


@dataclass(frozen=True)
class Saved:
    import_id: int | None
    new: int
    corrected: int
    unchanged: int
    skipped: int
    source: str
    actor: str

    @property
    def changed(self) -> int:
        return self.new + self.corrected

    def summary(self) -> str:
        return (f"{self.changed} value{'s' if self.changed != 1 else ''} saved from {self.source} by {self.actor} "
                f"({self.new} new, {self.corrected} corrected); {self.unchanged} unchanged, "
                f"{self.skipped} blank row{'s' if self.skipped != 1 else ''} skipped")


def save_in(con: duckdb.DuckDBPyConnection, batch: Batch, actor: str, *, at: datetime | None = None) -> Saved:
    """Save a batch inside the caller's transaction: current values, the audit log and observations.

    Reads the values held now inside the same transaction, so two saves never overwrite each other
    unseen: the later one's audit rows carry the earlier one's values as their old values.
    """
    actor = (actor or "").strip()
    if not actor:
        raise ValueError("say who is saving the values, so the audit log can show it")
    when = at or _now()
    if batch.entries.empty:
        return Saved(None, 0, 0, 0, batch.skipped, batch.source, actor)
    compared = _compare(con, batch.entries)
    changed = compared[compared["change"] != "unchanged"].copy()
    unchanged = int((compared["change"] == "unchanged").sum())
    if changed.empty:
        return Saved(None, 0, 0, unchanged, batch.skipped, batch.source, actor)
    import_id = start_import(con, "recorded", file_name=batch.source, actor=actor,
                             note="values recorded locally", rows_read=len(batch.entries) + batch.skipped)
    changed["action"] = np.where(changed["change"] == "new", "recorded", "corrected")
    changed["period_start"] = pd.to_datetime(changed["period_start"])
    changed["period_end"] = pd.to_datetime(changed["period_end"])
    changed["old_basis"] = changed["old_basis"].astype(object)
    con.register("_changed", changed)
    try:
        keys = """measure_id = c.measure_id AND {t}.measure_version = c.measure_version
                  AND {t}.org_code = c.org_code AND {t}.period_start = CAST(c.period_start AS DATE)"""
        con.execute(f"DELETE FROM recorded_values r USING _changed c WHERE r.{keys.format(t='r')}")
        con.execute(
            """
            INSERT INTO recorded_values
            SELECT measure_id, measure_version, org_code, org_level, CAST(period_start AS DATE),
                   CAST(period_end AS DATE), numerator, denominator, value, ?, ?, ?, ?
            FROM _changed
            """, [actor, when, batch.source, import_id])
        con.execute(
            """
            INSERT INTO value_audit
            SELECT nextval('value_audit_id_seq'), measure_id, measure_version, org_code, CAST(period_start AS DATE),
                   action, old_numerator, old_denominator, old_value, old_basis,
                   numerator, denominator, value, ?, ?, ?, ?
            FROM (SELECT * FROM _changed ORDER BY row)
            """, [actor, when, batch.source, import_id])
        con.execute(f"DELETE FROM observations o USING _changed c WHERE o.{keys.format(t='o')} "
                    "AND o.org_level = c.org_level")
        con.execute(
            """
            INSERT INTO observations (measure_id, measure_version, org_code, org_level, period_start, period_end,
                                      numerator, denominator, value, basis, import_id)
            SELECT measure_id, measure_version, org_code, org_level, CAST(period_start AS DATE),
                   CAST(period_end AS DATE), numerator, denominator, value, 'recorded', ?
            FROM _changed
            """, [import_id])
    finally:
        _unregister(con, "_changed")
    _resum_pcns(con, changed[changed["org_level"] == "practice"], batch.measures, import_id)
    finish_import(con, import_id, rows_loaded=len(changed), rows_rejected=0)
    corrected = int((changed["change"] == "correction").sum())
    return Saved(import_id, len(changed) - corrected, corrected, unchanged, batch.skipped, batch.source, actor)


def _resum_pcns(con, practice_rows: pd.DataFrame, measures: dict, import_id: int) -> None:
    """Recompute each affected PCN value as the sum of its practices at that date (basis sum_of_practices)."""
    if practice_rows.empty:
        return
    affected = practice_rows[["measure_id", "measure_version", "pcn_code", "period_start", "period_end"]]
    con.register("_affected", affected.drop_duplicates())
    try:
        sums = con.execute(
            """
            SELECT a.measure_id, a.measure_version, a.pcn_code AS org_code, CAST(a.period_start AS DATE) AS period_start,
                   CAST(a.period_end AS DATE) AS period_end, sum(o.numerator) AS numerator,
                   sum(o.denominator) AS denominator
            FROM _affected a
            JOIN memberships m ON m.parent_code = a.pcn_code AND m.parent_level = 'pcn' AND m.child_level = 'practice'
             AND m.start_date <= CAST(a.period_start AS DATE)
             AND (m.end_date IS NULL OR m.end_date >= CAST(a.period_start AS DATE))
            JOIN observations o ON o.org_code = m.child_code AND o.org_level = 'practice'
             AND o.measure_id = a.measure_id AND o.measure_version = a.measure_version
             AND o.period_start = CAST(a.period_start AS DATE)
            GROUP BY ALL
            """).df()
        sums["value"] = np.nan
        for (measure_id, version), rows in sums.groupby(["measure_id", "measure_version"]):
            measure = measures[(measure_id, int(version))]
            sums.loc[rows.index, "value"] = compute_values(measure, rows["numerator"], rows["denominator"])
        sums["period_start"] = pd.to_datetime(sums["period_start"])
        sums["period_end"] = pd.to_datetime(sums["period_end"])
        con.register("_sums", sums)
        con.execute(
            """
            DELETE FROM observations o USING _affected a
            WHERE o.measure_id = a.measure_id AND o.measure_version = a.measure_version AND o.org_code = a.pcn_code
              AND o.org_level = 'pcn' AND o.period_start = CAST(a.period_start AS DATE)
            """)
        con.execute(
            """
            INSERT INTO observations (measure_id, measure_version, org_code, org_level, period_start, period_end,
                                      numerator, denominator, value, basis, import_id)
            SELECT measure_id, measure_version, org_code, 'pcn', CAST(period_start AS DATE), CAST(period_end AS DATE),
                   numerator, denominator, CASE WHEN isnan(value) THEN NULL ELSE value END, 'sum_of_practices', ?
            FROM _sums
            """, [import_id])
    finally:
        _unregister(con, "_affected", "_sums")


def save(store: Store, batch: Batch, actor: str, *, at: datetime | None = None, principal=None) -> Saved:
    """Save a batch as one all-or-nothing transaction (waits its turn behind other writers).

    With a `principal`, every PCN the batch touches must be one it edits, or nothing is saved.
    """
    if principal is not None and not batch.entries.empty:
        from .access import require_edit

        for pcn_code in sorted(set(batch.entries["pcn_code"].dropna())):
            require_edit(principal, pcn_code, "record values")
    return _retrying(lambda: _in_writer(store, lambda con: save_in(con, batch, actor, at=at)))


def record_file(store: Store, path: Path | str, actor: str, *, pcn_code: str | None = None,
                today: date | None = None, dry_run: bool = False, principal=None) -> tuple[Batch, Saved | None]:
    """The command line's import: read a filled-in template, check it, and save it all or nothing."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordingError([Problem(path.name, None, None, f"cannot be read: {exc.strerror or exc}")]) from None
    batch = parse_upload(store, path.name, data, pcn_code=pcn_code, today=today)
    if batch.entries.empty:
        raise RecordingError([Problem(path.name, None, None, "has no values to record: every row's numerator "
                                                             "and denominator are blank")])
    if dry_run:
        return batch, None
    return batch, save(store, batch, actor, principal=principal)


# ---------------------------------------------------------------------------------------------
# History


_HISTORY_SELECT = """
    SELECT a.audit_id, a.measure_id, a.measure_version, a.org_code, org.name AS org_name, a.period_start, a.action,
           a.old_numerator, a.old_denominator, a.old_value, a.old_basis,
           a.new_numerator, a.new_denominator, a.new_value, a.changed_by, a.changed_at, a.source
    FROM value_audit a LEFT JOIN organisations org ON org.org_code = a.org_code
"""


def value_history(store: Store, measure_id: str, org_code: str, period_start: date) -> pd.DataFrame:
    """Every change to one value, oldest first: who, when, the old and the new value, and the source."""
    return store.query(_HISTORY_SELECT + " WHERE a.measure_id = ? AND a.org_code = ? AND a.period_start = ? "
                                         "ORDER BY a.changed_at, a.audit_id",
                       [measure_id, org_code, period_start])


def recent_changes(store: Store, pcn_code: str, limit: int = 100) -> pd.DataFrame:
    """The latest changes to values of a PCN and of the practices that have belonged to it, newest first."""
    return store.query(
        _HISTORY_SELECT + """
        WHERE a.org_code = ? OR a.org_code IN (
            SELECT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn')
        ORDER BY a.changed_at DESC, a.audit_id DESC LIMIT ?
        """, [pcn_code, pcn_code, limit])


# ---------------------------------------------------------------------------------------------
# Fair share


def fair_share(store: Store, measure_id: str, pcn_code: str, start: date, end: date) -> pd.DataFrame:
    """Each member practice's share of the PCN's resource (the measure's numerator) beside its share of population.

    Population follows the measure's `fair_share` field (registered or weighted patients, from list_sizes at
    each period's start). A practice counts only in the periods it belonged to the PCN, and only in periods
    with a value, so both shares are over the same practice-periods and each adds up to 100%.
    """
    with store.reader() as con:
        measure = _resolve(con, measure_id)
        if measure.fair_share is None:
            raise ValueError(f"{measure_id} has no fair_share field, so it has no fair share to compare with")
        column = "weighted_patients" if measure.fair_share == "weighted_population" else "registered_patients"
        frame = con.execute(
            f"""
            WITH held AS (
                SELECT o.org_code, o.period_start, o.numerator
                FROM observations o
                JOIN memberships m ON m.child_code = o.org_code AND m.parent_code = ? AND m.parent_level = 'pcn'
                 AND m.start_date <= o.period_start AND (m.end_date IS NULL OR m.end_date >= o.period_start)
                WHERE o.measure_id = ? AND o.measure_version = ? AND o.org_level = 'practice'
                  AND o.period_start BETWEEN ? AND ? AND o.numerator IS NOT NULL
            )
            SELECT h.org_code, org.name AS org_name, sum(h.numerator) AS resource,
                   sum(ls.{column}) AS population, count(*) AS periods,
                   min(h.period_start) AS first_period, max(h.period_start) AS last_period
            FROM held h
            ASOF LEFT JOIN list_sizes ls ON ls.org_code = h.org_code AND ls.extract_date <= h.period_start
            JOIN organisations org ON org.org_code = h.org_code
            GROUP BY ALL
            ORDER BY h.org_code
            """, [pcn_code, measure.id, measure.version, start, end]).df()
    frame = frame.astype({"resource": "float64", "population": "float64"})
    for column in ("first_period", "last_period"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    frame["resource_share"] = frame["resource"] / frame["resource"].sum() if len(frame) else []
    frame["population_share"] = frame["population"] / frame["population"].sum() if len(frame) else []
    frame["gap_points"] = (frame["resource_share"] - frame["population_share"]) * 100
    frame["ratio"] = frame["resource_share"] / frame["population_share"]
    return frame


# ---------------------------------------------------------------------------------------------
# Publishing a period: a PCN's local values become readable outside the PCN once published


def local_periods(store: Store, pcn_code: str) -> list[date]:
    """Periods (their first days) with local values of the PCN or of its practices, newest first."""
    from .access import national_ids

    frame = store.query(
        """
        SELECT DISTINCT o.period_start FROM observations o
        WHERE (o.org_code = ? OR o.org_code IN (
                SELECT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn'
                  AND start_date <= o.period_start AND (end_date IS NULL OR end_date >= o.period_start)))
          AND NOT list_contains(?, o.measure_id)
        ORDER BY 1 DESC
        """, [pcn_code, pcn_code, sorted(national_ids())])
    return [pd.Timestamp(p).date() for p in frame["period_start"]]


def published_periods(store: Store, pcn_code: str) -> pd.DataFrame:
    """The PCN's published periods, newest first: period_start, published_by, published_at."""
    with store.reader() as con:
        if not _has_table(con, "published_periods"):
            return pd.DataFrame(columns=["period_start", "published_by", "published_at"])
        return con.execute("SELECT period_start, published_by, published_at FROM published_periods "
                           "WHERE pcn_code = ? ORDER BY period_start DESC", [pcn_code]).df()


def publish_period(store: Store, principal, pcn_code: str, period_start: date, *, via: str = "app",
                   at: datetime | None = None) -> bool:
    """Publish the PCN's local values for a period (its editors and administrators only); False if already was."""
    from . import access

    access.require_edit(principal, pcn_code, "publish local values")
    when = at or _now()

    def work(con):
        held = con.execute("SELECT count(*) FROM published_periods WHERE pcn_code = ? AND period_start = ?",
                           [pcn_code, period_start]).fetchall()[0][0]
        if held:
            return False
        con.execute("INSERT INTO published_periods VALUES (?, ?, ?, ?)",
                    [pcn_code, period_start, principal.actor, when])
        con.execute("INSERT INTO access_log VALUES (nextval('access_log_id_seq'), ?, ?, 'publish', ?, ?, ?)",
                    [when, principal.actor, pcn_code, f"local values for the period starting {period_start}", via])
        return True

    return _retrying(lambda: _in_writer(store, work))


def withdraw_period(store: Store, principal, pcn_code: str, period_start: date, *, via: str = "app") -> bool:
    """Make a published period private to the PCN again; False if it was not published."""
    from . import access

    access.require_edit(principal, pcn_code, "withdraw published local values")
    when = _now()

    def work(con):
        gone = con.execute("DELETE FROM published_periods WHERE pcn_code = ? AND period_start = ? RETURNING 1",
                           [pcn_code, period_start]).fetchall()
        if gone:
            con.execute("INSERT INTO access_log VALUES (nextval('access_log_id_seq'), ?, ?, 'withdraw', ?, ?, ?)",
                        [when, principal.actor, pcn_code, f"local values for the period starting {period_start}",
                         via])
        return bool(gone)

    return _retrying(lambda: _in_writer(store, work))
