"""The app's database: refused on an open network, prepared once, and its directory of PCN facts cached."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from .. import access, serving
from ..store import DEFAULT_DB, Store, StoreDamaged, StoreWriteFailed, default_db_path, migration_files
from ..versioned import PerVersion
from .identity import auth_configured


@st.cache_resource(show_spinner="Preparing the database (first run only)…")
def _prepared(path: str) -> bool:
    """Build the demo if the default database is missing, and bring the schema up to date."""
    store = Store(path)
    if not store.exists():
        if Path(path).resolve() != DEFAULT_DB.resolve():
            return False
        from ..demo import build_demo

        build_demo(path)
    if store.schema_version() < len(migration_files()):
        store.migrate()
    elif store.publication() is None:
        store.publish()  # a file copied into place: its read-only copy now, not at the first save
    return True


def store_problem(problem: StoreDamaged | StoreWriteFailed) -> None:
    """Say what is wrong with the database file and what to do, and show nothing else."""
    st.error(str(problem), icon=":material/database:")
    st.stop()


def refuse_open_network() -> None:
    """Show only why, and stop, when open demo mode would be served beyond this machine (measures.serving).

    app.py calls this first; `store()` calls it too, because a page named in the URL of a freshly started
    server runs without app.py (Streamlit's `pages/` folder) and every page reads through `store()`.
    """
    from streamlit import config  # looked up at each call: AppTest overrides `config.get_option` while it runs

    address = config.get_option("server.address")
    if not address and config.get_option("global.appTest"):
        return  # AppTest runs the script with no server: nothing listens on the default address
    refusal = serving.open_network_refusal(
        address, auth_configured(),
        listen_locally="start it with `./run.sh app`, or `streamlit run app.py --server.address 127.0.0.1`")
    if refusal:
        st.error(refusal, icon=":material/public:")
        st.stop()


# The stores this process has prepared, each once whatever its data version, and the one `Store` handed out for
# each: a page asks for the store 20-30 times a run, and asking Streamlit's cache, or making a new `Store` with its
# paths, each time cost more than the reads it guards (1-2 ms a run).
_READY: dict[str, Store] = {}


def store() -> Store:
    refuse_open_network()
    path = str(default_db_path())
    ready = _READY.get(path)
    if ready is None:
        try:
            prepared = _prepared(path)
        except (StoreDamaged, StoreWriteFailed) as problem:
            store_problem(problem)
        if not prepared:
            st.error(f"No database at `{path}` (from `PCN_DB`). Build one with `python -m measures demo --db "
                     f"{path}` or import publications with `python -m measures import`.")
            st.stop()
        ready = _READY.setdefault(path, Store(path))
    return ready


# Held in a plain holder, not Streamlit's cache: a page asks for it several times a run.
_DIRECTORIES: PerVersion = PerVersion(kept=8)


def directory() -> access.Directory:
    """Each PCN's ICB, practice memberships and published periods, cached until the database changes."""
    db = store()
    return _DIRECTORIES.get(db, (), lambda: access.directory(Store(db.path)))
