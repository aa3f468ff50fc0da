"""Turning what the user named (files, zip archives, http/https links) into readable sources with their sha256."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from xml.etree import ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .. import limits
from .common import PublicationError, shorten

BOM = b"\xef\xbb\xbf"
_CHUNK = 256 * 1024


class TooLarge(PublicationError):
    """An archive (or a workbook inside one) that would unpack to more than the limits allow."""


@dataclass
class Source:
    """One file to import: a CSV or an xlsx workbook, on disk (extracted from a zip or downloaded if need be)."""

    name: str  # what the user sees: the file name, or archive/member
    path: Path  # a file on disk holding exactly the published bytes
    sha256: str
    format: str  # csv | xlsx
    origin: str  # the argument the user gave
    header: list[str] = field(default_factory=list)  # csv: the header row as published
    sheets: list[str] = field(default_factory=list)  # xlsx: sheet names
    blank_lines: list[int] = field(default_factory=list)  # csv: empty lines before the last row (CSV readers skip them)

    @property
    def file_name(self) -> str:
        return self.name


@dataclass
class Resolved:
    sources: list[Source]
    notes: list[str]


def is_url(text: str) -> bool:
    return bool(re.match(r"^https?://", str(text), re.IGNORECASE))


def resolve(argument: str, workdir: Path, progress: TextIO | None = None) -> Resolved:
    """A path or URL → the sources it holds (a zip may hold several, and files the importer does not read)."""
    if is_url(argument):
        path = download(argument, workdir, progress if progress is not None else sys.stderr)
        shown = path.name
    else:
        path = Path(argument)
        shown = path.name
        if not path.exists():
            raise PublicationError(f"{argument}: no such file. Check the path, or give the https:// link of the published file.")
        if path.is_dir():
            raise PublicationError(f"{argument}: is a folder; name the published files in it (for example {argument}/*.csv).")
    data = path.read_bytes()
    if not data or data.isspace():  # not data.strip(): that copies the whole file
        raise PublicationError(f"{shown}: the file is empty ({len(data)} bytes). The download probably failed: "
                               "download it again. Nothing was imported.")
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return _from_zip(path, shown, data, argument, workdir)
    if data[:4] == b"%PDF":
        raise PublicationError(f"{shown}: is a PDF document, not a data file. Download the CSV or xlsx file from the "
                               "publication's page. Nothing was imported.")
    return Resolved([_text_source(shown, path, data, argument)], [])


def _from_zip(path: Path, shown: str, data: bytes, argument: str, workdir: Path) -> Resolved:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise PublicationError(f"{shown}: is a zip archive that is incomplete or damaged ({exc}); it was probably cut "
                               "short while downloading. Download it again. Nothing was imported.") from None
    _check_limits(archive, shown)
    if any(n.startswith("xl/") for n in names):
        return Resolved([_xlsx_source(shown, path, data, argument)], [])
    sources, notes = [], []
    members = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")
               and not Path(i.filename).name.startswith(".")]
    for index, info in enumerate(members):
        member = f"{shown}/{shorten(info.filename, 200)}"
        try:
            content = limits.read_member(archive, info, member)
        except limits.LimitExceeded as exc:
            raise TooLarge(f"{exc} Nothing was imported.") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise PublicationError(f"{member}: cannot be read from the archive ({exc}); the zip was probably cut short "
                                   "while downloading. Download it again. Nothing was imported.") from None
        kind = _sniff(content)
        if kind is None:
            notes.append(f"{member}: skipped (not a CSV file or workbook the importer reads)")
            continue
        target = workdir / f"{index:03d}_{Path(info.filename).name[-100:]}"
        target.write_bytes(content)
        if kind == "xlsx":
            try:
                sources.append(_xlsx_source(member, target, content, argument))
            except TooLarge:
                raise
            except PublicationError:
                notes.append(f"{member}: skipped (a workbook that is not one the importer reads)")
        else:
            if not content or content.isspace():
                raise PublicationError(f"{member}: the file is empty. Download the archive again. Nothing was imported.")
            sources.append(_text_source(member, target, content, argument))
    if not sources:
        listed = ", ".join(shorten(i.filename, 200) for i in members[:10]) + (", …" if len(members) > 10 else "") or "nothing"
        raise PublicationError(f"{shown}: the archive holds no CSV file or workbook (it holds {listed}). "
                               "Check that it is the published data file. Nothing was imported.")
    return Resolved(sources, notes)


def _check_limits(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse an archive that would unpack to too much, from its directory alone, before any member is read."""
    try:
        limits.check_archive(archive, name)
    except limits.LimitExceeded as exc:
        raise TooLarge(f"{exc} Nothing was imported.") from None


def _sniff(content: bytes) -> str | None:
    """What an archive member is, from its first bytes: an xlsx workbook, a CSV file, or neither (None)."""
    if content[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(content)).namelist()
        except zipfile.BadZipFile:
            return None
        return "xlsx" if any(n.startswith("xl/") for n in names) else None
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "csv"  # UTF-16 text: read as CSV so that the encoding is reported
    if content[:4] == b"%PDF" or b"\x00" in content[:4096]:
        return None
    return "csv" if b"," in content[:65536].split(b"\n", 1)[0] else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_HASH_ON_A_THREAD = 1024 * 1024  # below this a thread costs more than it saves


class _Sha256:
    """The sha256 of a buffer, computed on a thread while the caller checks the same bytes: hashlib lets go of the
    interpreter lock for the whole buffer, so on two cores the checks cost no time beside the hash."""

    def __init__(self, data):
        self._hex: str | None = None
        if len(data) < _HASH_ON_A_THREAD:
            self._hex = _sha256(data)
            return
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(data, started), name="sha256", daemon=True)
        self._thread.start()
        # The checks run in C without letting go of the lock: they would hold the thread off until they end.
        started.wait()

    def _run(self, data, started: threading.Event) -> None:
        digest = hashlib.sha256()
        started.set()
        digest.update(data)
        self._hex = digest.hexdigest()

    def hexdigest(self) -> str:
        if self._hex is None:
            self._thread.join()
        return self._hex


def _text_source(name: str, path: Path, data: bytes, argument: str) -> Source:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise PublicationError(f"{name}: the file is saved as UTF-16 text, but the published files are UTF-8. "
                               "Download it again, or re-save it as 'CSV UTF-8'. Nothing was imported.")
    digest = _Sha256(data)
    body = memoryview(data)[len(BOM):] if data.startswith(BOM) else data  # a view: no copy of the file
    if not data.isascii():  # ASCII is UTF-8: most files need no decoding at all
        try:
            str(body, "utf-8")
        except UnicodeDecodeError as exc:
            raise PublicationError(_encoding_problem(name, bytes(body), exc.start)) from None
    start = bytes(body[:1024 * 1024]).decode("utf-8", "ignore")  # cut anywhere: the whole file is UTF-8
    first_line = start.split("\n", 1)[0]
    try:  # the whole first record, as DuckDB reads it: a quoted header may hold a line break
        header = next(csv.reader(io.StringIO(start)))
    except (StopIteration, csv.Error):
        header = []
    if len(header) < 2:
        raise PublicationError(f"{name}: row 1 is not a comma-separated header ({shorten(first_line, 80)!r}). The "
                               "importer reads the CSV files as published; download the file again. Nothing was imported.")
    blank_lines = _blank_lines(data)  # a BOM holds no line break: the same line numbers
    return Source(name=name, path=path, sha256=digest.hexdigest(), format="csv", origin=argument, header=header,
                  blank_lines=blank_lines)


_EMPTY_LINE = re.compile(rb"\n\r?\n")
_BEFORE_EMPTY_LINE = re.compile(rb"\n(?=\r?\n)")


def _blank_lines(body: bytes) -> list[int]:
    """Line numbers of empty lines with rows after them, so that row numbers in messages stay those a spreadsheet
    shows; trailing empty lines change no row number."""
    if _EMPTY_LINE.search(body) is None:  # the usual file: one regex pass (two `in` searches take four times as long)
        return []
    end = len(body)
    while end and body[end - 1] in b" \t\r\n":  # not body.rstrip(): that copies a file of a gigabyte
        end -= 1
    lines, counted, at = [], 0, 0
    # The line break before each empty line, found by its literal first byte (a look-behind scans every byte).
    for match in _BEFORE_EMPTY_LINE.finditer(body):
        start = match.start() + 1
        if start >= end:
            break
        counted += body.count(b"\n", at, start)  # line breaks so far, counted once each
        at = start
        lines.append(counted + 1)
    return lines


def _encoding_problem(name: str, body: bytes, offset: int) -> str:
    line_start = body.rfind(b"\n", 0, offset) + 1
    row = body.count(b"\n", 0, offset) + 1
    header = body.split(b"\n", 1)[0].decode("utf-8", "replace")
    try:
        columns = next(csv.reader(io.StringIO(header)))
    except (StopIteration, csv.Error):
        columns = []
    before = body[line_start:offset].decode("utf-8", "replace")
    try:
        field_index = len(next(csv.reader(io.StringIO(before + "x")))) - 1
    except (StopIteration, csv.Error):
        field_index = before.count(",")
    column = (shorten(columns[field_index].strip().lstrip("\ufeff")) if 0 <= field_index < len(columns)
              else f"number {field_index + 1}")
    return (f"{name}: row {row:,}, column {column}: byte 0x{body[offset]:02X} is not UTF-8 text; the file seems to have "
            "been saved in another encoding (such as Windows-1252 by a spreadsheet). Download the original file again, "
            "or re-save it as 'CSV UTF-8'. Nothing was imported.")


def _xlsx_source(name: str, path: Path, data: bytes, argument: str) -> Source:
    """An xlsx workbook and its sheet names, read from xl/workbook.xml (openpyxl would read every string first)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_limits(archive, name)
            workbook = limits.read_member(archive, archive.getinfo("xl/workbook.xml"), name)
        root = ElementTree.fromstring(workbook)
        sheets = [node.get("name") for node in root.iter() if node.tag.endswith("}sheet") and node.get("name")]
    except limits.LimitExceeded as exc:
        raise TooLarge(f"{exc} Nothing was imported.") from None
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, zlib.error, EOFError) as exc:
        raise PublicationError(f"{name}: is not a readable xlsx workbook ({type(exc).__name__}: {shorten(exc, 120)}). "
                               "Download it again. Nothing was imported.") from None
    if not sheets:
        raise PublicationError(f"{name}: is an xlsx workbook without sheets. Download it again. Nothing was imported.")
    return Source(name=name, path=path, sha256=_sha256(data), format="xlsx", origin=argument, sheets=sheets)


# ------------------------------------------------------------------------------------------------
# Downloads


def download(url: str, workdir: Path, progress: TextIO) -> Path:
    """Fetch a published file over http(s) into workdir, drawing a progress bar on `progress`."""
    request = urllib.request.Request(url, headers={"User-Agent": "pcn-dashboard-importer/1"})
    try:
        response = urllib.request.urlopen(request, timeout=120)
    except urllib.error.HTTPError as exc:
        raise PublicationError(f"{url}: the server answered HTTP {exc.code} ({exc.reason}). Check the link on the "
                               "publication's page, or download the file in a browser and import it from disk.") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PublicationError(f"{url}: could not connect ({reason}). Check the address and the network, or download "
                               "the file in a browser and import it from disk.") from None
    name = _download_name(url, response.headers.get("Content-Disposition"))
    total = int(response.headers.get("Content-Length") or 0)
    target = workdir / name
    bar = ProgressBar(name, total, progress)
    received = 0
    try:
        with response, open(target, "wb") as out:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                bar.update(received)
    except (OSError, urllib.error.URLError) as exc:
        bar.finish(received, failed=True)
        raise PublicationError(f"{url}: the download failed after {received:,} bytes ({exc}). Try again.") from None
    bar.finish(received)
    if total and received != total:
        raise PublicationError(f"{url}: the download stopped after {received:,} of {total:,} bytes. Try again; "
                               "nothing was imported.")
    return target


def _download_name(url: str, disposition: str | None) -> str:
    if disposition:
        match = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', disposition)
        if match:
            return Path(urllib.parse.unquote(match.group(1))).name or "download"
    return Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name or "download"


class ProgressBar:
    """A one-line text progress bar for downloads, redrawn at most ten times a second."""

    WIDTH = 30

    def __init__(self, name: str, total: int, stream: TextIO):
        self.name, self.total, self.stream = name, total, stream
        self.last = 0.0
        self.drawn = False

    def _line(self, received: int) -> str:
        mb = received / 1e6
        if self.total:
            share = min(received / self.total, 1.0)
            filled = int(share * self.WIDTH)
            return (f"\rdownloading {self.name} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                    f"{share * 100:5.1f}% {mb:,.1f}/{self.total / 1e6:,.1f} MB")
        return f"\rdownloading {self.name} {mb:,.1f} MB"

    def update(self, received: int) -> None:
        now = time.monotonic()
        if now - self.last >= 0.1:
            self.stream.write(self._line(received))
            self.stream.flush()
            self.last, self.drawn = now, True

    def finish(self, received: int, failed: bool = False) -> None:
        self.stream.write(self._line(received) + (" failed\n" if failed else " done\n"))
        self.stream.flush()
