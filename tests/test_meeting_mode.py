"""Meeting mode and the board's Practices view: headless (AppTest) and in a real browser at three screen sizes."""

import contextlib
import re
import shutil

import pandas as pd
import pytest
from playwright.sync_api import expect

from measures import board, board_html, local, practice_view, queries, suppression
from measures.catalogue import default_catalogue
from measures.contract import default_rules
from measures.contract import reads as contract_reads
from measures.contract.view import order_for_year
from measures.store import Store
from tests import apptest
from tests.browser import new_tab, serve_app, settled, visit
from tests.conftest import ROOT

PCN = "UZ0009"  # a demo PCN with measures needing attention
MIN_MEETING_PX = 20


def demo_rows(store: Store, pcn: str = PCN):
    catalogue = local.catalogue_with_local(store, pcn)
    rules = suppression.rules(catalogue)
    series, comparator = queries.overview(store, pcn, catalogue)
    spread = suppression.suppress_query("practice_spread", queries.practice_spread(store, pcn), (pcn,), rules)
    return board.board_rows(catalogue, suppression.suppress(series, rules), comparator, practice_spread=spread)


def attention_ids(store: Store, pcn: str = PCN) -> list[str]:
    """In the board's order: the national family with the default year's IIF indicators first."""
    rows = demo_rows(store, pcn)
    national = order_for_year([r for r in rows if r.measure.family == "national_des"], default_rules(),
                              contract_reads.data_years(store)[0])
    rows = national + [r for r in rows if r.measure.family != "national_des"]
    return [row.measure.id for row in board.needing_attention(rows)]


def htmls(at) -> str:
    return "\n".join(element.proto.body for element in at.get("html"))


def members(store: Store, pcn: str = PCN) -> pd.DataFrame:
    return practice_view.practice_members(store, pcn)


# --- a measure whose PCN value is 1 by construction ----------------------------------------------------------


def test_arrs_fair_share_shows_the_range_across_practices_not_a_constant_one(demo_db):
    store = Store(demo_db)
    row = next(r for r in demo_rows(store) if r.measure.id == "ps_arrs_fair_share_ratio")
    assert board.pcn_value_is_one(row.measure) and row.latest_value == pytest.approx(1.0, abs=1e-3)
    spread = queries.practice_spread(store, PCN)
    values = spread.loc[spread["measure"] == "ps_arrs_fair_share_ratio", "value"]
    assert row.value_text == f"{values.min():.2f}–{values.max():.2f}×"
    assert row.period_text.startswith(f"across {len(values)} practices")
    assert row.trend == () and row.variation is None and row.comparator is None  # a flat 1.00 says nothing
    page = board_html.row_html(row, PCN)
    assert f">{row.value_text}</span>" in page and 'alt="Trend' not in page and "1.00 by construction" in page
    others = [r for r in demo_rows(store) if r.measure.id != "ps_arrs_fair_share_ratio"]
    assert all(r.practice_range is None for r in others)
    assert [m.id for m in default_catalogue() if board.pcn_value_is_one(m)] == ["ps_arrs_fair_share_ratio"]


def test_a_suppressed_practice_is_counted_apart_in_the_range():
    arrs = default_catalogue().get("ps_arrs_fair_share_ratio")
    row = board.BoardRow(arrs, latest_value=1.0, latest_period=pd.Timestamp("2026-09-01").date(),
                         practice_range=(0.8, 1.2, 4, 1))
    assert (row.value_text, row.period_text) == ("0.80–1.20×", "across 4 of 5 practices, Sep 2026")
    assert board.BoardRow(arrs, latest_value=1.0, practice_range=(None, None, 0, 3)).value_text == suppression.MARK


# --- the board's Practices view (AppTest) ----------------------------------------------------------------------


def test_a_member_opens_the_practices_view_with_every_member_practice_and_its_band(app_env):
    at = apptest.open_app(pcn=PCN, view="practices")
    body = htmls(at)
    assert f'id="{board_html.ROOT_ID}"' not in body  # the measures board gives way to the practices
    matrix = practice_view.practice_matrix(Store(app_env), PCN, local.catalogue_with_local(Store(app_env), PCN))
    for practice in members(Store(app_env)).itertuples():
        assert practice.org_name in body and practice.org in body
    for cell in matrix.itertuples():
        assert practice_view.ratio_text(cell.ratio) in body
    assert {"in line", "above", "below"} <= set(re.findall(r"(in line|above|below)</span></td>", body))
    assert at.query_params["view"] == "practices"


def test_the_practices_view_is_chosen_with_a_control_that_keeps_it_in_the_url(app_env):
    at = apptest.open_app(pcn=PCN)
    assert "What the PCN did for each practice" not in htmls(at)
    at.button_group(key="board_view").set_value("practices").run()
    assert "What the PCN did for each practice" in htmls(at) and at.query_params["view"] == "practices"
    at.button_group(key="board_view").set_value("measures").run()
    assert f'id="{board_html.ROOT_ID}"' in htmls(at) and "view" not in at.query_params


def test_outside_the_pcn_no_fair_share_is_shown_or_offered(access_db):
    at = apptest.open_app(pcn="UZ0002", email="viewer@example.nhs.uk", view="practices")
    views = [group for group in at.button_group if group.key == "board_view"]
    assert views and "Practices" not in views[0].options  # the money is national data; the fair shares are not
    body = htmls(at)
    assert f'id="{board_html.ROOT_ID}"' in body and "practice-fair-share" not in body and "share of the PCN" not in body
    assert "view" not in at.query_params
    assert not any("local values" in e.value and "fair" in e.value.lower() for e in at.error)


# --- meeting mode (AppTest) ------------------------------------------------------------------------------------


def test_in_meeting_mode_the_sidebar_is_empty_and_nothing_can_be_edited(app_env):
    at = apptest.open_app(pcn=PCN, mode="meeting")
    assert not at.sidebar.children
    assert not at.selectbox and not at.text_input and not at.date_input and not at.get("download_button")
    assert [button.label for button in at.button] == ["Previous", "Next"]
    assert "pcnb-meeting" in htmls(at) and "[data-testid=\"stSidebar\"]" in htmls(at)
    normal = apptest.open_app(pcn=PCN)
    assert normal.sidebar.children and normal.sidebar.selectbox  # the same board outside a meeting has them


def test_measure_detail_in_meeting_mode_has_no_note_or_rebase_controls(app_env):
    page = "pages/measure_detail.py"
    normal = apptest.open_app(page, pcn=PCN, measure="face_to_face_pct")
    assert normal.text_input and normal.date_input and normal.get("form")  # an editor's page has them
    assert any(e.label.startswith("Recalculate the limits") for e in normal.expander)
    at = apptest.open_app(page, pcn=PCN, measure="face_to_face_pct", mode="meeting")
    assert at.get("plotly_chart")  # the chart and its reading stay
    assert not at.text_input and not at.date_input and not at.get("form") and not at.get("form_submit_button")
    assert not [e for e in at.expander if e.label.startswith("Recalculate the limits")]
    assert not [b for b in at.button if b.label in ("Add note", "Remove") or b.label.startswith("Recalculate")]


def test_next_and_previous_step_through_the_measures_needing_attention(app_env):
    expected = attention_ids(Store(app_env))
    assert len(expected) >= 2
    at = apptest.open_app(pcn=PCN, mode="meeting")
    assert at.query_params["step"] == "0" and at.button(key="meeting_previous").disabled
    for step, measure_id in enumerate(expected, start=1):
        at.button(key="meeting_next").click().run()
        assert at.query_params["step"] == str(step)
        assert f'id="{board_html.STEP_ID}" data-measure="{measure_id}"' in htmls(at)
        assert at.get("plotly_chart")
    at.button(key="meeting_next").click().run()  # after the measures, what the PCN did for each practice
    assert "practice-fair-share" in htmls(at) and at.button(key="meeting_next").disabled
    at.button(key="meeting_previous").click().run()
    assert at.query_params["step"] == str(len(expected))
    assert f'data-measure="{expected[-1]}"' in htmls(at)


def test_a_deep_link_opens_its_step_and_a_step_out_of_range_the_nearest(app_env):
    expected = attention_ids(Store(app_env))
    at = apptest.open_app(pcn=PCN, mode="meeting", step="2")
    assert f'id="{board_html.STEP_ID}" data-measure="{expected[1]}"' in htmls(at)
    assert any("Needs attention: 2 of" in m.value for m in at.markdown)
    assert "Why it needs attention" in htmls(at) and "What the chart shows" in htmls(at)
    assert "board_view" not in [g.key for g in at.button_group]
    for wrong, shown in (("-4", "0"), ("x", "0"), ("999", str(len(expected) + 1))):
        assert apptest.open_app(pcn=PCN, mode="meeting", step=wrong).query_params["step"] == shown


def test_the_meeting_toggle_enters_and_leaves_meeting_mode_through_the_url(app_env):
    at = apptest.open_app(pcn=PCN)
    at.toggle(key="enter_meeting").set_value(True).run()
    assert at.query_params["mode"] == "meeting" and not at.sidebar.children
    at.toggle(key="leave_meeting").set_value(False).run()
    assert "mode" not in at.query_params and at.sidebar.selectbox


def test_the_meeting_board_links_each_measure_needing_attention_to_its_step(app_env):
    expected = attention_ids(Store(app_env))
    body = htmls(apptest.open_app(pcn=PCN, mode="meeting"))
    for step, measure_id in enumerate(expected, start=1):
        assert re.search(rf'href="\?pcn={PCN}&amp;mode=meeting&amp;step={step}"[^>]*data-measure="{measure_id}"',
                         body), measure_id
    calm = next(row.measure.id for row in demo_rows(Store(app_env)) if not row.reasons)
    assert re.search(rf'href="\?pcn={PCN}&amp;mode=meeting&amp;measure={calm}"', body)  # its own screen


# --- in a real browser -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_url(demo_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("meeting") / "demo.duckdb"
    shutil.copy(demo_db, db)
    yield from serve_app(db)


@contextlib.contextmanager
def opened(chromium, url, width=1920, height=1080):
    with new_tab(chromium, viewport={"width": width, "height": height}) as tab:
        visit(tab, url)
        tab.wait_for_function("[...document.images].every(image => image.complete)")
        yield tab


def page_height(tab) -> int:
    return tab.evaluate("""Math.max(document.documentElement.scrollHeight,
        document.querySelector('[data-testid="stMain"]').scrollHeight)""")


def screenshot(tab, name, width, height) -> None:
    tab.set_viewport_size({"width": width, "height": max(height, page_height(tab))})
    tab.wait_for_timeout(300)
    tab.screenshot(path=f"/tmp/{name}-{width}x{height}.png")
    tab.set_viewport_size({"width": width, "height": height})


# The computed size of every piece of visible text in the main area, with a sample of it.
TEXT_SIZES = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  const found = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.trim();
    const parent = node.parentElement;
    if (!text || !parent || parent.closest('svg, style, [aria-hidden="true"]')) continue;
    const box = parent.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(parent).visibility === 'hidden') continue;
    found.push([parseFloat(getComputedStyle(parent).fontSize), text.slice(0, 40)]);
  }
  return found;
}"""


def small_text(tab) -> list:
    sizes = tab.evaluate(TEXT_SIZES)
    assert len(sizes) > 10
    return [(size, text) for size, text in sizes if size < MIN_MEETING_PX]


@pytest.mark.browser
def test_in_meeting_mode_there_is_no_sidebar_and_every_text_is_20px_or_more(app_url, chromium):
    with opened(chromium, f"{app_url}/?pcn={PCN}&mode=meeting") as tab:
        expect(tab.locator("#pcn-board.pcnb-meeting")).to_be_visible()
        assert not tab.locator('[data-testid="stSidebar"]').is_visible()
        assert not tab.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"]'
                               ).first.is_visible()
        assert small_text(tab) == []
        assert page_height(tab) <= 1080  # the board still fits the projector's screen
        screenshot(tab, "meeting", 1920, 1080)


@pytest.mark.browser
def test_next_and_previous_change_the_step_in_the_url_and_show_its_measure(app_url, chromium):
    with opened(chromium, f"{app_url}/?pcn={PCN}&mode=meeting") as tab:
        names = {m.id: m.label for m in default_catalogue()}
        flagged = tab.eval_on_selector_all('.pcnb-row[data-attention]', "rows => rows.map(r => r.dataset.measure)")
        assert len(flagged) >= 2
        tab.get_by_role("button", name="Next").click()
        settled(tab)
        expect(tab).to_have_url(re.compile(r"[?&]step=1\b"))
        expect(tab.locator("#pcn-meeting-step h1")).to_have_text(names[flagged[0]])
        tab.keyboard.press("ArrowRight")  # the arrow keys step too, as a presenter's clicker does
        settled(tab)
        expect(tab).to_have_url(re.compile(r"[?&]step=2\b"))
        expect(tab.locator("#pcn-meeting-step h1")).to_have_text(names[flagged[1]])
        expect(tab.locator(".js-plotly-plot .main-svg").first).to_be_visible()
        assert small_text(tab) == []
        screenshot(tab, "meeting-step", 1920, 1080)
        tab.get_by_role("button", name="Previous").click()
        settled(tab)
        expect(tab).to_have_url(re.compile(r"[?&]step=1\b"))
        expect(tab.locator("#pcn-meeting-step h1")).to_have_text(names[flagged[0]])


@pytest.mark.browser
def test_a_deep_link_to_step_2_opens_that_measure(app_url, chromium):
    with opened(chromium, f"{app_url}/?pcn={PCN}&mode=meeting&step=2") as tab:
        expect(tab.locator("#pcn-meeting-step")).to_be_visible()
        measure_id = tab.locator("#pcn-meeting-step").get_attribute("data-measure")
        with new_tab(chromium, viewport={"width": 1920, "height": 1080}) as board_tab:
            visit(board_tab, f"{app_url}/?pcn={PCN}&mode=meeting")
            flagged = board_tab.eval_on_selector_all('.pcnb-row[data-attention]',
                                                     "rows => rows.map(r => r.dataset.measure)")
        assert measure_id == flagged[1]
        expect(tab.get_by_text("Needs attention: 2 of")).to_be_visible()
        assert tab.get_by_role("dialog").count() == 0


@pytest.mark.browser
@pytest.mark.parametrize("width, height", [(1280, 720), (390, 844)])
def test_meeting_mode_on_smaller_screens_runs_off_no_side(app_url, chromium, width, height):
    with opened(chromium, f"{app_url}/?pcn={PCN}&mode=meeting", width, height) as tab:
        board_box = tab.locator("#pcn-board").bounding_box()
        assert tab.evaluate("document.querySelector('#pcn-board').scrollWidth") <= board_box["width"] + 1
        screenshot(tab, "meeting", width, height)
        tab.get_by_role("button", name="Next").click()
        settled(tab)
        expect(tab.locator("#pcn-meeting-step")).to_be_visible()
        screenshot(tab, "meeting-step", width, height)


@pytest.mark.browser
@pytest.mark.parametrize("width, height", [(1920, 1080), (1280, 720), (390, 844)])
def test_the_practices_view_shows_each_practice_of_the_pcn_with_its_band(app_url, chromium, demo_db, width,
                                                                            height):
    with opened(chromium, f"{app_url}/?pcn={PCN}&view=practices", width, height) as tab:
        table = tab.locator(".practice-fair-share table")
        expect(table).to_be_visible()
        for practice in members(Store(demo_db)).itertuples():
            row = table.locator("tbody tr").filter(has_text=practice.org)
            expect(row).to_have_count(1)
            bands = row.locator("td").all_inner_texts()
            assert bands and all(re.search(r"in line|above|below|suppressed|no data", b) for b in bands)
        if width == 1920:
            assert page_height(tab) <= 1080
        screenshot(tab, "practices", width, height)
