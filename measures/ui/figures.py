"""Figures cached per data version and what they draw, so a rerun shows the same figure without rebuilding it."""

from __future__ import annotations

import threading
import weakref
from typing import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from .. import charts
from ..versioned import PerVersion
from .database import store
from .identity import principal
from .reads import suppress_below


@st.cache_resource(max_entries=64, show_spinner=False)
def _built(builder: str, db_path: str, version: tuple, frames: tuple, measure: str, options: tuple,
           _build: Callable[..., go.Figure], _measure) -> go.Figure:
    # Keyed by the frames drawn (Streamlit hashes their contents), so what a principal may read and the
    # suppression applied are in the key; the data version makes a figure of older data unreachable.
    # Shared by every session: showing a figure and exporting it only read it.
    return _build(*frames, _measure, **dict(options))


# Figures made from a shared figure (its copy for screens, an area's figure with one PCN picked out), by the
# figure's identity and what was made, each kept while the figure lives: a cached figure is shown again on every
# rerun, and each copy costs Plotly 10-30 ms. Shared read-only, as the figures they are made from.
_DERIVED: dict[tuple, tuple[weakref.ref, go.Figure]] = {}
_DERIVED_LOCK = threading.Lock()


def derived(figure: go.Figure, what: tuple, make: Callable[[go.Figure], go.Figure]) -> go.Figure:
    """`make(figure)`, made once while `figure` lives; `what` names what is made (and from which options)."""
    key = (id(figure), *what)
    with _DERIVED_LOCK:
        found = _DERIVED.get(key)
    if found is None or found[0]() is not figure:
        found = (weakref.ref(figure), make(figure))
        with _DERIVED_LOCK:
            _DERIVED[key] = found
        weakref.finalize(figure, _DERIVED.pop, key, None)
    return found[1]


# Figures whose frames have a key of their own (what they were read and worked out from), held per data version by
# that key, the builder, the measure and the options: a plain holder, since Streamlit's cache hashes every argument
# on every rerun (the options' notes and labels included, 1-2 ms a figure).
_BUILT_FROM: PerVersion = PerVersion(kept=64)


def _hashable(value):
    """A list's items as a tuple (the options' notes), so options can key a held figure."""
    return tuple(_hashable(item) for item in value) if isinstance(value, list) else value


def cached_figure(build: Callable[..., go.Figure], *frames, measure, frames_key: tuple | None = None,
                  **options) -> go.Figure:
    """`build(*frames, measure, **options)` (a pure builder of `measures.charts`), built once per data version,
    frames, measure and options; the figure returned is shared, so it must not be changed. `frames_key`, when the
    caller has one, stands for the frames (what they were read and worked out from), so they are not hashed again.

    A ranked bar or funnel plot is built once for its area with no PCN picked out, and `charts.highlighted` picks
    out the `highlight` one, as the builder itself does."""
    highlight = options.get("highlight") if build in (charts.ranked_bar, charts.funnel_plot) else None
    if highlight is not None:
        options = options | {"highlight": None}
    db = store()
    name, options = f"{build.__module__}.{build.__qualname__}", tuple(sorted(options.items()))
    if frames_key is None:
        figure = _built(name, str(db.path), db.data_version(), frames, measure.model_dump_json(), options, build,
                        measure)
    else:
        key = (name, frames_key, measure.model_dump_json(), tuple((k, _hashable(v)) for k, v in options))
        try:
            hash(key)
        except TypeError:  # an option of a type nobody hashes: built each time
            key = None
        figure = (build(*frames, measure, **dict(options)) if key is None
                  else _BUILT_FROM.get(db, key, lambda: build(*frames, measure, **dict(options))))
    # Choosing another PCN of the same area copies the area's figure and outlines one bar (a few ms) rather than
    # building it again (70-150 ms).
    return figure if highlight is None else derived(figure, ("highlighted", highlight),
                                                    lambda base: charts.highlighted(base, highlight))


@st.cache_resource(max_entries=64, show_spinner=False)
def _measure_chart(db_path: str, version: tuple, measure_key: str, read_by: tuple, caveats: tuple, pcn_name: str,
                   _series: pd.DataFrame, _changes: pd.DataFrame, _notes: pd.DataFrame, _measure):
    # Keyed by what the frames were read from and for whom (`read_by`: the PCN, the principal's rights and the
    # threshold), as `ui.area_view` is, rather than by hashing each frame (4-6 ms, even an empty one).
    from .. import charts, detail

    reading = detail.read(_series, _measure, rebase=list(_changes["period_start"]))
    if reading is None:
        return None, None, None
    figure = charts.spc_chart(
        reading.result, _measure, pcn_name, annotations=_notes, reading=reading, caveats=list(caveats),
        rebase_reasons=dict(zip(_changes["period_start"], _changes["reason"])),
        goal_lines=detail.goal_lines(_measure, reading.result["date"].min(), reading.result["date"].max()))
    return reading, figure, charts.for_screens(figure)


def measure_chart(series: pd.DataFrame, measure, pcn: str, pcn_name: str, changes: pd.DataFrame,
                  notes: pd.DataFrame, caveats: list[str]) -> tuple:
    """Measure detail's reading of the series (`detail.read`, limits recalculated at the change points), its SPC
    chart as downloaded, and the same chart laid out for screens: computed once per data version and reads, so a
    rerun (a click elsewhere on the page) reuses them. (None, None, None) with no value to read. Shared: read only.

    The frames are the measure's `query("series")`, `query("annotations.rebases")` and `query("annotations")` for
    the PCN `pcn`, as the signed-in principal reads them."""
    db = store()
    read_by = (measure.id, pcn, principal().cache_key, suppress_below())
    return _measure_chart(str(db.path), db.data_version(), measure.model_dump_json(), read_by, tuple(caveats),
                          pcn_name, series, changes, notes, measure)
