"""Hostile published files are refused with a short message naming file, row and column, and change no table.

Crafted headers, broken CSV, numbers that are not, zip bombs and huge values; nothing from a file reaches SQL as
code."""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from measures.importers import PublicationError, import_publications
from measures.importers.common import observations
from measures.store import Store
from tests.conftest import SAMPLES
from tests.tables import assert_unchanged, fingerprint

TODAY = date.today()
NEXT_YEAR = TODAY.year + 1
WORKFORCE_ZIP = SAMPLES / "PCNWFIndividualCSV.062026.zip"


@dataclass(frozen=True)
class Kind:
    """One CSV publication: where its sample is, what the test file is called, and how many rows to slice."""

    sample: str
    file_name: str
    rows: int = 20
    code_column: str | None = None  # the organisation code rows are matched on


KINDS = {
    "map": Kind("gp-reg-pat-prac-map.csv", "map.csv"),
    "lists": Kind("gp-reg-pat-prac-all.csv", "lists.csv", code_column="CODE"),
    "iif": Kind("IIF_indicators_annual_pub_2023_24.csv", "iif.csv", rows=40, code_column="ORGANISATION_CODE"),
    "workforce": Kind("", "workforce.csv", code_column="PCN_CODE"),
    "appointments": Kind("appointments_practice_level_72Q_Oct2025.csv", "appts.csv", code_column="GP_CODE"),
    "qof": Kind("PREVALENCE_2425.csv", "PREVALENCE_2425.csv", code_column="PRACTICE_CODE"),
    "imd": Kind("fingertips-imd-2025-gp-practice.csv", "imd.csv", code_column="PRACTICE_CODE"),
}
COUNT_COLUMNS = [("lists", "NUMBER_OF_PATIENTS"), ("iif", "VALUE"), ("workforce", "FTE"),
                 ("appointments", "COUNT_OF_APPOINTMENTS"), ("qof", "REGISTER"), ("qof", "PRACTICE_LIST_SIZE"),
                 ("imd", "IMD_SCORE")]
_SLICES: dict[str, list[list[str]]] = {}


def sample_rows(kind: str) -> list[list[str]]:
    """The header and the first rows of the real sample, as cells (a fresh copy each time)."""
    if kind not in _SLICES:
        spec = KINDS[kind]
        if kind == "workforce":
            with zipfile.ZipFile(WORKFORCE_ZIP) as archive:
                member = next(n for n in archive.namelist() if n.lower().endswith(".csv"))
                text = archive.read(member).decode("utf-8-sig")
        else:
            with open(SAMPLES / spec.sample, encoding="utf-8-sig", newline="") as handle:
                text = "".join(line for _, line in zip(range(spec.rows + 1), handle))
        reader = csv.reader(io.StringIO(text))
        _SLICES[kind] = [next(reader) for _ in range(spec.rows + 1)]
    return [list(row) for row in _SLICES[kind]]


def render(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def column(rows, name: str) -> int:
    return [h.lstrip("\ufeff").upper() for h in rows[0]].index(name)


def set_cell(rows, row_number: int, name: str, value: str):
    """Change one cell, addressed as a spreadsheet shows it (header = row 1)."""
    rows[row_number - 1][column(rows, name)] = value
    return rows


def set_column(rows, name: str, value: str):
    index = column(rows, name)
    for row in rows[1:]:
        row[index] = value
    return rows


# ------------------------------------------------------------------------------------------------
# Running an import and reading what it said


def real_rows_for(sample: str, codes: set[str], columns: list[str]) -> list[list[str]]:
    """The header and every row of a real sample whose code in any of `columns` is one of `codes`."""
    with open(SAMPLES / sample, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    indexes = [rows[0].index(c) for c in columns]
    return [rows[0]] + [r for r in rows[1:] if any(r[i] in codes for i in indexes)]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A store holding the real map and list sizes of the practices and PCNs the slices name (a small store keeps
    each case fast), built once, and its fingerprint; each case imports into a copy."""
    folder = tmp_path_factory.mktemp("hostile")
    codes = {row[column(sample_rows(kind), KINDS[kind].code_column)]
             for kind in KINDS if KINDS[kind].code_column for row in sample_rows(kind)[1:]}
    map_rows = real_rows_for("gp-reg-pat-prac-map.csv", codes, ["PRACTICE_CODE", "PCN_CODE"])
    practices = {r[map_rows[0].index("PRACTICE_CODE")] for r in map_rows[1:]}
    list_rows = real_rows_for("gp-reg-pat-prac-all.csv", practices, ["CODE"])
    paths = [folder / "gp-reg-pat-prac-map.csv", folder / "gp-reg-pat-prac-all.csv"]
    for path, rows in zip(paths, (map_rows, list_rows)):
        path.write_text(render(rows), encoding="utf-8")
    store = Store(folder / "base.duckdb")
    outcome = import_publications(paths, store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    return store.path, fingerprint(store.path)


@pytest.fixture
def store(base, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a crafted COPY … TO 'file' or ATTACH would write
    path = tmp_path / "pcn.duckdb"
    shutil.copy(base[0], path)
    return Store(path)


def refusal(store: Store, *paths) -> str:
    """The message of a refused import: raised before any file is parsed, or the failed file's error."""
    try:
        outcome = import_publications(list(paths), store, progress=io.StringIO())
    except PublicationError as exc:
        return str(exc)
    failed = [r for r in outcome.reports if r.status == "failed"]
    assert failed, f"the import was not refused:\n{outcome.text()[:2000]}"
    return failed[0].error


def assert_refused(store, base, path, expected: list[str]) -> str:
    message = refusal(store, path)
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message[:1500]!r}"
    assert "Nothing was imported" in message
    assert len(message) < 1500, f"a message of {len(message):,} characters"
    assert_unchanged(base[1], store.path)
    written = [p.name for p in Path.cwd().rglob("*") if p.name.upper().startswith(("PWNED", "EVIL"))]
    assert not written, f"the file wrote {written}"
    return message


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Path]  # writes the hostile file into a folder, returns its path
    expected: list[str]


def csv_file(kind: str, change: Callable[[list[list[str]]], list[list[str]]] | None = None,
             text_change: Callable[[str], str] | None = None, name: str | None = None):
    """A builder writing a slice of the kind's sample, changed cell by cell and/or as text."""
    def build(folder: Path) -> Path:
        rows = sample_rows(kind)
        text = render(change(rows) if change else rows)
        path = folder / (name or KINDS[kind].file_name)
        path.write_text(text_change(text) if text_change else text, encoding="utf-8")
        return path
    return build


# ------------------------------------------------------------------------------------------------
# 1. Headers that try to be SQL


HOSTILE_HEADERS = [
    ("copy-to", "_row\" FROM raw GROUP BY ALL; COPY (SELECT 42) TO 'pwned.csv'; SELECT 1 AS \"x", "a double quote"),
    ("attach", "_row\" FROM raw GROUP BY ALL; ATTACH 'evil.duckdb' AS evil; SELECT 1 AS \"x", "a double quote"),
    ("double-quote", 'NOTE"S', "a double quote"),
    ("single-quote", "NOTE'S", "a single quote"),
    ("semicolon", "NOTES; DROP TABLE raw", "a semicolon"),
    ("newline", "NOTES\nMORE", "a line break"),
]


def with_extra_column(header: str):
    def change(rows):
        return [rows[0] + [header]] + [row + ["x"] for row in rows[1:]]
    return change


HEADER_CASES = [
    Case(f"header-{tag}-{kind}", csv_file(kind, with_extra_column(header)),
         [f"{KINDS[kind].file_name}: row 1 (the header), column {len(sample_rows(kind)[0]) + 1}",
          "is not a column name of a published file", f"it holds {what}"])
    for tag, header, what in HOSTILE_HEADERS for kind in KINDS
]


# ------------------------------------------------------------------------------------------------
# 2. Broken CSV structure


def unterminated_quote(text: str) -> str:
    lines = text.split("\r\n")
    head, tail = lines[3].rsplit(",", 1)
    lines[3] = f'{head},"{tail}'  # row 4's last cell opens a quote that nothing closes
    return "\r\n".join(lines)


def long_cell(kind: str):
    target = {"map": "PRACTICE_NAME", "lists": "POSTCODE", "iif": "ORGANISATION_NAME", "workforce": "PCN_NAME",
              "appointments": "GP_NAME", "qof": "PATIENT_LIST_TYPE", "imd": "PRACTICE_NAME"}[kind]
    return target, (lambda rows: set_cell(rows, 5, target, "A" * 131_073))


STRUCTURE_CASES = [
    Case(f"unterminated-quote-{kind}", csv_file(kind, text_change=unterminated_quote),
         [f"{KINDS[kind].file_name}: row 4 has a value that opens a double quote"])
    for kind in KINDS
] + [
    Case(f"cell-over-131072-characters-{kind}", csv_file(kind, long_cell(kind)[1]),
         [f"{KINDS[kind].file_name}: row 5, column {long_cell(kind)[0]}: holds 131,073 characters",
          "the most accepted in one cell is 10,000 (set by PCN_MAX_CELL_CHARS)"])
    for kind in KINDS
] + [
    Case("line-over-2-mb", csv_file("appointments", lambda rows: set_cell(rows, 6, "GP_NAME", "M" * 2_200_000)),
         ["appts.csv: row 6 is longer than any row of a published file"]),
]


# ------------------------------------------------------------------------------------------------
# 3. Numbers that are not, values beyond what a measure allows, dates that have not come


BAD_NUMBERS = ["NaN", "inf", "-inf", "1e308", "1e400"]

NUMBER_CASES = [
    Case(f"count-{value}-{kind}-{name}", csv_file(kind, lambda rows, n=name, v=value: set_cell(rows, 3, n, v)),
         [f"{KINDS[kind].file_name}: row 3, column {name}: {value!r} is not a number written in digits"])
    for kind, name in COUNT_COLUMNS for value in BAD_NUMBERS
] + [
    Case(f"count-309-digits-{kind}-{name}",
         csv_file(kind, lambda rows, n=name: set_cell(rows, 3, n, "1" + "0" * 308)),
         [f"{KINDS[kind].file_name}: row 3, column {name}: '1000000000", "is more than"])
    for kind, name in COUNT_COLUMNS
]

LIMIT_CASES = [
    Case("list-size-above-the-limit", csv_file("lists", lambda rows: set_cell(rows, 4, "NUMBER_OF_PATIENTS", "1000001")),
         ["lists.csv: row 4, column NUMBER_OF_PATIENTS: '1000001' is more than 1,000,000",
          "the most patients accepted on one practice list (set by PCN_MAX_LIST_SIZE)"]),
    Case("qof-list-size-above-the-limit",
         csv_file("qof", lambda rows: set_cell(rows, 7, "PRACTICE_LIST_SIZE", "2500000")),
         ["PREVALENCE_2425.csv: row 7, column PRACTICE_LIST_SIZE: '2500000' is more than 1,000,000", "PCN_MAX_LIST_SIZE"]),
    Case("appointments-count-above-the-limit",
         csv_file("appointments", lambda rows: set_cell(rows, 9, "COUNT_OF_APPOINTMENTS", "10000001")),
         ["appts.csv: row 9, column COUNT_OF_APPOINTMENTS: '10000001' is more than 10,000,000",
          "(set by PCN_MAX_COUNT)"]),
    Case("iif-value-above-the-limit", csv_file("iif", lambda rows: set_cell(rows, 2, "VALUE", "99999999999")),
         ["iif.csv: row 2, column VALUE: '99999999999' is more than 10,000,000", "PCN_MAX_COUNT"]),
    Case("qof-register-above-the-limit", csv_file("qof", lambda rows: set_cell(rows, 2, "REGISTER", "12000000")),
         ["PREVALENCE_2425.csv: row 2, column REGISTER: '12000000' is more than 10,000,000", "PCN_MAX_COUNT"]),
    Case("fte-above-the-limit", csv_file("workforce", lambda rows: set_cell(rows, 8, "FTE", "150")),
         ["workforce.csv: row 8, column FTE: '150' is more than 100", "(set by PCN_MAX_FTE)"]),
    Case("imd-score-above-100", csv_file("imd", lambda rows: set_cell(rows, 5, "IMD_SCORE", "101.5")),
         ["imd.csv: row 5, column IMD_SCORE: '101.5' is more than 100", "IMD scores run from 0 to 100"]),
]

DATE_CASES = [
    Case("list-sizes-dated-next-year",
         csv_file("lists", lambda rows: set_column(rows, "EXTRACT_DATE", f"{NEXT_YEAR}-01-01")),
         [f"lists.csv: row 2, column EXTRACT_DATE: '{NEXT_YEAR}-01-01' is after today", "never dated in the future"]),
    Case("list-sizes-dated-2031-in-one-row",
         csv_file("lists", lambda rows: set_cell(rows, 6, "EXTRACT_DATE", "2031-12-01")),
         ["lists.csv: row 6, column EXTRACT_DATE: '2031-12-01' is after today"] if TODAY.year < 2031 else
         ["lists.csv: column EXTRACT_DATE holds 2 different dates"]),
    Case("map-dated-2099", csv_file("map", lambda rows: set_column(rows, "EXTRACT_DATE", "01Jul2099")),
         ["map.csv: row 2, column EXTRACT_DATE: '01Jul2099' is after today"]),
    Case("iif-achieved-in-2099", csv_file("iif", lambda rows: set_column(rows, "ACH_DATE", "31/03/2099")),
         ["iif.csv: row 2, column ACH_DATE: '31/03/2099' is after today"]),
    Case("appointments-month-in-2099",
         csv_file("appointments", lambda rows: set_cell(rows, 4, "APPOINTMENT_MONTH_START_DATE", "01JAN2099")),
         ["appts.csv: row 4, column APPOINTMENT_MONTH_START_DATE: '01JAN2099' is after today"]),
    Case("workforce-census-in-2099", csv_file("workforce", lambda rows: set_column(rows, "CENSUS_YEAR", "2099")),
         ["workforce.csv: row 2, column CENSUS_YEAR: '2099' is not a census year"]),
    Case("workforce-census-next-december",
         csv_file("workforce", lambda rows: set_column(set_column(rows, "CENSUS_MONTH", "12"), "CENSUS_YEAR",
                                                        str(NEXT_YEAR))),
         ["workforce.csv: row 2, column CENSUS_YEAR: " f"'{NEXT_YEAR}' is not a census year"]),
    Case("imd-year-2099", csv_file("imd", lambda rows: set_cell(rows, 3, "IMD_YEAR", "2099")),
         ["imd.csv: row 3, column IMD_YEAR: '2099' is not a year of an Index of Multiple Deprivation"]),
    Case("qof-year-not-begun", csv_file("qof", name="PREVALENCE_9900.csv"),
         ["PREVALENCE_9900.csv: its name says QOF 2099/00, a year that has not begun yet"]),
]

def unknown_codes(rows, name: str):
    """Every organisation code replaced by one in no map, keeping rows apart where they were."""
    index = column(rows, name)
    codes = {code: f"Q{90000 + n}" for n, code in enumerate(dict.fromkeys(row[index] for row in rows[1:]))}
    for row in rows[1:]:
        row[index] = codes[row[index]]
    return rows


ALL_REJECTED_CASES = [
    Case(f"every-row-rejected-{kind}", csv_file(kind, lambda rows, k=kind: unknown_codes(rows, KINDS[k].code_column)),
         [f"{KINDS[kind].file_name}: none of its", "rows can be loaded", "code not in any imported"])
    for kind in KINDS if KINDS[kind].code_column
]


# ------------------------------------------------------------------------------------------------
# 4. Bombs: small archives that unpack to a lot


def zipped(members: dict[str, bytes], name: str = "archive.zip"):
    def build(folder: Path) -> Path:
        path = folder / name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, data in members.items():
                archive.writestr(member, data)
        return path
    return build


def epcn_workbook(path: Path, padding: bytes | None = None, change: Callable | None = None) -> Path:
    """A small ePCN-like workbook; with `padding`, a highly compressible extra part inside it; `change(workbook)`
    alters it before it is saved."""
    from openpyxl import Workbook

    workbook = Workbook()
    details = workbook.active
    details.title = "PCNDetails"
    details.append(["PCN Code", "PCN Name", "Current Sub ICB Loc Code", "Sub ICB Location", "Open Date", "Close Date"])
    details.append(["U00254", "BLACKHEATH AND CHARLTON PCN", "72Q", "NHS SOUTH EAST LONDON ICB - 72Q", "20191001", ""])
    partners = workbook.create_sheet("PCN Core Partner Details")
    partners.append(["Partner\nOrganisation\nCode", "PCN Code", "Practice to PCN\nRelationship\nStart Date",
                     "Practice to PCN\nRelationship\nEnd Date"])
    partners.append(["G83001", "U00254", "20191001", None])
    if change is not None:
        change(workbook)
    workbook.save(path)
    if padding is not None:
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/media/padding.bin", padding)
    return path


def xlsx_bomb(folder: Path) -> Path:
    return epcn_workbook(folder / "ePCN.xlsx", b"0" * (8 * 1024 * 1024))


def xlsx_bomb_in_zip(folder: Path) -> Path:
    inner = xlsx_bomb(folder)
    path = folder / "epcn.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.write(inner, "ePCN.xlsx")
    return path


BOMB = b"0" * (8 * 1024 * 1024)  # 8 MB of one byte deflates about 1,000 times

BOMB_CASES = [
    Case("zip-member-inflating-1000-times", zipped({"lists.csv": BOMB}),
         ["archive.zip: lists.csv would inflate", "the most accepted is 200 times (set by PCN_MAX_COMPRESSION_RATIO)"]),
    Case("zip-bomb-beside-a-real-csv",
         zipped({"lists.csv": render(sample_rows("lists")).encode(), "padding/zeros.csv": BOMB}),
         ["archive.zip: padding/zeros.csv would inflate", "PCN_MAX_COMPRESSION_RATIO"]),
    Case("xlsx-inflating-1000-times", xlsx_bomb,
         ["ePCN.xlsx: xl/media/padding.bin would inflate", "PCN_MAX_COMPRESSION_RATIO"]),
    Case("xlsx-bomb-inside-a-zip", xlsx_bomb_in_zip,
         ["epcn.zip/ePCN.xlsx: xl/media/padding.bin would inflate", "PCN_MAX_COMPRESSION_RATIO"]),
]


# ------------------------------------------------------------------------------------------------
# 5. ePCN workbooks: headers, hidden sheets, formulas and dates ahead of the workbook


def epcn_file(change: Callable, after_save: Callable[[Path], None] | None = None):
    """A builder writing the small ePCN workbook altered by `change(workbook)` (and then `after_save(path)`)."""
    def build(folder: Path) -> Path:
        path = epcn_workbook(folder / "ePCN.xlsx", change=change)
        if after_save is not None:
            after_save(path)
        return path
    return build


def details_header(column: str, text: str):
    def change(workbook):
        workbook["PCNDetails"][f"{column}1"] = text
    return change


def hide(sheet: str, state: str, decoy: bool = True):
    """Hide a needed sheet; with `decoy`, a visible copy of it under another name holds other values."""
    def change(workbook):
        original = workbook[sheet]
        if decoy:
            copy = workbook.copy_worksheet(original)
            copy.title = "Sheet1"
        original.sheet_state = state
    return change


def rewrite_parts(path: Path, old: bytes, new: bytes) -> None:
    """Replace bytes in every part of the workbook, as a tool other than openpyxl (which caps cells) might write."""
    rewritten = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info).replace(old, new))
    rewritten.replace(path)


def cached_formula(path: Path) -> None:
    """Give every formula the value a spreadsheet would have cached for it, as Excel writes it."""
    rewrite_parts(path, b"</f><v></v>", b"</f><v>20191001</v>")


def set_epcn_cell(sheet: str, cell: str, value):
    def change(workbook):
        workbook[sheet][cell] = value
    return change


FAR_AHEAD = f"{TODAY.year + 2}0101"  # always more than 366 days after today

EPCN_CASES = [
    Case("epcn-required-column-missing", epcn_file(details_header("E", "Opening")),
         ["ePCN.xlsx: sheet PCNDetails, row 1 (the header) has no column 'Open Date'", "Found: 'PCN Code'",
          "'Opening'"]),
    Case("epcn-hostile-header-in-place-of-a-required-column",
         epcn_file(details_header("E", "Open Date\"; DROP TABLE organisations; --")),
         ["has no column 'Open Date'", "'Open Date\"; DROP TABLE organisations; --'"]),
    Case("epcn-megabyte-header-in-place-of-a-required-column",
         epcn_file(details_header("E", "HUGE"), lambda path: rewrite_parts(path, b"<t>HUGE</t>",
                                                                          b"<t>" + b"O" * 1_000_000 + b"</t>")),
         ["has no column 'Open Date'", "… (1,000,000 characters)"]),
    Case("epcn-hidden-details-beside-a-visible-decoy", epcn_file(hide("PCNDetails", "hidden")),
         ["ePCN.xlsx: sheet PCNDetails is hidden; hidden sheets are never read"]),
    Case("epcn-very-hidden-partners-beside-a-visible-decoy",
         epcn_file(hide("PCN Core Partner Details", "veryHidden")),
         ["ePCN.xlsx: sheet PCN Core Partner Details is very hidden"]),
    Case("epcn-hidden-details-alone", epcn_file(lambda workbook: (hide("PCNDetails", "hidden", decoy=False)(workbook),
                                                                  workbook.create_sheet("Notes"))),
         ["ePCN.xlsx: sheet PCNDetails is hidden"]),
    Case("epcn-formula-with-a-cached-value",
         epcn_file(set_epcn_cell("PCNDetails", "E2", '=TEXT(20191001,"0")'), cached_formula),
         ["ePCN.xlsx: sheet PCNDetails, row 2, column Open Date (E): holds the formula", "values only"]),
    Case("epcn-formula-in-the-header",
         epcn_file(set_epcn_cell("PCN Core Partner Details", "B1", '="PCN Code"'), cached_formula),
         ["ePCN.xlsx: sheet PCN Core Partner Details, row 1, column B: holds the formula"]),
    Case("epcn-open-date-far-ahead", epcn_file(set_epcn_cell("PCNDetails", "E2", FAR_AHEAD)),
         [f"ePCN.xlsx: sheet PCNDetails, row 2, column Open Date: '{FAR_AHEAD}' is 01 Jan {TODAY.year + 2}, more "
          "than a year after the workbook was saved"]),
    Case("epcn-open-date-2099", epcn_file(set_epcn_cell("PCNDetails", "E2", "20990101")),
         ["ePCN.xlsx: sheet PCNDetails, row 2, column Open Date: '20990101'", "more than a year after"]),
    Case("epcn-relationship-ending-far-ahead",
         epcn_file(set_epcn_cell("PCN Core Partner Details", "D2", FAR_AHEAD)),
         ["ePCN.xlsx: sheet PCN Core Partner Details, row 2, column Practice to PCN Relationship End Date: "
          f"'{FAR_AHEAD}'", "more than a year after"]),
]


# ------------------------------------------------------------------------------------------------
# 6. Archives of many parts, months not over, registers beyond their list


def many_members(count: int, size: int, name: str = "part{}.csv"):
    """A zip of `count` members of `size` zeros each: every member compresses about 1,000 times."""
    return zipped({name.format(n): b"0" * size for n in range(count)})


def unrecognised_members(count: int):
    return zipped({f"notes/{'long-folder-name-' * 8}{n:03d}.csv": b"a,b\r\n1,2\r\n" for n in range(count)})


THIS_MONTH = TODAY.replace(day=1)


def register_above_list(rows, row_numbers):
    for number in row_numbers:
        size = int(rows[number - 1][column(rows, "PRACTICE_LIST_SIZE")])
        set_cell(rows, number, "REGISTER", str(size * 128 // 100 + 1))
    return rows


ARCHIVE_AND_PERIOD_CASES = [
    Case("zip-of-many-members-each-under-the-ratio-floor", many_members(40, 1024 * 1024),
         ["archive.zip: its 40 files would inflate", "together", "the most accepted is 200 times "
          "(set by PCN_MAX_COMPRESSION_RATIO)"]),
    Case("zip-of-many-unrecognised-members", unrecognised_members(30),
         ["archive.zip: holds no publication the importer recognises", "… (", " and 20 more)"]),
    Case("appointments-of-the-month-not-over",
         csv_file("appointments", lambda rows: set_column(rows, "APPOINTMENT_MONTH_START_DATE",
                                                          THIS_MONTH.strftime("%d%b%Y").upper())),
         [f"appts.csv: row 2, column APPOINTMENT_MONTH_START_DATE: '{THIS_MONTH.strftime('%d%b%Y').upper()}' is a "
          "month that has not ended yet"]),
    Case("workforce-census-of-the-month-not-over",
         csv_file("workforce", lambda rows: set_column(set_column(rows, "CENSUS_MONTH", str(TODAY.month)),
                                                       "CENSUS_YEAR", str(TODAY.year))),
         [f"workforce.csv: row 2, column CENSUS_MONTH: '{TODAY.month}' is a month that has not ended yet"]),
    Case("qof-every-register-above-its-list",
         csv_file("qof", lambda rows: register_above_list(rows, range(2, len(rows) + 1))),
         ["PREVALENCE_2425.csv: none of its 20 rows can be loaded",
          "a REGISTER larger than its PRACTICE_LIST_SIZE (a prevalence above 100%)", "row 2 REGISTER '"]),
]

CASES = (HEADER_CASES + STRUCTURE_CASES + NUMBER_CASES + LIMIT_CASES + DATE_CASES + ALL_REJECTED_CASES
         + BOMB_CASES + EPCN_CASES + ARCHIVE_AND_PERIOD_CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_hostile_file_is_refused_with_a_clear_message_and_changes_no_table(case, store, base, tmp_path):
    path = case.build(tmp_path)
    assert_refused(store, base, path, case.expected)


# ------------------------------------------------------------------------------------------------
# Limits set through the environment


def test_an_archive_unpacking_to_more_than_the_limit_is_refused_before_it_is_read(store, base, tmp_path, monkeypatch):
    monkeypatch.setenv("PCN_MAX_UNPACKED_MB", "1")
    text = (SAMPLES / "gp-reg-pat-prac-map.csv").read_bytes()  # 1.4 MB, compresses about 8 times
    path = zipped({"gp-reg-pat-prac-map.csv": text + text})(tmp_path)
    assert_refused(store, base, path, ["archive.zip: would unpack to", "the most accepted is",
                                       "(set by PCN_MAX_UNPACKED_MB)"])


def test_an_archive_with_too_many_files_is_refused(store, base, tmp_path, monkeypatch):
    monkeypatch.setenv("PCN_MAX_ARCHIVE_MEMBERS", "3")
    lists = render(sample_rows("lists")).encode()
    path = zipped({f"part{i}/lists.csv": lists for i in range(4)})(tmp_path)
    assert_refused(store, base, path, ["archive.zip: holds 4 files; the most accepted is 3 "
                                       "(set by PCN_MAX_ARCHIVE_MEMBERS)"])


def test_a_workbook_over_the_size_limit_is_refused_before_openpyxl_opens_it(store, base, tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("openpyxl opened a workbook over the limit")

    path = epcn_workbook(tmp_path / "ePCN.xlsx", os.urandom(300_000).hex().encode())  # 600 KB, compresses 2 times
    monkeypatch.setenv("PCN_MAX_UNPACKED_MB", "0.25")
    monkeypatch.setattr("openpyxl.load_workbook", never)
    assert_refused(store, base, path, ["ePCN.xlsx: would unpack to", "(set by PCN_MAX_UNPACKED_MB)"])


def test_a_limit_set_to_nonsense_is_a_message_naming_the_variable(store, base, tmp_path, monkeypatch):
    monkeypatch.setenv("PCN_MAX_COUNT", "lots")
    path = csv_file("appointments")(tmp_path)
    assert_refused(store, base, path, ["appts.csv", "PCN_MAX_COUNT must be a number above 0, got 'lots'"])


def test_a_killed_imports_temporary_folder_is_removed_by_the_next_import(store, tmp_path, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    stale = temp / "pcn-import-999999999-abc123"  # no process has so high a number
    (stale / "inside").mkdir(parents=True)
    (stale / "inside" / "big.csv").write_bytes(b"0" * 1000)
    outcome = import_publications([csv_file("appointments")(tmp_path)], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    assert not stale.exists()
    assert not list(temp.glob("pcn-import-*")), "the import's own folder is removed too"


# ------------------------------------------------------------------------------------------------
# 5. Long values are cut in every message and report


MEGABYTE_CODE = "G" * 1_000_000


def test_a_megabyte_practice_code_is_refused_in_a_short_message(store, base, tmp_path):
    path = csv_file("appointments", lambda rows: set_cell(rows, 6, "GP_CODE", MEGABYTE_CODE))(tmp_path)
    message = assert_refused(store, base, path, ["appts.csv: row 6, column GP_CODE: holds 1,000,000 characters",
                                                 "PCN_MAX_CELL_CHARS"])
    assert len(message) < 600


def test_a_long_rejected_code_is_cut_in_the_report_when_the_cell_limit_allows_it(store, tmp_path, monkeypatch):
    monkeypatch.setenv("PCN_MAX_CELL_CHARS", "2000000")
    path = csv_file("appointments", lambda rows: set_cell(rows, 6, "GP_CODE", MEGABYTE_CODE))(tmp_path)
    outcome = import_publications([path], store, progress=io.StringIO())
    report = outcome.reports[0]
    assert report.status == "imported" and report.rows_rejected == 1
    text = outcome.text()
    assert "row 6 GP_CODE 'GGGGGGGGGG" in text and "… (1,000,000 characters)" in text
    assert len(text) < 3000
    note = store.query("SELECT note FROM imports ORDER BY import_id DESC LIMIT 1").iloc[0, 0]
    assert "… (1,000,000 characters)" in note and len(note) < 3000


def test_a_long_bad_number_and_a_long_conflicting_key_are_cut_in_the_message(store, base, tmp_path, monkeypatch):
    monkeypatch.setenv("PCN_MAX_CELL_CHARS", "2000000")
    number = csv_file("lists", lambda rows: set_cell(rows, 3, "NUMBER_OF_PATIENTS", "9" * 500_000 + "x"))(tmp_path)
    message = assert_refused(store, base, number, ["lists.csv: row 3, column NUMBER_OF_PATIENTS: '9999",
                                                   "… (500,001 characters) is not a number"])
    assert len(message) < 800

    def conflict(rows):
        set_cell(rows, 2, "GP_CODE", MEGABYTE_CODE)
        rows.append(list(rows[1]))
        return set_cell(rows, len(rows), "COUNT_OF_APPOINTMENTS", "999")
    message = assert_refused(store, base, csv_file("appointments", conflict, name="conflict.csv")(tmp_path),
                             ["conflict.csv: rows 2, 22 are for the same practice", "… (1,000,000 characters)"])
    assert len(message) < 800


def test_an_unknown_long_measure_name_is_cut_in_the_notes(store, tmp_path, monkeypatch):
    monkeypatch.setenv("PCN_MAX_CELL_CHARS", "2000000")
    path = csv_file("iif", lambda rows: set_cell(rows, 2, "MEASURE", "M" * 300_000))(tmp_path)
    outcome = import_publications([path], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()[:2000]
    assert "… (300,000 characters)" in outcome.text() and len(outcome.text()) < 4000


def test_a_file_with_a_huge_header_is_named_in_a_short_message(store, base, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("A" * 100_000 + "," + "B" * 100_000 + "\r\n1,2\r\n", encoding="utf-8")
    message = assert_refused(store, base, path, ["wide.csv: not a publication the importer recognises",
                                                 "… (100,000 characters)"])
    assert len(message) < 1500


# ------------------------------------------------------------------------------------------------
# A rate that overflows is never stored without its value


def test_a_rate_that_overflows_is_refused_not_stored_empty():
    frame = pd.DataFrame({"org_code": ["G83001"], "org_level": ["practice"], "period_start": [date(2025, 10, 1)],
                          "period_end": [date(2025, 10, 31)], "numerator": [1e308], "denominator": [0.5]})
    with pytest.raises(PublicationError, match=r"appointments_per_1000 for G83001 .* too large to store"):
        observations("appointments_per_1000", frame, "published")


def test_a_bad_value_after_empty_lines_is_named_at_the_row_a_spreadsheet_shows(store, base, tmp_path):
    rows = set_cell(sample_rows("appointments"), 12, "COUNT_OF_APPOINTMENTS", "twelve")
    lines = render(rows).split("\r\n")
    lines[4:4] = ["", ""]  # rows 5 and 6 are empty; the bad value moves from row 12 to row 14
    path = tmp_path / "gaps.csv"
    path.write_text("\r\n".join(lines) + "\r\n\r\n", encoding="utf-8")
    assert_refused(store, base, path, ["gaps.csv: row 14, column COUNT_OF_APPOINTMENTS: 'twelve' is not a number"])


def test_counts_within_the_limits_still_import_figure_for_figure(store, tmp_path):
    rows = sample_rows("appointments")
    count = column(rows, "COUNT_OF_APPOINTMENTS")
    set_cell(rows, 3, "COUNT_OF_APPOINTMENTS", "9,999,999")  # a thousands comma, at the limit's edge
    path = tmp_path / "edge.csv"
    path.write_text(render(rows), encoding="utf-8")
    outcome = import_publications([path], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    total = store.query("SELECT numerator FROM observations WHERE measure_id = 'appointments_per_1000' "
                        "AND org_code = 'G83001' AND period_start = DATE '2025-10-01'").iloc[0, 0]
    assert total == 9_999_999 + sum(int(r[count]) for i, r in enumerate(rows[1:], start=2) if i != 3)


# ------------------------------------------------------------------------------------------------
# Values that are implausible in one row, dates planned ahead, limits that would switch themselves off


def test_a_register_above_its_list_is_left_out_and_reported_by_row_and_column(store, tmp_path):
    path = csv_file("qof", lambda rows: register_above_list(rows, [3]))(tmp_path)
    rows = sample_rows("qof")
    practice, group = rows[2][column(rows, "PRACTICE_CODE")], rows[2][column(rows, "GROUP_CODE")]
    outcome = import_publications([path], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    report = outcome.reports[0]
    assert report.rows_rejected == 1 and report.rows_loaded == 19
    assert ("rejected 1 row: a REGISTER larger than its PRACTICE_LIST_SIZE (a prevalence above 100%) (first 1: "
            "row 3 REGISTER '") in report.text()
    stored = store.query("SELECT count(*) AS n FROM practice_context WHERE org_code = ? AND indicator = ?",
                         [practice, f"qof_prevalence_{group}"])
    assert stored["n"].iloc[0] == 0


def test_a_relationship_planned_weeks_ahead_is_kept_but_never_taken_as_the_workbooks_date(store, tmp_path):
    planned = TODAY + pd.Timedelta(days=40)
    path = epcn_file(set_epcn_cell("PCN Core Partner Details", "D2", f"{planned:%Y%m%d}"))(tmp_path)
    outcome = import_publications([path], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    report = outcome.reports[0]
    assert report.vintage == TODAY.isoformat(), "the workbook was saved today; the planned end is not its date"
    assert "read the visible sheets 'PCNDetails' and 'PCN Core Partner Details'." in report.notes
    ends = store.query("SELECT end_date FROM memberships WHERE child_code = 'G83001' AND parent_code = 'U00254'")
    assert [pd.Timestamp(d).date() for d in ends["end_date"]] == [planned]


def test_the_report_names_the_sheets_read_and_those_that_were_not(store, tmp_path):
    path = epcn_file(lambda workbook: workbook.create_sheet("Notes"))(tmp_path)
    outcome = import_publications([path], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    assert ("read the visible sheets 'PCNDetails' and 'PCN Core Partner Details'; 1 other sheet not read ('Notes')."
            in outcome.reports[0].notes)


@pytest.mark.parametrize("variable, kind", [("PCN_MAX_CELL_CHARS", "appointments"), ("PCN_MAX_COUNT", "appointments"),
                                            ("PCN_MAX_LIST_SIZE", "lists"), ("PCN_MAX_FTE", "workforce"),
                                            ("PCN_MAX_UNPACKED_MB", "zip")])
@pytest.mark.parametrize("value", ["inf", "Infinity", "1e999"])  # nan, 0 and below were refused already
def test_a_limit_that_would_switch_itself_off_is_a_message_naming_the_variable_and_value(
        store, base, tmp_path, monkeypatch, variable, kind, value):
    monkeypatch.setenv(variable, value)
    if kind == "zip":
        path = zipped({"lists.csv": render(sample_rows("lists")).encode()})(tmp_path)
    else:
        path = csv_file(kind)(tmp_path)
    message = assert_refused(store, base, path, [f"{variable} must be a number above 0, got {value!r}"])
    assert "OverflowError" not in message
