"""Charts (Measure detail, Compare, meeting mode) and the Overview cards in a real browser, from a phone to a
projector: nothing cut off."""

import shutil

import pytest
from playwright.sync_api import expect

from measures import local
from measures.store import Store
from tests.browser import new_tab, serve_app, visit

pytestmark = pytest.mark.browser

SCREENS = [(390, 844), (1280, 720), (1920, 1080)]

# Each text part of the first chart on the page, measured against the chart's own drawing area.
_CHART_PARTS = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  const box = plot.querySelector('.main-svg').getBoundingClientRect();
  const part = (selector) => [...plot.querySelectorAll(selector)].map(element => {
    const b = element.getBoundingClientRect();
    return {selector, text: element.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom};
  });
  return {box: {left: box.left, right: box.right, top: box.top, bottom: box.bottom},
          parts: [...part('.gtitle'), ...part('.gtitle-subtitle'), ...part('.legend'), ...part('.annotation-text')]};
}"""

# Every bordered card holding a metric: its own box, and each visible piece of text in it that is cut short.
_CARDS = """() => [...document.querySelectorAll('[data-testid="stMetric"]')].map(metric => {
  const card = metric.closest('[data-testid="stVerticalBlock"]');
  const box = card.getBoundingClientRect();
  const texts = [...card.querySelectorAll('p, span, div')].filter(e => e.offsetParent !== null
      && e.getBoundingClientRect().width > 0 && e.children.length === 0 && e.textContent.trim());
  return {text: card.innerText,
          cut: texts.filter(e => e.scrollWidth > e.clientWidth + 1
                            && getComputedStyle(e).textOverflow === 'ellipsis').map(e => e.textContent),
          outside: texts.filter(e => { const b = e.getBoundingClientRect();
                                       return b.left < box.left - 0.5 || b.right > box.right + 0.5; })
                        .map(e => e.textContent)};
})"""


@pytest.fixture(scope="module")
def db(demo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("narrow") / "demo.duckdb"
    shutil.copy(demo_db, path)  # a private copy: the app writes its access log to it
    return path


@pytest.fixture(scope="module")
def app_url(db):
    yield from serve_app(db)


def assert_inside_and_clear_of_the_footnote(box: dict, parts: list[dict]) -> None:
    """Every drawn part of the chart within its box, and the legend above the source footnote."""
    for part in parts:
        assert box["left"] - 0.5 <= part["left"] and part["right"] <= box["right"] + 0.5, part
        assert box["top"] - 0.5 <= part["top"] and part["bottom"] <= box["bottom"] + 0.5, part
    legend = next(part for part in parts if part["selector"] == ".legend")
    footnote = next(part for part in parts if part["text"].startswith("Source:"))
    assert legend["bottom"] <= footnote["top"], "the legend runs into the source footnote"


@pytest.mark.parametrize("width, height", SCREENS)
@pytest.mark.parametrize("measure", ["acc_08_monthly", "acc_08"])  # an XmR chart, and an annual measure's points
def test_measure_details_chart_title_legend_and_footnote_are_whole_on_every_screen(app_url, chromium, measure,
                                                                                    width, height):
    with new_tab(chromium, viewport={"width": width, "height": height}) as tab:
        visit(tab, f"{app_url}/measure?pcn=UZ0003&measure={measure}", chart=True)
        drawn = tab.evaluate(_CHART_PARTS)
        box, parts = drawn["box"], drawn["parts"]
        # The title is text above the chart (test_a_charts_long_title_...), so the chart draws none of its own.
        assert {part["selector"] for part in parts} >= {".legend", ".annotation-text"}
        assert not [part for part in parts if part["selector"] == ".gtitle" and part["text"].strip()]
        assert_inside_and_clear_of_the_footnote(box, parts)
        tab.locator(".js-plotly-plot").first.screenshot(path=f"/tmp/measure-detail-{measure}-{width}x{height}.png")


# The first chart's title above it: the box of each line it is drawn on, and how far its text overflows its block.
_CHART_HEADING = """() => {
  const chart = document.querySelector('[data-testid="stPlotlyChart"]');
  chart.scrollIntoView({block: 'center'});
  const block = chart.closest('[data-testid="stVerticalBlock"]');
  const title = block.querySelector('[data-testid="stMarkdownContainer"] strong');
  const text = title.closest('[data-testid="stMarkdownContainer"]');
  const box = (b) => ({left: b.left, right: b.right, top: b.top, bottom: b.bottom});
  return {text: title.textContent, lines: [...title.getClientRects()].map(box),
          overflow: text.scrollWidth - text.clientWidth,
          chart: box(chart.getBoundingClientRect()), viewport: {width: innerWidth, height: innerHeight},
          pageWidth: document.documentElement.scrollWidth};
}"""


@pytest.mark.parametrize("width, height", SCREENS)
def test_a_charts_long_title_is_whole_on_a_phone_and_on_one_line_on_a_wide_screen(app_url, db, chromium, width,
                                                                                   height):
    measure = next(m for m in local.catalogue_with_local(Store(db), "UZ0001")
                   if m.id == "int_mdt_partner_attendance_pct")
    with new_tab(chromium, viewport={"width": width, "height": height}) as tab:
        visit(tab, f"{app_url}/compare?measure={measure.id}&pcn=UZ0001", chart=True)
        drawn = tab.evaluate(_CHART_HEADING)
        title, lines = drawn["text"], drawn["lines"]
        # The ranked chart's title names the measure, the area and the period: too long for a phone's line.
        assert title.startswith(f"{measure.label}: ") and "ICB" in title and len(title) > 50, title
        for line in lines:  # every line of it on the screen, above the chart
            assert 0 <= line["left"] and line["right"] <= drawn["viewport"]["width"], (title, line)
            assert 0 <= line["top"] and line["bottom"] <= drawn["chart"]["top"], (title, line)
        assert drawn["overflow"] <= 0 and drawn["pageWidth"] <= width
        if width >= 1280:
            assert len(lines) == 1, lines  # where it fits it is not broken early
        else:
            assert len(lines) >= 2, lines  # it wraps rather than running off


@pytest.mark.parametrize("width, height", SCREENS)
def test_meeting_modes_measure_screen_chart_is_whole_and_stacks_over_its_reading_on_a_phone(app_url, chromium,
                                                                                          width, height):
    with new_tab(chromium, viewport={"width": width, "height": height}) as tab:
        visit(tab, f"{app_url}/?pcn=UZ0001&mode=meeting&step=1", chart=True)
        expect(tab.locator(".pcnm-reading")).to_be_visible()
        drawn = tab.evaluate(_CHART_PARTS)
        box, parts = drawn["box"], drawn["parts"]
        assert_inside_and_clear_of_the_footnote(box, parts)
        legend_font = tab.evaluate("parseFloat(getComputedStyle(document.querySelector('.legendtext')).fontSize)")
        assert legend_font >= 18  # still read from across a room
        heading = tab.evaluate(_CHART_HEADING)
        assert all(0 <= line["left"] and line["right"] <= width for line in heading["lines"]), heading
        chart = tab.locator('[data-testid="stPlotlyChart"]').first.bounding_box()
        reading = tab.locator(".pcnm-reading").bounding_box()
        if width < 640:  # one column: the chart across the phone, its reading under it
            assert reading["y"] >= chart["y"] + chart["height"] and chart["width"] >= 0.85 * (width - 32)
        else:  # side by side
            assert reading["x"] >= chart["x"] + chart["width"]
        assert heading["pageWidth"] <= width


@pytest.mark.parametrize("width, height", SCREENS)
def test_overview_cards_show_each_whole_name_and_value_within_the_card(app_url, db, chromium, width, height):
    measures = [m for m in local.catalogue_with_local(Store(db), "UZ0003") if m.status != "retired"]
    with new_tab(chromium, viewport={"width": width, "height": height}) as tab:
        visit(tab, f"{app_url}/overview?pcn=UZ0003")
        expect(tab.locator('[data-testid="stMetric"]')).to_have_count(len(measures))  # a card for every measure
        cards = tab.evaluate(_CARDS)
        assert [card for card in cards if card["cut"] or card["outside"]] == []
        assert any("Care-home admissions per 1,000 beds" in card["text"] for card in cards)
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
