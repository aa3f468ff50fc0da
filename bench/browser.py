"""Browser benchmarks: the board view and the Overview drawn in Chromium from `streamlit run`, at national scale."""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import time
from dataclasses import dataclass

from .foundation import national_db
from .harness import ROOT, WORK, Result, timed

RUNS_WARM = 7
RUNS_COLD = 5
BOARD_TARGET_WARM = 1.5  # seconds, to a fully drawn board view
BOARD_TARGET_COLD = 3.0
ELEMENT_TARGET = 150
QUIET_MS = 300  # no change to the page for this long after the run: the drawing is over
SCREEN = {"width": 1920, "height": 1080}  # a projector, where the board view is read

# Times, in the page's own clock (ms since the page was opened), of what the timings are made of: the last rerun
# request sent (a BackMsg starting with byte 0x5A), every message received after it, and the last change to the page.
_CLOCKS = """
(() => {
  if (window.__benchClock) return;
  const clock = {requestAt: null, messages: 0, bytes: 0, lastMessageAt: null, lastChangeAt: performance.now()};
  window.__benchClock = clock;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (!this.__benchWatched) {
      this.__benchWatched = true;
      this.addEventListener('message', (event) => {
        if (clock.requestAt === null) return;
        clock.messages += 1;
        clock.bytes += event.data.byteLength || event.data.size || event.data.length || 0;
        clock.lastMessageAt = performance.now();
      });
    }
    let first = null;
    if (data instanceof ArrayBuffer && data.byteLength) first = new Uint8Array(data, 0, 1)[0];
    else if (ArrayBuffer.isView(data) && data.byteLength) first = new Uint8Array(data.buffer, data.byteOffset, 1)[0];
    if (first === 0x5a) {
      clock.requestAt = performance.now();
      clock.messages = 0;
      clock.bytes = 0;
    }
    return send.call(this, data);
  };
  new MutationObserver(() => { clock.lastChangeAt = performance.now(); })
    .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})();
"""

_ELEMENTS = '[data-testid="stElementContainer"]'


@dataclass
class Run:
    """One navigation: seconds from its start to the page fully drawn, split into where the time went."""
    total: float
    load: float  # opening a link: page, scripts and websocket, to the run requested (0 for a rerun)
    server: float  # request to the last message received: the script run on the server, and its transfer
    draw: float  # last message to the last change to the page: the browser drawing
    messages: int
    kilobytes: float
    elements: int


def _drawn_board(tab) -> None:
    from measures.board_html import ROOT_ID

    tab.locator(f"#{ROOT_ID}").wait_for(state="visible")
    tab.wait_for_function("[...document.images].every(image => image.complete)")


def _drawn_overview(tab) -> None:
    """Every card drawn, with its trend line (a small chart inside `st.metric`)."""
    tab.locator('[data-testid="stMetric"]').first.wait_for(state="visible")
    tab.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stMetricChart"]')]
      .every(chart => chart.querySelector('svg, canvas'))""")


def _finished(tab, drawn, started_at: float | None) -> Run:
    """Wait until the run is over, the page drawn and then unchanged for QUIET_MS; read where the time went."""
    from tests.browser import settled

    settled(tab)
    drawn(tab)
    tab.wait_for_function(f"performance.now() - window.__benchClock.lastChangeAt >= {QUIET_MS}", polling=50)
    clock = tab.evaluate("window.__benchClock")
    elements = tab.locator(_ELEMENTS).count()
    start = clock["requestAt"] if started_at is None else started_at
    last_message = clock["lastMessageAt"] or clock["requestAt"]
    return Run(total=(clock["lastChangeAt"] - start) / 1000,
               load=0.0 if started_at is None else (clock["requestAt"] - started_at) / 1000,
               server=(last_message - clock["requestAt"]) / 1000,
               draw=max(0.0, clock["lastChangeAt"] - last_message) / 1000,
               messages=clock["messages"], kilobytes=clock["bytes"] / 1024, elements=elements)


def _open_link(context, url: str, drawn) -> Run:
    """A new tab of a browser that has opened the app before (its scripts cached), opening `url`."""
    tab = context.new_page()
    try:
        tab.goto(url)
        return _finished(tab, drawn, started_at=0.0)  # the page's clock starts as it is opened
    finally:
        tab.close()


def _choose_pcn(tab, code: str, drawn) -> Run:
    """Choose another PCN in the sidebar's picker of an open page, as a board member does."""
    picker = tab.get_by_role("combobox", name="PCN")
    picker.click()
    picker.fill(code)
    tab.get_by_role("option", name=re.compile(re.escape(f"({code})"))).first.click()
    return _finished(tab, drawn, started_at=None)


def _median(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(run, field) for run in runs)


def _where(runs: list[Run]) -> str:
    loaded = f"page load {_median(runs, 'load'):.2f} s · " if _median(runs, "load") else ""
    return (f"{loaded}server run + transfer {_median(runs, 'server'):.2f} s · browser draw {_median(runs, 'draw'):.2f} s;"
            f" {_median(runs, 'messages'):.0f} messages, {_median(runs, 'kilobytes'):,.0f} KB")


def _build(path: str) -> float:
    from measures.demo import build_demo

    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    build_demo(path, scale="national")
    return time.perf_counter() - started


def _server_only(path: str, pcn: str) -> list[float]:
    """The board view's script alone, rerun in an open AppTest session (no browser, no websocket)."""
    from streamlit.testing.v1 import AppTest

    os.environ["PCN_DB"] = path
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["pcn"] = pcn
    at.run()
    assert not at.exception, at.exception

    def rerun():
        at.run()
        assert not at.exception, at.exception

    return timed(rerun, repeat=RUNS_WARM, warmup=1)


def _board_rows_alone(path: str, pcn: str) -> list[float]:
    """The board's rows (latest value, SPC reading, interval verdict, trend for each measure) from cached queries."""
    from measures import board, queries
    from measures.catalogue import default_catalogue
    from measures.store import Store

    catalogue = default_catalogue()
    series, comparator = queries.overview(Store(path), pcn, catalogue)
    return timed(lambda: board.board_rows(catalogue, series, comparator), repeat=RUNS_WARM, warmup=1)


def run(build: bool = True) -> tuple[list[Result], str]:
    """Results and a note on the machine; `build`: build the national-scale demo first (the full run reuses
    the one `foundation.run()` built)."""
    from playwright.sync_api import sync_playwright

    from measures.queries import pcns
    from measures.store import Store
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, new_tab, serve_app

    path = national_db()
    built = _build(path) if build or not os.path.exists(path) else None
    codes = pcns(Store(path))["pcn"].tolist()
    # Spread over the list, so that no two share an ICB's cached comparator by being neighbours.
    wanted = 2 + 4 * RUNS_COLD  # two warm ones, and a new one for each cold run of each kind
    warm, other_warm, *fresh = codes[:: len(codes) // wanted][:wanted]
    cold_board, cold_overview = fresh[: 2 * RUNS_COLD], fresh[2 * RUNS_COLD:]
    load_before = os.getloadavg()
    server_only = _server_only(path, warm)
    rows_alone = _board_rows_alone(path, warm)

    results: dict[str, list[Run]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        env = {"PCN_ACCESS": ""}  # open demo mode, whatever access file this checkout has
        with contextlib.contextmanager(serve_app)(path, extra_env=env) as base, \
                new_tab(browser, viewport=SCREEN) as tab:
            tab.context.add_init_script(_CLOCKS)
            for page, url, drawn, cold in (("board", "/", _drawn_board, cold_board),
                                           ("overview", "/overview", _drawn_overview, cold_overview)):
                link = f"{base}{url}?pcn="
                for code in (warm, other_warm):  # viewed once, so that the runs below are warm
                    _open_link(tab.context, link + code, drawn)
                results[f"{page} link warm"] = [_open_link(tab.context, link + warm, drawn) for _ in range(RUNS_WARM)]
                results[f"{page} link cold"] = [_open_link(tab.context, link + code, drawn) for code in cold[:RUNS_COLD]]
                tab.goto(link + warm)
                _finished(tab, drawn, started_at=0.0)
                results[f"{page} picker warm"] = [_choose_pcn(tab, (other_warm, warm)[i % 2], drawn)
                                                  for i in range(RUNS_WARM)]
                results[f"{page} picker cold"] = [_choose_pcn(tab, code, drawn) for code in cold[RUNS_COLD:]]
        browser.close()
    load_after = os.getloadavg()

    def timings(key):
        return [run.total for run in results[key]]

    board_elements = max(run.elements for key in results if key.startswith("board") for run in results[key])
    overview_elements = max(run.elements for key in results if key.startswith("overview") for run in results[key])
    board_messages = max(run.messages for key in results if key.startswith("board") for run in results[key])
    overview_messages = max(run.messages for key in results if key.startswith("overview") for run in results[key])

    def ratio(key):
        return f"; {statistics.median(timings('overview ' + key)) / statistics.median(timings('board ' + key)):.1f}× " \
               "the board view's time"

    output = [
        Result("Board view, open a link (`/?pcn=`), PCN already viewed", timings("board link warm"),
               target=BOARD_TARGET_WARM, note=_where(results["board link warm"])),
        Result("Board view, open a link, PCN not yet viewed", timings("board link cold"), target=BOARD_TARGET_COLD,
               note=_where(results["board link cold"])),
        Result("Board view, choose a PCN already viewed in the sidebar", timings("board picker warm"),
               target=BOARD_TARGET_WARM, note=_where(results["board picker warm"])),
        Result("Board view, choose a PCN not yet viewed in the sidebar", timings("board picker cold"),
               target=BOARD_TARGET_COLD, note=_where(results["board picker cold"])),
        Result("Board view, elements a run sends (`stElementContainer`)", [], target=ELEMENT_TARGET,
               unit="elements", value=board_elements,
               note=f"most in any run; up to {board_messages} websocket messages a run"),
        Result("Board view script alone, warm AppTest rerun (national scale)", server_only,
               note="app.py + the page on the server, no browser: the floor under the browser timings"),
        Result("Board rows alone (`measures.board.board_rows`, queries already read)", rows_alone,
               note=f"{statistics.median(rows_alone) / statistics.median(server_only):.1f}× the script's warm run: "
                    "what a PCN's first view pays; later runs take the rows from ui.board_rows' cache"),
        Result("Overview (cards), open a link (`/overview?pcn=`), PCN already viewed", timings("overview link warm"),
               note=_where(results["overview link warm"]) + ratio("link warm")),
        Result("Overview, open a link, PCN not yet viewed", timings("overview link cold"),
               note=_where(results["overview link cold"]) + ratio("link cold")),
        Result("Overview, choose a PCN already viewed in the sidebar", timings("overview picker warm"),
               note=_where(results["overview picker warm"]) + ratio("picker warm")),
        Result("Overview, choose a PCN not yet viewed in the sidebar", timings("overview picker cold"),
               note=_where(results["overview picker cold"]) + ratio("picker cold")),
        Result("Overview, elements a run sends (`stElementContainer`)", [], unit="elements", value=overview_elements,
               note=f"most in any run; up to {overview_messages} websocket messages a run"),
    ]
    note = (f"Playwright driving Debian's Chromium (headless, {SCREEN['width']}×{SCREEN['height']}) against "
            f"`streamlit run app.py` on 127.0.0.1, on the national-scale demo ({len(codes):,} PCNs"
            + (f", built in {built:.0f} s" if built else "") + "). A time runs from opening the link (or the request "
            "the picker sends) to the page fully drawn: the script run over, no running indicator, every chart or "
            f"image drawn, and the page then unchanged for {QUIET_MS} ms (not counted). \"Not yet viewed\": a PCN "
            "this server has not shown since it started, so its queries are not cached. Links open in a new tab of a "
            "browser that has loaded the app before. Load average (1, 5, 15 min) "
            f"{' / '.join(f'{x:.1f}' for x in load_before)} before and {' / '.join(f'{x:.1f}' for x in load_after)} "
            f"after, on {os.cpu_count()} cores.")
    return output, note
