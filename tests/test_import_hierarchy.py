"""The dated hierarchy: publications' evidence about practice ↔ PCN membership resolved into one timeline."""

import itertools
from datetime import date

import pytest

from measures.importers import import_publications
from measures.importers.hierarchy import Span, resolve
from measures.store import Store
from tests.conftest import SAMPLES

EPCN_SEEN = date(2023, 1, 26)
MAP_DAY = date(2026, 7, 1)


def dated(parent, start, end=None, seen=EPCN_SEEN, import_id=2):
    return Span(parent, start, end, True, seen, import_id)


def snapshot(parent, day, import_id=1):
    return Span(parent, day, None, False, day, import_id)


def timeline(spans):
    return [(s.parent, s.start, s.end) for s in resolve(spans)]


def test_a_map_agreeing_with_the_workbook_keeps_the_dated_start():
    spans = [dated("U1", date(2019, 10, 1)), snapshot("U1", MAP_DAY)]
    assert timeline(spans) == [("U1", date(2019, 10, 1), None)]


def test_a_map_alone_is_dated_from_its_extract_date():
    assert timeline([snapshot("U1", MAP_DAY)]) == [("U1", MAP_DAY, None)]


def test_a_dated_move_is_taken_as_dated():
    spans = [dated("U1", date(2019, 10, 1), date(2022, 3, 31)), dated("U2", date(2022, 4, 1))]
    assert timeline(spans) == [("U1", date(2019, 10, 1), date(2022, 3, 31)), ("U2", date(2022, 4, 1), None)]


def test_an_undated_move_is_dated_halfway_between_the_two_sightings():
    spans = [dated("U1", date(2019, 10, 1)), snapshot("U2", MAP_DAY)]
    (old, old_start, old_end), (new, new_start, new_end) = timeline(spans)
    assert (old, old_start, new, new_end) == ("U1", date(2019, 10, 1), "U2", None)
    assert old_end == date(2024, 10, 12) and new_start == date(2024, 10, 13)
    assert abs((new_start - EPCN_SEEN).days - (MAP_DAY - new_start).days) <= 1


def test_monthly_maps_move_a_practice_at_mid_month():
    spans = [snapshot("U1", date(2026, 5, 1)), snapshot("U1", date(2026, 6, 1)), snapshot("U2", date(2026, 7, 1))]
    assert timeline(spans) == [("U1", date(2026, 5, 1), date(2026, 6, 15)), ("U2", date(2026, 6, 16), None)]


def test_an_unallocated_practice_leaves_its_pcn_and_belongs_to_none():
    spans = [dated("U1", date(2019, 10, 1)), snapshot(None, MAP_DAY)]
    assert timeline(spans) == [("U1", date(2019, 10, 1), date(2024, 10, 12))]


def test_a_closed_relationship_then_a_later_sighting_leaves_a_gap():
    spans = [dated("U1", date(2019, 10, 1), date(2020, 3, 31)), snapshot("U1", MAP_DAY)]
    assert timeline(spans) == [("U1", date(2019, 10, 1), date(2020, 3, 31)), ("U1", MAP_DAY, None)]


def test_newer_dated_evidence_overrides_an_older_snapshot():
    # an old map saw the practice in U2 in 2021; a newer workbook dates it in U1 throughout
    spans = [snapshot("U2", date(2021, 6, 1)), dated("U1", date(2019, 10, 1), seen=date(2025, 1, 1))]
    assert timeline(spans) == [("U1", date(2019, 10, 1), None)]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_the_timeline_does_not_depend_on_the_order_of_evidence(order):
    evidence = [dated("U1", date(2019, 10, 1), date(2021, 3, 31)), dated("U2", date(2021, 4, 1)),
                snapshot("U3", MAP_DAY), snapshot("U2", date(2024, 1, 1))]
    expected = timeline(evidence)
    assert timeline([evidence[i] for i in order]) == expected
    assert [p for p, _, _ in expected] == ["U1", "U2", "U3"]


def test_map_and_workbook_give_the_same_memberships_in_either_order(tmp_path):
    """Imported in separate commands, map then workbook or workbook then map, the memberships are identical."""
    results = []
    for name, files in (("a", ["gp-reg-pat-prac-map.csv", "ePCN.xlsx"]), ("b", ["ePCN.xlsx", "gp-reg-pat-prac-map.csv"])):
        store = Store(tmp_path / f"{name}.duckdb")
        for file in files:
            assert import_publications([SAMPLES / file], store).ok
        results.append(store.query(
            "SELECT child_code, parent_code, parent_level, start_date, end_date FROM memberships "
            "ORDER BY child_code, parent_level, start_date"))
    assert len(results[0]) > 15000
    assert results[0].equals(results[1])
    # a practice only the map knows is dated from the extract date; no child has two open memberships of a level
    first = results[0]
    open_ = first[first["end_date"].isna()]
    assert not open_.duplicated(["child_code", "parent_level"]).any()


def test_a_practice_in_no_pcn_on_the_workbook_date_joins_the_new_pcn_halfway_to_the_map():
    # ePCN: in U1 until March 2022 and in no PCN on the workbook's date; the 2026 map: in U2
    spans = [dated("U1", date(2019, 10, 1), date(2022, 3, 31)), dated(None, date(2022, 4, 1)), snapshot("U2", MAP_DAY)]
    assert timeline(spans) == [("U1", date(2019, 10, 1), date(2022, 3, 31)), ("U2", date(2024, 10, 13), None)]
