"""Figures cached per data version and what they draw, so a rerun shows the same figure without rebuilding it."""

from __future__ import annotations

from typing import Callable

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
