"""Whether the figures can be trusted: each publication's freshness, who is missing from it, who has not recorded."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Mapping

import pandas as pd

from . import local, queries
from .catalogue import financial_year_of
from .importers import appointments, epcn, iif, imd, list_sizes, ncdes, practice_map, qof, workforce
from .importers.detect import ALL as IMPORTERS
from .store import Store
from .text import shown

TODAY_SETTING = "PCN_TODAY"  # judge staleness and ended periods as of this day (YYYY-MM-DD) instead of today
LOCAL_PERIODS = 12  # the ended periods of each local measure in which a missing value is a gap to chase
MISSING_LISTED = 20  # practice codes named in one row; the count says how many there are
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
    appointments: {"measures": tuple(appointments.MEASURES)},
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


# --- Reads: who is missing from each publication, by PCN and period -----------------------------------------

COVERAGE_COLUMNS = ["pcn", "pcn_name", "publication", "short", "period_start", "period_end", "practices",
                    "with_data", "missing", "missing_practices", "pcn_figure"]


def pcns_in_scope(pcns: pd.DataFrame, pcn_code: str, whole_icb: bool) -> tuple[str, ...]:
    """The PCN alone, or every PCN of its ICB (as `queries.pcns` places them now)."""
    row = pcns[pcns["pcn"] == pcn_code]
    icb = row["icb"].iloc[0] if len(row) else None
    if not whole_icb or not isinstance(icb, str):
        return (pcn_code,)
    return tuple(pcns.loc[pcns["icb"] == icb, "pcn"])


def _members(con, pcn_codes: Iterable[str]) -> pd.DataFrame:
    return con.execute(
        "SELECT parent_code AS pcn, child_code AS practice, start_date, end_date FROM memberships "
        "WHERE parent_level = 'pcn' AND child_level = 'practice' AND parent_code IN (SELECT unnest($pcns))",
        {"pcns": list(pcn_codes)}).df()


def members_at(members: pd.DataFrame, periods: pd.DataFrame, on: str) -> pd.DataFrame:
    """Each row of `periods` with the member practices of a PCN on the date in its column `on`.

    Rows that name a practice already keep it, with the PCN it was a member of then (rows of no member are left out).
    """
    if members.empty or periods.empty:
        return periods.iloc[0:0].assign(pcn=pd.Series(dtype=object), practice=pd.Series(dtype=object))
    joined = periods.merge(members, on="practice") if "practice" in periods else periods.merge(members, how="cross")
    day = pd.to_datetime(joined[on])
    held = (pd.to_datetime(joined["start_date"]) <= day) & (joined["end_date"].isna()
                                                            | (pd.to_datetime(joined["end_date"]) >= day))
    return joined[held].drop(columns=["start_date", "end_date"]).drop_duplicates()


def coverage(store: Store, pcn_codes: tuple[str, ...]) -> pd.DataFrame:
    """For each PCN, publication and period the publication covers: the member practices with no figure of it.

    A practice counts as a member on the period's last day (the achievement, census or month end the figure is
    as at) and as having data when any of the publication's measures has a row for it, withheld figures included.
    Publications given only for PCNs (the workforce) say whether the PCN has a figure.
    """
    measured = [p for p in PUBLICATIONS if p.measures]
    of_measure = {m: p.name for p in measured for m in p.measures}
    with store.reader() as con:
        members = _members(con, pcn_codes)
        names = con.execute("SELECT org_code, name FROM organisations WHERE org_code IN (SELECT unnest($c))",
                            {"c": list(pcn_codes)}).fetchall()
        everything = list(of_measure)
        periods = con.execute(
            "SELECT DISTINCT measure_id, org_level, period_start, period_end FROM observations "
            "WHERE measure_id IN (SELECT unnest($m)) AND basis <> 'recorded'", {"m": everything}).df()
        orgs = sorted(set(members["practice"]) | set(pcn_codes))
        observed = con.execute(
            "SELECT DISTINCT measure_id, org_code AS org, period_start, period_end FROM observations "
            "WHERE measure_id IN (SELECT unnest($m)) AND basis <> 'recorded' AND org_code IN (SELECT unnest($o))",
            {"m": everything, "o": orgs}).df()
    periods["publication"] = periods["measure_id"].map(of_measure)
    observed["publication"] = observed["measure_id"].map(of_measure)
    periods = (periods.assign(practice_level=periods["org_level"] == "practice")
               .groupby(["publication", "period_start", "period_end"], as_index=False)["practice_level"].any())
    return coverage_from(members, periods, observed.drop(columns="measure_id").drop_duplicates(),
                         list(pcn_codes), dict(names))


def coverage_from(members: pd.DataFrame, periods: pd.DataFrame, observed: pd.DataFrame, pcn_codes: list[str],
                  pcn_names: Mapping[str, str]) -> pd.DataFrame:
    """The coverage rows from plain frames.

    `members`: pcn, practice, start_date, end_date. `periods`: publication, period_start, period_end, practice_level
    (the publication gives practice figures that period). `observed`: publication, org, period_start, period_end.
    """
    if periods.empty or not pcn_codes:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    keys = ["publication", "period_start", "period_end"]
    for frame in (periods, observed):
        for column in ("period_start", "period_end"):
            frame[column] = pd.to_datetime(frame[column])
    grid = periods.merge(pd.DataFrame({"pcn": pcn_codes}), how="cross")
    expected = members_at(members, periods, on="period_end")
    seen = observed.rename(columns={"org": "practice"}).assign(seen=True)
    expected = expected.merge(seen, on=[*keys, "practice"], how="left")
    expected["seen"] = expected["seen"].fillna(False).astype(bool)
    counted = expected.groupby([*keys, "pcn"]).agg(practices=("practice", "size"), with_data=("seen", "sum"))
    absent = (expected[~expected["seen"]].sort_values("practice").groupby([*keys, "pcn"])["practice"]
              .agg(lambda codes: _listed(list(codes))).rename("missing_practices"))
    figures = observed[observed["org"].isin(pcn_codes)].rename(columns={"org": "pcn"})[[*keys, "pcn"]]
    figures = figures.drop_duplicates().assign(pcn_figure=True)
    frame = (grid.merge(counted.reset_index(), on=[*keys, "pcn"], how="left")
             .merge(absent.reset_index(), on=[*keys, "pcn"], how="left")
             .merge(figures, on=[*keys, "pcn"], how="left"))
    frame["practices"] = frame["practices"].fillna(0).astype(int)
    frame["with_data"] = frame["with_data"].fillna(0).astype(int).where(frame["practice_level"])
    frame["missing"] = (frame["practices"] - frame["with_data"]).where(frame["practice_level"])
    frame["missing_practices"] = frame["missing_practices"].where(frame["practice_level"], "figures by PCN only")
    frame["missing_practices"] = frame["missing_practices"].fillna("")
    frame["pcn_figure"] = frame["pcn_figure"].fillna(False).astype(bool)
    short = {p.name: p.short for p in PUBLICATIONS}
    frame = frame.assign(pcn_name=frame["pcn"].map(pcn_names), short=frame["publication"].map(short))
    frame["period_start"] = frame["period_start"].dt.date
    frame["period_end"] = frame["period_end"].dt.date
    order = frame.assign(_gap=frame["missing"].fillna((~frame["pcn_figure"]).astype(int)))
    order = order.sort_values(["period_end", "_gap", "pcn", "publication"], ascending=[False, False, True, True])
    return order[COVERAGE_COLUMNS].reset_index(drop=True)


def _listed(codes: list[str]) -> str:
    if len(codes) <= MISSING_LISTED:
        return ", ".join(codes)
    return ", ".join(codes[:MISSING_LISTED]) + f" and {len(codes) - MISSING_LISTED:,} more"


def incomplete(frame: pd.DataFrame) -> pd.DataFrame:
    """The coverage rows with a gap: a member practice missing, or no PCN figure where practices give none."""
    gap = frame["missing"].fillna(0).gt(0) | (frame["missing"].isna() & ~frame["pcn_figure"].astype(bool))
    return frame[gap]


def without_list_size(frame: pd.DataFrame) -> pd.DataFrame:
    """The coverage rows of the list sizes: member practices with no list size in a month list sizes are loaded for."""
    rows = frame[frame["publication"] == list_sizes.PUBLICATION]
    return rows[rows["missing"].fillna(0).gt(0)]


def coverage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Coverage rows as shown and downloaded."""
    practice_level = frame["missing"].notna()
    return pd.DataFrame({
        "PCN": frame["pcn_name"].fillna(frame["pcn"]), "Code": frame["pcn"],
        "Publication": frame["short"],
        "Period": [period_text(s, e) for s, e in zip(frame["period_start"], frame["period_end"])],
        "Member practices": frame["practices"],
        "With data": frame["with_data"].astype("Int64"),
        "Missing": frame["missing"].astype("Int64"),
        "Missing practices": frame["missing_practices"],
        "PCN figure": ["yes" if f else ("no" if not p else "") for f, p in zip(frame["pcn_figure"], practice_level)],
    })


def coverage_summary(frame: pd.DataFrame) -> str:
    rows, gaps = len(frame), len(incomplete(frame))
    if not rows:
        return "No publication with figures by practice or PCN is loaded yet."
    return (f"{gaps:,} of {rows:,} PCN, publication and period rows have a gap; the rest are complete. A practice "
            "is counted where it was a member on the period's last day.")


# --- Reads: unknowns in the appointments data ----------------------------------------------------------------

# Which appointments measure carries each total per practice and month (the importer's numerator and denominator).
_APPOINTMENT_PARTS = {part: (measure, side) for measure, parts in appointments.MEASURES.items()
                      for side, part in zip(("numerator", "denominator"), parts)}
UNKNOWN_PARTS = {"status": "status_known", "interval": "interval_known", "mode": "mode_known",
                 "staff": "staff_known"}
NOT_STORED = ("Appointments with an unmapped or inconsistently mapped national category are not stored apart: the "
              "importer keeps each practice's monthly totals for the measures only (ACC-08 counts its eight "
              "categories), so their share cannot be shown.")
DEMO_UNKNOWNS = ("Unknown shares are not shown for the synthetic demo: it draws each appointment measure's figures "
                 "on their own, so they do not add up the way a published file's do.")


def appointment_parts(store: Store, pcn_codes: tuple[str, ...]) -> pd.DataFrame:
    """Each member practice's appointments a month, and those with a known status, interval, mode and staff type."""
    wanted = {"appointments": _APPOINTMENT_PARTS["total"],
              **{name: _APPOINTMENT_PARTS[part] for name, part in UNKNOWN_PARTS.items()}}
    with store.reader() as con:
        members = _members(con, pcn_codes)
        rows = con.execute(
            "SELECT org_code AS practice, period_start, period_end, measure_id, numerator, denominator "
            "FROM observations WHERE org_level = 'practice' AND measure_id IN (SELECT unnest($m)) "
            "AND org_code IN (SELECT unnest($o))",
            {"m": sorted({measure for measure, _ in wanted.values()}), "o": sorted(set(members["practice"]))}).df()
    keys = ["practice", "period_start", "period_end"]
    parts = rows[keys].drop_duplicates()
    for name, (measure, side) in wanted.items():
        figures = rows.loc[rows["measure_id"] == measure, [*keys, side]].drop_duplicates(keys)
        parts = parts.merge(figures.rename(columns={side: name}), on=keys, how="left")
    return members_at(members, parts, on="period_end")


def unknown_shares(parts: pd.DataFrame, pcn_names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per PCN and month, the percentage of appointments whose status, booking interval, mode or staff type is
    unknown. A share whose known count exceeds the total (figures that do not add up) is left empty."""
    columns = ["pcn", "pcn_name", "period_start", "practices", "appointments",
               *[f"unknown_{name}_pct" for name in UNKNOWN_PARTS]]
    if parts.empty:
        return pd.DataFrame(columns=columns)
    sums = parts.groupby(["pcn", "period_start"]).agg(
        practices=("practice", "nunique"), appointments=("appointments", "sum"),
        **{name: (name, "sum") for name in UNKNOWN_PARTS}).reset_index()
    for name in UNKNOWN_PARTS:
        share = 100 * (sums["appointments"] - sums[name]) / sums["appointments"].where(sums["appointments"] > 0)
        sums[f"unknown_{name}_pct"] = share.where(sums[name] <= sums["appointments"])
    sums["pcn_name"] = sums["pcn"].map(pcn_names or {})
    sums["period_start"] = pd.to_datetime(sums["period_start"]).dt.date
    return sums.sort_values(["period_start", "pcn"], ascending=[False, True])[columns].reset_index(drop=True)


def appointment_unknowns(store: Store, pcn_codes: tuple[str, ...]) -> pd.DataFrame:
    names = dict(store.query("SELECT org_code, name FROM organisations WHERE org_code IN (SELECT unnest(?))",
                             [list(pcn_codes)]).itertuples(index=False, name=None))
    return unknown_shares(appointment_parts(store, pcn_codes), names)


def unknowns_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "PCN": frame["pcn_name"].fillna(frame["pcn"]), "Code": frame["pcn"],
        "Month": [f"{pd.Timestamp(d):%B %Y}" for d in frame["period_start"]],
        "Practices": frame["practices"], "Appointments": frame["appointments"],
        "Unknown status (%)": frame["unknown_status_pct"].round(1),
        "Unknown booking interval (%)": frame["unknown_interval_pct"].round(1),
        "Unknown mode (%)": frame["unknown_mode_pct"].round(1),
        "Unknown staff type (%)": frame["unknown_staff_pct"].round(1),
    })


# --- Reads: who has not recorded local measures ---------------------------------------------------------------

GAP_COLUMNS = ["measure", "measure_label", "level", "pcn", "pcn_name", "org", "org_name", "period_start",
               "period_end"]


def local_submissions(store: Store, pcn_codes: tuple[str, ...], day: date,
                      periods: int = LOCAL_PERIODS) -> pd.DataFrame:
    """Every value of a local measure expected from a PCN or member practice, and whether it is recorded (`recorded`),
    for each of the measure's latest `periods` periods ended by `day` (none before it was first defined in the app).

    Who is expected is who records: the PCN for a PCN-level measure while it is open, each practice that was a
    member on the period's first day for a practice-level one (as the Local measures grid lists them).
    """
    catalogue = local.catalogue_with_local(store)
    hierarchy = queries.pcns(store)
    icb_of = {row.pcn: (row.icb if isinstance(row.icb, str) else None) for row in hierarchy.itertuples()}
    measures = [m for m in catalogue if m.family in local.LOCAL_FAMILIES and m.status != "retired"]
    with store.reader() as con:
        members = _members(con, pcn_codes)
        orgs = sorted(set(members["practice"]) | set(pcn_codes))
        organisations = con.execute(
            "SELECT org_code, name, open_date, close_date FROM organisations WHERE org_code IN (SELECT unnest($o))",
            {"o": orgs}).df()
        defined = dict(con.execute("SELECT measure_id, min(created_at) FROM local_measures GROUP BY 1").fetchall())
        recorded = con.execute(
            "SELECT DISTINCT measure_id AS measure, org_code AS org, period_start FROM observations "
            "WHERE measure_id IN (SELECT unnest($m)) AND org_code IN (SELECT unnest($o)) AND numerator IS NOT NULL",
            {"m": [m.id for m in measures], "o": orgs}).df()
    expected = expected_submissions(measures, pcn_codes, icb_of, members, organisations, day, periods,
                                    {k: _day(v) for k, v in defined.items()})
    return mark_recorded(expected, recorded)


def expected_submissions(measures: list, pcn_codes: Iterable[str], icb_of: Mapping[str, str | None],
                         members: pd.DataFrame, organisations: pd.DataFrame, day: date, periods: int,
                         defined: Mapping[str, date | None] | None = None) -> pd.DataFrame:
    """One row per measure, organisation and ended period in which a value is expected (see `local_submissions`)."""
    names = dict(zip(organisations["org_code"], organisations["name"]))
    spans = {row.org_code: (_day(row.open_date), _day(row.close_date)) for row in organisations.itertuples()}
    spells = defaultdict(list)  # pcn -> [(practice, start, end)]
    for row in members.itertuples():
        spells[row.pcn].append((row.practice, _day(row.start_date), _day(row.end_date)))
    rows = []
    for pcn in pcn_codes:
        opened, closed = spans.get(pcn, (None, None))
        for measure in measures:
            if not local.applies_to(measure, pcn, icb_of.get(pcn)):
                continue
            first = (defined or {}).get(measure.id)
            for start in local.recent_periods(measure, periods, day):
                end = local.period_end(measure, start)
                if first is not None and end < first:
                    continue  # the period was over before the measure existed
                if (opened and start < opened) or (closed and start > closed):
                    continue
                orgs = [pcn] if measure.level == "pcn" else sorted(
                    code for code, joined, left in spells[pcn] if joined <= start and (left is None or left >= start))
                rows += [(measure.id, measure.label, measure.level, pcn, names.get(pcn), org, names.get(org), start,
                          end) for org in orgs]
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


def mark_recorded(expected: pd.DataFrame, recorded: pd.DataFrame) -> pd.DataFrame:
    """The expected rows with `recorded`: whether a value is held (`recorded`: measure, org, period_start)."""
    if expected.empty:
        return pd.DataFrame(columns=[*GAP_COLUMNS, "recorded"])
    have = recorded.assign(period_start=pd.to_datetime(recorded["period_start"]).dt.date, recorded=True)
    merged = expected.merge(have[["measure", "org", "period_start", "recorded"]].drop_duplicates(),
                            on=["measure", "org", "period_start"], how="left")
    merged["recorded"] = merged["recorded"].fillna(False).astype(bool)
    return merged[[*GAP_COLUMNS, "recorded"]].reset_index(drop=True)


def gaps_summary(submissions: pd.DataFrame, *, published_only: bool = False) -> str:
    """How many expected values are missing, in words; `published_only`: the reader sees published periods only."""
    if submissions.empty:
        if published_only:
            return "No period these PCNs have published is missing a local value."
        return "No local measure applies to these PCNs in the periods that have ended."
    missing = int((~submissions["recorded"].astype(bool)).sum())
    where = "published periods among the" if published_only else "the"
    return (f"{missing:,} of {len(submissions):,} values expected in {where} last {LOCAL_PERIODS} ended periods of "
            "each measure are not recorded.")


def gap_table(submissions: pd.DataFrame) -> pd.DataFrame:
    """One row per measure and organisation with a missing value, the most periods missing first."""
    columns = ["Measure", "Level", "PCN", "Organisation", "Code", "Periods missing", "Latest missing",
               "Missing periods"]
    gaps = submissions[~submissions["recorded"].astype(bool)] if "recorded" in submissions else submissions
    if gaps.empty:
        return pd.DataFrame(columns=columns)
    ordered = gaps.sort_values("period_start", ascending=False)
    grouped = ordered.groupby(["measure", "org"], sort=False)
    frame = grouped.agg(measure_label=("measure_label", "first"), level=("level", "first"), pcn=("pcn", "first"),
                        pcn_name=("pcn_name", "first"), org_name=("org_name", "first"),
                        missing=("period_start", "size"), latest=("period_start", "max"),
                        periods=("period_start", lambda days: ", ".join(f"{d:%b %Y}" for d in days))).reset_index()
    frame = frame.sort_values(["missing", "latest", "pcn", "org"], ascending=[False, False, True, True])
    return pd.DataFrame({
        "Measure": frame["measure_label"], "Level": frame["level"].map({"pcn": "PCN", "practice": "practice"}),
        "PCN": frame["pcn_name"].fillna(frame["pcn"]), "Organisation": frame["org_name"].fillna(frame["org"]),
        "Code": frame["org"], "Periods missing": frame["missing"],
        "Latest missing": [f"{d:%b %Y}" for d in frame["latest"]], "Missing periods": frame["periods"],
    }).reset_index(drop=True)


# --- Caveats for cards and charts: a PCN value resting on some of its practices --------------------------------

COMPLETENESS_COLUMNS = ["measure", "period_start", "period_end", "members", "reporting", "missing",
                        "missing_practices"]


def practice_completeness(store: Store, pcn_code: str) -> pd.DataFrame:
    """For each practice-level measure and period with a PCN value: its member practices and how many have a value.

    Members are taken on the period's first day for local measures (as they are recorded and summed) and on its
    last for published ones (the date the publication's figure is as at).
    """
    catalogue = local.catalogue_with_local(store)
    practice_ids = [m.id for m in catalogue if m.level == "practice"]
    with store.reader() as con:
        members = _members(con, [pcn_code])
        periods = con.execute(
            "SELECT DISTINCT measure_id AS measure, period_start, period_end FROM observations "
            "WHERE org_code = ? AND org_level = 'pcn' AND measure_id IN (SELECT unnest(?)) AND value IS NOT NULL",
            [pcn_code, practice_ids]).df()
        reported = con.execute(
            "SELECT DISTINCT measure_id AS measure, org_code AS practice, period_start, period_end FROM observations "
            "WHERE org_level = 'practice' AND measure_id IN (SELECT unnest(?)) AND org_code IN (SELECT unnest(?)) "
            "AND numerator IS NOT NULL", [practice_ids, sorted(set(members["practice"]))]).df()
    local_ids = {m.id for m in catalogue if m.family in local.LOCAL_FAMILIES}
    return completeness(periods, members, reported, local_ids)


def completeness(periods: pd.DataFrame, members: pd.DataFrame, reported: pd.DataFrame,
                 local_ids: Iterable[str] = ()) -> pd.DataFrame:
    """From plain frames: `periods` (measure, period_start, period_end), `members` (pcn, practice, start_date,
    end_date) and `reported` (measure, practice, period_start, period_end: practices with a value)."""
    if periods.empty:
        return pd.DataFrame(columns=COMPLETENESS_COLUMNS)
    local_ids = set(local_ids)
    periods = periods.assign(period_start=pd.to_datetime(periods["period_start"]),
                             period_end=pd.to_datetime(periods["period_end"]))
    periods["as_at"] = periods["period_start"].where(periods["measure"].isin(local_ids), periods["period_end"])
    expected = members_at(members, periods, on="as_at")
    keys = ["measure", "period_start", "period_end"]
    have = reported.assign(period_start=pd.to_datetime(reported["period_start"]),
                           period_end=pd.to_datetime(reported["period_end"]), have=True)[[*keys, "practice", "have"]]
    expected = expected.merge(have.drop_duplicates(), on=[*keys, "practice"], how="left")
    expected["have"] = expected["have"].fillna(False).astype(bool)
    missing = (expected[~expected["have"]].sort_values("practice").groupby(keys)["practice"]
               .agg(lambda codes: _listed(list(codes))).rename("missing_practices"))
    counted = expected.groupby(keys).agg(members=("practice", "nunique"), reporting=("have", "sum"))
    frame = periods[keys].merge(counted.reset_index(), on=keys, how="left").merge(missing.reset_index(), on=keys,
                                                                                 how="left")
    frame["members"] = frame["members"].fillna(0).astype(int)
    frame["reporting"] = frame["reporting"].fillna(0).astype(int)
    frame["missing"] = frame["members"] - frame["reporting"]
    frame["missing_practices"] = frame["missing_practices"].fillna("")
    frame["period_start"] = frame["period_start"].dt.date
    frame["period_end"] = frame["period_end"].dt.date
    return frame[COMPLETENESS_COLUMNS].sort_values(keys).reset_index(drop=True)


def caveat_text(missing: int, members: int) -> str | None:
    """`2 of 6 practices missing`, or None when every member practice is in the value."""
    if members <= 0 or missing <= 0:
        return None
    return f"{missing} of {members} practice{'s' if members != 1 else ''} missing"


def card_caveats(frame: pd.DataFrame) -> dict[tuple[str, date], str]:
    """{(measure, period_start): caveat} for every period whose PCN value leaves out some member practices."""
    caveats = {}
    for row in frame.itertuples():
        text = caveat_text(int(row.missing), int(row.members))
        if text:
            caveats[(row.measure, _day(row.period_start))] = text
    return caveats


def chart_caveat(frame: pd.DataFrame, measure_id: str, latest: int = 3) -> str | None:
    """A chart footnote naming the latest periods whose value leaves out member practices, or None."""
    rows = frame[(frame["measure"] == measure_id) & (frame["missing"] > 0) & (frame["members"] > 0)]
    if rows.empty:
        return None
    rows = rows.sort_values("period_start", ascending=False)
    named = [f"{period_text(r.period_start, r.period_end)} ({caveat_text(int(r.missing), int(r.members))})"
             for r in rows.head(latest).itertuples()]
    earlier = len(rows) - latest
    more = f" and {earlier} earlier period{'s' if earlier != 1 else ''}" if earlier > 0 else ""
    return f"Incomplete data: {'; '.join(named)}{more}."



# --- the board pack's data page ---------------------------------------------------------------------------------

DATA_PAGE = "The data behind this pack"
LOCAL_GAPS_IN_PACK = 8
DATA_HEADERS = ("Publication", "Latest period", "Where it stands", "This PCN's latest period")


@dataclass(frozen=True)
class DataPage:
    """A page of the board pack: each publication's latest file and whether this PCN's practices are all in it."""

    judged_on: date
    rows: tuple[tuple[str, str, str, str], ...]
    local_gaps: tuple[str, ...]  # "MDT case reviews: 2 periods not recorded (latest Sep 2026)"
    headers = DATA_HEADERS

    @property
    def heading(self) -> str:
        return (f"Judged on {self.judged_on.day} {self.judged_on:%B %Y}: how current each publication is, and "
                "whether the PCN's latest figure of each rests on all its member practices")


def data_page(store: Store, pcn_code: str, day: date | None = None) -> DataPage:
    """The pack's data page for one PCN, from the same reads as the Data page."""
    day = day or today()
    judged = freshness(publications(store), day)
    latest = coverage(store, (pcn_code,))
    gaps = incomplete(latest)
    rows = []
    for row in judged.itertuples():
        own = latest[latest["publication"] == row.publication]
        if own.empty:
            standing = "–"
        else:
            newest = own.sort_values("period_end").iloc[-1]
            missing = gaps[(gaps["publication"] == row.publication) & (gaps["period_end"] == newest["period_end"])]
            standing = (caveat_text(int(missing["missing"].iloc[0]), int(missing["practices"].iloc[0]))
                        if len(missing) and pd.notna(missing["missing"].iloc[0]) and missing["missing"].iloc[0] > 0
                        else "all member practices in it")
        rows.append((str(row.short), str(row.latest_text or "none loaded"), str(row.status), str(standing)))
    submissions = local_submissions(store, (pcn_code,), day)
    table = gap_table(submissions) if len(submissions) else pd.DataFrame()
    notes = [f"{r['Measure']}: {r['Organisation']} ({r['Code']}), {r['Periods missing']} ended "
             f"period{'s' if r['Periods missing'] != 1 else ''} not recorded ({r['Missing periods']})"
             for r in table.head(LOCAL_GAPS_IN_PACK).to_dict("records")]
    if len(table) > LOCAL_GAPS_IN_PACK:
        notes.append(f"… and {len(table) - LOCAL_GAPS_IN_PACK:,} more on the Data page.")
    return DataPage(judged_on=day, rows=tuple(rows), local_gaps=tuple(notes))
