"""SPC a practitioner would sign: limits in range, rebasing from the app, no icons on annual or short series."""

import json
import shutil
from datetime import date

import numpy as np
import pandas as pd
import pytest

from measures import access, annotations, boardpack, charts, detail, queries, stats, suppression
from measures.catalogue import default_catalogue
from measures.demo import IIF_ACC_08
from measures.importers import appointments, iif
from measures.store import Store
from tests import apptest
from tests.conftest import ROOT

CATALOGUE = default_catalogue()
EXAMPLE = ROOT / "data" / "access.example.yaml"
PCN = "UZ0001"
STEP_MEASURE = "workforce_fte_per_10k"  # falls through the demo's three years in UZ0001


def tidy(values, *, start="2023-04-01", numerators=None, denominators=None, freq="MS", flags=None):
    frame = pd.DataFrame({"version": 1, "period_start": pd.date_range(start, periods=len(values), freq=freq),
                          "value": np.asarray(values, dtype=float)})
    if numerators is not None:
        frame["numerator"], frame["denominator"] = np.asarray(numerators, float), denominators
    if flags is not None:
        frame[suppression.FLAG] = flags
    return frame


def swinging_percentages():
    """Meetings of 2 to 4 a month: a percentage that jumps between 0% and 100%."""
    numerators = [1, 2, 0, 2, 1, 2, 2, 0, 1, 2, 1, 2, 2, 1, 0, 2]
    denominators = [2] * len(numerators)
    return tidy([n / d * 100 for n, d in zip(numerators, denominators)], numerators=numerators,
                denominators=denominators)


def figure_lines(fig, name):
    return [np.asarray(t.y, dtype=float) for t in fig.data if t.legendgroup == name]


def notes_of(fig) -> str:
    """The figure's annotations as one text, with the lines a long footnote wraps onto joined again."""
    return " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")


def subtitle_of(fig) -> str:
    return (fig.layout.title.subtitle.text or "").replace("<br>", " ")


def private(demo_db, tmp_path, monkeypatch=None) -> Store:
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, path)
    if monkeypatch is not None:
        monkeypatch.setenv("PCN_DB", str(path))
    return Store(path)


# --- limits within the natural range ----------------------------------------------------------------------------


def test_percentage_limits_are_drawn_and_read_within_0_to_100_but_tabled_as_calculated():
    measure = CATALOGUE.get("int_mdt_partner_attendance_pct")
    series = swinging_percentages()
    reading = detail.read(series, measure)
    assert reading.mode == "spc" and reading.result["lpl"].iloc[-1] < 0 and reading.result["upl"].iloc[-1] > 100
    fig = charts.spc_chart(reading.result, measure, "Test PCN", reading=reading)
    drawn = np.concatenate(figure_lines(fig, "limits"))
    assert drawn.min() == 0 and drawn.max() == 100
    text = detail.narrative(reading, measure, "Test PCN")
    assert "process limits of 0.0% to 100.0%" in text and "-" not in text.split("process limits")[1]
    assert "drawn at its edge (0.0% and 100.0%)" in notes_of(fig)
    table = detail.data_table(series, reading, measure)
    assert table["Lower process limit"].iloc[-1] == pytest.approx(reading.result["lpl"].iloc[-1], abs=1e-3)
    assert table["Lower process limit"].iloc[-1] < 0
    assert table["Upper process limit"].iloc[-1] > 100


def test_a_rate_is_never_drawn_below_zero_and_has_no_upper_bound():
    measure = CATALOGUE.get("int_social_prescribing_per_1000")
    values = [0.2, 3.5, 0.1, 4.0, 0.3, 3.8, 0.2, 0.4, 3.9, 0.1, 0.3, 3.6, 0.2]
    reading = detail.read(tidy(values), measure)
    assert reading.result["lpl"].iloc[-1] < 0
    assert reading.result["lpl_shown"].iloc[-1] == 0
    assert reading.result["upl_shown"].iloc[-1] == reading.result["upl"].iloc[-1]


def test_a_budget_over_100_percent_is_not_cut_off_at_100():
    measure = CATALOGUE.get("ps_arrs_budget_used_pct")
    values = [96, 99, 104, 101, 97, 103, 108, 98, 100, 102, 99, 105, 107]
    reading = detail.read(tidy(values), measure)
    assert reading.natural_range == (0.0, None)
    assert reading.result["upl_shown"].iloc[-1] == reading.result["upl"].iloc[-1] > 100


# --- annual and short series: points with intervals, no icons ----------------------------------------------------


@pytest.mark.parametrize("measure_id", ["acc_10", "acc_10b", "ehch_04", "acc_08"])
def test_an_annual_measure_gets_no_variation_or_assurance_icon_however_many_points(measure_id):
    measure = CATALOGUE.get(measure_id)
    assert measure.frequency == "annual"
    values = [10, 10.5, 9.8, 10.2, 10.1, 9.9, 10.3, 10, 10.4, 9.7, 10.1, 10.2, 10, 20, 22]  # a clear step up
    reading = detail.read(tidy(values, numerators=[v * 30 for v in values], denominators=3000.0), measure)
    assert (reading.mode, reading.variation, reading.assurance) == ("points", None, None)
    assert "annual measure" in detail.method_subtitle(reading, measure)
    assert "no variation or assurance icon" in detail.narrative(reading, measure, "Test PCN")


def test_fewer_than_12_points_are_drawn_with_intervals_and_no_limits_or_icons():
    measure = CATALOGUE.get("appointments_same_day_pct")
    values = [40, 41, 39, 42, 40, 41, 39, 52]
    reading = detail.read(tidy(values, numerators=[v * 10 for v in values], denominators=1000.0), measure)
    assert (reading.mode, reading.why_points, reading.variation, reading.assurance) == ("points", "short", None, None)
    fig = charts.spc_chart(reading.result, measure, "Test PCN", reading=reading)
    names = {t.name for t in fig.data}
    assert "Process limits" not in names and "Mean" not in names
    (points,) = [t for t in fig.data if t.name == "Value with 95% interval"]
    assert points.error_y.array is not None and len(points.y) == len(values)
    assert "Wilson score" in subtitle_of(fig)
    table = detail.data_table(tidy(values), reading, measure)
    assert "Lower 95% limit" in table and "Lower process limit" not in table


def test_twelve_monthly_points_are_an_xmr_chart_with_icons():
    measure = CATALOGUE.get("appointments_same_day_pct")
    reading = detail.read(tidy([40, 41, 39, 42, 40, 41, 39, 40, 41, 40, 39, 41]), measure)
    assert reading.mode == "spc" and reading.variation == "common_cause"


def test_assurance_is_judged_against_a_target_not_against_iif_thresholds():
    measure = CATALOGUE.get("acc_08_monthly")  # IIF thresholds for 2023/24, no target
    values = [60, 61, 59, 60, 62, 61, 60, 59, 61, 60, 62, 60]  # far below the 85% lower threshold
    reading = detail.read(tidy(values), measure)
    assert reading.variation == "common_cause" and reading.assurance is None and reading.target is None
    assert set(detail.goal_lines(measure, date(2023, 4, 1), date(2024, 3, 1))["label"]) == {"IIF thresholds"}


def test_assurance_uses_the_target_of_the_latest_periods_own_financial_year():
    from measures.catalogue import Target

    measure = CATALOGUE.get("appointments_within_14_days_pct").model_copy(update={"targets": [
        Target(financial_year="2023/24", value=80.0)]})
    values = [40, 41, 39, 42, 40, 41, 39, 40, 41, 40, 39, 41]
    in_year = detail.read(tidy(values, start="2023-04-01"), measure)
    assert (in_year.target, in_year.assurance) == (80.0, "consistent_fail")
    next_year = detail.read(tidy(values, start="2023-05-01"), measure)  # ends in April 2024: no target that year
    assert (next_year.target, next_year.assurance) == (None, None)


# --- gaps and suppressed values ------------------------------------------------------------------------------------


def test_a_missing_month_drops_the_moving_ranges_on_both_sides():
    measure = CATALOGUE.get("appointments_same_day_pct")
    values = [40, 41, 39, 42, 40, 41, 39, 40, 41, 40, 39, 41, 40, 42]
    series = tidy(values).drop(index=6)  # no row at all for October 2023
    reading = detail.read(series, measure)
    filled = stats.fill_missing_periods(pd.DataFrame({"date": pd.to_datetime(series["period_start"]),
                                                      "value": series["value"]}), "date")
    expected = stats.spc(filled, "value", "date", gaps="break")
    joined = stats.spc(pd.DataFrame({"date": pd.to_datetime(series["period_start"]), "value": series["value"]}),
                       "value", "date")
    assert reading.result["upl"].iloc[-1] == pytest.approx(expected["upl"].iloc[-1])
    assert reading.result["upl"].iloc[-1] != pytest.approx(joined["upl"].iloc[-1])


def test_a_suppressed_value_is_a_gap_in_the_limits_and_the_chart_says_so():
    measure = CATALOGUE.get("int_vcse_referrals_engaged_pct")
    values = [60, 62, 58, 61, np.nan, 60, 63, 59, 61, 62, 60, 58, 61, 60]
    flags = [bool(np.isnan(v)) for v in values]
    series = tidy(values, flags=flags)
    reading = detail.read(series, measure)
    filled = pd.DataFrame({"date": pd.to_datetime(series["period_start"]), "value": series["value"]})
    expected = stats.spc(filled, "value", "date", gaps="break")
    assert reading.result["upl"].iloc[-1] == pytest.approx(expected["upl"].iloc[-1])
    assert len(reading.result) == 13 and reading.suppressed == (pd.Timestamp("2023-08-01"),)
    fig = charts.spc_chart(reading.result, measure, "Test PCN", reading=reading)
    assert detail.SUPPRESSION_METHOD in notes_of(fig)


def test_too_many_suppressed_values_withhold_the_icons_and_say_why():
    measure = CATALOGUE.get("int_vcse_referrals_engaged_pct")
    values = [60, np.nan, 58, np.nan, 62, np.nan, 59, np.nan, 61, 62, np.nan, 58, 61, 60, 59, 61, 60, 62]
    reading = detail.read(tidy(values, flags=[bool(np.isnan(v)) for v in values]), measure)
    assert reading.mode == "spc" and reading.variation is None and reading.assurance is None
    assert "too many for the limits to be read" in detail.narrative(reading, measure, "Test PCN")


# --- rebasing ----------------------------------------------------------------------------------------------------


def test_the_chart_names_its_method_and_each_recalculation_of_its_limits():
    measure = CATALOGUE.get("appointments_within_14_days_pct")
    values = [40, 41, 39, 42, 40, 41, 39, 40, 41, 40, 39, 41, 50, 51, 49, 52, 50, 51, 49, 50, 51, 50, 49, 51]
    plain = detail.read(tidy(values), measure)
    assert plain.variation == "improvement_high"
    rebased = detail.read(tidy(values), measure, rebase=[date(2024, 4, 15)])  # moved to the next period, May
    assert rebased.rebases == (pd.Timestamp("2024-05-01"),) and rebased.variation == "common_cause"
    fig = charts.spc_chart(rebased.result, measure, "Test PCN", reading=rebased,
                           rebase_reasons={pd.Timestamp("2024-05-01"): "extended access hub opened"})
    assert subtitle_of(fig).startswith(
        "XmR chart, NHSRplotthedots rules; limits recalculated from May 2024")
    means = figure_lines(fig, "mean")
    assert len(means) == 2 and means[0][0] != means[1][0]  # a segment each, not one line joining them
    labels = notes_of(fig)
    assert "Limits recalculated from May 2024: extended access hub opened" in labels
    assert "The limits are recalculated from May 2024" in detail.narrative(rebased, measure, "Test PCN")
    assert detail.data_table(tidy(values), rebased, measure)["Limits from"].iloc[-1] == "May 2024"


def test_only_the_pcns_editors_rebase_and_a_removal_is_kept_on_record(demo_db, tmp_path):
    store = private(demo_db, tmp_path)
    config = access.parse_access(EXAMPLE)
    viewer = access.principal_for("viewer@example.nhs.uk", config)
    editor = access.principal_for("editor@example.nhs.uk", config)
    with pytest.raises(access.AccessDenied, match="Nothing was saved"):
        annotations.add_rebase(store, STEP_MEASURE, PCN, date(2024, 10, 1), "new rota", viewer)
    with pytest.raises(access.AccessDenied):
        annotations.add_rebase(store, STEP_MEASURE, "UZ0002", date(2024, 10, 1), "new rota", editor)
    with pytest.raises(ValueError, match="needs a reason"):
        annotations.add_rebase(store, STEP_MEASURE, PCN, date(2024, 10, 1), "  ", editor)
    assert annotations.rebases(store, STEP_MEASURE, PCN).empty
    rebase_id = annotations.add_rebase(store, STEP_MEASURE, PCN, date(2024, 10, 9), "two GPs retired", editor)
    (row,) = annotations.rebases(store, STEP_MEASURE, PCN).itertuples()
    assert (row.period_start, row.reason, row.created_by) == (pd.Timestamp("2024-10-01"), "two GPs retired",
                                                               "editor@example.nhs.uk")
    with pytest.raises(access.AccessDenied):
        annotations.remove_rebase(store, rebase_id, viewer)
    annotations.remove_rebase(store, rebase_id, editor, "entered for the wrong PCN")
    assert annotations.rebases(store, STEP_MEASURE, PCN).empty
    kept = store.query("SELECT removed_by, removal_reason FROM rebases WHERE rebase_id = ?", [rebase_id])
    assert kept.iloc[0].tolist() == ["editor@example.nhs.uk", "entered for the wrong PCN"]
    log = access.access_log(store).query("action.str.endswith('rebase')")[["action", "actor"]].iloc[::-1]
    assert log.values.tolist() == [["rebase", "editor@example.nhs.uk"], ["remove_rebase", "editor@example.nhs.uk"]]


def test_a_rebase_made_in_the_app_changes_the_chart_and_the_board_pack(demo_db, tmp_path, monkeypatch):
    store = private(demo_db, tmp_path, monkeypatch)
    before = boardpack.build_pack(store, PCN, chart_images=False)
    page = next(p for p in before.exceptions if p.measure_id == STEP_MEASURE)
    assert "recalculated" not in page.narrative
    at = apptest.open_app("pages/measure_detail.py", pcn=PCN, measure=STEP_MEASURE, timeout=30)
    ((_, subtitle),) = apptest.chart_headings(at)
    assert "recalculated" not in subtitle
    at.date_input(key="rebase_date").set_value(date(2024, 10, 1))
    at.text_input(key="rebase_reason").input("two salaried GPs left")
    at.button(key="rebase_submit").click().run()
    assert not at.exception, at.exception
    (spec,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    ((_, subtitle),) = apptest.chart_headings(at)
    assert "limits recalculated from Oct 2024" in subtitle
    assert any("two salaried GPs left" in a["text"].replace("<br>", " ") for a in spec["layout"]["annotations"])
    assert "The limits are recalculated from October 2024" in "\n".join(m.value for m in at.markdown)
    after = boardpack.build_pack(store, PCN, chart_images=False)
    page = next(p for p in after.exceptions if p.measure_id == STEP_MEASURE)
    assert "The limits are recalculated from October 2024" in page.narrative
    expected = detail.read(queries.series(store, STEP_MEASURE, PCN), CATALOGUE.get(STEP_MEASURE),
                           rebase=[date(2024, 10, 1)])
    row = next(r for r in after.summary if r.measure_id == STEP_MEASURE)
    assert row.variation == expected.variation


def test_the_mdt_partner_attendance_page_draws_its_limits_within_0_and_100(app_env):
    at = apptest.open_app("pages/measure_detail.py", pcn=PCN, measure="int_mdt_partner_attendance_pct", timeout=30)
    (spec,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    ((_, subtitle),) = apptest.chart_headings(at)
    assert subtitle.startswith("XmR chart, NHSRplotthedots rules")
    limits = [y for t in spec["data"] if t.get("legendgroup") == "limits" for y in _numbers(t["y"])]
    assert min(limits) >= 0 and max(limits) <= 100
    reading_text = "\n".join(m.value for m in at.markdown)
    assert "process limits of" in reading_text and "-3.7" not in reading_text and "144.5" not in reading_text


def _numbers(values):
    import base64

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), values["dtype"]).astype(float)
    return np.asarray(values, dtype=float)


# --- ACC-08: one measure, one period length --------------------------------------------------------------------


def test_acc_08_from_the_iif_file_and_from_the_appointments_file_are_separate_series(demo_db):
    yearly, monthly = CATALOGUE.get("acc_08"), CATALOGUE.get("acc_08_monthly")
    assert (yearly.frequency, monthly.frequency) == ("annual", "monthly")
    assert yearly.source.publication.startswith("Network Contract DES") and "Appointments" not in \
        yearly.source.publication
    assert monthly.source.publication == "Appointments in General Practice"
    assert appointments.MEASURES["acc_08_monthly"] == ("acc08_within_14", "acc08_known")
    assert "acc_08" not in appointments.MEASURES
    assert {m for parts in iif.PARTS.values() for m, _ in parts} >= {"acc_08"}
    store = Store(demo_db)
    year = queries.series(store, IIF_ACC_08, PCN)
    assert len(year) == 1 and (pd.Timestamp(year["period_start"].iloc[0]),
                               pd.Timestamp(year["period_end"].iloc[0])) == (pd.Timestamp("2023-04-01"),
                                                                            pd.Timestamp("2024-03-31"))
    months = queries.series(store, "acc_08_monthly", PCN)
    assert len(months) == 36
    assert ((pd.to_datetime(months["period_end"]) - pd.to_datetime(months["period_start"])).dt.days < 31).all()
    reading = detail.read(year, yearly)
    assert reading.mode == "points" and reading.yearly and reading.interval_method == "Wilson score"
    assert "in 2023/24" in detail.narrative(reading, yearly, "Test PCN")


# --- practice-level measures: every member practice -----------------------------------------------------------


def test_detail_of_a_practice_level_measure_lists_every_member_practice_with_its_icons(app_env):
    from measures import practice_view

    at = apptest.open_app("pages/measure_detail.py", pcn=PCN, measure="acc_08_monthly", timeout=30)
    (table,) = [d.value for d in at.dataframe if "Variation (in words)" in d.value.columns]
    members = practice_view.practice_members(Store(app_env), PCN)
    assert sorted(table["Code"]) == sorted(members["org"]) and len(members) > 1
    assert table["Variation"].str.startswith("data:image/svg+xml;base64,").all()
    assert table["Variation (in words)"].isin(list(detail.VARIATION_TEXT.values()) + ["No icon"]).all()
    assert (table["Values"] == 36).any()


def test_a_pcn_level_measure_has_no_practice_table(app_env):
    at = apptest.open_app("pages/measure_detail.py", pcn=PCN, measure="int_mdt_partner_attendance_pct", timeout=30)
    assert not [d for d in at.dataframe if "Variation (in words)" in d.value.columns]
