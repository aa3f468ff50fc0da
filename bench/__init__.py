"""Benchmarks of the product's own work, run with `python -m bench`; results go to docs/benchmarks.md."""
