"""The Streamlit helpers the pages share: the store, cached queries, the PCN picker, banners and cards."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from . import local, queries
from .catalogue import FAMILY_LABELS, default_catalogue
from .overview import Card
from .store import DEFAULT_DB, Store, default_db_path, migration_files

APP_TITLE = "PCN dashboard"


@st.cache_resource(show_spinner="Preparing the database (first run only)…")
def _prepared(path: str) -> bool:
    """Build the demo if the default database is missing, and bring the schema up to date."""
    store = Store(path)
    if not store.exists():
        if Path(path).resolve() != DEFAULT_DB.resolve():
            return False
        from .demo import build_demo

        build_demo(path)
    if store.schema_version() < len(migration_files()):
        store.migrate()
    return True


def store() -> Store:
    path = str(default_db_path())
    if not _prepared(path):
        st.error(f"No database at `{path}` (from `PCN_DB`). Build one with "
                 f"`python -m measures demo --db {path}` or import publications with `python -m measures import`.")
        st.stop()
    return Store(path)


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(name: str, db_path: str, version: tuple, args: tuple):
    # `version` is in the key so that any committed write makes old results unreachable.
    store = Store(db_path)
    if name == "overview":  # the effective catalogue: YAML files plus measures defined in the app (issue 4)
        return queries.overview(store, *args, catalogue=local.catalogue_with_local(store))
    if name.startswith("local."):  # issue 4: read functions of measures.local, e.g. query("local.fair_share", ...)
        return getattr(local, name.removeprefix("local."))(store, *args)
    return getattr(queries, name)(store, *args)


def query(name: str, *args):
    """Run a named function of `measures.queries`, cached until the database changes."""
    db = store()
    return _cached(name, str(db.path), db.data_version(), args)


def dataset_banner() -> None:
    meta = query("meta")
    if meta.get("dataset") == "synthetic":
        st.warning(meta.get("dataset_label") or "Synthetic demo data.", icon=":material/science:")


def pick_pcn() -> dict:
    """The PCN picker in the sidebar; its choice lives in the URL (`?pcn=CODE`) so a link opens the same view."""
    pcns = query("pcns")
    if pcns.empty:
        st.info("The database holds no PCNs yet. Import the published practice-to-PCN map, or build the demo.")
        st.stop()
    codes = pcns["pcn"].tolist()
    labels = {row.pcn: f"{row.pcn_name} ({row.pcn})" for row in pcns.itertuples()}
    wanted = st.query_params.get("pcn")
    if "pcn_picker" not in st.session_state:
        # A new session starts from the URL; after that the picker is the source and the URL follows it.
        if wanted and wanted not in labels:
            st.session_state["_unknown_pcn"] = wanted
        st.session_state["pcn_picker"] = wanted if wanted in labels else codes[0]
    if st.session_state.get("_unknown_pcn"):
        st.sidebar.error(f"No PCN with code {st.session_state['_unknown_pcn']!r}; showing another PCN instead.")
    choice = st.sidebar.selectbox("PCN", codes, format_func=labels.get, key="pcn_picker")
    st.query_params["pcn"] = choice
    return pcns.set_index("pcn").loc[choice].to_dict() | {"pcn": choice}


def family_heading(family: str) -> None:
    st.subheader(FAMILY_LABELS[family], divider="blue")


def measure_card(card: Card) -> None:
    measure = card.measure
    with st.container(border=True):
        st.metric(
            measure.label,
            card.value_text,
            delta=card.change_text,
            delta_color=card.delta_color,
            chart_data=card.trend or None,
            chart_type="line",
            help=measure.description,
        )
        st.caption(" · ".join(part for part in (card.period_text, card.comparator_text, card.practice_range_text,
                                                card.goal) if part))
        with st.popover("Definition", width="content"):
            definition(measure)


def definition(measure) -> None:
    st.markdown(f"**{measure.name}**" + (f" ({measure.code})" if measure.code else ""))
    st.markdown(measure.description)
    st.markdown(f"- **Numerator:** {measure.numerator.definition}")
    if measure.denominator:
        st.markdown(f"- **Denominator:** {measure.denominator.definition}")
    direction = {"increase": "higher is better", "decrease": "lower is better", "neutral": "neither direction is better"}
    st.markdown(f"- **Unit:** {measure.unit}; {direction[measure.improvement_direction]}")
    st.markdown(f"- **Source:** {measure.source.publication}"
                + (f" ([landing page]({measure.source.landing_page}))" if measure.source.landing_page else ""))
    for caveat in measure.caveats:
        st.markdown(f"- *Caveat:* {caveat}")


def empty_state(message: str) -> None:
    st.info(message, icon=":material/info:")


def frame_or_empty(frame: pd.DataFrame, message: str) -> bool:
    if frame is None or frame.empty:
        empty_state(message)
        return False
    return True


def pick_measure(catalogue, *, label: str = "Measure", key: str = "measure_picker"):
    """A measure picker whose choice lives in the URL (`?measure=ID`)."""
    ids = [m.id for m in catalogue if m.status != "retired"]
    names = {m.id: f"{m.label} ({FAMILY_LABELS[m.family]})" for m in catalogue}
    if key not in st.session_state:
        wanted = st.query_params.get("measure")
        st.session_state[key] = wanted if wanted in names else ids[0]
    choice = st.selectbox(label, ids, format_func=names.get, key=key)
    st.query_params["measure"] = choice
    return catalogue.get(choice)


def show_figure(fig, *, key: str | None = None) -> None:
    # theme=None: the figure's own template, so the screen matches every export.
    st.plotly_chart(fig, theme=None, width="stretch", key=key,
                    config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}})


_BADGE_COLOURS = {"improvement": "blue", "concern": "orange", "neutral": "violet", "common": "gray",
                  "consistent_pass": "blue", "consistent_fail": "orange", "inconsistent": "gray"}


def spc_badges(variation: str | None, assurance: str | None) -> None:
    from .detail import ASSURANCE_TEXT, VARIATION_TEXT

    if variation:
        st.badge(VARIATION_TEXT[variation], color=_BADGE_COLOURS[variation.split("_")[0]], icon=":material/insights:")
    if assurance:
        st.badge(ASSURANCE_TEXT[assurance], color=_BADGE_COLOURS[assurance], icon=":material/flag:")
