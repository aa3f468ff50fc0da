"""Run the benchmarks and write docs/benchmarks.md: all of them, or those named (`python -m bench browser`)."""

import logging
import sys

from . import analysis, browser, exports, foundation, imports, scale
from .harness import write_report

TITLES = {"foundation": "Foundation", "analysis": "Statistics pages", "scale": "Every PCN in England",
          "imports": "Imports", "exports": "Exports", "browser": "Speed in a real browser"}

logging.getLogger("streamlit").setLevel(logging.ERROR)
named = sys.argv[1:]
unknown = [name for name in named if name not in TITLES]
if unknown:
    sys.exit(f"no benchmark named {', '.join(unknown)}; choose from {', '.join(TITLES)}, or none for all of them")
chosen = named or list(TITLES)
sections, notes = {}, {}
for name in TITLES:  # in this order: the statistics and browser benchmarks use the demo `foundation` builds
    if name not in chosen:
        continue
    if name == "browser":
        # Alone, it builds the national-scale demo itself; after `foundation` it reuses the one just built.
        sections[TITLES[name]], notes[TITLES[name]] = browser.run(build="foundation" not in chosen)
    else:
        sections[TITLES[name]] = {"foundation": foundation, "analysis": analysis, "scale": scale,
                                  "imports": imports, "exports": exports}[name].run()
print(write_report(sections, notes, keep_others=bool(named)))
