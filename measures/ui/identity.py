"""Who is looking: whether sign-in is configured, the access file, and the signed-in principal."""

from __future__ import annotations

import streamlit as st

from .. import access


def auth_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an `[auth]` section: sign-in is required and roles apply."""
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
