"""The sign-in gate before any page, and the sidebar's account section (with the administrator's access log)."""

from __future__ import annotations

import streamlit as st

from .. import access
from ..text import escape_markdown as plain  # user and file text shown literally in Markdown elements
from .database import store
from .downloads import download_table
from .identity import access_config, auth_configured, principal
from .launch import APP_TITLE


def sign_in_gate() -> access.Principal:
    """Before any page: without `[auth]`, open demo mode; with it, a sign-in page until the user signs in."""
    if not auth_configured():
        return access.OPEN

    def sign_in_page() -> None:
        st.title(APP_TITLE)
        st.markdown("Sign in with your organisation's account to see PCN measures. National published data is "
                    "shown to everyone signed in; a PCN's locally recorded values to its own staff and ICB "
                    "analysts, and to others once the PCN publishes them.")
        if st.button("Sign in", type="primary", icon=":material/login:", key="sign_in"):
            st.login()

    if not st.user.is_logged_in:
        st.navigation([st.Page(sign_in_page, title="Sign in", url_path="signin", icon=":material/login:")],
                      position="hidden").run()
        st.stop()
    who = principal()
    if not st.session_state.get("_sign_in_logged"):
        st.session_state["_sign_in_logged"] = True
        # Every tab and reload is a new session on the same sign-in: log each sign-in (identity token) once.
        if not _sign_in_logged_already(who, st.user.to_dict().get("iat")):
            access.log_event(store(), who, "sign_in", None, who.roles_text)
    return who


def _sign_in_logged_already(who: access.Principal, issued_at) -> bool:
    """Has this identity a sign_in row since its identity token was issued (`iat`, seconds since 1970)?"""
    if not isinstance(issued_at, (int, float)):
        return False
    from datetime import datetime

    return not access.access_log(store(), 1, action="sign_in", actor=who.actor,
                                 since=datetime.fromtimestamp(int(issued_at))).empty


def account_sidebar(who: access.Principal) -> None:
    """Who is signed in and with what access, and a sign-out button; or the open demo mode notice."""
    with st.sidebar.container(key="account"):
        if who.open:
            st.info("**Open demo mode**: no sign-in is configured, so everyone sees everything. Configure `[auth]` "
                    "in `.streamlit/secrets.toml` to require sign-in and apply roles.", icon=":material/lock_open:")
            return
        st.markdown(f"Signed in as **{plain(who.name or who.actor)}**" + (f" ({plain(who.actor)})" if who.name else ""))
        st.markdown(f":small[{plain(who.roles_text)}]")
        if access_config() is None:
            st.warning("No access file: everyone signed in has national data and published local values only.",
                       icon=":material/warning:")
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            access.log_event(store(), who, "sign_out")
            st.logout()
        if access.can_administer(who):
            log = access.access_log(store(), limit=ACCESS_LOG_ROWS)
            st.markdown(f"**Access log**: the latest {len(log):,} sign-ins, refusals, exports and publications, "
                        "newest first.")
            download_table(log, "access log", key="access_log")


ACCESS_LOG_ROWS = 5000  # an administrator's download of the access log: the latest rows, newest first
