"""PCN measures: catalogue, store, importers, statistics, charts and exports for the PCN dashboard."""

__version__ = "0.1.0"
