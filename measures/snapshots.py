"""Published copies of the store file: the writers' turn, the pointer to the current copy, and publishing a new one.

The store file takes every write; readers read a copy of it. After each commit the writer copies the file into
`.<name>.snapshots/vNNNNNN/<name>`, syncs it to disk and then swaps the small `current` pointer (write, sync,
rename), so a reader sees either the old copy or the new one, never half of one. The pointer names the store
file's stamp (inode, size, modification time) at the moment of copying, so a reader can tell from a `stat` of
the file whether the copy is still the store's committed state. A writer holds an exclusive `flock` on `lock`
from before it opens the file until its copy is published. While the lock is held, the last copy is the
committed state: the write is not visible until it is published. When the lock is free and the stamps differ,
something changed the file without taking turns (a crash between commit and publication, an older program, a
file copied into place), and readers read the file itself.

No DuckDB here: only files, locks and renames (measures.store opens the copies).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import random
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

_log = logging.getLogger(__name__)

POINTER = "current"
LOCK = "lock"


class TurnTimeout(TimeoutError):
    """Another writer kept its turn for longer than we were willing to wait."""


@dataclass(frozen=True)
class Stamp:
    """What one `stat` says about the store file, and whether a write-ahead log lies beside it."""

    inode: int
    size: int
    mtime_ns: int
    wal: bool

    def key(self) -> list[int]:
        return [self.inode, self.size, self.mtime_ns]


@dataclass(frozen=True)
class Pointer:
    """The published copy readers use: its number, its file, and the stamp of the store file it copies."""

    version: int
    file: Path
    copies: Stamp


def folder_of(store_path: Path) -> Path:
    return store_path.with_name(f".{store_path.name}.snapshots")


def stamp(store_path: Path) -> Stamp | None:
    try:
        found = os.stat(store_path)
    except FileNotFoundError:
        return None
    wal = os.path.exists(f"{store_path}.wal")
    return Stamp(found.st_ino, found.st_size, found.st_mtime_ns, wal)


# Parsed pointers, keyed by the pointer file's own stat: a swap is a rename, so a new pointer is a new inode.
_POINTERS: dict[str, tuple[tuple, Pointer | None]] = {}
_TURNS = threading.local()  # this thread's turns: {lock path: [file descriptor, depth, committed]}


class Snapshots:
    """The published copies of one store file."""

    def __init__(self, store_path: Path):
        self.store = store_path
        self.folder = folder_of(store_path)
        self.pointer_path = self.folder / POINTER
        self.lock_path = self.folder / LOCK

    # --- reading ---------------------------------------------------------------------------------------------

    def current(self) -> Pointer | None:
        """The pointer as published, or None when nothing was ever published (or it cannot be read)."""
        name = str(self.pointer_path)
        try:
            found = os.stat(name)
        except FileNotFoundError:
            return None
        key = (found.st_ino, found.st_size, found.st_mtime_ns)
        cached = _POINTERS.get(name)
        if cached and cached[0] == key:
            return cached[1]
        pointer = self._read_pointer()
        _POINTERS[name] = (key, pointer)
        return pointer

    def _read_pointer(self) -> Pointer | None:
        try:
            data = json.loads(self.pointer_path.read_text(encoding="utf-8"))
            inode, size, mtime_ns = (int(n) for n in data["copies"])
            return Pointer(int(data["version"]), self.folder / str(data["file"]), Stamp(inode, size, mtime_ns, False))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _log.warning("%s cannot be read (%s); reading %s itself until the next save publishes a copy",
                         self.pointer_path, exc, self.store)
            return None

    def usable(self) -> Pointer | None:
        """The pointer, if its copy is the store's committed state: the file is as copied, or a writer is at work."""
        for _ in range(3):  # a writer may finish publishing between reading the pointer and the stamp: look again
            pointer = self.current()
            if pointer is None:
                return None
            now = stamp(self.store)
            if now is None:
                return None
            if now == pointer.copies or self.writing():
                return pointer
        return None

    def writing(self) -> bool:
        """Does a writer (in any process, this one's other threads included) hold its turn right now?"""
        try:
            descriptor = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # no lock yet: nothing was ever written in turns
            return False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return True
            return False
        else:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            return False
        finally:
            os.close(descriptor)

    # --- writing ---------------------------------------------------------------------------------------------

    @contextmanager
    def turn(self, wait_seconds: float) -> Iterator[None]:
        """Hold the writers' turn (re-entrant in one thread); raises TurnTimeout, or OSError if the lock cannot
        be made (the folder is not writable)."""
        turns = _turns()
        key = str(self.lock_path)
        if key in turns:
            turns[key][1] += 1
            try:
                yield
            finally:
                turns[key][1] -= 1
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            _take(descriptor, wait_seconds)
            turns[key] = [descriptor, 1, False]
            try:
                yield
            finally:
                del turns[key]
        finally:
            os.close(descriptor)  # releases the flock

    def outermost(self) -> bool:
        """Is this thread's turn its first one (not a write inside another write)?"""
        return _turns().get(str(self.lock_path), [None, 0])[1] == 1

    def mark_committed(self) -> None:
        entry = _turns().get(str(self.lock_path))
        if entry:
            entry[2] = True

    def committed(self) -> bool:
        entry = _turns().get(str(self.lock_path))
        return bool(entry and entry[2])

    def publish(self) -> Pointer | None:
        """Copy the store file as it stands into a new published copy and point readers at it; call with the
        turn held and no connection of this process open on the file. Returns the pointer now published, or
        None when nothing could be (a write-ahead log left by a failed checkpoint, a change during the copy):
        readers then read the file itself, which is always right, only slower."""
        before = stamp(self.store)
        if before is None:
            return None
        if before.wal:
            _log.warning("%s: a write-ahead log is left beside it, so no copy was published; readers read the file "
                         "itself until the next save folds the log in and publishes one", self.store)
            return None
        current = self._read_pointer()
        if current is not None and current.copies == before and current.file.exists():
            return current
        version = self._next_version(current)
        staging = self.folder / f".v{version:06d}.tmp"
        final = self.folder / f"v{version:06d}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir(parents=True)
            copy = staging / self.store.name
            _copy(self.store, copy)
            _sync(copy)
            if stamp(self.store) != before:
                _log.warning("%s changed while it was being copied (by a program that does not take turns); "
                             "no copy was published", self.store)
                shutil.rmtree(staging, ignore_errors=True)
                return None
            shutil.rmtree(final, ignore_errors=True)
            os.rename(staging, final)
            _sync(self.folder)
            pointer = Pointer(version, final / self.store.name, before)
            self._write_pointer(pointer)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._prune(keep={final.name, current.file.parent.name if current else None})
        return pointer

    def _next_version(self, current: Pointer | None) -> int:
        numbers = [current.version] if current else []
        for entry in self.folder.iterdir():
            name = entry.name.lstrip(".").removesuffix(".tmp")
            if name.startswith("v") and name[1:].isdigit():
                numbers.append(int(name[1:]))
        return max(numbers, default=0) + 1

    def _write_pointer(self, pointer: Pointer) -> None:
        staging = self.folder / f".{POINTER}.tmp"
        text = json.dumps({"version": pointer.version, "file": str(pointer.file.relative_to(self.folder)),
                           "copies": pointer.copies.key()})
        with open(staging, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, self.pointer_path)
        _sync(self.folder)

    def _prune(self, keep: set) -> None:
        """Remove all but the new copy and the one before it, which a reader may be opening at this moment. A
        process still reading an older one keeps reading it: an open file outlives its name."""
        for entry in self.folder.iterdir():
            if entry.is_dir() and entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)


def _turns() -> dict:
    if not hasattr(_TURNS, "held"):
        _TURNS.held = {}
    return _TURNS.held


def _take(descriptor: int, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    delay = 0.005
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            raise TurnTimeout()
        time.sleep(delay * (1 + random.random()))
        delay = min(delay * 2, 0.1)


FICLONE = 0x40049409  # Linux ioctl: share the source's blocks (XFS with reflink, btrfs); copy-on-write after


def _copy(source: Path, target: Path) -> None:
    """Copy the store file: a reflink where the filesystem offers one (instant, no space until blocks change),
    else a byte copy in the kernel (ext4: about 0.1 s per 200 MB from the page cache)."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return
        except OSError:
            pass
    shutil.copyfile(source, target)


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
