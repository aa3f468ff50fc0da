"""What a PCN's editors still have to record: the Data page's missing local values, in a few lines."""

from __future__ import annotations

import pandas as pd

REMINDERS_LISTED = 8  # lines in the reminder; the rest are counted and left to the Data page


def still_to_record(gaps: pd.DataFrame, limit: int = REMINDERS_LISTED) -> list[str]:
    """One line per measure and organisation missing a value, from `data_quality.gap_table`, most missing first.

    A PCN-level line names the measure and its periods ("MDT case reviews (Nov 2026, Oct 2026)"); a practice-level
    line names the practice too. Past `limit`, one last line counts the rest.
    """
    lines = []
    for row in gaps.head(limit).to_dict("records"):
        who = "" if row["Level"] == "PCN" else f", {row['Organisation']} ({row['Code']})"
        lines.append(f"{row['Measure']}{who} ({row['Missing periods']})")
    if len(gaps) > limit:
        rest = len(gaps) - limit
        lines.append(f"and {rest} more measure{'s' if rest != 1 else ''} or practice{'s' if rest != 1 else ''} "
                     "with a value missing (all of them on the Data page)")
    return lines
