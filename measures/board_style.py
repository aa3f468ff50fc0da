"""The board's style sheets: the compact board, meeting mode's large type and the one-measure screens."""

from __future__ import annotations

from . import charts
from .board_svg import ICON_SIZE, MUTED_COLOUR, NARROW_SPARK_WIDTH, SPARK_HEIGHT, SPARK_WIDTH, TEXT_COLOUR

MEETING_ICON = 30
BIG_ICON = 64

ROOT_ID = "pcn-board"

# The Compare page's Fingertips colours; text on each chosen for contrast.
VERDICT_COLOURS = {outcome: charts.BENCHMARK_COLOURS[outcome]
                   for outcome in ("better", "similar", "worse", "higher", "lower")}
_VERDICT_TEXT_COLOURS = {"better": "#FFFFFF", "similar": TEXT_COLOUR, "worse": TEXT_COLOUR,
                         "higher": TEXT_COLOUR, "lower": "#FFFFFF"}

STYLE = f"""
/* Streamlit keeps 10rem under every page for a chat input; the board has none, and it must fit one screen. */
[data-testid="stMainBlockContainer"]:has(#{ROOT_ID}) {{ padding-top: 4rem; padding-bottom: 1rem; }}
.pcnb {{ container-type: inline-size; color: {TEXT_COLOUR}; font-size: 15px; line-height: 1.22; }}
.pcnb * {{ box-sizing: border-box; }}
.pcnb-head {{ display: flex; flex-wrap: wrap; align-items: baseline; column-gap: 14px; margin: 0 0 8px 0; }}
.pcnb-head h1 {{ font-size: 28px; font-weight: 700; line-height: 1.2; margin: 0; padding: 0; color: {TEXT_COLOUR}; }}
.pcnb-org {{ font-size: 15px; color: {MUTED_COLOUR}; }}
.pcnb-heading .pcnb-head {{ margin: 0; }}
.pcnb-cols {{ display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); grid-template-rows: auto 1fr;
  grid-template-areas: "national integration support" "national legend legend"; gap: 0 20px; align-items: start; }}
.pcnb-national {{ grid-area: national; }} .pcnb-integration {{ grid-area: integration; }}
.pcnb-support {{ grid-area: support; }} .pcnb-legend {{ grid-area: legend; }}
.pcnb-family h2 {{ font-size: 18px; font-weight: 700; line-height: 1.3; margin: 0; padding: 0 0 2px 0;
  border-bottom: 2px solid {charts.NHS_BLUE}; color: {TEXT_COLOUR}; }}
.pcnb-family ul {{ list-style: none; margin: 0; padding: 0; }}
.pcnb-family li {{ margin: 0; padding: 0; }}
.pcnb-family li::marker {{ content: none; }}
.pcnb-row {{ display: grid; grid-template-columns: minmax(0, 1fr) auto {SPARK_WIDTH}px;
  grid-template-areas: "name icons spark" "meta icons spark"; column-gap: 8px; align-items: center;
  padding: 1px 4px; border-bottom: 1px solid {charts.NHS_PALE_GREY}; color: {TEXT_COLOUR};
  text-decoration: none; }}
.pcnb-row:hover, .pcnb-row:focus-visible {{ background: #F0F4F5; color: {TEXT_COLOUR}; text-decoration: none; }}
.pcnb-row:focus-visible {{ outline: 3px solid {charts.NHS_WARM_YELLOW}; outline-offset: -1px; }}
.pcnb-name {{ grid-area: name; font-size: 16px; font-weight: 600; overflow-wrap: anywhere; }}
.pcnb-meta {{ grid-area: meta; font-size: 15px; color: {MUTED_COLOUR}; overflow-wrap: anywhere; }}
.pcnb-value {{ font-size: 16px; font-weight: 700; font-variant-numeric: tabular-nums; color: {TEXT_COLOUR}; }}
.pcnb-nodata {{ font-weight: 400; color: {MUTED_COLOUR}; }}
.pcnb-icons {{ grid-area: icons; display: flex; gap: 3px; }}
.pcnb-icon {{ display: block; width: {ICON_SIZE}px; height: {ICON_SIZE}px; }}
.pcnb-spark {{ grid-area: spark; display: block; width: {SPARK_WIDTH}px; height: {SPARK_HEIGHT}px; }}
.pcnb-icb {{ white-space: nowrap; }}
.pcnb-caveat {{ white-space: nowrap; color: {MUTED_COLOUR}; }}
.pcnb-verdict {{ display: inline-block; padding: 0 6px; border-radius: 9px; font-weight: 600; line-height: 1.25; }}
""" + "".join(
    f".pcnb-{outcome} {{ background: {colour}; color: {_VERDICT_TEXT_COLOURS[outcome]}; }}\n"
    for outcome, colour in VERDICT_COLOURS.items()) + f"""
.pcnb-not-compared {{ font-style: italic; }}
.pcnb-legend {{ margin-top: 10px; padding-top: 6px; border-top: 1px solid {charts.NHS_PALE_GREY}; font-size: 15px;
  color: {MUTED_COLOUR}; }}
.pcnb-legend p {{ margin: 0 0 6px 0; }}
.pcnb-legend-icon {{ display: inline-block; width: 18px; height: 18px; vertical-align: -4px; margin-right: 1px; }}
/* Narrow screens: the families stack, then the trend narrows (after the rules they override). */
@container (max-width: 860px) {{
  .pcnb-cols {{ grid-template-columns: minmax(0, 1fr); grid-template-rows: none;
    grid-template-areas: "national" "integration" "support" "legend"; gap: 14px; }}
}}
@container (max-width: 480px) {{
  .pcnb-row {{ grid-template-columns: minmax(0, 1fr) auto {NARROW_SPARK_WIDTH}px; column-gap: 6px; }}
  .pcnb-spark {{ width: {NARROW_SPARK_WIDTH}px; }}
}}
"""


# Applied by the page in meeting mode: Streamlit's own text is sized in rem, so a larger root makes every
# widget, banner and caption large too; the sidebar and its opening control are not drawn at all.
MEETING_PAGE_STYLE = """
html { font-size: 20px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarCollapseButton"] { display: none !important; }
[data-testid="stHeader"] { display: none; }
[data-testid="stMainBlockContainer"][data-testid] { padding-top: 1rem !important; padding-bottom: 1rem; max-width: none; }
[data-testid="stAlertContainer"] { padding-top: 0.5rem; padding-bottom: 0.5rem; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 1rem; }
/* Buttons, toggles and their shortcut hints are drawn at 0.875rem: in a meeting they are body text too. */
[data-testid="stMain"] :is(button, button *, label, label *) { font-size: 1rem !important; }
"""

MEETING_STYLE = STYLE + f"""
.pcnb-meeting {{ font-size: 20px; line-height: 1.25; }}
.pcnb-meeting .pcnb-head h1 {{ font-size: 36px; }}
.pcnb-meeting .pcnb-org {{ font-size: 20px; }}
.pcnb-meeting .pcnb-cols {{ grid-template-rows: auto 1fr; gap: 0 28px; }}
.pcnb-meeting .pcnb-family h2 {{ font-size: 24px; }}
/* No sparkline in a meeting: the icons carry the chart's reading, and the names need the width. */
.pcnb-meeting .pcnb-row {{ grid-template-columns: minmax(0, 1fr) auto auto auto;
  grid-template-areas: "name value chip icons"; padding: 2px 4px; column-gap: 10px; }}
.pcnb-meeting .pcnb-row .pcnb-spark {{ display: none; }}
.pcnb-meeting .pcnb-name {{ font-size: 20px; }}
.pcnb-meeting .pcnb-value {{ grid-area: value; font-size: 20px; text-align: right; }}
.pcnb-meeting .pcnb-chip {{ grid-area: chip; min-width: 4.4em; text-align: center; }}
.pcnb-meeting .pcnb-icon {{ width: {MEETING_ICON}px; height: {MEETING_ICON}px; }}
.pcnb-meeting .pcnb-row[data-attention] .pcnb-name::after {{ content: " ›"; color: {MUTED_COLOUR}; }}
.pcnb-meeting .pcnb-legend {{ font-size: 20px; }}
.pcnb-meeting .pcnb-legend-icon {{ width: 24px; height: 24px; vertical-align: -5px; }}
/* A laptop's screen: two columns, so that the names of large type keep a readable width. */
@container (max-width: 1300px) {{
  .pcnb-meeting .pcnb-cols {{ grid-template-columns: repeat(2, minmax(0, 1fr)); grid-template-rows: auto auto 1fr;
    grid-template-areas: "national integration" "national support" "national legend"; gap: 0 24px; }}
  .pcnb-meeting .pcnb-support {{ margin-top: 14px; }}
}}
@container (max-width: 860px) {{
  .pcnb-meeting .pcnb-cols {{ grid-template-columns: minmax(0, 1fr); grid-template-rows: none;
    grid-template-areas: "national" "integration" "support" "legend"; gap: 14px; }}
}}
@container (max-width: 480px) {{
  .pcnb-meeting .pcnb-row {{ grid-template-columns: minmax(0, 1fr) auto auto;
    grid-template-areas: "name name name" "value chip icons"; }}
}}
.pcnm {{ color: {TEXT_COLOUR}; font-size: 22px; line-height: 1.3; container-type: inline-size; }}
.pcnm * {{ box-sizing: border-box; }}
.pcnm h1 {{ font-size: 40px; font-weight: 700; line-height: 1.15; margin: 0; padding: 0; color: {TEXT_COLOUR}; }}
.pcnm-family {{ font-size: 22px; color: {MUTED_COLOUR}; margin: 2px 0 10px 0; }}
.pcnm-facts {{ display: flex; flex-wrap: wrap; align-items: center; gap: 10px 28px; }}
.pcnm-value {{ font-size: 56px; font-weight: 700; line-height: 1; font-variant-numeric: tabular-nums; }}
.pcnm-period {{ font-size: 22px; color: {MUTED_COLOUR}; }}
.pcnm-icon {{ display: flex; align-items: center; gap: 10px; max-width: 24em; }}
.pcnm-icon img {{ width: {BIG_ICON}px; height: {BIG_ICON}px; flex: none; }}
.pcnm h2 {{ font-size: 26px; font-weight: 700; margin: 18px 0 6px 0; padding: 0; color: {TEXT_COLOUR}; }}
.pcnm ul {{ margin: 0; padding-left: 1.1em; }}
.pcnm li {{ margin: 0 0 6px 0; }}
.pcnm p {{ margin: 0 0 8px 0; }}
.pcnm-muted {{ color: {MUTED_COLOUR}; }}
"""
