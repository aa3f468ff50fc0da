"""What is wrong with values offered for saving: each problem by file, row and column, and the error listing them."""

from __future__ import annotations

from dataclasses import dataclass

from ..text import shorten, shown

# Cells quoted back in a message are cut to this many characters, so a pasted page does not make a page of report.
SHOWN_CHARACTERS = 60
MAX_PROBLEMS_LISTED = 50


@dataclass(frozen=True)
class Problem:
    source: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [shorten(self.source, 120)]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {shorten(self.column, SHOWN_CHARACTERS)}")
        # Messages quote cells already cut by _shown; this bounds any that quote something else.
        return f"{', '.join(where)}: {shorten(self.message, 600)}"


class RecordingError(ValueError):
    """Values that cannot be saved. Nothing was saved; `problems` lists each one with its file, row and column."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        listed = [f"- {p}" for p in problems[:MAX_PROBLEMS_LISTED]]
        if len(problems) > MAX_PROBLEMS_LISTED:
            listed.append(f"- … and {len(problems) - MAX_PROBLEMS_LISTED:,} more")
        source = shorten(problems[0].source, 120) if problems else "the input"
        super().__init__(f"nothing was saved: {len(problems):,} problem{'s' if len(problems) != 1 else ''} "
                         f"in {source}\n" + "\n".join(listed))


def _shown(value) -> str:
    """A cell as quoted in a message: its text (trimmed) in quotes, cut to a readable length."""
    return shown(str(value).strip(), SHOWN_CHARACTERS)
