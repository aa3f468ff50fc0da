"""Saving many periods at once, as a database being built does, writes what saving each in turn would."""

import shutil
from datetime import date, datetime

import pandas as pd
import pytest

from measures import local
from measures.store import Store

HOURS = "ps_arrs_hours_per_1000_weighted"
RATIO = "ps_arrs_fair_share_ratio"  # derived from the hours
TODAY = date(2026, 10, 15)
MONTHS = (date(2026, 8, 1), date(2026, 9, 1))


def without_hours(demo_db, tmp_path, name) -> Store:
    """A copy of the demo holding no ARRS hours and no ratio, as a database being built."""
    path = tmp_path / name
    shutil.copy(demo_db, path)
    store = Store(path)
    with store.writer() as con:
        for table in ("observations", "recorded_values"):
            con.execute(f"DELETE FROM {table} WHERE measure_id IN (?, ?)", [HOURS, RATIO])
    return store


def monthly_returns(store) -> list:
    """Two months of hours for UZ0004's practices, each month's return checked as an upload would be."""
    batches = []
    for month in MONTHS:
        practices = store.query("SELECT child_code FROM memberships WHERE parent_code = 'UZ0004' AND "
                                "parent_level = 'pcn' AND start_date <= ? AND (end_date IS NULL OR end_date >= ?) "
                                "ORDER BY 1", [month, month])["child_code"]
        rows = [(i + 2, {"measure_id": HOURS, "period_start": month, "org_code": code,
                         "numerator": 100 + 7 * i + month.month, "denominator": 5000 + 13 * i})
                for i, code in enumerate(practices)]
        batches.append((local.validate_rows(store, rows, f"returns {month:%Y-%m}.csv", today=TODAY),
                        datetime(month.year, month.month + 1, 6, 9, 15)))
    return batches


def written(store):
    """What the saves wrote: the imports they made, current values, the audit log and the observations."""
    return [store.query(sql) for sql in (
        "SELECT import_id, kind, file_name, actor, rows_read, rows_loaded, note FROM imports "
        "WHERE kind = 'recorded' ORDER BY import_id",
        "SELECT * FROM recorded_values ORDER BY ALL",
        "SELECT * FROM value_audit ORDER BY audit_id",
        f"SELECT * FROM observations WHERE measure_id IN ('{HOURS}', '{RATIO}') ORDER BY ALL")]


def test_saving_the_months_at_once_writes_what_saving_each_in_turn_writes(demo_db, tmp_path):
    one_by_one, at_once = (without_hours(demo_db, tmp_path, name) for name in ("a.duckdb", "b.duckdb"))
    with one_by_one.writer() as con:
        each = [local.save_in(con, batch, "Sam", at=when) for batch, when in monthly_returns(one_by_one)]
    with at_once.writer() as con:
        together = local.save_new_in(con, monthly_returns(at_once), "Sam")
    assert [s.new for s in together] == [s.new for s in each] and sum(s.new for s in each) > 4
    assert sum(s.derived for s in together) == sum(s.derived for s in each) > 0
    for mine, theirs in zip(written(at_once), written(one_by_one), strict=True):
        assert not theirs.empty
        pd.testing.assert_frame_equal(mine, theirs)


def test_saving_at_once_refuses_values_of_a_measure_already_held(demo_db, tmp_path):
    store = without_hours(demo_db, tmp_path, "c.duckdb")
    batches = monthly_returns(store)
    local.save(store, batches[0][0], "Sam")
    with pytest.raises(ValueError, match="held already"):
        with store.writer() as con:
            local.save_new_in(con, batches[1:], "Sam")
