"""Run every benchmark and write docs/benchmarks.md."""

import logging

from . import analysis, exports, foundation, imports
from .harness import write_report

logging.getLogger("streamlit").setLevel(logging.ERROR)
print(write_report({"Foundation (issue 2)": foundation.run(),
                    "Statistics pages (issue 5)": analysis.run(), "Imports (issue 3)": imports.run(),
                    "Exports (issue 6)": exports.run()}))
