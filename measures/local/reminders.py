"""What a PCN's editors still have to record: the Data page's missing local values, in a few lines."""

from __future__ import annotations

from datetime import datetime

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


def reminder_summary(gaps: pd.DataFrame) -> str:
    """The reminder in one line, from `data_quality.gap_table`: how many values, for which periods, how many measures
    and practices ("3 values for Sep 2026 — 2 measures, 1 practice"); '' when nothing is missing."""
    if gaps.empty:
        return ""
    values = int(gaps["Periods missing"].sum())
    periods = sorted({pd.Timestamp(datetime.strptime(day.strip(), "%b %Y")) for text in gaps["Missing periods"]
                      for day in text.split(",")})
    when = (f"for {periods[0]:%B %Y}" if len(periods) == 1 else
            f"across {len(periods)} periods, {periods[0]:%b %Y} to {periods[-1]:%b %Y}")
    measures = gaps["Measure"].nunique()
    practices = gaps.loc[gaps["Level"] != "PCN", "Code"].nunique()  # a practice's own or its neighbourhood's
    who = f"{measures} measure{'s' if measures != 1 else ''}" + (
        f", {practices} practice{'s' if practices != 1 else ''}" if practices else "")
    return f"{values} value{'s' if values != 1 else ''} {when} — {who}"
