"""The board pack as a 16:9 PowerPoint deck (python-pptx): editable titles, text boxes and tables."""

from __future__ import annotations

import io

from .. import charts
from ..catalogue import FAMILIES, FAMILY_LABELS
from ..contract.pack import MONEY, MoneyPage
from ..data_quality import DATA_PAGE, DataPage
from .images import icon_png
from .model import (APPENDIX, EXCEPTIONS, PRACTICES, SUMMARY, SUMMARY_COLUMNS, BoardPack, Definition, ExceptionPage,
                    PracticePage, PracticeRow, SummaryRow, _practice_fill, _practice_heading)


def _chunks(items, size: int):
    return [items[i:i + size] for i in range(0, len(items), size)] or [items[:0]]


def _continued(title: str, index: int) -> str:
    return title if index == 0 else f"{title} (continued)"


SUMMARY_ROWS_PER_SLIDE = 12
DEFINITIONS_PER_SLIDE = 4
PRACTICES_PER_SLIDE = 10


def render_pptx(pack: BoardPack) -> bytes:
    """A 16:9 deck: real titles, text boxes and tables (editable), pictures only for charts and glyphs."""
    from pptx import Presentation
    from pptx.util import Inches, Pt

    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    deck.core_properties.title = pack.cover.title
    deck.core_properties.author = "PCN dashboard"

    _pptx_cover(deck, pack)
    for family in FAMILIES:
        rows = [row for row in pack.summary if row.family == FAMILY_LABELS[family]]
        for index, chunk in enumerate(_chunks(rows, SUMMARY_ROWS_PER_SLIDE) if rows else []):
            _pptx_summary(deck, pack, chunk, _continued(f"{SUMMARY}: {FAMILY_LABELS[family]}", index))
    if pack.exceptions:
        for page in pack.exceptions:
            _pptx_exception(deck, pack, page)
    else:
        slide = _pptx_slide(deck, EXCEPTIONS)
        _pptx_text(slide, Inches(0.5), Inches(1.4), Inches(12.3), Inches(1),
                   [("No measure needs attention this period.", Pt(18), False)])
    if pack.practices is not None:
        for index, chunk in enumerate(_chunks(list(pack.practices.practices), PRACTICES_PER_SLIDE)):
            _pptx_practices(deck, pack, chunk, _continued(PRACTICES, index))
    if pack.money is not None:
        _pptx_money(deck, pack, pack.money)
    if pack.data is not None:
        _pptx_data(deck, pack, pack.data)
    for index, chunk in enumerate(_chunks(list(pack.definitions), DEFINITIONS_PER_SLIDE)):
        _pptx_definitions(deck, pack, chunk, _continued(APPENDIX, index))
    _pptx_sources(deck, pack, _continued(APPENDIX, 1))
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def _pptx_colour(hex_colour: str):
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_colour.lstrip("#"))


def _pptx_slide(deck, title: str):
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches, Pt

    slide = deck.slides.add_slide(deck.slide_layouts[5])  # "Title Only": the title stays a real title placeholder
    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.8)
    shape.text = title
    paragraph = shape.text_frame.paragraphs[0]
    paragraph.alignment = PP_ALIGN.LEFT
    paragraph.font.size = Pt(28)
    paragraph.font.bold = True
    paragraph.font.color.rgb = _pptx_colour(charts.NHS_DARK_BLUE)
    return slide


def _pptx_footer(slide, pack: BoardPack, text: str | None = None) -> None:
    from pptx.util import Inches, Pt

    _pptx_text(slide, Inches(0.5), Inches(7.0), Inches(12.3), Inches(0.35),
               [(text or pack.cover.running_footer, Pt(9), False)], colour=charts.NHS_DARK_GREY)


def _pptx_text(slide, left, top, width, height, paragraphs, colour: str = charts.NHS_TEXT, fit: bool = False):
    """A text box; `paragraphs` is a list of (text, size, bold)."""
    from pptx.enum.text import MSO_AUTO_SIZE

    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    if fit:
        frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE  # PowerPoint shrinks long notes rather than spill
    for index, (text, size, bold) in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        paragraph.text = text
        paragraph.font.size = size
        paragraph.font.bold = bold
        paragraph.font.color.rgb = _pptx_colour(colour)
        paragraph.space_after = int(size * 0.4)
    return box


def _pptx_cover(deck, pack: BoardPack) -> None:
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, pack.cover.title)
    slide.shapes.title.top, slide.shapes.title.height = Inches(2.0), Inches(1.2)
    slide.shapes.title.text_frame.paragraphs[0].font.size = Pt(40)
    band = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, deck.slide_width, Inches(0.35))
    band.fill.solid()
    band.fill.fore_color.rgb = _pptx_colour(charts.NHS_BLUE)
    band.line.fill.background()
    lines = pack.cover.lines()
    size = Pt(20) if len(lines) <= 5 else Pt(15)  # a neighbourhood's footprint and PCNs fit above the label
    _pptx_text(slide, Inches(0.5), Inches(3.3), Inches(12.3), Inches(2.4), [(line, size, False) for line in lines])
    if pack.cover.dataset_label:
        label = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(0.5), Inches(5.9), Inches(12.3), Inches(0.8))
        label.fill.solid()
        label.fill.fore_color.rgb = _pptx_colour(charts.NHS_WARM_YELLOW)
        label.line.fill.background()
        frame = label.text_frame
        frame.word_wrap = True
        frame.text = pack.cover.dataset_label
        frame.paragraphs[0].font.size = Pt(16)
        frame.paragraphs[0].font.bold = True
        frame.paragraphs[0].font.color.rgb = _pptx_colour(charts.NHS_TEXT)


def _pptx_cell(cell, text: str, size, *, bold: bool = False, fill: str | None = None, colour: str = charts.NHS_TEXT,
               indent=None) -> None:
    from pptx.enum.text import MSO_ANCHOR
    from pptx.util import Inches

    cell.text = text
    cell.vertical_anchor = MSO_ANCHOR.MIDDLE
    cell.margin_left = indent if indent is not None else Inches(0.06)
    cell.margin_right = Inches(0.04)
    cell.margin_top = cell.margin_bottom = Inches(0.02)
    for paragraph in cell.text_frame.paragraphs:
        paragraph.font.size = size
        paragraph.font.bold = bold
        paragraph.font.color.rgb = _pptx_colour(colour)
    cell.fill.solid()
    cell.fill.fore_color.rgb = _pptx_colour(fill or "#FFFFFF")


def _pptx_summary(deck, pack: BoardPack, rows: list[SummaryRow], title: str) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, title)
    widths = [1.45, 2.85, 1.05, 0.85, 2.3, 1.6, 1.5, 1.1]
    headers = SUMMARY_COLUMNS + ["Trend"]
    left, top, header_height, row_height = Inches(0.3), Inches(1.2), Inches(0.42), Inches(0.42)
    shape = slide.shapes.add_table(len(rows) + 1, len(headers), left, top, Inches(sum(widths)),
                                   header_height + row_height * len(rows))
    table = shape.table
    for column, width in zip(table.columns, widths):
        column.width = Inches(width)
    table.rows[0].height = header_height
    for index, header in enumerate(headers):
        _pptx_cell(table.cell(0, index), header, Pt(11), bold=True, fill=charts.NHS_BLUE, colour="#FFFFFF")
    icon_indent = Inches(0.4)
    for number, row in enumerate(rows, start=1):
        table.rows[number].height = row_height
        fill = "#FDF1E2" if row.needs_attention else ("#FFFFFF" if number % 2 else "#F3F6F7")
        icons = {5: icon_png(row.variation), 6: icon_png(row.assurance)}
        for index, text in enumerate(row.cells() + [""]):
            _pptx_cell(table.cell(number, index), text, Pt(9 if index in (0, 4) else 10), fill=fill,
                       bold=index == 1 and row.needs_attention, indent=icon_indent if icons.get(index) else None)
        # Pictures sit on top of their cells: python-pptx tables hold text only.
        row_top = top + header_height + row_height * (number - 1)
        column_left = [left + Inches(sum(widths[:i])) for i in range(len(widths))]
        for column, png in icons.items():
            if png:
                slide.shapes.add_picture(io.BytesIO(png), column_left[column] + Inches(0.06),
                                         row_top + (row_height - Inches(0.28)) // 2, Inches(0.28), Inches(0.28))
        if row.sparkline_png:
            slide.shapes.add_picture(io.BytesIO(row.sparkline_png), column_left[7] + Inches(0.07),
                                     row_top + (row_height - Inches(0.25)) // 2, Inches(0.96), Inches(0.245))
    notes = [pack.summary_notes[0], *([pack.suppression_note] if pack.suppression_note else [])]
    _pptx_footer(slide, pack, " ".join(notes) + "  ·  " + pack.cover.running_footer)


def _pptx_exception(deck, pack: BoardPack, page: ExceptionPage) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, page.heading)
    _pptx_text(slide, Inches(0.5), Inches(0.95), Inches(12.3), Inches(0.4),
               [(f"{page.family} · needs attention", Pt(13), False)], colour=charts.NHS_DARK_GREY)
    chart_width = Inches(8.3)
    if page.chart_png:
        width_px, height_px = page.chart_size
        slide.shapes.add_picture(io.BytesIO(page.chart_png), Inches(0.4), Inches(1.4), chart_width,
                                 int(chart_width * height_px / width_px))
    paragraphs = [("Why it is here", Pt(14), True)] + [(f"• {r}", Pt(12), False) for r in page.reasons]
    paragraphs += [("What the chart shows", Pt(14), True), (page.narrative, Pt(12), False)]
    if page.notes:
        paragraphs += [("Notes on the chart", Pt(14), True)] + [(f"• {n}", Pt(11), False) for n in page.notes]
    _pptx_text(slide, Inches(8.9), Inches(1.4), Inches(4.1), Inches(4.0), paragraphs, fit=True)
    if page.footnotes:
        _pptx_text(slide, Inches(8.9), Inches(5.45), Inches(4.1), Inches(1.5),
                   [(f"{i}. {c}", Pt(9), False) for i, c in enumerate(page.footnotes, start=1)],
                   colour=charts.NHS_DARK_GREY, fit=True)
    _pptx_footer(slide, pack)
    slide.notes_slide.notes_text_frame.text = "\n".join([page.narrative, *page.reasons, *page.footnotes])


def _pptx_practices(deck, pack: BoardPack, practices: list[PracticeRow], title: str) -> None:
    from pptx.util import Inches, Pt

    page = pack.practices
    slide = _pptx_slide(deck, title)
    _pptx_text(slide, Inches(0.5), Inches(0.95), Inches(12.3), Inches(0.4), [(_practice_heading(page), Pt(13), False)],
               colour=charts.NHS_DARK_GREY)
    if not page.measures or not practices:
        _pptx_text(slide, Inches(0.5), Inches(1.5), Inches(12.3), Inches(1),
                   [("No practice-support measure has a fair share, or the PCN has no member practices.", Pt(16),
                     False)])
        _pptx_footer(slide, pack)
        return
    first = 3.0
    other = (12.7 - first) / len(page.measures)
    shape = slide.shapes.add_table(len(practices) + 1, len(page.measures) + 1, Inches(0.3), Inches(1.45),
                                   Inches(12.7), Inches(0.6 + 0.45 * len(practices)))
    table = shape.table
    for index, column in enumerate(table.columns):
        column.width = Inches(first if index == 0 else other)
    _pptx_cell(table.cell(0, 0), "Practice", Pt(11), bold=True, fill=charts.NHS_BLUE, colour="#FFFFFF")
    for index, (label, basis) in enumerate(page.measures, start=1):
        _pptx_cell(table.cell(0, index), f"{label}\nby {basis}", Pt(10), bold=True, fill=charts.NHS_BLUE,
                   colour="#FFFFFF")
    for number, practice in enumerate(practices, start=1):
        name = f"{practice.name} ({practice.code})" + ("" if practice.member_at_end else "\nleft the PCN during "
                                                                                          "these months")
        _pptx_cell(table.cell(number, 0), name, Pt(10))
        for index, cell in enumerate(practice.cells, start=1):
            _pptx_cell(table.cell(number, index), PracticePage.cell_text(cell), Pt(11), fill=_practice_fill(cell.band))
    _pptx_footer(slide, pack, " ".join(page.notes) + "  ·  " + pack.cover.running_footer)


def _pptx_money(deck, pack: BoardPack, page: MoneyPage) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, MONEY)
    _pptx_text(slide, Inches(0.5), Inches(0.95), Inches(12.3), Inches(0.4), [(page.heading, Pt(13), False)],
               colour=charts.NHS_DARK_GREY)
    _pptx_table(slide, page.headers, page.rows, [2.6, 2.2, 1.3, 1.5, 1.2, 1.2, 2.7], row_inches=0.45,
                header_size=Pt(11), size=Pt(10.5), bold_last=True)
    lines = [page.payment_note] + [f"{name}: {size}" for name, size in page.payments]
    _pptx_text(slide, Inches(0.5), Inches(1.6 + 0.45 * (len(page.rows) + 1)), Inches(12.3), Inches(0.9),
               [(line, Pt(11), n == 0) for n, line in enumerate(lines)])
    _pptx_text(slide, Inches(0.5), Inches(4.9), Inches(12.3), Inches(2.0), [(n, Pt(9), False) for n in page.notes],
               colour=charts.NHS_DARK_GREY, fit=True)
    _pptx_footer(slide, pack)


def _pptx_table(slide, headers, rows, widths: list[float], *, row_inches: float, header_size, size,
                bold_last: bool = False) -> None:
    """A plain table under a slide's subheading: blue header row, one row per item (the last in bold when it is a
    total)."""
    from pptx.util import Inches

    shape = slide.shapes.add_table(len(rows) + 1, len(widths), Inches(0.3), Inches(1.45), Inches(sum(widths)),
                                   Inches(row_inches * (len(rows) + 1)))
    table = shape.table
    for column, width in zip(table.columns, widths):
        column.width = Inches(width)
    for index, header in enumerate(headers):
        _pptx_cell(table.cell(0, index), header, header_size, bold=True, fill=charts.NHS_BLUE, colour="#FFFFFF")
    for number, row in enumerate(rows, start=1):
        for index, value in enumerate(row):
            _pptx_cell(table.cell(number, index), value, size, bold=bold_last and number == len(rows))


def _pptx_data(deck, pack: BoardPack, page: DataPage) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, DATA_PAGE)
    _pptx_text(slide, Inches(0.5), Inches(0.95), Inches(12.3), Inches(0.4), [(page.heading, Pt(13), False)],
               colour=charts.NHS_DARK_GREY)
    _pptx_table(slide, page.headers, page.rows, [2.8, 1.6, 5.5, 2.8], row_inches=0.36, header_size=Pt(10.5),
                size=Pt(9.5))
    notes = []
    if page.appointments:
        notes += [(page.appointments_heading, Pt(11), True)] + [(a, Pt(9), False) for a in page.appointments]
    if page.local_gaps:
        notes += [("Local values not recorded", Pt(11), True)] + [(g, Pt(9), False) for g in page.local_gaps]
    if notes:
        _pptx_text(slide, Inches(0.5), Inches(1.6 + 0.36 * (len(page.rows) + 1)), Inches(12.3), Inches(1.8), notes,
                   fit=True)
    _pptx_footer(slide, pack)


def _pptx_definitions(deck, pack: BoardPack, definitions: list[Definition], title: str) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, title)
    widths = [2.6, 6.6, 3.5]
    shape = slide.shapes.add_table(len(definitions) + 1, 3, Inches(0.3), Inches(1.2), Inches(sum(widths)),
                                   Inches(0.4 + 1.3 * len(definitions)))
    table = shape.table
    table.rows[0].height = Inches(0.4)
    for row in list(table.rows)[1:]:
        row.height = Inches(1.3)
    for column, width in zip(table.columns, widths):
        column.width = Inches(width)
    for index, header in enumerate(["Measure", "Definition", "Source and data date"]):
        _pptx_cell(table.cell(0, index), header, Pt(11), bold=True, fill=charts.NHS_BLUE, colour="#FFFFFF")
    for number, item in enumerate(definitions, start=1):
        definition = f"{item.description} Numerator: {item.numerator}" + (
            f" Denominator: {item.denominator}" if item.denominator else "") + f" Unit: {item.unit}."
        source = f"{item.source}. {item.data_to}." + (f" Target or threshold: {item.goal}." if item.goal else "")
        for index, text in enumerate([f"{item.heading}\n{item.family}", definition, source]):
            _pptx_cell(table.cell(number, index), text, Pt(8 if index else 10))
        table.cell(number, 0).text_frame.paragraphs[0].font.bold = True
    _pptx_footer(slide, pack, "Each measure's caveats are in this slide's notes and in the Word and PDF packs.  ·  "
                 + pack.cover.running_footer)
    slide.notes_slide.notes_text_frame.text = "\n".join(
        f"{d.heading}: " + " ".join(d.caveats) for d in definitions if d.caveats)


def _pptx_sources(deck, pack: BoardPack, title: str) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, title)
    _pptx_text(slide, Inches(0.5), Inches(1.05), Inches(12.3), Inches(0.4), [("Data sources", Pt(16), True)])
    widths = [5.6, 3.2, 1.2, 2.7]
    shape = slide.shapes.add_table(len(pack.sources) + 1, 4, Inches(0.3), Inches(1.55), Inches(sum(widths)),
                                   Inches(0.4 * (len(pack.sources) + 1)))
    table = shape.table
    for row in table.rows:
        row.height = Inches(0.4)
    for column, width in zip(table.columns, widths):
        column.width = Inches(width)
    for index, header in enumerate(["Publication", "Publisher", "Measures", "Data date"]):
        _pptx_cell(table.cell(0, index), header, Pt(11), bold=True, fill=charts.NHS_BLUE, colour="#FFFFFF")
    for number, source in enumerate(pack.sources, start=1):
        for index, text in enumerate([source.publication, source.publisher or "–", str(source.measures),
                                      source.data_to]):
            _pptx_cell(table.cell(number, index), text, Pt(10))
    _pptx_footer(slide, pack)


# --- Word ---
