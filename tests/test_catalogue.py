"""The measure catalogue: the shipped files load, say what they should, and bad files are caught."""

from __future__ import annotations

import inspect
import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from measures import catalogue as catalogue_module
from measures.catalogue import CATALOGUE_DIR, CatalogueError, load_catalogue, parse_measure

README = CATALOGUE_DIR / "README.md"

NATIONAL_IDS = [
    "registered_patients",
    "acc_08",
    "can_02_fit",
    "hi_03_ld_health_checks",
    "workforce_fte_per_10k",
    "workforce_arrs_fte_per_10k",
    "workforce_pharmacy_fte_per_10k",
    "workforce_personalised_care_fte_per_10k",
    "workforce_direct_care_other_fte_per_10k",
    "appointments_per_1000",
    "appointments_same_day_pct",
    "appointments_within_14_days_pct",
    "dna_rate",
    "face_to_face_pct",
    "non_gp_appointments_pct",
]
INTEGRATION_IDS = [
    "int_mdt_case_reviews",
    "int_proactive_care_plan_pct",
    "int_social_prescribing_per_1000",
    "int_care_home_weekly_round_pct",
    "int_cohort_emergency_admissions_per_1000",
    "int_mdt_partner_attendance_pct",
    "int_vcse_referrals_engaged_pct",
    "int_care_home_admissions_per_1000_beds",
]
PRACTICE_SUPPORT_IDS = [
    "ps_arrs_hours_per_1000_weighted",
    "ps_arrs_fair_share_ratio",
    "ps_funding_per_weighted_patient",
    "ps_shared_services_used",
    "ps_days_to_practice_payment",
    "ps_training_supervision_hours",
    "ps_arrs_budget_used_pct",
    "ps_enhanced_access_per_1000",
]


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


# --- the shipped catalogue -------------------------------------------------------------


def test_every_shipped_file_loads(catalogue):
    files = sorted(p.stem for p in CATALOGUE_DIR.glob("*.yaml"))
    assert sorted(catalogue.ids()) == files


def test_each_family_has_enough_measures(catalogue):
    assert len(catalogue.by_family("national_des")) >= 12
    assert len(catalogue.by_family("local_integration")) >= 8
    assert len(catalogue.by_family("practice_support")) >= 8


@pytest.mark.parametrize(
    "measure_id, family",
    [(i, "national_des") for i in NATIONAL_IDS]
    + [(i, "local_integration") for i in INTEGRATION_IDS]
    + [(i, "practice_support") for i in PRACTICE_SUPPORT_IDS],
)
def test_every_agreed_measure_exists_in_its_family(catalogue, measure_id, family):
    assert catalogue.get(measure_id).family == family


def test_acc_08_has_2023_24_thresholds_and_none_after_it_was_retired(catalogue):
    acc_08 = catalogue.get("acc_08")
    threshold = acc_08.threshold_for(date(2023, 10, 1))
    assert (threshold.lower, threshold.upper) == (85, 90)
    assert acc_08.threshold_for(date(2024, 3, 31)) is threshold
    assert acc_08.threshold_for(date(2024, 4, 1)) is None
    assert acc_08.threshold_for(date(2025, 1, 15)) is None


def test_acc_08_is_published_at_practice_level(catalogue):
    assert catalogue.get("acc_08").level == "practice"


@pytest.mark.parametrize("day", [date(2024, 12, 1), date(2026, 2, 1)])
def test_fit_before_cancer_referral_runs_from_65_to_80(catalogue, day):
    threshold = catalogue.get("can_02_fit").threshold_for(day)
    assert (threshold.lower, threshold.upper) == (65, 80)


def test_fit_before_cancer_referral_has_no_2023_24_thresholds_as_no_cited_source_gives_them(catalogue):
    assert catalogue.get("can_02_fit").threshold_for(date(2023, 6, 1)) is None


def test_a_national_indicator_without_known_thresholds_says_to_check_the_specification(catalogue):
    hi_03 = catalogue.get("hi_03_ld_health_checks")
    assert hi_03.thresholds == []
    assert any("Network Contract DES specification" in caveat for caveat in hi_03.caveats)


def test_national_measures_are_national_and_cite_their_publisher(catalogue):
    for measure in catalogue.by_family("national_des"):
        assert measure.scope == "national", measure.id
        assert measure.source.publisher == "NHS England", measure.id
        assert measure.source.landing_page.startswith("https://"), measure.id


def test_local_measures_belong_to_the_demo_icb_and_are_marked_as_examples(catalogue):
    for family, tag in (("local_integration", "integration"), ("practice_support", "practice_support")):
        for measure in catalogue.by_family(family):
            assert measure.scope == "QZZ", measure.id
            assert {"example", tag} <= set(measure.tags), measure.id
            assert measure.source.publication == "Locally recorded by the PCN", measure.id


def test_percentages_are_scaled_to_100_and_rates_to_their_population(catalogue):
    for measure in catalogue:
        if measure.type == "proportion":
            assert (measure.multiplier, measure.unit) == (100, "%"), measure.id
        if measure.type == "rate":
            per = "10,000" if measure.multiplier == 10000 else "1,000"
            assert measure.multiplier in (1000, 10000), measure.id
            assert f"per {per}" in measure.unit, measure.id


def test_fair_share_ratio_aims_at_one_in_every_year(catalogue):
    ratio = catalogue.get("ps_arrs_fair_share_ratio")
    assert ratio.improvement_direction == "neutral"
    for day in (date(2023, 4, 1), date(2024, 4, 1), date(2025, 4, 1), date(2026, 4, 1)):
        target = ratio.target_for(day)
        assert target.value == 1.0 and target.label == "fair share"
    assert ratio.format_value(1.0) == "1.00"


def test_lower_is_better_where_fewer_is_the_aim(catalogue):
    for measure_id in (
        "dna_rate",
        "int_cohort_emergency_admissions_per_1000",
        "int_care_home_admissions_per_1000_beds",
        "ps_days_to_practice_payment",
    ):
        assert catalogue.get(measure_id).improvement_direction == "decrease", measure_id


def test_workforce_measures_are_per_10000_patients_at_pcn_level(catalogue):
    workforce = [m for m in catalogue if "workforce" in m.tags]
    assert len(workforce) == 5
    for measure in workforce:
        assert (measure.level, measure.multiplier) == ("pcn", 10000), measure.id
        assert "arrs" in measure.tags or measure.id == "workforce_fte_per_10k"


# --- malformed files ------------------------------------------------------------------


def _valid() -> dict:
    return {
        "version": 1,
        "name": "A test measure",
        "description": "A measure written only for the tests.",
        "family": "national_des",
        "level": "practice",
        "type": "proportion",
        "numerator": {"definition": "Things that happened"},
        "denominator": {"definition": "Things that could have happened"},
        "unit": "%",
        "multiplier": 100,
        "improvement_direction": "increase",
        "source": {"publication": "A publication"},
        "scope": "national",
    }


def _write(directory: Path, stem: str, content) -> Path:
    path = directory / f"{stem}.yaml"
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _error_for(path: Path) -> str:
    with pytest.raises(CatalogueError) as raised:
        parse_measure(path)
    return str(raised.value)


def test_the_test_template_is_itself_valid(tmp_path):
    assert parse_measure(_write(tmp_path, "good_measure", _valid())).id == "good_measure"


def test_an_unknown_field_is_named(tmp_path):
    path = _write(tmp_path, "typo", {**_valid(), "improvment_direction": "increase"})
    message = _error_for(path)
    assert "typo.yaml" in message
    assert "improvment_direction" in message
    assert "unknown field" in message


def test_a_bad_improvement_direction_is_named(tmp_path):
    path = _write(tmp_path, "polarity", {**_valid(), "improvement_direction": "up"})
    message = _error_for(path)
    assert "polarity.yaml" in message
    assert "improvement_direction" in message


def test_an_id_that_differs_from_the_file_name_is_named(tmp_path):
    path = _write(tmp_path, "real_name", {**_valid(), "id": "other_name"})
    message = _error_for(path)
    assert "real_name.yaml" in message
    assert "'id'" in message and "other_name" in message


def test_a_missing_numerator_is_named(tmp_path):
    content = _valid()
    del content["numerator"]
    message = _error_for(_write(tmp_path, "no_top", content))
    assert "no_top.yaml" in message
    assert "numerator" in message


def test_a_count_with_a_denominator_is_refused(tmp_path):
    path = _write(tmp_path, "count_rate", {**_valid(), "type": "count", "multiplier": 1})
    message = _error_for(path)
    assert "count_rate.yaml" in message
    assert "denominator" in message


def test_a_rate_without_a_denominator_is_refused(tmp_path):
    content = {**_valid(), "type": "rate", "multiplier": 1000}
    del content["denominator"]
    message = _error_for(_write(tmp_path, "rate_alone", content))
    assert "rate_alone.yaml" in message
    assert "denominator" in message


def test_a_financial_year_that_spans_two_years_is_named(tmp_path):
    content = {**_valid(), "thresholds": [{"financial_year": "2023/25", "lower": 1, "upper": 2}]}
    message = _error_for(_write(tmp_path, "long_year", content))
    assert "long_year.yaml" in message
    assert "thresholds.0.financial_year" in message
    assert "2023/25" in message


def test_invalid_yaml_is_reported_with_the_file_name(tmp_path):
    path = _write(tmp_path, "broken", "name: [unclosed\nfamily: national_des\n")
    message = _error_for(path)
    assert "broken.yaml" in message
    assert "not valid YAML" in message


def test_a_file_that_is_not_a_mapping_is_reported(tmp_path):
    path = _write(tmp_path, "a_list", "- name: one\n- name: two\n")
    message = _error_for(path)
    assert "a_list.yaml" in message
    assert "mapping" in message


def test_every_problem_in_a_directory_is_reported_together(tmp_path):
    _write(tmp_path, "fine", _valid())
    _write(tmp_path, "first_bad", {**_valid(), "colour": "blue"})
    _write(tmp_path, "second_bad", {**_valid(), "level": "region"})
    _write(tmp_path, "third_bad", "just a sentence\n")
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(tmp_path)
    message = str(raised.value)
    assert "first_bad.yaml: field 'colour'" in message
    assert "second_bad.yaml: field 'level'" in message
    assert "third_bad.yaml" in message
    assert "fine.yaml" not in message


# --- the README documents the schema -------------------------------------------------


def _catalogue_models() -> list[type[BaseModel]]:
    return [
        obj
        for _, obj in inspect.getmembers(catalogue_module, inspect.isclass)
        if issubclass(obj, BaseModel) and obj.__module__ == catalogue_module.__name__ and obj.model_fields
    ]


def test_the_readme_documents_every_field_of_every_model():
    text = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.MULTILINE))
    models = _catalogue_models()
    assert {m.__name__ for m in models} >= {"Measure", "Part", "Threshold", "Target", "Source"}
    missing = [f"{m.__name__}.{name}" for m in models for name in m.model_fields if name not in documented]
    assert not missing, f"fields missing from {README.name}: {missing}"


@pytest.mark.parametrize("word", ["increase", "decrease", "neutral"])
def test_the_readme_explains_each_polarity_word(word):
    assert f"`{word}`" in README.read_text(encoding="utf-8")
