"""What a new session's first run keeps instead of asking again: pack periods and change points per data version;
each still follows a change."""

import shutil
from datetime import date


from measures import access, annotations, boardpack, queries
from measures.store import Store
from measures.ui import downloads


def test_a_pcn_s_pack_periods_are_read_once_per_data_version_and_a_new_month_shows(demo_db, tmp_path, monkeypatch):
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, path)
    store = Store(path)
    reads = []
    one = boardpack.available_periods
    monkeypatch.setattr(boardpack, "available_periods", lambda s, code: reads.append(code) or one(s, code))
    downloads._PACK_PERIODS.clear()
    codes = [str(code) for code in queries.pcns(store)["pcn"]]
    for _ in range(2):
        for code in codes:
            assert downloads._pack_periods(store, code) == one(store, code)
    assert reads == codes  # each PCN's own months, read once: never every PCN's for one board
    first = codes[0]
    latest = one(store, first)[0]
    with store.writer() as con:  # a month after every other, for one PCN: a write publishes a new version
        con.execute("INSERT INTO observations SELECT * REPLACE (DATE '2031-01-01' AS period_start) FROM observations "
                    "WHERE org_code = ? AND org_level = 'pcn' AND period_start = ? LIMIT 1", [first, latest])
    assert downloads._pack_periods(store, first)[:2] == [date(2031, 1, 1), latest]
    assert downloads._pack_periods(store, codes[1]) == one(store, codes[1])
    assert reads == codes + [first, codes[1]]


class Counted(Store):
    """A store that counts its reads of the catalogue of tables."""

    asked = 0

    def query(self, sql, params=None):
        if "information_schema" in sql:
            Counted.asked += 1
        return super().query(sql, params)


def test_whether_change_points_exist_is_asked_once_per_data_version_and_a_new_one_is_seen(demo_db, tmp_path):
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, path)
    store = Counted(path)
    pcn = str(queries.pcns(store)["pcn"].iloc[0])
    Counted.asked = 0
    for _ in range(3):
        assert "face_to_face_pct" not in annotations.rebase_dates_by_measure(store, pcn)
        assert annotations.rebase_dates(store, "face_to_face_pct", pcn) == []
    assert Counted.asked == 1
    annotations.add_rebase(store, "face_to_face_pct", pcn, date(2024, 12, 1), "Online triage went live", access.OPEN)
    assert annotations.rebase_dates_by_measure(store, pcn)["face_to_face_pct"] == [date(2024, 12, 1)]
    assert annotations.rebase_dates(store, "face_to_face_pct", pcn) == [date(2024, 12, 1)]
    assert Counted.asked == 2
