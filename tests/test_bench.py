"""The benchmarks' own instruments: the floor's query capture and replay, and the websocket client of the sessions."""

import html
import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bench import concurrency, floors
from measures import queries, versioned
from measures.catalogue import default_catalogue
from measures.store import Store


def test_the_floor_replays_every_query_a_read_made_and_fetches_the_same_rows(demo_db):
    store = Store(demo_db)
    pcn = queries.pcns(store)["pcn"].iloc[0]
    versioned.clear_all()  # a cold read: the ICB's pool is not held from an earlier test
    queries.pcn(store, pcn)  # the hierarchy held again, so the reads captured are the overview's own
    with floors.captured() as calls:
        series, _ = queries.overview(store, pcn, default_catalogue())
    executed = [call for call in calls if call.kind == "execute"]
    # The PCN's series, then the ICB's values of its latest periods read through a registered frame.
    assert len(executed) >= 2 and all(call.fetch for call in executed)
    assert [call.kind for call in calls].count("register") == 1
    con = duckdb.connect(str(store.publication() or store.path), read_only=True,
                         config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        fetched = floors.replay(con, calls)
    finally:
        con.close()
    assert len(fetched) == sum(len(call.fetch) for call in executed)
    pd.testing.assert_frame_equal(fetched[0], series)
    with floors.captured() as after:
        pass
    queries.series(store, "dna_rate", pcn)
    assert after == []  # nothing is captured once the block is left


@pytest.mark.browser
def test_the_session_client_gets_a_finished_run_of_each_pcn_from_a_real_server(demo_db, tmp_path):
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, db)
    hierarchy = queries.pcns(Store(db))
    first, second = hierarchy.iloc[0], hierarchy.iloc[1]
    with concurrency.serve(db) as server:
        assert concurrency.rss_mb(server.pid) > 20
        opened, wall = concurrency.open_sessions(server, [first["pcn"], second["pcn"]])
        assert concurrency.cpu_seconds(server.pid) > 0
    assert [run.pcn for run in opened] == [first["pcn"], second["pcn"]]
    headings = [f"<h1>{html.escape(row['pcn_name'])}</h1>".encode() for row in (first, second)]
    for run, own, others in zip(opened, headings, reversed(headings)):
        assert 0 < run.seconds <= wall and run.exceptions == []
        assert own in run.payload and others not in run.payload  # each session drew its own PCN's board


@pytest.mark.browser
def test_sessions_are_dealt_to_two_servers_in_turn_each_run_on_its_own_and_both_are_stopped(demo_db, tmp_path):
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, db)
    hierarchy = queries.pcns(Store(db))
    codes = hierarchy["pcn"].iloc[1:5].tolist()
    many = concurrency.measure_many(db, hierarchy["pcn"].iloc[0], codes, 2)
    assert many["processes"] == 2 and len(many["runs"]) == 4 and all(0 < run <= many["wall"] for run in many["runs"])
    assert [len(times) for times in many["by_server"]] == [2, 2]
    assert all(used > 0 for used in many["cpu"]) and all(mb > 20 for mb in many["mb"])
    with concurrency.serve_many(db, 2) as servers:
        assert len({server.pid for server in servers}) == 2 and len({server.base for server in servers}) == 2
        opened, _ = concurrency.open_sessions(servers, codes)
        pids = [server.pid for server in servers]
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    names = dict(zip(hierarchy["pcn"], hierarchy["pcn_name"]))
    for run, code in zip(opened, codes):
        assert run.pcn == code and f"<h1>{html.escape(names[code])}</h1>".encode() in run.payload


def test_a_server_that_fails_to_start_stops_the_ones_already_started(monkeypatch):
    started, stopped = [], []

    @contextmanager
    def serve(db_path):
        if started:
            raise RuntimeError("port taken")
        started.append(db_path)
        try:
            yield concurrency.Server("http://127.0.0.1:1", 1)
        finally:
            stopped.append(db_path)

    monkeypatch.setattr(concurrency, "serve", serve)
    with pytest.raises(RuntimeError, match="port taken"):
        with concurrency.serve_many("store.duckdb", 2):
            pass
    assert stopped == ["store.duckdb"]


def test_the_two_process_rows_stand_next_to_the_one_process_figures():
    def runs(*seconds):
        return [concurrency.Opened("P", s, 1, 1.0, [], b"") for s in seconds]

    figures = {"sessions": 4, "distinct": 4, "pcns": 4, "first": runs(0.4)[0], "alone": runs(0.1, 0.1, 0.1),
               "cold": runs(1.0, 2.0, 3.0, 4.0), "cold_wall": 4.0, "cold_cpu": 2.0, "warm": runs(1, 1, 1, 1),
               "warm_wall": 1.0, "warm_cpu": 1.0, "idle_mb": 100, "loaded_mb": 200, "after_cold_mb": 250,
               "after_mb": 260, "peak_mb": 300,
               "many": {"processes": 2, "runs": [0.5, 0.6, 0.7, 0.9], "wall": 1.0,
                        "by_server": [[0.5, 0.7], [0.6, 0.9]], "cpu": [0.8, 1.2], "mb": [210.0, 230.0]}}
    rows = {result.name: result for result in concurrency.results(figures)}
    p95 = rows["4 sessions at once on 2 app processes, PCNs not yet viewed: p95"]
    assert p95.value == 0.9 and p95.target == concurrency.TARGET_P95 and "one process: p95 4.00 s" in p95.note
    wall = rows["4 sessions at once on 2 app processes: wall time, first request to last run finished"].note
    assert "CPU 2.0 s in all (0.50 s a session)" in wall and "server 2: 2 sessions, p50 0.60 s, p95 0.90 s" in wall
    assert rows["Memory (RSS) of the 2 app processes after their sessions, in all"].value == 440


def test_the_national_benchmarks_compute_the_board_summaries_only_when_missing_or_out_of_date(demo_db, tmp_path):
    from bench import foundation
    from measures import board_summaries, local, suppression

    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, db)
    store = Store(db)
    with store.writer() as con:
        con.execute("DELETE FROM board_summaries")
    code = queries.pcns(store)["pcn"].iloc[-1]

    def stored():
        return board_summaries.read(store, code, board_summaries.MEMBERS, suppression.threshold(),
                                    local.catalogue_with_local(store, code), {})

    assert stored() is None
    took = foundation.ready_summaries(str(db))
    assert took is not None and took > 0 and stored() is not None
    assert foundation.ready_summaries(str(db)) is None  # current: nothing computed again


def test_a_page_with_no_query_left_for_another_pcn_reports_no_ratio_to_a_floor_of_nothing():
    page = floors.Measured(name="Data page", empty=[1.0], warm=[0.1], floors=[0.5], queries=3, warm_queries=0,
                           new_pcn=[0.11, 0.12], new_pcn_floors=[0.0], new_pcn_queries=0)
    rows = {row.name: row.row() for row in floors.results([page])}
    other = rows["Data page, another PCN of the ICB not yet viewed"]
    assert "×" not in other and "no query left to run" in other
    assert "**2.0×** its floor" in rows["Data page, empty cache"]
