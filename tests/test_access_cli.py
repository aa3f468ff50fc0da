"""Who sees what on the command line: `--as` / PCN_USER through the access file, refusals, the access log."""

import csv
import io
import shutil
from datetime import date

import pytest
from docx import Document

from measures import access, cli, local, queries
from measures.store import Store
from tests.conftest import ROOT

EXAMPLE = ROOT / "data" / "access.example.yaml"
REVIEWS = "int_mdt_case_reviews"  # PCN level, a locally recorded count
NATIONAL = "acc_08_monthly"
SEPT = date(2026, 9, 1)
VIEWER, EDITOR, ANALYST, ADMIN = (f"{role}@example.nhs.uk" for role in ("viewer", "editor", "analyst", "admin"))


@pytest.fixture
def store(demo_db, tmp_path, monkeypatch) -> Store:
    path = tmp_path / "cli.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("PCN_ACCESS", str(EXAMPLE))
    monkeypatch.delenv("PCN_USER", raising=False)
    return Store(path)


def run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def log(store, action):
    return access.access_log(store, action=action)[["actor", "target", "detail", "via"]].iloc[::-1]


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_a_viewer_reads_their_own_pcns_local_series_in_full(store, capsys):
    code, out, err = run(capsys, "series", "--measure", REVIEWS, "--org", "UZ0001", "--db", str(store.path),
                         "--as", VIEWER)
    assert code == 0 and "refused" not in err
    assert len(rows(out)) == len(queries.series(store, REVIEWS, "UZ0001")) > 12


def test_another_pcns_unpublished_local_series_is_refused_and_logged(store, capsys):
    code, out, err = run(capsys, "series", "--measure", REVIEWS, "--org", "UZ0002", "--db", str(store.path),
                         "--as", VIEWER)
    assert code == cli.REFUSED and out == ""
    assert err.startswith(f"refused: {VIEWER} may not read") and "UZ0002's local values" in err
    assert "analysts of QZZ" in err and "Your access: Viewer of UZ0001" in err
    refused = log(store, "refused")
    assert refused[["actor", "via"]].values.tolist() == [[VIEWER, "cli"]]


def test_only_the_published_periods_of_another_pcn_are_printed(store, capsys):
    local.publish_period(store, access.principal_for(ADMIN, access.load_access()), "UZ0002", SEPT, via="cli")
    code, out, err = run(capsys, "series", "--measure", REVIEWS, "--org", "UZ0002", "--db", str(store.path),
                         "--as", VIEWER)
    assert code == 0
    assert [row["period_start"] for row in rows(out)] == ["2026-09-01"]
    assert "refused:" in err and "The 1 published periods are printed" in err


def test_national_series_are_read_by_anyone_signed_or_not(store, capsys):
    code, out, _ = run(capsys, "series", "--measure", NATIONAL, "--org", "UZ0002", "--db", str(store.path))
    assert code == 0 and len(rows(out)) >= 2


def test_without_an_identity_the_refusal_says_how_to_give_one(store, capsys):
    code, _, err = run(capsys, "series", "--measure", REVIEWS, "--org", "UZ0002", "--db", str(store.path))
    assert code == cli.REFUSED
    assert "anonymous may not read" in err and "--as EMAIL (or set PCN_USER)" in err


def test_pcn_user_names_the_identity_when_as_is_not_given(store, capsys, monkeypatch):
    monkeypatch.setenv("PCN_USER", ANALYST)
    code, out, _ = run(capsys, "series", "--measure", REVIEWS, "--org", "UZ0002", "--db", str(store.path))
    assert code == 0 and len(rows(out)) > 12


def test_a_board_pack_for_another_pcn_is_refused_and_writes_no_file(store, capsys, tmp_path):
    out_file = tmp_path / "pack.docx"
    code, _, err = run(capsys, "board-pack", "--pcn", "UZ0002", "--out", str(out_file), "--db", str(store.path),
                       "--as", VIEWER)
    assert code == cli.REFUSED and not out_file.exists()
    assert "may not read UZ0002's board pack" in err
    assert log(store, "refused")["target"].tolist() == ["board pack UZ0002"]


def test_a_member_writes_the_board_pack_and_the_export_is_logged(store, capsys, tmp_path):
    out_file = tmp_path / "pack.docx"
    code, _, err = run(capsys, "board-pack", "--pcn", "UZ0001", "--out", str(out_file), "--db", str(store.path),
                       "--as", VIEWER)
    assert code == 0, err
    headings = [p.text for p in Document(out_file).paragraphs if p.style.name.startswith("Heading")]
    assert headings, "the pack was written"
    assert log(store, "export")[["actor", "target", "detail", "via"]].values.tolist() == [
        [VIEWER, "pack.docx", "pcn=UZ0001", "cli"]]


@pytest.mark.parametrize("identity", [EDITOR, ANALYST, None])
def test_imports_and_rebuilding_the_demo_need_an_administrator(store, capsys, tmp_path, identity):
    who = ["--as", identity] if identity else []
    code, out, err = run(capsys, "import", str(tmp_path / "any.csv"), "--db", str(store.path), *who)
    assert code == cli.REFUSED and "may not import published files: only administrators may" in err
    code, _, err = run(capsys, "demo", "--db", str(tmp_path / "other.duckdb"), *who)
    assert code == cli.REFUSED and "may not rebuild the demo database" in err
    assert not (tmp_path / "other.duckdb").exists()


def test_an_administrator_passes_the_access_check_for_imports(store, capsys, tmp_path):
    code, _, err = run(capsys, "import", str(tmp_path / "missing.csv"), "--db", str(store.path), "--as", ADMIN)
    assert code == 2 and "refused" not in err  # past the access check, stopped by the missing file


def test_a_viewer_may_not_record_values_and_nothing_is_saved(store, capsys, tmp_path):
    file = tmp_path / "reviews.csv"
    file.write_text(f"measure_id,period_start,org_code,numerator,denominator\n{REVIEWS},2026-09-01,UZ0001,517,\n")
    before = local.value_history(store, REVIEWS, "UZ0001", SEPT)
    code, _, err = run(capsys, "record", str(file), "--db", str(store.path), "--as", VIEWER)
    assert code == cli.REFUSED and "may not record values for UZ0001" in err
    assert local.value_history(store, REVIEWS, "UZ0001", SEPT).equals(before)


def test_an_editor_records_values_logged_under_their_identity_not_actor(store, capsys, tmp_path):
    file = tmp_path / "reviews.csv"
    file.write_text(f"measure_id,period_start,org_code,numerator,denominator\n{REVIEWS},2026-09-01,UZ0001,517,\n")
    code, _, err = run(capsys, "record", str(file), "--db", str(store.path), "--as", EDITOR,
                       "--actor", "someone else")
    assert code == 0, err
    latest = local.value_history(store, REVIEWS, "UZ0001", SEPT).sort_values("audit_id").iloc[-1]
    assert (latest["changed_by"], latest["new_numerator"]) == (EDITOR, 517)


def test_an_editor_of_one_pcn_may_not_record_for_another(store, capsys, tmp_path):
    file = tmp_path / "reviews.csv"
    file.write_text(f"measure_id,period_start,org_code,numerator,denominator\n"
                    f"{REVIEWS},2026-09-01,UZ0001,517,\n{REVIEWS},2026-09-01,UZ0002,12,\n")
    before = local.value_history(store, REVIEWS, "UZ0001", SEPT)
    code, _, err = run(capsys, "record", str(file), "--db", str(store.path), "--as", EDITOR)
    assert code == cli.REFUSED and "for UZ0002" in err
    assert local.value_history(store, REVIEWS, "UZ0001", SEPT).equals(before), "all or nothing"
