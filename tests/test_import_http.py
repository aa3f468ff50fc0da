"""Importing the published files by their http(s) links: a local server on 127.0.0.1 serves the real samples."""

import hashlib
import io
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from measures.importers import PublicationError, import_publications
from measures.store import Store
from tests.conftest import ROOT, SAMPLES

FILES = ["gp-reg-pat-prac-map.csv", "ePCN.xlsx", "gp-reg-pat-prac-all.csv", "IIF_indicators_annual_pub_2023_24.csv",
         "PCNWFIndividualCSV.062026.zip", "appointments_practice_level_72Q_Oct2025.csv", "PREVALENCE_2425.csv",
         "fingertips-imd-2025-gp-practice.csv"]


class SampleHandler(SimpleHTTPRequestHandler):
    """Serves the samples folder; /cut/NAME promises the whole file but sends half of it."""

    def do_GET(self):
        if self.path.startswith("/cut/"):
            data = (SAMPLES / self.path[len("/cut/"):]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(SampleHandler, directory=str(SAMPLES)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def downloaded(server, tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("http") / "pcn.duckdb")
    progress = io.StringIO()
    outcome = import_publications([f"{server}/{name}" for name in FILES], store, progress=progress)
    return store, outcome, progress.getvalue()


def test_every_sample_imports_over_http(downloaded):
    store, outcome, _ = downloaded
    assert outcome.ok, outcome.text()
    assert [r.status for r in outcome.reports] == ["imported"] * 8
    imports = store.query("SELECT file_name, sha256 FROM imports ORDER BY import_id").set_index("file_name")["sha256"]
    assert imports["gp-reg-pat-prac-all.csv"] == hashlib.sha256(
        (SAMPLES / "gp-reg-pat-prac-all.csv").read_bytes()).hexdigest()
    assert store.query("SELECT value FROM observations WHERE measure_id = 'registered_patients' AND org_code = 'U00254'"
                       ).iloc[0, 0] == 51381
    acc_08 = store.query("SELECT measure_id, count(*) AS n FROM observations WHERE measure_id LIKE 'acc_08%' "
                         "AND org_code = 'U00254' GROUP BY 1 ORDER BY 1")
    assert acc_08.values.tolist() == [["acc_08", 1], ["acc_08_monthly", 1]]  # the IIF year; October 2025


def test_downloads_draw_a_progress_bar(downloaded):
    _, _, progress = downloaded
    assert "downloading appointments_practice_level_72Q_Oct2025.csv [" in progress
    assert "100.0% 10.3/10.3 MB done" in progress


def test_the_same_links_again_change_nothing(downloaded, server):
    store, _, _ = downloaded
    again = import_publications([f"{server}/{FILES[0]}", f"{server}/{FILES[4]}"], store, progress=io.StringIO())
    assert [r.status for r in again.reports] == ["already imported", "already imported"]


def test_a_missing_file_reports_the_http_status(server, tmp_path):
    with pytest.raises(PublicationError, match=r"/no-such-file.csv: the server answered HTTP 404"):
        import_publications([f"{server}/no-such-file.csv"], Store(tmp_path / "x.duckdb"), progress=io.StringIO())


def test_a_download_cut_short_is_refused(server, tmp_path):
    with pytest.raises(PublicationError, match=r"the download stopped after [\d,]+ of 1,472,771 bytes"):
        import_publications([f"{server}/cut/PCNWFIndividualCSV.062026.zip"], Store(tmp_path / "x.duckdb"),
                            progress=io.StringIO())


def test_the_command_line_takes_links(server, tmp_path):
    result = subprocess.run([sys.executable, "-m", "measures", "import", f"{server}/gp-reg-pat-prac-map.csv",
                             "--db", str(tmp_path / "cli.duckdb")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "downloading gp-reg-pat-prac-map.csv" in result.stderr and "done" in result.stderr
    assert "gp-reg-pat-prac-map.csv: imported" in result.stdout
