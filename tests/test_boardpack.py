"""Board packs: the model built from the demo, its three renderings opened and read back, and the command line."""

import io
import shutil
import struct
import time
from datetime import date

import pandas as pd
import pytest
from docx import Document
from pptx import Presentation
from pypdf import PdfReader

from measures import boardpack, detail, exports, queries
from measures.catalogue import FAMILY_LABELS, default_catalogue
from measures.cli import main
from measures.store import Store

PCN = "UZ0009"  # a demo PCN with several measures needing attention
PRODUCED = date(2026, 11, 23)


@pytest.fixture(scope="module")
def built(demo_db):
    started = time.perf_counter()
    pack = boardpack.build_pack(Store(demo_db), PCN, produced=PRODUCED)
    return pack, time.perf_counter() - started


@pytest.fixture(scope="module")
def pack(built):
    return built[0]


@pytest.fixture(scope="module")
def files(pack):
    return {fmt: boardpack.render(pack, fmt) for fmt in boardpack.FORMATS}


# --- the model ------------------------------------------------------------------------------------------------


def test_cover_names_the_pcn_icb_period_date_and_synthetic_data(pack):
    cover = pack.cover
    assert (cover.pcn_code, cover.pcn_name, cover.icb_code) == (PCN, "Thornbury PCN", "QZZ")
    assert cover.period == date(2026, 9, 1)
    assert cover.lines() == ["PCN: Thornbury PCN (UZ0009)", "ICB: NHS Synthetic Valley ICB (QZZ)",
                             f"Place: {cover.sub_icb_name}", "Period: data to September 2026",
                             "Produced: 23 November 2026"]
    assert cover.dataset_label.startswith("Synthetic demo data")


def test_summary_lists_every_measure_of_the_three_families_in_catalogue_order(pack, demo_db):
    catalogue = boardpack.effective_catalogue(Store(demo_db), PCN)
    assert [row.measure_id for row in pack.summary] == [m.id for m in catalogue if m.status != "retired"]
    assert {row.family for row in pack.summary} == set(FAMILY_LABELS.values())
    acc_08 = next(row for row in pack.summary if row.measure_id == "acc_08_monthly")
    assert acc_08.period == "Sep 2026" and acc_08.latest.endswith("%")
    assert acc_08.variation in detail.VARIATION_TEXT
    assert len(acc_08.trend) == boardpack.TREND_POINTS
    assert acc_08.sparkline_png.startswith(b"\x89PNG")


def test_an_annual_measure_reads_its_financial_year_in_the_summary_and_appendix(pack):
    yearly = next(row for row in pack.summary if row.measure_id == "acc_08")  # the IIF's April 2023 to March 2024
    assert yearly.period == "2023/24"
    definition = next(d for d in pack.definitions if d.measure_id == "acc_08")
    assert definition.data_to == "Data to 2023/24"


def test_exceptions_are_exactly_the_measures_needing_attention_with_chart_and_narrative(pack, demo_db):
    flagged = [row for row in pack.summary if row.needs_attention]
    assert len(flagged) >= 2
    assert [page.measure_id for page in pack.exceptions] == [row.measure_id for row in flagged]
    catalogue = boardpack.effective_catalogue(Store(demo_db), PCN)
    for page in pack.exceptions:
        measure = catalogue.get(page.measure_id)
        reading = detail.read(queries.series(Store(demo_db), measure.id, PCN), measure)
        assert page.narrative == detail.narrative(reading, measure, "Thornbury PCN")
        assert page.reasons and page.footnotes == tuple(measure.caveats)
        assert page.chart_png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", page.chart_png[16:24]) == page.chart_size == (2481, 1680)


def test_the_pack_is_deterministic_apart_from_its_charts_bytes(pack, demo_db):
    again = boardpack.build_pack(Store(demo_db), PCN, produced=PRODUCED, chart_images=False)
    assert again.cover == pack.cover
    assert again.summary == pack.summary
    assert [(p.heading, p.narrative, p.reasons) for p in again.exceptions] == \
        [(p.heading, p.narrative, p.reasons) for p in pack.exceptions]
    assert again.definitions == pack.definitions


def test_a_period_reads_the_data_as_of_that_month(demo_db):
    earlier = boardpack.build_pack(Store(demo_db), PCN, "2025-06", chart_images=False)
    assert earlier.cover.period == date(2025, 6, 1)
    assert earlier.cover.period_label == "June 2025"
    periods = {row.period for row in earlier.summary} - {"–"}
    starts = [pd.Timestamp(f"{p[:4]}-04-01") if "/" in p else pd.Timestamp(p) for p in periods]  # 2023/24 or Jun 2025
    assert periods and all(start <= pd.Timestamp("2025-06-01") for start in starts)
    series = queries.series(Store(demo_db), "acc_08", PCN)
    upto = series[pd.to_datetime(series["period_start"]) <= "2025-06-01"]
    row = next(r for r in earlier.summary if r.measure_id == "acc_08")
    assert row.latest == default_catalogue().get("acc_08").format_value(float(upto["value"].iloc[-1]))


@pytest.mark.parametrize("text", ["2026", "2026-13", "March 2026", "26-03"])
def test_a_malformed_period_is_refused(text):
    with pytest.raises(ValueError, match="2026-03"):
        boardpack.parse_period(text)


def test_an_unknown_pcn_is_refused(demo_db):
    with pytest.raises(ValueError, match="no PCN with code 'U99999'"):
        boardpack.build_pack(Store(demo_db), "U99999", chart_images=False)


def test_a_goal_is_missed_in_the_measures_own_direction():
    catalogue = default_catalogue()
    higher, lower = catalogue.get("acc_08"), catalogue.get("dna_rate")
    assert boardpack.misses_goal(higher, 84.0, 90.0) and not boardpack.misses_goal(higher, 91.0, 90.0)
    assert lower.improvement_direction == "decrease"
    assert boardpack.misses_goal(lower, 6.0, 5.0) and not boardpack.misses_goal(lower, 4.0, 5.0)
    assert not boardpack.misses_goal(higher, 84.0, None)
    reasons = boardpack.attention_reasons(higher, None, 80.0, date(2023, 10, 1))
    assert reasons == ("Latest value 80.0% is below the IIF upper threshold of 90.0% for 2023/24",)


def test_summary_matrix_downloads_are_formula_safe(pack):
    frame = pack.summary_frame()
    assert list(frame.columns[:3]) == ["Family", "Measure", "Measure id"]
    assert len(frame) == len(pack.summary)
    text = exports.to_csv_bytes(frame).decode("utf-8-sig")
    assert "Booked within 2 weeks" in text
    assert exports.to_xlsx_bytes(frame, "summary")[:2] == b"PK"


def test_a_full_pack_is_built_within_fifteen_seconds(built):
    pack, seconds = built
    assert len(pack.exceptions) >= 2
    assert seconds <= 15, seconds


# --- the three formats ----------------------------------------------------------------------------------------


def slide_titles(deck) -> list[str]:
    return [slide.shapes.title.text for slide in deck.slides]


def test_pptx_has_cover_summary_exceptions_and_appendix_as_editable_text(pack, files):
    deck = Presentation(io.BytesIO(files["pptx"]))
    titles = slide_titles(deck)
    assert titles[0] == "Board pack: Thornbury PCN"
    summary = [t for t in titles if t.startswith(boardpack.SUMMARY)]
    headings = [p.heading for p in pack.exceptions]
    appendix = [t for t in titles if t.startswith(boardpack.APPENDIX)]
    practices = [t for t in titles if t.startswith(boardpack.PRACTICES)]
    assert practices and titles == [titles[0], *summary, *headings, *practices, boardpack.MONEY,
                                    boardpack.DATA_PAGE, *appendix]
    assert len(summary) >= 3 and len(appendix) >= 2
    cover_text = " ".join(s.text_frame.text for s in deck.slides[0].shapes if s.has_text_frame)
    assert "UZ0009" in cover_text and "Synthetic demo data" in cover_text and "September 2026" in cover_text
    table_text = [cell.text for slide in list(deck.slides)[1:1 + len(summary)]
                  for shape in slide.shapes if shape.has_table for row in shape.table.rows for cell in row.cells]
    assert {row.measure for row in pack.summary} <= set(table_text)
    first_exception = deck.slides[1 + len(summary)]
    pictures = [s for s in first_exception.shapes if s.shape_type == 13]
    assert len(pictures) == 1  # the chart is a picture; everything else is text
    words = " ".join(s.text_frame.text for s in first_exception.shapes if s.has_text_frame)
    assert pack.exceptions[0].narrative in words


def test_docx_has_heading_1_sections_and_heading_2_pages(pack, files):
    document = Document(io.BytesIO(files["docx"]))
    by_style = lambda name: [p.text for p in document.paragraphs if p.style.name == name]  # noqa: E731
    assert by_style("Title") == ["Board pack: Thornbury PCN"]
    assert by_style("Heading 1") == [boardpack.SUMMARY, boardpack.EXCEPTIONS, boardpack.PRACTICES, boardpack.MONEY,
                                     boardpack.DATA_PAGE, boardpack.APPENDIX]
    headings = by_style("Heading 2")
    assert headings[:len(pack.exceptions)] == [p.heading for p in pack.exceptions]
    assert headings[-1] == "Data sources"
    summary = document.tables[0]
    assert len(summary.rows) == len(pack.summary) + 1
    assert summary.rows[0].cells[1].text == "Measure"
    charts = [shape for shape in document.inline_shapes if shape.width > 5_000_000]  # EMU: wider than 14 cm
    assert len(charts) == len(pack.exceptions)
    assert any("Synthetic demo data" in p.text for p in document.paragraphs)


def test_pdf_is_a_real_pdf_with_text_bookmarks_and_charts(pack, files):
    data = files["pdf"]
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("Board pack: Thornbury PCN", "NHS Synthetic Valley ICB", "Synthetic demo data",
                     *[p.heading for p in pack.exceptions], "Data sources"):
        assert expected in text, expected
    top_level = [item.title for item in reader.outline if not isinstance(item, list)]
    assert top_level == [boardpack.SUMMARY, boardpack.EXCEPTIONS, boardpack.PRACTICES, boardpack.MONEY,
                         boardpack.DATA_PAGE, boardpack.APPENDIX]
    assert reader.metadata.title == "Board pack: Thornbury PCN"
    images = sum(len(page.images) for page in reader.pages)
    assert images >= len(pack.exceptions) + len(pack.summary) // 2


def test_the_money_page_gives_the_iif_of_the_packs_year_in_every_format(pack, files, demo_db):
    from measures.contract import reads

    money = pack.money
    assert money.year == "2025/26"  # September 2026 is in 2026/27, whose IIF the rules do not yet confirm
    assert any("whose IIF points and thresholds the rules do not confirm" in n for n in money.notes)
    view = reads.money(Store(demo_db), PCN, "2025/26")
    can = next(m for m in view.indicators if m.indicator == "CAN-04")
    row = next(r for r in money.rows if r[0].startswith("CAN-04"))
    assert row[1].startswith(f"{can.achievement * 100:.1f}%") and row[2] == "65% → 80%"
    assert row[6].endswith(f"{can.patients_to_upper:,} to the upper")
    assert money.rows[-1][0] == "The year"
    deck = Presentation(io.BytesIO(files["pptx"]))
    slide = next(s for s in deck.slides if s.shapes.title.text == boardpack.MONEY)
    cells = [c.text for shape in slide.shapes if shape.has_table for r in shape.table.rows for c in r.cells]
    assert list(money.headers) == cells[:len(money.headers)] and row[6] in cells
    document = Document(io.BytesIO(files["docx"]))
    assert any(row[6] in c.text for t in document.tables for r in t.rows for c in r.cells)
    pdf = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert row[0] in pdf and "Capacity and Access Payment 2025/26" in pdf


def test_the_data_page_says_how_current_each_publication_is_and_what_is_not_recorded(pack, files, demo_db):
    from measures import data_quality

    page = pack.data
    judged = data_quality.freshness(data_quality.publications(Store(demo_db)), pack.cover.produced)
    assert [r[0] for r in page.rows] == judged["short"].tolist()
    appointments = next(r for r in page.rows if r[0] == "appointments")
    assert appointments[1] == "September 2026" and appointments[3] == "all member practices in it"
    gaps = data_quality.gap_table(data_quality.local_submissions(Store(demo_db), (PCN,), pack.cover.produced))
    assert len(page.local_gaps) == min(len(gaps), data_quality.LOCAL_GAPS_IN_PACK) + (
        len(gaps) > data_quality.LOCAL_GAPS_IN_PACK)
    deck = Presentation(io.BytesIO(files["pptx"]))
    slide = next(s for s in deck.slides if s.shapes.title.text == boardpack.DATA_PAGE)
    cells = [c.text for shape in slide.shapes if shape.has_table for r in shape.table.rows for c in r.cells]
    assert appointments[2] in cells
    pdf = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert boardpack.DATA_PAGE in pdf


def test_a_pack_with_nothing_to_flag_still_has_every_section(demo_db):
    quiet = boardpack.build_pack(Store(demo_db), PCN, chart_images=False)
    quiet = boardpack.BoardPack(quiet.cover, quiet.summary, (), quiet.definitions, quiet.sources)
    deck = Presentation(io.BytesIO(boardpack.render(quiet, "pptx")))
    assert boardpack.EXCEPTIONS in slide_titles(deck)
    assert b"%PDF" == boardpack.render(quiet, "pdf")[:4]
    document = Document(io.BytesIO(boardpack.render(quiet, "docx")))
    assert "No measure needs attention this period." in [p.text for p in document.paragraphs]


# --- the command line -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(boardpack.FORMATS))
def test_board_pack_command_writes_each_format(demo_db, tmp_path, fmt, capsys):
    db = tmp_path / "pack.duckdb"  # a copy: the command logs each pack written in the store
    shutil.copy(demo_db, db)
    out = tmp_path / f"pack.{fmt}"
    assert main(["board-pack", "--pcn", "UZ0003", "--period", "2025-06", "--db", str(db),
                 "--out", str(out)]) == 0
    data = out.read_bytes()
    if fmt == "pptx":
        assert slide_titles(Presentation(io.BytesIO(data)))[0] == "Board pack: Ashvale PCN"
    elif fmt == "docx":
        assert Document(io.BytesIO(data)).paragraphs[0].text == "Board pack: Ashvale PCN"
    else:
        assert "Ashvale PCN" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "data to June 2025" in capsys.readouterr().err


def test_board_pack_command_refuses_an_unknown_suffix_before_working(demo_db, tmp_path, capsys):
    assert main(["board-pack", "--pcn", "UZ0003", "--db", str(demo_db), "--out", str(tmp_path / "pack.txt")]) == 2
    assert "must end in .pptx, .docx or .pdf" in capsys.readouterr().err
    assert not (tmp_path / "pack.txt").exists()


def test_board_pack_help_names_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["board-pack", "--help"])
    shown = capsys.readouterr().out
    for option in ("--pcn", "--period", "--db", "--out", ".pptx, .docx or .pdf"):
        assert option in shown
