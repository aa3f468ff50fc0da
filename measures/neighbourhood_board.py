"""The neighbourhoods beside a PCN's board: each one's integration measures as board rows, labelled and in HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Iterable, Mapping
from urllib.parse import urlencode

import pandas as pd

from . import board, board_html
from .catalogue import Measure
from .neighbourhoods import LEVEL, Footprint

FAMILY = "local_integration"


@dataclass(frozen=True)
class Section:
    """One neighbourhood the PCN works in, with the integration measures it has values of."""

    footprint: Footprint
    rows: tuple[board.BoardRow, ...]
    measures: int  # integration measures set for the neighbourhood, with values or not

    @property
    def label(self) -> str:
        return self.footprint.label


def integration_measures(catalogue: Iterable[Measure], icb: str) -> list[Measure]:
    """The integration measures recorded for a neighbourhood of the ICB: national or set by the ICB, not retired."""
    return [m for m in catalogue if m.family == FAMILY and m.level == LEVEL and m.status != "retired"
            and m.scope in ("national", icb)]


def sections(footprints: Iterable[Footprint], catalogue: Iterable[Measure],
             series: Mapping[str, pd.DataFrame]) -> list[Section]:
    """A section per neighbourhood: a board row per integration measure with values in `series` (neighbourhood
    code -> tidy rows, read as the board reads a PCN's: access rules applied, small numbers suppressed)."""
    catalogue = list(catalogue)
    found = []
    for footprint in footprints:
        measures = integration_measures(catalogue, footprint.icb)
        frame = series.get(footprint.code)
        frame = frame if frame is not None else pd.DataFrame(columns=["measure"])
        rows = [row for row in board.board_rows(measures, frame, None) if row.has_data]
        found.append(Section(footprint, tuple(rows), len(measures)))
    return found


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def compare_link(measure_id: str, pcn_code: str) -> str:
    """Compare areas for the measure, across the neighbourhoods of the PCN's ICB."""
    return "compare?" + urlencode({"measure": measure_id, "pcn": pcn_code, "level": LEVEL})


def section_html(section: Section, pcn_code: str) -> str:
    """A section's rows as the board draws a family column, under the neighbourhood's label."""
    footprint = section.footprint
    if section.rows:
        items = "".join(board_html.row_html(row, pcn_code, compare_link(row.measure.id, pcn_code))
                        for row in section.rows)
    elif section.measures:
        items = '<li class="pcnb-empty">No values recorded for the neighbourhood yet.</li>'
    else:
        items = '<li class="pcnb-empty">No integration measure is set for the neighbourhood yet.</li>'
    return (f'<section class="pcnb-family pcnb-neighbourhood" data-neighbourhood="{_e(footprint.code)}">'
            f"<h2>{_e(section.label)}</h2>"
            f'<p class="pcnb-org">{_e(footprint.code)} · PCNs: {_e(", ".join(footprint.pcns))}</p>'
            f"<ul>{items}</ul></section>")


_STYLE = """
.pcnb-hoods { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 8px 20px; }
.pcnb-hoods .pcnb-org { margin: 2px 0 4px 0; font-size: 14px; }
"""


def sections_html(found: Iterable[Section], pcn_code: str) -> str:
    """Every section side by side, with the board's own style (one `st.html` element)."""
    parts = "".join(section_html(section, pcn_code) for section in found)
    return (f"<style>{board_html.STYLE}{_STYLE}</style>"
            f'<div class="pcnb"><div class="pcnb-hoods">{parts}</div></div>')
