"""The practice-by-practice fair-share table as one HTML string: practices as rows, measures as columns, all escaped.

Only inline styles (no <style> block, no script), so the string survives `st.html`, e-mail and pasting into a
board paper. The table takes the full width of its container and wraps its headings, so it fits a desktop
screen; on a phone it scrolls sideways inside its own container, with the practice column held in view.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from . import suppression
from .practice_view import (ABOVE, BELOW, DEFAULT_TOLERANCE, IN_LINE, NO_DATA, SUPPRESSED, period_text, ratio_text,
                            tolerance_text)

TEXT = "#212B32"
MUTED = "#425563"
BORDER = "#D8DDE0"
# Tints behind dark text (contrast above 12:1 each): grey for in line, calm blue and amber for above and below;
# the band is also written in words and marked with an arrow, so colour is never the only cue.
CELL_STYLES = {
    IN_LINE: ("#E8EDEE", ""),
    ABOVE: ("#D2E3F3", "▲ "),
    BELOW: ("#FBE5C8", "▼ "),
    SUPPRESSED: ("#FFFFFF", ""),
    NO_DATA: ("#FFFFFF", ""),
}
FONT = "Arial, Helvetica, sans-serif"
PAD = "5px 6px"  # narrow cells: five measures and the practice column need about 520 pixels
SHORT_BAND = {IN_LINE: "in line", ABOVE: "above", BELOW: "below"}  # short, so columns stay narrow on a phone


def _text(value) -> str:
    return escape("" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value), quote=True)


def _sizes(font_size: int) -> dict[float, str]:
    """The table's smaller texts (0.8em to 0.9em); in large type (20 px and more) none is smaller than the rest."""
    return {size: "1em" if font_size >= 20 else f"{size}em" for size in (0.8, 0.85, 0.9)}


def _cell(row, sizes: dict[float, str]) -> str:
    name = row["band"]
    background, arrow = CELL_STYLES.get(name, ("#FFFFFF", ""))
    if name == SUPPRESSED:
        main, detail = suppression.MARK, "suppressed"
    elif name == NO_DATA:
        main, detail = "–", NO_DATA
    else:
        main, detail = ratio_text(row["ratio"]), SHORT_BAND[name]
    title = ""
    if name in (IN_LINE, ABOVE, BELOW):
        title = (f' title="{_text(row["measure_label"])}: {row["resource_share"] * 100:.1f}% of the PCN\'s total, '
                 f'fair share {row["population_share"] * 100:.1f}%"')
    arrow_html = f'<span aria-hidden="true">{arrow}</span>' if arrow else ""
    return (f'<td style="background:{background};padding:{PAD};border-right:1px solid {BORDER};'
            f'border-bottom:1px solid {BORDER};text-align:center;'
            f'vertical-align:middle"{title}>'
            f'<span style="display:block;font-size:1.05em;font-weight:bold;white-space:nowrap">{_text(main)}</span>'
            f'<span style="display:block;font-size:{sizes[0.85]};color:{MUTED};white-space:nowrap">'
            f'{arrow_html}{_text(detail)}</span></td>')


def _swatch(colour: str) -> str:
    return (f'<span aria-hidden="true" style="display:inline-block;width:0.9em;height:0.9em;background:{colour};'
            f'border:1px solid {MUTED};vertical-align:-0.1em;margin-right:0.3em"></span>')


def practice_html(matrix: pd.DataFrame, *, pcn_name: str | None = None, caption: str | None = None,
                  font_size: int = 15) -> str:
    """One HTML table of `practice_view.practice_matrix`: each cell the ratio (e.g. 1.04×) and its band in words.

    Practices are rows (a practice that left the PCN during the months is marked so), measures are columns
    (headed by label and what the fair share follows), in the order the matrix gives. Suppressed cells read `*`
    and the footnote follows the table. Every name, label and code is HTML-escaped. `font_size` (pixels) sets the
    size of every text in it; meeting mode draws it at 20 and more, and the smallest text stays at least that.
    """
    sizes = _sizes(font_size)
    tolerance = float(matrix["tolerance"].iloc[0]) if len(matrix) else DEFAULT_TOLERANCE
    measures = matrix.drop_duplicates("measure")[["measure", "measure_label", "fair_share_basis", "last_period"]]
    start = matrix["period_start"].iloc[0] if len(matrix) else None
    end = matrix["period_end"].iloc[0] if len(matrix) else None
    if caption is None:
        caption = ("What the PCN did for each practice: share of the PCN's total ÷ fair share"
                   + (f", {pcn_name}" if pcn_name else "") + f", {period_text(start, end)}")
    if matrix.empty:
        return (f'<div class="practice-fair-share" style="font-family:{FONT};color:{TEXT};font-size:{font_size}px">'
                f'<p style="margin:0 0 0.4em;font-weight:bold">{_text(caption)}</p>'
                f'<p style="margin:0;color:{MUTED}">No practice-support measure here has a fair share (the '
                f'<code>fair_share</code> field), or the PCN has no member practices.</p></div>')
    practices = matrix.drop_duplicates("org").sort_values(["member_at_end", "org_name", "org"],
                                                          ascending=[False, True, True], kind="stable")
    by_cell = {(r["org"], r["measure"]): r for r in matrix.to_dict("records")}
    # Separate borders, not collapsed: with collapsed borders the scrolled cells show through beside the sticky
    # practice column.
    cell_border = f"border-right:1px solid {BORDER};border-bottom:1px solid {BORDER}"
    first_border = f"border-left:1px solid {BORDER}"
    head = [f'<th scope="col" style="position:sticky;left:0;z-index:1;background:#FFFFFF;text-align:left;'
            f'padding:{PAD};{cell_border};{first_border};border-top:1px solid {BORDER};vertical-align:bottom">'
            f'Practice</th>']
    for m in measures.itertuples():
        head.append(f'<th scope="col" style="padding:{PAD};{cell_border};border-top:1px solid {BORDER};'
                    f'vertical-align:bottom;text-align:center;font-weight:bold;font-size:{sizes[0.9]}">'
                    f'{_text(m.measure_label)}'
                    f'<span style="display:block;font-weight:normal;font-size:{sizes[0.8]};color:{MUTED}">'
                    f'by {_text(m.fair_share_basis)}</span></th>')
    body = []
    for practice in practices.itertuples():
        moved = ("" if practice.member_at_end else
                 f'<span style="display:block;font-weight:normal;font-size:{sizes[0.8]};color:{MUTED}">'
                 f'left the PCN during these months</span>')
        cells = [f'<th scope="row" style="position:sticky;left:0;background:#FFFFFF;text-align:left;'
                 f'padding:{PAD};{cell_border};{first_border};font-weight:normal;min-width:7em">'
                 f'{_text(practice.org_name)}'
                 f'<span style="display:block;font-size:{sizes[0.8]};color:{MUTED}">{_text(practice.org)}</span>{moved}</th>']
        for m in measures.itertuples():
            row = by_cell.get((practice.org, m.measure))
            cells.append(_cell(row, sizes) if row is not None else
                         f'<td style="padding:{PAD};{cell_border};text-align:center">–</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    share = tolerance_text(tolerance)
    legend = (
        f'<p style="margin:0.6em 0 0;font-size:{sizes[0.9]};color:{TEXT}">'
        f'{_swatch(CELL_STYLES[IN_LINE][0])}in line ({escape(share)}) &nbsp; '
        f'{_swatch(CELL_STYLES[ABOVE][0])}▲ above fair share &nbsp; '
        f'{_swatch(CELL_STYLES[BELOW][0])}▼ below fair share</p>'
        f'<p style="margin:0.3em 0 0;font-size:{sizes[0.9]};color:{MUTED}">Each cell: the practice\'s share of the PCN\'s '
        f'total ÷ its fair share (1.00× is exactly its fair share). Fair share = the practice\'s share of the PCN\'s '
        f'registered (or weighted) patients; in line = within ±{tolerance * 100:g}%. Neither direction is better: '
        f'a PCN may agree to send more to a practice with greater need.</p>')
    notes = ""
    if (matrix["band"] == SUPPRESSED).any():
        notes = f'<p style="margin:0.3em 0 0;font-size:{sizes[0.9]};color:{MUTED}">{escape(suppression.footnote())}</p>'
    return (
        f'<div class="practice-fair-share" style="font-family:{FONT};color:{TEXT};font-size:{font_size}px;line-height:1.3">'
        f'<p style="margin:0 0 0.4em;font-weight:bold">{_text(caption)}</p>'
        f'<div role="region" tabindex="0" aria-label="{_text(caption)}" style="overflow-x:auto;max-width:100%">'
        f'<table aria-label="{_text(caption)}" style="border-collapse:separate;border-spacing:0;width:100%">'
        f'<thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
        f'{legend}{notes}</div>')
