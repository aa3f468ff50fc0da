"""Timing helpers and the writer of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
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
    floor: float | None = None  # seconds of the same work done the cheapest way, measured in the same run
    ratio_target: float | None = None  # the most the median may be, as a multiple of `floor`

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
            if self.unit != "s":
                target = f"≤ {self.target:,.0f} {self.unit}"
            elif self.target < 1:
                target = f"≤ {self.target * 1000:,.0f} ms"
            else:
                target = f"≤ {self.target:,.1f} s".replace(".0 s", " s")
            target += f" ({met})"
        note = self.note
        if self.floor:
            ratio = self.median / self.floor
            floor = f"{self.floor * 1000:,.0f} ms" if self.floor < 1 else f"{self.floor:,.1f} s"
            note = f"**{ratio:.1f}×** its floor of {floor}" + (f"; {note}" if note else "")
            if self.ratio_target is not None:
                met = "met" if ratio <= self.ratio_target else "**missed**"
                target = f"≤ {self.ratio_target:g}× floor ({met})"
        return f"| {self.name} | {shown} | {len(self.runs) or ''} | {spread} | {target} | {note} |"


def timed(fn: Callable[[], object], repeat: int, warmup: int = 0) -> list[float]:
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return runs


def write_report(sections: dict[str, list[Result]], notes: dict[str, str] | None = None,
                 keep_others: bool = False) -> str:
    """Write docs/benchmarks.md from `sections` (title -> results), each with its note (`notes`) under its heading.

    `keep_others`: sections of the report already written that were not measured this time are kept as they were,
    in their place, so one benchmark can be run alone.
    """
    notes = notes or {}
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("streamlit", "duckdb", "pandas", "plotly"))
    measured = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    when = (f"Each section says when it was measured (this run, {measured}: {'; '.join(sections)}), on"
            if keep_others else f"Measured {measured} on")
    lines = [
        "# Benchmarks",
        "",
        "Written by `./run.sh bench` (`python -m bench`, or `python -m bench NAME ...` for some of them);"
        " do not edit by hand.",
        f"{when} {os.cpu_count()} cores, Python {platform.python_version()}, {versions}.",
        "Medians over the runs shown; these machines are noisy, so compare medians and ratios, not single runs.",
        "",
    ]
    written = {title: _section(title, results, notes.get(title, ""), measured_at=measured if keep_others else "")
               for title, results in sections.items()}
    earlier = _sections_of(REPORT.read_text(encoding="utf-8")) if keep_others and REPORT.exists() else {}
    for title, text in earlier.items():
        lines.append(written.pop(title, text))
    lines += written.values()
    text = "\n".join(lines)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")
    return text


def _section(title: str, results: list[Result], note: str, measured_at: str) -> str:
    lines = [f"## {title}", ""]
    if measured_at:
        lines += [f"Measured {measured_at}.", ""]
    if note:
        lines += [note, ""]
    lines += ["| what | median | runs | range | target | note |", "|---|---|---|---|---|---|"]
    lines += [r.row() for r in results]
    lines.append("")
    return "\n".join(lines)


def _sections_of(report: str) -> dict[str, str]:
    """The report's `## ` sections by title, each as written (heading to the line before the next heading), with the
    time it was measured under its heading (from the report's header where the section has no time of its own)."""
    header_time = re.search(r"^Measured (\d{4}-\d\d-\d\d \d\d:\d\d UTC)", report, flags=re.MULTILINE)
    sections: dict[str, list[str]] = {}
    current = None
    for line in report.split("\n"):
        if line.startswith("## "):
            current = line[3:]
            sections[current] = []
        if current is not None:
            sections[current].append(line)
    for body in sections.values():
        if header_time and not (len(body) > 2 and body[2].startswith("Measured ")):
            body[1:1] = ["", f"Measured {header_time.group(1)}."]
    return {title: "\n".join(body) for title, body in sections.items()}
