"""Limits on what a file may unpack to and what its values may be, and the temporary folders imports unpack into."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .text import shorten

UNPACKED_MB_VAR = "PCN_MAX_UNPACKED_MB"
MEMBERS_VAR = "PCN_MAX_ARCHIVE_MEMBERS"
RATIO_VAR = "PCN_MAX_COMPRESSION_RATIO"
UPLOAD_UNPACKED_MB_VAR = "PCN_MAX_UPLOAD_UNPACKED_MB"
UPLOAD_UNPACKED_PER_UPLOAD_MB = 20  # a filled-in template's xlsx unpacks to about 10 times its size
DEFAULT_UNPACKED_MB = 2048.0  # the largest real publication (appointments, every region) unpacks to about 1.1 GB
DEFAULT_MEMBERS = 1000  # real archives hold 1 to 20 files; an xlsx a few dozen parts
DEFAULT_RATIO = 200.0  # published CSVs compress about 10:1 and xlsx parts less; a zip bomb is 1,000:1 and more
RATIO_FLOOR_BYTES = 1024 * 1024  # tiny members (an xlsx's styles) may compress far better without harm
# Many members each under the floor add up: the archive as a whole is held to the same ratio once it unpacks to more
# than this (a filled-in template or a small workbook stays well under it).
WHOLE_RATIO_FLOOR_BYTES = 16 * 1024 * 1024
CELL_CHARS_VAR = "PCN_MAX_CELL_CHARS"
LIST_SIZE_VAR = "PCN_MAX_LIST_SIZE"
COUNT_VAR = "PCN_MAX_COUNT"
FTE_VAR = "PCN_MAX_FTE"
DEFAULT_CELL_CHARS = 10_000  # the longest published value (a PCN or ICB name, a category label) is under 200
DEFAULT_LIST_SIZE = 1_000_000  # the largest practice list in England is about 110,000 patients
DEFAULT_COUNT = 10_000_000  # the largest count in one published row is about 340,000 (a PCN's year of appointments)
DEFAULT_FTE = 100.0  # one workforce record: a person is at most about 2 FTE, a contracted service about 7
TEMP_PREFIX = "pcn-import-"
STALE_AFTER_SECONDS = 6 * 3600


class LimitExceeded(ValueError):
    """A file would unpack to more than a configured limit. The text names the limit and how to raise it."""


def _setting(name: str, default: float) -> float:
    """A limit from the environment: unset is the default; anything but a finite number above 0 is refused, since
    `inf` or `nan` would switch the limit off and 0 would refuse every file."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise LimitExceeded(f"{name} must be a number above 0, got {shorten(text)!r}")
    return value


def setting(name: str, default: float) -> float:
    """A limit set by the environment variable `name` (see `_setting`), for limits kept beside their own code."""
    return _setting(name, default)


def max_unpacked_mb() -> float:
    """The most a zip or xlsx file may unpack to: `PCN_MAX_UNPACKED_MB`, default 2,048."""
    return _setting(UNPACKED_MB_VAR, DEFAULT_UNPACKED_MB)


def max_upload_unpacked_mb(upload_mb: float) -> float:
    """The most an uploaded xlsx may unpack to: `PCN_MAX_UPLOAD_UNPACKED_MB`, default 20 times the upload limit."""
    return _setting(UPLOAD_UNPACKED_MB_VAR, UPLOAD_UNPACKED_PER_UPLOAD_MB * upload_mb)


def max_members() -> int:
    """The most files a zip or xlsx may hold: `PCN_MAX_ARCHIVE_MEMBERS`, default 1,000."""
    return int(_setting(MEMBERS_VAR, DEFAULT_MEMBERS))


def max_ratio() -> float:
    """The most one member larger than 1 MB may inflate by: `PCN_MAX_COMPRESSION_RATIO`, default 200."""
    return _setting(RATIO_VAR, DEFAULT_RATIO)


def max_cell_chars() -> int:
    """The most characters one cell of a published file may hold: `PCN_MAX_CELL_CHARS`, default 10,000."""
    return int(_setting(CELL_CHARS_VAR, DEFAULT_CELL_CHARS))


def max_list_size() -> int:
    """The most patients a practice list may have: `PCN_MAX_LIST_SIZE`, default 1,000,000."""
    return int(_setting(LIST_SIZE_VAR, DEFAULT_LIST_SIZE))


def max_count() -> int:
    """The most any other count (appointments, patients on a register, an indicator's numerator or denominator) may
    be in one published row: `PCN_MAX_COUNT`, default 10,000,000."""
    return int(_setting(COUNT_VAR, DEFAULT_COUNT))


def max_fte() -> float:
    """The most full-time equivalents one workforce record may carry: `PCN_MAX_FTE`, default 100."""
    return _setting(FTE_VAR, DEFAULT_FTE)


def check_archive(archive: zipfile.ZipFile, name: str, *, max_mb: float | None = None,
                  setting: str = UNPACKED_MB_VAR, expected: str = "the published file") -> None:
    """Refuse an archive (a zip, or an xlsx, which is one) whose members are too many or unpack to too much.

    Reads only the archive's directory, never the members, so a small file that inflates to gigabytes is refused
    before any of it is unpacked. The sizes declared there are checked again while reading (`read_member`).
    `setting` names the variable that sets `max_mb`; `expected` says what the file should be, for the messages.
    """
    limit_mb = max_unpacked_mb() if max_mb is None else max_mb
    infos = archive.infolist()
    if len(infos) > max_members():
        raise LimitExceeded(f"{name}: holds {len(infos):,} files; the most accepted is {max_members():,} "
                            f"(set by {MEMBERS_VAR}). Check that it is {expected}.")
    total = sum(max(i.file_size, 0) for i in infos)
    if total > limit_mb * 1024 * 1024:
        raise LimitExceeded(f"{name}: would unpack to {total / 1024 / 1024:,.0f} MB; the most accepted is "
                            f"{limit_mb:,.0f} MB (set by {setting}). Check that it is {expected}.")
    ratio = max_ratio()
    for info in infos:
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > ratio * max(info.compress_size, 1):
            raise LimitExceeded(f"{name}: {info.filename} would inflate {info.file_size / max(info.compress_size, 1):,.0f}"
                                f" times (from {info.compress_size:,} to {info.file_size:,} bytes); the most accepted is "
                                f"{ratio:,.0f} times (set by {RATIO_VAR}). It is not {expected}.")
    packed = sum(max(i.compress_size, 0) for i in infos)
    if total > WHOLE_RATIO_FLOOR_BYTES and total > ratio * max(packed, 1):
        raise LimitExceeded(f"{name}: its {len(infos):,} files would inflate {total / max(packed, 1):,.0f} times "
                            f"together (from {packed:,} to {total:,} bytes); the most accepted is {ratio:,.0f} times "
                            f"(set by {RATIO_VAR}). It is not {expected}.")


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, *, max_mb: float | None = None) -> bytes:
    """One member's bytes, refusing to read past the size its directory entry declares or the limit."""
    limit = int((max_unpacked_mb() if max_mb is None else max_mb) * 1024 * 1024)
    allowed = min(info.file_size, limit)
    with archive.open(info) as stream:
        data = stream.read(allowed + 1)
    if len(data) > allowed:
        raise LimitExceeded(f"{name}: unpacks to more than its archive declares or than {limit / 1024 / 1024:,.0f} MB "
                            f"(set by {UNPACKED_MB_VAR}); it is damaged or not a published file.")
    return data


def remove_stale_folders(now: float | None = None) -> int:
    """Delete import folders left in the temp folder by a process that was killed; returns how many."""
    now = time.time() if now is None else now
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        try:
            owner = _owner_pid(path)
            if owner is not None and owner != os.getpid() and _alive(owner):
                continue
            if owner is None and now - path.stat().st_mtime < STALE_AFTER_SECONDS:
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        except OSError:
            continue
    return removed


def _owner_pid(path: Path) -> int | None:
    tail = path.name[len(TEMP_PREFIX):].split("-", 1)[0]
    return int(tail) if tail.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def import_folder() -> Iterator[Path]:
    """A private temporary folder for one import, named after this process so a later start can tell it is stale,
    removed on exit (also on Ctrl-C); folders of killed imports are removed on the next start."""
    remove_stale_folders()
    path = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
