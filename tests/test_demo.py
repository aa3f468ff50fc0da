"""The synthetic demo: deterministic, clearly fictional, and every family filled."""

import pandas as pd

from measures.catalogue import default_catalogue
from measures.demo import IIF_ACC_08, SPECS, build_demo
from measures.store import Store


def test_demo_has_one_icb_three_places_twelve_pcns_sixty_practices(demo_db):
    orgs = Store(demo_db).query("SELECT org_level, count(*) AS n FROM organisations GROUP BY 1")
    counts = dict(zip(orgs["org_level"], orgs["n"]))
    assert counts == {"region": 1, "icb": 1, "sub_icb": 3, "pcn": 12, "practice": 60}


def test_demo_codes_are_shaped_like_real_ones_but_cannot_be_real(demo_db):
    orgs = Store(demo_db).query("SELECT org_code, org_level FROM organisations")
    practices = orgs[orgs.org_level == "practice"].org_code
    pcns = orgs[orgs.org_level == "pcn"].org_code
    # Real practice codes start with A–Y; real PCN codes are U and five digits.
    assert practices.str.fullmatch(r"Z\d{5}").all()
    assert pcns.str.fullmatch(r"UZ\d{4}").all()


def test_every_catalogue_measure_has_36_months_for_pcns(demo_db):
    months = Store(demo_db).query(
        "SELECT measure_id, count(DISTINCT period_start) AS months FROM observations WHERE org_level = 'pcn' GROUP BY 1"
    )
    expected = {m.id for m in default_catalogue() if m.id in SPECS} | {IIF_ACC_08}
    assert set(months["measure_id"]) == expected
    monthly = months[months["measure_id"] != IIF_ACC_08]
    assert (monthly["months"] == 36).all()
    assert months.set_index("measure_id").loc[IIF_ACC_08, "months"] == 1  # the IIF's one year of ACC-08, 2023/24
    families = {default_catalogue().get(m).family for m in months["measure_id"]}
    assert families == {"national_des", "local_integration", "practice_support"}


def test_some_local_submissions_are_missing_as_in_real_life(demo_db):
    rows = Store(demo_db).query(
        "SELECT measure_id, count(*) AS n FROM observations WHERE org_level = 'pcn' AND measure_id LIKE 'int_%' GROUP BY 1"
    )
    assert (rows["n"] < 12 * 36).any()


def test_a_practice_moves_pcn_and_its_pcn_sums_follow_the_dated_membership(demo_db):
    store = Store(demo_db)
    moves = store.query("SELECT child_code, parent_code, start_date, end_date FROM memberships "
                        "WHERE parent_level = 'pcn' AND child_code IN (SELECT child_code FROM memberships "
                        "WHERE parent_level = 'pcn' GROUP BY 1 HAVING count(*) > 1) ORDER BY start_date")
    assert len(moves) == 2
    old, new = moves.iloc[0], moves.iloc[1]
    moved_on = pd.Timestamp(new["start_date"]).date()
    sums = store.query(
        """
        SELECT o.org_code, sum(p.numerator) AS practices, max(o.numerator) AS pcn
        FROM observations o
        JOIN memberships m ON m.parent_code = o.org_code AND m.parent_level = 'pcn'
             AND m.start_date <= o.period_start AND (m.end_date IS NULL OR m.end_date >= o.period_start)
        JOIN observations p ON p.org_code = m.child_code AND p.measure_id = o.measure_id AND p.period_start = o.period_start
        WHERE o.measure_id = 'registered_patients' AND o.period_start = ? AND o.org_code IN (?, ?)
        GROUP BY 1
        """, [moved_on, old["parent_code"], new["parent_code"]])
    assert len(sums) == 2
    assert (sums["practices"] == sums["pcn"]).all()


def test_the_same_seed_builds_the_same_data_and_another_seed_does_not(tmp_path):
    def digest(path):
        return Store(path).query(
            "SELECT count(*) AS n, sum(numerator) AS num, sum(value) AS v FROM observations").iloc[0].tolist()

    build_demo(tmp_path / "a.duckdb", seed=7, precompute_boards=False)
    build_demo(tmp_path / "b.duckdb", seed=7, precompute_boards=False)
    build_demo(tmp_path / "c.duckdb", seed=8, precompute_boards=False)
    assert digest(tmp_path / "a.duckdb") == digest(tmp_path / "b.duckdb")
    assert digest(tmp_path / "a.duckdb") != digest(tmp_path / "c.duckdb")


def test_demo_values_are_realistic(demo_db):
    latest = Store(demo_db).query(
        "SELECT measure_id, avg(value) AS v FROM observations WHERE org_level = 'pcn' "
        "AND period_start = (SELECT max(period_start) FROM observations) GROUP BY 1")
    v = dict(zip(latest["measure_id"], latest["v"]))
    assert 70 < v["acc_08_monthly"] < 98
    assert 1 < v["dna_rate"] < 10
    assert 300 < v["appointments_per_1000"] < 700
    assert 15000 < v["registered_patients"] < 90000
    assert 0.95 < v["ps_arrs_fair_share_ratio"] < 1.05  # a PCN's practices share exactly the PCN's hours


def test_the_database_says_it_holds_synthetic_data(demo_db):
    meta = dict(Store(demo_db).query("SELECT key, value FROM meta").values.tolist())
    assert meta["dataset"] == "synthetic"
    assert "Synthetic" in meta["dataset_label"]
