"""The board view: rows computed from the demo, the Fingertips verdict, the HTML it draws, and the page itself."""

import base64
import re
import shutil
from datetime import date

import numpy as np
import pandas as pd
import pytest

from measures import access, annotations, board, board_html, boardpack, compare, detail, local, queries, suppression
from measures.catalogue import Catalogue, Target, Threshold, default_catalogue
from measures.store import Store
from tests import apptest
from tests.conftest import ROOT

PCN = "UZ0001"
PCN_NAMES = {"pcn": PCN, "pcn_name": "Riverside PCN", "sub_icb_name": "Place", "icb_name": "ICB"}


def measure(measure_id, **changes):
    found = default_catalogue().get(measure_id)
    return found.model_copy(update=changes) if changes else found


def demo_rows(store: Store, pcn: str = PCN):
    catalogue = local.catalogue_with_local(store, pcn)
    series, comparator = queries.overview(store, pcn, catalogue)
    return board.board_rows(catalogue, suppression.suppress(series, suppression.rules(catalogue)), comparator)


def tidy(measure_id, values, *, start="2024-10-01", numerators=None, denominators=None, hidden=None):
    periods = pd.date_range(start, periods=len(values), freq="MS")
    frame = pd.DataFrame({"measure": measure_id, "version": 1, "org": PCN, "period_start": periods,
                          "period_end": periods + pd.offsets.MonthEnd(0),
                          "numerator": numerators if numerators is not None else values,
                          "denominator": denominators if denominators is not None else 1.0,
                          "value": [float(v) for v in values]})
    frame[suppression.FLAG] = hidden if hidden is not None else False
    return frame


def colours(html_text: str) -> list[str]:
    """Every colour the HTML draws with: in its CSS and attributes, and inside each SVG image it embeds."""
    images = [base64.b64decode(data).decode() for data in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)",
                                                                    html_text)]
    return sorted(c.upper() for c in re.findall(r"#[0-9A-Fa-f]{6}\b", " ".join([html_text, *images])))


# --- rows from the demo -----------------------------------------------------------------------------------------


def test_the_board_has_one_row_per_measure_that_is_not_retired(demo_db):
    rows = demo_rows(Store(demo_db))
    expected = [m.id for m in local.catalogue_with_local(Store(demo_db), PCN) if m.status != "retired"]
    assert [row.measure.id for row in rows] == expected and len(rows) >= 35
    assert all(row.has_data for row in rows)


def test_a_retired_measure_has_no_row(demo_db):
    catalogue = default_catalogue()
    retired = Catalogue(tuple(m.model_copy(update={"status": "retired"}) if m.id == "acc_08" else m
                              for m in catalogue))
    series, comparator = queries.overview(Store(demo_db), PCN, catalogue)
    ids = [row.measure.id for row in board.board_rows(retired, series, comparator)]
    assert "acc_08" not in ids and len(ids) == len(catalogue) - 1


def test_the_icons_are_those_of_the_measure_detail_chart(demo_db):
    store = Store(demo_db)
    rules = suppression.rules(default_catalogue())
    for pcn in (PCN, "UZ0007"):
        for row in demo_rows(store, pcn):
            if board.pcn_value_is_one(row.measure):  # 1.00 by construction: no icons, the practices' range
                assert (row.variation, row.assurance) == (None, None)
                continue
            reading = detail.read(suppression.suppress(queries.series(store, row.measure.id, pcn), rules), row.measure)
            assert (row.variation, row.assurance) == (reading.variation, reading.assurance), (pcn, row.measure.id)


def test_the_demo_shows_special_cause_and_common_cause_rows(demo_db):
    variations = {row.variation for row in demo_rows(Store(demo_db))}
    assert "common_cause" in variations and variations - {"common_cause"}


def test_the_verdict_matches_the_compare_page_for_the_same_icb_value(demo_db):
    store = Store(demo_db)
    rows = {row.measure.id: row for row in demo_rows(store)}
    judged = [row for row in rows.values() if row.verdict.compared]
    assert {row.verdict.method for row in judged} == {"wilson", "byar"}
    for row in judged:
        mine = queries.pcn_values(store, row.measure.id, row.latest_period).query("org == @PCN")
        assert compare.benchmarked(mine, row.measure, row.comparator)["benchmark"].iloc[0] == row.verdict.outcome


def test_a_suppressed_latest_value_shows_as_a_star_and_is_not_compared(demo_db):
    rows = {row.measure.id: row for row in demo_rows(Store(demo_db))}
    starred = [row for row in rows.values() if row.latest_suppressed]
    assert starred, "the demo suppresses some latest values"
    for row in starred:
        assert row.value_text == suppression.MARK and row.latest_value is None
        assert row.verdict.outcome in ("suppressed", "not_compared") and not row.verdict.compared
        assert row.trend[-1] is None


def test_attention_reasons_are_the_board_packs(demo_db):
    store = Store(demo_db)
    for row in demo_rows(store):
        rows = detail.latest_version(suppression.suppress(queries.series(store, row.measure.id, PCN),
                                                          suppression.rules(default_catalogue())),
                                     keep_suppressed=True)
        reading = detail.read(rows, row.measure)
        assert row.reasons == boardpack.attention_reasons(row.measure, reading, row.latest_value, row.latest_period)


# --- the Fingertips verdict on constructed cases ----------------------------------------------------------------


@pytest.mark.parametrize("measure_id, numerator, denominator, icb, expected", [
    ("acc_08", 900, 1000, 80.0, "better"),  # 90% (88.0% to 91.7%) wholly above 80%
    ("acc_08", 900, 1000, 95.0, "worse"),
    ("acc_08", 900, 1000, 89.0, "similar"),  # the interval straddles the ICB value
    ("acc_08", 9, 10, 80.0, "similar"),  # the same 90% from ten appointments: too few to tell
    ("dna_rate", 90, 1000, 5.0, "worse"),  # lower is better, and 9.0% is wholly above 5%
    ("dna_rate", 20, 1000, 5.0, "better"),
    ("face_to_face_pct", 900, 1000, 50.0, "higher"),  # no better direction
    ("int_cohort_emergency_admissions_per_1000", 120, 1000, 50.0, "worse"),  # Byar's, lower is better
    ("int_social_prescribing_per_1000", 120, 10000, 5.0, "better"),  # 12 per 1,000 wholly above 5
    ("int_social_prescribing_per_1000", 6, 1000, 5.0, "similar"),  # exact Poisson under 10 events: wide
])
def test_an_interval_wholly_above_or_below_the_icb_decides_better_or_worse(measure_id, numerator, denominator,
                                                                            icb, expected):
    subject = measure(measure_id)
    value = numerator / denominator * subject.multiplier
    verdict = board.judge(subject, numerator, denominator, value, icb)
    assert verdict.outcome == expected
    assert verdict.lower <= value <= verdict.upper
    assert verdict.method == subject.comparison


@pytest.mark.parametrize("measure_id, reason", [
    ("workforce_fte_per_10k", board.NOT_EVENTS),  # FTE per 10,000
    ("workforce_arrs_fte_per_10k", board.NOT_EVENTS),
    ("ps_arrs_budget_used_pct", board.NOT_EVENTS),  # a proportion of pounds
    ("ps_arrs_hours_per_1000_weighted", board.NOT_EVENTS),  # hours
    ("ps_training_supervision_hours", board.NOT_EVENTS),
    ("ps_funding_per_weighted_patient", board.NOT_EVENTS),  # pounds
    ("ps_arrs_fair_share_ratio", board.NOT_EVENTS),  # a ratio
    ("ps_days_to_practice_payment", board.NOT_EVENTS),  # a mean
    ("workforce_headcount", board.RAW_COUNT),
    ("registered_patients", board.RAW_COUNT),  # list size
    ("int_mdt_case_reviews", board.RAW_COUNT),  # a count of events: Compare areas ranks it per 1,000 patients
    ("acc_10", board.STANDARDISED),  # declared dobson
])
def test_measures_that_are_not_events_are_never_given_a_verdict(measure_id, reason):
    subject = measure(measure_id)
    # Far from the ICB value with a huge denominator: any interval would call this "better" or "worse".
    verdict = board.judge(subject, 990_000, 1_000_000, 99.0, 1.0)
    assert verdict.outcome == "not_compared" and verdict.reason == reason and not verdict.compared
    assert board.comparison_method(subject) == (None, reason)


@pytest.mark.parametrize("measure_id, declared, method, reason", [
    ("acc_08_monthly", "wilson", "wilson", None),
    ("acc_08_monthly", "normal", None, board.NORMAL),
    ("acc_08_monthly", "none", None, board.NO_METHOD),
    ("ps_arrs_budget_used_pct", "wilson", "wilson", None),  # the file, not the words of the unit, decides
    ("ps_arrs_budget_used_pct", "none", None, board.NOT_EVENTS),  # none keeps the reason it always had
    ("int_social_prescribing_per_1000", "byar", "byar", None),
    ("int_social_prescribing_per_1000", "dobson", None, board.STANDARDISED),
    ("int_social_prescribing_per_1000", "normal", None, board.NORMAL),
    ("int_social_prescribing_per_1000", "none", None, board.NO_METHOD),
    ("workforce_fte_per_10k", "none", None, board.NOT_EVENTS),
    ("workforce_headcount", "none", None, board.RAW_COUNT),
    ("int_mdt_case_reviews", "byar", None, board.RAW_COUNT),
])
def test_the_board_compares_each_measure_by_its_declared_method(measure_id, declared, method, reason):
    subject = measure(measure_id, comparison=declared)
    assert board.comparison_method(subject) == (method, reason)
    verdict = board.judge(subject, 900, 1000, 900 / 1000 * subject.multiplier, 1.0)
    if method is None:
        assert verdict.outcome == "not_compared" and verdict.reason == reason
    else:
        assert verdict.method == method and verdict.compared and verdict.lower < verdict.upper


def test_dobsons_method_is_named_as_needing_age_bands():
    assert board.comparison_method(measure("acc_10")) == (None, board.STANDARDISED)
    assert "Dobson's method needs age bands" in board.STANDARDISED


def test_no_icb_value_or_no_denominator_gives_no_verdict():
    acc_08 = measure("acc_08")
    assert board.judge(acc_08, 900, 1000, 90.0, None).outcome == "not_compared"
    assert board.judge(acc_08, 900, None, 90.0, 80.0).outcome == "not_compared"
    assert board.judge(acc_08, 900, 1000, 90.0, 80.0, suppressed=True).outcome == "suppressed"
    assert board.judge(acc_08, 1100, 1000, 110.0, 80.0).outcome == "not_compared"  # no interval exists


# --- change points (rebases) --------------------------------------------------------------------------------------


def stepped(measure_id, low=50.0, high=60.0, points=36, change=18):
    """Two stable levels with a little noise: one set of limits reads the later level as special cause."""
    wobble = [0.6, -0.4, 0.2, -0.7, 0.5, -0.1]
    values = [(low if i < change else high) + wobble[i % len(wobble)] for i in range(points)]
    return tidy(measure_id, values, numerators=[v * 10 for v in values], denominators=1000.0)


def test_a_rebase_changes_the_boards_icons_as_it_changes_measure_details():
    subject = measure("face_to_face_pct")
    series = stepped("face_to_face_pct")
    change_point = pd.Timestamp(series["period_start"].iloc[18]).date()
    plain, = board.board_rows(Catalogue((subject,)), series, None)
    rebased, = board.board_rows(Catalogue((subject,)), series, None, rebases={"face_to_face_pct": [change_point]})
    reading = detail.read(series, subject, rebase=[change_point])
    assert (rebased.variation, rebased.assurance) == (reading.variation, reading.assurance) == ("common_cause", None)
    assert (plain.variation, plain.assurance) == (detail.read(series, subject).variation, None)
    assert plain.variation == "neutral_high"
    other, = board.board_rows(Catalogue((subject,)), series, None, rebases={"dna_rate": [change_point]})
    assert other.variation == plain.variation  # another measure's change point changes nothing here


def test_a_rebase_stored_in_the_app_changes_the_board_page(demo_db, tmp_path, monkeypatch):
    path = tmp_path / "rebased.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("PCN_DB", str(path))
    store = Store(path)
    before = next(row for row in demo_rows(store) if row.measure.id == "face_to_face_pct")
    annotations.add_rebase(store, "face_to_face_pct", PCN, date(2024, 12, 1), "Online triage went live",
                           access.OPEN)
    rules = suppression.rules(default_catalogue())
    reading = detail.read(suppression.suppress(queries.series(store, "face_to_face_pct", PCN), rules),
                          before.measure, rebase=annotations.rebase_dates(store, "face_to_face_pct", PCN))
    assert reading.variation != before.variation  # the change point matters for this PCN and measure
    at = apptest.open_app(pcn=PCN)
    body = board_body(at)
    row = re.search(r'data-measure="face_to_face_pct">.*?</a>', body).group(0)
    assert f'alt="{board_html._e(detail.VARIATION_TEXT[reading.variation])}"' in row
    assert f'alt="{board_html._e(detail.VARIATION_TEXT[before.variation])}"' not in row


def random_series(rng, measure_id, frequency):
    """A series as a PCN's might be: levels, steps and trends, missing and suppressed periods, two versions."""
    step = {"monthly": 1, "quarterly": 3}[frequency]
    length = int(rng.integers(8, 50))
    periods = pd.date_range("2021-01-01", periods=length, freq=f"{step}MS")
    shape = rng.choice(["flat", "step", "trend", "noise"])
    base = 50 + rng.normal(0, 1.5, length).round(int(rng.integers(0, 3)))
    if shape == "step":
        base[length // 2:] += rng.choice([-6, 6])
    elif shape == "trend":
        base += np.arange(length) * rng.choice([-0.8, 0.8])
    elif shape == "flat":
        base = np.full(length, 50.0)
    keep = rng.random(length) > rng.choice([0.0, 0.1])
    hidden = (rng.random(length) < rng.choice([0.0, 0.05, 0.35])) & keep
    frame = pd.DataFrame({"measure": measure_id, "version": 2, "org": PCN, "period_start": periods,
                          "period_end": periods + pd.offsets.MonthEnd(step), "numerator": base * 10,
                          "denominator": 1000.0, "value": np.where(hidden, np.nan, base),
                          suppression.FLAG: hidden})[keep]
    older = frame.head(3).assign(version=1, value=1.0)  # an older version is never read
    return pd.concat([older, frame], ignore_index=True).sample(frac=1, random_state=int(rng.integers(1 << 30)))


def test_the_boards_icons_are_measure_details_for_any_series_target_and_change_point():
    """The board reads icons from arrays (`board._reading`); Measure detail from its table (`detail.read`)."""
    rng = np.random.default_rng(20261202)
    checked = {"spc": 0, "assurance": 0, "rebased": 0, "withheld": 0, "quarterly": 0}
    for case in range(400):
        frequency = "quarterly" if case % 4 == 0 else "monthly"
        direction = rng.choice(["increase", "decrease", "neutral"])
        series = random_series(rng, "face_to_face_pct", frequency)
        latest = pd.Timestamp(series["period_start"].max()).date()
        targets = ([Target(financial_year=detail.financial_year_label(latest), value=float(rng.uniform(40, 60)))]
                   if case % 3 else [])
        subject = measure("face_to_face_pct", improvement_direction=direction, frequency=frequency, targets=targets)
        days = sorted(series["period_start"].sample(int(rng.integers(0, 3)), random_state=case))
        rebase = [pd.Timestamp(day).date() - pd.Timedelta(days=int(rng.integers(0, 20))) for day in days]
        row, = board.board_rows(Catalogue((subject,)), series, None, rebases={subject.id: rebase} if rebase else None)
        reading = detail.read(detail.latest_version(series, keep_suppressed=True), subject,
                              rebase=rebase or None)
        expected = ((reading.variation, reading.assurance, reading.why_points, reading.withheld, reading.yearly)
                    if reading is not None else (None, None, None, None, False))
        assert (row.variation, row.assurance, row.why_points, row.withheld, row.yearly) == expected, case
        if reading is not None and reading.mode == "spc":
            checked["spc"] += 1
            checked["assurance"] += reading.assurance is not None
            checked["rebased"] += bool(reading.rebases)
            checked["withheld"] += reading.withheld is not None
            checked["quarterly"] += frequency == "quarterly"
    assert min(checked.values()) >= 10, checked  # every path was read, not only the plain one


# --- why a row has no icon ---------------------------------------------------------------------------------------


def only_row(subject, series):
    row, = board.board_rows(Catalogue((subject,)), series, None)
    return row


def test_an_iif_threshold_is_not_a_target_for_assurance():
    series = stepped("acc_08_monthly", low=86.0, high=86.0, points=24)
    year = detail.financial_year_label(pd.Timestamp(series["period_start"].iloc[-1]).date())
    subject = measure("acc_08_monthly", thresholds=[Threshold(financial_year=year, lower=85, upper=90)], targets=[])
    row = only_row(subject, series)
    assert row.variation and row.assurance is None and row.goal  # the threshold is still shown as the goal
    assert board_html.assurance_alt(row) == "No assurance icon: no target this year"
    targeted = only_row(subject.model_copy(update={"targets": [Target(financial_year=year, value=80)]}), series)
    assert targeted.assurance == "consistent_pass"
    assert board_html.assurance_alt(targeted) == detail.ASSURANCE_TEXT["consistent_pass"]


def test_an_annual_measure_says_it_is_shown_as_a_point_with_no_icons():
    starts = pd.to_datetime(["2022-04-01", "2023-04-01", "2024-04-01"])
    series = pd.DataFrame({"measure": "acc_08", "version": 1, "org": PCN, "period_start": starts,
                           "period_end": starts + pd.DateOffset(years=1) - pd.Timedelta(days=1),
                           "numerator": [850.0, 870.0, 880.0], "denominator": 1000.0, "value": [85.0, 87.0, 88.0],
                           suppression.FLAG: False})
    row = only_row(measure("acc_08"), series)
    assert (row.variation, row.assurance, row.why_points) == (None, None, "annual")
    html_row = board_html.row_html(row, PCN)
    assert html_row.count('alt="Annual: shown as a point, no icons"') == 2
    assert row.period_text == "2024/25"  # the financial year it covers, as Measure detail labels it


def test_a_short_series_says_fewer_than_twelve_points():
    row = only_row(measure("dna_rate"), tidy("dna_rate", [5.0, 6.0, 5.5, 6.2, 5.1, 5.8, 6.0, 5.4],
                                             numerators=[50, 60, 55, 62, 51, 58, 60, 54], denominators=1000.0))
    assert (row.variation, row.assurance, row.why_points) == (None, None, "short")
    assert board_html.assurance_alt(row).startswith("Fewer than 12 points")
    assert board_html.variation_alt(row.variation, row).startswith("Fewer than 12 points")
    full = only_row(measure("dna_rate"), stepped("dna_rate", low=5.0, high=5.0, points=12))
    assert full.variation and board_html.assurance_alt(full) == "No assurance icon: no target this year"


# --- the HTML -----------------------------------------------------------------------------------------------------


def test_every_row_links_to_measure_detail_for_its_measure_and_pcn(demo_db):
    rows = demo_rows(Store(demo_db))
    page = board_html.board_html(board.by_family(rows), PCN_NAMES)
    links = re.findall(r'<a class="pcnb-row" href="([^"]+)"', page)
    assert links == [f"measure?measure={row.measure.id}&amp;pcn={PCN}" for row in rows]
    for row in rows:
        assert f">{board_html._e(row.measure.label)}</span>" in page
    assert "Definition" not in page and "Numerator" not in page  # definitions open on Measure detail


def test_text_from_files_and_users_shows_as_plain_text():
    hostile = measure("acc_08", short_name='<img src=x onerror="alert(1)"> & <b>bold</b>')
    row = board.BoardRow(hostile, latest_value=80.0, latest_period=date(2026, 9, 1))
    pcn = {"pcn": 'U"><script>', "pcn_name": "<script>alert(2)</script>", "sub_icb_name": "<i>place</i>",
           "icb_name": "ICB & co"}
    page = board_html.board_html({"national_des": [row]}, pcn)
    assert "<script>" not in page and "<img src=x" not in page and "<b>bold" not in page and "<i>place" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page and "ICB &amp; co" in page
    assert 'pcn=U%22%3E%3Cscript%3E' in page


def test_the_colours_do_not_follow_the_change_since_the_last_period():
    acc_08 = measure("acc_08")
    rising = [80.0, 81.0] * 8  # the last change is up
    falling = [81.0, 80.0] * 8  # the last change is down
    comparator = pd.DataFrame({"measure": ["acc_08"], "period_start": [pd.Timestamp("2025-12-01")],
                               "comparator": [80.5], "comparator_org": ["QZZ"], "orgs": [12]})
    catalogue = Catalogue((acc_08,))
    up, = board.board_rows(catalogue, tidy("acc_08", rising, numerators=[v * 10 for v in rising],
                                             denominators=1000.0), comparator)
    down, = board.board_rows(catalogue, tidy("acc_08", falling, numerators=[v * 10 for v in falling],
                                               denominators=1000.0), comparator)
    assert (up.variation, up.assurance, up.verdict.outcome) == (down.variation, down.assurance, down.verdict.outcome)
    assert up.trend[-1] > up.trend[-2] and down.trend[-1] < down.trend[-2]
    assert colours(board_html.row_html(up, PCN)) == colours(board_html.row_html(down, PCN))
    # The stylesheet gives every value one colour: no class or style follows the direction of change.
    assert re.findall(r'class="(pcnb-value[^"]*)"', board_html.row_html(up, PCN)) == ["pcnb-value"]
    assert re.findall(r'class="(pcnb-value[^"]*)"', board_html.row_html(down, PCN)) == ["pcnb-value"]


def test_icons_use_the_board_packs_colours_and_letters():
    for kind, letter in [("improvement_high", "H"), ("improvement_low", "L"), ("concern_high", "H"),
                         ("concern_low", "L"), ("neutral_high", "H"), ("consistent_pass", "P"),
                         ("consistent_fail", "F"), ("inconsistent", "?")]:
        svg = board_html.icon_svg(kind)
        group = kind if kind in boardpack._ICON_COLOURS else kind.split("_")[0]
        assert boardpack._ICON_COLOURS[group] in svg and f">{letter}</text>" in svg, kind
    common = board_html.icon_svg("common_cause")
    assert boardpack._ICON_COLOURS["common"] in common and "<text" not in common and "<polyline" in common
    assert board_html.ICON_COLOURS == boardpack._ICON_COLOURS


def test_the_sparkline_is_grey_and_leaves_gaps_for_suppressed_values():
    svg = board_html.sparkline_svg([1.0, 2.0, 3.0, None, 2.0, 4.0, None, 3.0])
    assert svg.count("<polyline") == 2  # 1-2-3 and 2-4; the lone 3 is a dot
    assert set(re.findall(r"#[0-9A-Fa-f]{6}", svg)) == {board_html.TREND_COLOUR}
    assert board_html.sparkline_svg([None, 5.0, None]) is None


def test_the_footnote_shows_only_when_a_value_is_suppressed():
    acc_08 = measure("acc_08")
    shown = board.BoardRow(acc_08, latest_value=80.0, latest_period=date(2026, 9, 1), trend=(1.0, 2.0))
    hidden = board.BoardRow(acc_08, latest_period=date(2026, 9, 1), latest_suppressed=True, trend=(1.0, None))
    note = "* Values from counts of 1 to 4 are suppressed (NHS disclosure practice)."
    assert note not in board_html.board_html({"national_des": [shown]}, PCN_NAMES, footnote=note)
    page = board_html.board_html({"national_des": [hidden]}, PCN_NAMES, footnote=note)
    assert note in page and '<span class="pcnb-value">*</span>' in page


def test_a_measure_with_no_data_says_so_with_empty_icon_places_and_no_trend():
    row = board.BoardRow(measure("acc_08"))
    html_row = board_html.row_html(row, PCN)
    assert '<span class="pcnb-value pcnb-nodata">No data yet</span>' in html_row and row.period_text == ""
    assert html_row.count('<img class="pcnb-icon ') == 2 and 'alt="Trend' not in html_row
    assert "ICB" not in html_row  # no comparator, no verdict


def test_the_legend_names_the_methods():
    page = board_html.board_html({}, PCN_NAMES)
    assert "Compared with the ICB by 95% interval (Fingertips)" in page
    assert "Wilson score" in page and "Byar's" in page and "Making Data Count" in page


# --- the page -----------------------------------------------------------------------------------------------------


def board_body(at) -> str:
    boards = [element.proto.body for element in at.get("html") if f'id="{board_html.ROOT_ID}"' in element.proto.body]
    assert len(boards) == 1
    return boards[0]


def element_count(at) -> int:
    from streamlit.testing.v1.element_tree import Block

    def count(node) -> int:
        return sum(count(child) if isinstance(child, Block) else 1 for child in node.children.values())

    return count(at.main) + count(at.sidebar)


def test_the_board_is_the_default_page_and_shows_every_measure_in_one_element(app_env):
    at = apptest.open_app(pcn=PCN)
    body = board_body(at)
    for row in demo_rows(Store(app_env)):
        assert f">{board_html._e(row.measure.label)}</span>" in body, row.measure.label
    for family in ("National DES", "Integration (set locally)", "Support for practices"):
        assert f"<h2>{family}</h2>" in body
    assert any("Synthetic demo data" in w.value for w in at.warning)
    assert element_count(at) <= 150
    assert not at.get("plotly_chart") and not at.metric


def test_another_pcn_from_the_url_is_shown(app_env):
    at = apptest.open_app(pcn="UZ0003")
    assert "measure?measure=acc_08&amp;pcn=UZ0003" in board_body(at)


def test_outside_the_pcn_only_national_rows_and_published_local_rows_show(access_db):
    at = apptest.open_app(pcn="UZ0002", email="viewer@example.nhs.uk")
    assert any("Not shown to you" in e.value for e in at.error)
    body = board_body(at)
    assert "Booked within 2 weeks" in body  # national data stays readable
    assert "MDT case reviews" not in body  # a local measure with no published period


def test_a_member_of_the_pcn_sees_its_local_rows(access_db):
    at = apptest.open_app(pcn=PCN, email="viewer@example.nhs.uk")
    assert "MDT case reviews" in board_body(at) and not at.error


def test_a_rerun_reuses_the_rows_and_a_reader_with_other_rights_gets_their_own(access_db, monkeypatch):
    with access_db.writer() as con:  # no stored summaries: the rows are computed as the board reads them
        con.execute("DELETE FROM board_summaries")
    computed = []
    original = board.board_rows

    def counting(*args, **kwargs):
        if "practice_spread" in kwargs:  # the PCN's own board, not a neighbourhood's section under it
            computed.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(board, "board_rows", counting)
    member = apptest.open_app(pcn="UZ0001", email="viewer@example.nhs.uk")
    first = len(computed)
    member.run()
    assert first >= 1 and len(computed) == first, "a rerun with nothing changed recomputes nothing"
    outsider = apptest.open_app(pcn="UZ0001", email="analyst-elsewhere@example.nhs.uk")
    assert len(computed) > first, "someone who may read less gets rows of their own, never the member's"
    assert "Integration (set locally)" in board_body(member)
    assert any("Not shown to you" in e.value for e in outsider.error)
