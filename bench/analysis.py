"""Statistics-page benchmarks: Compare areas across every PCN in England, and Measure detail, at national scale."""

from __future__ import annotations

import os

from .foundation import PCN, national_db
from .harness import ROOT, Result, timed


def _warm_page(page: str, area: str | None = None, **params) -> list[float]:
    """Warm reruns of a page opened with `params` (and, with `area`, that area chosen in its area picker)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(params)
    at.run()
    at.switch_page(page).run()
    if area:
        at.selectbox(key="area_picker").set_value(area).run()
    assert not at.exception, at.exception

    def rerun():
        at.run()
        assert not at.exception, at.exception

    return timed(rerun, repeat=15, warmup=2)


def _england(tab: str) -> tuple[list[float], int]:
    """Warm reruns of Compare areas across all England with one of its tabs open (only the open tab is drawn), and
    how many PCNs its table lists when that tab is the table."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(pcn=PCN, measure="dna_rate", tab=tab)
    at.run()
    at.switch_page("pages/compare_areas.py").run()
    at.selectbox(key="area_picker").set_value("england").run()
    assert not at.exception, at.exception
    rows = len(at.dataframe[0].value) if tab == "Table" else 0

    def england():
        at.run()
        assert not at.exception, at.exception

    return timed(england, repeat=15, warmup=2), rows


def run() -> list[Result]:
    """Needs the national-scale demo that `foundation.run()` builds."""
    os.environ["PCN_DB"] = national_db()
    compare = _warm_page("pages/compare_areas.py", pcn=PCN, measure="dna_rate")
    ranked, _ = _england("Ranked")
    funnel, _ = _england("Funnel plot")
    table, rows = _england("Table")
    detail = _warm_page("pages/measure_detail.py", pcn=PCN, measure="acc_08")
    return [
        Result("Compare areas, one measure across its ICB's PCNs, warm AppTest run", compare,
               note="the ranked tab open: ranked bars with 95% CIs (only the open tab is drawn)"),
        Result(f"Compare areas, one measure across all England ({rows:,} PCNs), ranked tab, warm AppTest run", ranked,
               target=0.5, note="ranked bars with 95% CIs"),
        Result("Compare areas across all England, funnel plot tab, warm AppTest run", funnel, target=0.5,
               note="funnel plot with 95%/99.8% limits"),
        Result("Compare areas across all England, table tab, warm AppTest run", table, target=0.5,
               note=f"the table of all {rows:,} PCNs"),
        Result("Measure detail (SPC chart, 60 months), warm AppTest run", detail),
    ]
