"""Pure Plotly figure builders (DataFrame in, go.Figure out) and the one template every chart uses."""

# One module per job: `style` (colours, template, chart text, titles), `screens` (the layout for every screen
# down to a phone's), `spc` (one organisation's series) and `areas` (PCNs ranked, and the funnel plot). Every
# public name is importable from here, as `charts.NAME`, which is how the pages, the pack and the tests use them.

from .areas import (FUNNEL_COLOURS, FUNNEL_NEUTRAL_COLOURS, NAMED_BARS_MAX, NOT_COMPARED_COLOUR, funnel_plot,
                    highlighted, ranked_bar)
from .screens import (_WRAP, FOOTNOTE_FONT_PIXELS, FOOTNOTE_SHIFT_PIXELS, MEETING_FONT_PIXELS,  # noqa: F401
                      NARROWEST_LEGEND_PIXELS, NARROWEST_PLOT_PIXELS, PRINT_PLOT_PIXELS, SCREEN_TOP_PIXELS,
                      SUBTITLE_FONT_PIXELS, TITLE_FONT_PIXELS, TITLE_PIXELS, for_meeting, for_screens, heading,
                      copied, text_pixels, untitled, untitled_dict)
from .spc import spc_chart
from .style import (BENCHMARK_COLOURS, BENCHMARK_LABELS, FONT, FOOTER_PIXELS, FOOTNOTE_OFFSET_PIXELS, ICON_COLOURS,
                    LEGEND_OFFSET_PIXELS, NHS_BLUE, NHS_DARK_BLUE, NHS_DARK_GREY, NHS_LIGHT_BLUE, NHS_MID_GREY,
                    NHS_ORANGE, NHS_PALE_GREY, NHS_TEXT, NHS_WARM_YELLOW, NOTE_LINE_PIXELS, POINT_COLOURS,
                    POINT_LABELS, TEMPLATE_NAME, axis_title, chart_text, hover_text, titled)

__all__ = [
    "BENCHMARK_COLOURS", "BENCHMARK_LABELS", "FONT", "FOOTER_PIXELS", "FOOTNOTE_FONT_PIXELS",
    "FOOTNOTE_OFFSET_PIXELS", "FOOTNOTE_SHIFT_PIXELS", "FUNNEL_COLOURS", "FUNNEL_NEUTRAL_COLOURS", "ICON_COLOURS",
    "LEGEND_OFFSET_PIXELS", "MEETING_FONT_PIXELS", "NAMED_BARS_MAX", "NARROWEST_LEGEND_PIXELS",
    "NARROWEST_PLOT_PIXELS", "NHS_BLUE", "NHS_DARK_BLUE", "NHS_DARK_GREY", "NHS_LIGHT_BLUE", "NHS_MID_GREY",
    "NHS_ORANGE", "NHS_PALE_GREY", "NHS_TEXT", "NHS_WARM_YELLOW", "NOTE_LINE_PIXELS", "NOT_COMPARED_COLOUR",
    "POINT_COLOURS", "POINT_LABELS", "PRINT_PLOT_PIXELS", "SCREEN_TOP_PIXELS", "SUBTITLE_FONT_PIXELS",
    "TEMPLATE_NAME", "TITLE_FONT_PIXELS", "TITLE_PIXELS", "axis_title", "chart_text", "copied", "for_meeting", "for_screens",
    "funnel_plot", "heading", "highlighted", "hover_text", "ranked_bar", "spc_chart", "text_pixels", "titled",
    "untitled", "untitled_dict",
]
