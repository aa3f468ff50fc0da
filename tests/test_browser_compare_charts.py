"""Compare areas' charts in a real browser, from a phone to a projector: title, legend and footnote whole."""

import shutil

import pytest

from tests.browser import new_tab, serve_app, visit
from tests.test_browser_narrow import _CHART_PARTS, SCREENS

pytestmark = pytest.mark.browser

PAGES = {
    "neighbourhoods": "/compare?measure=nbh_mdt_partner_attendance_pct&pcn=UZ0001&level=neighbourhood",
    "PCNs": "/compare?measure=acc_08_monthly&pcn=UZ0001",
}


@pytest.fixture(scope="module")
def app_url(demo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("compare") / "demo.duckdb"
    shutil.copy(demo_db, path)  # a private copy: the app writes its access log to it
    yield from serve_app(path)


@pytest.mark.parametrize("width, height", SCREENS)
@pytest.mark.parametrize("level", list(PAGES))
def test_compare_areas_ranked_chart_keeps_its_footnote_whole_on_every_screen(app_url, chromium, level, width, height):
    with new_tab(chromium, viewport={"width": width, "height": height}) as tab:
        visit(tab, f"{app_url}{PAGES[level]}", chart=True)
        drawn = tab.evaluate(_CHART_PARTS)
        box, parts = drawn["box"], drawn["parts"]
        footnote = next(part for part in parts if part["text"].startswith("Source:"))
        for part in parts:
            assert box["left"] - 0.5 <= part["left"] and part["right"] <= box["right"] + 0.5, part
        legend = next(part for part in parts if part["selector"] == ".legend")
        assert legend["bottom"] <= footnote["top"], "the legend runs into the source footnote"
