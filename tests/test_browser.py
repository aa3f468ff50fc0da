"""The app in a real browser: Debian's Chromium, headless, against `streamlit run` on 127.0.0.1."""

import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser import new_tab, serve_app, settled, visit

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(demo_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    shutil.copy(demo_db, db)  # a private copy: the app writes its access log to it
    yield from serve_app(db)


def test_a_board_member_opens_a_link_to_a_pcn_and_switches_to_another(app_url, tab):
    visit(tab, f"{app_url}/overview?pcn=UZ0003")
    expect(tab.get_by_role("heading", name="Ashvale PCN")).to_be_visible()
    expect(tab.get_by_text("Synthetic demo data")).to_be_visible()
    for family in ("National DES", "Integration (set locally)", "Support for practices"):
        expect(tab.get_by_role("heading", name=family)).to_be_visible()
    expect(tab.locator('[data-testid="stMetric"]').first).to_be_visible()
    assert tab.locator('[data-testid="stMetric"]').count() >= 28

    tab.get_by_role("combobox", name="PCN").click()
    settled(tab)
    tab.get_by_role("option", name=re.compile(r"\(UZ0005\)")).click()
    settled(tab)
    expect(tab).to_have_url(re.compile(r"pcn=UZ0005"))
    expect(tab.get_by_role("heading", level=1)).to_contain_text("PCN")
    assert "UZ0005" in tab.locator('[data-testid="stCaptionContainer"]').first.inner_text()


def test_on_a_narrow_screen_the_three_families_stack(app_url, chromium):
    with new_tab(chromium, viewport={"width": 480, "height": 900}) as tab:
        visit(tab, f"{app_url}/overview?pcn=UZ0001")
        headings = [tab.get_by_role("heading", name=name) for name in
                    ("National DES", "Integration (set locally)", "Support for practices")]
        for heading in headings:
            expect(heading).to_be_visible()
        boxes = [h.bounding_box() for h in headings]
        assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
        assert abs(boxes[0]["x"] - boxes[2]["x"]) < 5


def test_a_definition_is_one_click_away(app_url, tab):
    visit(tab, f"{app_url}/overview?pcn=UZ0002")
    expect(tab.get_by_role("heading", name="National DES")).to_be_visible()
    tab.get_by_role("button", name="Definition").first.click()
    settled(tab)
    expect(tab.get_by_text("Numerator:").first).to_be_visible()
