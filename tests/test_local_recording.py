"""Recording values of local measures: templates, uploads, the grid, observations, the audit log, the command line."""

import csv
import io
import shutil
import subprocess
import sys
from datetime import date, datetime

import pandas as pd
import pytest
from openpyxl import load_workbook

from measures import local
from measures.store import Store
from tests.conftest import ROOT

TODAY = date(2026, 10, 15)
SEPT = date(2026, 9, 1)
HOURS = "ps_arrs_hours_per_1000_weighted"  # practice level, a rate with a fair share
REVIEWS = "int_mdt_case_reviews"  # PCN level, a count


@pytest.fixture
def store(demo_db, tmp_path) -> Store:
    path = tmp_path / "local.duckdb"
    shutil.copy(demo_db, path)
    return Store(path)


def practices_of(store, pcn, day):
    return store.query("SELECT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn' "
                       "AND start_date <= ? AND (end_date IS NULL OR end_date >= ?) ORDER BY 1",
                       [pcn, day, day])["child_code"].tolist()


def since_the_demo(history):
    """A value's history after the demo recorded it (the demo records every value it holds, as "demo")."""
    return history[history["changed_by"] != "demo"].reset_index(drop=True)


def observation(store, measure, org, day):
    rows = store.query("SELECT numerator, denominator, value, basis FROM observations "
                       "WHERE measure_id = ? AND org_code = ? AND period_start = ?", [measure, org, day])
    assert len(rows) <= 1, "one observation per measure, organisation and period"
    return None if rows.empty else rows.iloc[0].to_dict()


def csv_bytes(rows, columns=("measure_id", "period_start", "org_code", "numerator", "denominator")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode()


def test_the_template_lists_each_member_practice_for_each_period_with_the_values_held(store):
    periods = [date(2026, 8, 1), SEPT]
    frame = local.template_frame(store, HOURS, "UZ0001", periods)
    assert list(frame.columns) == local.TEMPLATE_COLUMNS
    for day in periods:
        assert sorted(frame[frame["period_start"] == day]["org_code"]) == practices_of(store, "UZ0001", day)
    first = frame.iloc[0]
    held = observation(store, HOURS, first["org_code"], first["period_start"])
    assert (first["numerator"], first["denominator"]) == (held["numerator"], held["denominator"])
    assert (frame["period_end"] == date(2026, 9, 30)).sum() == len(practices_of(store, "UZ0001", SEPT))


def test_the_template_follows_membership_at_each_date_when_a_practice_moves(store):
    moves = store.query("SELECT child_code, parent_code, start_date, end_date FROM memberships WHERE parent_level = "
                        "'pcn' AND child_code IN (SELECT child_code FROM memberships WHERE parent_level = 'pcn' "
                        "GROUP BY 1 HAVING count(*) > 1) ORDER BY start_date").iloc[:2]
    old, new = moves.iloc[0], moves.iloc[1]
    before = pd.Timestamp(old["end_date"]).date().replace(day=1)
    after = pd.Timestamp(new["start_date"]).date()
    frame = local.template_frame(store, HOURS, old["parent_code"], [before, after])
    assert old["child_code"] in frame[frame["period_start"] == before]["org_code"].tolist()
    assert old["child_code"] not in frame[frame["period_start"] == after]["org_code"].tolist()


def test_a_pcn_level_template_has_one_row_per_period_for_the_pcn(store):
    frame = local.template_frame(store, REVIEWS, "UZ0002", local.recent_periods(
        default_measure(store, REVIEWS), 3, today=TODAY))
    assert frame["org_code"].tolist() == ["UZ0002"] * 3
    assert [d.isoformat() for d in frame["period_start"]] == ["2026-07-01", "2026-08-01", "2026-09-01"]


def default_measure(store, measure_id):
    return local.catalogue_with_local(store).get(measure_id)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_downloaded_template_filled_in_and_uploaded_saves_its_values(store, kind):
    measure = default_measure(store, HOURS)
    frame = local.template_frame(store, HOURS, "UZ0001", [SEPT])
    frame.loc[0, "numerator"] = frame.loc[0, "numerator"] + 40
    data = local.template_csv(frame) if kind == "csv" else local.template_xlsx(frame, measure)
    batch = local.parse_upload(store, f"arrs.{kind}", data, pcn_code="UZ0001", today=TODAY)
    changes = local.preview(store, batch)["change"].tolist()
    assert changes.count("correction") == 1 and changes.count("unchanged") == len(frame) - 1
    saved = local.save(store, batch, "PCN manager")
    assert (saved.new, saved.corrected, saved.unchanged) == (0, 1, len(frame) - 1)
    held = observation(store, HOURS, frame.loc[0, "org_code"], SEPT)
    assert held["numerator"] == frame.loc[0, "numerator"] and held["basis"] == "recorded"


def test_the_xlsx_template_has_dates_as_dates_and_the_definition_on_a_second_sheet(store):
    measure = default_measure(store, HOURS)
    data = local.template_xlsx(local.template_frame(store, HOURS, "UZ0001", [SEPT]), measure)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["values", "about"]
    header = [c.value for c in book["values"][1]]
    assert header == local.TEMPLATE_COLUMNS
    assert isinstance(book["values"]["C2"].value, datetime)
    assert measure.numerator.definition in [c.value for c in book["about"]["B"]]


def test_practice_values_update_the_pcn_as_the_sum_of_its_practices_at_that_date(store):
    practices = practices_of(store, "UZ0003", SEPT)
    rows = [(i + 2, {"measure_id": HOURS, "period_start": "2026-09-01", "org_code": code,
                     "numerator": 100 * (i + 1), "denominator": 10000}) for i, code in enumerate(practices)]
    local.save(store, local.validate_rows(store, rows, "hours.csv", today=TODAY), "Sam")
    pcn = observation(store, HOURS, "UZ0003", SEPT)
    assert pcn["basis"] == "sum_of_practices"
    assert pcn["numerator"] == sum(100 * (i + 1) for i in range(len(practices)))
    assert pcn["denominator"] == 10000 * len(practices)
    assert pcn["value"] == pytest.approx(pcn["numerator"] / pcn["denominator"] * 1000)
    for code in practices:
        assert observation(store, HOURS, code, SEPT)["basis"] == "recorded"


def test_a_correction_keeps_the_earlier_value_in_the_history(store):
    def record(value, who, when):
        rows = [(2, {"measure_id": REVIEWS, "period_start": "2026-09-01", "org_code": "UZ0004",
                     "numerator": value, "denominator": None})]
        local.save(store, local.validate_rows(store, rows, f"{who}.csv", today=TODAY), who, at=when)

    loaded = observation(store, REVIEWS, "UZ0004", SEPT)["numerator"]
    record(loaded + 5, "Sam", datetime(2026, 10, 2, 9))
    record(loaded + 7, "Jo", datetime(2026, 10, 9, 9))
    history = since_the_demo(local.value_history(store, REVIEWS, "UZ0004", SEPT))
    assert history["changed_by"].tolist() == ["Sam", "Jo"]
    assert history["old_numerator"].tolist() == [loaded, loaded + 5]
    assert history["old_basis"].tolist() == ["recorded", "recorded"]
    assert history["new_numerator"].tolist() == [loaded + 5, loaded + 7]
    assert history["source"].tolist() == ["Sam.csv", "Jo.csv"]
    assert observation(store, REVIEWS, "UZ0004", SEPT)["numerator"] == loaded + 7
    assert store.query("SELECT numerator FROM recorded_values WHERE org_code = 'UZ0004' AND measure_id = ? "
                       "AND period_start = ?", [REVIEWS, SEPT])["numerator"].tolist() == [loaded + 7]


def test_saving_the_same_values_again_changes_nothing_and_logs_nothing(store):
    rows = [(2, {"measure_id": REVIEWS, "period_start": "2026-09-01", "org_code": "UZ0004", "numerator": 599})]
    batch = local.validate_rows(store, rows, "a.csv", today=TODAY)
    assert local.save(store, batch, "Sam").changed == 1
    again = local.save(store, batch, "Sam")
    assert (again.changed, again.unchanged, again.import_id) == (0, 1, None)
    assert len(since_the_demo(local.value_history(store, REVIEWS, "UZ0004", SEPT))) == 1


def test_the_grid_saves_one_periods_values_through_the_same_checks(store):
    grid = local.grid_frame(store, HOURS, "UZ0004", SEPT)
    edited = grid.copy()
    edited.loc[0, "numerator"] = 777
    batch = local.batch_from_grid(store, HOURS, "UZ0004", SEPT, edited, today=TODAY)
    assert batch.source == local.GRID_SOURCE
    assert local.preview(store, batch)["change"].tolist().count("correction") == 1
    local.save(store, batch, "Jo")
    assert observation(store, HOURS, grid.loc[0, "org_code"], SEPT)["numerator"] == 777
    assert since_the_demo(local.value_history(store, HOURS, grid.loc[0, "org_code"], SEPT))["source"].tolist() == [
        "in-app grid"]


def test_every_save_is_an_import_with_its_source_and_actor(store):
    rows = [(2, {"measure_id": REVIEWS, "period_start": "2026-09-01", "org_code": "UZ0005", "numerator": 604})]
    saved = local.save(store, local.validate_rows(store, rows, "returns.csv", today=TODAY), "Sam")
    row = store.query("SELECT kind, file_name, actor, rows_loaded FROM imports WHERE import_id = ?",
                      [saved.import_id]).iloc[0].tolist()
    assert row == ["recorded", "returns.csv", "Sam", 1]


def test_recent_changes_cover_the_pcn_and_its_practices_newest_first(store):
    practice = practices_of(store, "UZ0006", SEPT)[0]
    for who, org, measure, when in (("Sam", "UZ0006", REVIEWS, datetime(2026, 10, 1)),
                                    ("Jo", practice, HOURS, datetime(2026, 10, 2))):
        rows = [(2, {"measure_id": measure, "period_start": "2026-09-01", "org_code": org, "numerator": 601,
                     "denominator": None if measure == REVIEWS else 5000})]
        local.save(store, local.validate_rows(store, rows, "x.csv", today=TODAY), who, at=when)
    changes = since_the_demo(local.recent_changes(store, "UZ0006"))
    assert changes["changed_by"].tolist()[:2] == ["Jo", "Sam"]


def test_the_demo_ships_a_recorded_history_with_corrections(demo_db):
    store = Store(demo_db)
    corrected = store.query("SELECT * FROM value_audit WHERE action = 'corrected' ORDER BY audit_id")
    assert len(corrected) >= 6 and set(corrected["changed_by"]) == {"demo"}
    first = corrected.iloc[0]
    history = local.value_history(store, first["measure_id"], first["org_code"], first["period_start"])
    assert history["action"].tolist() == ["recorded", "corrected"]  # the month's return, then the correction
    assert history["new_numerator"].iloc[0] == history["old_numerator"].iloc[1]  # the earlier value is kept


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "measures", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_the_command_line_records_a_file_and_series_shows_it(store, tmp_path):
    file = tmp_path / "reviews.csv"
    file.write_bytes(csv_bytes([[REVIEWS, "2026-09-01", "UZ0008", "517", ""]]))
    result = run_cli("record", str(file), "--db", str(store.path), "--actor", "PCN manager")
    assert result.returncode == 0, result.stderr
    assert "1 value saved from reviews.csv by PCN manager" in result.stderr
    series = run_cli("series", "--measure", REVIEWS, "--org", "UZ0008", "--db", str(store.path))
    last = list(csv.DictReader(io.StringIO(series.stdout)))[-1]
    assert (last["period_start"], float(last["value"])) == ("2026-09-01", 517.0)
    assert since_the_demo(local.value_history(store, REVIEWS, "UZ0008", SEPT))["changed_by"].tolist() == [
        "PCN manager"]


def test_the_command_line_dry_run_checks_without_saving(store, tmp_path):
    file = tmp_path / "reviews.csv"
    file.write_bytes(csv_bytes([[REVIEWS, "2026-09-01", "UZ0008", "517", ""]]))
    result = run_cli("record", str(file), "--db", str(store.path), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "is valid: 0 new, 1 corrected" in result.stderr and "nothing saved" in result.stderr
    assert since_the_demo(local.value_history(store, REVIEWS, "UZ0008", SEPT)).empty


def test_the_command_line_lists_every_problem_and_saves_nothing(store, tmp_path):
    file = tmp_path / "bad.csv"
    file.write_bytes(csv_bytes([[REVIEWS, "2026-09-01", "UZ0008", "517", ""],
                                [REVIEWS, "2026-09-01", "UZ9999", "abc", ""]]))
    result = run_cli("record", str(file), "--db", str(store.path), "--actor", "practice manager")
    assert result.returncode == 2
    assert "nothing was saved: 2 problems in bad.csv" in result.stderr
    assert "bad.csv, row 3, column org_code: 'UZ9999' is not a known organisation code" in result.stderr
    assert "bad.csv, row 3, column numerator: 'abc' is not a number" in result.stderr
    assert since_the_demo(local.value_history(store, REVIEWS, "UZ0008", SEPT)).empty
