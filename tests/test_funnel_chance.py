"""On the national demo, a funnel flags a measure with no special cause about as often as chance predicts."""

import pytest

from measures import compare, demo, queries, suppression
from measures.catalogue import Catalogue, default_catalogue
from measures.store import Store

CATALOGUE = default_catalogue()
NO_SPECIAL_CAUSE = "int_cohort_emergency_admissions_per_1000"
BEYOND_95 = ("high_95", "low_95", "high_998", "low_998")
BEYOND_998 = ("high_998", "low_998")


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> Store:
    """That one measure at national scale (1,300 PCNs): the whole national demo takes too long to build here."""
    path = tmp_path_factory.mktemp("national") / "national.duckdb"
    demo.build_demo(path, scale="national", catalogue=Catalogue((CATALOGUE.get(NO_SPECIAL_CAUSE),)))
    return Store(path)


def funnel_outcomes(store: Store, measure_id: str, period):
    """Each PCN against its funnel, by the steps Compare areas takes: suppress, prepare, benchmark, funnel."""
    comparison = compare.comparison_for(CATALOGUE.get(measure_id))
    shown = suppression.suppress(queries.pcn_values(store, measure_id, period), suppression.rules(CATALOGUE),
                                 measure_id=measure_id)
    frame = compare.benchmarked(compare.prepared(shown, comparison), comparison.measure, None,
                                method=comparison.method)
    limits = compare.funnel(frame, comparison.measure, method=comparison.method)
    outcome = compare.funnel_outcome(frame, limits)
    return outcome[outcome != ""], limits


def test_a_measure_with_no_special_cause_flags_about_what_chance_predicts_on_the_national_demo(national):
    latest = queries.measure_periods(national, NO_SPECIAL_CAUSE)[0]
    outcome, limits = funnel_outcomes(national, NO_SPECIAL_CAUSE, latest)
    assert len(outcome) > 1000, len(outcome)  # nearly every PCN is plotted (a few are missing or suppressed)
    beyond_95 = outcome.isin(BEYOND_95).mean()
    beyond_998 = outcome.isin(BEYOND_998).mean()
    # Chance alone puts 5% of PCNs beyond the 95% limits and 0.2% beyond the 99.8% limits.
    assert 0.02 <= beyond_95 <= 0.09, (beyond_95, limits.attrs["funnel"])
    assert beyond_998 <= 0.015, (beyond_998, limits.attrs["funnel"])
