"""Board summaries: stored rows are the rows the board computes live, for every PCN and reader; saves refresh them."""

import shutil
import subprocess
import sys
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from measures import access, annotations, board_summaries, local, queries, suppression
from measures.store import Store, finish_import, start_import
from tests import apptest
from tests.conftest import ROOT

SEPT = date(2026, 9, 1)
REVIEWS = "int_mdt_case_reviews"  # local, PCN level, a count
ADMIN = access.principal_for("admin@example.nhs.uk", access.parse_access(ROOT / "data" / "access.example.yaml"))

# Every PCN of the demo, read both ways in one run of the app's own reads for the signed-in reader.
BOTH_WAYS = """
import streamlit as st
from measures import board_summaries, queries, ui
from measures.ui import reads

found = {}
for code in queries.pcns(ui.store())["pcn"]:
    catalogue = ui.query("local.catalogue_with_local", code)
    rebases = ui.query("annotations.rebase_dates_by_measure", code)
    stored = reads.stored_board_rows(code, catalogue, rebases)
    live = reads.live_board_rows(code, catalogue, rebases)
    found[code] = (None if stored is None else board_summaries.encode(stored), board_summaries.encode(live),
                   stored is not None and all(a.measure is b.measure for a, b in zip(stored, live)),
                   live)
st.session_state["found"] = found
"""


def read_both_ways(email: str | None) -> dict:
    at = AppTest.from_string(BOTH_WAYS, default_timeout=120)
    if email:
        at.secrets["auth"] = apptest.AUTH
        at.user = {"is_logged_in": True, "email": email, "name": "Reader"}
    at.run()
    assert not at.exception, at.exception
    return at.session_state["found"]


@pytest.fixture
def published_db(access_db):
    """The demo with the example access file, one PCN's latest local period published and its summary refreshed."""
    local.publish_period(access_db, ADMIN, "UZ0002", SEPT)
    board_summaries.refresh(access_db, ["UZ0002"])
    return access_db


@pytest.mark.parametrize("email", [None, "viewer@example.nhs.uk", "analyst-elsewhere@example.nhs.uk"])
def test_the_stored_board_of_every_pcn_is_the_board_computed_live_for_every_reader(published_db, email):
    found = read_both_ways(email)
    assert len(found) == 12
    for code, (stored, live, same_measures, _) in found.items():
        assert stored is not None, f"{code} has no usable stored board"
        assert stored == live, f"{code}: the stored rows differ from the rows computed live for {email}"
        assert same_measures
    rows = [row for *_, live_rows in found.values() for row in live_rows]
    # What the comparison covered: suppressed values, data caveats, and (for readers outside) ICB comparators of
    # local measures held back and local rows only where a period is published.
    if email is None:
        assert any(row.latest_suppressed or row.suppressed_points for row in rows)
        assert any(row.caveat for row in rows)
    if email == "analyst-elsewhere@example.nhs.uk":
        assert not any(row.comparator is not None for row in rows if access.is_local_measure(row.measure.id))
        shown = [row for row in found["UZ0002"][3] if row.measure.family != "national_des" and row.has_data]
        assert shown and {row.latest_period for row in shown} == {SEPT}
        assert not any(row.has_data for row in found["UZ0003"][3] if row.measure.family != "national_des")


def stored_rows(store: Store, pcn: str) -> list | None:
    return board_summaries.read(store, pcn, board_summaries.MEMBERS, suppression.threshold(),
                                local.catalogue_with_local(store, pcn), annotations.rebase_dates_by_measure(store, pcn))


def assert_every_stored_board_is_the_live_one(store: Store) -> None:
    """Every PCN has a usable stored board for each audience, and it is the board computed live."""
    for pcn in queries.pcns(store)["pcn"]:
        live, catalogue, rebases = board_summaries.compute_audiences(store, pcn, suppression.threshold())
        for audience in board_summaries.AUDIENCES:
            kept = board_summaries.read(store, pcn, audience, suppression.threshold(), catalogue, rebases)
            assert kept is not None, f"{pcn} has no usable stored board for {audience} after the save"
            assert board_summaries.encode(kept) == board_summaries.encode(live[audience]), (pcn, audience)


def test_a_save_from_the_command_line_keeps_the_stored_boards_current_too(demo_db, tmp_path):
    path = tmp_path / "recorded.duckdb"
    shutil.copy(demo_db, path)
    store = Store(path)
    file = tmp_path / "reviews.csv"
    file.write_text("measure_id,period_start,org_code,numerator,denominator\n"
                    f"{REVIEWS},2026-09-01,UZ0001,97,\n")

    done = subprocess.run([sys.executable, "-m", "measures", "record", str(file), "--db", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)

    assert done.returncode == 0, done.stderr
    refreshed = stored_rows(store, "UZ0001")
    assert refreshed is not None, "the PCN saved for has a current stored board in the copy the save published"
    assert next(row for row in refreshed if row.measure.id == REVIEWS).latest_value == 97
    assert stored_rows(store, "UZ0002") is not None  # a peer of its ICB, its comparator pooled again


def test_a_save_refreshes_the_stored_boards_of_the_pcn_and_of_its_icb(demo_db, tmp_path):
    path = tmp_path / "saved.duckdb"
    shutil.copy(demo_db, path)
    store = Store(path)
    assert stored_rows(store, "UZ0001") is not None and stored_rows(store, "UZ0002") is not None
    before = {pcn: stored_rows(store, pcn) for pcn in queries.pcns(store)["pcn"]}
    rows = [(2, {"measure_id": REVIEWS, "period_start": "2026-09-01", "org_code": "UZ0001", "numerator": 97})]
    local.save(store, local.validate_rows(store, rows, "reviews.csv", today=date(2026, 10, 15)), "Sam")
    refreshed = stored_rows(store, "UZ0001")
    assert refreshed is not None, "the PCN saved for has a stored board again, in the copy the save published"
    live = board_summaries.compute(store, "UZ0001", board_summaries.MEMBERS, suppression.threshold())
    assert board_summaries.encode(refreshed) == board_summaries.encode(live)
    assert next(row for row in refreshed if row.measure.id == REVIEWS).latest_value == 97
    # Every other PCN of the ICB: its comparator pools the saved value, so its rows are brought up to date too.
    assert_every_stored_board_is_the_live_one(store)
    moved = 0
    for pcn in queries.pcns(store)["pcn"]:
        kept = stored_rows(store, pcn)
        mine = next(row for row in kept if row.measure.id == REVIEWS)
        moved += mine.comparator != next(row for row in before[pcn] if row.measure.id == REVIEWS).comparator
    assert moved == 12  # every PCN's ICB value of the measure moved with the saved value


def test_a_save_computes_again_only_the_rows_of_what_it_wrote_and_every_board_stays_the_live_one(demo_db, tmp_path,
                                                                                               monkeypatch):
    path = tmp_path / "saved.duckdb"
    shutil.copy(demo_db, path)
    store = Store(path)
    practice = store.query("SELECT child_code FROM memberships WHERE parent_code = 'UZ0001' AND parent_level = 'pcn' "
                           "AND end_date IS NULL ORDER BY child_code LIMIT 1")["child_code"].iloc[0]
    whole = []
    real = board_summaries.refresh_in
    monkeypatch.setattr(board_summaries, "refresh_in", lambda con, path, codes=None, below=None: (
        whole.append(codes), real(con, path, codes, below))[1])
    rows = [(2, {"measure_id": "ps_shared_services_used", "period_start": "2026-09-01", "org_code": practice,
                 "numerator": 7}),  # a practice's value: its PCN's sum is written by the save too
            (3, {"measure_id": REVIEWS, "period_start": "2026-08-01", "org_code": "UZ0001", "numerator": 41})]
    local.save(store, local.validate_rows(store, rows, "both.csv", today=date(2026, 10, 15)), "Sam")
    assert whole == [], "the saved PCN's board was brought up to date row by row, not computed whole"
    assert_every_stored_board_is_the_live_one(store)
    # A board that was out of date before the save (an import it does not know of) is computed whole.
    with store.writer() as con:
        finish_import(con, start_import(con, "publication", publication="test"), rows_read=0)
    rows = [(2, {"measure_id": REVIEWS, "period_start": "2026-09-01", "org_code": "UZ0001", "numerator": 98})]
    local.save(store, local.validate_rows(store, rows, "again.csv", today=date(2026, 10, 15)), "Sam")
    assert whole == [["UZ0001"]]
    assert board_summaries.encode(stored_rows(store, "UZ0001")) == board_summaries.encode(
        board_summaries.compute(store, "UZ0001", board_summaries.MEMBERS, suppression.threshold()))


def test_a_board_nobody_opened_reads_its_summary_and_computes_nothing(app_env, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("computed live")

    from measures.ui import reads

    monkeypatch.setattr(reads, "live_board_rows", refuse)
    monkeypatch.setattr(queries, "overview", refuse)
    at = apptest.open_app(pcn="UZ0007")
    body = next(h.proto.body for h in at.get("html") if 'id="pcn-board"' in h.proto.body)
    assert "measure?measure=acc_08&amp;pcn=UZ0007" in body


def test_a_write_the_summary_does_not_know_of_falls_back_to_the_live_board(demo_db, tmp_path):
    path = tmp_path / "imported.duckdb"
    shutil.copy(demo_db, path)
    store = Store(path)
    with store.writer() as con:  # any import of published data may change every board
        finish_import(con, start_import(con, "publication", publication="test"), rows_read=0)
    assert stored_rows(store, "UZ0001") is None
    board_summaries.refresh(store, ["UZ0001"])
    assert stored_rows(store, "UZ0001") is not None


def test_every_pcn_read_in_one_pass_gets_the_rows_its_own_reads_give(published_db):
    from measures.board_inputs import EveryPcn

    store = published_db
    annotations.add_rebase(store, "face_to_face_pct", "UZ0003", date(2025, 6, 1), "Online triage went live", ADMIN)
    codes = [str(code) for code in queries.pcns(store)["pcn"]]
    everyone = EveryPcn(store, codes)
    held_back = 0
    for below in (suppression.threshold(), 10):
        for code in codes:
            together, catalogue, rebases = board_summaries._audiences(everyone, code, below)
            alone, own_catalogue, own_rebases = board_summaries.compute_audiences(store, code, below)
            assert everyone.basis(code) == board_summaries._basis(store, code)
            assert board_summaries.catalogue_key(catalogue) == board_summaries.catalogue_key(own_catalogue)
            assert rebases == own_rebases
            for audience in board_summaries.AUDIENCES:
                assert board_summaries.encode(together[audience]) == board_summaries.encode(alone[audience]), \
                    (code, audience, below)
            held_back += together[board_summaries.OTHERS] is not together[board_summaries.MEMBERS]
    assert held_back and everyone.rebases("UZ0003") == {"face_to_face_pct": [date(2025, 6, 1)]}
