"""The vintage rule: a file's rows replace what older (or the same) vintages of its publication wrote, not newer."""

from __future__ import annotations

from collections.abc import Sequence


def write_newest(con, table: str, incoming: str, keys: Sequence[str], columns: Sequence[str], publication: str,
                 vintage: str, order_by: str = "") -> tuple[int, int]:
    """Insert `columns` of the registered relation `incoming` into `table`, after deleting the rows with the same
    `keys` that an older (or the same) vintage of `publication` wrote; an incoming row whose keys a newer vintage
    already wrote is skipped, so importing files out of order leaves the newest figures. Returns how many rows were
    replaced and how many incoming keys were skipped."""
    params = {"publication": publication, "vintage": vintage}
    key_list = ", ".join(keys)
    # Files usually come in order: with no newer vintage imported, no incoming row can be skipped, and the rows a
    # newer vintage wrote need not be looked for.
    newer = con.execute("SELECT count(*) FROM imports WHERE publication = $publication AND vintage > $vintage",
                        params).fetchall()[0][0]
    if newer:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _written_by_newer AS
            SELECT DISTINCT {", ".join(f"n.{key}" for key in keys)}
            FROM {incoming} n JOIN {table} t USING ({key_list})
            JOIN imports i ON i.import_id = t.import_id
            WHERE i.publication = $publication AND i.vintage > $vintage
        """, params)
    match = " AND ".join(f"{table}.{key} = n.{key}" for key in keys)
    replaced = con.execute(f"""
        DELETE FROM {table} USING imports i, (SELECT DISTINCT {key_list} FROM {incoming}) n
        WHERE {table}.import_id = i.import_id AND i.publication = $publication AND i.vintage <= $vintage AND {match}
    """, params).fetchall()[0][0]
    column_list = ", ".join(columns)
    con.execute(f"""
        INSERT INTO {table} ({column_list})
        SELECT {column_list} FROM {incoming} {f"ANTI JOIN _written_by_newer USING ({key_list})" if newer else ""}
        {f"ORDER BY {order_by}" if order_by else ""}
    """)
    skipped = con.execute("SELECT count(*) FROM _written_by_newer").fetchall()[0][0] if newer else 0
    return int(replaced), int(skipped)
