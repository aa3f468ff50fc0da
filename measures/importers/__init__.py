"""Importing the published NHS files into the store: recognise each file by its content, validate it in memory, load it in one transaction."""

from .common import PublicationError
from .detect import ALL as PUBLICATIONS
from .orchestrate import FileReport, Outcome, import_publications

__all__ = ["PublicationError", "PUBLICATIONS", "FileReport", "Outcome", "import_publications"]
