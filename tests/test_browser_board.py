"""The board view in a real browser: one projector screen at 1920×1080, readable on a laptop and a phone."""

import contextlib
import re
import shutil

import pytest
from playwright.sync_api import expect

from measures.catalogue import default_catalogue
from tests.browser import new_tab, serve_app, settled, visit

pytestmark = pytest.mark.browser

PCN = "UZ0001"
PAGE_LIMIT = 1150  # px: the whole page at 1920×1080, so a projector shows it without scrolling
MEASURES = [m for m in default_catalogue() if m.status != "retired"]


@pytest.fixture(scope="module")
def app_url(demo_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("board") / "demo.duckdb"
    shutil.copy(demo_db, db)
    yield from serve_app(db)


def settle(tab) -> None:
    """Wait until Streamlit has finished running the page, the board is drawn and its images are loaded."""
    settled(tab)
    expect(tab.locator("#pcn-board")).to_be_visible()
    tab.wait_for_function("[...document.images].every(image => image.complete)")


def page_height(tab) -> int:
    """The page's full height: Streamlit scrolls its main area, not the document."""
    return tab.evaluate("""Math.max(document.documentElement.scrollHeight,
        document.querySelector('[data-testid="stMain"]').scrollHeight)""")


@contextlib.contextmanager
def open_board(chromium, app_url, width, height):
    with new_tab(chromium, viewport={"width": width, "height": height}) as tab:
        visit(tab, f"{app_url}/?pcn={PCN}")
        settle(tab)
        yield tab


def screenshot(tab, width, height) -> None:
    """The whole page, not just the window (the window is grown to the page first)."""
    tab.set_viewport_size({"width": width, "height": max(height, page_height(tab))})
    tab.wait_for_timeout(300)
    tab.screenshot(path=f"/tmp/board-{width}x{height}.png")
    tab.set_viewport_size({"width": width, "height": height})


def boxes_overlap(a, b) -> bool:
    return (a["x"] < b["x"] + b["width"] - 0.5 and b["x"] < a["x"] + a["width"] - 0.5
            and a["y"] < b["y"] + b["height"] - 0.5 and b["y"] < a["y"] + a["height"] - 0.5)


def test_on_a_projector_the_whole_board_fits_one_screen_with_every_measure_and_its_icons(app_url, chromium):
    with open_board(chromium, app_url, 1920, 1080) as tab:
        height = page_height(tab)
        assert height <= PAGE_LIMIT, f"the page is {height}px tall at 1920×1080"
        assert tab.locator('[data-testid="stElementContainer"]').count() <= 150
        for measure in MEASURES:
            row = tab.locator(f'.pcnb-row[data-measure="{measure.id}"]')
            expect(row.locator(".pcnb-name")).to_have_text(measure.label)
            icons = row.locator("img.pcnb-icon")
            expect(icons).to_have_count(2)
            for index in range(2):
                expect(icons.nth(index)).to_be_visible()
                assert icons.nth(index).evaluate("image => image.naturalWidth") > 0, measure.id
            box = row.bounding_box()
            assert box["y"] + box["height"] <= PAGE_LIMIT, measure.id
        columns = [tab.locator(f'.pcnb-family[data-family="{family}"]').bounding_box()
                   for family in ("national_des", "local_integration", "practice_support")]
        assert columns[0]["x"] < columns[1]["x"] < columns[2]["x"]  # side by side
        assert abs(columns[0]["y"] - columns[2]["y"]) < 2
        expect(tab.get_by_text("Compared with the ICB by 95% interval (Fingertips)")).to_be_visible()
        expect(tab.get_by_text("Synthetic demo data").first).to_be_visible()
        screenshot(tab, 1920, 1080)


def test_no_colour_on_the_board_follows_the_change_since_the_last_period(app_url, chromium):
    with open_board(chromium, app_url, 1920, 1080) as tab:
        values = tab.eval_on_selector_all(".pcnb-value", "cells => cells.map(c => getComputedStyle(c).color)")
        rows = tab.eval_on_selector_all(".pcnb-row", "rows => rows.map(r => getComputedStyle(r).backgroundColor)")
        names = tab.eval_on_selector_all(".pcnb-name", "cells => cells.map(c => getComputedStyle(c).color)")
        assert len(values) == len(rows) == len(MEASURES)
        assert len(set(values)) == 1 and len(set(rows)) == 1 and len(set(names)) == 1
        verdicts = tab.eval_on_selector_all(".pcnb-family .pcnb-verdict", "chips => chips.map(c => c.textContent)")
        assert verdicts and set(verdicts) <= {"better", "similar", "worse", "higher", "lower"}


def test_a_row_opens_measure_detail_for_that_measure_and_pcn(app_url, chromium):
    with open_board(chromium, app_url, 1920, 1080) as tab:
        tab.locator('.pcnb-row[data-measure="dna_rate"]').click()
        expect(tab).to_have_url(re.compile(r"/measure\?.*measure=dna_rate"))
        settled(tab)
        assert f"pcn={PCN}" in tab.url
        expect(tab.get_by_text("DNA rate for Riverside PCN was")).to_be_visible()  # the chart's narrative


def test_a_neighbourhoods_label_opens_its_own_board_on_one_screen(app_url, chromium):
    with open_board(chromium, app_url, 1920, 1080) as tab:
        tab.get_by_text("Riverside neighbourhood: 3 PCNs").first.click()  # the sidebar switch shows the section
        settled(tab)
        tab.locator('.pcnb-neighbourhood[data-neighbourhood="QZZ-RIVERSIDE"] .pcnb-hood-link').click()
        expect(tab).to_have_url(re.compile(r"/neighbourhood\?.*neighbourhood=QZZ-RIVERSIDE"))
        settle(tab)
        assert f"pcn={PCN}" in tab.url
        expect(tab.locator(".pcnb-heading h1")).to_have_text("Riverside neighbourhood: 3 PCNs")
        height = page_height(tab)
        assert height <= PAGE_LIMIT, f"the neighbourhood's board is {height}px tall at 1920×1080"
        rows = tab.locator(".pcnb-row")
        assert rows.count() > 10
        last = rows.nth(rows.count() - 1).bounding_box()
        assert last["y"] + last["height"] <= PAGE_LIMIT


@pytest.mark.parametrize("width, height", [(1280, 720), (390, 844)])
def test_on_smaller_screens_nothing_overlaps_or_runs_off_the_side(app_url, chromium, width, height):
    with open_board(chromium, app_url, width, height) as tab:
        board = tab.locator("#pcn-board").bounding_box()
        assert tab.evaluate("document.querySelector('#pcn-board').scrollWidth") <= board["width"] + 1
        for measure in MEASURES:
            row = tab.locator(f'.pcnb-row[data-measure="{measure.id}"]')
            frame = row.bounding_box()
            parts = [row.locator(selector).bounding_box() for selector in
                     (".pcnb-name", ".pcnb-meta", "img.pcnb-variation", "img.pcnb-assurance", ".pcnb-spark")]
            for index, part in enumerate(parts):
                assert frame["x"] - 0.5 <= part["x"] and part["x"] + part["width"] <= frame["x"] + frame["width"] + 0.5
                for other in parts[index + 1:]:
                    assert not boxes_overlap(part, other), measure.id
        if width < 800:  # a phone: the families stack
            columns = [tab.locator(f'.pcnb-family[data-family="{family}"]').bounding_box()
                       for family in ("national_des", "local_integration", "practice_support")]
            assert columns[0]["y"] < columns[1]["y"] < columns[2]["y"]
            assert abs(columns[0]["x"] - columns[2]["x"]) < 2
        screenshot(tab, width, height)
