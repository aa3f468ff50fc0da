"""Validating recorded values row by row (measure, period, organisation, numbers) into a batch ready to save."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from ..catalogue import Measure, compute_values
from ..store import Connection, Store
from ..text import shorten
from .cells import _amount_problem, _amount_text, _blank, _day, _formula_problem, _number, _number_text
from .common import _has_table
from .definitions import LOCAL_FAMILIES, _resolve, _versions_in
from .periods import FIRST_PERIOD, _period_containing, applies_to, is_period_start, period_end
from .problems import Problem, RecordingError, _shown
from .reading import _read_upload

GRID_SOURCE = "in-app grid"

ENTRY_COLUMNS = ["row", "measure_id", "measure_version", "org_code", "org_level", "pcn_code", "period_start",
                 "period_end", "numerator", "denominator", "value"]


def _no_deletions() -> pd.DataFrame:
    return pd.DataFrame(columns=ENTRY_COLUMNS).astype({"numerator": "float64", "denominator": "float64",
                                                       "value": "float64"})


@dataclass
class Batch:
    """Validated values ready to save: one row per organisation, period and measure version."""

    source: str
    entries: pd.DataFrame
    skipped: int = 0  # rows with a blank numerator and denominator
    measures: dict[tuple[str, int], Measure] = field(default_factory=dict)
    sheet: str | None = None  # the sheet of an xlsx file that was read
    hidden_sheets: tuple[str, ...] = ()  # the sheets of an xlsx file that were not read because they are hidden
    # Cells cleared in the grid: each deletes the value held for it, if any (a file's blank rows delete nothing,
    # since a template's blank row means "nothing to record", not "remove what is there").
    deletions: pd.DataFrame = field(default_factory=_no_deletions)

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


@dataclass
class _Context:
    """What validation looks up, read once per batch."""

    versions: dict[str, dict[int, Measure]]
    orgs: dict[str, tuple[str, str]]  # code -> (level, name)
    memberships: dict[str, list[tuple[date, date | None, str]]]  # practice -> [(start, end, pcn)]
    icb_of: dict[str, str | None]  # a PCN's ICB, and a neighbourhood's
    hood_practices: dict[str, list[tuple[str, date, date | None]]] = field(default_factory=dict)

    def pcn_of(self, practice: str, day: date) -> str | None:
        for start, end, pcn in self.memberships.get(practice, []):
            if start <= day and (end is None or end >= day):
                return pcn
        return None

    def hood_pcns(self, code: str, day: date) -> set[str]:
        """The PCNs with a practice in the neighbourhood on `day`."""
        return {self.pcn_of(practice, day) for practice, start, end in self.hood_practices.get(code, [])
                if start <= day and (end is None or end >= day)} - {None}


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
    hoods = _neighbourhoods_in(con, orgs, icb_of)
    return _Context(versions, orgs, memberships, icb_of, hoods)


def _neighbourhoods_in(con, orgs: dict, icb_of: dict) -> dict[str, list]:
    """Adds each neighbourhood to `orgs` and `icb_of`; returns its practices with their dates."""
    from ..neighbourhoods import _PRACTICES

    if not _has_table(con, "neighbourhoods"):
        return {}
    for code, name, icb in con.execute("SELECT neighbourhood_code, name, icb_code FROM neighbourhoods").fetchall():
        orgs[code], icb_of[code] = ("neighbourhood", name), icb
    practices: dict[str, list] = {}
    for code, practice, start, end in con.execute(
            f"SELECT neighbourhood, practice, start_date, end_date FROM ({_PRACTICES})").fetchall():
        practices.setdefault(code, []).append((practice, start, end))
    return practices


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


def validate_in(con: Connection, rows: list[tuple[int, dict]], source: str, *,
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
            elif level == "neighbourhood":
                # Keyed by the neighbourhood itself: who records and reads it follows its PCNs (measures.access).
                org_pcn = org_code
                if pcn_code is not None and period is not None and pcn_code not in ctx.hood_pcns(org_code, period):
                    bad("org_code", f"{org_code} ({name}) did not include {pcn_code} on {period}; these values "
                                    f"are for {pcn_code} and its neighbourhoods")
                    org_pcn = None
            elif period is not None:
                org_pcn = ctx.pcn_of(org_code, period)
                if org_pcn is None:
                    bad("org_code", f"{org_code} ({name}) belonged to no PCN on {period}")
            if org_pcn is not None and pcn_code is not None and org_pcn != pcn_code and level != "neighbourhood":
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
        if _blank(cells.get("numerator")):
            bad("numerator", "is blank but the denominator is filled in; give both, or leave both blank")
        else:
            numerator = _amount(cells, "numerator", measure, bad)
        if measure is not None and measure.type == "count":
            if not _blank(cells.get("denominator")):
                bad("denominator", f"must be blank: {measure.id} is a count, which has no denominator")
        elif _blank(cells.get("denominator")):
            if numerator is not None and measure is not None:
                bad("denominator", "is blank; this measure divides by a denominator, so give both")
        else:
            denominator = _amount(cells, "denominator", measure, bad)
            if denominator is not None and denominator <= 0:
                bad("denominator", f"{_number_text(denominator)} is not above 0, so no value can be "
                                   "computed; leave the row blank if there is nothing to record")
                denominator = None
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


def _amount(cells: dict, column: str, measure: Measure | None, bad) -> float | None:
    """A filled-in numerator or denominator cell as a number, or None once `bad` has been told what is wrong."""
    try:
        amount = _number(cells[column])
    except ValueError as exc:
        bad(column, str(exc))
        return None
    beyond = _amount_problem(measure, column, amount)
    if beyond:
        bad(column, beyond)
        return None
    return amount


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
        measure = _resolve(con, measure_id)
    rows, cleared = [], []
    for number, row in enumerate(edited.itertuples(index=False), start=1):
        cells = {"measure_id": measure_id, "measure_version": measure.version, "period_start": period,
                 "org_code": row.org_code, "numerator": row.numerator,
                 "denominator": getattr(row, "denominator", None)}
        rows.append((number, cells))
        if _blank(cells["numerator"]) and _blank(cells["denominator"]):
            cleared.append({"row": number, "measure_id": measure.id, "measure_version": measure.version,
                            "org_code": str(row.org_code), "org_level": measure.level, "pcn_code": pcn_code,
                            "period_start": period, "period_end": period_end(measure, period),
                            "numerator": np.nan, "denominator": np.nan, "value": np.nan})
    batch = validate_rows(store, rows, GRID_SOURCE, pcn_code=pcn_code, today=today)
    if cleared:
        batch.deletions = pd.DataFrame(cleared, columns=ENTRY_COLUMNS).astype(
            {"numerator": "float64", "denominator": "float64", "value": "float64"})
        batch.measures[(measure.id, measure.version)] = measure
    return batch
