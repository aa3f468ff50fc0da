"""The board pack as a landscape A4 Word document (python-docx), its headings listed in the navigation pane."""

from __future__ import annotations

import io

from .. import charts
from ..contract.pack import MONEY, MoneyPage
from ..data_quality import DATA_PAGE, DataPage
from .images import icon_png
from .model import (APPENDIX, EXCEPTIONS, PRACTICES, SUMMARY, SUMMARY_COLUMNS, BoardPack, PracticePage,
                    _practice_fill, _practice_heading)


def render_docx(pack: BoardPack) -> bytes:
    """A landscape A4 document with Heading 1 and Heading 2 styles, so Word's navigation pane lists every page."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_BREAK, WD_COLOR_INDEX
    from docx.shared import Cm, Pt, RGBColor

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    document.core_properties.title = pack.cover.title
    document.core_properties.author = "PCN dashboard"
    styles = document.styles
    styles["Normal"].font.name = "Arial"
    styles["Normal"].font.size = Pt(10.5)
    for name, size in (("Title", 30), ("Heading 1", 20), ("Heading 2", 15)):
        styles[name].font.name = "Arial"
        styles[name].font.size = Pt(size)
        styles[name].font.color.rgb = RGBColor.from_string(charts.NHS_DARK_BLUE.lstrip("#"))
    footer = section.footer.paragraphs[0]
    footer.text = pack.cover.running_footer
    footer.runs[0].font.size = Pt(8)

    def page_break():
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def small(text: str, italic: bool = False):
        paragraph = document.add_paragraph()
        run = paragraph.add_run(text)
        run.font.size = Pt(8.5)
        run.italic = italic
        run.font.color.rgb = RGBColor.from_string(charts.NHS_DARK_GREY.lstrip("#"))
        return paragraph

    # Cover
    document.add_paragraph(pack.cover.title, style="Title")
    for line in pack.cover.lines():
        document.add_paragraph(line).runs[0].font.size = Pt(14)
    if pack.cover.dataset_label:
        run = document.add_paragraph().add_run(pack.cover.dataset_label)
        run.bold = True
        run.font.size = Pt(13)
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW  # the label must not be missed when printed
    page_break()

    # Summary matrix
    document.add_heading(SUMMARY, level=1)
    headers = SUMMARY_COLUMNS + ["Trend"]
    widths = [Cm(2.9), Cm(5.0), Cm(2.0), Cm(1.8), Cm(4.3), Cm(3.9), Cm(3.3), Cm(2.9)]
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    _docx_header_row(table, headers, widths)
    _docx_widths(table, widths)
    for row in pack.summary:
        cells = table.add_row().cells
        for index, text in enumerate(row.cells()):
            paragraph = cells[index].paragraphs[0]
            icon = icon_png(row.variation) if index == 5 else icon_png(row.assurance) if index == 6 else None
            if icon:
                paragraph.add_run().add_picture(io.BytesIO(icon), width=Cm(0.42))
            run = paragraph.add_run(("\u00a0" if icon else "") + text)
            run.font.size = Pt(8.5)
            run.bold = index == 1 and row.needs_attention
            if row.needs_attention:
                _docx_shade(cells[index], "FDF1E2")
        if row.sparkline_png:
            cells[7].paragraphs[0].add_run().add_picture(io.BytesIO(row.sparkline_png), width=Cm(2.2))
        if row.needs_attention:
            _docx_shade(cells[7], "FDF1E2")
        for cell, width in zip(cells, widths):
            cell.width = width
    for note in pack.summary_notes:
        small(note)
    page_break()

    # One page per exception
    document.add_heading(EXCEPTIONS, level=1)
    document.add_paragraph(f"{len(pack.exceptions)} of {len(pack.summary)} measures need attention this period."
                           if pack.exceptions else "No measure needs attention this period.")
    for index, page in enumerate(pack.exceptions):
        if index:
            page_break()
        document.add_heading(page.heading, level=2)
        small(f"{page.family} · needs attention")
        layout = document.add_table(rows=1, cols=2)
        _docx_widths(layout, [Cm(16.4), Cm(10.2)])
        chart_cell, text_cell = layout.rows[0].cells
        if page.chart_png:
            chart_cell.paragraphs[0].add_run().add_picture(io.BytesIO(page.chart_png), width=Cm(15.8))
        _docx_label(text_cell.paragraphs[0], "Why it is here")
        for reason in page.reasons:
            text_cell.add_paragraph(reason, style="List Bullet")
        _docx_label(text_cell.add_paragraph(), "What the chart shows")
        text_cell.add_paragraph(page.narrative)
        if page.notes:
            _docx_label(text_cell.add_paragraph(), "Notes on the chart")
            for note in page.notes:
                text_cell.add_paragraph(note, style="List Bullet")
        if page.footnotes:
            _docx_label(text_cell.add_paragraph(), "Caveats")
        for number, caveat in enumerate(page.footnotes, start=1):
            run = text_cell.add_paragraph().add_run(f"{number}. {caveat}")
            run.font.size = Pt(8.5)
            run.font.color.rgb = RGBColor.from_string(charts.NHS_DARK_GREY.lstrip("#"))
    page_break()

    if pack.practices is not None:
        _docx_practices(document, pack.practices, small)
        page_break()
    if pack.money is not None:
        _docx_money(document, pack.money, small)
        page_break()
    if pack.data is not None:
        _docx_data(document, pack.data, small)
        page_break()

    # Appendix
    document.add_heading(APPENDIX, level=1)
    for item in pack.definitions:
        document.add_heading(item.heading, level=2)
        small(item.family)
        for label, text in item.paragraphs():
            paragraph = document.add_paragraph()
            paragraph.add_run(f"{label}: ").bold = True
            paragraph.add_run(text)
            paragraph.paragraph_format.space_after = Pt(2)
        for caveat in item.caveats:
            small(f"Caveat: {caveat}", italic=True)
    document.add_heading("Data sources", level=2)
    sources = document.add_table(rows=1, cols=4)
    sources.style = "Table Grid"
    source_widths = [Cm(12), Cm(6.5), Cm(2.2), Cm(5.5)]
    _docx_header_row(sources, ["Publication", "Publisher", "Measures", "Data date"], source_widths)
    _docx_widths(sources, source_widths)
    for source in pack.sources:
        cells = sources.add_row().cells
        for cell, text, width in zip(cells, [source.publication, source.publisher or "–", str(source.measures),
                                             source.data_to], source_widths):
            cell.paragraphs[0].add_run(text).font.size = Pt(9)
            cell.width = width
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _docx_practices(document, page: PracticePage, small) -> None:
    from docx.shared import Cm, Pt

    document.add_heading(PRACTICES, level=1)
    document.add_paragraph(_practice_heading(page))
    if not page.measures or not page.practices:
        document.add_paragraph("No practice-support measure has a fair share, or the PCN has no member practices.")
        return
    first = Cm(5.5)
    widths = [first] + [Cm((26.7 - 5.5) / len(page.measures))] * len(page.measures)
    table = document.add_table(rows=1, cols=len(widths))
    table.style = "Table Grid"
    _docx_header_row(table, ["Practice"] + [f"{label} (by {basis})" for label, basis in page.measures], widths)
    _docx_widths(table, widths)
    for practice in page.practices:
        cells = table.add_row().cells
        name = cells[0].paragraphs[0].add_run(f"{practice.name} ({practice.code})"
                                              + ("" if practice.member_at_end else ", left the PCN during these "
                                                                                   "months"))
        name.font.size = Pt(9.5)
        for cell, value in zip(cells[1:], practice.cells):
            run = cell.paragraphs[0].add_run(PracticePage.cell_text(value))
            run.font.size = Pt(9.5)
            _docx_shade(cell, _practice_fill(value.band).lstrip("#"))
        for cell, width in zip(cells, widths):
            cell.width = width
    for note in page.notes:
        small(note)


def _docx_money(document, page: MoneyPage, small) -> None:
    from docx.shared import Cm, Pt

    document.add_heading(MONEY, level=1)
    document.add_paragraph(page.heading)
    widths = [Cm(6.0), Cm(4.5), Cm(2.6), Cm(3.0), Cm(2.6), Cm(2.6), Cm(5.4)]
    table = document.add_table(rows=1, cols=len(widths))
    table.style = "Table Grid"
    _docx_header_row(table, list(page.headers), widths)
    _docx_widths(table, widths)
    for number, row in enumerate(page.rows, start=1):
        cells = table.add_row().cells
        for cell, value, width in zip(cells, row, widths):
            run = cell.paragraphs[0].add_run(value)
            run.font.size = Pt(9.5)
            run.bold = number == len(page.rows)
            cell.width = width
    document.add_paragraph().add_run(page.payment_note).bold = True
    for name, size in page.payments:
        document.add_paragraph(f"{name}: {size}")
    for note in page.notes:
        small(note)


def _docx_data(document, page: DataPage, small) -> None:
    from docx.shared import Cm, Pt

    document.add_heading(DATA_PAGE, level=1)
    document.add_paragraph(page.heading)
    widths = [Cm(5.5), Cm(3.5), Cm(12.0), Cm(5.7)]
    table = document.add_table(rows=1, cols=len(widths))
    table.style = "Table Grid"
    _docx_header_row(table, list(page.headers), widths)
    _docx_widths(table, widths)
    for row in page.rows:
        cells = table.add_row().cells
        for cell, value, width in zip(cells, row, widths):
            cell.paragraphs[0].add_run(value).font.size = Pt(9.5)
            cell.width = width
    if page.appointments:
        document.add_paragraph().add_run(page.appointments_heading).bold = True
        for line in page.appointments:
            small(line)
    if page.local_gaps:
        document.add_paragraph().add_run("Local values not recorded").bold = True
        for gap in page.local_gaps:
            small(gap)


def _docx_shade(cell, hex_fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), hex_fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _docx_widths(table, widths) -> None:
    # Word reads the cell widths, LibreOffice the grid's: set both, and stop autofit from undoing them.
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width


def _docx_header_row(table, headers: list[str], widths) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    row = table.rows[0]
    # Repeat the header row on every printed page of a long table.
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(repeat)
    for cell, header, width in zip(row.cells, headers, widths):
        run = cell.paragraphs[0].add_run(header)
        run.bold = True
        run.font.size = Pt(9)
        run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
        _docx_shade(cell, charts.NHS_BLUE.lstrip("#"))
        cell.width = width


def _docx_label(paragraph, text: str) -> None:
    from docx.shared import Pt, RGBColor

    run = paragraph.add_run(text)
    run.bold = True
    run.font.size = Pt(12)
    run.font.color.rgb = RGBColor.from_string(charts.NHS_DARK_BLUE.lstrip("#"))


# --- PDF ---
