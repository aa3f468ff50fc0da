"""The `python -m measures import` command: its arguments, help text and handler."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Import files published by NHS England and NHS England Digital into the store. Each file is recognised by
its content (CSV header or workbook sheets), not its name; zip archives are read as published, and http(s)
links are downloaded with a progress bar. Files load in dependency order whatever order you give them:
the practice-to-PCN map and the ePCN workbook first, then list sizes, then IIF, the MI Network Contract
DES monthly extract, workforce, appointments, QOF prevalence and IMD. Each file is one transaction: a file
with a problem changes nothing, and the message names the file, row and column and says what to do.
Importing a file again changes nothing; a newer vintage replaces the periods it covers."""

EPILOG = """\
publications read:
  gp-reg-pat-prac-map.csv (or .zip)    practices, PCNs, sub-ICBs, ICBs, regions and memberships
  ePCN.xlsx                            PCN open/close dates and dated practice-PCN relationships
                                       (a workbook from before July 2022 too, its CCGs as sub-ICBs)
  gp-reg-pat-prac-all.csv              list sizes per practice, and per PCN (sum of its practices)
  gp-reg-pat-prac-quin-age.csv         the same list sizes, and patients by sex and 5-year age band
  IIF_indicators_annual_pub_*.csv      ACC-08, EHCH-04, ACC-10, ACC-10b for the financial year
  MI Network Contract DES extract      CAN-02/CAN-04 and HI-03 year to date per practice and PCN; every
                                       field (exclusions, PCAs, MI counts) as contract fields
  PCNWFIndividualCSV.*.zip             PCN workforce FTE per 10,000 patients and headcount
  appointments practice-level CSV      monthly access measures per practice and PCN
  PREVALENCE_*.csv                     QOF disease prevalence (practice context)
  fingertips IMD practice CSV          IMD deprivation score (practice context)

example:
  python -m measures import gp-reg-pat-prac-map.zip gp-reg-pat-prac-all.csv \\
      https://files.digital.nhs.uk/.../Practice_Level_Crosstab_Oct_25.zip --db data/pcn.duckdb
"""


def add_import_parser(commands, db_argument) -> argparse.ArgumentParser:
    parser = commands.add_parser("import", help="import published NHS files (paths, zips or http(s) links)",
                                 description=DESCRIPTION, epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", metavar="PATH_OR_URL",
                        help="published files: CSV, xlsx or zip, on disk or as http(s) links")
    db_argument(parser)
    parser.add_argument("--keep-going", action="store_true",
                        help="after a file fails, still import the files after it (default: stop)")
    return parser


def run(args) -> int:
    from ..store import Store
    from .common import PublicationError
    from .orchestrate import import_publications

    try:
        outcome = import_publications(args.sources, Store(args.db), progress=sys.stderr,
                                      stop_on_error=not args.keep_going)
    except PublicationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(outcome.text())
    failed = [r for r in outcome.reports if r.status == "failed"]
    if failed:
        print(f"error: {len(failed)} file{'s' if len(failed) > 1 else ''} failed; see above. "
              "Files that failed changed nothing in the store.", file=sys.stderr)
        return 2
    return 0
