"""A demo store emptied of its neighbourhoods, for tests that define their own."""

from __future__ import annotations

from measures.store import Store


def without_neighbourhoods(store: Store) -> Store:
    """The store with no neighbourhoods at all: their members, values and measures gone too."""
    with store.writer() as con:
        codes = [code for (code,) in con.execute("SELECT neighbourhood_code FROM neighbourhoods").fetchall()]
        con.execute("DELETE FROM memberships WHERE parent_level = 'neighbourhood'")
        con.execute("DELETE FROM neighbourhoods")
        for table in ("recorded_values", "observations", "value_audit"):
            con.execute(f"DELETE FROM {table} WHERE org_code IN (SELECT unnest(?))", [codes])
        con.execute("DELETE FROM local_measures WHERE measure_id LIKE 'nbh\\_%' ESCAPE '\\'")
    return store
