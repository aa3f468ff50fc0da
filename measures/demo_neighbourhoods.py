"""The demo's two synthetic neighbourhoods (three whole PCNs; part of a large one) and their recorded integration values."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from .catalogue import Measure, default_catalogue
from .local.definitions import measure_yaml
from .local.validation import validate_in
from .local.saving import save_in
from .neighbourhoods import LEVEL
from .store import Connection

SOURCE = "synthetic demo neighbourhoods (generated)"
ACTOR = "demo"
ICB = "QZZ"
START = date(2025, 4, 1)  # the neighbourhoods begin with the 2025/26 financial year
# (code, name, members): fictional, as every organisation of the demo.
NEIGHBOURHOODS = (
    ("QZZ-RIVERSIDE", "Riverside", [("pcn", "UZ0001"), ("pcn", "UZ0002"), ("pcn", "UZ0003")]),
    # Brackenby PCN (UZ0006) has 14 practices; its northern 7 work as a neighbourhood of their own.
    ("QZZ-BRACKENBY-N", "Brackenby North", [("practice", f"Z{n:05d}") for n in range(20, 27)]),
)
# (id, name, short name, numerator, denominator, typical share, meetings or people a month)
MEASURES = (
    ("nbh_mdt_partner_attendance_pct", "Neighbourhood team meetings with community, mental health and social care "
     "present", "Neighbourhood MDT partners",
     "Neighbourhood team meetings in the month attended by community nursing, mental health and social care",
     "Neighbourhood team meetings held in the month", 0.62, 18),
    ("nbh_care_plans_shared_pct", "Personalised care plans shared with the neighbourhood's community teams",
     "Care plans shared", "Proactive-care patients whose care plan the community teams can read at month end",
     "Patients in the neighbourhood's proactive-care cohort at month end", 0.48, 260),
)


def _measure(spec) -> Measure:
    measure_id, name, short, numerator, denominator, _, _ = spec
    base = default_catalogue().get("int_mdt_partner_attendance_pct").model_dump()
    base.update(id=measure_id, version=1, name=name, short_name=short, level=LEVEL, scope=ICB,
                description=f"{name}: a locally set measure of the demo ICB, recorded for each neighbourhood.",
                numerator={"definition": numerator}, denominator={"definition": denominator},
                suppress_small_numbers=None, tags=["example", "integration", "neighbourhood"],
                caveats=["Synthetic demo values for a fictional neighbourhood, not real NHS figures."])
    return Measure.model_validate(base)


def add_demo_neighbourhoods(con: Connection, last_month: date, seed: int = 2026) -> int:
    """Write the neighbourhoods, define their integration measures and record their monthly values (returns how many).

    Values go through the recording path (validation, the audit log), as an ICB lead's returns would.
    """
    defined = datetime(2025, 3, 20, 10, 0)
    con.executemany("INSERT INTO neighbourhoods VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [[code, name, ICB, SOURCE, "synthetic", ACTOR, defined] for code, name, _ in NEIGHBOURHOODS])
    con.executemany(
        "INSERT INTO memberships (child_code, parent_code, child_level, parent_level, start_date, end_date) "
        "VALUES (?, ?, ?, ?, ?, NULL)",
        [[child, code, level, LEVEL, START] for code, _, members in NEIGHBOURHOODS for level, child in members])
    measures = [_measure(spec) for spec in MEASURES]
    for measure in measures:
        con.execute("INSERT INTO local_measures VALUES (nextval('local_measure_rev_seq'), ?, ?, ?, ?, ?, ?, ?)",
                    [measure.id, measure.version, measure_yaml(measure, comment="synthetic demo measure"),
                     measure.scope, measure.family, ACTOR, defined])
    rng = np.random.default_rng(seed + 18)
    months = pd.date_range(START, last_month, freq="MS").date
    rows, number = [], 2
    for code, _, _ in NEIGHBOURHOODS:
        for spec in MEASURES:
            share, size = spec[5], spec[6]
            trend = np.linspace(0, 0.12, len(months))  # integration improving slowly through the year
            for month, lift in zip(months, trend):
                denominator = int(rng.poisson(size * (0.6 if code.endswith("-N") else 1.0))) + 5
                numerator = int(rng.binomial(denominator, min(share + lift, 0.95)))
                rows.append((number, {"measure_id": spec[0], "period_start": month, "org_code": code,
                                      "numerator": numerator, "denominator": denominator}))
                number += 1
    today = (pd.Timestamp(last_month) + pd.DateOffset(months=1, days=5)).date()
    batch = validate_in(con, rows, SOURCE, today=today)
    return save_in(con, batch, ACTOR, at=datetime(today.year, today.month, today.day, 9, 30)).changed
