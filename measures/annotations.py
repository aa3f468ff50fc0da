"""Dated notes on a measure's chart for one organisation, stored so every viewer and export sees them."""

from __future__ import annotations

from datetime import date, datetime

from .store import Store

MAX_NOTE_LENGTH = 200


def add(store: Store, measure_id: str, org_code: str, on_date: date, note: str, actor: str | None = None) -> None:
    note = (note or "").strip()
    if not note:
        raise ValueError("An annotation needs a note: say what happened on that date.")
    if len(note) > MAX_NOTE_LENGTH:
        raise ValueError(f"An annotation note is at most {MAX_NOTE_LENGTH} characters; this one has {len(note)}.")
    with store.writer() as con:
        con.execute(
            "INSERT INTO annotations VALUES (nextval('annotation_id_seq'), ?, ?, ?, ?, ?, ?)",
            [measure_id, org_code, on_date, note, actor, datetime.now().replace(microsecond=0)],
        )

