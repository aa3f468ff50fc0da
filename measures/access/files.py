"""The access file: roles granted to users by email and to identity-provider groups, validated by file and field."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ACCESS_FILE = ROOT / "data" / "access.yaml"
EXAMPLE_ACCESS_FILE = ROOT / "data" / "access.example.yaml"

Role = Literal["viewer", "editor", "icb_analyst", "administrator"]
ROLE_LABELS = {"viewer": "Viewer", "editor": "Editor", "icb_analyst": "ICB analyst", "administrator": "Administrator"}

_PCN = re.compile(r"^U[A-Z0-9]{5}$")
# An ICB code: Q and two characters, or five characters after the 2026 mergers (also read by other files).
ICB_CODE = re.compile(r"^(Q[A-Z0-9]{2}|[A-Z0-9]{5})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class AccessFileError(ValueError):
    """The access file cannot be used; the message names the file and the field."""


class StrictModel(BaseModel):
    """A settings file's part: unknown fields refused (a misspelt key is a mistake, not ignored), values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Grant(StrictModel):
    """One role with its scope: `pcns` for viewers and editors, `icbs` for ICB analysts, none for administrators."""

    role: Role
    pcns: tuple[str, ...] = ()
    icbs: tuple[str, ...] = ()

    @field_validator("pcns", "icbs", mode="before")
    @classmethod
    def _as_text(cls, value):
        if isinstance(value, (str, int)):
            value = [value]  # one code written without brackets
        return tuple(str(code).strip() for code in value) if isinstance(value, (list, tuple)) else value

    @field_validator("pcns")
    @classmethod
    def _pcn_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [code for code in value if not _PCN.match(str(code))]
        if bad:
            raise ValueError(f"PCN codes look like U00254 (U and 5 characters); got {', '.join(map(repr, bad))}")
        return tuple(value)

    @field_validator("icbs")
    @classmethod
    def _icb_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [code for code in value if not ICB_CODE.match(str(code))]
        if bad:
            raise ValueError(f"ICB codes look like QHM (or a 5-character code); got {', '.join(map(repr, bad))}")
        return tuple(value)

    @model_validator(mode="after")
    def _scope_fits_role(self) -> "Grant":
        if self.role in ("viewer", "editor"):
            if not self.pcns:
                raise ValueError(f"a {self.role} needs `pcns`: the PCN codes they may see")
            if self.icbs:
                raise ValueError(f"a {self.role} is scoped to PCNs; use role icb_analyst for an ICB")
        elif self.role == "icb_analyst":
            if not self.icbs:
                raise ValueError("an icb_analyst needs `icbs`: the ICB codes whose PCNs they may read")
            if self.pcns:
                raise ValueError("an icb_analyst is scoped to ICBs, not PCNs")
        elif self.pcns or self.icbs:
            raise ValueError("an administrator has no scope: leave out `pcns` and `icbs`")
        return self

    def describe(self) -> str:
        scope = ", ".join(self.pcns or self.icbs)
        return ROLE_LABELS[self.role] + (f" of {scope}" if scope else "")


class AccessFile(StrictModel):
    """The whole file: users by email and identity-provider groups by name, each with a list of grants."""

    version: Literal[1] = 1
    groups_claim: str = "groups"
    users: dict[str, tuple[Grant, ...]] = {}
    groups: dict[str, tuple[Grant, ...]] = {}

    @field_validator("users")
    @classmethod
    def _emails(cls, value: dict) -> dict:
        bad = [key for key in value if not _EMAIL.match(str(key))]
        if bad:
            raise ValueError(f"users are keyed by email address; {', '.join(map(repr, bad))} is not one")
        lowered = {}
        for key, grants in value.items():
            lowered.setdefault(str(key).strip().lower(), ())
            lowered[str(key).strip().lower()] += tuple(grants)
        return lowered

    def grants_for(self, email: str | None, groups: Iterable[str] = ()) -> tuple[Grant, ...]:
        found: list[Grant] = []
        if email:
            found.extend(self.users.get(email.strip().lower(), ()))
        for group in groups:
            found.extend(self.groups.get(str(group), ()))
        return tuple(dict.fromkeys(found))


def _field_path(location: tuple) -> str:
    return ".".join(str(part) for part in location) or "(file)"


def parse_access(path: Path | str, text: str | None = None) -> AccessFile:
    """Read and validate an access file; every problem is reported with the file and the field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(text if text is not None else path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AccessFileError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise AccessFileError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise AccessFileError(f"{path}: expected a mapping with `users` and `groups`, got {type(raw).__name__}")
    try:
        return AccessFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown field (expected version, groups_claim, users, groups; in a grant: role, pcns, icbs)"
            problems.append(f"{path}: field '{_field_path(error['loc'])}': {message}")
        raise AccessFileError("\n".join(problems)) from None


def access_path() -> Path | None:
    """The access file in force: `$PCN_ACCESS` if set (empty means none), else `data/access.yaml` if it exists."""
    configured = os.environ.get("PCN_ACCESS")
    if configured is not None:
        if not configured.strip():
            return None
        path = Path(configured).expanduser()
        if not path.exists():
            raise AccessFileError(f"{path}: no such access file (from PCN_ACCESS); "
                                  f"copy {EXAMPLE_ACCESS_FILE.relative_to(ROOT)} to start one")
        return path
    return DEFAULT_ACCESS_FILE if DEFAULT_ACCESS_FILE.exists() else None


@lru_cache(maxsize=8)
def _load_cached(path: str, stamp: tuple) -> AccessFile:
    return parse_access(path)


def load_access(path: Path | str | None = None) -> AccessFile | None:
    """The access file in force (re-read when it changes), or None when none is configured."""
    path = Path(path) if path else access_path()
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError as exc:
        raise AccessFileError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    return _load_cached(str(path), (stat.st_mtime_ns, stat.st_size))
