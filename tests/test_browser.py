"""The app in a real browser: Debian's Chromium, headless, against `streamlit run` on 127.0.0.1."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import serve_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    from measures.demo import build_demo

    db = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    build_demo(db)
    yield from serve_app(db)



def test_a_board_member_opens_a_link_to_a_pcn_and_switches_to_another(app_url, tab):
    tab.goto(f"{app_url}/?pcn=UZ0003")
    expect(tab.get_by_role("heading", name="Ashvale PCN")).to_be_visible(timeout=30_000)
    expect(tab.get_by_text("Synthetic demo data")).to_be_visible()
    for family in ("National DES", "Integration (set locally)", "Support for practices"):
        expect(tab.get_by_role("heading", name=family)).to_be_visible()
    expect(tab.locator('[data-testid="stMetric"]').first).to_be_visible()
    assert tab.locator('[data-testid="stMetric"]').count() >= 28

    tab.get_by_role("combobox", name="PCN").click()
    tab.get_by_role("option", name=re.compile(r"\(UZ0005\)")).click()
    expect(tab).to_have_url(re.compile(r"pcn=UZ0005"), timeout=15_000)
    expect(tab.get_by_role("heading", level=1)).to_contain_text("PCN")
    assert "UZ0005" in tab.locator('[data-testid="stCaptionContainer"]').first.inner_text()


def test_on_a_narrow_screen_the_three_families_stack(app_url, chromium):
    context = chromium.new_context(viewport={"width": 480, "height": 900})
    tab = context.new_page()
    tab.goto(f"{app_url}/?pcn=UZ0001")
    headings = [tab.get_by_role("heading", name=name) for name in
                ("National DES", "Integration (set locally)", "Support for practices")]
    expect(headings[0]).to_be_visible(timeout=30_000)
    boxes = [h.bounding_box() for h in headings]
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
    assert abs(boxes[0]["x"] - boxes[2]["x"]) < 5
    context.close()


def test_a_definition_is_one_click_away(app_url, tab):
    tab.goto(f"{app_url}/?pcn=UZ0002")
    expect(tab.get_by_role("heading", name="National DES")).to_be_visible(timeout=30_000)
    tab.get_by_role("button", name="Definition").first.click()
    expect(tab.get_by_text("Numerator:").first).to_be_visible()
