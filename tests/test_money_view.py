"""The board view's money: the IIF of a chosen year on screen, the what-if, practices, and the command line."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from measures import cli
from measures.contract import default_rules, reads
from measures.contract.money import IIF_COLUMNS, points_achieved
from measures.store import Store
from tests import apptest

PCN = "UZ0001"


def _html(at) -> str:
    return "\n".join(str(element.proto.body) for element in at.get("html"))


def test_the_money_view_shows_the_chosen_years_indicators_from_the_url(app_env):
    at = apptest.open_app(pcn=PCN, view="money", year="2024/25")
    html = _html(at)
    assert "Investment and Impact Fund 2024/25" in html
    assert "CAN-04" in html and "In the IIF for 2024/25" in html
    assert "ACC-08" in html and "Not in the IIF for 2024/25" in html
    assert "65% → 80%" in html
    assert at.query_params["year"] == "2024/25"
    assert at.selectbox(key="money_year").value == "2024/25"


def test_switching_the_year_switches_the_rules(app_env):
    at = apptest.open_app(pcn=PCN, view="money", year="2024/25")
    at.selectbox(key="money_year").select("2026/27").run()
    assert not at.exception
    html = _html(at)
    assert "Investment and Impact Fund 2026/27" in html
    assert "IIF place for 2026/27 to be confirmed" in html
    assert "not in the contract for 2026/27" in html  # the access payment ends
    assert at.query_params["year"] == "2026/27"


def test_the_screen_shows_the_points_and_pounds_the_rules_give(app_env, demo_db):
    view = reads.money(Store(demo_db), PCN, "2024/25")
    can = next(m for m in view.indicators if m.indicator == "CAN-04")
    assert can.points_achieved == pytest.approx(points_achieved(can.achievement, 65, 80, 22))
    at = apptest.open_app(pcn=PCN, view="money", year="2024/25")
    html = _html(at)
    assert f"£{can.pounds_earned:,.0f}" in html and f"£{can.pounds_missed:,.0f}" in html
    assert f"{can.patients_to_upper:,} to the upper" in html


def test_the_what_if_recomputes_points_and_pounds(app_env, demo_db):
    view = reads.money(Store(demo_db), PCN, "2024/25")
    can = next(m for m in view.indicators if m.indicator == "CAN-04")
    at = apptest.open_app(pcn=PCN, view="money", year="2024/25")
    at.number_input(key="what_if_CAN-04").set_value(can.patients_to_upper).run()
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    more = can.with_more_patients(can.patients_to_upper)
    assert f"CAN-04 with {can.patients_to_upper:,} more patients" in text
    assert "22 of 22 points" in text
    assert f"£{more.pounds_earned:,.0f}" in text


def test_each_member_practice_is_in_the_drill_down(app_env, demo_db):
    view = reads.money(Store(demo_db), PCN, "2024/25")
    practices = {m.org for m in view.practices}
    members = Store(demo_db).query("SELECT DISTINCT child_code FROM memberships WHERE parent_code = ? AND "
                                   "end_date IS NULL", [PCN])["child_code"]
    assert set(members) <= practices
    html = _html(apptest.open_app(pcn=PCN, view="money", year="2024/25"))
    for code in members:
        assert f"({code})" in html


def test_a_year_without_a_value_for_a_point_says_so_on_screen(app_env):
    html = _html(apptest.open_app(pcn=PCN, view="money", year="2025/26"))
    assert "The value of a point for 2025/26 is not in the sources here" in html
    assert "not known" in html


def test_the_command_line_prints_the_documented_columns(demo_db, capsys):
    assert cli.main(["iif", "--db", str(demo_db), "--pcn", PCN, "--year", "2024/25", "--practices"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype={"patients_to_upper": "Int64"})
    assert list(table.columns) == IIF_COLUMNS
    can = table[(table["indicator"] == "CAN-04") & (table["org"] == PCN)].iloc[0]
    assert 0 <= can["achievement"] <= 1 and can["lower"] == 0.65 and can["upper"] == 0.8
    assert can["pounds_per_point"] == default_rules().year("2024/25").iif.pounds_per_point
    assert can["points_achieved"] == pytest.approx(points_achieved(can["achievement"], 65, 80, 22))
    hi = table[(table["indicator"] == "HI-03") & (table["org"] == PCN)].iloc[0]
    assert pd.isna(hi["lower"]) and pd.isna(hi["points_achieved"])  # blank, never a guess
    assert (table["org"] != PCN).sum() > 0  # --practices adds the member practices
    assert table.loc[table["org"] != PCN, "pounds_earned"].isna().all()


@pytest.mark.parametrize("argv, message", [
    (["--year", "2022/23"], "no contract rules for '2022/23'"),
    (["--year", "2025-26"], "--year: financial year must look like 2023/24"),
    (["--pcn", "UX9999"], "--pcn: no PCN with code 'UX9999'"),
])
def test_the_command_line_refuses_a_year_without_rules_or_an_unknown_pcn(demo_db, capsys, argv, message):
    args = {"--pcn": PCN, "--year": "2024/25"}
    args.update(dict(zip(argv[::2], argv[1::2])))
    assert cli.main(["iif", "--db", str(demo_db), *[x for pair in args.items() for x in pair]]) == 2
    assert message in capsys.readouterr().err


def _board_names(at) -> list[str]:
    import re

    html = _html(at)
    national = html[html.index('data-family="national_des"'):html.index('data-family="local_integration"')]
    return list(dict.fromkeys(re.findall(r'data-measure="([a-z0-9_]+)"', national)))


def test_the_board_puts_the_chosen_years_iif_indicators_first_and_marks_retired_ones(app_env):
    at = apptest.open_app(pcn=PCN, year="2023/24")
    html = _html(at)
    assert "retired from the IIF" not in html
    at = apptest.open_app(pcn=PCN, year="2025/26")
    html = _html(at)
    assert "retired from the IIF 2024/25" in html  # ACC-08, kept as history
    first = _board_names(at)[:2]
    assert set(first) == {"can_02_fit", "hi_03_ld_health_checks"}, first


def test_the_money_view_sets_arrs_staff_in_post_against_the_years_entitlement(app_env, demo_db):
    arrs = reads.arrs(Store(demo_db), PCN, "2025/26")
    assert arrs.entitlement == pytest.approx(arrs.weighted_patients * 26.631)
    html = _html(apptest.open_app(pcn=PCN, view="money", year="2025/26"))
    assert "Additional Roles Reimbursement Scheme 2025/26" in html
    assert f"£{arrs.entitlement:,.0f}" in html
    pharmacists = next(r for r in arrs.roles if r.staff_role == "Pharmacists")
    assert f"£{pharmacists.estimated_cost:,.0f}" in html  # 2025/26 gives pharmacists' maximum reimbursement
    html = _html(apptest.open_app(pcn=PCN, view="money", year="2024/25"))
    assert "The main ARRS sum per weighted patient for 2024/25 is not in the sources here" in html
