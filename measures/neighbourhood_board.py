"""A neighbourhood's board rows, and their HTML: on its own board, and beside the board of each PCN it reaches."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Iterable, Mapping
from urllib.parse import urlencode

import pandas as pd

from . import board, board_html, suppression
from .catalogue import Measure
from .neighbourhoods import LEVEL, READ_AS_PRACTICE, Footprint, board_series

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
        found.append(section(footprint, board.board_rows(measures, frame, None), len(measures)))
    return found


def section(footprint: Footprint, rows: Iterable[board.BoardRow], measures: int) -> Section:
    """A neighbourhood's section from its board rows (`board_rows`): those with values, of `measures` set."""
    return Section(footprint, tuple(row for row in rows if row.has_data), measures)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def compare_link(measure_id: str, pcn_code: str) -> str:
    """Compare areas for the measure, across the neighbourhoods of the PCN's ICB."""
    return "compare?" + urlencode({"measure": measure_id, "pcn": pcn_code, "level": LEVEL})


def board_link(code: str, pcn_code: str) -> str:
    """The neighbourhood's own board, with the PCN kept (its ICB's neighbourhoods are the ones offered)."""
    return "neighbourhood?" + urlencode({"neighbourhood": code, "pcn": pcn_code})


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
            f'<h2><a class="pcnb-hood-link" href="{_e(board_link(footprint.code, pcn_code))}" '
            f'title="The neighbourhood\'s own board">{_e(section.label)}</a></h2>'
            f'<p class="pcnb-org">{_e(footprint.code)} · PCNs: {_e(", ".join(footprint.pcns))}</p>'
            f"<ul>{items}</ul></section>")


_STYLE = """
.pcnb-method { margin: 2px 0 0 0; font-size: 14px; }
.pcnb-hoods { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 8px 20px; }
.pcnb-hood-link { color: inherit; text-decoration: underline 1px; text-underline-offset: 3px; }
.pcnb-hood-link:hover, .pcnb-hood-link:focus-visible { text-decoration-thickness: 2px; }
.pcnb-hoods .pcnb-org { margin: 2px 0 4px 0; font-size: 14px; }
"""


def sections_html(found: Iterable[Section], pcn_code: str) -> str:
    """Every section side by side, with the board's own style (one `st.html` element)."""
    parts = "".join(section_html(section, pcn_code) for section in found)
    return (f"<style>{board_html.STYLE}{_STYLE}</style>"
            f'<div class="pcnb"><div class="pcnb-hoods">{parts}</div></div>')


# --- a neighbourhood's own board ------------------------------------------------------------------------------


def picker_order(hoods: pd.DataFrame, own: Iterable[str]) -> list[str]:
    """The ICB's neighbourhoods (`neighbourhoods.neighbourhoods`, by name) with those in `own` first."""
    own = set(own)
    codes = list(hoods["neighbourhood"])
    return [c for c in codes if c in own] + [c for c in codes if c not in own]


def practice_spread(rows: pd.DataFrame, measures: Iterable[Measure], code: str) -> pd.DataFrame:
    """For each measure whose PCN value is 1 by construction, its member practices' values in the latest period
    of the neighbourhood's sum (as `queries.practice_spread` has a PCN's): the board shows their range instead.

    Rows carry `neighbourhoods.READ_AS_PRACTICE` when `rows` do: `board_rows` hides those the reader may not
    read as their PCN's.
    """
    columns = ["measure", "version", "org", "period_start", "numerator", "denominator", "value"]
    wanted = [m.id for m in measures if board.pcn_value_is_one(m)]
    if rows is None or rows.empty or not wanted:
        return pd.DataFrame(columns=columns)
    practices = rows[rows["measure"].isin(wanted) & (rows["org"] != code) & rows["value"].notna()]
    if practices.empty:
        return pd.DataFrame(columns=columns)
    latest = practices[practices["period_start"] == practices.groupby("measure")["period_start"].transform("max")]
    return latest[[*columns, *([READ_AS_PRACTICE] if READ_AS_PRACTICE in latest else [])]].reset_index(drop=True)


def suppressed_series(rows: pd.DataFrame, measures, code: str, rules: Mapping,
                      below: int | None = None) -> pd.DataFrame:
    """`neighbourhoods.board_series` of the raw rows the reader may read, small numbers suppressed as a PCN's
    are: a sum also where its practices would give one of them away (`below`: the threshold, None the setting)."""
    series = suppression.suppress(board_series(rows, measures, code), rules, below=below)
    practices = rows[rows["org"] != code].assign(pcn=code) if len(rows) else rows.assign(pcn=None)
    return suppression.suppress_totals(series, practices, rules, below=below)


def board_rows(measures, rows: pd.DataFrame, code: str, rules: Mapping, below: int) -> list[board.BoardRow]:
    """The neighbourhood's board rows from the raw rows the reader may read (`neighbourhoods.readable`): each
    practice-level measure the sum of its practices, each neighbourhood-level one its recorded values
    (`suppressed_series`). No comparator."""
    series = suppressed_series(rows, measures, code, rules, below)
    spread = suppression.suppress(practice_spread(rows, measures, code), rules,
                                  secondary=("measure", "version", "period_start"), below=below)
    if READ_AS_PRACTICE in spread:
        # A single practice's value is its PCN's, not the neighbourhood's: one the reader may not read as its
        # PCN's is left out of the range, as a suppressed one is ("across 4 of 10 practices").
        unread = ~spread[READ_AS_PRACTICE].astype(bool)
        spread = spread.assign(**{suppression.FLAG: spread[suppression.FLAG].astype(bool) | unread,
                                  "value": spread["value"].where(~unread)})
    return board.board_rows(measures, series, None, practice_spread=spread)


METHOD = ("Practice-level measures: the sum of the member practices' numerators and denominators at each "
          "period's last day, and the value they give; neighbourhood measures: the values recorded for it.")


def heading_html(footprint: Footprint | None, code: str, name: str, pcn_names: Mapping[str, str]) -> str:
    """The neighbourhood's label, code, member PCNs by name, its practices today, and how its values are made."""
    label = footprint.label if footprint is not None else (
        name if name.lower().endswith("neighbourhood") else f"{name} neighbourhood")
    if footprint is None:
        reach = "no member practices today"
    else:
        pcns = ", ".join(f"{pcn_names.get(p, p)} ({p}{'' if p in footprint.whole_pcns else ', in part'})"
                         for p in footprint.pcns)
        count = footprint.practices
        reach = f"PCNs: {pcns} · {count} practice{'s' if count != 1 else ''} today"
    return (f"<style>{board_html.STYLE}{_STYLE}</style>"
            f'<div class="pcnb pcnb-heading" data-neighbourhood="{_e(code)}"><div class="pcnb-head">'
            f'<h1>{_e(label)}</h1><span class="pcnb-org">{_e(code)} · {_e(reach)}</span></div>'
            f'<p class="pcnb-org pcnb-method">{_e(METHOD)}</p></div>')


COMPARISON = ("Not compared with the ICB here: select a measure to compare the ICB's neighbourhoods (Compare "
              "areas). Trend: the last 24 periods.")


def own_board_html(rows_by_family: Mapping[str, list[board.BoardRow]], pcn_code: str, *,
                   footnote: str | None = None) -> str:
    """The neighbourhood's board as the PCN board draws its own: three family columns and a legend, each row
    leading to Compare areas across the ICB's neighbourhoods (the PCN in `pcn_code` keeps the ICB chosen)."""
    suppressed = any(row.latest_suppressed or row.suppressed_points
                     for rows in rows_by_family.values() for row in rows)
    links = {row.measure.id: compare_link(row.measure.id, pcn_code)
             for rows in rows_by_family.values() for row in rows}
    columns = board_html.family_columns_html(dict(rows_by_family), pcn_code, links)
    footnote = (suppression.footnote() if footnote is None else footnote) if suppressed else None
    legend = board_html.legend_html(footnote, COMPARISON)
    return (f"<style>{board_html.STYLE}{_STYLE}</style>"
            f'<div class="pcnb" id="{board_html.ROOT_ID}"><div class="pcnb-cols">{"".join(columns)}{legend}</div>'
            "</div>")
