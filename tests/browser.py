"""Helpers for real-browser tests: servers on 127.0.0.1, Debian's Chromium, and waiting for Streamlit to settle."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from measures.ui import SERVE
from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

# One ceiling for every wait. It is only reached when something is wrong, so it costs nothing on success, and it
# is long because a busy 2-core machine (other test runs, chart exports) makes a normal script run take seconds.
CEILING_MS = 120_000
expect.set_options(timeout=CEILING_MS)

# Streamlit 1.67 exposes its state on the app root: `data-test-script-state` is `initial` until the first run,
# then `running` / `rerunRequested` / `notRunning` (or `compilationError`), and `data-test-connection-state` is
# `CONNECTED` once the websocket is up. The status widget (`stStatusWidget`) is no substitute: it shows the running
# indicator only after a run has lasted 500 ms, and in this app (`toolbarMode = "minimal"`) it was not drawn at all
# during runs of 2 to 3 s.
# Neither tells that a widget change has been sent but its run has not started yet (the frontend keeps saying
# `notRunning` until the server answers), so this script, added to every page, also watches the websocket for
# rerun requests: a BackMsg starting with byte 0x5A is field 11, `rerun_script`. `new_tab` adds it to every page
# from the start; `settled` adds it late to a page of a context made without it (it then sees reruns from then on).
_WATCH_RUNS = """
(() => {
  if (window.__streamlitRuns) return;
  const runs = {rerunPending: false, startedSinceRequest: false, changedAt: performance.now()};
  window.__streamlitRuns = runs;
  const stateOfApp = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app ? app.getAttribute('data-test-script-state') : null;
  };
  const isRunning = (state) => state === 'running' || state === 'rerunRequested';
  // Every change of state is read from its record, not only the state when the callback comes: on a busy machine
  // a short run can start and end between two callbacks, and the state then reads `notRunning` both times.
  const seen = (records) => {
    for (const record of records) {
      if (record.attributeName === 'data-test-script-state' && isRunning(record.oldValue)) {
        runs.startedSinceRequest = true;
      }
    }
    const state = stateOfApp();
    runs.changedAt = performance.now();
    if (isRunning(state)) runs.startedSinceRequest = true;
    else if (runs.startedSinceRequest && (state === 'notRunning' || state === 'compilationError')) {
      runs.rerunPending = false;
    }
  };
  const observer = new MutationObserver(seen);
  // The server's `script_finished` (ForwardMsg field 6, a varint) says a run ended even when the app's state
  // attribute never changed: the frontend may render `running` and `notRunning` in one batch for a short run.
  const finished = (bytes) => {
    let at = 0;
    const varint = () => {
      let value = 0, shift = 0, byte;
      do {
        byte = bytes[at++];
        value += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte & 0x80 && at < bytes.length);
      return value;
    };
    while (at < bytes.length) {
      const tag = varint(), field = Math.floor(tag / 8), wire = tag % 8;
      if (wire === 0) { const value = varint(); if (field === 6) return value !== 2; }  // 2: stopped for a rerun
      else if (wire === 2) at += varint();
      else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else return false;
    }
    return false;
  };
  const heard = (event) => {
    if (!(event.data instanceof ArrayBuffer) || !runs.rerunPending) return;
    if (finished(new Uint8Array(event.data))) {
      runs.startedSinceRequest = true;
      seen([]);
    }
  };
  const listened = new WeakSet();
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (!listened.has(this)) {
      listened.add(this);
      this.addEventListener('message', heard);
    }
    let first = null;
    if (data instanceof ArrayBuffer && data.byteLength) first = new Uint8Array(data, 0, 1)[0];
    else if (ArrayBuffer.isView(data) && data.byteLength) first = new Uint8Array(data.buffer, data.byteOffset, 1)[0];
    if (first === 0x5a) {
      seen(observer.takeRecords());  // changes made before this request belong to the runs before it
      runs.rerunPending = true;
      // A request sent during a run is served by that run: the server restarts it rather than queueing another.
      runs.startedSinceRequest = isRunning(stateOfApp());
      runs.changedAt = performance.now();
    }
    return send.call(this, data);
  };
  observer.observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                              attributeFilter: ['data-test-script-state', 'data-test-connection-state']});
})();
"""

_IS_SETTLED = """
(quietMs) => {
  if (!window.__streamlitRuns) {
""" + _WATCH_RUNS + """
    return false;
  }
  const app = document.querySelector('[data-testid="stApp"]');
  const runs = window.__streamlitRuns;
  if (!app || runs.rerunPending) return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  const state = app.getAttribute('data-test-script-state');
  if (state !== 'notRunning' && state !== 'compilationError') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  return performance.now() - runs.changedAt >= quietMs;
}
"""

_STATE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return {url: location.href, watched: !!window.__streamlitRuns, runs: window.__streamlitRuns || null,
          scriptState: app && app.getAttribute('data-test-script-state'),
          connectionState: app && app.getAttribute('data-test-connection-state'),
          statusWidget: !!document.querySelector('[data-testid="stStatusWidget"]')};
}"""

# Quiet time after the last change of state: a script that reruns itself (st.rerun) is not caught in between.
QUIET_MS = 250


def settled(page, timeout: float = CEILING_MS, chart: bool = False) -> None:
    """Wait until the app is connected, no script run is running or requested, and (`chart`) a Plotly chart is drawn.

    Call it after every navigation and every click or key press, before reading the page: what the script did not
    draw yet is then left out, not just late.
    """
    deadline = time.monotonic() + timeout / 1000
    try:
        page.wait_for_function(_IS_SETTLED, arg=QUIET_MS, timeout=timeout, polling=100)
    except PlaywrightError as exc:
        try:
            state = page.evaluate(_STATE)
        except PlaywrightError:
            state = "unreadable"
        raise AssertionError(f"Streamlit did not settle within {timeout / 1000:.0f} s: {state}") from exc
    if chart:
        remaining = max(1_000, (deadline - time.monotonic()) * 1000)
        expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=remaining)


def visit(page, url: str, chart: bool = False) -> None:
    """Open a URL of the app and wait until its script run is over."""
    page.goto(url, timeout=CEILING_MS)
    settled(page, chart=chart)
    close_page_not_found(page)


def close_page_not_found(page) -> None:
    """A first load of a non-default URL may put Streamlit's "Page not found" modal over the right page (a
    known Streamlit fault, not the app's); close it so that it does not cover the page."""
    dialog = page.get_by_role("dialog").filter(has_text="Page not found")
    if dialog.count():
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)


@contextlib.contextmanager
def new_tab(browser, **context_options):
    """A page in a fresh browser profile that watches Streamlit's runs; its profile is closed however the test ends."""
    context = browser.new_context(**context_options)
    try:
        context.set_default_timeout(CEILING_MS)
        context.add_init_script(_WATCH_RUNS)
        yield context.new_page()
    finally:
        context.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, what: str, log: Path, timeout: float = 120) -> None:
    """Poll `url` until it answers 200; stop `process` and show the end of its log if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s: " + log.read_text(errors="replace")[-2000:])


@contextlib.contextmanager
def started_app(db_path, extra_env=None, extra_args=()):
    """`streamlit run app.py` on 127.0.0.1 for `db_path` (`extra_args`: more `streamlit run` options); yields its base
    URL, process and log file, and stops it on leaving.

    Its output goes to a file, not a pipe: a pipe nobody reads fills up and blocks the server mid-test.
    """
    port = free_port()
    env = {**os.environ, "PCN_DB": str(db_path), **(extra_env or {})}
    log_folder = Path(tempfile.mkdtemp(prefix="pcn-streamlit-"))
    log = log_folder / "streamlit.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, "run", str(ROOT / "app.py"), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal", *extra_args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/_stcore/health", process, "streamlit", log)
        yield base, process, log
    finally:
        stop(process)
        shutil.rmtree(log_folder, ignore_errors=True)


def serve_app(db_path, extra_env=None, extra_args=()):
    """Start the app on 127.0.0.1 (see `started_app`); yields its base URL, then stops it (a fixture's generator)."""
    with started_app(db_path, extra_env, extra_args) as (base, _, _):
        yield base


def stop(process: subprocess.Popen) -> None:
    """Stop a server the tests started: politely, then by force after 10 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def require_chromium():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `./run.sh test` installs it with apt-get install chromium")
