"""Principals: who is asking, with the grants the access file gives them, from a sign-in or the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Literal, Mapping

from .files import AccessFile, Grant, load_access


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
