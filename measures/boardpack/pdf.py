"""The board pack as a landscape A4 PDF (reportlab): real text and tables, chart images and bookmarks."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from .. import charts
from ..contract.pack import MONEY
from ..data_quality import DATA_PAGE
from .images import icon_png
from .model import (APPENDIX, EXCEPTIONS, PRACTICES, SUMMARY, SUMMARY_COLUMNS, BoardPack, PracticePage,
                    _practice_fill, _practice_heading)


def render_pdf(pack: BoardPack) -> bytes:
    """A landscape A4 PDF (reportlab): real text and tables, chart images, and a bookmark for every heading."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import (BaseDocTemplate, Frame, Image, KeepTogether, PageBreak, PageTemplate,
                                    Paragraph, Spacer, Table, TableStyle)

    page_size = landscape(A4)
    margin = 1.5 * cm
    blue, dark_blue, grey = (colors.HexColor(c) for c in (charts.NHS_BLUE, charts.NHS_DARK_BLUE, charts.NHS_DARK_GREY))
    sheet = getSampleStyleSheet()
    styles = {
        "title": ParagraphStyle("PackTitle", parent=sheet["Title"], alignment=TA_LEFT, fontSize=30, leading=36,
                                textColor=dark_blue, spaceAfter=18),
        "h1": ParagraphStyle("Heading1", parent=sheet["Heading1"], fontSize=20, leading=24, textColor=dark_blue),
        "h2": ParagraphStyle("Heading2", parent=sheet["Heading2"], fontSize=15, leading=19, textColor=dark_blue),
        "body": ParagraphStyle("Body", parent=sheet["BodyText"], fontSize=10.5, leading=14),
        "cover": ParagraphStyle("Cover", parent=sheet["BodyText"], fontSize=15, leading=22),
        "label": ParagraphStyle("Label", parent=sheet["BodyText"], fontSize=12, leading=15, textColor=dark_blue,
                                fontName="Helvetica-Bold", spaceBefore=6),
        "cell": ParagraphStyle("Cell", parent=sheet["BodyText"], fontSize=8.5, leading=10.5),
        "cell_bold": ParagraphStyle("CellBold", parent=sheet["BodyText"], fontSize=8.5, leading=10.5,
                                    fontName="Helvetica-Bold"),
        "header": ParagraphStyle("Header", parent=sheet["BodyText"], fontSize=9, leading=11, textColor=colors.white,
                                 fontName="Helvetica-Bold"),
        "small": ParagraphStyle("Small", parent=sheet["BodyText"], fontSize=8.5, leading=11, textColor=grey),
        "banner": ParagraphStyle("Banner", parent=sheet["BodyText"], fontSize=13, leading=17,
                                 fontName="Helvetica-Bold", backColor=colors.HexColor(charts.NHS_WARM_YELLOW),
                                 borderPadding=8, spaceBefore=16),
    }

    def text(value: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(value).replace("\n", "<br/>"), styles[style])

    def plain_table(grid: list, widths: list) -> Table:
        """A table with a blue header row repeated on every page, thin grid lines and text at the top of cells."""
        table = Table(grid, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), blue),
                                   ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#AEB7BD")),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return table

    class PackDocument(BaseDocTemplate):
        def afterFlowable(self, flowable):
            # Headings become PDF bookmarks, the reader's equivalent of Word's navigation pane.
            if isinstance(flowable, Paragraph) and flowable.style.name in ("Heading1", "Heading2"):
                level = 0 if flowable.style.name == "Heading1" else 1
                key = f"h{id(flowable)}"
                self.canv.bookmarkPage(key)
                self.canv.addOutlineEntry(flowable.getPlainText(), key, level=level, closed=level > 0)

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(grey)
        canvas.drawString(margin, 0.8 * cm, pack.cover.running_footer)
        canvas.drawRightString(page_size[0] - margin, 0.8 * cm, f"Page {document.page}")
        canvas.restoreState()

    out = io.BytesIO()
    document = PackDocument(out, pagesize=page_size, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title=pack.cover.title, author="PCN dashboard",
                            subject=f"Board pack, data to {pack.cover.period_label}")
    frame = Frame(margin, margin, page_size[0] - 2 * margin, page_size[1] - 2 * margin, id="body")
    document.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=footer)])
    width = page_size[0] - 2 * margin

    story = [Spacer(1, 3 * cm), text(pack.cover.title, "title")]
    story += [text(line, "cover") for line in pack.cover.lines()]
    if pack.cover.dataset_label:
        story.append(text(pack.cover.dataset_label, "banner"))
    story.append(PageBreak())

    story.append(text(SUMMARY, "h1"))
    column_widths = [2.9 * cm, 5.0 * cm, 2.2 * cm, 1.8 * cm, 4.7 * cm, 3.5 * cm, 3.4 * cm, 3.1 * cm]

    def with_icon(kind: str | None, label: str):
        icon = icon_png(kind)
        if not icon:
            return text(label, "cell")
        inner = Table([[Image(io.BytesIO(icon), 0.42 * cm, 0.42 * cm), text(label, "cell")]],
                      colWidths=[0.6 * cm, None])
        inner.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                   ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
        return inner

    data = [[text(h, "header") for h in SUMMARY_COLUMNS + ["Trend"]]]
    style = [("BACKGROUND", (0, 0), (-1, 0), blue), ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#AEB7BD")),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    for number, row in enumerate(pack.summary, start=1):
        cells = row.cells()
        trend = Image(io.BytesIO(row.sparkline_png), 2.8 * cm, 0.71 * cm) if row.sparkline_png else text("–", "cell")
        data.append([text(cells[0], "cell"), text(cells[1], "cell_bold" if row.needs_attention else "cell"),
                     text(cells[2], "cell"), text(cells[3], "cell"), text(cells[4], "cell"),
                     with_icon(row.variation, cells[5]), with_icon(row.assurance, cells[6]), trend])
        if row.needs_attention:
            style.append(("BACKGROUND", (0, number), (-1, number), colors.HexColor("#FDF1E2")))
    summary = Table(data, colWidths=column_widths, repeatRows=1)
    summary.setStyle(TableStyle(style))
    story.append(summary)
    story.append(Spacer(1, 0.3 * cm))
    story += [text(note, "small") for note in pack.summary_notes]
    story.append(PageBreak())

    story.append(text(EXCEPTIONS, "h1"))
    story.append(text(f"{len(pack.exceptions)} of {len(pack.summary)} measures need attention this period."
                      if pack.exceptions else "No measure needs attention this period."))
    for index, page in enumerate(pack.exceptions):
        if index:
            story.append(PageBreak())
        story.append(text(page.heading, "h2"))
        story.append(text(f"{page.family} · needs attention", "small"))
        side = [text("Why it is here", "label")] + [text(f"• {r}") for r in page.reasons]
        side += [text("What the chart shows", "label"), text(page.narrative)]
        if page.notes:
            side += [text("Notes on the chart", "label")] + [text(f"• {n}") for n in page.notes]
        chart_width = 17.2 * cm
        chart = (Image(io.BytesIO(page.chart_png), chart_width, chart_width * page.chart_size[1] / page.chart_size[0])
                 if page.chart_png else text("No chart: too few points.", "small"))
        layout = Table([[chart, side]], colWidths=[chart_width + 0.4 * cm, width - chart_width - 0.4 * cm])
        layout.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
        story.append(layout)
        story += [text(f"{n}. {c}", "small") for n, c in enumerate(page.footnotes, start=1)]
    story.append(PageBreak())

    if pack.practices is not None:
        page = pack.practices
        story.append(text(PRACTICES, "h1"))
        story.append(text(_practice_heading(page)))
        if page.measures and page.practices:
            first = 5.5 * cm
            rest = (width - first) / len(page.measures)
            grid = [[text("Practice", "header")] + [text(f"{label} (by {basis})", "header")
                                                    for label, basis in page.measures]]
            shading = [("BACKGROUND", (0, 0), (-1, 0), blue),
                       ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#AEB7BD")),
                       ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
            for number, practice in enumerate(page.practices, start=1):
                name = f"{practice.name} ({practice.code})" + ("" if practice.member_at_end else
                                                               ", left the PCN during these months")
                grid.append([text(name, "cell")] + [text(PracticePage.cell_text(c, arrows=False), "cell") for c in practice.cells])
                shading += [("BACKGROUND", (column, number), (column, number), colors.HexColor(_practice_fill(c.band)))
                            for column, c in enumerate(practice.cells, start=1)]
            practice_table = Table(grid, colWidths=[first] + [rest] * len(page.measures), repeatRows=1)
            practice_table.setStyle(TableStyle(shading))
            story.append(practice_table)
        else:
            story.append(text("No practice-support measure has a fair share, or the PCN has no member practices."))
        story.append(Spacer(1, 0.3 * cm))
        story += [text(note, "small") for note in page.notes]
        story.append(PageBreak())

    if pack.money is not None:
        money = pack.money
        story += [text(MONEY, "h1"), text(money.heading)]
        grid = [[text(h, "header") for h in money.headers]]
        grid += [[text(v, "cell_bold" if n == len(money.rows) - 1 else "cell") for v in row]
                 for n, row in enumerate(money.rows)]
        money_table = plain_table(grid, [6.0 * cm, 4.5 * cm, 2.6 * cm, 3.0 * cm, 2.6 * cm, 2.6 * cm,
                                         width - 21.3 * cm])
        story += [money_table, Spacer(1, 0.3 * cm), text(money.payment_note, "label")]
        story += [text(f"{name}: {size}") for name, size in money.payments]
        story += [text(note, "small") for note in money.notes]
        story.append(PageBreak())

    if pack.data is not None:
        data = pack.data
        story += [text(DATA_PAGE, "h1"), text(data.heading)]
        grid = [[text(h, "header") for h in data.headers]] + [[text(v, "cell") for v in row] for row in data.rows]
        story.append(plain_table(grid, [5.5 * cm, 3.5 * cm, 12.0 * cm, width - 21.0 * cm]))
        if data.appointments:
            story += [Spacer(1, 0.3 * cm), text(data.appointments_heading, "label")]
            story += [text(line, "small") for line in data.appointments]
        if data.local_gaps:
            story += [Spacer(1, 0.3 * cm), text("Local values not recorded", "label")]
            story += [text(gap, "small") for gap in data.local_gaps]
        story.append(PageBreak())

    story.append(text(APPENDIX, "h1"))
    for item in pack.definitions:
        block = [text(item.heading, "h2"), text(item.family, "small")]
        block += [Paragraph(f"<b>{escape(label)}:</b> {escape(value)}", styles["body"])
                  for label, value in item.paragraphs()]
        block += [text(f"Caveat: {c}", "small") for c in item.caveats]
        story.append(KeepTogether(block[:3]))  # never a heading alone at the foot of a page
        story += block[3:]
    story.append(text("Data sources", "h2"))
    rows = [[text(h, "header") for h in ("Publication", "Publisher", "Measures", "Data date")]]
    rows += [[text(s.publication, "cell"), text(s.publisher or "–", "cell"), text(str(s.measures), "cell"),
              text(s.data_to, "cell")] for s in pack.sources]
    story.append(plain_table(rows, [12 * cm, 6.5 * cm, 2.2 * cm, width - 20.7 * cm]))
    document.build(story)
    return out.getvalue()
