"""Running an import: fetch and recognise every input, order them, then parse each in memory and load it in one transaction."""

from __future__ import annotations

import getpass
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, TextIO

import duckdb

from ..limits import LimitExceeded, import_folder
from ..store import Store, finish_import, migration_files, set_meta, start_import
from .common import PublicationError, memory_connection, shorten
from .context import StoreContext
from .detect import NotRead, Unrecognised, detect
from .loading import Load, write
from .sources import Source, resolve

LISTED_MEMBERS = 10  # members of an archive named in a message; an archive may hold a thousand
DATASET_LABEL = ("NHS England published data (Open Government Licence v3.0), imported with `python -m measures import`.")


@dataclass
class FileReport:
    """What happened to one file, for the person running the import."""

    name: str
    status: str  # imported | already imported | failed | not attempted
    publication: str | None = None
    vintage: str | None = None
    import_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    written: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("imported", "already imported")

    def text(self) -> str:
        head = f"{self.name}: {self.status}"
        if self.publication:
            head += f" — {self.publication}" + (f", {self.vintage}" if self.vintage else "")
        lines = [head]
        if self.status == "imported":
            lines.append(f"  import {self.import_id} in {self.seconds:.1f} s: {self.rows_read:,} rows read, "
                         f"{self.rows_loaded:,} loaded, {self.rows_rejected:,} rejected")
            if self.written:
                lines.append("  wrote " + "; ".join(f"{k} {v:,}" for k, v in self.written.items()))
        lines += [f"  {line}" for line in self.rejected]
        lines += [f"  note: {note}" for note in self.notes]
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


@dataclass
class Outcome:
    reports: list[FileReport]
    skipped: list[str]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports)

    def text(self) -> str:
        parts = [r.text() for r in self.reports]
        parts += [f"{note}" for note in self.skipped]
        return "\n".join(parts)


def import_publications(inputs: Iterable[str | Path], store: Store | str | Path | None = None, *,
                        progress: TextIO | None = None, stop_on_error: bool = True) -> Outcome:
    """Import published files (paths or http(s) URLs, zips included) into the store.

    Every input is fetched, unpacked and recognised before anything is written, so a wrong or damaged input
    stops the command at once. Files then load in dependency order, each in one transaction; a file that fails
    leaves the store as it was, and (with stop_on_error) the files after it are not attempted.
    """
    store = store if isinstance(store, Store) else Store(store)
    progress = progress if progress is not None else sys.stderr
    with import_folder() as workdir:  # removed on exit; a killed import's folder is removed on the next start
        sources: list[tuple[Source, object]] = []
        skipped: list[str] = []
        for argument in inputs:
            resolved = resolve(str(argument), Path(workdir), progress)
            skipped += resolved.notes
            sources += _recognise(resolved, skipped)
        sources.sort(key=lambda pair: pair[1].ORDER)  # stable: the user's order within a publication
        first = None  # what the first file's parse needs, read with the checks below when the schema is current
        # The first file's in-memory DuckDB reads these too: opening a DuckDB instance costs about 30 ms.
        memory = memory_connection(store) if sources else None
        try:
            if store.exists():
                # One read: what the store holds, whether its schema is current, and more.
                with store.reader(into=memory) as con:
                    dataset = con.execute("SELECT value FROM meta WHERE key = 'dataset'").fetchall()
                    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
                    current = all(number in applied for number, _, _ in migration_files())
                    if current and sources:
                        first = _read_before_parsing(con, store, *sources[0], memory=memory)
                if dataset and dataset[0][0] == "synthetic":
                    raise PublicationError(
                        f"{store.path} holds the synthetic demo; real figures would be mixed with invented ones. "
                        "Import into a database of its own, for example `--db data/pcn.duckdb`, and open the app on it "
                        "with PCN_DB=data/pcn.duckdb. Nothing was imported.")
                # Parsing reads the store, so its schema is brought up to date first; a current one is left alone
                # (migrating takes the writers' turn and publishes a copy of the whole file).
                if not current:
                    store.migrate()
            reports: list[FileReport] = []
            for index, (source, module) in enumerate(sources):
                report = import_one(source, module, store, before=first if index == 0 else None,
                                    memory=memory if index == 0 else None)
                reports.append(report)
                if not report.ok and stop_on_error:
                    reports += [FileReport(s.name, "not attempted", m.PUBLICATION,
                                           error="an earlier file failed; fix it and run the same command again "
                                                 "(files already imported are recognised and skipped)")
                                for s, m in sources[index + 1:]]
                    break
        finally:
            if memory is not None:
                memory.close()
    return Outcome(reports, skipped)


def _recognise(resolved, skipped: list[str]) -> list[tuple[Source, object]]:
    """Each source with its publication module. In an archive, members that are no publication (a definitions
    workbook, a guide) are skipped with a note; an archive with no publication at all is an error."""
    if len(resolved.sources) == 1 and not resolved.notes:
        return [(resolved.sources[0], detect(resolved.sources[0]))]
    found, ignored = [], []
    for source in resolved.sources:
        try:
            found.append((source, detect(source)))
        except NotRead as exc:
            ignored.append(source.name)
            skipped.append(f"{source.name}: skipped ({exc.what}, which the importer does not read)")
        except Unrecognised:
            ignored.append(source.name)
            skipped.append(f"{source.name}: skipped (not a publication the importer reads)")
    if not found:
        archive = resolved.sources[0].name.split("/", 1)[0] if resolved.sources else "the archive"
        listed = ", ".join(shorten(name) for name in ignored[:LISTED_MEMBERS])
        if len(ignored) > LISTED_MEMBERS:
            listed += f" and {len(ignored) - LISTED_MEMBERS:,} more"
        raise PublicationError(f"{archive}: holds no publication the importer recognises ({listed}). "
                               "Check that it is the published data file. Nothing was imported.")
    return found


def import_one(source: Source, module, store: Store, before: tuple | None = None, memory=None) -> FileReport:
    """Import one recognised file; `before`: what _before_parsing would read, if it was read already; `memory`: the
    in-memory DuckDB `before` was read through, which its maker closes (without one, one is made and closed here)."""
    started = time.perf_counter()
    started_at = datetime.now().replace(microsecond=0)
    made = memory_connection(store) if memory is None else None
    context = None
    try:
        previous, context = before or _before_parsing(store, source, module, memory if memory is not None else made)
        return _load(source, module, store, context, started, started_at, previous)
    finally:
        if context is not None:
            context.close()
        if made is not None:
            made.close()


def _load(source: Source, module, store: Store, context: StoreContext, started: float, started_at: datetime,
          previous: dict | None) -> FileReport:
    if previous:
        return FileReport(source.name, "already imported", previous["publication"], previous["vintage"],
                          import_id=int(previous["import_id"]),
                          notes=[f"the same content (sha256 {source.sha256[:12]}…) was imported as import "
                                 f"{previous['import_id']} on {previous['finished_at']:%d %b %Y %H:%M}; nothing changed"])
    try:
        load: Load = _parse(source, module, context)
        _refuse_if_nothing_loads(source, load)
        # Written through the DuckDB the file was parsed in, the store attached to it for the transaction.
        with store.writer(into=context.connection()) as con:
            again = con.execute("SELECT import_id FROM imports WHERE sha256 = ? AND finished_at IS NOT NULL",
                                [source.sha256]).fetchall()
            if again:  # another process imported the same file meanwhile
                return FileReport(source.name, "already imported", load.publication, load.vintage, import_id=again[0][0],
                                  notes=["imported meanwhile by another process; nothing changed"])
            import_id = start_import(con, "publication", publication=load.publication, file_name=source.name,
                                     sha256=source.sha256, vintage=load.vintage, actor=_actor())
            written = write(con, load, import_id)
            rejected = load.rejections.total
            finish_import(con, import_id, started_at=started_at, rows_read=load.rows_read,
                          rows_loaded=load.rows_loaded, rows_rejected=rejected,
                          note=_note(source, load, written))
            if con.execute("SELECT count(*) FROM meta WHERE key = 'dataset'").fetchall()[0][0] == 0:
                set_meta(con, dataset="published", dataset_label=DATASET_LABEL)
    except (PublicationError, LimitExceeded) as exc:
        error = str(exc) if str(exc).startswith(source.name) else f"{source.name}: {exc}"
        if "othing was imported" not in error:
            error += " Nothing was imported."
        return FileReport(source.name, "failed", module.PUBLICATION, error=error,
                          seconds=time.perf_counter() - started)
    return FileReport(source.name, "imported", load.publication, load.vintage, import_id=import_id,
                      rows_read=load.rows_read, rows_loaded=load.rows_loaded, rows_rejected=rejected,
                      seconds=time.perf_counter() - started, written=written, notes=load.notes,
                      rejected=load.rejections.lines())


def _parse(source: Source, module, context: StoreContext) -> Load:
    """Parse and check a file in memory. Whatever a damaged or hostile file makes the parser trip over is reported
    as that file's failure, never as a traceback; nothing has been written yet."""
    try:
        return module.parse(source, context)
    except PublicationError:
        raise
    except (duckdb.Error, ValueError, OverflowError) as exc:
        raise PublicationError(f"{source.name}: could not be read as the {module.SHORT} file "
                               f"({type(exc).__name__}: {shorten(str(exc).strip().splitlines()[0] if str(exc).strip() else '', 120)}). "
                               "Check that it is the file as published, and download it again. Nothing was imported."
                               ) from None


def _refuse_if_nothing_loads(source: Source, load: Load) -> None:
    """A file none of whose rows can be loaded is not imported: recording it would say it had been."""
    if load.rows_read and not load.rows_loaded:
        reasons = " ".join(load.rejections.lines()[:3]) or "no row holds data the importer loads."
        raise PublicationError(f"{source.name}: none of its {load.rows_read:,} rows can be loaded: {reasons} "
                               "Import the files it depends on first, or check that it is the file you meant. "
                               "Nothing was imported.")


def _before_parsing(store: Store, source: Source, module, memory) -> tuple[dict | None, StoreContext]:
    """Whether the same content was imported already, and (if not) what parsing it needs from the store, read
    through `memory` (the in-memory DuckDB the file is parsed in) with the store attached."""
    if not store.exists():
        return None, StoreContext(store, memory=memory)
    with store.reader(into=memory) as con:
        return _read_before_parsing(con, store, source, module, memory=memory)


def _read_before_parsing(con, store: Store, source: Source, module, memory=None) -> tuple[dict | None, StoreContext]:
    """_before_parsing through a connection open on the store: one opening of the file for both."""
    found = con.execute("SELECT import_id, publication, vintage, finished_at FROM imports "
                        "WHERE sha256 = ? AND finished_at IS NOT NULL ORDER BY import_id LIMIT 1",
                        [source.sha256]).fetchall()
    if found:
        return (dict(zip(["import_id", "publication", "vintage", "finished_at"], found[0])),
                StoreContext(store, memory=memory))
    # A publication may name what its parse reads (CONTEXT); the rest, if it reads more, on first use.
    return None, StoreContext(store, con, getattr(module, "CONTEXT", None), memory=memory)


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


def _note(source: Source, load: Load, written: dict[str, int]) -> str:
    parts = [f"from {source.origin}"] if source.origin != source.name else []
    parts += load.rejections.lines()[:5] + load.notes[:8]
    return " | ".join(parts)[:4000]
