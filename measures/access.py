"""Who sees what: principals, roles scoped to a PCN or an ICB, and the checks every read path applies.

Decisions here are pure: they take a `Principal` (who is asking, with their grants) and a `Directory`
(which PCN each practice belonged to when, each PCN's ICB, and the periods each PCN has published) and
answer yes or no, or filter a frame. Nothing here imports Streamlit; the app, the exports and the command
line all call these same functions, so a crafted URL or a command for another PCN meets the same refusal.

The rules (README, "Who sees what"):

- National published data (the `national_des` family) is readable by everyone allowed in at all.
- A PCN's local values (the `local_integration` and `practice_support` families: values recorded by the PCN,
  their sums over its practices, their audit history) are readable by the PCN's own viewers and editors, by
  ICB analysts of its ICB and by administrators; by anyone else only for the periods the PCN has published.
- Editors of a PCN record its values, define its measures, add chart notes and publish its periods.
- Administrators do everything, including imports and rebuilding the demo.
- With no access control configured (no `[auth]` in the app's secrets; no access file for the command line)
  everyone is `OPEN`: the product behaves as before this module existed ("open demo mode").
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Literal, Mapping

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ACCESS_FILE = ROOT / "data" / "access.yaml"
EXAMPLE_ACCESS_FILE = ROOT / "data" / "access.example.yaml"

Role = Literal["viewer", "editor", "icb_analyst", "administrator"]
ROLE_LABELS = {"viewer": "Viewer", "editor": "Editor", "icb_analyst": "ICB analyst", "administrator": "Administrator"}
LOCAL_FAMILIES = ("local_integration", "practice_support")

_PCN = re.compile(r"^U[A-Z0-9]{5}$")
_ICB = re.compile(r"^(Q[A-Z0-9]{2}|[A-Z0-9]{5})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class AccessFileError(ValueError):
    """The access file cannot be used; the message names the file and the field."""


class AccessDenied(PermissionError):
    """The principal may not read or change this; the message says why and who may."""


# ---------------------------------------------------------------------------------------------
# The access file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Grant(_Strict):
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
        bad = [code for code in value if not _ICB.match(str(code))]
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


class AccessFile(_Strict):
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


# ---------------------------------------------------------------------------------------------
# Principals


@dataclass(frozen=True)
class Principal:
    """Who is asking: an identity (email) with the grants the access file gives it.

    `open` is the principal when no access control is configured: everything is allowed, as in the demo.
    """

    identity: str | None = None
    name: str | None = None
    grants: tuple[Grant, ...] = ()
    groups: tuple[str, ...] = ()
    open: bool = False
    claim_problems: tuple[str, ...] = ()  # what was ignored from the identity token, and why

    @property
    def is_admin(self) -> bool:
        return self.open or any(g.role == "administrator" for g in self.grants)

    @property
    def viewer_pcns(self) -> frozenset[str]:
        return frozenset(p for g in self.grants if g.role in ("viewer", "editor") for p in g.pcns)

    @property
    def editor_pcns(self) -> frozenset[str]:
        return frozenset(p for g in self.grants if g.role == "editor" for p in g.pcns)

    @property
    def analyst_icbs(self) -> frozenset[str]:
        return frozenset(i for g in self.grants if g.role == "icb_analyst" for i in g.icbs)

    @property
    def actor(self) -> str:
        """How the audit and access logs name this principal."""
        if self.open:
            return self.identity or "open demo mode"
        return self.identity or "anonymous"

    @property
    def roles_text(self) -> str:
        if self.open:
            return "open demo mode: no sign-in, everything allowed"
        text = ("no role: national data and published local values only" if not self.grants
                else "; ".join(g.describe() for g in self.grants))
        if self.claim_problems:
            text += f" (ignored from your sign-in: {'; '.join(self.claim_problems)})"
        return text

    @property
    def cache_key(self) -> tuple:
        """Hashable and stable: results filtered for this principal may be cached under it."""
        return (self.open, self.identity, tuple((g.role, g.pcns, g.icbs) for g in self.grants))


OPEN = Principal(open=True)


def principal_for(email: str | None, config: AccessFile | None, *, groups: Iterable[str] = (),
                  name: str | None = None) -> Principal:
    """The principal an identity resolves to; no access file means no grants (not open)."""
    email = (email or "").strip().lower() or None
    groups = tuple(str(g) for g in groups)
    grants = config.grants_for(email, groups) if config is not None else ()
    return Principal(identity=email, name=name, grants=grants, groups=groups)


def principal_from_claims(claims: Mapping, config: AccessFile | None) -> Principal:
    """The principal of a signed-in user from the identity token's claims (`st.user`).

    A claim of an unexpected shape grants nothing rather than something nobody meant. Grants by group come
    from the claim the access file names (default `groups`) only when it is a list of strings: a string is
    not split ("Friends of uz0002-managers" is not the group uz0002-managers), and items that are not
    strings are dropped. Grants by email apply when `email_verified` is absent or the boolean `true`; any
    other value (`false`, "false", "true", 0, 1, null) means the provider has not vouched for the address.
    What was ignored is kept in `claim_problems`: shown with the roles and written to the access log with
    the sign-in.
    """
    problems: list[str] = []
    email = claims.get("email")
    if email is not None and not isinstance(email, str):
        problems.append(f"the `email` claim is {_shape(email)}, not an address, so no role was given by email")
        email = None
    email = (email or "").strip() or None
    if email and "email_verified" in claims and claims["email_verified"] is not True:
        problems.append(f"`email_verified` is {_shape(claims['email_verified'])}, not true, so no role was given "
                        f"by the email address {email.lower()}")
        email_for_grants = None
    else:
        email_for_grants = email
    groups_claim = config.groups_claim if config is not None else "groups"
    groups = _group_names(claims, groups_claim, problems)
    name = claims.get("name")
    name = name if isinstance(name, str) and name.strip() else None
    principal = principal_for(email_for_grants, config, groups=groups, name=name)
    # The identity stays for the logs even when its email may give no grants.
    return Principal(identity=email.lower() if email else None, name=name, grants=principal.grants,
                     groups=principal.groups, claim_problems=tuple(problems))


def _group_names(claims: Mapping, claim: str, problems: list[str]) -> tuple[str, ...]:
    """The group names in the claim when it is a list of strings; other shapes give none (noted in `problems`)."""
    if claim not in claims:
        return ()
    value = claims[claim]
    if not isinstance(value, (list, tuple)):
        problems.append(f"the `{claim}` claim is {_shape(value)}, not a list of group names, so no role was "
                        "given by group")
        return ()
    names = tuple(item for item in value if isinstance(item, str))
    dropped = [item for item in value if not isinstance(item, str)]
    if dropped:
        shown = ", ".join(_shape(item) for item in dropped[:3]) + (f" and {len(dropped) - 3} more"
                                                                  if len(dropped) > 3 else "")
        plural = len(dropped) != 1
        problems.append(f"the `{claim}` claim has {len(dropped)} item{'s' if plural else ''} that "
                        f"{'are not group names' if plural else 'is not a group name'} ({shown}), ignored")
    return names


def _shape(value) -> str:
    """A claim's value for a message: its JSON kind and a short rendering, e.g. `a string ('a b')`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "the boolean " + str(value).lower()
    kind = {str: "a string", int: "a number", float: "a number", dict: "an object", list: "a list",
            tuple: "a list"}.get(type(value), f"a {type(value).__name__}")
    text = repr(value)
    return f"{kind} ({text if len(text) <= 60 else text[:57] + '...'})"


def cli_principal(email: str | None = None, config: AccessFile | None | Literal["auto"] = "auto") -> Principal:
    """The command line's principal: `--as EMAIL` or `$PCN_USER`, resolved through the access file.

    With no access file configured the command line is open, as before; with one, a command without an
    identity runs with no role (national data and published local values only).
    """
    config = load_access() if config == "auto" else config
    if config is None:
        return OPEN
    return principal_for(email or os.environ.get("PCN_USER") or None, config)


# ---------------------------------------------------------------------------------------------
# What the decisions need to know about organisations


@dataclass
class Directory:
    """Facts from the store the decisions need: PCNs and their ICBs, practice memberships, published periods."""

    icb_of: Mapping[str, str | None] = field(default_factory=dict)
    memberships: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["child", "parent", "start_date", "end_date"]))
    published: frozenset = frozenset()  # {(pcn_code, period_start date)}

    def pcns_in(self, icb: str) -> list[str]:
        return [pcn for pcn, code in self.icb_of.items() if code == icb]


def _day(day) -> date:
    day = pd.Timestamp(day)
    return date(day.year, day.month, day.day)


# ---------------------------------------------------------------------------------------------
# Decisions


@lru_cache(maxsize=1)
def national_ids() -> frozenset[str]:
    """The built-in catalogue's national measures (read once; the YAML files do not change while running)."""
    from .catalogue import default_catalogue

    return frozenset(m.id for m in default_catalogue() if m.family == "national_des")


def is_local_measure(measure_id: str) -> bool:
    """Local unless the built-in catalogue says national: a measure defined in the app is always local."""
    return measure_id not in national_ids()


def member_of(principal: Principal, pcn: str, directory: Directory) -> bool:
    """Reads every period of the PCN's local values: its viewers and editors, its ICB's analysts, administrators."""
    if principal.is_admin or pcn in principal.viewer_pcns:
        return True
    icb = directory.icb_of.get(pcn)
    return icb is not None and icb in principal.analyst_icbs


def can_read_local(principal: Principal, pcn: str, period, directory: Directory) -> bool:
    """May the principal read the PCN's local values for the period starting `period`?"""
    if member_of(principal, pcn, directory):
        return True
    return period is not None and (pcn, _day(period)) in directory.published


def can_edit(principal: Principal, pcn: str) -> bool:
    """Record values, define measures, add chart notes and publish periods for the PCN."""
    return principal.is_admin or pcn in principal.editor_pcns


def can_define(principal: Principal, scope: str, pcn: str) -> bool:
    """A PCN's editors define measures for that PCN; an ICB-wide measure needs an administrator."""
    return principal.is_admin or (scope == pcn and can_edit(principal, pcn))


def can_administer(principal: Principal) -> bool:
    """Imports of published files, rebuilding the demo, reading the access log."""
    return principal.is_admin


def readable_pcns(principal: Principal, directory: Directory) -> set[str]:
    """The PCNs whose local values the principal reads in every period."""
    return {pcn for pcn in directory.icb_of if member_of(principal, pcn, directory)}


def who_may_read(pcn: str, directory: Directory) -> str:
    icb = directory.icb_of.get(pcn)
    return ("its own viewers and editors" + (f", analysts of {icb}" if icb else "") + " and administrators; "
            "others once the PCN publishes a period")


def require_local(principal: Principal, pcn: str, directory: Directory, what: str = "local values") -> None:
    """Raise AccessDenied unless the principal reads the PCN's local values in every period."""
    if not member_of(principal, pcn, directory):
        raise AccessDenied(f"{principal.actor} may not read {pcn}'s {what}: they are shown to "
                           f"{who_may_read(pcn, directory)}. Your access: {principal.roles_text}.")


def require_edit(principal: Principal, pcn: str, what: str = "change its local measures and values") -> None:
    if not can_edit(principal, pcn):
        raise AccessDenied(f"{principal.actor} may not {what} for {pcn}: only its editors and administrators "
                           f"may. Your access: {principal.roles_text}.")


def require_admin(principal: Principal, what: str) -> None:
    if not can_administer(principal):
        raise AccessDenied(f"{principal.actor} may not {what}: only administrators may. "
                           f"Your access: {principal.roles_text}.")


# ---------------------------------------------------------------------------------------------
# Filters over frames


def pcn_of_rows(frame: pd.DataFrame, directory: Directory, *, org: str = "org",
                period: str = "period_start") -> pd.Series:
    """For each row, the PCN its organisation belonged to at the period (a PCN is its own); None if unknown."""
    result = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if frame.empty:
        return result
    codes = frame[org].astype(object).to_numpy()
    is_pcn = pd.Series(codes).isin(list(directory.icb_of)).to_numpy()
    values = result.to_numpy(copy=True)
    values[is_pcn] = codes[is_pcn]
    rest = pd.DataFrame({"position": range(len(frame)), "child": codes,
                         "when": pd.to_datetime(frame[period]).to_numpy()})[~is_pcn]
    if not rest.empty and not directory.memberships.empty:
        members = directory.memberships.assign(start_date=pd.to_datetime(directory.memberships["start_date"]),
                                               end_date=pd.to_datetime(directory.memberships["end_date"]))
        matched = rest.merge(members, on="child", how="inner")
        held = (matched["start_date"] <= matched["when"]) & (matched["end_date"].isna()
                                                            | (matched["end_date"] >= matched["when"]))
        matched = matched[held].drop_duplicates("position", keep="last")
        values[matched["position"].to_numpy()] = matched["parent"].to_numpy()
    return pd.Series(values, index=frame.index, dtype=object)


def readable_mask(frame: pd.DataFrame, principal: Principal, directory: Directory, *, measure: str = "measure",
                  org: str = "org", period: str = "period_start", measure_id: str | None = None) -> pd.Series:
    """True for the rows the principal may read: national measures always; local ones by PCN and period.

    `measure_id` names the measure of every row when the frame has no measure column.
    """
    if principal.is_admin or frame.empty:
        return pd.Series(True, index=frame.index)
    ids = pd.Series(measure_id, index=frame.index) if measure_id is not None else frame[measure]
    local = ids.map(is_local_measure).astype(bool)
    if not local.any():
        return pd.Series(True, index=frame.index)
    pcns = pcn_of_rows(frame, directory, org=org, period=period)
    members = {p: member_of(principal, p, directory) for p in set(pcns.dropna())}
    periods = pd.to_datetime(frame[period])
    allowed = [
        (not is_local) or (p is not None and (members.get(p, False) or (p, _day(when)) in directory.published))
        for is_local, p, when in zip(local, pcns, periods)
    ]
    return pd.Series(allowed, index=frame.index, dtype=bool)


def filter_rows(frame: pd.DataFrame, principal: Principal, directory: Directory, **columns) -> pd.DataFrame:
    """The rows of a tidy frame the principal may read (see `readable_mask`)."""
    if frame is None or frame.empty or principal.is_admin:
        return frame
    return frame[readable_mask(frame, principal, directory, **columns)]


def filter_comparator(comparator: pd.DataFrame, principal: Principal, pcn: str,
                      directory: Directory) -> pd.DataFrame:
    """An ICB average of a local measure pools other PCNs' values: keep it only if all of them are readable."""
    if comparator is None or comparator.empty or principal.is_admin:
        return comparator
    icb = directory.icb_of.get(pcn)
    peers = directory.pcns_in(icb) if icb else []
    keep = []
    for row in comparator.itertuples():
        if not is_local_measure(row.measure):
            keep.append(True)
        else:
            keep.append(all(can_read_local(principal, peer, row.period_start, directory) for peer in peers))
    return comparator[pd.Series(keep, index=comparator.index, dtype=bool)]


# ---------------------------------------------------------------------------------------------
# Reading the directory from the store, and the access log (the only functions here that touch the store)


def directory(store) -> Directory:
    """Read the facts the decisions need from the store: about 20 ms, cached by callers on the data version."""
    from .queries import pcns

    with store.reader() as con:
        members = con.execute(
            "SELECT child_code AS child, parent_code AS parent, start_date, end_date FROM memberships "
            "WHERE parent_level = 'pcn'").df()
        has_published = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'published_periods'").fetchall()[0][0]
        published = (con.execute("SELECT pcn_code, period_start FROM published_periods").fetchall()
                     if has_published else [])
    hierarchy = pcns(store)
    icb_of = {row.pcn: (row.icb if isinstance(row.icb, str) else None) for row in hierarchy.itertuples()}
    return Directory(icb_of=icb_of, memberships=members,
                     published=frozenset((pcn, _day(day)) for pcn, day in published))


def write_log_event(store, principal: Principal | str, action: str, target: str | None = None,
                    detail: str | None = None, *, via: str = "app", at: datetime | None = None) -> None:
    """Append one line to `access_log`, raising the store's own error (damaged, busy, a failed save) if it cannot:
    for a caller that must not report success without the line, such as an export from the command line."""
    actor = principal.actor if isinstance(principal, Principal) else str(principal)
    when = at or datetime.now().replace(microsecond=0)
    with store.writer() as con:
        con.execute("INSERT INTO access_log VALUES (nextval('access_log_id_seq'), ?, ?, ?, ?, ?, ?)",
                    [when, actor, action, target, detail, via])


def log_event(store, principal: Principal | str, action: str, target: str | None = None,
              detail: str | None = None, *, via: str = "app", at: datetime | None = None) -> bool:
    """Append one line to `access_log`: sign-in, refusal, export, publish or withdraw. Never raises; returns
    whether the line was written. A store that cannot take it is a one-line warning (its message says which file
    and what to do), not a traceback on the page or the command line."""
    import logging

    from .store import StoreBusy, StoreDamaged, StoreMissing, StoreWriteFailed

    try:
        write_log_event(store, principal, action, target, detail, via=via, at=at)
        return True
    except (StoreBusy, StoreDamaged, StoreMissing, StoreWriteFailed) as problem:
        logging.getLogger(__name__).warning("could not write the access log: %s", problem)
    except Exception:  # noqa: BLE001 - a log line must never stop the page or the command it records
        logging.getLogger(__name__).warning("could not write the access log", exc_info=True)
    return False


def access_log(store, limit: int = 200) -> pd.DataFrame:
    return store.query("SELECT * FROM access_log ORDER BY logged_at DESC, log_id DESC LIMIT ?", [limit])
