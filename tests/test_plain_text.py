"""Text from users and files shows as written: never as Markdown on the pages, HTML in charts, or markup in packs."""

import html
import io
import json
import re
import shutil
import string
from datetime import date

import numpy as np
import pandas as pd
import pytest
from docx import Document
from hypothesis import given
from hypothesis import strategies as st
from pptx import Presentation
from pypdf import PdfReader

from measures import annotations, boardpack, charts, compare, detail, exports, local, queries
from measures.charts_fair_share import fair_share_figure
from measures.store import Store
from measures.text import escape_markdown
from tests.apptest import chart_headings, open_app

PCN = "UZ0001"
LINK = "[click](http://evil.example/x)"
IMAGE = "![x](http://evil.example/x.png)"
ANCHOR = '<a href="http://evil.example">x</a>'
SCRIPTED_IMAGE = "<img src=x onerror=alert(1)>"
BOLD = "**bold**"
DIRECTIVE = ":red[alarm]"
MATHS = "$x$"
HOSTILE = (LINK, IMAGE, ANCHOR, SCRIPTED_IMAGE, BOLD, DIRECTIVE, MATHS)

PCN_NAME = f"Ashvale {LINK} {BOLD} {DIRECTIVE} {MATHS} <b>PCN</b>"
PRACTICE_NAME = f"{SCRIPTED_IMAGE} {ANCHOR} Surgery"
ICB_NAME = f"NHS {IMAGE} {DIRECTIVE} ICB"
MEASURE_NAME = f"Falls {IMAGE} {BOLD} reviewed"
DESCRIPTION = f"{ANCHOR} {SCRIPTED_IMAGE} {DIRECTIVE} {MATHS} and {LINK}: who was reviewed."
NUMERATOR = f"{LINK} people reviewed"
DENOMINATOR = f"{BOLD} {MATHS} people who fell"
CAVEAT = f"{IMAGE} counted from the team's log"
PUBLISHER = f"{DIRECTIVE} {SCRIPTED_IMAGE} team"
NOTE = f"{ANCHOR} {LINK} %{{meta}} {MATHS}"

WORD_JOINER = "\u2060"
# Shown as markup when not backslash-escaped: links and images, HTML, emphasis, code, maths, strikethrough, tables.
ACTIVE_CHARACTERS = set("[]<>*`$~|\\")
ACTIVE_MARKUP = ("](http://evil", "<a ", "<img", "<b>", ":red[", "$x$", "**bold**")


def hostile_form() -> dict:
    return {
        "id": "int_falls_hostile_pct", "name": MEASURE_NAME, "short_name": "", "description": DESCRIPTION,
        "family": "local_integration", "level": "pcn", "type": "proportion", "numerator": NUMERATOR,
        "denominator": DENOMINATOR, "unit": "%", "multiplier": 100.0, "decimals": 1,
        "improvement_direction": "increase", "frequency": "monthly", "fair_share": "", "scope": PCN,
        "status": "active", "tags": "falls", "caveats": CAVEAT, "publication": local.LOCAL_PUBLICATION,
        "publisher": PUBLISHER,
    }


@pytest.fixture(scope="module")
def hostile(demo_db, tmp_path_factory) -> dict:
    """A copy of the demo whose PCN, practice and ICB names, app-defined measure and chart note are hostile."""
    path = tmp_path_factory.mktemp("plain_text") / "hostile.duckdb"
    shutil.copy(demo_db, path)
    store = Store(path)
    hierarchy = queries.pcn(store, PCN)
    practice = store.query("SELECT child_code FROM memberships WHERE parent_code = ? AND child_level = 'practice' "
                           "AND end_date IS NULL ORDER BY child_code LIMIT 1", [PCN])["child_code"].iloc[0]
    with store.writer() as con:
        for code, name in ((PCN, PCN_NAME), (practice, PRACTICE_NAME), (hierarchy["icb"], ICB_NAME)):
            con.execute("UPDATE organisations SET name = ? WHERE org_code = ?", [name, code])
    local.define_measure(store, local.measure_from_form(hostile_form()), "PCN manager")
    # The note goes on a measure that needs attention, so the board pack draws its chart too.
    pack = boardpack.build_pack(store, PCN, chart_images=False)
    noted = next(page.measure_id for page in pack.exceptions if page.chart_size is not None)
    annotations.add(store, noted, PCN, date(2026, 6, 15), NOTE)
    return {"path": path, "store": store, "noted": noted, "icb": hierarchy["icb"]}


@pytest.fixture
def app(hostile, monkeypatch):
    monkeypatch.setenv("PCN_DB", str(hostile["path"]))
    return hostile


# --- what Markdown shows ----------------------------------------------------------------------------------------


def markdown_tokens(text: str) -> list[tuple[str, bool]]:
    """Each character Markdown shows, with whether a backslash made it literal (CommonMark escapes)."""
    tokens, index = [], 0
    while index < len(text):
        if text[index] == "\\" and index + 1 < len(text) and text[index + 1] in string.punctuation:
            tokens.append((text[index + 1], True))
            index += 2
        else:
            tokens.append((text[index], False))
            index += 1
    return tokens


def shown_text(text: str) -> str:
    return "".join(char for char, _ in markdown_tokens(text) if char != WORD_JOINER)


def assert_shown_literally(text: str) -> None:
    """No hostile string in `text` can render as a link, image, HTML, emphasis, directive or maths."""
    tokens = markdown_tokens(text)
    active = "".join("\0" if escaped else char for char, escaped in tokens)
    for markup in ACTIVE_MARKUP:
        assert markup not in active, f"{markup!r} would render as markup in {text!r}"
    raw = "".join(char for char, _ in tokens)
    assert not re.search(r"(?i)https?://evil|www\.evil", raw), f"a bare web address would become a link in {text!r}"
    visible = [(char, escaped) for char, escaped in tokens if char != WORD_JOINER]
    visible_text = "".join(char for char, _ in visible)
    for hostile_text in HOSTILE:
        for found in re.finditer(re.escape(hostile_text), visible_text):
            span = visible[found.start():found.end()]
            for position, (char, escaped) in enumerate(span):
                following = span[position + 1][0] if position + 1 < len(span) else ""
                if char in ACTIVE_CHARACTERS or (char == ":" and following.isalpha()):
                    assert escaped, f"{char!r} of {hostile_text!r} is not escaped in {text!r}"


@given(st.lists(st.sampled_from([*HOSTILE, "# ", "- ", "1. ", "\n", "\\", "_", ":smile:", ":material/warning:",
                                 "&amp;", "www.evil.example", " ", "a", "é", "10:30"])).map("".join) | st.text())
def test_escaped_text_shows_exactly_the_text_and_no_markup(text):
    escaped = escape_markdown(text.replace(WORD_JOINER, ""))
    assert shown_text(escaped) == text.replace(WORD_JOINER, "")
    assert_shown_literally(escaped)


def _proto_strings(message):
    for field, value in message.ListFields():
        if field.type == field.TYPE_MESSAGE:
            for item in (value if hasattr(value, "__len__") and not hasattr(value, "ListFields") else [value]):
                yield from _proto_strings(item)
        elif field.name in ("body", "label", "help") and isinstance(value, str):
            yield value
        elif field.name == "columns" and isinstance(value, str) and value.startswith("{"):
            yield from (column["help"] for column in json.loads(value).values()
                        if isinstance(column, dict) and column.get("help"))


def _nodes(node):
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


def markdown_texts(at) -> list[str]:
    """Every body, label and tooltip on the page that Streamlit renders as Markdown (not st.text or st.code)."""
    texts = []
    for node in _nodes(at._tree):
        if getattr(node, "type", None) in ("text", "code", "exception", "plotly_chart", "json"):
            continue
        if getattr(node, "proto", None) is not None:
            texts.extend(_proto_strings(node.proto))
    return texts


def assert_page_shows_literally(at, *expected: str) -> None:
    texts = markdown_texts(at)
    for text in texts:
        assert_shown_literally(text)
    shown = "\n".join(shown_text(text) for text in texts)
    for text in expected:
        assert text in shown, f"{text!r} is not shown on the page as written"


def test_the_overview_shows_names_and_a_measure_defined_in_the_app_as_written(app):
    at = open_app("pages/pcn_overview.py", pcn=PCN)
    assert [shown_text(t.value) for t in at.title] == [PCN_NAME]
    assert_page_shows_literally(at, PCN_NAME, ICB_NAME, MEASURE_NAME, DESCRIPTION, NUMERATOR, DENOMINATOR, CAVEAT)


def test_measure_detail_shows_the_pcn_name_and_chart_note_as_written(app):
    at = open_app("pages/measure_detail.py", pcn=PCN, measure=app["noted"])
    assert_page_shows_literally(at, PCN_NAME)  # in the chart's title too, shown above it
    assert any(PCN_NAME in title for title, _ in chart_headings(at))
    assert_figures_draw_text_as_written(page_figures(at), NOTE)


def test_compare_areas_shows_pcn_and_icb_names_as_written(app):
    at = open_app("pages/compare_areas.py", pcn=PCN, measure=app["noted"])
    assert_page_shows_literally(at, ICB_NAME)
    assert_figures_draw_text_as_written(page_figures(at), PCN_NAME, ICB_NAME)


def test_local_measures_shows_names_definitions_and_echoed_cells_as_written(app):
    at = open_app("pages/local_measures.py", pcn=PCN)
    at.selectbox(key="local_measure").select("int_falls_hostile_pct").run()
    assert not at.exception, at.exception
    assert_page_shows_literally(at, PCN_NAME, ICB_NAME, NUMERATOR, DENOMINATOR)
    bad = ("measure_id,period_start,org_code,numerator,denominator\n"
           f"int_falls_hostile_pct,2026-09-01,\"{LINK}\",{SCRIPTED_IMAGE},5\n").encode()
    at.file_uploader[0].set_value(("bad.csv", bad, "text/csv")).run()
    assert not at.exception, at.exception
    assert any("Nothing was saved" in e.value for e in at.error)
    assert_page_shows_literally(at, LINK)


def test_the_fair_share_tab_draws_practice_names_as_written(app):
    at = open_app("pages/local_measures.py", pcn=PCN)
    at.selectbox(key="local_measure").select("ps_arrs_hours_per_1000_weighted").run()
    assert not at.exception, at.exception
    assert_figures_draw_text_as_written(page_figures(at), PRACTICE_NAME)


# --- what Plotly draws ------------------------------------------------------------------------------------------


def figure_strings(value, key=None):
    """Every string in a figure's JSON, with the name of the field it is in."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from figure_strings(item, name)
    elif isinstance(value, (list, tuple, np.ndarray)):
        for item in value:
            yield from figure_strings(item, key)


def page_figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def assert_figures_draw_text_as_written(figures, *expected: str) -> None:
    """No text field of any figure holds live HTML, maths or a hover field from user text; the text is all there."""
    assert figures
    strings = [found for figure in figures for found in figure_strings(figure)]
    for key, text in strings:
        assert not re.search(r"(?i)<(a|img|b)\b", text), f"Plotly would draw {key} {text!r} as HTML"
        assert "$x$" not in text, f"Plotly would typeset {key} {text!r} as maths"
        if key in ("hovertemplate", "texttemplate"):
            assert "%{meta" not in text, f"Plotly would fill in a field of {key} {text!r}"
    # Plotly's own line breaks (a title wrapped to fit a phone) read as spaces; user text's `<br>` is an entity.
    drawn = "\n".join(html.unescape(text.replace("<br>", " ")) for _, text in strings)
    for text in expected:
        assert text in drawn, f"{text!r} is not drawn as written"


def hostile_measure():
    return local.measure_from_form(hostile_form())


def pcn_frame(measure) -> pd.DataFrame:
    frame = pd.DataFrame({"org": ["UZ0001", "UZ0002", "UZ0003"], "name": [PCN_NAME, PRACTICE_NAME, "Riverside PCN"],
                          "numerator": [40.0, 55.0, np.nan], "denominator": [100.0, 120.0, np.nan],
                          "suppressed": [False, False, True]})
    frame["value"] = frame["numerator"] / frame["denominator"] * measure.multiplier
    return compare.benchmarked(frame, measure, 42.0)


def test_chart_builders_draw_user_text_as_written_in_every_text_field():
    measure = hostile_measure()
    days = pd.date_range("2025-01-01", periods=14, freq="MS")
    series = pd.DataFrame({"measure": measure.id, "version": 1, "org": PCN, "period_start": days,
                           "numerator": np.arange(14) + 30.0, "denominator": 100.0})
    series["value"] = series["numerator"]
    reading = detail.read(series, measure)
    goals = pd.DataFrame({"start": [days[0]], "end": [days[-1]], "value": [45.0], "label": [f"{LINK} %{{meta}}"]})
    notes = pd.DataFrame({"date": [days[5]], "note": [NOTE]})
    frame = pcn_frame(measure)
    figures = [
        charts.spc_chart(reading.result, measure, PCN_NAME, annotations=notes, goal_lines=goals, source=PUBLISHER),
        charts.ranked_bar(frame, measure, highlight=PCN, comparator_label=ICB_NAME, comparator_value=42.0,
                          period=date(2026, 9, 1), area_label=ICB_NAME),
        charts.funnel_plot(frame, compare.funnel(frame, measure, 42.0), measure, highlight=PCN,
                           comparator_label=ICB_NAME, comparator_value=42.0, period=date(2026, 9, 1),
                           area_label=ICB_NAME),
        fair_share_figure(pd.DataFrame({"org_name": [PRACTICE_NAME, "Mill Street Surgery"],
                                        "org_code": ["Z00001", "Z00002"], "resource_share": [0.6, 0.4],
                                        "population_share": [0.5, 0.5]}),
                          measure_label=MEASURE_NAME, population="weighted population", pcn_name=PCN_NAME,
                          period_text="Sep 2026", source=PUBLISHER),
    ]
    assert_figures_draw_text_as_written([figure.to_plotly_json() for figure in figures], MEASURE_NAME, PCN_NAME,
                                        NOTE, ICB_NAME, PRACTICE_NAME, PUBLISHER, DENOMINATOR)
    # A download's file name reads the title as shown, not its entities.
    assert exports.figure_filename(figures[1], "png").startswith("falls-x-http-evil-example-x-png-bold-reviewed-nhs-x-")


# --- what the board pack says -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pack_files(hostile):
    drawn = []

    def figure_image(figure, fmt="png", **_):
        drawn.append(figure.to_plotly_json())
        return boardpack.icon_png("common_cause")  # a real PNG; kaleido's picture of the chart is not under test

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exports, "figure_image", figure_image)
        pack = boardpack.build_pack(hostile["store"], PCN, produced=date(2026, 11, 23))
    return {fmt: boardpack.render(pack, fmt) for fmt in boardpack.FORMATS}, drawn


def without_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def pptx_texts(data: bytes) -> list[str]:
    texts = []
    for slide in Presentation(io.BytesIO(data)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                texts += [p.text for p in shape.text_frame.paragraphs]
            if shape.has_table:
                texts += [cell.text for row in shape.table.rows for cell in row.cells]
        texts += slide.notes_slide.notes_text_frame.text.split("\n")
    return texts


def docx_texts(data: bytes) -> list[str]:
    document = Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                texts += [p.text for p in cell.paragraphs]
    return texts


@pytest.mark.parametrize("fmt, read", [("pdf", pdf_texts), ("pptx", pptx_texts), ("docx", docx_texts)])
def test_a_board_pack_shows_names_definitions_and_chart_notes_as_written(hostile, pack_files, fmt, read):
    files, drawn = pack_files
    assert_figures_draw_text_as_written(drawn, NOTE, PCN_NAME)  # the charts pictured in every format
    texts = read(files[fmt])
    lines = [f"PCN: {PCN_NAME} ({PCN})", f"ICB: {ICB_NAME} ({hostile['icb']})"]
    passages = [MEASURE_NAME, DESCRIPTION, NUMERATOR, DENOMINATOR, CAVEAT, NOTE]
    if fmt == "pdf":  # lines wrap on a PDF page, so its text is compared without white space
        printed = without_space("".join(texts))
        for text in lines + passages:
            assert without_space(text) in printed
        return
    for line in lines:
        assert line in texts
    for text in passages:
        assert text in "\n".join(texts)
