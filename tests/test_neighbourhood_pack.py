"""A neighbourhood's board pack: cover, values (recorded and summed), access, renderings, command line, sidebar."""

import io
import shutil
from datetime import date, datetime

import pandas as pd
import pytest
from docx import Document
from pptx import Presentation
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from measures import access, boardpack, detail, local, neighbourhoods, queries
from measures.access import Grant, Principal
from measures.cli import REFUSED, main
from measures.demo import build_demo
from measures.demo_neighbourhoods import NEIGHBOURHOODS
from measures.store import Store
from tests.apptest import AUTH, texts
from tests.conftest import ROOT

RIVERSIDE, BRACKENBY = (code for code, _, _ in NEIGHBOURHOODS)  # QZZ-RIVERSIDE (3 PCNs), QZZ-BRACKENBY-N (part of 1)
RIVERSIDE_PCNS = [child for level, child in NEIGHBOURHOODS[0][2] if level == "pcn"]
BRACKENBY_PRACTICES = [child for level, child in NEIGHBOURHOODS[1][2] if level == "practice"]
PLANS = "nbh_care_plans_shared_pct"  # recorded for each neighbourhood
SEPT = date(2026, 9, 1)
PRODUCED = date(2026, 11, 23)
EXAMPLE = ROOT / "data" / "access.example.yaml"


def grant(role, **scope) -> Grant:
    return Grant(role=role, **scope)


OUTSIDER = Principal("outsider@example.nhs.uk", grants=(grant("viewer", pcns=["UZ0004"]),))
VIEWER = Principal("v@example.nhs.uk", grants=(grant("viewer", pcns=[RIVERSIDE_PCNS[0]]),))
ANALYST = Principal("a@example.nhs.uk", grants=(grant("icb_analyst", icbs=["QZZ"]),))
OTHER_ANALYST = Principal("b@example.nhs.uk", grants=(grant("icb_analyst", icbs=["QYY"]),))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    """The demo, once for the module, with Riverside's care plans shared falling in September 2026 (a concern)."""
    path = tmp_path_factory.mktemp("neighbourhood_pack") / "demo.duckdb"
    build_demo(path, precompute_boards=False)
    store = Store(path)
    rows = [(2, {"measure_id": PLANS, "period_start": "2026-09-01", "org_code": RIVERSIDE, "numerator": 30,
                 "denominator": 265})]
    local.save(store, local.validate_rows(store, rows, "plans.csv", today=date(2026, 10, 15)), "ICB lead",
               at=datetime(2026, 10, 15, 9))
    return store


@pytest.fixture(scope="module")
def pack(store):
    return boardpack.build_neighbourhood_pack(store, RIVERSIDE, produced=PRODUCED)


@pytest.fixture(scope="module")
def files(pack):
    return {fmt: boardpack.render(pack, fmt) for fmt in boardpack.FORMATS}


def row_of(pack, measure_id):
    return next(row for row in pack.summary if row.measure_id == measure_id)


def practice_sum(store, measure_id, period, *, pcns=None, practices=None) -> tuple[float, float]:
    """The sums of the practices' numerators and denominators, read straight from the observations."""
    if pcns is not None:
        frame = store.query(
            "SELECT o.numerator, o.denominator FROM observations o JOIN memberships m ON m.child_code = o.org_code "
            "AND m.parent_level = 'pcn' AND m.child_level = 'practice' AND m.start_date <= o.period_end "
            "AND (m.end_date IS NULL OR m.end_date >= o.period_end) WHERE o.measure_id = ? AND o.period_start = ? "
            "AND o.org_level = 'practice' AND list_contains(?, m.parent_code)", [measure_id, period, pcns])
    else:
        frame = store.query(
            "SELECT numerator, denominator FROM observations WHERE measure_id = ? AND period_start = ? "
            "AND org_level = 'practice' AND list_contains(?, org_code)", [measure_id, period, practices])
    assert len(frame) > 1
    return float(frame["numerator"].sum()), float(frame["denominator"].sum())


# --- the cover ------------------------------------------------------------------------------------------------


def test_cover_names_the_neighbourhood_its_footprint_member_pcns_icb_and_period(pack, store):
    names = {code: queries.pcn(store, code)["pcn_name"] for code in RIVERSIDE_PCNS}
    cover = pack.cover
    assert cover.title == "Board pack: Riverside neighbourhood"
    assert cover.lines() == [
        f"Neighbourhood: Riverside ({RIVERSIDE})",
        "Riverside neighbourhood: 3 PCNs",
        "PCNs: " + ", ".join(f"{names[code]} ({code})" for code in sorted(RIVERSIDE_PCNS)),
        "Values: the sums of its member practices at each period's end, or recorded for the neighbourhood",
        "ICB: NHS Synthetic Valley ICB (QZZ)",
        f"Place: {queries.pcn(store, RIVERSIDE_PCNS[0])['sub_icb_name']}",
        "Period: data to September 2026",
        "Produced: 23 November 2026",
    ]
    assert cover.dataset_label.startswith("Synthetic demo data")
    assert cover.running_footer.startswith(f"Riverside neighbourhood ({RIVERSIDE}) board pack")
    assert pack.file_stem == "board-pack-qzz-riverside-2026-09"


def test_a_neighbourhood_in_part_of_a_pcn_says_so_and_names_that_pcn(store):
    cover = boardpack.build_neighbourhood_pack(store, BRACKENBY, "2026-06", produced=PRODUCED,
                                               chart_images=False).cover
    brackenby = queries.pcn(store, "UZ0006")["pcn_name"]
    assert cover.lines()[:3] == [f"Neighbourhood: Brackenby North ({BRACKENBY})",
                                 f"Brackenby North neighbourhood: part of 1 PCN ({len(BRACKENBY_PRACTICES)} practices)",
                                 f"PCNs: {brackenby} (UZ0006)"]
    assert cover.period == date(2026, 6, 1)


def test_an_unknown_code_is_refused_by_name(store):
    with pytest.raises(ValueError, match=r"no neighbourhood with code 'QZZ-NOWHERE'; the neighbourhoods are "
                                         r"QZZ-BRACKENBY-N, QZZ-RIVERSIDE"):
        boardpack.build_neighbourhood_pack(store, "QZZ-NOWHERE")
    with pytest.raises(ValueError, match="no neighbourhood with code 'UZ0001'"):  # a PCN is not a neighbourhood
        boardpack.build_neighbourhood_pack(store, "UZ0001")


# --- the values -----------------------------------------------------------------------------------------------


def test_summary_lists_the_neighbourhood_measures_and_no_pcn_only_pages(pack, store):
    measures = neighbourhoods.board_measures(local.catalogue_with_local(store), "QZZ")
    assert [row.measure_id for row in pack.summary] == measures.ids()
    assert {m.level for m in measures} == {"neighbourhood", "practice"}
    assert (pack.practices, pack.money, pack.data) == (None, None, None)
    nothing = next(d for d in pack.definitions if d.measure_id == "acc_08")  # annual, before the neighbourhood began
    assert nothing.data_to == "No data for this neighbourhood yet"


def test_a_neighbourhood_measure_reads_the_value_recorded_for_it(pack, store):
    recorded = store.query("SELECT value, period_start FROM observations WHERE measure_id = ? AND org_code = ? "
                           "AND org_level = 'neighbourhood' ORDER BY period_start DESC LIMIT 1", [PLANS, RIVERSIDE])
    measure = local.catalogue_with_local(store).get(PLANS)
    row = row_of(pack, PLANS)
    assert row.latest == measure.format_value(recorded["value"].iloc[0]) == "11.3%"
    assert row.trend[-1] == pytest.approx(recorded["value"].iloc[0], abs=1e-4)
    assert row.period == "Sep 2026"


@pytest.mark.parametrize("code, measure_id, where", [
    (RIVERSIDE, "registered_patients", {"pcns": RIVERSIDE_PCNS}),  # a count: the sum of the practices
    (RIVERSIDE, "appointments_same_day_pct", {"pcns": RIVERSIDE_PCNS}),  # a proportion of the summed counts
    (BRACKENBY, "ps_training_supervision_hours", {"practices": BRACKENBY_PRACTICES}),  # a local count
])
def test_a_practice_level_measure_is_the_sum_of_the_member_practices(store, pack, code, measure_id, where):
    built = pack if code == RIVERSIDE else boardpack.build_neighbourhood_pack(store, code, chart_images=False)
    measure = local.catalogue_with_local(store).get(measure_id)
    numerator, denominator = practice_sum(store, measure_id, SEPT, **where)
    expected = numerator if measure.type == "count" else numerator / denominator * measure.multiplier
    row = row_of(built, measure_id)
    assert row.period == "Sep 2026"
    assert row.trend[-1] == pytest.approx(expected, abs=1e-4)
    assert row.latest == measure.format_value(expected)


def test_a_measure_needing_attention_has_an_spc_page_naming_the_neighbourhood(pack, store):
    assert [page.measure_id for page in pack.exceptions] == [r.measure_id for r in pack.summary if r.needs_attention]
    page = next(page for page in pack.exceptions if page.measure_id == PLANS)
    measure = local.catalogue_with_local(store).get(PLANS)
    series = store.query("SELECT measure_id AS measure, measure_version AS version, org_code AS org, period_start, "
                         "period_end, numerator, denominator, value FROM observations WHERE measure_id = ? "
                         "AND org_code = ? ORDER BY period_start", [PLANS, RIVERSIDE])
    reading = detail.read(series.assign(period_start=pd.to_datetime(series["period_start"])), measure)
    assert reading.variation == "concern_low"
    assert detail.VARIATION_TEXT["concern_low"] in page.reasons
    assert page.narrative == detail.narrative(reading, measure, "Riverside neighbourhood")
    assert page.chart_png.startswith(b"\x89PNG")


def test_small_numbers_are_suppressed_as_in_a_pcn_pack(pack, store):
    # Riverside's partner attendance of September 2026: 12 of 15 meetings, 3 without every partner
    mdt = row_of(pack, "nbh_mdt_partner_attendance_pct")
    recorded = store.query("SELECT numerator, denominator FROM observations WHERE measure_id = ? AND org_code = ? "
                           "AND period_start = ?", ["nbh_mdt_partner_attendance_pct", RIVERSIDE, SEPT])
    assert recorded["denominator"].iloc[0] - recorded["numerator"].iloc[0] < 5
    assert mdt.latest == "*" and mdt.suppressed >= 1 and mdt.trend[-1] is None
    assert pack.suppression_note in pack.summary_notes


# --- access ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [OUTSIDER, OTHER_ANALYST, Principal("nobody@example.nhs.uk")])
def test_a_reader_outside_the_neighbourhood_is_refused(store, who):
    with pytest.raises(access.AccessDenied, match=f"may not read {RIVERSIDE}'s board pack") as refused:
        boardpack.build_neighbourhood_pack(store, RIVERSIDE, chart_images=False, principal=who)
    assert "the viewers and editors of its PCNs (UZ0001, UZ0002, UZ0003)" in str(refused.value)


def test_the_icb_analyst_reads_every_value_as_an_administrator_does(store, pack):
    analysts = boardpack.build_neighbourhood_pack(store, RIVERSIDE, produced=PRODUCED, chart_images=False,
                                                  principal=ANALYST)
    assert analysts.cover.lines() == pack.cover.lines()
    assert [(r.measure_id, r.latest, r.trend) for r in analysts.summary] == [
        (r.measure_id, r.latest, r.trend) for r in pack.summary]


def test_a_member_of_one_of_its_pcns_reads_every_sum_of_the_neighbourhood(store, pack):
    # A sum over its practices is the neighbourhood's own value, read by the neighbourhood's rules (its PCNs'
    # people), as its board shows it: the same pack as an administrator's.
    own = boardpack.build_neighbourhood_pack(store, RIVERSIDE, produced=PRODUCED, chart_images=False,
                                             principal=VIEWER)
    assert own.cover.lines() == pack.cover.lines()
    hours = "ps_training_supervision_hours"  # local, recorded per practice, the other PCNs' not published
    numerator, _ = practice_sum(store, hours, SEPT, pcns=list(RIVERSIDE_PCNS))
    assert row_of(own, hours).trend[-1] == pytest.approx(numerator) == row_of(pack, hours).trend[-1]
    assert [(r.measure_id, r.latest, r.trend) for r in own.summary] == [
        (r.measure_id, r.latest, r.trend) for r in pack.summary]


# --- the renderings -------------------------------------------------------------------------------------------


def test_pptx_has_the_neighbourhood_on_its_cover_and_a_chart_for_the_exception(files):
    deck = Presentation(io.BytesIO(files["pptx"]))
    titles = [slide.shapes.title.text for slide in deck.slides]
    assert titles[0] == "Board pack: Riverside neighbourhood"
    cover_text = " ".join(shape.text_frame.text for shape in deck.slides[0].shapes if shape.has_text_frame)
    assert f"Neighbourhood: Riverside ({RIVERSIDE})" in cover_text and "Riverside neighbourhood: 3 PCNs" in cover_text
    chart_slide = deck.slides[titles.index(next(t for t in titles if "Care plans shared" in t))]
    assert any(shape.shape_type == 13 for shape in chart_slide.shapes)  # a picture: the SPC chart
    assert not any(t.startswith((boardpack.PRACTICES, boardpack.MONEY, boardpack.DATA_PAGE)) for t in titles)


def test_docx_has_the_neighbourhood_on_its_cover(files):
    paragraphs = [p.text for p in Document(io.BytesIO(files["docx"])).paragraphs]
    assert paragraphs[0] == "Board pack: Riverside neighbourhood"
    assert f"Neighbourhood: Riverside ({RIVERSIDE})" in paragraphs
    assert not any(p.startswith((boardpack.PRACTICES, boardpack.MONEY, boardpack.DATA_PAGE)) for p in paragraphs)


def test_pdf_has_the_neighbourhood_on_its_cover(files):
    reader = PdfReader(io.BytesIO(files["pdf"]))
    cover = reader.pages[0].extract_text()
    assert "Board pack: Riverside neighbourhood" in cover and "Riverside neighbourhood: 3 PCNs" in cover
    assert reader.metadata.title == "Board pack: Riverside neighbourhood"


# --- the command line -----------------------------------------------------------------------------------------


@pytest.fixture
def db_copy(store, tmp_path, monkeypatch):
    """A copy of the module's demo (the command logs each pack written in the store), with no access file."""
    path = tmp_path / "cli.duckdb"
    shutil.copy(store.path, path)
    monkeypatch.delenv("PCN_ACCESS", raising=False)
    monkeypatch.delenv("PCN_USER", raising=False)
    return Store(path)


def test_the_command_writes_a_neighbourhood_pack_and_logs_it(db_copy, tmp_path, capsys):
    out = tmp_path / "riverside.pdf"
    assert main(["board-pack", "--neighbourhood", RIVERSIDE, "--period", "2026-06", "--db", str(db_copy.path),
                 "--out", str(out)]) == 0
    assert "Board pack: Riverside neighbourhood" in PdfReader(out).pages[0].extract_text()
    err = capsys.readouterr().err
    assert err.startswith(f"Wrote {out}: board pack for Riverside neighbourhood ({RIVERSIDE}), data to June 2026; ")
    logged = access.access_log(db_copy, action="export")[["target", "detail"]]
    assert logged.values.tolist() == [["riverside.pdf", f"neighbourhood={RIVERSIDE}"]]


def test_the_command_refuses_an_unknown_neighbourhood_by_name_and_writes_nothing(db_copy, tmp_path, capsys):
    out = tmp_path / "nowhere.docx"
    assert main(["board-pack", "--neighbourhood", "QZZ-NOWHERE", "--db", str(db_copy.path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no neighbourhood with code 'QZZ-NOWHERE'; the neighbourhoods are ")
    assert not out.exists()


def test_the_command_refuses_an_outsider_and_names_who_may(db_copy, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PCN_ACCESS", str(EXAMPLE))
    out = tmp_path / "riverside.pptx"
    code = main(["board-pack", "--neighbourhood", BRACKENBY, "--db", str(db_copy.path), "--out", str(out),
                 "--as", "viewer@example.nhs.uk"])  # a viewer of UZ0001 only
    assert code == REFUSED and not out.exists()
    assert f"may not read {BRACKENBY}'s board pack" in capsys.readouterr().err
    refused = access.access_log(db_copy, action="refused")
    assert refused["target"].tolist() == [f"board pack {BRACKENBY}"]


@pytest.mark.parametrize("args, words", [
    (["--pcn", "UZ0001", "--neighbourhood", RIVERSIDE], "not allowed with argument"),
    ([], "one of the arguments --pcn --neighbourhood is required"),
])
def test_the_command_takes_a_pcn_or_a_neighbourhood(tmp_path, capsys, args, words):
    with pytest.raises(SystemExit) as stopped:
        main(["board-pack", *args, "--out", str(tmp_path / "pack.pdf")])
    assert stopped.value.code == 2 and words in capsys.readouterr().err


# --- the sidebar ----------------------------------------------------------------------------------------------


def _sidebars():
    from measures import ui

    ui.board_pack_sidebar({"pcn": "UZ0001", "pcn_name": "Riverside PCN"})
    ui.neighbourhood_pack_sidebar("QZZ-RIVERSIDE", "Riverside")


def run_sidebars(email=None) -> AppTest:
    at = AppTest.from_function(_sidebars, default_timeout=60)
    if email is not None:
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, "email": email, "name": "Someone"}
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_sidebar_offers_the_neighbourhood_pack_beside_the_pcn_pack(store, monkeypatch):
    monkeypatch.setenv("PCN_DB", str(store.path))
    at = run_sidebars()
    assert [e.label for e in at.sidebar.expander] == ["Board pack", "Board pack: Riverside"]
    keys = {w.key for w in [*at.sidebar.radio, *at.sidebar.selectbox]}
    assert keys == {"board_pack_format", "board_pack_period", "neighbourhood_pack_format", "neighbourhood_pack_period"}
    periods = at.sidebar.selectbox(key="neighbourhood_pack_period")
    assert periods.options[0] == "Sep 2026" and periods.options[-1] == "Apr 2025"  # since the neighbourhood began
    assert {b.key for b in at.get("download_button")} >= {"neighbourhood_pack_download", "board_pack_download"}


def test_the_sidebar_tells_an_outsider_who_may_download_the_pack(store, monkeypatch):
    monkeypatch.setenv("PCN_DB", str(store.path))
    monkeypatch.setenv("PCN_ACCESS", str(EXAMPLE))
    at = run_sidebars("stranger@example.nhs.uk")
    assert ("Board packs of Riverside are for the viewers and editors of its PCNs (UZ0001, UZ0002, UZ0003), "
            "analysts of its ICB and administrators.") in texts(at.sidebar.markdown)
    assert not at.sidebar.radio


def test_the_cached_pack_is_shared_by_its_readers_and_checked_on_every_use(store):
    from measures.ui import downloads

    version = store.data_version()
    mine = downloads._board_pack(str(store.path), version, RIVERSIDE, SEPT, VIEWER, True)
    assert downloads._board_pack(str(store.path), version, RIVERSIDE, SEPT, ANALYST, True) is mine
    with pytest.raises(access.AccessDenied):
        downloads._board_pack(str(store.path), version, RIVERSIDE, SEPT, OUTSIDER, True)
