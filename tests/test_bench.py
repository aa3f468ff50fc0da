"""The benchmarks' own instruments: the floor's query capture and replay, and the websocket client of the sessions."""

import html
import shutil

import duckdb
import pandas as pd
import pytest

from bench import concurrency, floors
from measures import queries
from measures.catalogue import default_catalogue
from measures.store import Store


def test_the_floor_replays_every_query_a_read_made_and_fetches_the_same_rows(demo_db):
    store = Store(demo_db)
    pcn = queries.pcns(store)["pcn"].iloc[0]
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
