"""An ICB's neighbourhoods and dated members, from a neighbourhood file or the app's table, checked and loaded whole."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd
import yaml
from pydantic import ValidationError, field_validator, model_validator

from ..access.files import ICB_CODE, StrictModel
from ..store import Connection, Store
from ..text import shorten, shown

MAX_FILE_BYTES = 1_000_000
MAX_PROBLEMS = 50
LEVEL = "neighbourhood"  # parent_level of a neighbourhood's rows in `memberships`

# A neighbourhood code is the ICB's own: letters, digits and hyphens, e.g. QZZ-RIVERSIDE.
_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,29}$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class NeighbourhoodFileError(ValueError):
    """The neighbourhoods cannot be loaded; each line names the file and field (or the table's row and column), and
    nothing was changed."""


def _as_day(value):
    """A date written as YYYY-MM-DD (YAML reads it as a date already); anything else is refused, never guessed."""
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{shown(value)} is not a date: there is no such day") from None
    raise ValueError(f"{shown(value)} is not a date; write it as YYYY-MM-DD, for example 2026-04-01")


class Member(StrictModel):
    """One PCN (all its practices on each day) or one practice, a member from `start` to `end` (blank: still is)."""

    pcn: str | None = None
    practice: str | None = None
    start: date
    end: date | None = None

    @field_validator("pcn", "practice", mode="before")
    @classmethod
    def _code(cls, value):
        return None if value is None else str(value).strip().upper()

    @field_validator("start", "end", mode="before")
    @classmethod
    def _day(cls, value):
        return _as_day(value)

    @model_validator(mode="after")
    def _one_member(self) -> "Member":
        if (self.pcn is None) == (self.practice is None):
            raise ValueError("give either `pcn` or `practice` (one member per entry)")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def code(self) -> str:
        return self.pcn or self.practice

    @property
    def level(self) -> str:
        return "pcn" if self.pcn else "practice"


class Neighbourhood(StrictModel):
    code: str
    name: str
    members: tuple[Member, ...]

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, value):
        text = str(value).strip().upper()
        if not _CODE.match(text):
            raise ValueError(f"{shown(value)} is not a neighbourhood code: 2 to 30 letters, digits or hyphens, "
                             "starting with a letter, e.g. QZZ-RIVERSIDE")
        return text

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > 120:
            raise ValueError("give a name of 1 to 120 characters")
        return value

    @field_validator("members")
    @classmethod
    def _some(cls, value):
        if not value:
            raise ValueError("list at least one member PCN or practice")
        return value


class NeighbourhoodFile(StrictModel):
    """The whole file: one ICB and every one of its neighbourhoods (the file replaces what the ICB had)."""

    version: int = 1
    icb: str
    neighbourhoods: tuple[Neighbourhood, ...]

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != 1:
            raise ValueError("only version 1 is read")
        return value

    @field_validator("icb", mode="before")
    @classmethod
    def _icb(cls, value):
        text = str(value).strip().upper()
        if not ICB_CODE.match(text):
            raise ValueError(f"{shown(value)} is not an ICB code (like QHM, or a 5-character code)")
        return text


def _where(location: tuple) -> str:
    """A pydantic location as the file's field: neighbourhoods[0].members[2].start."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


# --- where a mistake is: a field of the file, or a row and column of the app's table -----------------------------

# The app's table of the same rows, one a member: its columns (as its data frame names them) and their headings.
TABLE_COLUMNS = {"neighbourhood_code": "Neighbourhood code", "name": "Name", "member_kind": "Member kind",
                 "member_code": "Member code", "start_date": "Start", "end_date": "End"}
TABLE_SOURCE = "neighbourhood table"
APP_FILE_NAME = "defined in the app"  # `neighbourhoods.file_name` of a table saved in the app
MAX_TABLE_ROWS = 5_000
_FIELD_COLUMNS = {"code": "neighbourhood_code", "name": "name", "members": "member_code", "pcn": "member_code",
                  "practice": "member_code", "start": "start_date", "end": "end_date"}


class _InFile:
    """A place in a neighbourhood file, as `path: field 'neighbourhoods[0].members[2].start'`."""

    container = "file"

    def __init__(self, path: Path):
        self.path = path

    def whole(self) -> str:
        return str(self.path)

    def ref(self, loc: tuple, via: str | None = None) -> str:
        return _where(loc) + (f" (PCN {via})" if via else "")

    def at(self, loc: tuple, via: str | None = None, column: str | None = None) -> str:
        return f"{self.path}: field '{self.ref(loc, via)}'"


class _InTable:
    """A place in the app's table, as `neighbourhood table, row 3, column Start` (rows counted from 1 at the top).

    A neighbourhood is every row with its code; its own fields are blamed on its first row (its name on the row
    that gives the name), a member's on the member's row.
    """

    container = "table"

    def __init__(self, source: str):
        self.source = source
        self.hood_rows: dict[int, int] = {}
        self.name_rows: dict[int, int] = {}
        self.member_rows: dict[tuple[int, int], int] = {}

    def whole(self) -> str:
        return self.source

    def cell(self, row: int, column: str) -> str:
        return f"{self.source}, row {row}, column {TABLE_COLUMNS[column]}"

    def _row(self, loc: tuple) -> tuple[int | None, str | None, bool]:
        if len(loc) >= 4 and loc[0] == "neighbourhoods" and loc[2] == "members" and isinstance(loc[3], int):
            return self.member_rows.get((loc[1], loc[3])), (loc[4] if len(loc) > 4 else None), True
        if len(loc) >= 2 and loc[0] == "neighbourhoods" and isinstance(loc[1], int):
            field = loc[2] if len(loc) > 2 else None
            return (self.name_rows if field == "name" else self.hood_rows).get(loc[1]), field, False
        return None, None, False

    def ref(self, loc: tuple, via: str | None = None) -> str:
        row = self._row(loc)[0]
        return (f"row {row}" if row else self.source) + (f" (PCN {via})" if via else "")

    def at(self, loc: tuple, via: str | None = None, column: str | None = None) -> str:
        row, field, member = self._row(loc)
        if row is None:
            return f"{self.source}, column {TABLE_COLUMNS['neighbourhood_code']}" if loc[:1] == ("neighbourhoods",) \
                else self.source
        default = "member_code" if member else "neighbourhood_code"
        return self.cell(row, column or _FIELD_COLUMNS.get(field) or default)


def _validated(raw: dict, where) -> NeighbourhoodFile:
    """The file's model checked, then its own duplicates and overlaps; every problem named where it is."""
    try:
        parsed = NeighbourhoodFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:MAX_PROBLEMS]:
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = ("unknown field (expected version, icb, neighbourhoods; in a neighbourhood: code, name, "
                           "members; in a member: pcn or practice, start, end)")
            # A member's own check (an end before its start) is about its end, in the table's terms.
            column = "end_date" if "is before start" in message else None
            problems.append(f"{where.at(tuple(error['loc']), column=column)}: {message}")
        raise NeighbourhoodFileError("\n".join(problems)) from None
    problems = _file_problems(where, parsed)
    if problems:
        raise NeighbourhoodFileError("\n".join(problems[:MAX_PROBLEMS]))
    return parsed


def parse_file(path: Path | str, data: bytes | None = None) -> NeighbourhoodFile:
    """Read and check a neighbourhood file on its own (no store): shape, codes, dates, duplicates and overlaps."""
    path = Path(path)
    try:
        data = path.read_bytes() if data is None else data
    except OSError as exc:
        raise NeighbourhoodFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise NeighbourhoodFileError(f"{path}: {len(data):,} bytes is larger than a neighbourhood file can be "
                                     f"({MAX_FILE_BYTES:,}); nothing was loaded")
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=_NoAliasLoader)
    except UnicodeDecodeError:
        raise NeighbourhoodFileError(f"{path}: not UTF-8 text; save it as UTF-8 and load it again") from None
    except yaml.YAMLError as exc:
        raise NeighbourhoodFileError(f"{path}: not valid YAML: {shorten(exc, 300)}") from None
    if not isinstance(raw, dict):
        raise NeighbourhoodFileError(f"{path}: expected a mapping with `icb` and `neighbourhoods`, "
                                     f"got {type(raw).__name__}")
    return _validated(raw, _InFile(path))


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases: one anchor repeated can make a small file huge."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


# --- the app's table: the file's rows, one a member ---------------------------------------------------------------


def _cell(value):
    """A table cell as a day or stripped text; blank (None, NaN, NaT, spaces) as None."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, datetime):  # a pandas Timestamp too
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    return text or None


def _table(icb: str, rows: Iterable[Mapping], source: str) -> tuple[NeighbourhoodFile, _InTable]:
    """The table's rows as the file they stand for, checked by the file's own rules; each problem by row and column."""
    where = _InTable(source)
    problems: list[str] = []
    hoods: dict[str, dict] = {}  # by code, in the order first given
    for number, row in enumerate(rows, start=1):
        if number > MAX_TABLE_ROWS:
            problems.append(f"{source}: more than {MAX_TABLE_ROWS:,} rows; load a neighbourhood file instead")
            break
        cells = {key: _cell(row.get(key)) for key in TABLE_COLUMNS}
        if all(value is None for value in cells.values()):
            continue  # an empty row, e.g. one added and left blank
        before = len(problems)

        def bad(column: str, message: str) -> None:
            problems.append(f"{where.cell(number, column)}: {message}")

        code = None if cells["neighbourhood_code"] is None else str(cells["neighbourhood_code"]).upper()
        if code is None:
            bad("neighbourhood_code", "is blank; give the neighbourhood's code, e.g. QZZ-RIVERSIDE")
        kind = cells["member_kind"]
        if kind is None or str(kind).lower() not in ("pcn", "practice"):
            bad("member_kind", ("is blank" if kind is None else f"{shown(kind)} is not a member kind")
                + "; write pcn (a whole PCN) or practice")
        if cells["member_code"] is None:
            bad("member_code", "is blank; give the PCN's or the practice's code")
        if cells["start_date"] is None:
            bad("start_date", "is blank; give the first day of membership as YYYY-MM-DD, for example 2026-04-01")
        hood = None
        if code is not None:
            hood = hoods.setdefault(code, {"code": code, "name": None, "name_row": None, "first_row": number,
                                           "members": []})
            name = cells["name"]
            if name is not None and hood["name"] is None:
                hood["name"], hood["name_row"] = str(name), number
            elif name is not None and str(name) != hood["name"]:
                bad("name", f"{shown(name)} differs from {shown(hood['name'])}, given for {code} in row "
                            f"{hood['name_row']}; give a neighbourhood's name on one of its rows, or the same on each")
        if hood is None or len(problems) > before:
            continue
        hood["members"].append((number, {str(kind).lower(): cells["member_code"], "start": cells["start_date"],
                                         "end": cells["end_date"]}))
    listed = []
    for hood in hoods.values():
        if not hood["members"]:
            continue  # every row of it has a problem of its own, already named
        n = len(listed)
        where.hood_rows[n] = hood["first_row"]
        where.name_rows[n] = hood["name_row"] or hood["first_row"]
        for m, (number, _) in enumerate(hood["members"]):
            where.member_rows[(n, m)] = number
        listed.append({"code": hood["code"], "name": hood["name"] or "",
                       "members": [member for _, member in hood["members"]]})
    parsed = None
    try:
        parsed = _validated({"version": 1, "icb": icb, "neighbourhoods": listed}, where)
    except NeighbourhoodFileError as exc:
        problems += str(exc).splitlines()
    if problems:
        raise NeighbourhoodFileError("\n".join(problems[:MAX_PROBLEMS]))
    return parsed, where


def parse_rows(icb: str, rows: Iterable[Mapping], source: str = TABLE_SOURCE) -> NeighbourhoodFile:
    """Check the app's table of an ICB's neighbourhoods on its own (no store), by the file's rules.

    Each row is one member: neighbourhood_code, name (on one row of the neighbourhood or the same on each),
    member_kind (pcn or practice), member_code, start_date, end_date (blank: still a member). Blank rows are skipped.
    """
    return _table(icb, rows, source)[0]


def table_rows(parsed: NeighbourhoodFile) -> pd.DataFrame:
    """The neighbourhoods as the app's table: a row a member, each neighbourhood's name on its first row only."""
    rows = [{"neighbourhood_code": hood.code, "name": hood.name if m == 0 else None, "member_kind": member.level,
             "member_code": member.code, "start_date": member.start, "end_date": member.end}
            for hood in parsed.neighbourhoods for m, member in enumerate(hood.members)]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def file_text(parsed: NeighbourhoodFile) -> str:
    """The neighbourhoods as the neighbourhood file the command line loads (`python -m measures neighbourhoods`)."""
    data = {"version": 1, "icb": parsed.icb, "neighbourhoods": [
        {"code": hood.code, "name": hood.name,
         "members": [{member.level: member.code, "start": member.start, **({"end": member.end} if member.end else {})}
                     for member in hood.members]}
        for hood in parsed.neighbourhoods]}
    header = (f"# The neighbourhoods of {parsed.icb}: each one's member PCNs or practices, with the dates of each.\n"
              "# Load it with: python -m measures neighbourhoods FILE (administrators only).\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def held_file(store: Store, icb: str) -> NeighbourhoodFile:
    """The ICB's neighbourhoods as the store holds them, as a file would give them (none: an empty file)."""
    with store.reader() as con:
        hoods, members = _held(con, icb) if _has_table(con) else ({}, [])
    listed = {code: {"code": code, "name": name, "members": []}
              for code, name in sorted(hoods.items(), key=lambda item: (item[1], item[0]))}
    for child, parent, level, _, start, end in sorted(members, key=lambda r: (r[4], r[2], r[0])):
        listed[parent]["members"].append({level: child, "start": start, "end": end})
    return NeighbourhoodFile.model_validate({"version": 1, "icb": icb, "neighbourhoods": list(listed.values())})


def _overlap(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    return (a_end is None or a_end >= b_start) and (b_end is None or b_end >= a_start)


def _span(start: date, end: date | None) -> str:
    return f"{start} to {end}" if end else f"from {start}"


def _file_problems(where, parsed: NeighbourhoodFile) -> list[str]:
    problems: list[str] = []
    first_code: dict[str, int] = {}
    entries = []  # (member level, code, neighbourhood code, start, end, location, PCN counted through)
    for n, hood in enumerate(parsed.neighbourhoods):
        if hood.code in first_code:
            problems.append(f"{where.at(('neighbourhoods', n, 'code'))}: {hood.code} is already the code of "
                            f"{where.ref(('neighbourhoods', first_code[hood.code]))}; give each neighbourhood "
                            "its own code")
        first_code.setdefault(hood.code, n)
        for m, member in enumerate(hood.members):
            entries.append((member.level, member.code, hood.code, member.start, member.end,
                            ("neighbourhoods", n, "members", m), None))
    problems += _overlaps(where, entries)
    return problems


def _overlaps(where, entries: list[tuple]) -> list[str]:
    """The same PCN or practice counted twice on a day: twice in one neighbourhood, or in two at once."""
    problems = []
    by_member: dict[tuple, list] = {}
    for entry in entries:
        by_member.setdefault((entry[0], entry[1]), []).append(entry)
    for (level, code), held in by_member.items():
        held.sort(key=lambda e: e[3])
        for i, (_, _, hood, start, end, loc, via) in enumerate(held):
            for _, _, other_hood, other_start, other_end, other_loc, other_via in held[:i]:
                if not _overlap(start, end, other_start, other_end):
                    continue
                what = "PCN" if level == "pcn" else "practice"
                other = where.ref(other_loc, other_via)
                if hood == other_hood:
                    # A practice counted through its PCN names the PCN's entry, which has no start of its own to blame.
                    place = where.at(loc, via) if via else where.at((*loc, "start"))
                    problems.append(f"{place}: {what} {code} is already a member of {hood} "
                                    f"{_span(other_start, other_end)} ({other}); these dates overlap it")
                else:
                    problems.append(f"{where.at(loc, via)}: {what} {code} would be in two neighbourhoods at once: "
                                    f"{hood} {_span(start, end)} and {other_hood} {_span(other_start, other_end)} "
                                    f"({other})")
    return problems


# --- against the store --------------------------------------------------------------------------------------


def _has_table(con: Connection) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'neighbourhoods'"
                       ).fetchall()[0][0] > 0


def store_problems(con: Connection, where, parsed: NeighbourhoodFile) -> list[str]:
    """What the file (or table) says that the store contradicts: unknown or other ICBs' codes, a practice counted
    twice. `where` is the file's path, or how the app's table names its rows."""
    if isinstance(where, (str, Path)):
        where = _InFile(Path(where))
    problems: list[str] = []
    levels = dict(con.execute("SELECT org_code, org_level FROM organisations").fetchall())
    if levels.get(parsed.icb) != "icb":
        problems.append(f"{where.at(('icb',))}: {parsed.icb} is not an ICB in this database")
    icb_of_pcn = dict(con.execute(
        """
        SELECT ms.child_code, mi.parent_code FROM memberships ms
        JOIN memberships mi ON mi.child_code = ms.parent_code AND mi.parent_level = 'icb' AND mi.end_date IS NULL
        WHERE ms.parent_level = 'sub_icb' AND ms.child_level = 'pcn' AND ms.end_date IS NULL
        """).fetchall())
    elsewhere = dict(con.execute("SELECT neighbourhood_code, icb_code FROM neighbourhoods WHERE icb_code <> ?",
                                 [parsed.icb]).fetchall())
    for n, hood in enumerate(parsed.neighbourhoods):
        if hood.code in levels:
            problems.append(f"{where.at(('neighbourhoods', n, 'code'))}: {hood.code} is the code of a "
                            f"{levels[hood.code].replace('_', '-')}; give the neighbourhood a code of its own")
        if hood.code in elsewhere:
            problems.append(f"{where.at(('neighbourhoods', n, 'code'))}: {hood.code} is a neighbourhood of "
                            f"{elsewhere[hood.code]}; give this one another code")
        for m, member in enumerate(hood.members):
            loc = ("neighbourhoods", n, "members", m, member.level)
            level = levels.get(member.code)
            if level != member.level:
                kind = "PCN" if member.level == "pcn" else "practice"
                found = f" (it is a {level.replace('_', '-')})" if level else ""
                problems.append(f"{where.at(loc)}: {shown(member.code)} is not a known {kind} code{found}")
            elif member.level == "pcn" and icb_of_pcn.get(member.code) not in (None, parsed.icb):
                problems.append(f"{where.at(loc)}: PCN {member.code} is in {icb_of_pcn[member.code]}, "
                                f"not {parsed.icb}; an ICB defines neighbourhoods of its own PCNs")
    if problems:
        return problems
    return _overlaps(where, _practice_entries(con, parsed))


def _practice_entries(con: Connection, parsed: NeighbourhoodFile) -> list[tuple]:
    """Every member as the practices it counts, with their dates: a PCN member gives each practice it had then."""
    pcn_codes = sorted({m.code for hood in parsed.neighbourhoods for m in hood.members if m.level == "pcn"})
    practices: dict[str, list] = {}
    for practice, pcn, start, end in con.execute(
            "SELECT child_code, parent_code, start_date, end_date FROM memberships WHERE parent_level = 'pcn' "
            "AND child_level = 'practice' AND parent_code IN (SELECT unnest(?))", [pcn_codes]).fetchall():
        practices.setdefault(pcn, []).append((practice, start, end))
    entries = []
    for n, hood in enumerate(parsed.neighbourhoods):
        for m, member in enumerate(hood.members):
            loc = ("neighbourhoods", n, "members", m)
            if member.level == "practice":
                entries.append(("practice", member.code, hood.code, member.start, member.end, loc, None))
                continue
            for practice, start, end in practices.get(member.code, []):
                if _overlap(member.start, member.end, start, end):
                    entries.append(("practice", practice, hood.code, max(member.start, start),
                                    min((d for d in (member.end, end) if d is not None), default=None),
                                    loc, member.code))
    return entries


# --- loading ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """What loading a neighbourhood file (or the app's table) did."""

    file: str
    icb: str
    neighbourhoods: int
    members: int
    changed: bool
    dry_run: bool = False

    @property
    def what(self) -> str:
        return (f"{self.neighbourhoods} neighbourhood{'s' if self.neighbourhoods != 1 else ''} of {self.icb}, "
                f"{self.members} member{'s' if self.members != 1 else ''}")

    def summary(self) -> str:
        if self.dry_run:
            return f"{self.file} is valid: {self.what}; nothing saved (--dry-run)"
        if not self.changed:
            return f"{self.file}: {self.what}, as already loaded; nothing changed"
        return f"Loaded {self.file}: {self.what}"


def _rows(parsed: NeighbourhoodFile) -> list[tuple]:
    return sorted((m.code, hood.code, m.level, LEVEL, m.start, m.end)
                  for hood in parsed.neighbourhoods for m in hood.members)


def _held(con: Connection, icb: str) -> tuple[dict, list[tuple]]:
    hoods = {code: name for code, name in con.execute(
        "SELECT neighbourhood_code, name FROM neighbourhoods WHERE icb_code = ?", [icb]).fetchall()}
    members = con.execute(
        "SELECT child_code, parent_code, child_level, parent_level, start_date, end_date FROM memberships "
        "WHERE parent_level = ? AND parent_code IN (SELECT unnest(?))", [LEVEL, sorted(hoods)]).fetchall()
    return hoods, sorted(members)


def _removed_with_values(con: Connection, where, gone: list[str]) -> list[str]:
    if not gone:
        return []
    held = con.execute("SELECT org_code, count(*) FROM recorded_values WHERE org_code IN (SELECT unnest(?)) "
                       "GROUP BY org_code ORDER BY org_code", [gone]).fetchall()
    return [f"{where.at(('neighbourhoods',))}: {code} is left out, but {count} "
            f"value{'s are' if count != 1 else ' is'} recorded for it; keep it in the {where.container} "
            "(end its members' dates instead)" for code, count in held]


def load_file(store: Store, path: Path | str, *, actor: str, data: bytes | None = None,
              dry_run: bool = False, principal=None) -> Loaded:
    """Check a neighbourhood file and make it the ICB's neighbourhoods, all or nothing.

    The ICB's neighbourhoods and their members become exactly the file's; loading the same file again changes
    nothing. Only administrators load one (`principal`, when access rules apply).
    """
    from .. import access

    path = Path(path)
    if principal is not None:
        access.require_admin(principal, "load neighbourhoods")
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise NeighbourhoodFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    parsed = parse_file(path, data)
    return _load(store, parsed, _InFile(path), file_name=path.name, digest=hashlib.sha256(data).hexdigest(),
                 actor=actor, dry_run=dry_run)


def load_rows(store: Store, icb: str, rows: Iterable[Mapping], *, actor: str, dry_run: bool = False,
              principal=None, source: str = TABLE_SOURCE) -> Loaded:
    """Check the app's table of an ICB's neighbourhoods (see `parse_rows`) and make it the ICB's neighbourhoods,
    by the same checks and the same loading as a file, all or nothing; mistakes are named by row and column.

    The store records it as loaded from APP_FILE_NAME by `actor`, with the digest of `file_text` (the file the
    app offers to download), so the same neighbourhoods loaded from that file later change nothing.
    """
    from .. import access

    if principal is not None:
        access.require_admin(principal, "define neighbourhoods")
    parsed, where = _table(icb, rows, source)
    digest = hashlib.sha256(file_text(parsed).encode("utf-8")).hexdigest()
    return _load(store, parsed, where, file_name=APP_FILE_NAME, digest=digest, actor=actor, dry_run=dry_run)


def _load(store: Store, parsed: NeighbourhoodFile, where, *, file_name: str, digest: str, actor: str,
          dry_run: bool) -> Loaded:
    """Check `parsed` against the store and make it the ICB's neighbourhoods (the file's and the table's path)."""
    rows = _rows(parsed)
    count = len(parsed.neighbourhoods)

    def check(con) -> tuple[dict, list]:
        if not _has_table(con):
            raise NeighbourhoodFileError(f"{where.whole()}: this database has no table of neighbourhoods yet; open "
                                         "it in the app once (which brings its tables up to date) and try again")
        problems = store_problems(con, where, parsed)
        hoods, members = _held(con, parsed.icb)
        problems += _removed_with_values(con, where, sorted(set(hoods) - {h.code for h in parsed.neighbourhoods}))
        if problems:
            raise NeighbourhoodFileError("\n".join(problems[:MAX_PROBLEMS]))
        return hoods, members

    if dry_run:
        with store.reader() as con:
            check(con)
        return Loaded(file_name, parsed.icb, count, len(rows), changed=False, dry_run=True)
    with store.writer() as con:
        hoods, members = check(con)
        names = {h.code: h.name for h in parsed.neighbourhoods}
        if hoods == names and [tuple(r) for r in members] == rows:
            return Loaded(file_name, parsed.icb, count, len(rows), changed=False)
        con.execute("DELETE FROM memberships WHERE parent_level = ? AND parent_code IN (SELECT unnest(?))",
                    [LEVEL, sorted(hoods)])
        con.execute("DELETE FROM neighbourhoods WHERE icb_code = ?", [parsed.icb])
        now = datetime.now().replace(microsecond=0)
        con.executemany("INSERT INTO neighbourhoods VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [[h.code, h.name, parsed.icb, file_name, digest, actor, now] for h in parsed.neighbourhoods])
        if rows:
            incoming = pd.DataFrame(rows, columns=["child_code", "parent_code", "child_level", "parent_level",
                                                   "start_date", "end_date"])
            con.register("_neighbourhood_members", incoming)
            try:
                con.execute("INSERT INTO memberships (child_code, parent_code, child_level, parent_level, "
                            "start_date, end_date) SELECT child_code, parent_code, child_level, parent_level, "
                            "CAST(start_date AS DATE), CAST(end_date AS DATE) FROM _neighbourhood_members")
            finally:
                con.unregister("_neighbourhood_members")
    return Loaded(file_name, parsed.icb, count, len(rows), changed=True)
