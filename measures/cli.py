"""The command line, `python -m measures`: build the demo, list the catalogue, print a series."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import queries
from .catalogue import CatalogueError, default_catalogue, load_catalogue
from .store import Store, StoreBusy, StoreMissing, default_db_path


def _db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, default=None,
                        help="DuckDB file (default: $PCN_DB, else data/demo.duckdb)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m measures",
        description="PCN measures: national DES metrics, locally set integration measures and support for practices.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="build the synthetic demo database (deterministic)",
                               description="Build the synthetic demo database. The same seed always gives the same data; "
                                           "an existing file at --db is replaced atomically.")
    _db_argument(demo)
    demo.add_argument("--scale", choices=["demo", "national"], default="demo",
                      help="demo: one fictional ICB, 12 PCNs, 60 practices, 36 months; "
                           "national: about 1,300 PCNs, 6,300 practices, 60 months (for benchmarks)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")

    listing = commands.add_parser("list", help="print the measure catalogue as CSV",
                                  description="Print the measure catalogue as CSV: id, name, family, level, unit, "
                                              "improvement direction.")
    _db_argument(listing)
    listing.add_argument("--catalogue", type=Path, default=None, help="a catalogue folder other than the built-in one")

    series = commands.add_parser("series", help="print one measure's series for one organisation as CSV",
                                 description="Print a measure's series for one organisation as CSV in the tidy shape: "
                                             "measure, version, org, period_start, period_end, numerator, denominator, value.")
    _db_argument(series)
    series.add_argument("--measure", required=True, help="measure id, as `list` prints it")
    series.add_argument("--org", required=True, help="organisation code (practice, PCN, sub-ICB or ICB)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (CatalogueError, StoreMissing, StoreBusy, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _demo(args) -> int:
    from .demo import build_demo

    path = args.db or default_db_path()
    started = time.perf_counter()
    summary = build_demo(path, scale=args.scale, seed=args.seed)
    print(f"Built synthetic demo ({summary['scale']}, seed {summary['seed']}) at {summary['path']}: "
          f"{summary['pcns']} PCNs, {summary['practices']} practices, {summary['months']} months, "
          f"{summary['observations']:,} observations in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _list(args) -> int:
    catalogue = load_catalogue(args.catalogue) if args.catalogue else default_catalogue()
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "name", "family", "level", "unit", "improvement_direction"])
    for measure in catalogue:
        writer.writerow([measure.id, measure.name, measure.family, measure.level, measure.unit,
                         measure.improvement_direction])
    return 0


def _series(args) -> int:
    catalogue = default_catalogue()
    if args.measure not in catalogue.ids():
        raise ValueError(f"no measure {args.measure!r}; `python -m measures list` prints the ids")
    frame = queries.series(Store(args.db), args.measure, args.org)
    if frame.empty:
        print(f"no values for measure {args.measure!r} and organisation {args.org!r}", file=sys.stderr)
    frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


COMMANDS = {"demo": _demo, "list": _list, "series": _series}
