"""Every page's URL, opened straight from a link, shows that page and no "Page not found" dialog, first time and after."""

import contextlib
import re
import shutil

import pytest
from playwright.sync_api import expect

from measures.catalogue import default_catalogue
from measures.queries import pcns
from measures.store import Store
from measures.ui import FAMILY_LABELS
from tests.browser import new_tab, serve_app, settled
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

PCN = "UZ0001"
DRAWN_MS = 60_000  # the run is over when these are read; what is left is drawing
MEASURE = "acc_08"
# A `pages/` folder beside app.py would make Streamlit 1.67 answer a freshly started server's first deep link through
# its old folder mode, which knows only file names ("Page not found"); the app is started through measures.ui.serve,
# which switches that mode off, as ./run.sh app does.
LINKS = {
    "board at the root": "/",
    "board by name": "/board",
    "overview": "/overview",
    "measure detail": f"/measure?measure={MEASURE}&pcn={PCN}",
    "compare areas": f"/compare?measure={MEASURE}&pcn={PCN}",
    "local measures": f"/local?pcn={PCN}",
}


@pytest.fixture(scope="module")
def db(demo_db, tmp_path_factory):
    copy = tmp_path_factory.mktemp("deeplinks") / "demo.duckdb"
    shutil.copy(demo_db, copy)
    return copy


@pytest.fixture(scope="module")
def pcn_names(db):
    return dict(pcns(Store(db))[["pcn", "pcn_name"]].itertuples(index=False))


@contextlib.contextmanager
def opened(chromium, url):
    """A fresh browser profile that has opened `url` and waited for the run to end; no dialog is closed on the way."""
    with new_tab(chromium, viewport={"width": 1600, "height": 1000}) as tab:
        tab.goto(url)
        settled(tab)
        yield tab


def assert_opens_cleanly(chromium, base, link, pcn_names):
    with opened(chromium, base + LINKS[link]) as tab:
        # Read at once, not waited for: the run is over, and the dialog comes before the page it covers.
        dialogs = tab.get_by_role("dialog")
        assert dialogs.count() == 0, dialogs.all_inner_texts()
        assert tab.get_by_text("Page not found").count() == 0
        assert tab.locator('[data-testid="stException"]').count() == 0
        assert_heading_of(tab, link, pcn_names)


def assert_heading_of(tab, link, pcn_names):
    """The page the link names is the one shown, with its heading."""
    shown_pcn = tab.get_by_role("combobox", name="PCN").input_value()
    pcn_name = next(name for code, name in pcn_names.items() if f"({code})" in shown_pcn)
    measure = default_catalogue().get(MEASURE)
    measure_choice = re.compile(re.escape(f"{measure.label} ({FAMILY_LABELS[measure.family]})"))
    if link.startswith("board"):
        # The board draws its own heading (one HTML element), not a Streamlit title as the Overview does.
        expect(tab.locator("h1").filter(has_text=pcn_name)).to_be_visible(timeout=DRAWN_MS)
        expect(tab.locator('[data-testid="stHeading"] h1')).to_have_count(0)
        assert re.fullmatch(r"http://[^/]+/(\?.*)?", tab.url), tab.url  # the board's own address is /
    elif link == "overview":
        expect(tab.locator('[data-testid="stHeading"] h1')).to_have_text(pcn_name, timeout=DRAWN_MS)
        expect(tab.get_by_role("heading", name=FAMILY_LABELS["practice_support"])).to_be_visible(timeout=DRAWN_MS)
    elif link == "measure detail":
        expect(tab.get_by_role("combobox", name="Measure")).to_have_value(measure_choice, timeout=DRAWN_MS)
        expect(tab.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=DRAWN_MS)
        expect(tab.get_by_role("combobox", name="Area")).to_have_count(0, timeout=DRAWN_MS)
    elif link == "compare areas":
        expect(tab.get_by_role("combobox", name="Measure")).to_have_value(measure_choice, timeout=DRAWN_MS)
        expect(tab.get_by_role("combobox", name="Area")).to_be_visible(timeout=DRAWN_MS)
    elif link == "local measures":
        expect(tab.locator('[data-testid="stHeading"] h1')).to_have_text("Local measures", timeout=DRAWN_MS)
    if PCN in LINKS[link]:
        assert f"({PCN})" in shown_pcn


@pytest.mark.parametrize("link", list(LINKS))
def test_a_deep_link_opened_first_on_a_freshly_started_server_shows_its_page_without_a_dialog(
        chromium, db, pcn_names, link):
    with contextlib.contextmanager(serve_app)(db) as base:
        assert_opens_cleanly(chromium, base, link, pcn_names)


@pytest.fixture(scope="module")
def served(chromium, db):
    """One server that has already served its first page, as for every visitor after the first."""
    with contextlib.contextmanager(serve_app)(db) as base:
        with opened(chromium, base + "/"):
            pass
        yield base


@pytest.mark.parametrize("link", list(LINKS))
def test_a_deep_link_opened_in_a_new_browser_after_the_first_visitor_shows_its_page_without_a_dialog(
        chromium, served, pcn_names, link):
    assert_opens_cleanly(chromium, served, link, pcn_names)
