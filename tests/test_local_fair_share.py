"""Fair share: did the PCN's resource reach each practice in proportion to its population?"""

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import pytest

from measures import local
from measures.charts_fair_share import POPULATION_COLOUR, RESOURCE_COLOUR, fair_share_figure
from measures.store import Store

HOURS = "ps_arrs_hours_per_1000_weighted"  # fair_share: weighted_population


def test_each_practices_share_of_hours_sits_beside_its_share_of_weighted_population(demo_db):
    store = Store(demo_db)
    shares = local.fair_share(store, HOURS, "UZ0002", date(2025, 10, 1), date(2026, 9, 1))
    assert shares["resource_share"].sum() == pytest.approx(1)
    assert shares["population_share"].sum() == pytest.approx(1)
    hours = store.query("SELECT org_code, sum(numerator) AS hours FROM observations WHERE measure_id = ? "
                        "AND org_level = 'practice' AND period_start BETWEEN '2025-10-01' AND '2026-09-01' "
                        "AND org_code IN (SELECT unnest(?)) GROUP BY 1", [HOURS, shares["org_code"].tolist()])
    expected = dict(zip(hours["org_code"], hours["hours"] / hours["hours"].sum()))
    assert dict(zip(shares["org_code"], shares["resource_share"])) == pytest.approx(expected)
    # Population counts the same practice-months as the hours: weighted patients at each month's start.
    weighted = store.query(
        "SELECT o.org_code, sum(l.weighted_patients) AS w FROM observations o JOIN list_sizes l "
        "ON l.org_code = o.org_code AND l.extract_date = o.period_start WHERE o.measure_id = ? "
        "AND o.period_start BETWEEN '2025-10-01' AND '2026-09-01' AND o.org_code IN (SELECT unnest(?)) GROUP BY 1",
        [HOURS, shares["org_code"].tolist()])
    assert dict(zip(shares["org_code"], shares["population_share"])) == pytest.approx(
        dict(zip(weighted["org_code"], weighted["w"] / weighted["w"].sum())))
    assert (shares["gap_points"] == (shares["resource_share"] - shares["population_share"]) * 100).all()


def test_a_practice_that_moved_counts_only_for_the_months_it_belonged(demo_db):
    store = Store(demo_db)
    moves = store.query("SELECT child_code, parent_code, start_date FROM memberships WHERE parent_level = 'pcn' "
                        "AND child_code IN (SELECT child_code FROM memberships WHERE parent_level = 'pcn' "
                        "GROUP BY 1 HAVING count(*) > 1) ORDER BY start_date")
    mover, old_pcn, new_pcn = moves.iloc[0]["child_code"], moves.iloc[0]["parent_code"], moves.iloc[1]["parent_code"]
    moved_on = pd.Timestamp(moves.iloc[1]["start_date"]).date()
    start = (pd.Timestamp(moved_on) - pd.DateOffset(months=3)).date()
    end = (pd.Timestamp(moved_on) + pd.DateOffset(months=2)).date()
    before = local.fair_share(store, HOURS, old_pcn, start, end).set_index("org_code")
    after = local.fair_share(store, HOURS, new_pcn, start, end).set_index("org_code")
    assert before.loc[mover, "last_period"] < moved_on <= after.loc[mover, "first_period"]
    assert before.loc[mover, "periods"] + after.loc[mover, "periods"] <= 6


def test_a_measure_without_a_fair_share_field_has_no_fair_share(demo_db):
    with pytest.raises(ValueError, match="no fair_share field"):
        local.fair_share(Store(demo_db), "ps_days_to_practice_payment", "UZ0002", date(2026, 1, 1), date(2026, 9, 1))


def shares_frame():
    return pd.DataFrame({
        "org_code": ["Z00001", "Z00002", "Z00003"],
        "org_name": ["Mill Lane Surgery", "High Street Medical Centre", "The Green Practice"],
        "resource_share": [0.50, 0.30, 0.20],
        "population_share": [0.40, 0.30, 0.30],
    })


def test_the_chart_sorts_practices_by_gap_and_labels_it():
    fig = fair_share_figure(shares_frame(), measure_label="ARRS hours per 1,000 weighted",
                            population="weighted population", pcn_name="Riverside PCN",
                            period_text="Oct 2025 to Sep 2026", source="Locally recorded by the PCN")
    assert isinstance(fig, go.Figure)
    bars, markers = fig.data
    assert bars.type == "bar" and markers.type == "scatter"
    # Plotly draws the first category at the bottom: most below fair share at the bottom, most above at the top.
    assert list(bars.y) == ["The Green Practice (Z00003)", "High Street Medical Centre (Z00002)",
                            "Mill Lane Surgery (Z00001)"]
    assert list(bars.x) == pytest.approx([20, 30, 50])
    assert list(markers.x) == pytest.approx([30, 30, 40])
    labels = [a.text for a in fig.layout.annotations]
    assert "10.0 pts above" in labels and "10.0 pts below" in labels and "at fair share" in labels


def test_the_chart_carries_its_title_subtitle_and_source_for_export():
    fig = fair_share_figure(shares_frame(), measure_label="ARRS hours per 1,000 weighted",
                            population="weighted population", pcn_name="Riverside PCN",
                            period_text="Oct 2025 to Sep 2026", source="Locally recorded by the PCN")
    assert fig.layout.title.text == "ARRS hours per 1,000 weighted: where it went, practice by practice"
    assert "Riverside PCN, Oct 2025 to Sep 2026" in fig.layout.title.subtitle.text
    assert "fair share, by weighted population" in fig.layout.title.subtitle.text
    assert any(a.text.startswith("Source: Locally recorded by the PCN") for a in fig.layout.annotations)


def test_the_chart_uses_nhs_blues_and_shapes_so_it_reads_without_colour():
    fig = fair_share_figure(shares_frame(), measure_label="x", population="registered patients",
                            pcn_name="P", period_text="Sep 2026", source="s")
    bars, markers = fig.data
    assert bars.marker.color == RESOURCE_COLOUR == "#005EB8"
    assert markers.marker.color == POPULATION_COLOUR
    assert markers.marker.symbol == "diamond"  # fair share is told apart by shape as well as colour
