"""The board view of a PCN shows the integration measures of its neighbourhoods, labelled, to those who may read them."""

from measures import neighbourhood_board
from measures.neighbourhoods import Footprint
from tests import apptest

BOARD = "pages/board_view.py"


def html_of(at) -> str:
    return "\n".join(element.proto.body for element in at.get("html"))


def hood_sections(at) -> str:
    return "\n".join(body for body in (e.proto.body for e in at.get("html")) if "pcnb-neighbourhood" in body)


def shown_neighbourhoods(at):
    """Turn on the board's neighbourhood section (off at first, so the board alone fits one screen)."""
    at.toggle(key="show_neighbourhoods").set_value(True).run()
    assert not at.exception, at.exception
    return at


def test_a_pcns_board_shows_its_neighbourhood_with_a_label_and_its_values(app_env):
    at = apptest.open_app(BOARD, pcn="UZ0002")
    assert at.toggle(key="show_neighbourhoods").label == "Riverside neighbourhood: 3 PCNs"
    assert not hood_sections(at)
    section = hood_sections(shown_neighbourhoods(at))
    assert 'data-neighbourhood="QZZ-RIVERSIDE"' in section
    assert "PCNs: UZ0001, UZ0002, UZ0003" in section
    # Its integration measures, with the latest recorded value, link to Compare areas across neighbourhoods.
    assert 'data-measure="nbh_mdt_partner_attendance_pct"' in section
    assert "compare?measure=nbh_mdt_partner_attendance_pct&amp;pcn=UZ0002&amp;level=neighbourhood" in section
    assert "Sep 2026" in section


def test_part_of_a_large_pcn_is_said_so_and_a_pcn_outside_any_has_no_section(app_env):
    brackenby = apptest.open_app(BOARD, pcn="UZ0006")
    assert brackenby.toggle(key="show_neighbourhoods").label == \
        "Brackenby North neighbourhood: part of 1 PCN (7 practices)"
    thornbury = apptest.open_app(BOARD, pcn="UZ0009")
    assert not [t for t in thornbury.toggle if t.key == "show_neighbourhoods"]


def test_the_neighbourhoods_unpublished_values_follow_its_pcns_access(access_db):
    # viewer@ views UZ0001, a PCN of Riverside: Riverside's values are shown on UZ0001's board.
    member = shown_neighbourhoods(apptest.open_app(BOARD, pcn="UZ0001", email="viewer@example.nhs.uk"))
    assert 'data-measure="nbh_mdt_partner_attendance_pct"' in hood_sections(member)
    # Someone with no role opening UZ0001's board sees the label, but none of the unpublished values.
    outsider = shown_neighbourhoods(apptest.open_app(BOARD, pcn="UZ0001", email="nobody@example.nhs.uk"))
    section = hood_sections(outsider)
    assert "Riverside neighbourhood: 3 PCNs" in section
    assert 'data-measure="' not in section and "No values recorded for the neighbourhood yet" in section


def test_the_section_builder_keeps_only_measures_with_values_and_labels_each_footprint():
    whole = Footprint("QZZ-A", "Alder", "QZZ", ("UZ0001", "UZ0002"), ("UZ0001", "UZ0002"), 9)
    part = Footprint("QZZ-B", "Birch neighbourhood", "QZZ", ("UZ0003", "UZ0004"), ("UZ0003",), 6)
    assert whole.label == "Alder neighbourhood: 2 PCNs"
    assert part.label == "Birch neighbourhood: 2 PCNs, 1 of them in part (6 practices)"
    found = neighbourhood_board.sections([whole, part], [], {})
    assert [s.rows for s in found] == [(), ()]
    assert "No integration measure is set for the neighbourhood yet" in neighbourhood_board.sections_html(found, "UZ0001")


def test_compare_areas_compares_the_neighbourhoods_of_the_icb(app_env):
    at = apptest.open_app("pages/compare_areas.py", pcn="UZ0001", level="neighbourhood",
                          measure="nbh_mdt_partner_attendance_pct")
    table = at.dataframe[0].value
    assert sorted(table["Neighbourhood code"]) == ["QZZ-BRACKENBY-N", "QZZ-RIVERSIDE"]
    assert set(table["Neighbourhood"]) == {"Riverside", "Brackenby North"}
    assert any("2 neighbourhoods of" in c.value and "Wilson score" in c.value for c in at.caption)


def test_a_practice_level_measure_compares_each_neighbourhood_as_the_sum_of_its_practices(demo_db):
    from datetime import date

    from measures import access, compare_neighbourhoods, neighbourhoods
    from measures.catalogue import default_catalogue
    from measures.store import Store

    store = Store(demo_db)
    measure = default_catalogue().get("dna_rate")
    period = date(2026, 6, 1)
    compared = compare_neighbourhoods.values(store, measure, "QZZ", period, access.OPEN, access.directory(store))
    for row in compared.itertuples():
        own = neighbourhoods.series(store, measure, row.org).set_index("period_start").loc[str(period)]
        assert (row.numerator, row.denominator, row.practices) == (own["numerator"], own["denominator"],
                                                                    own["practices"])
    assert compared.set_index("org").loc["QZZ-BRACKENBY-N", "practices"] == 7
    # A national measure's sums are everyone's; a neighbourhood's unpublished local values are not.
    nobody, facts = access.Principal("n@x.nhs.uk"), access.directory(store)
    assert compare_neighbourhoods.values(store, measure, "QZZ", period, nobody, facts)["numerator"].tolist() == \
        compared["numerator"].tolist()
    hood = local_catalogue(store).get("nbh_mdt_partner_attendance_pct")
    assert len(compare_neighbourhoods.values(store, hood, "QZZ", period, access.OPEN, facts)) == 2
    assert compare_neighbourhoods.values(store, hood, "QZZ", period, nobody, facts).empty


def local_catalogue(store):
    from measures import local

    return local.catalogue_with_local(store)
