"""Each publication the importers read, its latest file in the store, and how far behind it is."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Mapping

import pandas as pd

from ..catalogue import financial_year_of
from ..importers import appointments, epcn, iif, imd, list_sizes, ncdes, practice_map, qof, workforce
from ..importers.detect import ALL as IMPORTERS
from ..store import Store
from ..text import shown

# Per practice and month, appointments with a national category other than Unmapped or Inconsistent Mapping, of
# all appointments: a part the appointments importer keeps for the Data page, not a catalogue measure.
CATEGORY_MEASURE = appointments.CATEGORY_MAPPED
TODAY_SETTING = "PCN_TODAY"  # judge staleness and ended periods as of this day (YYYY-MM-DD) instead of today
IMPORTS_LISTED = 500


# --- Publications and how often they come ---------------------------------------------------------------


@dataclass(frozen=True)
class Cadence:
    months: int  # from one file's period to the next
    due_months: int  # a period's file is expected within this many months of the period's end


# Monthly files come out within about two months of the month (appointments in four weeks, workforce and the MI
# Network Contract DES in six to eight); annual ones within nine months of the year (QOF and the IIF in autumn).
CADENCES = {"monthly": Cadence(months=1, due_months=2), "annual": Cadence(months=12, due_months=9)}


@dataclass(frozen=True)
class Publication:
    """A publication the importers read, and where its figures land in the store."""

    name: str  # the importer's PUBLICATION, as `imports.publication` records it
    short: str
    cadence: str | None  # the importer's CADENCE: monthly or annual
    landing_page: str
    measures: tuple[str, ...] = ()  # catalogue measures its files give (observations)
    # observations kept only to judge the figures by (not catalogue measures, so no card or board lists them)
    parts: tuple[str, ...] = ()
    context: str | None = None  # practice_context indicators it gives (a LIKE pattern)
    hierarchy: bool = False  # practice-to-PCN memberships (membership_evidence)
    contract_fields: bool = False  # every figure of the MI Network Contract DES (contract_fields)

    @property
    def label(self) -> str:
        """How a sentence about it starts: `Appointments`, `IIF indicators`, `ePCN workbook`."""
        if self.short[1:2].isupper():
            return self.short
        return self.short[:1].upper() + self.short[1:]


# What each importer writes, beside the importer's own constants; a test checks it against the real samples.
_WRITES = {
    practice_map: {"hierarchy": True},
    epcn: {"hierarchy": True},
    list_sizes: {"measures": ("registered_patients",)},
    iif: {"measures": tuple(sorted({m for parts in iif.PARTS.values() for m, _ in parts}))},
    ncdes: {"measures": tuple(sorted(set(ncdes.SERIES.values()))), "contract_fields": True},
    workforce: {"measures": ("workforce_fte_per_10k", "workforce_arrs_fte_per_10k", *workforce.GROUPS,
                             "workforce_headcount")},
    appointments: {"measures": tuple(appointments.MEASURES), "parts": (CATEGORY_MEASURE,)},
    qof: {"context": "qof_prevalence_%"},
    imd: {"context": "imd_score"},
}


def _publications() -> tuple[Publication, ...]:
    found: dict[str, Publication] = {}
    writes = {module.PUBLICATION: fields for module, fields in _WRITES.items()}
    # Some publications come in more than one file shape (the MI DES extract and its published file, list sizes in
    # all and by age band): one row each, named by the importer listed above.
    order = {}
    for module in sorted(IMPORTERS, key=lambda m: m not in _WRITES):
        if module.PUBLICATION not in found:
            order[module.PUBLICATION] = module.ORDER
            found[module.PUBLICATION] = Publication(
                name=module.PUBLICATION, short=module.SHORT, cadence=getattr(module, "CADENCE", None),
                landing_page=module.LANDING_PAGE, **writes.get(module.PUBLICATION, {}))
    return tuple(sorted(found.values(), key=lambda p: order[p.name]))


PUBLICATIONS = _publications()


def today(environ: Mapping[str, str] | None = None) -> date:
    """The day staleness and ended periods are judged against: `PCN_TODAY` (YYYY-MM-DD) when set, else today."""
    text = (os.environ if environ is None else environ).get(TODAY_SETTING, "").strip()
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{TODAY_SETTING} is {shown(text)}, which is not a date: give one as YYYY-MM-DD (such as "
                         "2026-10-31), or unset it to judge against today.") from None


# --- Periods in words -------------------------------------------------------------------------------------


def _day(value) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def period_text(start, end) -> str:
    """`October 2025`; `2023/24` for a financial year; `2025` for a calendar year; `September 2026 (2026/27 year
    to date)` for achievement from 1 April."""
    start, end = _day(start), _day(end)
    if start is None:
        return ""
    end = end or start
    if (start.month, start.day) == (4, 1) and end == date(start.year + 1, 3, 31):
        return financial_year_of(start)
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return str(start.year)
    if (start.month, start.day) == (4, 1) and (end.year, end.month) != (start.year, start.month):
        return f"{end:%B %Y} ({financial_year_of(start)} year to date)"
    return f"{start:%B %Y}"


def _context_period(text: str) -> tuple[date, date] | None:
    """A practice_context period as dates: '2024/25' (a financial year) or '2025' (a year)."""
    text = str(text)
    if len(text) == 7 and text[4] == "/" and text[:4].isdigit():
        year = int(text[:4])
        return date(year, 4, 1), date(year + 1, 3, 31)
    if len(text) == 4 and text.isdigit():
        return date(int(text), 1, 1), date(int(text), 12, 31)
    return None


def months_since(end: date, day: date) -> int:
    """Whole months from the day after `end` to `day`: data to 31 October 2025 is 13 months old on 1 December 2026."""
    start = end + timedelta(days=1)
    months = (day.year - start.year) * 12 + day.month - start.month - (1 if day.day < start.day else 0)
    return max(months, 0)


def next_due(end: date, cadence: str) -> tuple[date, date]:
    """The end of the period after one ending `end`, and the day its file is expected by (a month's end)."""
    step = CADENCES[cadence]
    next_end = (pd.Timestamp(end + timedelta(days=1)) + pd.DateOffset(months=step.months) - pd.Timedelta(days=1))
    due = next_end + pd.DateOffset(months=step.due_months) + pd.offsets.MonthEnd(0)
    return next_end.date(), due.date()


def staleness(publication: Publication, start, end, day: date) -> dict:
    """How far behind a publication's latest period is on `day`, and the sentence that says so."""
    start, end = _day(start), _day(end)
    if start is None:
        return {"latest_text": "", "months_behind": None, "next_due": None, "due": False,
                "status": f"{publication.label}: no file loaded yet"}
    latest = period_text(start, end)
    end = end or start
    if publication.cadence not in CADENCES:
        return {"latest_text": latest, "months_behind": None, "next_due": None, "due": False,
                "status": f"{publication.label}: {latest}; how often it is published is not recorded"}
    _, due_by = next_due(end, publication.cadence)
    behind = months_since(end, day)
    if day > due_by:
        status = (f"{publication.label}: {latest}, {behind} month{'s' if behind != 1 else ''} behind: "
                  "the next file is due")
    else:
        status = f"{publication.label}: {latest}, up to date: the next file is expected by {due_by:%d %B %Y}"
    return {"latest_text": latest, "months_behind": behind, "next_due": due_by, "due": day > due_by,
            "status": status}


# --- Reads: each publication's latest file ------------------------------------------------------------------

PUBLICATION_COLUMNS = ["publication", "short", "cadence", "latest_start", "latest_end", "import_id", "kind",
                       "file_name", "vintage", "imported_at", "actor", "rows_read", "rows_loaded", "rows_rejected",
                       "files"]


def publications(store: Store) -> pd.DataFrame:
    """One row per publication: its latest period in the store and the import that brought it.

    The latest period is read from the figures themselves (observations, membership evidence, practice context,
    contract fields), so the demo, built in one import, shows what it holds of each publication too.
    """
    rows = []
    with store.reader() as con:
        files = dict(con.execute("SELECT publication, count(*) FROM imports WHERE kind = 'publication' "
                                 "AND finished_at IS NOT NULL GROUP BY 1").fetchall())
        for publication in PUBLICATIONS:
            found = []  # (period_start, period_end, import_id) of the latest figures in each place it writes
            if publication.measures:
                # An annual publication's latest period is its latest year, even where a measure of it is also
                # given by month (as the demo does).
                found += con.execute(
                    "SELECT period_start, period_end, import_id FROM observations "
                    "WHERE measure_id IN (SELECT unnest($measures)) AND basis <> 'recorded' "
                    "ORDER BY $annual AND date_diff('day', period_start, period_end) >= 360 DESC, "
                    "period_end DESC, import_id DESC LIMIT 1",
                    {"measures": list(publication.measures), "annual": publication.cadence == "annual"}).fetchall()
            if publication.contract_fields:
                found += con.execute(
                    "SELECT make_date(TRY_CAST(substr(financial_year, 1, 4) AS INTEGER), 4, 1), ach_date, import_id "
                    "FROM contract_fields ORDER BY ach_date DESC, import_id DESC LIMIT 1").fetchall()
            if publication.hierarchy:
                found += con.execute(
                    "SELECT e.seen_on, e.seen_on, e.import_id FROM membership_evidence e "
                    "JOIN imports i ON i.import_id = e.import_id WHERE i.publication = ? "
                    "ORDER BY e.seen_on DESC, e.import_id DESC LIMIT 1", [publication.name]).fetchall()
            if publication.context:
                periods = con.execute(
                    "SELECT period, max(import_id) FROM practice_context WHERE indicator LIKE ? GROUP BY period",
                    [publication.context]).fetchall()
                found += [(*dates, import_id) for period, import_id in periods
                          if (dates := _context_period(period)) is not None]
            found = [row for row in found if row[0] is not None]
            latest = max(found, key=lambda r: (_day(r[1]) or _day(r[0]), r[2])) if found else (None, None, None)
            provenance = {}
            if latest[2] is not None:
                provenance = con.execute(
                    "SELECT kind, file_name, vintage, coalesce(finished_at, started_at) AS imported_at, actor, "
                    "rows_read, rows_loaded, rows_rejected FROM imports WHERE import_id = ?",
                    [latest[2]]).df().iloc[0].to_dict()
            rows.append({"publication": publication.name, "short": publication.short, "cadence": publication.cadence,
                         "latest_start": _day(latest[0]), "latest_end": _day(latest[1]), "import_id": latest[2],
                         **provenance, "files": int(files.get(publication.name, 0))})
    return pd.DataFrame(rows).reindex(columns=PUBLICATION_COLUMNS)


def freshness(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    """`publications` with each one's latest period in words, months behind on `day`, and the sentence."""
    by_name = {p.name: p for p in PUBLICATIONS}
    judged = [staleness(by_name[row.publication], row.latest_start, row.latest_end, day)
              for row in frame.itertuples()]
    columns = ["latest_text", "months_behind", "next_due", "due", "status"]
    return frame.assign(**{column: [j[column] for j in judged] for column in columns})


def imported_by(actor, kind) -> str:
    """Who imported a file, as recorded: the command line's user, or "demo" for the synthetic build."""
    if isinstance(actor, str) and actor.strip():
        return f"{actor} (command line)" if kind == "publication" else actor
    return {"demo": "demo", "publication": "command line"}.get(kind, "not recorded")


def publications_table(judged: pd.DataFrame) -> pd.DataFrame:
    """The Publications table as shown and downloaded."""
    loaded = judged["import_id"].notna()
    return pd.DataFrame({
        "Publication": judged["publication"],
        "Status": judged["status"],
        "How often": judged["cadence"].fillna("not recorded"),
        "Latest period": judged["latest_text"].where(loaded, "none loaded"),
        "File vintage": judged["vintage"].where(loaded, ""),
        "Imported": [f"{pd.Timestamp(t):%d %b %Y %H:%M}" if pd.notna(t) else "" for t in judged["imported_at"]],
        "By": [imported_by(a, k) if ok else "" for a, k, ok in zip(judged["actor"], judged["kind"], loaded)],
        "File": judged["file_name"].where(loaded & judged["file_name"].notna(), ""),
        "Rows read": judged["rows_read"].astype("Int64"),
        "Rows rejected": judged["rows_rejected"].astype("Int64"),
        "Files imported": judged["files"].astype("Int64"),
    })


def imports(store: Store, limit: int = IMPORTS_LISTED) -> pd.DataFrame:
    """The latest imports of published files and demo builds, newest first (local recording has its own log)."""
    return store.query(
        "SELECT import_id, kind, publication, file_name, vintage, rows_read, rows_loaded, rows_rejected, "
        "started_at, finished_at, actor FROM imports WHERE kind <> 'recorded' AND finished_at IS NOT NULL "
        "ORDER BY import_id DESC LIMIT ?", [limit])


def imports_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Import": frame["import_id"], "Publication": frame["publication"], "File": frame["file_name"].fillna(""),
        "Vintage": frame["vintage"], "Rows read": frame["rows_read"], "Rows loaded": frame["rows_loaded"],
        "Rows rejected": frame["rows_rejected"],
        "Imported": [f"{pd.Timestamp(t):%d %b %Y %H:%M}" for t in frame["finished_at"]],
        "By": [imported_by(a, k) for a, k in zip(frame["actor"], frame["kind"])],
    })

