"""Board packs for one PCN or neighbourhood and period: one format-neutral model, rendered as PowerPoint, Word, PDF."""

# Read it in this order: model (what a pack says), build (reading the store into the model), neighbourhood (the
# same for a neighbourhood), images (sparklines and icons), output (render and write a pack), then the renderers
# pptx, docx and pdf.

from ..contract.pack import MONEY, MoneyPage
from ..data_quality import DATA_PAGE, DataPage
from .build import (attention_reasons, available_periods, build_pack, effective_catalogue, misses_goal,
                    parse_period, practice_page)
from .docx import render_docx
from .images import _ICON_COLOURS, icon_png, sparkline_png
from .model import (APPENDIX, ASSURANCE_SHORT, DIRECTION_TEXT, EXCEPTIONS, METHOD_NOTE, PRACTICES, SUMMARY,
                    SUMMARY_COLUMNS, TREND_POINTS, VARIATION_SHORT, BoardPack, Cover, DataSource, Definition,
                    ExceptionPage, PracticeCell, PracticePage, PracticeRow, SummaryRow)
from .neighbourhood import build_neighbourhood_pack, neighbourhood_periods
from .output import FORMAT_LABELS, FORMATS, format_of, render, write_pack
from .pdf import render_pdf
from .pptx import DEFINITIONS_PER_SLIDE, PRACTICES_PER_SLIDE, SUMMARY_ROWS_PER_SLIDE, render_pptx

__all__ = [
    "APPENDIX", "ASSURANCE_SHORT", "DATA_PAGE", "DataPage", "DEFINITIONS_PER_SLIDE", "DIRECTION_TEXT", "EXCEPTIONS", "FORMATS",
    "FORMAT_LABELS", "METHOD_NOTE", "MONEY", "PRACTICES", "PRACTICES_PER_SLIDE", "SUMMARY", "SUMMARY_COLUMNS",
    "SUMMARY_ROWS_PER_SLIDE", "TREND_POINTS", "VARIATION_SHORT", "BoardPack", "Cover", "DataSource", "Definition",
    "ExceptionPage", "MoneyPage", "PracticeCell", "PracticePage", "PracticeRow", "SummaryRow", "_ICON_COLOURS",
    "attention_reasons", "available_periods", "build_neighbourhood_pack", "build_pack", "effective_catalogue",
    "format_of", "icon_png", "misses_goal", "neighbourhood_periods", "parse_period", "practice_page", "render",
    "render_docx", "render_pdf", "render_pptx",
    "sparkline_png", "write_pack",
]
