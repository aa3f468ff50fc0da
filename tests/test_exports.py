"""Chart images through the warm kaleido server, formula-safe CSV and XLSX, and the download buttons on the pages."""

import csv
import io
import re
import statistics
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from measures import charts, detail, exports, queries
from measures.catalogue import default_catalogue
from measures.store import Store
from tests import apptest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE = ["=1+1", "@SUM(A1:A9)", "+44 20 7946 0000", "-cmd|' /C calc'!A0", "\tTab", "\rReturn", "Ashvale PCN"]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def spc_figure(demo_db):
    measure = default_catalogue().get("acc_08_monthly")
    reading = detail.read(queries.series(Store(demo_db), "acc_08_monthly", "UZ0003"), measure)
    return charts.spc_chart(reading.result, measure, "Ashvale PCN",
                            goal_lines=detail.goal_lines(measure, reading.result["date"].min(),
                                                         reading.result["date"].max()))


@pytest.fixture(scope="module")
def hostile_frame():
    return pd.DataFrame({
        "name": HOSTILE,
        "change": [-3.5, 1.25, 0.0, 2.0, -1.0, 3.0, 4.0],
        "count": pd.array([1, 2, 3, 4, 5, 6, None], dtype="Int64"),
        "period": pd.to_datetime(["2026-09-01"] * 7),
        "=HYPERLINK(\"x\")": ["a"] * 7,
    })


# --- images --------------------------------------------------------------------------------------------------


def test_png_is_print_size_with_the_title_inside(spc_figure):
    data = exports.figure_image(spc_figure, "png")
    # 827 CSS pixels at scale 3: 300 dpi across A4's 8.27 inches; the template's 560 px height at the same scale.
    assert png_size(data) == exports.expected_png_size(spc_figure) == (2481, 1680)


def test_svg_and_pdf_carry_title_subtitle_source_and_data_date(spc_figure):
    svg = exports.figure_image(spc_figure, "svg").decode("utf-8")
    assert svg.lstrip().startswith("<svg")
    for text in ("Booked within 2 weeks (monthly): Ashvale PCN", "XmR chart, NHSRplotthedots rules",
                 "Source: Appointments in General Practice", "Data to Sep 2026"):
        assert text in svg, text
    pdf = exports.figure_image(spc_figure, "pdf")
    assert pdf.startswith(b"%PDF")


def test_warm_exports_reuse_one_browser(spc_figure):
    exports.figure_image(spc_figure, "png")
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        exports.figure_image(spc_figure, "png")
        runs.append(time.perf_counter() - started)
    # A browser started per image costs about 2.2 s; the warm server about 0.3 s (bench/exports.py holds the
    # 500 ms target). The bound here only catches losing the warm server, on a busy shared machine.
    assert statistics.median(runs) < 1.5, runs


def test_concurrent_exports_each_get_their_own_chart():
    figures = [go.Figure(go.Scatter(y=[1, 3, i]), layout=dict(title=dict(text=f"Chart number {i}")))
               for i in range(6)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        images = list(pool.map(lambda f: exports.figure_image(f, "svg"), figures))
    for i, image in enumerate(images):
        assert f"Chart number {i}<".encode() in image


def test_unknown_image_format_is_refused(spc_figure):
    with pytest.raises(ValueError, match="png, svg, pdf"):
        exports.figure_image(spc_figure, "gif")


def test_very_tall_figures_shrink_their_scale_to_stay_within_chromium_limits():
    tall = go.Figure(layout=dict(height=20_000))
    width, height = exports.expected_png_size(tall)
    assert max(width, height) <= exports.MAX_SIDE_PX
    assert (width, height) == (round(827 * 0.8), 16_000)


def test_file_names_come_from_the_title(spc_figure):
    assert exports.figure_filename(spc_figure, "png") == "booked-within-2-weeks-monthly-ashvale-pcn.png"
    assert exports.figure_filename(go.Figure(), "svg") == "chart.svg"


# --- tables --------------------------------------------------------------------------------------------------


def test_csv_neutralises_formulas_and_keeps_numbers(hostile_frame):
    data = exports.to_csv_bytes(hostile_frame)
    assert data.startswith(b"\xef\xbb\xbf")  # Excel needs the byte-order mark to read UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    assert header[-1] == "'=HYPERLINK(\"x\")"
    names = [row[0] for row in body]
    assert names[:6] == ["'" + text for text in HOSTILE[:6]]
    assert names[6] == "Ashvale PCN"
    assert [row[1] for row in body][:2] == ["-3.5", "1.25"]
    assert body[6][2] == ""


def test_xlsx_neutralises_formulas_and_keeps_numbers_and_dates(hostile_frame):
    book = load_workbook(io.BytesIO(exports.to_xlsx_bytes(hostile_frame, "Compare: DNA rate [ICB]")))
    sheet = book.active
    assert sheet.title == "Compare  DNA rate  ICB"
    assert sheet.cell(row=1, column=5).value == "'=HYPERLINK(\"x\")"
    for row, text in enumerate(HOSTILE[:6], start=2):
        cell = sheet.cell(row=row, column=1)
        assert cell.value == "'" + text and cell.data_type == "s"
    assert sheet.cell(row=8, column=1).value == "Ashvale PCN"
    change = sheet.cell(row=2, column=2)
    assert change.value == -3.5 and change.data_type == "n"
    assert sheet.cell(row=2, column=3).value == 1 and sheet.cell(row=8, column=3).value is None
    assert sheet.cell(row=2, column=4).value.date() == date(2026, 9, 1)
    formulas = [c.coordinate for r in sheet.iter_rows() for c in r if c.data_type == "f"]
    assert formulas == []


def test_string_columns_and_plain_text_are_left_alone():
    frame = pd.DataFrame({"code": pd.array(["U00254", "-x"], dtype="string"), "note": ["fine", None]})
    safe = exports.safe_frame(frame)
    assert safe["code"].tolist() == ["U00254", "'-x"]
    assert safe["note"].tolist()[0] == "fine" and pd.isna(safe["note"].tolist()[1])
    assert frame["code"].tolist() == ["U00254", "-x"]  # the caller's frame is not changed


# --- the buttons on the pages (AppTest shows only their labels; the browser test downloads) ---------------------


def open_page(page, **params) -> AppTest:
    return apptest.open_app(page, **params)


def labels(at) -> list[str]:
    return [button.proto.label for button in at.get("download_button")]


def test_every_chart_gets_png_svg_and_pdf_buttons_and_the_sidebar_a_board_pack(app_env):
    at = open_page("pages/measure_detail.py", pcn="UZ0003", measure="acc_08")
    found = labels(at)
    assert [found.count(fmt) for fmt in ("PNG", "SVG", "PDF")] == [1, 1, 1]
    assert "Download board pack (PowerPoint)" in found
    assert {"Summary CSV", "Summary XLSX"} <= set(found)


def test_compare_page_offers_both_charts_and_its_table(app_env):
    at = open_page("pages/compare_areas.py", pcn="UZ0003", measure="dna_rate")
    for tab in ("Ranked", "Funnel plot"):  # only the open tab is drawn
        found = labels(apptest.open_tab(at, tab))
        assert len(at.get("plotly_chart")) == 1
        assert [found.count(fmt) for fmt in ("PNG", "SVG", "PDF")] == [1, 1, 1]
    assert {"CSV", "XLSX"} <= set(labels(apptest.open_tab(at, "Table")))


# --- notes dated on a chart, as a download draws them ---------------------------------------------------------

NOTE_BOX = re.compile(r'<g class="annotation"[^>]*><g class="annotation-text-g"[^>]*><g class="cursor-pointer" '
                      r'transform="translate\(([-\d.]+),([-\d.]+)\)"><rect class="bg" x="[-\d.]+" y="[-\d.]+" '
                      r'width="([\d.]+)" height="([\d.]+)".*?<text class="annotation-text"[^>]*>(.*?)</text>')


def drawn_note_boxes(fig) -> dict[str, tuple[float, float, float, float]]:
    """Each annotation's background box (left, top, right, bottom) as kaleido draws the SVG download, by its text."""
    svg = exports.figure_image(fig, "svg").decode()
    boxes = {}
    for left, top, width, height, text in NOTE_BOX.findall(svg):
        left, top = float(left), float(top)
        boxes[re.sub(r"<[^>]+>", " ", text)] = (left, top, left + float(width), top + float(height))
    return boxes


@pytest.mark.parametrize("apart", [0, 1, 2])
def test_two_chart_notes_close_together_do_not_print_over_each_other(apart):
    measure = default_catalogue().get("acc_08_monthly")
    days = pd.date_range("2024-04-01", periods=30, freq="MS")
    series = pd.DataFrame({"measure": measure.id, "version": 1, "org": "UZ0001", "period_start": days,
                           "numerator": 70.0 + (pd.RangeIndex(30) % 7), "denominator": 100.0})
    series["value"] = series["numerator"]
    reading = detail.read(series, measure)
    first, second = "New triage model began", "Extended hours began"
    notes = pd.DataFrame({"date": [days[10], days[10 + apart]], "note": [first, second]})
    fig = charts.spc_chart(reading.result, measure, "Ashvale PCN", reading=reading, annotations=notes)
    boxes = drawn_note_boxes(fig)
    (a_left, a_top, a_right, a_bottom), (b_left, b_top, b_right, b_bottom) = boxes[first], boxes[second]
    assert a_left < b_right and b_left < a_right, boxes  # the two would meet across, at print width
    assert a_bottom <= b_top or b_bottom <= a_top, boxes  # so one sits below the other
    plot_top = min(top for text, (_, top, _, _) in boxes.items() if not text.startswith("Source:"))
    assert plot_top == pytest.approx(95, abs=1)  # the first still hangs from the plot's top edge
