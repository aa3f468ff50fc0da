"""Run the benchmarks and write docs/benchmarks.md: all of them, or those named (`python -m bench browser`)."""

import logging
import os
import sys
import traceback

from . import analysis, browser, concurrency, exports, floors, foundation, imports, scale
from .harness import write_report

TITLES = {"foundation": "Foundation", "analysis": "Statistics pages", "scale": "Every PCN in England",
          "floors": "Every page against its DuckDB floor", "concurrency": "Twenty sessions at once",
          "imports": "Imports", "exports": "Exports", "browser": "Speed in a real browser"}


def main() -> None:
    """Measure the benchmarks named on the command line (all of them when none are) and write the report."""
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    named = sys.argv[1:]
    unknown = [name for name in named if name not in TITLES]
    if unknown:
        sys.exit(f"no benchmark named {', '.join(unknown)}; choose from {', '.join(TITLES)}, or none for all of them")
    chosen = named or list(TITLES)
    sections, notes = {}, {}
    failed = {}

    def measure(name: str) -> None:
        if name == "browser":
            # Alone, it builds the national-scale demo itself; after `foundation` it reuses the one just built.
            sections[TITLES[name]], notes[TITLES[name]] = browser.run(build="foundation" not in chosen)
        elif name in ("floors", "concurrency"):  # built here when missing or older than the schema, else reused
            path, built = foundation.ready_national_db()
            summarised = foundation.ready_summaries(path)  # boards are read as the app reads them after an import
            if name == "floors":
                sections[TITLES[name]], notes[TITLES[name]] = floors.run(path, foundation.PCN)
            else:
                sections[TITLES[name]], notes[TITLES[name]] = concurrency.run(path, "the national-scale demo")
            if built:
                notes[TITLES[name]] += f" The national-scale demo was built first, in {built:.0f} s."
            notes[TITLES[name]] += (
                " Every PCN's board summary is stored (`measures.board_summaries`), so a board not yet viewed is one "
                "read" + (f"; they were computed first, in {summarised:.0f} s on {os.cpu_count()} processes."
                          if summarised else "; they were already current."))
        else:
            sections[TITLES[name]] = {"foundation": foundation, "analysis": analysis, "scale": scale,
                                      "imports": imports, "exports": exports}[name].run()

    for name in TITLES:  # in this order: the statistics and browser benchmarks use the demo `foundation` builds
        if name in chosen:
            try:
                measure(name)
            except Exception:  # noqa: BLE001 - one benchmark failing still leaves the others' figures written
                failed[name] = traceback.format_exc()
                print(failed[name], file=sys.stderr)
    if sections:
        print(write_report(sections, notes, keep_others=bool(named) or bool(failed)))
    if failed:
        sys.exit(f"failed, so not written (the report keeps their earlier figures): {', '.join(failed)}")


# Guarded: the board summaries' worker processes start by importing this module, and must not rerun it.
if __name__ == "__main__":
    main()
