"""Who is looking: whether sign-in is configured, the access file, and the signed-in principal."""

from __future__ import annotations

import os
import time

import streamlit as st

from .. import access


# The answer for the secrets files as they last stood (each path's modification time, or None where there is no
# file), looked at again at most once a second. With no secrets file Streamlit looks for one again at every
# question, and even finding where to look costs about 0.2 ms; a run asks 30-50 times (every read checks who is
# looking). Streamlit itself reloads its secrets when a file changes.
_LOOKED_EVERY = 1.0  # seconds
_ANSWERED: dict[tuple, bool] = {}
_LOOKED = [float("-inf"), ()]  # when the files were last looked at, and their stamps then


def auth_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an `[auth]` section: sign-in is required and roles apply."""
    from streamlit import config  # looked up at each call: AppTest overrides `config.get_option` while it runs
    from streamlit.runtime.secrets import secrets_singleton

    if st.secrets is not secrets_singleton:  # secrets handed in directly (AppTest's): already parsed, cheap to ask
        return _has_auth()
    now = time.monotonic()
    if now - _LOOKED[0] >= _LOOKED_EVERY:
        _LOOKED[:] = now, tuple(_modified(path) for path in config.get_option("secrets.files"))
    stamps = _LOOKED[1]
    if stamps not in _ANSWERED:
        _ANSWERED.clear()
        _ANSWERED[stamps] = _has_auth()
    return _ANSWERED[stamps]


def _modified(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _has_auth() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: open demo mode
        return False


def access_config() -> access.AccessFile | None:
    try:
        return access.load_access()
    except access.AccessFileError as exc:
        st.error(f"The access file cannot be used, so nobody is let in until it is fixed:\n\n{exc}",
                 icon=":material/lock:")
        st.stop()


def principal() -> access.Principal:
    """Who is looking: `access.OPEN` without `[auth]`; otherwise the signed-in user with the access file's grants."""
    if not auth_configured():
        return access.OPEN
    if not st.user.is_logged_in:
        return access.Principal()  # no identity, no grants; the sign-in gate keeps this one out of the pages
    return access.principal_from_claims(st.user.to_dict(), access_config())
