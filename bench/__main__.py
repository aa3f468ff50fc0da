"""Run every benchmark and write docs/benchmarks.md."""

import logging

from . import foundation
from .harness import write_report

logging.getLogger("streamlit").setLevel(logging.ERROR)
print(write_report({"Foundation (issue 2)": foundation.run()}))
