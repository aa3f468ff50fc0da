"""The Measure detail and Compare areas pages, driven through AppTest on the demo."""

import base64
import json
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from measures.store import Store
from tests import apptest


def open_page(page, **params) -> AppTest:
    return apptest.open_app(page, timeout=30, **params)


def figures(at):
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def numbers(values):
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), values["dtype"])
    return np.asarray(values, dtype=float)


def test_detail_draws_an_spc_chart_with_limits_icons_and_definition(app_env):
    at = open_page("pages/measure_detail.py", pcn="UZ0003", measure="acc_08_monthly")
    (spec,) = figures(at)
    names = {trace.get("name") for trace in spec["data"]}
    assert {"Mean", "Process limits"} <= names
    thresholds = [numbers(t["y"])[0] for t in spec["data"] if t.get("name") == "IIF thresholds"]
    assert sorted(thresholds) == [85.0, 90.0]
    point_traces = [t for t in spec["data"] if t.get("mode") == "markers"]
    assert sum(len(numbers(t["y"])) for t in point_traces) == 36
    assert apptest.chart_headings(at)[0][0] == "Booked within 2 weeks (monthly): Ashvale PCN"
    assert any("Source:" in a["text"] for a in spec["layout"]["annotations"])
    assert any(m.value.startswith(":blue-badge[") and "Special cause improvement" in m.value for m in at.markdown)
    assert any("Numerator" in m.value for m in at.markdown)
    assert not at.warning or all("Only" not in w.value for w in at.warning if "Synthetic" not in w.value)
    (table,) = [frame.value for frame in at.dataframe if "Upper process limit" in frame.value.columns]
    assert len(table) == 36 and table["Point"].iloc[-1].startswith(("Common", "Special"))


def test_detail_chart_wraps_to_a_phone_on_screen_and_downloads_keep_the_print_layout(app_env):
    from measures import charts, detail, exports, queries
    from measures.catalogue import default_catalogue

    at = open_page("pages/measure_detail.py", pcn="UZ0003", measure="acc_08_monthly")
    (spec,) = figures(at)
    # On screen the title and subtitle are text above the chart, one line each (it wraps to the screen's width);
    # the chart draws none and keeps only a little room above its plot.
    ((title, subtitle),) = apptest.chart_headings(at)
    assert title == "Booked within 2 weeks (monthly): Ashvale PCN" and subtitle.startswith("XmR chart")
    assert not spec["layout"]["title"]["text"] and spec["layout"]["margin"]["t"] == charts.SCREEN_TOP_PIXELS
    (footnote,) = [a["text"] for a in spec["layout"]["annotations"] if a["text"].startswith("Source:")]
    assert all(len(line) <= charts._WRAP["note"] for line in footnote.split("<br>")), footnote
    # The downloads are of the chart with its one-line title inside, at print size, named from the title.
    measure = default_catalogue().get("acc_08_monthly")
    reading = detail.read(queries.series(Store(app_env), measure.id, "UZ0003"), measure)
    printed = charts.spc_chart(reading.result, measure, "Ashvale PCN", reading=reading)
    shown = charts.for_screens(printed)
    assert printed.layout.title.text == title
    assert exports.export_size(shown)[1] > exports.export_size(printed)[1]
    assert exports.expected_png_size(printed) == (2481, 1680)
    assert exports.figure_filename(shown, "png") == exports.figure_filename(printed, "png") \
        == "booked-within-2-weeks-monthly-ashvale-pcn.png"


def test_detail_warns_when_fewer_than_twelve_points(demo_db, tmp_path, monkeypatch):
    short = tmp_path / "short.duckdb"
    shutil.copy(demo_db, short)
    with Store(short).writer() as con:
        con.execute("DELETE FROM observations WHERE org_code = 'UZ0003' AND measure_id = 'dna_rate' "
                    "AND period_start < DATE '2026-01-01'")
    monkeypatch.setenv("PCN_DB", str(short))
    at = open_page("pages/measure_detail.py", pcn="UZ0003", measure="dna_rate")
    assert any("Only 9 points" in w.value for w in at.warning)


def test_a_note_added_on_the_detail_page_appears_on_the_chart(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "notes.duckdb"
    shutil.copy(demo_db, db)
    monkeypatch.setenv("PCN_DB", str(db))
    at = open_page("pages/measure_detail.py", pcn="UZ0002", measure="face_to_face_pct")
    at.text_input[0].input("Triage hub opened")
    at.button[0].click().run()
    assert not at.exception
    (spec,) = figures(at)
    assert any(a["text"] == "Triage hub opened" for a in spec["layout"]["annotations"])


def test_an_empty_note_is_refused_with_a_message(app_env):
    at = open_page("pages/measure_detail.py", pcn="UZ0002", measure="face_to_face_pct")
    at.button[0].click().run()
    assert any("needs a note" in e.value for e in at.error)


def test_compare_ranks_every_icb_pcn_with_intervals_and_a_funnel(app_env):
    at = open_page("pages/compare_areas.py", pcn="UZ0003", measure="dna_rate")
    (ranked,) = figures(at)  # only the open tab is drawn
    bars = [t for t in ranked["data"] if t["type"] == "bar"]
    assert sum(len(t["y"]) for t in bars) == 12
    assert all("error_x" in t for t in bars)
    assert {t["name"] for t in bars} <= {"Better than comparator", "Similar", "Worse than comparator"}
    (funnel,) = figures(apptest.open_tab(at, "Funnel plot"))
    limit_names = {t.get("name") for t in funnel["data"]}
    assert {"95% limits", "99.8% limits"} <= limit_names
    assert "Ashvale PCN" in limit_names  # the chosen PCN is marked
    table = apptest.open_tab(at, "Table").dataframe[0].value
    assert len(table) == 12 and "95% CI lower" in table.columns


def test_compare_narrows_to_a_place_and_to_peers(app_env):
    at = open_page("pages/compare_areas.py", pcn="UZ0003", measure="acc_08", tab="Table")
    at.selectbox(key="area_picker").set_value("sub_icb:Z01").run()
    assert len(at.dataframe[0].value) == 4
    at.selectbox(key="area_picker").set_value("england").run()
    at.selectbox(key="peer_group").set_value("imd_score").run()
    assert len(at.dataframe[0].value) == 12  # the demo has fewer than 20 PCNs


def test_every_pcn_has_a_deprivation_score_weighted_by_its_practices_lists(app_env):
    from measures import queries
    from measures.store import Store

    store = Store(app_env)
    frame = queries.pcn_values(store, "acc_08_monthly", queries.measure_periods(store, "acc_08_monthly")[0])
    assert frame["imd_score"].notna().all()
    pcn = frame.set_index("org").loc["UZ0003"]
    practices = store.query(
        "SELECT c.value, l.registered_patients FROM memberships m "
        "JOIN practice_context c ON c.org_code = m.child_code AND c.indicator = 'imd_score' "
        "JOIN list_sizes l ON l.org_code = m.child_code AND l.extract_date = (SELECT max(extract_date) FROM list_sizes) "
        "WHERE m.parent_code = 'UZ0003' AND m.parent_level = 'pcn' AND m.end_date IS NULL")
    expected = (practices["value"] * practices["registered_patients"]).sum() / practices["registered_patients"].sum()
    assert pcn["imd_score"] == pytest.approx(expected)


def test_compare_says_why_a_measure_has_no_funnel(app_env):
    at = open_page("pages/compare_areas.py", pcn="UZ0003", measure="ps_days_to_practice_payment", tab="Funnel plot")
    assert any("funnel plot needs a proportion or a rate" in i.value for i in at.info)


def test_a_measure_defined_in_the_app_is_offered_on_compare_areas(demo_db, tmp_path, monkeypatch):
    from measures import local

    path = tmp_path / "compare.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("PCN_DB", str(path))
    local.define_measure(Store(path), local.measure_from_form({
        "id": "int_carers_identified_pct", "name": "Carers identified on the practice register",
        "description": "Share of patients known to be carers who are flagged as carers on the practice register.",
        "family": "local_integration", "level": "pcn", "type": "proportion",
        "numerator": "Carers flagged on the register", "denominator": "Carers known to the neighbourhood team",
        "unit": "%", "multiplier": 100.0, "decimals": 1, "improvement_direction": "increase",
        "frequency": "monthly", "fair_share": "", "scope": "UZ0003", "status": "active", "tags": "carers",
        "caveats": "", "publication": local.LOCAL_PUBLICATION, "publisher": "set locally by Ashvale PCN"}), "PCN manager")
    at = open_page("pages/compare_areas.py", pcn="UZ0003", measure="int_carers_identified_pct")
    picker = at.selectbox(key="measure_picker")
    assert "Carers identified on the practice register (Integration (set locally))" in picker.options
    assert picker.value == "int_carers_identified_pct"
    assert any("No PCN has values for Carers identified" in i.value for i in at.info)  # defined, nothing entered yet


def test_the_chart_and_each_practices_reading_are_computed_once_per_data_version_not_on_every_rerun(demo_db, tmp_path,
                                                                                     monkeypatch):
    from measures import charts, practice_view

    path = tmp_path / "app.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("PCN_DB", str(path))
    calls, charts_built = [], []
    real, real_chart = practice_view.practice_spc_table, charts.spc_chart
    monkeypatch.setattr(practice_view, "practice_spc_table",
                        lambda *args, **kwargs: calls.append(args) or real(*args, **kwargs))
    monkeypatch.setattr(charts, "spc_chart", lambda *args, **kwargs: charts_built.append(args) or
                        real_chart(*args, **kwargs))
    at = open_page("pages/measure_detail.py", pcn="UZ0006", measure="dna_rate")
    shown = next(d.value for d in at.dataframe if "Variation (in words)" in d.value.columns)
    at.run()
    assert not at.exception and len(calls) == 1 and len(charts_built) == 1  # the PCN's chart, built once too
    # A new value changes the data version: the table is read and computed again, with the value in it.
    store = Store(path)
    practice, period = store.query(
        "SELECT org_code, max(period_start) AS p FROM observations WHERE measure_id = 'dna_rate' "
        "AND org_level = 'practice' AND org_code = ? GROUP BY 1", [shown["Code"].iloc[0]]).iloc[0]
    with store.writer() as con:
        con.execute("UPDATE observations SET numerator = 0, value = 0 WHERE measure_id = 'dna_rate' "
                    "AND org_code = ? AND period_start = ?", [practice, period])
    at.run()
    assert len(calls) == 2 and len(charts_built) == 2
    again = next(d.value for d in at.dataframe if "Variation (in words)" in d.value.columns)
    assert again.set_index("Code").loc[practice, "Latest"] == "0.0%"
