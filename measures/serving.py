"""Whether the app may listen beyond this machine: open demo mode shows everything to anyone who reaches it.

Without `[auth]` in the app's secrets there is no sign-in and everyone is an administrator (measures.access,
"open demo mode"). That is fine on 127.0.0.1 and dangerous on a network address, so both `./run.sh app`
(before starting Streamlit) and the app itself (however it was started) refuse a non-loopback address in
open demo mode unless `PCN_ALLOW_OPEN_NETWORK=1` says it is meant. Nothing here imports Streamlit.

Run as `python -m measures.serving HOST` (as run.sh does): exit 0 when serving on HOST is allowed,
else print why to standard error and exit 2.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import tomllib
from pathlib import Path
from typing import Mapping

ALLOW_OPEN_NETWORK = "PCN_ALLOW_OPEN_NETWORK"


def is_loopback(address: str | None) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost, a unix socket).

    No address at all is not loopback: Streamlit then listens on every network interface.
    """
    address = (address or "").strip()
    if not address:
        return False
    if address.startswith("unix://"):
        return True
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:  # a host name: it may well resolve to a network address
        return False


def open_network_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """Has the user said, with PCN_ALLOW_OPEN_NETWORK=1 (or true, yes), that open demo mode may face the network?"""
    environ = os.environ if environ is None else environ
    return environ.get(ALLOW_OPEN_NETWORK, "").strip().lower() in {"1", "true", "yes"}


def secrets_files() -> list[Path]:
    """Where Streamlit reads secrets from by default: the user's, then the folder it is started in (run.sh's)."""
    return [Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"]


def auth_in_secrets(files: list[Path] | None = None) -> tuple[bool, list[str]]:
    """Does any secrets file have an `[auth]` section? With the files that could not be read, and why.

    A file Streamlit cannot parse configures nothing (the app then runs in open demo mode), so it counts as none.
    """
    found, unreadable = False, []
    for path in secrets_files() if files is None else files:
        try:
            settings = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            unreadable.append(f"{path} cannot be read as TOML ({exc})")
            continue
        found = found or "auth" in settings
    return found, unreadable


def open_network_refusal(address: str | None, auth_configured: bool, *, environ: Mapping[str, str] | None = None,
                         listen_locally: str = "listen on 127.0.0.1 only", problems: list[str] = ()) -> str | None:
    """Why the app must not serve on `address`, or None when it may.

    It may on a loopback address, with sign-in configured, or when PCN_ALLOW_OPEN_NETWORK is set.
    `listen_locally` says how to listen on this machine only, for the way the app is being started.
    """
    if is_loopback(address) or auth_configured or open_network_allowed(environ):
        return None
    where = f"{address}" if (address or "").strip() else "every network interface (no server address is set)"
    found = f" ({'; '.join(problems)})" if problems else ""
    return (f"Refusing to serve the PCN dashboard on {where}: sign-in is not configured (no `[auth]` section in "
            f".streamlit/secrets.toml{found}), so the app is in open demo mode and anyone who can reach it would "
            "see and change everything, including every PCN's unpublished local values and the access log. "
            f"To fix: {listen_locally}; or configure sign-in with an `[auth]` section in .streamlit/secrets.toml "
            "(README, \"Who sees what\"); or, to serve open demo mode on a network on purpose (synthetic data on "
            f"a trusted network), set {ALLOW_OPEN_NETWORK}=1.")


def open_network_warning(address: str | None, auth_configured: bool, *,
                         environ: Mapping[str, str] | None = None) -> str | None:
    """What to say when PCN_ALLOW_OPEN_NETWORK lets open demo mode face the network; None in any other case."""
    if is_loopback(address) or auth_configured or not open_network_allowed(environ):
        return None
    return (f"Serving open demo mode on {address or 'every network interface'} because {ALLOW_OPEN_NETWORK} is "
            "set: anyone who can reach it sees and changes everything.")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m measures.serving HOST", file=sys.stderr)
        return 2
    configured, unreadable = auth_in_secrets()
    refusal = open_network_refusal(args[0], configured, problems=unreadable,
                                   listen_locally="leave HOST unset (or set HOST=127.0.0.1)")
    if refusal:
        print(f"run.sh: {refusal}", file=sys.stderr)
        return 2
    warning = open_network_warning(args[0], configured)
    if warning:
        print(f"run.sh: warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
