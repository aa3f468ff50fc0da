"""The contract's money rules by year, and IIF money worked out from them: the published rule, checked by hand."""

from __future__ import annotations

import shutil
from datetime import date
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from measures.catalogue import default_catalogue
from measures.contract import RULES_DIR, ContractError, default_rules, load_rules, normalise_code, parse_year
from measures.contract.money import (Adjustments, adjustments, indicator_money, patients_to, points_achieved,
                                     trajectory, year_total)


# --- the rule: none at or below the lower threshold, all at or above the upper, linear between ---------------

@pytest.mark.parametrize("share, expected", [
    (0.0, 0.0), (0.5, 0.0), (0.65, 0.0),  # at the lower threshold: still nothing
    (0.725, 11.0),  # half way from 65% to 80%: half of 22 points
    (0.68, 22 * 3 / 15), (0.8, 22.0), (0.95, 22.0), (1.0, 22.0),
])
def test_points_follow_the_published_rule(share, expected):
    assert points_achieved(share, 65, 80, 22) == pytest.approx(expected, abs=1e-12)


def test_points_are_not_known_without_a_rule_or_a_share():
    assert points_achieved(None, 65, 80, 22) is None
    assert points_achieved(0.7, None, None, 22) is None
    assert points_achieved(0.7, 65, 80, None) is None


def test_equal_thresholds_pay_all_at_the_threshold_and_none_below():
    assert points_achieved(0.9, 90, 90, 10) == 10
    assert points_achieved(0.8999, 90, 90, 10) == 0


@settings(max_examples=400, deadline=None)
@given(denominator=st.integers(1, 200_000), data=st.data(),
       threshold=st.sampled_from([65, 80, 85, 90, 72.5, 33.3, 100, 0]))
def test_patients_to_a_threshold_are_the_fewest_that_reach_it(denominator, data, threshold):
    numerator = data.draw(st.integers(0, denominator))
    needed = patients_to(numerator, denominator, threshold)
    goal = Fraction(str(threshold)) / 100
    assert Fraction(numerator + needed, denominator) >= goal
    if needed:
        assert Fraction(numerator + needed - 1, denominator) < goal
    assert numerator + needed <= denominator


def test_patients_to_a_threshold_worked_by_hand():
    assert patients_to(60, 100, 65) == 5
    assert patients_to(65, 100, 65) == 0
    assert patients_to(13, 20, 80) == 3  # 16 of 20 is 80%
    assert patients_to(0, 7, 80) == 6  # 5 of 7 is 71.4%, 6 of 7 is 85.7%
    assert patients_to(5, 0, 80) is None


# --- pounds: points × £ per point × list-size adjustment × prevalence adjustment ----------------------------

def _can_04(numerator, denominator, list_adjustment=1.2, prevalence_adjustment=0.9):
    rules = default_rules().year("2024/25")
    adjust = Adjustments({"list_size": list_adjustment, "prevalence": prevalence_adjustment})
    return indicator_money(rules, "CAN04", "U00001", numerator, denominator, ach_date=date(2024, 9, 30),
                           adjust=adjust)


def test_pounds_are_points_times_the_value_of_a_point_times_the_adjustments():
    money = _can_04(145, 200)  # 72.5%: 11 of 22 points
    assert money.indicator == "CAN-04"
    assert money.points_achieved == pytest.approx(11)
    assert money.pounds_earned == pytest.approx(11 * 198 * 1.2 * 0.9)
    assert money.pounds_missed == pytest.approx(11 * 198 * 1.2 * 0.9)
    assert money.patients_to_lower == 0 and money.patients_to_upper == 15


def test_more_patients_reached_recompute_points_and_pounds():
    money = _can_04(145, 200)
    more = money.with_more_patients(15)
    assert more.numerator == 160 and more.points_achieved == pytest.approx(22)
    assert more.pounds_missed == pytest.approx(0)
    assert money.with_more_patients(10_000).numerator == 200  # never more than the denominator
    with pytest.raises(ValueError):
        money.with_more_patients(-1)


def test_adjustments_divide_by_the_mean_list_and_englands_prevalence():
    factors = adjustments(list_size=60_000, mean_list_size=50_000, denominator=120, national_denominator=10_000,
                          national_list_size=5_000_000)
    assert factors.factors["list_size"] == pytest.approx(1.2)
    assert factors.factors["prevalence"] == pytest.approx((120 / 60_000) / (10_000 / 5_000_000))
    missing = adjustments(None, 50_000, 120, 10_000, 5_000_000)
    assert missing.factors == {"list_size": None, "prevalence": None}


def test_pounds_are_blank_when_an_adjustment_cannot_be_worked_out():
    rules = default_rules().year("2024/25")
    money = indicator_money(rules, "CAN-04", "U00001", 145, 200, adjust=Adjustments({"list_size": 1.0}))
    assert money.points_achieved == pytest.approx(11)
    assert money.pounds_earned is None and money.pounds_missed is None
    assert any("prevalence adjustment cannot be worked out" in c for c in money.caveats)


def test_a_year_without_a_value_for_a_point_shows_points_but_no_pounds():
    rules = default_rules().year("2025/26")
    money = indicator_money(rules, "CAN-04", "U00001", 145, 200, adjust=Adjustments({"list_size": 1.0,
                                                                                      "prevalence": 1.0}))
    assert money.points_achieved == pytest.approx(11)
    assert money.pounds_per_point is None and money.pounds_earned is None
    assert any("value of a point for 2025/26 is not in the sources" in c for c in money.caveats)


def test_a_practice_row_has_no_points_or_pounds_but_its_own_patients_to_each_threshold():
    rules = default_rules().year("2024/25")
    practice = indicator_money(rules, "CAN-04", "A00001", 10, 20, pays=False)
    row = practice.row()
    assert row["points_achieved"] is None and row["pounds_earned"] is None and row["points_available"] is None
    assert row["patients_to_lower"] == 3 and row["patients_to_upper"] == 6


def test_the_years_total_is_blank_when_any_paying_indicator_is_not_known():
    rules = default_rules().year("2024/25")
    full = Adjustments({"list_size": 1.0, "prevalence": 1.0})
    can = indicator_money(rules, "CAN-04", "U1", 145, 200, adjust=full)
    hi = indicator_money(rules, "HI-03", "U1", 80, 100, adjust=full)
    total = year_total([can, hi])
    assert total["points_available"] == 58  # 22 + 36, as the sources give the year
    assert total["points_achieved"] is None  # HI-03 has no thresholds in the sources
    assert year_total([can])["pounds_earned"] == pytest.approx(11 * 198)


def test_the_trajectory_reaches_the_upper_threshold_by_31_march():
    money = _can_04(130, 200)  # 65% at 30 September
    path = trajectory(money)
    assert [d.month for d in path["month_end"]] == [10, 11, 12, 1, 2, 3]
    assert path["month_end"].iloc[-1] == date(2025, 3, 31)
    assert path["needed"].iloc[-1] == pytest.approx(0.80)
    assert path["needed"].is_monotonic_increasing
    assert path["patients_per_month"].iloc[0] == 5  # 30 patients over six months


# --- the rules files -------------------------------------------------------------------------------------------

def test_the_shipped_rules_cover_2023_24_to_2026_27():
    rules = default_rules()
    assert list(rules.years) == ["2023/24", "2024/25", "2025/26", "2026/27"]
    assert rules.year("2024/25").iif.pounds_per_point == 198
    assert rules.year("2024/25").indicator("CAN-04").points == 22
    assert rules.year("2023/24").indicator("ACC-08").in_iif is True
    assert rules.year("2024/25").indicator("ACC-08").in_iif is False
    assert rules.year("2026/27").access_payment.in_contract is False
    assert rules.year("2025/26").arrs.rate_per_weighted_patient == pytest.approx(26.631)


def test_every_number_in_the_rules_names_a_source_with_a_date():
    for year, rules in default_rules().years.items():
        for _where, source in rules._source_uses():
            assert source in rules.sources, (year, source)
            assert rules.sources[source].date[:4].isdigit()


def test_numbers_no_source_gives_are_left_out_with_a_caveat():
    rules = default_rules()
    assert rules.year("2025/26").iif.pounds_per_point is None
    assert any("not in the sources" in c for c in rules.year("2025/26").iif.caveats)
    hi_03 = rules.year("2024/25").indicator("HI-03")
    assert hi_03.lower is None and any("thresholds" in c for c in hi_03.caveats)


def test_the_catalogues_iif_thresholds_agree_with_the_contract_rules():
    catalogue = default_catalogue()
    for year, rules in default_rules().years.items():
        for indicator in rules.iif.indicators:
            measure = catalogue.get(indicator.measure)
            given = next((t for t in measure.thresholds if t.financial_year == year), None)
            if indicator.lower is None:
                assert given is None, f"{measure.id} has {year} thresholds that the contract rules do not give"
            else:
                assert (given.lower, given.upper) == (indicator.lower, indicator.upper), (measure.id, year)


def test_indicator_codes_are_read_with_or_without_the_hyphen():
    assert normalise_code("CAN04") == "CAN-04" == normalise_code("can-04") == normalise_code(" CAN-04 ")
    assert normalise_code("EHCH04") == "EHCH-04"


def test_a_year_with_no_rules_is_refused_by_name():
    with pytest.raises(ContractError, match=r"no contract rules for '2022/23'; the rules cover 2023/24"):
        default_rules().year("2022/23")


@pytest.fixture
def rules_copy(tmp_path) -> Path:
    folder = tmp_path / "years"
    shutil.copytree(RULES_DIR, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("old, new, message", [
    ("      lower: 65\n      upper: 80\n      points: 22\n      source: cancer_academy",
     "      lower: 80\n      upper: 65\n      points: 22\n      source: cancer_academy",
     r"2024-25.yaml: field 'iif.indicators.1': lower \(80\) is above upper \(65\)"),
    ("      points: 22\n", "      points: -22\n", r"2024-25.yaml: field 'iif.indicators.1.points': .*greater than or equal to 0"),
    ("  pounds_per_point: 198\n", "  pounds_per_point: -198\n", r"2024-25.yaml: field 'iif.pounds_per_point'"),
    ("      source: cancer_academy\n", "      source: a_blog\n",
     r"2024-25.yaml: field '\(file\)': iif.indicators.1: source 'a_blog' is not one of the file's sources"),
    ("    - code: CAN-04\n", "    - code: CANCER\n", r"2024-25.yaml: field 'iif.indicators.1.code'"),
    ("      measure: can_02_fit\n", "      measure: can_99\n",
     r"2024-25.yaml: field 'iif.indicators.1.measure': 'can_99' is not a measure in the catalogue"),
    ("    date: \"2024\"\n", "    date: last spring\n", r"2024-25.yaml: field 'sources.pulse_2425.date'"),
    ("  adjustments: [list_size, prevalence]\n", "  adjustments: [list_size, deprivation]\n",
     r"2024-25.yaml: field 'iif.adjustments.1'"),
    ("financial_year: \"2024/25\"\n", "financial_year: \"2024/26\"\n", r"2024-25.yaml: field 'financial_year'"),
    ("  rate_per_weighted_patient: null\n", "  rate_per_weighted_patient: null\n  rate_per_patient: 3\n",
     r"2024-25.yaml: field 'arrs.rate_per_patient': unknown field"),
])
def test_a_mistake_in_a_rules_file_is_named_by_file_and_field(rules_copy, old, new, message):
    _edit(rules_copy / "2024-25.yaml", old, new)
    with pytest.raises(ContractError, match=message):
        load_rules(rules_copy)


def test_a_file_named_for_another_year_is_refused(rules_copy):
    (rules_copy / "2024-25.yaml").rename(rules_copy / "2027-28.yaml")
    with pytest.raises(ContractError, match=r"2027-28.yaml: field 'financial_year' is 2024/25 but the file name says "
                                            r"2027/28"):
        load_rules(rules_copy)


def test_an_indicator_listed_twice_in_a_year_is_refused(rules_copy):
    path = rules_copy / "2025-26.yaml"
    text = path.read_text()
    block = text[text.index("    - code: HI-03"):text.index("access_payment:")]
    path.write_text(text.replace(block, block + block, 1))
    with pytest.raises(ContractError, match=r"2025-26.yaml: field 'iif.indicators': .*HI-03 is listed twice"):
        load_rules(rules_copy)


def test_yaml_aliases_are_refused_in_rules_files_as_in_the_catalogue(rules_copy):
    _edit(rules_copy / "2025-26.yaml", "  roles:\n", "  roles: &r\n")
    _edit(rules_copy / "2025-26.yaml", "iif:\n", "extra: *r\niif:\n")
    with pytest.raises(ContractError, match=r"2025-26.yaml: line \d+: uses the YAML alias"):
        parse_year(rules_copy / "2025-26.yaml")


def test_the_day_can_02_became_can_04_is_a_note_on_every_pcns_chart(demo_db):
    from measures import queries
    from measures.store import Store

    assert default_rules().code_changes("can_02_fit")[0][:3] == (date(2024, 10, 1), "CAN-02", "CAN-04")
    notes = queries.annotations(Store(demo_db), "can_02_fit", "UZ0001")
    assert list(notes["note"]) == ["CAN-02 became CAN-04"] and notes["date"].iloc[0] == pd.Timestamp(2024, 10, 1)
    assert queries.annotations(Store(demo_db), "dna_rate", "UZ0001").empty


def test_a_code_change_outside_its_year_or_half_given_is_refused(rules_copy):
    _edit(rules_copy / "2024-25.yaml", "      from_date: 2024-10-01\n", "      from_date: 2025-10-01\n")
    with pytest.raises(ContractError, match=r"2024-25.yaml: field '\(file\)': CAN-04: from_date is outside 2024/25"):
        load_rules(rules_copy)
    _edit(rules_copy / "2024-25.yaml", "      from_date: 2025-10-01\n", "")
    with pytest.raises(ContractError, match=r"field 'iif.indicators.1': give both replaces and from_date"):
        load_rules(rules_copy)
