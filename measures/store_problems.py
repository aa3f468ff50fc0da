"""What the store says when its file cannot be used or a save fails: the errors and their messages (no DuckDB)."""

from __future__ import annotations

from pathlib import Path


class StoreBusy(RuntimeError):
    """Another process kept the database locked for longer than we were willing to wait."""


class StoreMissing(FileNotFoundError):
    """The database file does not exist yet."""


class StoreDamaged(RuntimeError):
    """The database file cannot be used: not a DuckDB database, damaged or cut short, or not readable here.

    The message names the file, says what DuckDB found and what to do; nothing in the file was changed.
    """


class StoreWriteFailed(RuntimeError):
    """A save could not be committed (a full disk, a read-only file): nothing of it was saved."""


def is_lock_conflict(exc: Exception) -> bool:
    text = str(exc)
    # Within one process (the app's sessions are threads), DuckDB refuses a read-write connect while a read-only
    # connection is open, and the reverse, with "a different configuration than existing connections"; and two
    # threads connecting to one file at the same moment can meet a "Unique file handle conflict" (the file
    # "already attached" by the other's connection), which is gone when the other has connected.
    return ("lock" in text.lower() or "Conflicting" in text or "already open" in text
            or "different configuration than existing connections" in text
            or "Unique file handle conflict" in text)


def first_line(exc: BaseException | str) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def is_damage_text(text: str, path: Path) -> bool:
    """Is this DuckDB's report of a damaged database file (not of a bad query or of another file)?"""
    if "Corrupt database file" in text or "not a valid DuckDB database" in text:
        return True
    return "Could not read enough bytes" in text and path.name in text


def unusable_message(path: Path, problem: BaseException | str, remedy: str | None = None) -> str:
    """What to say of a file that cannot be used; `remedy` replaces the advice for a damaged store's file."""
    detail = first_line(problem)
    if "Permission denied" in detail or "Read-only file system" in detail:
        return (f"{path} cannot be opened ({detail}). Nothing in it was changed. Check that this user "
                "may read the file, and to save, write it and its folder.")
    if "Could not read enough bytes" in detail:
        detail += "; the file looks cut short, as by an interrupted copy or a disk that filled up"
    remedy = remedy or ("Restore it from a backup; if it held only the synthetic demo, rebuild it with "
                        f"`python -m measures demo --db {path}` (this replaces the file).")
    return f"{path} is not a DuckDB database or is damaged ({detail}). Nothing in it was changed. {remedy}"


def write_failed_message(path: Path, problem: BaseException) -> str:
    detail = first_line(problem)
    if "No space left on device" in detail:
        cause = "The disk holding it is full: free some space"
    elif "Permission denied" in detail or "Read-only file system" in detail:
        cause = "This user may not write it: check the permissions of the file and its folder"
    else:
        cause = "The disk may be full or the file not writable: check both"
    return f"Nothing was saved: {path} could not be written ({detail}). {cause}, then save again."
