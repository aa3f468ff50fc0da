"""Timing helpers and the writer of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
WORK = ROOT / "bench" / "out"


@dataclass
class Result:
    name: str
    runs: list[float]
    target: float | None = None  # seconds
    note: str = ""
    unit: str = "s"
    value: float | None = None  # for results that are not timings (e.g. rows/s)

    @property
    def median(self) -> float:
        return self.value if self.value is not None else statistics.median(self.runs)

    def row(self) -> str:
        if self.unit == "s":
            shown = f"{self.median * 1000:,.0f} ms" if self.median < 1 else f"{self.median:,.1f} s"
            spread = (f"{min(self.runs) * 1000:,.0f}–{max(self.runs) * 1000:,.0f} ms" if max(self.runs) < 1
                      else f"{min(self.runs):,.1f}–{max(self.runs):,.1f} s") if self.runs else ""
        else:
            shown, spread = f"{self.median:,.0f} {self.unit}", ""
        target = ""
        if self.target is not None:
            met = "met" if self.median <= self.target else "**missed**"
            target = (f"≤ {self.target * 1000:,.0f} ms" if self.target < 1 else f"≤ {self.target:,.0f} s") + f" ({met})"
        return f"| {self.name} | {shown} | {len(self.runs) or ''} | {spread} | {target} | {self.note} |"


def timed(fn: Callable[[], object], repeat: int, warmup: int = 0) -> list[float]:
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return runs


def write_report(sections: dict[str, list[Result]]) -> str:
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("streamlit", "duckdb", "pandas", "plotly"))
    lines = [
        "# Benchmarks",
        "",
        "Written by `./run.sh bench` (`python -m bench`); do not edit by hand.",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {versions}.",
        "Medians over the runs shown; these machines are noisy, so compare medians and ratios, not single runs.",
        "",
    ]
    for title, results in sections.items():
        lines += [f"## {title}", "", "| what | median | runs | range | target | note |", "|---|---|---|---|---|---|"]
        lines += [r.row() for r in results]
        lines.append("")
    text = "\n".join(lines)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")
    return text
