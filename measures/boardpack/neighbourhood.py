"""Reading one neighbourhood's data as of a period into the board pack model: its recorded values and practice sums."""

from __future__ import annotations

from datetime import date

import pandas as pd

from .. import access, neighbourhood_board, neighbourhoods, queries, suppression
from ..catalogue import Catalogue
from ..store import Store
from ..text import shown
from .build import assemble, dataset_label, parse_period, up_to
from .model import BoardPack, Cover

KIND = "Neighbourhood"
VALUES = "Values: the sums of its member practices at each period's end, or recorded for the neighbourhood"


def _neighbourhood(store: Store, code: str) -> dict:
    found = neighbourhoods.neighbourhoods(store)
    row = found[found["neighbourhood"] == code]
    if row.empty:
        known = found["neighbourhood"].tolist()
        listed = (f"; the neighbourhoods are {', '.join(known[:10])}{', …' if len(known) > 10 else ''}" if known
                  else "; none is defined yet (an administrator loads an ICB's neighbourhood file)")
        raise ValueError(f"no neighbourhood with code {shown(code)}{listed}")
    return row.iloc[0].to_dict()


def neighbourhood_measures(store: Store, icb: str) -> Catalogue:
    """The measures a neighbourhood's pack lists: those recorded for neighbourhoods, and practice-level ones summed."""
    from .. import local

    return neighbourhoods.board_measures(local.catalogue_with_local(store), icb)


def neighbourhood_periods(store: Store, code: str) -> list[date]:
    """Months with values for the neighbourhood (its own or its practices'), newest first."""
    icb = _neighbourhood(store, code)["icb"]
    rows = neighbourhoods.board_rows_read(store, code, neighbourhood_measures(store, icb).ids())
    return sorted({pd.Timestamp(p).date() for p in rows["period_start"]}, reverse=True)


def build_neighbourhood_pack(store: Store, code: str, period: str | date | None = None, *,
                             produced: date | None = None, chart_images: bool = True,
                             principal: access.Principal = access.OPEN) -> BoardPack:
    """Read the neighbourhood's data as of `period` (later months ignored) into the pack a PCN's board reads.

    Its values are those of its board: recorded for it, or the sums of its member practices at each period's end.
    A pack holds its local values of every period, so only its members (the people of its PCNs, its ICB's
    analysts) may build one (`access.AccessDenied` otherwise).
    """
    hood = _neighbourhood(store, code)
    directory = access.directory(store)
    if not principal.is_admin:
        access.require_local(principal, code, directory, "board pack (it holds local values of every period)")
    catalogue = neighbourhood_measures(store, hood["icb"])
    # Only its members get here, and they read every value of its board (`neighbourhoods.readable`).
    rows = neighbourhoods.readable(neighbourhoods.board_rows_read(store, code, catalogue.ids()), principal,
                                   directory, code)
    # The pack is read outside the app, so small numbers are suppressed here as on its board.
    series = neighbourhood_board.suppressed_series(rows, catalogue, code, suppression.rules(catalogue))
    series, as_of = up_to(series, parse_period(period))
    return assemble(store, _cover(store, hood, as_of, produced or date.today()),
                    catalogue, series, chart_images=chart_images)


def _cover(store: Store, hood: dict, as_of: date, produced: date) -> Cover:
    """The cover: the neighbourhood, its footprint and member PCNs at the end of the pack's month, its ICB."""
    code, name = hood["neighbourhood"], str(hood["name"])
    day = (pd.Timestamp(as_of) + pd.offsets.MonthEnd(0)).date()
    footprint = next((f for f in neighbourhoods.footprints(store, day) if f.code == code), None)
    pcns = queries.pcns(store)
    members = pcns[pcns["pcn"].isin(footprint.pcns if footprint is not None else ())].sort_values("pcn")
    if footprint is not None:
        lines = [footprint.label, "PCNs: " + ", ".join(f"{r.pcn_name} ({r.pcn})" for r in members.itertuples())]
    else:
        lines = [f"PCNs: none on {day.day} {day:%B %Y}"]
    lines.append(VALUES)  # what a reader of the pack alone would otherwise take for a PCN's own figures
    icb_names = pcns.loc[pcns["icb"] == hood["icb"], "icb_name"].dropna()
    places = members["sub_icb_name"].dropna().unique()
    return Cover(
        pcn_name=name if name.lower().endswith("neighbourhood") else f"{name} neighbourhood", pcn_code=code,
        icb_name=str(icb_names.iloc[0]) if len(icb_names) else None, icb_code=hood["icb"],
        sub_icb_name=str(places[0]) if len(places) == 1 else None, period=as_of, produced=produced,
        dataset_label=dataset_label(store), org_kind=KIND, org_name=name, extra_lines=tuple(lines))
