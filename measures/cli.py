"""The command line, `python -m measures`: demo, list, series, record, import and board-pack, under the access rules."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import access, queries
from .catalogue import CatalogueError, default_catalogue, load_catalogue
from .store import Store, StoreBusy, StoreDamaged, StoreMissing, StoreWriteFailed, default_db_path
from .text import shorten, shown


def _db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, default=None,
                        help="DuckDB file (default: $PCN_DB, else data/demo.duckdb)")


def _as_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="identity", default=None, metavar="EMAIL",
                        help="who is running the command (default: $PCN_USER), resolved through the access file "
                             "($PCN_ACCESS, else data/access.yaml); with no access file the command line is open")


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
    _as_argument(demo)
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
    _as_argument(series)

    # --- record (locally set measures) ---
    record = commands.add_parser(
        "record", help="record values of locally set measures from a filled-in template (CSV or XLSX)",
        description="Check a filled-in template (downloaded from the Local measures page) and save its values "
                    "all or nothing. Columns: measure_id, measure_version (optional), period_start, org_code, "
                    "numerator, denominator; period_end and org_name are ignored. Rows with a blank numerator "
                    "and denominator are skipped. Every change goes to the audit log with its earlier value. "
                    "Any problem (unknown organisation, period outside the measure's range, a non-number, "
                    "numerator above denominator for a proportion, duplicates, formulas, a file over "
                    "PCN_MAX_UPLOAD_MB) is listed by file, row and column, and nothing is saved.")
    record.add_argument("file", type=Path, metavar="FILE", help="the filled-in template, .csv or .xlsx")
    _db_argument(record)
    record.add_argument("--actor", default=None, help="who is recording, for the audit log (default: $USER)")
    record.add_argument("--pcn", default=None, help="only accept values for this PCN and its practices")
    record.add_argument("--dry-run", action="store_true", help="check the file and show what would change; save nothing")
    _as_argument(record)
    # --- import (the published NHS files; arguments and help in measures.importers.command) ---
    from .importers.command import add_import_parser

    _as_argument(add_import_parser(commands, _db_argument))
    # --- neighbourhoods (an ICB's neighbourhood file; the work is in measures.importers.neighbourhoods) ---
    hoods = commands.add_parser(
        "neighbourhoods", help="load an ICB's neighbourhood file (YAML): its neighbourhoods and their members",
        description="Check a neighbourhood file (see README, Neighbourhoods) and make its neighbourhoods and their "
                    "dated member PCNs or practices the ICB's, all or nothing; the same file again changes nothing. "
                    "A mistake is named by file and field, and nothing is saved. Administrators only.")
    hoods.add_argument("file", type=Path, metavar="FILE", help="the neighbourhood file, .yaml")
    _db_argument(hoods)
    hoods.add_argument("--dry-run", action="store_true", help="check the file; save nothing")
    _as_argument(hoods)
    # --- board-pack (board papers; the work is in measures.boardpack) ---
    pack = commands.add_parser(
        "board-pack", help="write a board pack for one PCN or neighbourhood as PowerPoint, Word or PDF",
        description="Write a board pack for one PCN or neighbourhood: a cover, a summary matrix of every measure "
                    "(latest value, target or threshold, Making Data Count variation and assurance, trend), a page "
                    "per measure needing attention with its SPC chart and a plain-English reading, and the "
                    "definitions and data sources. A neighbourhood's measures are those recorded for it and the "
                    "sums of its member practices. The format follows the file name: .pptx, .docx or .pdf.")
    whose = pack.add_mutually_exclusive_group(required=True)
    whose.add_argument("--pcn", help="PCN code, e.g. U00254")
    whose.add_argument("--neighbourhood", metavar="CODE",
                       help="neighbourhood code, as the ICB's neighbourhood file gives it (e.g. QZZ-RIVERSIDE)")
    pack.add_argument("--period", default=None, metavar="YYYY-MM",
                      help="read the data as of this month, ignoring later ones (default: the latest month)")
    _db_argument(pack)
    pack.add_argument("--out", required=True, type=Path, metavar="FILE", help="output file ending in .pptx, .docx or .pdf")
    _as_argument(pack)

    iif = commands.add_parser(
        "iif", help="print a PCN's Investment and Impact Fund money for one financial year as CSV",
        description="Print, for each IIF indicator of the year, the PCN's achievement against the lower and upper "
                    "thresholds, points achieved of those available, pounds earned and missed (after the list-size "
                    "and prevalence adjustments) and the patients needed to reach each threshold. Achievement and "
                    "thresholds are fractions 0-1. A cell is blank where that year's rules do not give the number "
                    "(measures/contract/years/); it is never guessed.")
    iif.add_argument("--pcn", required=True, help="PCN code, e.g. U00254")
    iif.add_argument("--year", required=True, metavar="YYYY/YY", help="financial year, e.g. 2025/26")
    iif.add_argument("--practices", action="store_true",
                     help="add a row per member practice (the IIF pays PCNs, so practices' points and pounds are "
                          "blank; their patients to each threshold are the practice's own)")
    _db_argument(iif)
    return parser


# Exit codes: 2 for bad input or an unusable store (missing, locked, damaged, or a save that could not be
# written), 3 for a refusal by the access rules.
REFUSED = 3


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except access.AccessDenied as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return REFUSED
    except (CatalogueError, StoreMissing, StoreBusy, StoreDamaged, StoreWriteFailed, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _principal(args) -> access.Principal:
    """Who runs the command: `--as` or $PCN_USER through the access file; open when there is no access file."""
    return access.cli_principal(getattr(args, "identity", None))


def _refused(store: Store, who: access.Principal, target: str, problem: access.AccessDenied) -> access.AccessDenied:
    if who.identity is None:
        problem = access.AccessDenied(f"{problem} Run the command with --as EMAIL (or set PCN_USER) to use your "
                                      "own access.")
    if store.exists():
        access.log_event(store, who, "refused", target, str(problem), via="cli")
    return problem


def _demo(args) -> int:
    from .demo import build_demo

    path = args.db or default_db_path()
    who = _principal(args)
    try:
        access.require_admin(who, "rebuild the demo database")
    except access.AccessDenied as problem:
        raise _refused(Store(path), who, "demo", problem) from None
    started = time.perf_counter()
    summary = build_demo(path, scale=args.scale, seed=args.seed)
    print(f"Built synthetic demo ({summary['scale']}, seed {summary['seed']}) at {summary['path']}: "
          f"{summary['pcns']} PCNs, {summary['practices']} practices, {summary['months']} months, "
          f"{summary['observations']:,} observations in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _list(args) -> int:
    import csv

    from .local import catalogue_with_local

    if args.catalogue:
        catalogue = load_catalogue(args.catalogue)
    else:
        store = Store(args.db)
        catalogue = catalogue_with_local(store) if store.exists() else default_catalogue()

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "name", "family", "level", "unit", "improvement_direction"])
    for measure in catalogue:
        writer.writerow([measure.id, measure.name, measure.family, measure.level, measure.unit,
                         measure.improvement_direction])
    return 0


def _series(args) -> int:
    from .local import catalogue_with_local

    store = Store(args.db)
    catalogue = catalogue_with_local(store)
    if args.measure not in catalogue.ids():
        raise ValueError(f"no measure {shown(args.measure)}; `python -m measures list` prints the ids")
    frame = queries.series(store, args.measure, args.org)
    who = _principal(args)
    if not who.is_admin and access.is_local_measure(args.measure) and not frame.empty:
        facts = access.directory(store)
        readable = access.filter_rows(frame, who, facts)
        hidden = len(frame) - len(readable)
        if hidden:
            pcn = access.pcn_of_rows(frame.head(1), facts).iloc[0] or shorten(args.org)
            problem = access.AccessDenied(
                f"{who.actor} may not read {hidden} unpublished period{'s' if hidden != 1 else ''} of {pcn}'s "
                f"local values of {args.measure}: they are shown to {access.who_may_read(pcn, facts)}. "
                f"Your access: {who.roles_text}.")
            problem = _refused(store, who, f"{args.measure} {shorten(args.org)}", problem)
            if readable.empty:
                raise problem
            print(f"refused: {problem} The {len(readable)} published periods are printed.", file=sys.stderr)
        frame = readable
    frame = _suppressed(store, catalogue, frame, args.measure, args.org)
    if frame.empty:
        print(f"no values for measure {shown(args.measure)} and organisation {shown(args.org)}", file=sys.stderr)
    frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


def _suppressed(store: Store, catalogue, frame, measure_id: str, org: str):
    """Small numbers printed as `*`, as on screen; a practice's value is checked against its PCN's other practices."""
    from . import suppression

    rules = suppression.rules(catalogue)
    if frame.empty or rules.get(measure_id, suppression.UNKNOWN_KIND) is None:
        return frame
    peers = queries.practice_and_peers(store, measure_id, org)
    if peers.empty:  # a PCN's series: a total its practices would give away is hidden too
        checked = suppression.suppress_with_totals(suppression.suppress(frame, rules),
                                                   lambda *read: suppression.practice_values(store, *read), rules,
                                                   [org])
    else:
        grouped = suppression.suppress(peers, rules, secondary=("pcn", "version", "period_start"))
        flags = grouped[grouped["org"] == org].drop_duplicates(["version", "period_start"])
        flagged = frame.merge(flags[["version", "period_start", "suppressed"]], on=["version", "period_start"],
                              how="left")["suppressed"].fillna(False).astype(bool).to_numpy()
        checked = suppression.suppress(frame, rules)
        checked["suppressed"] = checked["suppressed"].to_numpy() | flagged
        for column in ("numerator", "denominator", "value"):
            checked[column] = checked[column].where(~checked["suppressed"])
    table, any_hidden = suppression.starred(checked)
    if any_hidden:
        print(suppression.footnote(), file=sys.stderr)
    return table


def _record(args) -> int:
    # Locally set measures; the work is in measures.local, shared with the Local measures page.
    import getpass

    # board_summaries keeps the stored boards of the PCNs a save touches (and of their ICBs) current, as in the app.
    from . import board_summaries, local  # noqa: F401

    who = _principal(args)
    try:
        actor = args.actor or getpass.getuser()
    except (OSError, KeyError):
        actor = "command line"
    if not who.open:  # with access rules, the audit log names the identity the rules were applied to
        actor = who.actor
    store = Store(args.db)
    try:
        batch, saved = local.record_file(store, args.file, actor, pcn_code=args.pcn, dry_run=args.dry_run,
                                         principal=who)
    except access.AccessDenied as problem:
        raise _refused(store, who, args.file.name, problem) from None
    if batch.sheet_note:
        print(batch.sheet_note, file=sys.stderr)
    if saved is None:
        changes = local.preview(store, batch)["change"].value_counts()
        print(f"{args.file.name} is valid: {changes.get('new', 0)} new, {changes.get('correction', 0)} corrected, "
              f"{changes.get('unchanged', 0)} unchanged, {batch.skipped} blank rows; nothing saved (--dry-run)",
              file=sys.stderr)
    else:
        print(saved.summary() + (f"; import {saved.import_id}" if saved.import_id else ""), file=sys.stderr)
    return 0


def _import(args) -> int:
    # The published NHS files; the work is in measures.importers.
    from .importers.command import run

    who = _principal(args)
    try:
        access.require_admin(who, "import published files")
    except access.AccessDenied as problem:
        raise _refused(Store(args.db), who, "import", problem) from None
    return run(args)


def _neighbourhoods(args) -> int:
    from .importers.neighbourhoods import load_file

    store, who = Store(args.db), _principal(args)
    try:
        loaded = load_file(store, args.file, actor=who.actor, dry_run=args.dry_run, principal=who)
    except access.AccessDenied as problem:
        raise _refused(store, who, "neighbourhoods", problem) from None
    print(loaded.summary(), file=sys.stderr)
    return 0


def _board_pack(args) -> int:
    # Board papers; the same model and renderers as the app's Board pack button.
    from . import boardpack

    _check_out(args.out)  # a wrong folder, name or suffix is refused before any work
    boardpack.format_of(args.out)
    store, who = Store(args.db), _principal(args)
    code, kind = (args.pcn, "pcn") if args.pcn is not None else (args.neighbourhood, "neighbourhood")
    started = time.perf_counter()
    try:
        pack = boardpack.write_pack(store, code, args.out, args.period, principal=who,
                                    neighbourhood=kind == "neighbourhood")
    except access.AccessDenied as problem:
        raise _refused(store, who, f"board pack {shorten(code)}", problem) from None
    wrote = (f"Wrote {args.out}: board pack for {pack.cover.pcn_name} ({pack.cover.pcn_code}), data to "
             f"{pack.cover.period_label}; {len(pack.summary)} measures, {len(pack.exceptions)} needing attention, "
             f"in {time.perf_counter() - started:.1f} s")
    try:
        access.write_log_event(store, who, "export", args.out.name, f"{kind}={code}", via="cli")
    except (StoreBusy, StoreDamaged, StoreMissing, StoreWriteFailed) as problem:
        # An export the access log does not record is a gap in the audit trail. The file is kept (deleting it
        # would not undo the reading, and the person may need it), but the command fails, so that a script or a
        # scheduler notices and the administrator can restore the store and record the export by hand.
        print(f"{wrote}; but the access log could not be written, so this export is not on record: {problem}",
              file=sys.stderr)
        return 2
    print(wrote, file=sys.stderr)
    return 0


def _check_out(out: Path) -> None:
    """Refuse an --out the pack could not be written to: a folder that does not exist (it is never created: a
    mistyped path would put the pack where nobody looks), or a file name longer than the folder allows."""
    folder = out.parent
    if not folder.is_dir():
        raise ValueError(f"--out {shown(str(out), 200)}: the folder {shown(str(folder), 200)} does not exist; create "
                         "it first, or write the pack into a folder that does. Nothing was written.")
    try:
        longest = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    if len(os.fsencode(out.name)) > longest:
        raise ValueError(f"--out {shown(out.name)}: the file name is {len(os.fsencode(out.name)):,} bytes long; the "
                         f"most this folder accepts is {longest:,}. Choose a shorter name. Nothing was written.")


def _iif(args) -> int:
    from .contract import reads
    from .catalogue import _check_financial_year

    try:
        _check_financial_year(args.year)
    except ValueError as problem:
        raise ValueError(f"--year: {problem}") from None
    store = Store(args.db)
    if queries.pcn(store, args.pcn) is None:
        raise ValueError(f"--pcn: no PCN with code {shown(args.pcn)} in {shown(str(store.path), 200)}")
    view = reads.money(store, args.pcn, args.year)
    table = view.table(practices=args.practices)
    for column in ("patients_to_lower", "patients_to_upper"):
        table[column] = table[column].astype("Int64")
    table.to_csv(sys.stdout, index=False, lineterminator="\n")
    for caveat in view.caveats:
        print(f"note: {caveat}", file=sys.stderr)
    return 0


COMMANDS = {"iif": _iif, "demo": _demo, "list": _list, "series": _series, "record": _record, "import": _import,
            "board-pack": _board_pack, "neighbourhoods": _neighbourhoods}
