"""Figures cached per data version and what they draw, so a rerun shows the same figure without rebuilding it."""

from __future__ import annotations

from typing import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from .database import store


@st.cache_resource(max_entries=64, show_spinner=False)
def _built(builder: str, db_path: str, version: tuple, frames: tuple, measure: str, options: tuple,
           _build: Callable[..., go.Figure], _measure) -> go.Figure:
    # Keyed by the frames drawn (Streamlit hashes their contents), so what a principal may read and the
    # suppression applied are in the key; the data version makes a figure of older data unreachable.
    # Shared by every session: showing a figure and exporting it only read it.
    return _build(*frames, _measure, **dict(options))


def cached_figure(build: Callable[..., go.Figure], *frames, measure, **options) -> go.Figure:
    """`build(*frames, measure, **options)` (a pure builder of `measures.charts`), built once per data version,
    frames, measure and options; the figure returned is shared, so it must not be changed."""
    db = store()
    return _built(f"{build.__module__}.{build.__qualname__}", str(db.path), db.data_version(), frames,
                  measure.model_dump_json(), tuple(sorted(options.items())), build, measure)


@st.cache_resource(max_entries=64, show_spinner=False)
def _measure_chart(db_path: str, version: tuple, measure_key: str, series: pd.DataFrame, changes: pd.DataFrame,
                   notes: pd.DataFrame, caveats: tuple, pcn_name: str, _measure):
    # Keyed by the frames read (what the principal may read, suppression applied), as `_built` is.
    from .. import charts, detail

    reading = detail.read(series, _measure, rebase=list(changes["period_start"]))
    if reading is None:
        return None, None, None
    figure = charts.spc_chart(
        reading.result, _measure, pcn_name, annotations=notes, reading=reading, caveats=list(caveats),
        rebase_reasons=dict(zip(changes["period_start"], changes["reason"])),
        goal_lines=detail.goal_lines(_measure, reading.result["date"].min(), reading.result["date"].max()))
    return reading, figure, charts.for_screens(figure)


def measure_chart(series: pd.DataFrame, measure, pcn_name: str, changes: pd.DataFrame, notes: pd.DataFrame,
                  caveats: list[str]) -> tuple:
    """Measure detail's reading of the series (`detail.read`, limits recalculated at the change points), its SPC
    chart as downloaded, and the same chart laid out for screens: computed once per data version and frames, so a
    rerun (a click elsewhere on the page) reuses them. (None, None, None) with no value to read. Shared: read only."""
    db = store()
    return _measure_chart(str(db.path), db.data_version(), measure.model_dump_json(), series, changes, notes,
                          tuple(caveats), pcn_name, measure)
