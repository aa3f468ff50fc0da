"""Two people saving values for the same PCN and period at the same moment: neither save is lost."""

import json
import shutil
import subprocess
import sys
import textwrap
import threading
from datetime import date

import pytest

from measures import local
from measures.store import Store
from tests.conftest import ROOT

TODAY = date(2026, 10, 15)
SEPT = date(2026, 9, 1)
HOURS = "ps_arrs_hours_per_1000_weighted"
REVIEWS = "int_mdt_case_reviews"

SAVER = textwrap.dedent("""
    import json, sys, time
    from datetime import date
    from pathlib import Path
    from measures import local
    from measures.store import Store

    db, actor, go, rows = sys.argv[1], sys.argv[2], Path(sys.argv[3]), json.loads(sys.argv[4])
    store = Store(db)
    batch = local.validate_rows(store, [(i + 2, row) for i, row in enumerate(rows)], actor + ".csv",
                                today=date(2026, 10, 15))
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.0005)
    started = time.time()
    saved = local.save(store, batch, actor)
    print(json.dumps({"started": started, "finished": time.time(), "changed": saved.changed}), flush=True)
""")


@pytest.fixture
def store(demo_db, tmp_path) -> Store:
    path = tmp_path / "shared.duckdb"
    shutil.copy(demo_db, path)
    return Store(path)



def since_the_demo(history):
    """A value's history after the demo recorded it (the demo records every value it holds, as "demo")."""
    return history[history["changed_by"] != "demo"].reset_index(drop=True)

def practices(store, pcn):
    return store.query("SELECT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn' "
                       "AND start_date <= ? AND (end_date IS NULL OR end_date >= ?) ORDER BY 1",
                       [pcn, SEPT, SEPT])["child_code"].tolist()


def test_two_processes_saving_the_same_pcn_and_period_at_once_both_keep_their_changes(store, tmp_path):
    first, second = practices(store, "UZ0005")[:2]
    held = store.query("SELECT numerator FROM observations WHERE measure_id = ? AND org_code = 'UZ0005' "
                       "AND period_start = ?", [REVIEWS, SEPT])["numerator"].sum()
    sam, jo = held + 100, held + 200  # both differ from the value held, so each save changes it
    go = tmp_path / "go"
    saves = {
        "Sam": [{"measure_id": HOURS, "period_start": "2026-09-01", "org_code": first, "numerator": 111,
                 "denominator": 10000},
                {"measure_id": REVIEWS, "period_start": "2026-09-01", "org_code": "UZ0005", "numerator": sam}],
        "Jo": [{"measure_id": HOURS, "period_start": "2026-09-01", "org_code": second, "numerator": 222,
                "denominator": 10000},
               {"measure_id": REVIEWS, "period_start": "2026-09-01", "org_code": "UZ0005", "numerator": jo}],
    }
    processes = {actor: subprocess.Popen([sys.executable, "-c", SAVER, str(store.path), actor, str(go), json.dumps(rows)],
                                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for actor, rows in saves.items()}
    for process in processes.values():
        assert process.stdout.readline().strip() == "ready"
    go.touch()  # both save from now on, at the same moment
    reads = 0
    while any(p.poll() is None for p in processes.values()):
        store.query("SELECT count(*) FROM observations")  # readers keep working while the saves run
        reads += 1
    results = {}
    for actor, process in processes.items():
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        results[actor] = json.loads(out.strip().splitlines()[-1])
    assert abs(results["Sam"]["started"] - results["Jo"]["started"]) < 0.05  # they really did collide
    assert [results[actor]["changed"] for actor in ("Sam", "Jo")] == [2, 2]
    assert reads > 0

    hours = store.query("SELECT org_code, numerator FROM recorded_values WHERE measure_id = ? AND period_start = ? "
                        "ORDER BY org_code", [HOURS, SEPT])
    assert {first: 111.0, second: 222.0}.items() <= dict(hours.values.tolist()).items()
    pcn = store.query("SELECT numerator, basis FROM observations WHERE measure_id = ? AND org_code = 'UZ0005' "
                      "AND period_start = ?", [HOURS, SEPT]).iloc[0]
    others = store.query("SELECT sum(numerator) AS n FROM observations WHERE measure_id = ? AND period_start = ? "
                         "AND org_code IN (SELECT unnest(?))", [HOURS, SEPT, practices(store, "UZ0005")[2:]])["n"]
    assert pcn["basis"] == "sum_of_practices"
    assert pcn["numerator"] == 111 + 222 + (others.fillna(0).iloc[0])  # the PCN sum includes both saves

    # Both changes to the one shared value are in the log, the later one starting from the earlier one's value.
    history = since_the_demo(local.value_history(store, REVIEWS, "UZ0005", SEPT))
    assert sorted(history["changed_by"]) == ["Jo", "Sam"]
    assert history["old_numerator"].iloc[0] == held
    assert history["old_numerator"].iloc[1] == history["new_numerator"].iloc[0]
    final = store.query("SELECT numerator FROM recorded_values WHERE measure_id = ? AND org_code = 'UZ0005' "
                        "AND period_start = ?", [REVIEWS, SEPT])["numerator"].tolist()
    assert final == [history["new_numerator"].iloc[1]]
    assert len(store.query("SELECT * FROM value_audit WHERE changed_by IN ('Sam', 'Jo')")) == 4


def test_two_command_line_imports_started_together_both_land(store, tmp_path):
    files = {}
    for actor, value in (("Sam", 505), ("Jo", 508)):  # not a value the demo holds
        files[actor] = tmp_path / f"{actor}.csv"
        files[actor].write_text("measure_id,period_start,org_code,numerator,denominator\n"
                                f"{REVIEWS},2026-09-01,UZ0006,{value},\n")
    processes = [subprocess.Popen([sys.executable, "-m", "measures", "record", str(file), "--db", str(store.path),
                                   "--actor", actor], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for actor, file in files.items()]
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    history = since_the_demo(local.value_history(store, REVIEWS, "UZ0006", SEPT))
    assert sorted(history["changed_by"]) == ["Jo", "Sam"]
    assert sorted(history["source"]) == ["Jo.csv", "Sam.csv"]


@pytest.mark.parametrize("held", ["a value is held", "nothing is held yet"])
def test_two_sessions_of_one_app_process_saving_the_same_value_both_land(store, held):
    """Inside one process DuckDB refuses the later of two conflicting transactions; the save retries it."""
    measure = REVIEWS
    if held == "nothing is held yet":
        measure = "int_huddles"
        local.define_measure(store, local.measure_from_form({
            "id": measure, "name": "Neighbourhood huddles", "description": "Huddles held with community teams.",
            "family": "local_integration", "level": "pcn", "type": "count", "numerator": "Huddles held",
            "unit": "huddles", "improvement_direction": "increase", "scope": "QZZ"}), "Sam")
    barrier = threading.Barrier(2)
    errors = []

    def save(actor, value):
        rows = [(2, {"measure_id": measure, "period_start": "2026-09-01", "org_code": "UZ0007", "numerator": value})]
        batch = local.validate_rows(store, rows, f"{actor}.csv", today=TODAY)
        barrier.wait()
        try:
            local.save(store, batch, actor)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(actor, value)) for actor, value in (("Sam", 503), ("Jo", 504))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    history = since_the_demo(local.value_history(store, measure, "UZ0007", SEPT))
    assert sorted(history["changed_by"]) == ["Jo", "Sam"]
    assert history["old_numerator"].iloc[1] == history["new_numerator"].iloc[0]
    assert history["action"].iloc[1] == "corrected"
