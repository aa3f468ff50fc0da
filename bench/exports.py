"""Export benchmarks: a chart PNG cold and warm through kaleido, and a whole board pack per format for a demo PCN."""

from __future__ import annotations

import subprocess
import sys

from .harness import ROOT, WORK, Result, timed

PCN = "UZ0004"  # a demo PCN with several measures needing attention (5 when written), so several charts
MEASURE = "acc_08"

# Run in a fresh interpreter so that "cold" includes starting Chromium, as the first click after a restart does.
_COLD_PNG = """
import sys, time
from measures import charts, detail, exports, queries
from measures.catalogue import default_catalogue
from measures.store import Store
measure = default_catalogue().get(sys.argv[2])
reading = detail.read(queries.series(Store(sys.argv[1]), measure.id, sys.argv[3]), measure)
figure = charts.spc_chart(reading.result, measure, sys.argv[3])
started = time.perf_counter()
exports.figure_image(figure, "png")
print(time.perf_counter() - started)
"""


def demo_db() -> str:
    return str(WORK / "exports-demo.duckdb")


def _spc_figure(path: str):
    from measures import charts, detail, queries
    from measures.catalogue import default_catalogue
    from measures.store import Store

    measure = default_catalogue().get(MEASURE)
    reading = detail.read(queries.series(Store(path), MEASURE, PCN), measure)
    return charts.spc_chart(reading.result, measure, PCN,
                            goal_lines=detail.goal_lines(measure, reading.result["date"].min(),
                                                         reading.result["date"].max()))


def run() -> list[Result]:
    from measures import boardpack, exports
    from measures.demo import build_demo
    from measures.store import Store

    WORK.mkdir(parents=True, exist_ok=True)
    path = demo_db()
    build_demo(path)

    cold = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", _COLD_PNG, path, MEASURE, PCN], cwd=ROOT, check=True,
                             capture_output=True, text=True)
        cold.append(float(out.stdout.strip().splitlines()[-1]))

    figure = _spc_figure(path)
    width, height = exports.expected_png_size(figure)
    warm = timed(lambda: exports.figure_image(figure, "png"), repeat=15, warmup=2)
    svg = timed(lambda: exports.figure_image(figure, "svg"), repeat=7, warmup=1)
    pdf = timed(lambda: exports.figure_image(figure, "pdf"), repeat=7, warmup=1)

    store = Store(path)
    outline = boardpack.build_pack(store, PCN, chart_images=False)
    exceptions, measures = len(outline.exceptions), len(outline.summary)
    packs = {fmt: timed(lambda fmt=fmt: boardpack.render(boardpack.build_pack(store, PCN), fmt), repeat=3, warmup=1)
             for fmt in boardpack.FORMATS}
    model = timed(lambda: boardpack.build_pack(store, PCN), repeat=3)
    note = f"demo PCN {PCN}: {measures} measures, {exceptions} exception pages with a chart each"
    return [
        Result("Chart PNG, first export in a new process (cold)", cold,
               note="includes starting Chromium for kaleido's sync server"),
        Result("Chart PNG, warm", warm, target=0.5, note=f"SPC chart, {width}×{height} px (300 dpi across A4)"),
        Result("Chart SVG, warm", svg),
        Result("Chart PDF, warm", pdf),
        Result("Board pack model alone (data, SPC readings, chart PNGs)", model, note=note),
        *[Result(f"Board pack, {boardpack.FORMAT_LABELS[fmt]} (.{fmt})", runs, target=15,
                 note=note + "; model and file, as the command and the button do")
          for fmt, runs in packs.items()],
    ]
