"""Downloads in a real browser: a chart as print-size PNG and a board pack from the sidebar, opened and checked."""

import io
import re
import shutil
import struct

import pytest
from docx import Document
from playwright.sync_api import expect
from pptx import Presentation

from measures import access, boardpack, charts, detail, exports, queries
from measures.catalogue import default_catalogue
from measures.store import Store
from tests.browser import CEILING_MS, serve_app, settled, visit

pytestmark = pytest.mark.browser

PCN = "UZ0009"


@pytest.fixture(scope="module")
def demo(demo_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("browser_exports") / "demo.duckdb"
    shutil.copy(demo_db, db)  # a private copy: every export is written to its access log
    return db


@pytest.fixture(scope="module")
def app_url(demo):
    yield from serve_app(demo)


def pick_pcn(tab, app_url, code: str) -> None:
    visit(tab, f"{app_url}/overview?pcn=UZ0001")
    expect(tab.get_by_role("heading", name="National DES")).to_be_visible()
    tab.get_by_role("combobox", name="PCN").click()
    settled(tab)
    tab.get_by_role("option", name=re.compile(rf"\({code}\)")).click()
    settled(tab)
    expect(tab).to_have_url(re.compile(rf"pcn={code}"))


def download(tab, button) -> tuple[bytes, str]:
    """Click a download button and wait for the file: built on click, so a busy machine makes it take seconds."""
    with tab.expect_download(timeout=CEILING_MS) as event:
        button.click()
    data = event.value.path().read_bytes()
    settled(tab)
    return data, event.value.suggested_filename


def exported(db) -> list[list[str]]:
    return access.access_log(Store(db), action="export")[["target", "detail", "via"]].values.tolist()


def test_a_board_member_downloads_a_chart_as_print_size_png(app_url, tab, demo):
    pick_pcn(tab, app_url, PCN)
    tab.get_by_role("link", name="Measure detail").click()
    settled(tab, chart=True)
    measure_id = re.search(r"measure=([a-z0-9_]+)", tab.url).group(1)

    data, name = download(tab, tab.get_by_role("button", name="PNG", exact=True))

    measure = default_catalogue().get(measure_id)
    reading = detail.read(queries.series(Store(demo), measure_id, PCN), measure)
    figure = charts.spc_chart(reading.result, measure, "Thornbury PCN")
    assert name == exports.figure_filename(figure, "png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == exports.expected_png_size(figure) == (2481, 1680)
    assert [name, f"pcn={PCN}", "app"] in exported(demo), "every file handed out is in the access log"


def test_a_board_member_downloads_a_board_pack_from_the_sidebar(app_url, tab, demo):
    pick_pcn(tab, app_url, PCN)
    tab.get_by_text("Board pack", exact=True).click()
    settled(tab)
    button = tab.get_by_role("button", name=re.compile(r"Download board pack \(PowerPoint\)"))
    expect(button).to_be_visible()

    data, name = download(tab, button)

    assert name == f"board-pack-{PCN.lower()}-2026-09.pptx"
    expected = boardpack.build_pack(Store(demo), PCN, chart_images=False)
    titles = [slide.shapes.title.text for slide in Presentation(io.BytesIO(data)).slides]
    assert titles[0] == "Board pack: Thornbury PCN"
    summary = [t for t in titles if t.startswith("Summary")]
    appendix = [t for t in titles if t.startswith(boardpack.APPENDIX)]
    practices = [t for t in titles if t.startswith(boardpack.PRACTICES)]
    exceptions = [p.heading for p in expected.exceptions]
    assert exceptions and summary and practices and appendix
    assert titles == [titles[0], *summary, *exceptions, *practices, boardpack.MONEY, boardpack.DATA_PAGE,
                      *appendix]

    # The same section, another format: Word, with its headings.
    tab.get_by_text("Word", exact=True).click()
    settled(tab)
    word = tab.get_by_role("button", name=re.compile(r"Download board pack \(Word\)"))
    expect(word).to_be_visible()
    data, name = download(tab, word)
    assert name.endswith(".docx")
    headings = [p.text for p in Document(io.BytesIO(data)).paragraphs if p.style.name == "Heading 1"]
    assert headings == [boardpack.SUMMARY, boardpack.EXCEPTIONS, boardpack.PRACTICES, boardpack.MONEY,
                        boardpack.DATA_PAGE, boardpack.APPENDIX]
    logged = exported(demo)
    assert [f"board-pack-{PCN.lower()}-2026-09.pptx", f"pcn={PCN}", "app"] in logged
    assert [name, f"pcn={PCN}", "app"] in logged
