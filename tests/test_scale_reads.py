"""Reads that stay fast for every PCN in England: bounded to one PCN and computed once per data version.

The PCN picker and Compare areas' figures are built once rather than on every rerun."""

from datetime import date

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from measures import access, local, queries, versioned
from measures.access import national_ids
from measures.local import publishing
from measures.store import Store
from measures.ui.pickers import picker_order
from tests import apptest

# The read local_periods made before it was bounded to the PCN's own rows and its practices' rows.
_ONE_PASS = """
    SELECT DISTINCT o.period_start FROM observations o
    WHERE (o.org_code = ? OR o.org_code IN (
            SELECT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn'
              AND start_date <= o.period_start AND (end_date IS NULL OR end_date >= o.period_start)))
      AND NOT list_contains(?, o.measure_id)
    ORDER BY 1 DESC
"""


def _one_pass(store: Store, pcn_code: str) -> list[date]:
    frame = store.query(_ONE_PASS, [pcn_code, pcn_code, sorted(national_ids())])
    return [pd.Timestamp(p).date() for p in frame["period_start"]]


def test_local_periods_are_those_of_the_one_pass_read_for_every_demo_pcn(demo_db):
    store = Store(demo_db)
    codes = queries.pcns(store)["pcn"].tolist()
    moved = store.query("SELECT parent_code FROM memberships WHERE parent_level = 'pcn' AND end_date IS NOT NULL")
    assert set(moved["parent_code"]) <= set(codes) and len(moved)  # a practice that left a PCN is among them
    for code in codes:
        periods = publishing.local_periods(store, code)
        assert periods, code
        assert periods == _one_pass(store, code), code
    assert publishing.local_periods(store, "NOPCN") == []


def test_the_hierarchy_held_per_data_version_follows_a_change(access_db):
    before = queries.pcns(access_db)
    name = before.loc[before["pcn"] == "UZ0001", "pcn_name"].iloc[0]
    with access_db.writer() as con:
        con.execute("UPDATE organisations SET name = 'Renamed PCN' WHERE org_code = 'UZ0001'")
    after = queries.pcns(access_db)
    assert name != "Renamed PCN"
    assert after.loc[after["pcn"] == "UZ0001", "pcn_name"].iloc[0] == "Renamed PCN"
    assert queries.pcn(access_db, "UZ0001")["pcn_name"] == "Renamed PCN"
    after.loc[:, "pcn_name"] = "changed by a caller"  # a caller's copy: the held hierarchy is not changed
    assert queries.pcn(access_db, "UZ0001")["pcn_name"] == "Renamed PCN"


def _cold_overview(store: Store, code: str, catalogue):
    versioned.clear_all()  # nothing held: the ICB's pool read and suppressed again for this PCN alone
    return queries.overview(store, code, catalogue)


def test_every_pcn_of_an_icb_gets_the_icb_comparator_a_cold_read_gives_it_after_a_save_too(access_db, monkeypatch):
    catalogue = local.catalogue_with_local(access_db)
    hierarchy = queries.pcns(access_db)
    icb = hierarchy.loc[hierarchy["pcn"] == "UZ0001", "icb"].iloc[0]
    codes = hierarchy.loc[hierarchy["icb"] == icb, "pcn"].tolist()
    assert len(codes) > 2
    cold = {code: _cold_overview(access_db, code, catalogue)[1] for code in codes}
    versioned.clear_all()
    for code in codes:  # one after another, as the picker opens them: the ICB's pool is shared
        series, comparator = queries.overview(access_db, code, catalogue)
        pd.testing.assert_frame_equal(comparator, cold[code])
        assert (comparator["comparator_org"] == icb).all()

    measure, period = cold[codes[0]].dropna(subset=["comparator"]).iloc[0][["measure", "period_start"]]
    with access_db.writer() as con:  # every PCN value of the ICB for that measure and period doubled
        con.execute("UPDATE observations SET numerator = numerator * 2, value = value * 2 WHERE measure_id = ? "
                    "AND period_start = ? AND org_level = 'pcn' AND list_contains(?, org_code)",
                    [measure, period, codes])
    after = queries.overview(access_db, codes[1], catalogue)[1]
    pd.testing.assert_frame_equal(after, _cold_overview(access_db, codes[1], catalogue)[1])
    changed = after[(after["measure"] == measure) & (after["period_start"] == period)]["comparator"].iloc[0]
    before = cold[codes[1]]
    assert changed != before[(before["measure"] == measure) & (before["period_start"] == period)]["comparator"].iloc[0]

    monkeypatch.setenv("PCN_SUPPRESS_BELOW", "1")  # no suppression: a pool of its own, not the one held
    unsuppressed = queries.overview(access_db, codes[2], catalogue)[1]
    pd.testing.assert_frame_equal(unsuppressed, _cold_overview(access_db, codes[2], catalogue)[1])


def test_a_page_that_changes_what_it_read_changes_nothing_the_next_read_gets(access_db):
    # What a principal may read is kept between reruns: each read is its own copy of it.
    def page():
        import streamlit as st

        from measures import ui

        first = ui.query("pcns")
        first.loc[:, "pcn_name"] = "changed by the page"
        series, comparator = ui.query("overview", "UZ0001")
        series["value"] = -1.0
        periods = ui.query("measure_periods", "dna_rate")
        periods.clear()
        again = ui.query("pcns")
        st.text(again["pcn_name"].iloc[0])
        st.text(str(float(ui.query("overview", "UZ0001")[0]["value"].max())))
        st.text(str(len(ui.query("measure_periods", "dna_rate"))))

    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception, at.exception
    name, value, periods = (t.value for t in at.text)
    assert name == queries.pcns(access_db)["pcn_name"].iloc[0] != "changed by the page"
    assert float(value) > 0  # not the -1 the page wrote into its copy
    assert int(periods) == len(queries.measure_periods(access_db, "dna_rate")) > 0


def _principal(grants):
    return access.Principal(identity="someone@example.nhs.uk", grants=tuple(grants))


def test_picker_order_puts_own_pcns_then_their_icbs_then_the_rest():
    codes = ("UA0001", "UB0001", "UA0002", "UC0001", "UB0002", "UA0003")
    icb_of = {"UA0001": "QAA", "UA0002": "QAA", "UA0003": "QAA", "UB0001": "QBB", "UB0002": "QBB",
              "UC0001": None}
    viewer = _principal([access.Grant(role="viewer", pcns=("UA0002",))])
    assert picker_order(codes, icb_of, viewer) == ("UA0002", "UA0001", "UA0003", "UB0001", "UC0001", "UB0002")
    analyst = _principal([access.Grant(role="icb_analyst", icbs=("QBB",))])
    assert picker_order(codes, icb_of, analyst) == ("UB0001", "UB0002", "UA0001", "UA0002", "UC0001", "UA0003")
    both = _principal([access.Grant(role="editor", pcns=("UB0002", "UA0003")),
                       access.Grant(role="icb_analyst", icbs=("QBB",))])
    assert picker_order(codes, icb_of, both) == ("UB0002", "UA0003", "UA0001", "UB0001", "UA0002", "UC0001")
    assert picker_order(codes, icb_of, access.OPEN) == codes  # open demo mode: as they come, by name
    assert picker_order(codes, icb_of, _principal([])) == codes  # no role: no PCN of their own


def _picker_codes(at: AppTest) -> list[str]:
    picker = at.sidebar.selectbox(key="pcn_picker")
    return [label.rsplit("(", 1)[1].split(")")[0] for label in picker.options]


def test_the_picker_lists_a_signed_in_viewers_own_pcn_first(access_db):
    by_name = queries.pcns(access_db)["pcn"].tolist()
    assert by_name[0] != "UZ0001"
    at = apptest.open_app("pages/pcn_overview.py", pcn="UZ0003", email="viewer@example.nhs.uk")
    assert _picker_codes(at) == ["UZ0001"] + [code for code in by_name if code != "UZ0001"]
    assert at.sidebar.selectbox(key="pcn_picker").value == "UZ0003"  # the URL's choice stands
    opened = apptest.open_app("pages/pcn_overview.py", email="viewer@example.nhs.uk")
    assert opened.sidebar.selectbox(key="pcn_picker").value == "UZ0001"
    open_mode = apptest.open_app("pages/pcn_overview.py", pcn="UZ0003")
    assert _picker_codes(open_mode) == by_name  # open demo mode: by name


_FIGURES = """
import pandas as pd
import streamlit as st

from measures import charts, local, ui

frame = pd.DataFrame({"org": ["UZ0001", "UZ0002"], "name": ["Riverside PCN", "Millbrook PCN"],
                      "value": [st.session_state.get("value", 40.0), 55.0], "lower_95": [35.0, 50.0],
                      "upper_95": [45.0, 60.0], "benchmark": ["similar", "similar"]})
measure = local.catalogue_with_local(ui.store()).get("dna_rate")
figure = ui.cached_figure(charts.ranked_bar, frame, measure=measure, highlight="UZ0001",
                          comparator_label="England average", comparator_value=47.0, period=pd.Timestamp("2026-09-01").date(),
                          area_label="All England", interval_text="Wilson score", intervals=True, notes=())
st.session_state.setdefault("figures", []).append(figure)
"""


def test_a_cached_figure_is_the_same_object_until_what_it_draws_or_the_data_changes(access_db):
    at = AppTest.from_string(_FIGURES, default_timeout=60)
    at.run()
    at.run()
    assert not at.exception, at.exception
    first, again = at.session_state["figures"]
    assert again is first  # a rerun shows the figure built before
    assert first.data[0].x is not None
    at.session_state["value"] = 41.0
    at.run()
    changed = at.session_state["figures"][-1]
    assert changed is not first and list(changed.data[0].x) != list(first.data[0].x)
    at.session_state["value"] = 40.0
    at.run()
    assert at.session_state["figures"][-1] is first
    access.log_event(access_db, access.OPEN, "export", "a test", "pcn=UZ0001")  # the log's own file, not the data
    at.run()
    assert at.session_state["figures"][-1] is first
    with access_db.writer() as con:  # any committed write
        con.execute("INSERT INTO meta VALUES ('a test', 'a value')")
    at.run()
    after = at.session_state["figures"][-1]
    assert after is not first
    assert after.to_json() == first.to_json()  # the same drawing, built again for the new data version
