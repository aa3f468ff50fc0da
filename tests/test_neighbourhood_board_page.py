"""A neighbourhood's own board: its label and PCNs, its sums and recorded values, who sees what, and caching."""

import re
import shutil
from datetime import date

import pandas as pd
import pytest

from measures import board
from measures.catalogue import default_catalogue
from measures.store import Store
from tests import apptest

PAGE = "pages/neighbourhood_board.py"
BOARD = "pages/board_view.py"
RIVERSIDE_PCNS = ["UZ0001", "UZ0002", "UZ0003"]


def html_with(at, marker: str) -> str:
    found = [e.proto.body for e in at.get("html") if marker in e.proto.body]
    assert len(found) == 1, f"{len(found)} html elements with {marker!r}"
    return found[0]


def heading(at) -> str:
    return html_with(at, 'class="pcnb pcnb-heading"')


def the_board(at) -> str:
    return html_with(at, 'class="pcnb-cols"')


def row_of(board_html: str, measure_id: str) -> str | None:
    found = re.search(rf'<a class="pcnb-row"[^>]*data-measure="{measure_id}".*?</a>', board_html)
    return found.group(0) if found else None


def value_in(row: str) -> str:
    return re.search(r'<span class="pcnb-value">([^<]*)</span> <span class="pcnb-period">([^<]*)</span>', row).groups()


def test_the_page_names_the_neighbourhood_its_pcns_and_practices_and_how_its_values_are_made(app_env):
    store = Store(app_env)
    at = apptest.open_app(PAGE, pcn="UZ0002")
    # The neighbourhoods the PCN works in come first (by name, Brackenby North would).
    picker = at.selectbox(key="neighbourhood_picker")
    assert picker.value == "QZZ-RIVERSIDE" and picker.options[0].startswith("Riverside (QZZ-RIVERSIDE)")
    assert at.query_params["neighbourhood"] == "QZZ-RIVERSIDE"
    head = heading(at)
    assert "<h1>Riverside neighbourhood: 3 PCNs</h1>" in head and "QZZ-RIVERSIDE" in head
    names = dict(store.query("SELECT org_code, name FROM organisations WHERE org_level = 'pcn'").values)
    for code in RIVERSIDE_PCNS:
        assert f"{names[code]} ({code})" in head
    practices = store.query(
        "SELECT count(DISTINCT child_code) AS n FROM memberships WHERE parent_level = 'pcn' "
        "AND child_level = 'practice' AND list_contains(?, parent_code) AND start_date <= current_date "
        "AND (end_date IS NULL OR end_date >= current_date)", [RIVERSIDE_PCNS])["n"].iloc[0]
    assert f"· {practices} practices today" in head
    assert "sum of the member practices&#x27; numerators and denominators at each period&#x27;s last day" in head

    brackenby = apptest.open_app(PAGE, pcn="UZ0002", neighbourhood="QZZ-BRACKENBY-N")
    head = heading(brackenby)
    assert "<h1>Brackenby North neighbourhood: part of 1 PCN (7 practices)</h1>" in head
    assert f"{names['UZ0006']} (UZ0006, in part)" in head


def test_a_practice_level_row_is_the_sum_of_its_practices_at_the_latest_period(app_env):
    store = Store(app_env)
    at = apptest.open_app(PAGE, pcn="UZ0001", neighbourhood="QZZ-RIVERSIDE")
    measure = default_catalogue().get("dna_rate")
    # Independently of the app: the practices of the three PCNs on each period's last day, added up.
    sums = store.query(
        """
        SELECT o.period_start, sum(o.numerator) AS numerator, sum(o.denominator) AS denominator
        FROM observations o JOIN memberships m ON m.child_code = o.org_code AND m.parent_level = 'pcn'
             AND list_contains(?, m.parent_code) AND m.start_date <= o.period_end
             AND (m.end_date IS NULL OR m.end_date >= o.period_end)
        WHERE o.measure_id = 'dna_rate' AND o.org_level = 'practice'
        GROUP BY 1 ORDER BY 1 DESC LIMIT 1
        """, [RIVERSIDE_PCNS]).iloc[0]
    expected = measure.format_value(sums["numerator"] / sums["denominator"] * measure.multiplier)
    row = row_of(the_board(at), "dna_rate")
    assert value_in(row) == (expected, f"{sums['period_start']:%b %Y}")
    assert 'href="compare?measure=dna_rate&amp;pcn=UZ0001&amp;level=neighbourhood"' in row


def local_catalogue(store):
    from measures import local

    return local.catalogue_with_local(store)


def test_a_neighbourhood_measure_shows_the_value_recorded_for_it(app_env):
    store = Store(app_env)
    at = apptest.open_app(PAGE, pcn="UZ0002")
    recorded = store.query(
        "SELECT period_start, numerator, denominator FROM observations WHERE org_code = 'QZZ-RIVERSIDE' "
        "AND measure_id = 'nbh_care_plans_shared_pct' ORDER BY period_start DESC, measure_version DESC LIMIT 1"
    ).iloc[0]
    row = row_of(the_board(at), "nbh_care_plans_shared_pct")
    measure = local_catalogue(store).get("nbh_care_plans_shared_pct")
    assert value_in(row) == (measure.format_value(recorded["numerator"] / recorded["denominator"] * measure.multiplier),
                             f"{recorded['period_start']:%b %Y}")
    assert 'href="compare?measure=nbh_care_plans_shared_pct&amp;pcn=UZ0002&amp;level=neighbourhood"' in row


def test_outside_its_pcns_only_published_periods_are_shown(access_db):
    from measures import access
    from measures.local.publishing import publish_period

    publish_period(access_db, access.OPEN, "QZZ-RIVERSIDE", date(2026, 6, 1))
    june = access_db.query("SELECT numerator, denominator FROM observations WHERE org_code = 'QZZ-RIVERSIDE' "
                           "AND measure_id = 'nbh_care_plans_shared_pct' AND period_start = DATE '2026-06-01' "
                           "ORDER BY measure_version DESC LIMIT 1").iloc[0]
    # Nobody's role: national sums are everyone's, a neighbourhood's local values only where it published.
    outsider = apptest.open_app(PAGE, pcn="UZ0001", email="nobody@example.nhs.uk")
    shown = the_board(outsider)
    measure = local_catalogue(access_db).get("nbh_care_plans_shared_pct")
    assert value_in(row_of(shown, "nbh_care_plans_shared_pct")) == (
        measure.format_value(june["numerator"] / june["denominator"] * measure.multiplier), "Jun 2026")
    assert row_of(shown, "dna_rate") is not None
    assert row_of(shown, "ps_training_supervision_hours") is None  # its PCNs published nothing
    assert any("Not shown to you" in e.value and "QZZ-RIVERSIDE" in e.value
               and "A neighbourhood's local values are shown to the viewers and editors of its PCNs" in e.value
               for e in outsider.error)
    # A viewer of one of its PCNs reads every period, of every PCN's practices.
    member = apptest.open_app(PAGE, pcn="UZ0001", email="viewer@example.nhs.uk")
    shown = the_board(member)
    assert value_in(row_of(shown, "nbh_care_plans_shared_pct"))[1] == "Sep 2026"
    assert value_in(row_of(shown, "ps_training_supervision_hours"))[1] == "Sep 2026"
    assert not member.error


def test_a_sum_reaches_outsiders_only_once_every_pcn_of_the_neighbourhood_has_published(access_db):
    # One rule for the board, the pack and Compare (neighbourhoods.readable): a sum of only the practices whose
    # PCNs published would read as the neighbourhood's value, and it is not.
    from measures import access, compare_neighbourhoods, neighbourhoods
    from measures.local.publishing import publish_period

    june, hours = date(2026, 6, 1), "ps_training_supervision_hours"
    measure = local_catalogue(access_db).get(hours)
    nobody = access.Principal("nobody@example.nhs.uk")

    def compared():
        found = compare_neighbourhoods.values(access_db, measure, "QZZ", june, nobody, access.directory(access_db))
        return found.set_index("org")["numerator"].to_dict()

    def outsiders_rows():
        rows = neighbourhoods.board_rows_read(access_db, "QZZ-RIVERSIDE", [hours])
        shown = neighbourhoods.readable(rows, nobody, access.directory(access_db), "QZZ-RIVERSIDE")
        return shown[pd.to_datetime(shown["period_start"]) == pd.Timestamp(june)]

    assert len(neighbourhoods.board_rows_read(access_db, "QZZ-RIVERSIDE", [hours])) > 0
    publish_period(access_db, access.OPEN, "UZ0001", june)
    assert "QZZ-RIVERSIDE" not in compared() and outsiders_rows().empty
    assert "jun 2026" not in (row_of(the_board(apptest.open_app(PAGE, pcn="UZ0001", email="nobody@example.nhs.uk")),
                                     hours) or "").lower()
    for pcn in RIVERSIDE_PCNS[1:]:
        publish_period(access_db, access.OPEN, pcn, june)
    whole = access_db.query(
        "SELECT sum(o.numerator) AS n FROM observations o JOIN memberships m ON m.child_code = o.org_code "
        "AND m.parent_level = 'pcn' AND m.start_date <= o.period_end AND (m.end_date IS NULL OR m.end_date >= o.period_end) "
        "WHERE o.measure_id = ? AND o.period_start = ? AND list_contains(?, m.parent_code)",
        [hours, june, RIVERSIDE_PCNS])["n"].iloc[0]
    assert compared()["QZZ-RIVERSIDE"] == pytest.approx(whole)
    assert outsiders_rows()["numerator"].sum() == pytest.approx(whole)


def test_a_member_of_one_pcn_sees_the_range_of_only_the_practices_it_may_read(access_db):
    # A sum over its practices is the neighbourhood's value; a single practice's value is its own PCN's.
    from measures import access
    from measures.local.publishing import publish_period

    fair_share = "ps_arrs_fair_share_ratio"
    latest = access_db.query("SELECT max(period_start) AS p FROM observations WHERE measure_id = ?",
                             [fair_share])["p"].iloc[0]
    ratios = access_db.query(
        "SELECT m.parent_code AS pcn, o.value FROM observations o JOIN memberships m ON m.child_code = o.org_code "
        "AND m.parent_level = 'pcn' AND m.start_date <= o.period_end AND (m.end_date IS NULL OR m.end_date >= "
        "o.period_end) WHERE o.measure_id = ? AND o.period_start = ? AND list_contains(?, m.parent_code)",
        [fair_share, latest, RIVERSIDE_PCNS])
    measure = local_catalogue(access_db).get(fair_share)

    def spread(values):
        return f"{measure.format_value(values.min())}–{measure.format_value(values.max())}×"

    def shown_to(email):
        return value_in(row_of(the_board(apptest.open_app(PAGE, pcn="UZ0001", email=email,
                                                          neighbourhood="QZZ-RIVERSIDE")), fair_share))

    everyone, own = ratios["value"], ratios.loc[ratios["pcn"] == "UZ0001", "value"]
    assert spread(own) != spread(everyone)  # else the test below could not tell them apart
    assert shown_to("analyst@example.nhs.uk") == (spread(everyone), f"across {len(everyone)} practices, {latest:%b %Y}")
    # A viewer of UZ0001 alone: the practices of UZ0002 and UZ0003 are theirs to publish.
    assert shown_to("viewer@example.nhs.uk") == (spread(own), f"across {len(own)} of {len(everyone)} practices, "
                                                              f"{latest:%b %Y}")
    for pcn in RIVERSIDE_PCNS[1:]:
        publish_period(access_db, access.OPEN, pcn, latest)
    assert shown_to("viewer@example.nhs.uk")[0] == spread(everyone)


@pytest.fixture
def no_neighbourhoods(demo_db, tmp_path, monkeypatch):
    path = tmp_path / "none.duckdb"
    shutil.copy(demo_db, path)
    with Store(path).writer() as con:
        con.execute("DELETE FROM memberships WHERE parent_level = 'neighbourhood'")
        con.execute("DELETE FROM neighbourhoods")
    monkeypatch.setenv("PCN_DB", str(path))
    return path


def test_an_icb_with_no_neighbourhoods_is_told_how_to_define_them(no_neighbourhoods):
    at = apptest.open_app(PAGE, pcn="UZ0001")
    said = apptest.texts(at.info)
    assert "No neighbourhoods are defined for" in said and "python -m measures neighbourhoods FILE" in said
    assert not [e for e in at.get("html") if "pcnb-cols" in e.proto.body]
    assert not [s for s in at.selectbox if s.key == "neighbourhood_picker"]


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = board.board_rows

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(board, "board_rows", counting)
    return calls


def test_a_rerun_of_the_page_does_not_compute_the_board_again(app_env, counted):
    at = apptest.open_app(PAGE, pcn="UZ0003")
    counted.clear()
    at.run()
    assert not at.exception, at.exception
    assert row_of(the_board(at), "dna_rate") is not None
    assert counted == []


def test_the_pcn_boards_section_links_each_neighbourhood_and_reruns_without_computing_again(app_env, counted):
    at = apptest.open_app(BOARD, pcn="UZ0002")
    at.toggle(key="show_neighbourhoods").set_value(True).run()
    counted.clear()
    at.run()
    assert not at.exception, at.exception
    section = html_with(at, "pcnb-neighbourhood")
    assert 'href="neighbourhood?neighbourhood=QZZ-RIVERSIDE&amp;pcn=UZ0002"' in section
    assert 'data-measure="nbh_care_plans_shared_pct"' in section
    assert counted == []


def test_every_neighbourhood_is_worked_out_once_for_the_boards_of_every_pcn(app_env, monkeypatch):
    # At national scale working out every neighbourhood's footprint takes about 0.1 s: once per data version, not
    # once for each PCN someone opens.
    from streamlit.testing.v1 import AppTest

    from measures import neighbourhoods

    def clear_caches():
        import streamlit as st

        from measures import versioned

        st.cache_data.clear()
        st.cache_resource.clear()
        versioned.clear_all()

    AppTest.from_function(clear_caches).run()
    calls = []
    real = neighbourhoods.footprints
    monkeypatch.setattr(neighbourhoods, "footprints", lambda *args, **kwargs: calls.append(args) or real(*args, **kwargs))
    labels = {}
    for code in ["UZ0001", "UZ0002", "UZ0006", "UZ0009"]:
        at = apptest.open_app(BOARD, pcn=code)
        labels[code] = [t.label for t in at.sidebar.toggle if t.key == "show_neighbourhoods"]
    assert len(calls) == 1
    assert labels == {"UZ0001": ["Riverside neighbourhood: 3 PCNs"], "UZ0002": ["Riverside neighbourhood: 3 PCNs"],
                      "UZ0006": ["Brackenby North neighbourhood: part of 1 PCN (7 practices)"], "UZ0009": []}
