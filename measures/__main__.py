"""Entry point for `python -m measures`."""

import os
import sys

from .cli import main

try:
    sys.exit(main())
except BrokenPipeError:
    # A reader such as `head` closed the pipe early; that is not an error.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)
