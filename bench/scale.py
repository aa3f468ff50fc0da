"""Every-PCN benchmarks at national scale: reads bounded to one PCN, the PCN picker and Compare areas reruns."""

from __future__ import annotations

import os

from .analysis import _warm_page
from .foundation import PCN, national_db
from .harness import Result, timed

_PICKER = """
import time, streamlit as st
from measures import ui
started = time.perf_counter()
ui.pick_pcn()
st.session_state.setdefault("picker_runs", []).append(time.perf_counter() - started)
"""


def _picker_runs() -> list[float]:
    """The picker's own time in warm reruns (the script's, not AppTest's)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(_PICKER, default_timeout=60)
    at.query_params["pcn"] = PCN
    for _ in range(17):
        at.run()
    assert not at.exception, at.exception
    return at.session_state["picker_runs"][2:]


def _compare_reruns(area: str | None) -> list[float]:
    return _warm_page("pages/compare_areas.py", area, pcn=PCN, measure="dna_rate")


def run() -> list[Result]:
    """Needs the national-scale demo that `foundation.run()` builds (or one already in bench/out)."""
    from measures import data_quality, queries
    from measures.contract import reads
    from measures.local import publishing
    from measures.store import Store

    os.environ["PCN_DB"] = national_db()
    store = Store(national_db())
    period = queries.measure_periods(store, "dna_rate")[0]
    return [
        Result("Local periods of one PCN (uncached)", timed(lambda: publishing.local_periods(store, PCN), 15, 2),
               note="the PCN's rows and its practices' rows, each bounded to them"),
        Result("IIF years with figures (uncached)", timed(lambda: reads.data_years(store), 15, 2),
               note="one EXISTS per rules year"),
        Result("Practice completeness of one PCN (uncached)",
               timed(lambda: data_quality.practice_completeness(store, PCN), 15, 2)),
        Result("PCN hierarchy (1,300 PCNs), read again in the same data version", timed(lambda: queries.pcns(store), 15, 2),
               note="held once per data version"),
        Result("Every PCN's value of one measure and period (uncached)",
               timed(lambda: queries.pcn_values(store, "dna_rate", period), 15, 2)),
        Result("PCN picker, warm rerun (1,300 PCNs)", _picker_runs(), target=0.01,
               note="labels and order built once per data version and principal"),
        Result("Compare areas, ICB, warm AppTest run", _compare_reruns(None), note="figures cached"),
        Result("Compare areas, all England, warm AppTest run", _compare_reruns("england"), target=0.5,
               note="figures cached"),
    ]
