"""The neighbourhood file: an ICB's neighbourhoods and their dated member PCNs or practices, checked and loaded whole."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

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
    """The neighbourhood file cannot be loaded; each line names the file and the field, and nothing was changed."""


def _as_day(value):
    """A date written as YYYY-MM-DD (YAML reads it as a date already); anything else is refused, never guessed."""
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.match(value.strip()):
        return date.fromisoformat(value.strip())
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
    try:
        parsed = NeighbourhoodFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:MAX_PROBLEMS]:
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = ("unknown field (expected version, icb, neighbourhoods; in a neighbourhood: code, name, "
                           "members; in a member: pcn or practice, start, end)")
            problems.append(f"{path}: field '{_where(error['loc'])}': {message}")
        raise NeighbourhoodFileError("\n".join(problems)) from None
    problems = _file_problems(path, parsed)
    if problems:
        raise NeighbourhoodFileError("\n".join(problems[:MAX_PROBLEMS]))
    return parsed


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases: one anchor repeated can make a small file huge."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


def _overlap(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    return (a_end is None or a_end >= b_start) and (b_end is None or b_end >= a_start)


def _span(start: date, end: date | None) -> str:
    return f"{start} to {end}" if end else f"from {start}"


def _file_problems(path: Path, parsed: NeighbourhoodFile) -> list[str]:
    problems: list[str] = []
    first_code: dict[str, int] = {}
    entries = []  # (member level, code, neighbourhood code, start, end, field)
    for n, hood in enumerate(parsed.neighbourhoods):
        if hood.code in first_code:
            problems.append(f"{path}: field 'neighbourhoods[{n}].code': {hood.code} is already the code of "
                            f"neighbourhoods[{first_code[hood.code]}]; give each neighbourhood its own code")
        first_code.setdefault(hood.code, n)
        for m, member in enumerate(hood.members):
            entries.append((member.level, member.code, hood.code, member.start, member.end,
                            f"neighbourhoods[{n}].members[{m}]"))
    problems += _overlaps(path, entries)
    return problems


def _overlaps(path: Path, entries: list[tuple]) -> list[str]:
    """The same PCN or practice counted twice on a day: twice in one neighbourhood, or in two at once."""
    problems = []
    by_member: dict[tuple, list] = {}
    for entry in entries:
        by_member.setdefault((entry[0], entry[1]), []).append(entry)
    for (level, code), held in by_member.items():
        held.sort(key=lambda e: e[3])
        for i, (_, _, hood, start, end, where) in enumerate(held):
            for _, _, other_hood, other_start, other_end, other_where in held[:i]:
                if not _overlap(start, end, other_start, other_end):
                    continue
                what = "PCN" if level == "pcn" else "practice"
                if hood == other_hood:
                    # A practice counted through its PCN names the PCN's entry, which has no start of its own to blame.
                    field = where if " (PCN " in where else f"{where}.start"
                    problems.append(f"{path}: field '{field}': {what} {code} is already a member of {hood} "
                                    f"{_span(other_start, other_end)} ({other_where}); these dates overlap it")
                else:
                    problems.append(f"{path}: field '{where}': {what} {code} would be in two neighbourhoods at once: "
                                    f"{hood} {_span(start, end)} and {other_hood} {_span(other_start, other_end)} "
                                    f"({other_where})")
    return problems


# --- against the store --------------------------------------------------------------------------------------


def store_problems(con: Connection, path: Path, parsed: NeighbourhoodFile) -> list[str]:
    """What the file says that the store contradicts: unknown or other ICBs' codes, a practice counted twice."""
    problems: list[str] = []
    levels = dict(con.execute("SELECT org_code, org_level FROM organisations").fetchall())
    if levels.get(parsed.icb) != "icb":
        problems.append(f"{path}: field 'icb': {parsed.icb} is not an ICB in this database")
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
            problems.append(f"{path}: field 'neighbourhoods[{n}].code': {hood.code} is the code of a "
                            f"{levels[hood.code].replace('_', '-')}; give the neighbourhood a code of its own")
        if hood.code in elsewhere:
            problems.append(f"{path}: field 'neighbourhoods[{n}].code': {hood.code} is a neighbourhood of "
                            f"{elsewhere[hood.code]}; give this one another code")
        for m, member in enumerate(hood.members):
            where = f"neighbourhoods[{n}].members[{m}].{member.level}"
            level = levels.get(member.code)
            if level != member.level:
                kind = "PCN" if member.level == "pcn" else "practice"
                found = f" (it is a {level.replace('_', '-')})" if level else ""
                problems.append(f"{path}: field '{where}': {shown(member.code)} is not a known {kind} code{found}")
            elif member.level == "pcn" and icb_of_pcn.get(member.code) not in (None, parsed.icb):
                problems.append(f"{path}: field '{where}': PCN {member.code} is in {icb_of_pcn[member.code]}, "
                                f"not {parsed.icb}; an ICB defines neighbourhoods of its own PCNs")
    if problems:
        return problems
    return _overlaps(path, _practice_entries(con, parsed))


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
            where = f"neighbourhoods[{n}].members[{m}]"
            if member.level == "practice":
                entries.append(("practice", member.code, hood.code, member.start, member.end, where))
                continue
            for practice, start, end in practices.get(member.code, []):
                if _overlap(member.start, member.end, start, end):
                    entries.append(("practice", practice, hood.code, max(member.start, start),
                                    min((d for d in (member.end, end) if d is not None), default=None),
                                    f"{where} (PCN {member.code})"))
    return entries


# --- loading ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """What loading a neighbourhood file did."""

    file: str
    icb: str
    neighbourhoods: int
    members: int
    changed: bool
    dry_run: bool = False

    def summary(self) -> str:
        what = f"{self.neighbourhoods} neighbourhood{'s' if self.neighbourhoods != 1 else ''} of {self.icb}, " \
               f"{self.members} member{'s' if self.members != 1 else ''}"
        if self.dry_run:
            return f"{self.file} is valid: {what}; nothing saved (--dry-run)"
        if not self.changed:
            return f"{self.file}: {what}, as already loaded; nothing changed"
        return f"Loaded {self.file}: {what}"


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


def _removed_with_values(con: Connection, path: Path, gone: list[str]) -> list[str]:
    if not gone:
        return []
    held = con.execute("SELECT org_code, count(*) FROM recorded_values WHERE org_code IN (SELECT unnest(?)) "
                       "GROUP BY org_code ORDER BY org_code", [gone]).fetchall()
    return [f"{path}: field 'neighbourhoods': {code} is left out, but {count} value{'s are' if count != 1 else ' is'} "
            f"recorded for it; keep it in the file (end its members' dates instead)" for code, count in held]


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
    digest = hashlib.sha256(data).hexdigest()
    rows = _rows(parsed)
    count = len(parsed.neighbourhoods)

    def check(con) -> tuple[dict, list]:
        problems = store_problems(con, path, parsed)
        hoods, members = _held(con, parsed.icb)
        problems += _removed_with_values(con, path, sorted(set(hoods) - {h.code for h in parsed.neighbourhoods}))
        if problems:
            raise NeighbourhoodFileError("\n".join(problems[:MAX_PROBLEMS]))
        return hoods, members

    if dry_run:
        with store.reader() as con:
            check(con)
        return Loaded(path.name, parsed.icb, count, len(rows), changed=False, dry_run=True)
    with store.writer() as con:
        hoods, members = check(con)
        names = {h.code: h.name for h in parsed.neighbourhoods}
        if hoods == names and [tuple(r) for r in members] == rows:
            return Loaded(path.name, parsed.icb, count, len(rows), changed=False)
        con.execute("DELETE FROM memberships WHERE parent_level = ? AND parent_code IN (SELECT unnest(?))",
                    [LEVEL, sorted(hoods)])
        con.execute("DELETE FROM neighbourhoods WHERE icb_code = ?", [parsed.icb])
        now = datetime.now().replace(microsecond=0)
        con.executemany("INSERT INTO neighbourhoods VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [[h.code, h.name, parsed.icb, path.name, digest, actor, now] for h in parsed.neighbourhoods])
        incoming = pd.DataFrame(rows, columns=["child_code", "parent_code", "child_level", "parent_level",
                                               "start_date", "end_date"])
        con.register("_neighbourhood_members", incoming)
        try:
            con.execute("INSERT INTO memberships (child_code, parent_code, child_level, parent_level, start_date, "
                        "end_date) SELECT child_code, parent_code, child_level, parent_level, "
                        "CAST(start_date AS DATE), CAST(end_date AS DATE) FROM _neighbourhood_members")
        finally:
            con.unregister("_neighbourhood_members")
    return Loaded(path.name, parsed.icb, count, len(rows), changed=True)
