"""An import reads the store, parses the file and writes it through one in-memory DuckDB, still cut off from files."""

import io

import duckdb
import pytest

from measures.importers import import_publications
from measures.importers.common import memory_connection, read_csv_table
from measures.importers.sources import resolve
from measures.store import Store
from tests.conftest import SAMPLES

APPOINTMENTS = SAMPLES / "appointments_practice_level_72Q_Oct2025.csv"
PREREQUISITES = ["gp-reg-pat-prac-map.csv", "gp-reg-pat-prac-all.csv"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("one_instance") / "pcn.duckdb")
    outcome = import_publications([SAMPLES / f for f in PREREQUISITES], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    return store


@pytest.fixture
def counted_instances(monkeypatch):
    """Every DuckDB instance opened, in memory or on a file, by what it was opened on."""
    opened, connect = [], duckdb.connect

    def counting(database=":memory:", *args, **kwargs):
        opened.append(str(database))
        return connect(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting)
    return opened


def test_the_appointments_import_opens_one_duckdb_for_its_read_parse_and_write(prepared, counted_instances):
    outcome = import_publications([APPOINTMENTS], prepared, progress=io.StringIO())

    assert outcome.ok, outcome.text()
    assert outcome.reports[0].status == "imported"
    assert counted_instances == [":memory:"]  # no instance of its own for the store's read, nor for the write
    stored = prepared.query("SELECT count(*) AS n FROM observations WHERE measure_id = 'dna_rate'")["n"].iloc[0]
    assert stored > 180  # written, and published for readers


def test_an_import_of_a_file_already_imported_reads_through_the_same_instance(prepared, counted_instances):
    import_publications([APPOINTMENTS], prepared, progress=io.StringIO())
    counted_instances.clear()

    outcome = import_publications([APPOINTMENTS], prepared, progress=io.StringIO())

    assert outcome.reports[0].status == "already imported"
    assert counted_instances == [":memory:"]


def test_a_parsed_file_leaves_the_connection_cut_off_from_every_file_but_the_store(prepared, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    source = resolve(str(SAMPLES / "gp-reg-pat-prac-map.csv"), tmp_path).sources[0]
    con = memory_connection(prepared)
    try:
        read_csv_table(con, source)  # as every parse does: once read, the connection loses access to files

        with pytest.raises(duckdb.PermissionException):
            con.execute("SELECT * FROM read_csv(?)", [str(other)]).fetchall()
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            con.execute("SET allowed_directories = ['/']")
        with prepared.reader(into=con) as reading:
            practices = reading.execute("SELECT count(*) FROM organisations WHERE org_level = 'practice'").fetchone()[0]
        with prepared.writer(into=con) as writing:
            writing.execute("INSERT INTO meta (key, value) SELECT 'parsed_rows', CAST(count(*) AS VARCHAR) "
                            "FROM memory.main.raw")
        assert con.execute("SELECT current_database()").fetchone()[0] == "memory"  # the store detached again
    finally:
        con.close()

    assert practices > 0
    written = prepared.query("SELECT value FROM meta WHERE key = 'parsed_rows'")["value"].iloc[0]
    assert int(written) > 1000


def test_a_write_through_the_callers_instance_is_all_or_nothing(prepared):
    con = memory_connection(prepared)
    before = prepared.query("SELECT count(*) AS n FROM meta")["n"].iloc[0]
    try:
        with pytest.raises(RuntimeError):
            with prepared.writer(into=con) as writing:
                writing.execute("INSERT INTO meta (key, value) VALUES ('half_written', 'x')")
                raise RuntimeError("the parse found a fault")
        # The instance is the caller's again, and the store can be attached once more.
        assert con.execute("SELECT current_database()").fetchone()[0] == "memory"
        with prepared.reader(into=con) as reading:
            assert reading.execute("SELECT count(*) FROM meta WHERE key = 'half_written'").fetchone()[0] == 0
    finally:
        con.close()
    assert prepared.query("SELECT count(*) AS n FROM meta")["n"].iloc[0] == before
