"""ODS ePCN workbook (ePCN.xlsx): every PCN with open and close dates, and dated practice ↔ PCN relationships."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import zipfile

import pandas as pd

from .. import limits
from .common import Example, PublicationError, Rejections, canonical, limit_value, shorten, shown
from .context import StoreContext
from .loading import Load

PUBLICATION = "ODS ePCN: PCNs and their core partners"
SHORT = "ePCN workbook"
ORDER = 20
LANDING_PAGE = "https://digital.nhs.uk/services/organisation-data-service/export-data-files/csv-downloads/gp-and-gp-practice-related-data"
CADENCE = "monthly"  # how often a new file is published: monthly or annual
SHEETS = ["PCNDetails", "PCN Core Partner Details"]

# Canonical header (line breaks and runs of spaces collapsed, upper case) → the name used here.
# Workbooks from before 1 July 2022 name the PCN's Clinical Commissioning Group where later ones name its sub-ICB
# location: each CCG's 3-character code (72Q) became the code of the sub-ICB location that took over its area.
CCG_HEADERS = {
    "CURRENT CLINICAL COMMISSIONING GROUP CODE": "sub_icb", "CLINICAL COMMISSIONING GROUP CODE": "sub_icb",
    "CURRENT CCG CODE": "sub_icb", "CCG CODE": "sub_icb",
    "CLINICAL COMMISSIONING GROUP NAME": "sub_icb_name", "CURRENT CLINICAL COMMISSIONING GROUP NAME": "sub_icb_name",
    "CLINICAL COMMISSIONING GROUP": "sub_icb_name", "CCG NAME": "sub_icb_name", "CURRENT CCG NAME": "sub_icb_name",
}
DETAILS = {
    "PCN CODE": "pcn", "PCN NAME": "name", "OPEN DATE": "open", "CLOSE DATE": "close", "POSTCODE": "postcode",
    "CURRENT SUB ICB LOC CODE": "sub_icb", "SUB ICB LOCATION": "sub_icb_name", **CCG_HEADERS,
}
CCG_ERA_END = date(2022, 6, 30)  # the last day of the CCGs: sub-ICB locations took over on 1 July 2022
PARTNERS = {
    "PARTNER ORGANISATION CODE": "practice", "PARTNER NAME": "practice_name", "PCN CODE": "pcn", "PCN NAME": "pcn_name",
    "PRACTICE TO PCN RELATIONSHIP START DATE": "start", "PRACTICE TO PCN RELATIONSHIP END DATE": "end",
}
REQUIRED_DETAILS = ["pcn", "name", "open", "close", "sub_icb"]
REQUIRED_PARTNERS = ["practice", "pcn", "start", "end"]
_ADVICE = f"Download the workbook again from {LANDING_PAGE}."


def parse(source, context: StoreContext) -> Load:
    from openpyxl import load_workbook

    _check_workbook(source)
    # data_only=False: a formula cell keeps its formula (data type "f") instead of the value Excel last cached for
    # it, so it can be refused; the published workbook holds values only.
    workbook = load_workbook(source.path, read_only=True, data_only=False)
    try:
        modified = workbook.properties.modified
        _refuse_hidden(source.name, workbook)
        details = _sheet(source.name, workbook["PCNDetails"], "PCNDetails", DETAILS, REQUIRED_DETAILS)
        partners = _sheet(source.name, workbook["PCN Core Partner Details"], "PCN Core Partner Details", PARTNERS,
                          REQUIRED_PARTNERS)
        others = [sheet.title for sheet in workbook.worksheets if sheet.title not in SHEETS]
    finally:
        workbook.close()
    rows_read = len(details) + len(partners)
    rejections = Rejections()
    for frame, sheet, required in ((details, "PCNDetails", ["pcn", "name", "open"]),
                                   (partners, "PCN Core Partner Details", ["practice", "pcn", "start"])):
        for column in required:
            missing = frame[frame[column].isna()]
            if len(missing):
                first = missing.iloc[0]
                raise PublicationError(f"{source.name}: sheet {sheet}, row {first['_row']:,}, column "
                                       f"{first['_header_' + column]}: is empty, but every row needs it. {_ADVICE} "
                                       "Nothing was imported.")
    ccg_era = canonical(details["_header_sub_icb"].iloc[0]) in CCG_HEADERS
    reference = min(_reference_day(modified), CCG_ERA_END) if ccg_era else _reference_day(modified)
    for frame, sheet, columns in ((details, "PCNDetails", ("open", "close")),
                                  (partners, "PCN Core Partner Details", ("start", "end"))):
        for column in columns:
            frame[column] = _dates(source.name, sheet, frame, column, reference, ccg_era)

    # Closed PCNs keep their close date; a relationship that ends before it starts is rejected.
    backwards = partners[partners["end"].notna() & (partners["end"] < partners["start"])]
    rejections.add("the relationship ends before it starts", len(backwards),
                   [Example(int(r._row), f"{r.start} to {r.end}", None, r.practice) for r in backwards.head(5).itertuples()])
    partners = partners.drop(backwards.index)
    repeats = partners[partners.duplicated(["practice", "pcn", "start", "end"])]
    rejections.add("an exact repeat of an earlier relationship", len(repeats),
                   [Example(int(r._row), r.practice) for r in repeats.head(5).itertuples()])
    partners = partners.drop(repeats.index)
    pcn_repeats = details[details.duplicated("pcn", keep="first")]
    rejections.add("a PCN listed twice in PCNDetails (the first row was used)", len(pcn_repeats),
                   [Example(int(r._row), r.pcn) for r in pcn_repeats.head(5).itertuples()])
    details = details.drop(pcn_repeats.index)

    # A CCG-era workbook saved after the CCGs ended (opened and saved again since) is dated by the latest day it
    # mentions up to then, not by when it was saved: its current memberships held then, not on the day it was saved.
    resaved = ccg_era and isinstance(modified, datetime) and modified.date() > CCG_ERA_END
    vintage = _vintage(None if resaved else modified, reference, details, partners)
    pcn_orgs = pd.DataFrame({
        "org_code": details["pcn"], "org_level": "pcn", "name": details["name"].str.strip(),
        "postcode": details.get("postcode"), "open_date": details["open"], "close_date": details["close"],
    })
    extra_pcns = partners.loc[~partners["pcn"].isin(details["pcn"])].drop_duplicates("pcn")
    organisations = pd.concat([
        pcn_orgs,
        pd.DataFrame({"org_code": extra_pcns["pcn"], "org_level": "pcn",
                      "name": extra_pcns.get("pcn_name", extra_pcns["pcn"]).fillna(extra_pcns["pcn"])}),
        pd.DataFrame({"org_code": partners["practice"], "org_level": "practice",
                      "name": partners.get("practice_name", partners["practice"]).fillna(partners["practice"])}),
    ], ignore_index=True).drop_duplicates("org_code")
    sub_icbs = details.loc[details["sub_icb"].notna(), ["sub_icb", "sub_icb_name"] if "sub_icb_name" in details else ["sub_icb"]]
    sub_icbs = sub_icbs.drop_duplicates("sub_icb")
    organisations = pd.concat([organisations, pd.DataFrame({
        "org_code": sub_icbs["sub_icb"], "org_level": "sub_icb",
        "name": sub_icbs["sub_icb_name"] if "sub_icb_name" in sub_icbs else sub_icbs["sub_icb"]})], ignore_index=True)
    organisations = organisations.drop_duplicates("org_code")

    practice_pcn = pd.DataFrame({
        "child_code": partners["practice"], "parent_code": partners["pcn"], "child_level": "practice",
        "parent_level": "pcn", "start_date": partners["start"], "end_date": partners["end"], "dated_start": True,
        "seen_on": vintage,
    })
    # A practice whose every relationship has ended was in no PCN on the workbook's date: evidence too, so that a
    # later map placing it in a new PCN dates the move between the two (see hierarchy.resolve).
    ended = partners.groupby("practice")["end"].agg(lambda ends: None if ends.isna().any() else max(ends)).dropna()
    ended = ended[ended < vintage]
    practice_pcn = pd.concat([practice_pcn, pd.DataFrame({
        "child_code": ended.index, "parent_code": None, "child_level": "practice", "parent_level": "pcn",
        "start_date": [d + timedelta(days=1) for d in ended], "end_date": None, "dated_start": True, "seen_on": vintage,
    })], ignore_index=True)
    # A closed PCN's sub-ICB is dated from its opening to its close; an open PCN's current sub-ICB is as seen today.
    closed = details["close"].notna()
    located = details[details["sub_icb"].notna()]
    pcn_sub = pd.DataFrame({
        "child_code": located["pcn"], "parent_code": located["sub_icb"], "child_level": "pcn",
        "parent_level": "sub_icb",
        "start_date": [o if c is not None else vintage for o, c in zip(located["open"], located["close"])],
        "end_date": located["close"], "dated_start": closed[located.index].to_numpy(), "seen_on": vintage,
    })
    evidence = pd.concat([practice_pcn, pcn_sub], ignore_index=True)
    evidence["end_date"] = evidence["end_date"].astype(object).where(evidence["end_date"].notna(), None)

    open_now = int(partners["end"].isna().sum())
    notes = [f"{len(details):,} PCNs ({int(closed.sum()):,} closed, with their close dates) and {len(partners):,} dated "
             f"practice-to-PCN relationships ({open_now:,} current); workbook dated {vintage:%d %b %Y}.",
             f"read the visible sheets {' and '.join(map(repr, SHEETS))}"
             + (f"; {len(others):,} other sheet{'s' if len(others) != 1 else ''} not read "
                f"({', '.join(shown(o) for o in others[:5])}{', …' if len(others) > 5 else ''})" if others else "")
             + "."]
    if len(extra_pcns):
        notes.append(f"{len(extra_pcns):,} PCN codes appear only in the partner sheet; they were added with the name given there.")
    if ccg_era:
        notes.append(
            f"a workbook from before 1 July 2022: its column {details['_header_sub_icb'].iloc[0]} names each PCN's "
            f"Clinical Commissioning Group, read at the sub-ICB level under its own code ({len(sub_icbs):,} CCGs), the "
            "code the sub-ICB location that took over its area has carried since 1 July 2022 (such as 72Q); a CCG "
            "that had merged into another before then keeps its own code. Memberships are dated as the workbook dates "
            f"them, current ones as seen on {vintage:%d %b %Y}"
            + (f" (the latest date it mentions: it was saved again on {modified:%d %b %Y}, after the CCGs ended)"
               if resaved else "") + ".")
    return Load(publication=PUBLICATION, vintage=vintage.isoformat(), rows_read=rows_read,
                rows_loaded=len(details) + len(partners), rejections=rejections, notes=notes,
                organisations=organisations, organisations_authority=False, evidence=evidence,
                refresh_pcn_lists=True)


def _check_workbook(source) -> None:
    """An xlsx file is a zip: refuse one that would unpack to too much before openpyxl unpacks any of it."""
    try:
        with zipfile.ZipFile(source.path) as archive:
            limits.check_archive(archive, source.name)
    except limits.LimitExceeded as exc:
        raise PublicationError(f"{exc} Nothing was imported.") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise PublicationError(f"{source.name}: is not a readable xlsx workbook ({shorten(exc, 120)}). {_ADVICE} "
                               "Nothing was imported.") from None


def _refuse_hidden(file_name: str, workbook) -> None:
    """A needed sheet that is hidden (or very hidden) is never read, even when a visible sheet could stand in: the
    published workbook shows both, and a hidden copy beside a visible decoy is how a doctored file would look."""
    for name in SHEETS:
        state = workbook[name].sheet_state
        if state != "visible":
            raised = "very hidden (only a macro can show it)" if state == "veryHidden" else "hidden"
            raise PublicationError(f"{file_name}: sheet {name} is {raised}; hidden sheets are never read, and the "
                                   f"published workbook shows both {' and '.join(map(repr, SHEETS))}. {_ADVICE} "
                                   "Nothing was imported.")


def _cells(file_name: str, sheet, sheet_name: str):
    """The sheet's rows as values, refusing any formula: its value would be whatever Excel last cached."""
    from openpyxl.utils import get_column_letter

    header = None
    for number, row in enumerate(sheet.iter_rows(), start=1):
        values = tuple(cell.value for cell in row)
        if number == 1:
            header = values
        for index, cell in enumerate(row):
            if cell.data_type == "f":
                heading = header[index] if header and index < len(header) and header[index] is not None else None
                where = (f"{shorten(str(heading).replace(chr(10), ' '))} ({get_column_letter(index + 1)})"
                         if heading is not None and number > 1 else get_column_letter(index + 1))
                raise PublicationError(f"{file_name}: sheet {sheet_name}, row {number:,}, column {where}: holds the "
                                       f"formula {shown(cell.value)}; the published workbook holds values only, and a "
                                       f"formula's value is whatever a spreadsheet last worked out. {_ADVICE} "
                                       "Nothing was imported.")
        yield values


def _sheet(file_name: str, sheet, sheet_name: str, names: dict[str, str], required: list[str]) -> pd.DataFrame:
    rows = _cells(file_name, sheet, sheet_name)
    try:
        header = next(rows)
    except StopIteration:
        raise PublicationError(f"{file_name}: sheet {sheet_name} is empty. {_ADVICE} Nothing was imported.") from None
    columns = {}
    for index, cell in enumerate(header):
        key = names.get(canonical(cell))
        if key and key not in columns:
            columns[key] = (index, shorten(str(cell).replace("\n", " ")))
    missing = [c for c in required if c not in columns]
    if missing:
        wanted: dict[str, str] = {}
        for heading, key in names.items():
            wanted.setdefault(key, heading)
        described = [repr(wanted[m].title().replace("Icb", "ICB").replace("Pcn", "PCN"))
                     + (" (before July 2022: 'Current Clinical Commissioning Group Code')" if m == "sub_icb" else "")
                     for m in missing]
        raise PublicationError(
            f"{file_name}: sheet {sheet_name}, row 1 (the header) has no column "
            f"{', '.join(described)}. Found: "
            f"{', '.join(shown(str(c).replace(chr(10), ' ')) for c in header[:30] if c is not None)}"
            f"{', …' if len(header) > 30 else ''}. {_ADVICE} "
            "Nothing was imported.")
    data = {key: [] for key in columns}
    numbers = []
    longest = limit_value(file_name, limits.max_cell_chars)
    for number, row in enumerate(rows, start=2):
        if row is None or all(v is None or str(v).strip() == "" for v in row):
            continue
        numbers.append(number)
        for key, (index, _) in columns.items():
            value = row[index] if index < len(row) else None
            if isinstance(value, str):
                if len(value) > longest:
                    raise PublicationError(
                        f"{file_name}: sheet {sheet_name}, row {number:,}, column {columns[key][1]}: holds "
                        f"{len(value):,} characters; the most accepted in one cell is {longest:,} (set by "
                        f"{limits.CELL_CHARS_VAR}). {_ADVICE} Nothing was imported.")
                value = value.strip() or None
            data[key].append(value)
    if not numbers:
        raise PublicationError(f"{file_name}: sheet {sheet_name} has a header but no rows. {_ADVICE} Nothing was imported.")
    frame = pd.DataFrame(data, dtype=object)
    frame["_row"] = numbers
    for key, (_, heading) in columns.items():
        frame["_header_" + key] = heading
    for key in ("pcn", "practice", "sub_icb"):
        if key in frame:
            frame[key] = frame[key].map(lambda v: None if v is None else str(v).strip().upper())
    return frame


# ODS lists planned changes (a practice joining a PCN next month) a few weeks ahead, so a date a little after the
# workbook was saved is real; one over a year after it, or after today, is a slip or a doctored file.
PLANNED_AHEAD = timedelta(days=366)


def _reference_day(modified) -> date:
    """The day the workbook speaks for: when it was last saved, or today if that is missing or later."""
    today = date.today()
    if isinstance(modified, datetime):
        return min(modified.date(), today)
    return today


def _dates(file_name: str, sheet: str, frame: pd.DataFrame, column: str, reference: date, ccg_era: bool = False) -> list:
    out = []
    latest = reference + PLANNED_AHEAD
    for value, row in zip(frame[column], frame["_row"]):
        if value is None or (isinstance(value, float) and value != value):
            out.append(None)
            continue
        day = _date(value)
        if day is None:
            raise PublicationError(f"{file_name}: sheet {sheet}, row {row:,}, column {frame['_header_' + column].iloc[0]}: "
                                   f"{shown(value)} is not a date written yyyymmdd (such as 20191001). {_ADVICE} "
                                   "Nothing was imported.")
        if day > latest and ccg_era:
            raise PublicationError(
                f"{file_name}: sheet {sheet}, row {row:,}, column {frame['_header_' + column].iloc[0]}: {shown(value)} "
                f"is {day:%d %b %Y}, but the workbook's headers name Clinical Commissioning Groups, so it is from "
                f"before 1 July 2022, when sub-ICB locations replaced them, and ODS lists planned changes only weeks "
                f"ahead. A workbook of that era cannot date a change in {day:%Y}: its rows may have been pasted in from "
                f"a later workbook. {_ADVICE} Nothing was imported.")
        if day > latest:
            raise PublicationError(f"{file_name}: sheet {sheet}, row {row:,}, column {frame['_header_' + column].iloc[0]}: "
                                   f"{shown(value)} is {day:%d %b %Y}, more than a year after the workbook was saved "
                                   f"({reference:%d %b %Y}); ODS lists planned changes only weeks ahead. {_ADVICE} "
                                   "Nothing was imported.")
        out.append(day)
    return out


def _date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _vintage(modified, reference: date, details: pd.DataFrame, partners: pd.DataFrame) -> date:
    """The workbook's date: when it was last saved (never after today), or else the latest date it mentions that
    is not after today. A planned change listed ahead is never taken as the file's date."""
    if isinstance(modified, datetime):
        return reference
    mentioned = [d for d in list(details["open"]) + list(details["close"]) + list(partners["start"])
                 + list(partners["end"]) if d is not None and d <= reference]
    return max(mentioned) if mentioned else reference
