"""Locally set measures defined in the app: validated like catalogue files, versioned, kept, downloadable as YAML."""

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from measures import local
from measures.catalogue import default_catalogue, parse_measure
from measures.store import Store

TODAY = date(2026, 10, 15)  # the demo's last month (September 2026) has ended


@pytest.fixture
def store(demo_db, tmp_path) -> Store:
    """A private copy of the demo database, for tests that write."""
    path = tmp_path / "local.duckdb"
    shutil.copy(demo_db, path)
    return Store(path)


def form(**changes) -> dict:
    fields = {
        "id": "int_falls_reviews_pct", "name": "Falls reviewed by the neighbourhood team",
        "description": "Share of people who fell at home and were reviewed by the neighbourhood team within a week.",
        "family": "local_integration", "level": "pcn", "type": "proportion",
        "numerator": "People reviewed within 7 days of a fall", "denominator": "People who fell at home",
        "unit": "%", "multiplier": 100.0, "decimals": 1, "improvement_direction": "increase",
        "frequency": "monthly", "fair_share": "", "scope": "UZ0001", "status": "active",
        "tags": "falls, integration", "caveats": "Falls are counted from the community team's log.",
        "publication": local.LOCAL_PUBLICATION, "publisher": "set locally by Riverside PCN",
    }
    return fields | changes


def test_a_complete_form_makes_a_measure_like_a_catalogue_file():
    measure = local.measure_from_form(form())
    assert measure.id == "int_falls_reviews_pct"
    assert measure.denominator.definition == "People who fell at home"
    assert measure.tags == ["falls", "integration"]
    assert measure.fair_share is None


def test_form_errors_are_reported_per_field():
    with pytest.raises(local.DefinitionError) as caught:
        local.measure_from_form(form(id="Falls Reviews!", name="", description="short", multiplier=0))
    errors = caught.value.errors
    assert set(errors) == {"id", "name", "description", "multiplier"}
    assert "pattern" in errors["id"] or "match" in errors["id"]
    assert "at least 10" in errors["description"]


def test_a_proportion_without_a_denominator_is_refused_on_the_denominator_field():
    with pytest.raises(local.DefinitionError) as caught:
        local.measure_from_form(form(denominator=""))
    assert list(caught.value.errors) == ["denominator"]
    assert "needs a denominator" in caught.value.errors["denominator"]


def test_the_yaml_download_reads_back_as_the_same_measure():
    measure = local.measure_from_form(form())
    text = local.measure_yaml(measure)
    assert text.startswith("# int_falls_reviews_pct.yaml")
    assert parse_measure(Path("int_falls_reviews_pct.yaml"), text) == measure


def test_a_saved_measure_joins_the_effective_catalogue_in_its_family(store):
    held = len(local.catalogue_with_local(store))  # the built-in files and the demo's own app-defined measures
    result = local.define_measure(store, local.measure_from_form(form()), "PCN manager")
    assert (result.outcome, result.measure.version) == ("new measure", 1)
    catalogue = local.catalogue_with_local(store)
    assert "int_falls_reviews_pct" in [m.id for m in catalogue.by_family("local_integration")]
    assert len(catalogue) == held + 1
    # It applies to the PCN that set it, not to another PCN.
    assert "int_falls_reviews_pct" in local.catalogue_with_local(store, "UZ0001").ids()
    assert "int_falls_reviews_pct" not in local.catalogue_with_local(store, "UZ0002").ids()
    assert "int_falls_reviews_pct" in [m.id for m in local.recordable_measures(store, "UZ0001")]


def test_a_measure_set_by_the_icb_applies_to_every_pcn_in_it(store):
    local.define_measure(store, local.measure_from_form(form(scope="QZZ")), "ICB analyst")
    assert "int_falls_reviews_pct" in local.catalogue_with_local(store, "UZ0007").ids()


def test_changing_the_numerator_makes_a_new_version_and_earlier_values_keep_theirs(store):
    local.define_measure(store, local.measure_from_form(form()), "PCN manager")
    rows = [(2, {"measure_id": "int_falls_reviews_pct", "period_start": "2026-09-01", "org_code": "UZ0001",
                 "numerator": "8", "denominator": "10"})]
    local.save(store, local.validate_rows(store, rows, "falls.csv", today=TODAY), "PCN manager")

    changed = local.measure_from_form(form(numerator="People reviewed within 3 days of a fall"))
    result = local.define_measure(store, changed, "PCN manager")
    assert (result.outcome, result.measure.version, result.previous_version) == ("new version", 2, 1)
    assert local.catalogue_with_local(store).get("int_falls_reviews_pct").version == 2

    versions = local.measure_versions(store, "int_falls_reviews_pct")
    assert versions[1].numerator.definition == "People reviewed within 7 days of a fall"
    assert versions[2].numerator.definition == "People reviewed within 3 days of a fall"
    held = store.query("SELECT measure_version, value FROM observations WHERE measure_id = 'int_falls_reviews_pct'")
    assert held.values.tolist() == [[1, 80.0]]


def test_changing_the_wording_keeps_the_version_and_keeps_every_save(store):
    local.define_measure(store, local.measure_from_form(form()), "PCN manager")
    renamed = local.measure_from_form(form(name="Falls reviewed by the team"))
    result = local.define_measure(store, renamed, "Practice manager")
    assert (result.outcome, result.measure.version) == ("updated", 1)
    again = local.define_measure(store, renamed, "Practice manager")
    assert again.outcome == "unchanged"
    history = local.definition_history(store, "int_falls_reviews_pct")
    assert history["created_by"].tolist() == ["PCN manager", "Practice manager"]
    assert history["version"].tolist() == [1, 1]
    assert "Falls reviewed by the neighbourhood team" in history["yaml"].iloc[0]


def test_a_built_in_measure_cannot_be_redefined_in_the_app(store):
    with pytest.raises(local.DefinitionError) as caught:
        local.define_measure(store, local.measure_from_form(form(id="int_mdt_case_reviews")), "Sam")
    assert "built-in" in caught.value.errors["id"]


def test_a_definition_needs_someone_to_make_it(store):
    with pytest.raises(local.DefinitionError) as caught:
        local.define_measure(store, local.measure_from_form(form()), "  ")
    assert "actor" in caught.value.errors


def test_the_stored_yaml_says_who_defined_it_and_when(store):
    local.define_measure(store, local.measure_from_form(form()), "PCN manager", at=datetime(2026, 10, 1, 9, 0))
    text = local.definition_history(store, "int_falls_reviews_pct")["yaml"].iloc[0]
    assert "defined in the PCN dashboard by PCN manager on 2026-10-01" in text
    assert parse_measure(Path("int_falls_reviews_pct.yaml"), text).version == 1


def test_a_measure_defined_in_the_app_opens_on_measure_detail_from_its_link(demo_db, tmp_path, monkeypatch):
    from tests import apptest

    path = tmp_path / "detail.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("PCN_DB", str(path))
    local.define_measure(Store(path), local.measure_from_form(form()), "PCN manager")
    at = apptest.open_app("pages/measure_detail.py", pcn="UZ0001", measure="int_falls_reviews_pct")
    assert at.selectbox(key="measure_picker").value == "int_falls_reviews_pct"
    assert at.query_params["measure"] in ("int_falls_reviews_pct", ["int_falls_reviews_pct"])


def test_targets_thresholds_and_the_comparison_round_trip_through_the_yaml_and_the_form():
    measure = local.measure_from_form(form(targets="2026/27: 80, stretch\n2027/28: 82.5",
                                           thresholds="2026/27: 1,000 to 1,500", comparison="normal"))
    assert [(t.financial_year, t.value, t.label) for t in measure.targets] == [("2026/27", 80, "stretch"),
                                                                               ("2027/28", 82.5, None)]
    assert [(t.lower, t.upper) for t in measure.thresholds] == [(1000, 1500)]
    assert parse_measure(Path("int_falls_reviews_pct.yaml"), local.measure_yaml(measure)) == measure
    assert local.measure_from_form(local.measure_form_defaults(measure)) == measure


def test_a_bad_target_or_threshold_is_named_by_its_field_line_and_year():
    cases = {
        "2026/27: 90 to 80": ("thresholds", "line 1 (2026/27): lower (90.0) is above upper (80.0)"),
        "2026/27: 60-80": ("thresholds", "line 1 ('2026/27: 60-80'): write one year a line, as 2026/27: 60 to 80"),
        "2026/27: 1 to 2\n2026/27: 3 to 4": ("thresholds", "lists a financial year twice"),
    }
    for text, (field, message) in cases.items():
        with pytest.raises(local.DefinitionError) as caught:
            local.measure_from_form(form(thresholds=text))
        assert caught.value.errors == {field: message}
    with pytest.raises(local.DefinitionError) as caught:
        local.measure_from_form(form(targets="2026/27: 80\n2026/2027: 85"))
    assert caught.value.errors["targets"].startswith("line 2 (2026/2027) financial year: financial year must look")
    with pytest.raises(local.DefinitionError) as caught:
        local.measure_from_form(form(comparison="byar"))  # Byar's is for events, not a proportion
    assert list(caught.value.errors) == ["comparison"]


def test_a_stored_definition_is_parsed_once_however_often_the_data_changes_around_it(store, monkeypatch):
    from measures import versioned
    from measures.local import definitions

    parsed = []
    monkeypatch.setattr(definitions, "parse_measure",
                        lambda path, text: parsed.append(path.stem) or parse_measure(path, text))
    definitions._parse_stored.cache_clear()
    local.define_measure(store, local.measure_from_form(form()), "PCN manager")
    assert "int_falls_reviews_pct" in local.catalogue_with_local(store).ids()
    first = parsed.count("int_falls_reviews_pct")
    versioned.clear_all()  # as after an import: a new data version, the same definitions
    assert "int_falls_reviews_pct" in local.catalogue_with_local(store, "UZ0001").ids()
    assert parsed.count("int_falls_reviews_pct") == first == 1
    local.define_measure(store, local.measure_from_form(form(name="Falls reviewed by the team")), "PCN manager")
    assert local.catalogue_with_local(store).get("int_falls_reviews_pct").name == "Falls reviewed by the team"
    assert parsed.count("int_falls_reviews_pct") == 2  # a changed definition is read afresh
