"""The demo's local values went through the recording path: History, the audit log and the Overview agree."""

import pandas as pd

from measures import local, queries
from measures.catalogue import default_catalogue
from measures.demo_history import DEMO_ACTOR, returns_source
from measures.store import Store

PCN = "UZ0002"
CARE_PLANS = "int_proactive_care_plan_pct"  # a PCN-level integration measure
FUNDING = "ps_funding_per_weighted_patient"  # a practice-level support measure, summed for the PCN


def test_history_lists_every_month_the_overview_shows_and_the_latest_audit_value_is_the_observation(demo_db):
    store = Store(demo_db)
    mine, _ = queries.overview(store, PCN, default_catalogue())
    shown = mine[mine["measure"] == CARE_PLANS].set_index("period_start")
    assert len(shown) > 24  # about three years of months, a few never submitted
    for period, row in shown.iterrows():
        history = local.value_history(store, CARE_PLANS, PCN, pd.Timestamp(period).date())
        assert not history.empty, f"no history for {period:%b %Y}"
        first, latest = history.iloc[0], history.iloc[-1]
        assert (first["action"], first["changed_by"]) == ("recorded", DEMO_ACTOR)
        assert first["source"] == returns_source(pd.Timestamp(period).date())
        assert latest["new_value"] == row["value"]
        assert latest["new_numerator"] == row["numerator"]


def test_a_pcns_practice_measure_is_the_sum_of_its_practices_recorded_values(demo_db):
    store = Store(demo_db)
    mine, _ = queries.overview(store, PCN, default_catalogue())
    shown = mine[mine["measure"] == FUNDING]
    assert len(shown) > 24
    recorded = store.query(
        """
        SELECT r.period_start, sum(r.numerator) AS numerator FROM recorded_values r
        JOIN memberships m ON m.child_code = r.org_code AND m.parent_code = ? AND m.parent_level = 'pcn'
         AND m.start_date <= r.period_start AND (m.end_date IS NULL OR m.end_date >= r.period_start)
        WHERE r.measure_id = ? GROUP BY 1
        """, [PCN, FUNDING]).set_index("period_start")["numerator"]
    assert set(pd.to_datetime(shown["period_start"])) == set(pd.to_datetime(recorded.index))
    for row in shown.itertuples():
        assert row.numerator == recorded.loc[pd.Timestamp(row.period_start)]

