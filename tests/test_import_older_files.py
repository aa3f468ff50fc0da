"""Older genuine files are read: an ePCN workbook from before July 2022, which names CCGs.

Later workbooks name sub-ICB locations; the older one is read with each CCG at the sub-ICB level under its own code
and its memberships as it dates them."""

import io
from datetime import date, datetime

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from measures.importers import PublicationError, import_publications
from measures.store import Store
from tests.conftest import SAMPLES
from tests.tables import assert_unchanged, fingerprint

CUT = date(2022, 3, 31)  # the workbook is rebuilt as ODS would have published it then
DETAILS, PARTNERS = "PCNDetails", "PCN Core Partner Details"
CCG_HEADERS = {  # the sub-ICB era's headers → the CCG era's
    "Current Sub ICB Loc Code": "Current Clinical Commissioning Group Code",
    "Sub ICB Location": "Clinical Commissioning Group Name",
    "Practice\nParent\nSub ICB Loc Code": "Practice\nParent\nCCG Code",
    "Practice\nParent\nSub ICB Loc Name": "Practice\nParent\nCCG Name",
    "PCN Parent\nSub ICB Loc Code": "PCN Parent\nCCG Code",
    "PCN Parent\nSub ICB Loc Name": "PCN Parent\nCCG Name",
    "Practice Sub ICB Loc and PCN Sub ICB Loc Match ": "Practice CCG and PCN CCG Match ",
}
OPEN, CLOSE = "Open Date", "Close Date"
START, END = "Practice to PCN\nRelationship\nStart Date", "Practice to PCN\nRelationship\nEnd Date"


def day(value):
    return None if value in (None, "") else datetime.strptime(str(value), "%Y%m%d").date()


@pytest.fixture(scope="module")
def sample_sheets():
    workbook = load_workbook(SAMPLES / "ePCN.xlsx", read_only=True)
    try:
        return {name: [list(r) for r in workbook[name].iter_rows(values_only=True)] for name in (DETAILS, PARTNERS)}
    finally:
        workbook.close()


def as_of(sheets, cut):
    """The real workbook's rows as they stood on `cut`: PCNs and relationships that had begun, with a close or end
    date after it blanked (not yet known then)."""
    out = {}
    for name, (opened, closed) in ((DETAILS, (OPEN, CLOSE)), (PARTNERS, (START, END))):
        header, rows = sheets[name][0], sheets[name][1:]
        o, c = header.index(opened), header.index(closed)
        kept = []
        for row in rows:
            if day(row[o]) is None or day(row[o]) > cut:
                continue
            row = list(row)
            if day(row[c]) is not None and day(row[c]) > cut:
                row[c] = "" if name == DETAILS else None
            kept.append(row)
        out[name] = [list(header)] + kept
    return out


def write_workbook(path, sheets, headers=CCG_HEADERS):
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name in (DETAILS, PARTNERS):
        sheet = workbook.create_sheet(name)
        sheet.append([headers.get(h, h) for h in sheets[name][0]])
        for row in sheets[name][1:]:
            sheet.append(row)
    workbook.save(path)
    return path


@pytest.fixture(scope="module")
def ccg_sheets(sample_sheets):
    return as_of(sample_sheets, CUT)


@pytest.fixture(scope="module")
def imported(ccg_sheets, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ccg")
    path = write_workbook(folder / "ePCN.xlsx", ccg_sheets)
    store = Store(folder / "pcn.duckdb")
    outcome = import_publications([path], store, progress=io.StringIO())
    return store, outcome


def column(sheets, sheet, heading):
    return sheets[sheet][0].index(heading)


def test_a_ccg_era_workbook_is_read_not_refused(imported, ccg_sheets):
    store, outcome = imported
    assert outcome.ok, outcome.text()
    (report,) = outcome.reports
    assert report.publication == "ODS ePCN: PCNs and their core partners"
    text = report.text()
    assert "before 1 July 2022" in text and "Current Clinical Commissioning Group Code" in text
    assert "Download the workbook again" not in text
    # Saved today, after the CCGs ended: the workbook speaks for the latest day it mentions, not for today.
    mentioned = [day(r[column(ccg_sheets, sheet, heading)]) for sheet, heading in
                 ((DETAILS, OPEN), (DETAILS, CLOSE), (PARTNERS, START), (PARTNERS, END))
                 for r in ccg_sheets[sheet][1:]]
    assert report.vintage == max(d for d in mentioned if d is not None).isoformat()
    assert report.vintage <= CUT.isoformat()


def test_each_ccg_is_the_pcns_sub_icb_under_its_own_code(imported, ccg_sheets):
    store, _ = imported
    code = column(ccg_sheets, DETAILS, "Current Sub ICB Loc Code")
    pcn = column(ccg_sheets, DETAILS, "PCN Code")
    expected = {(r[pcn], r[code]) for r in ccg_sheets[DETAILS][1:] if r[code]}
    held = store.query("SELECT child_code, parent_code FROM memberships WHERE parent_level = 'sub_icb' "
                       "AND child_level = 'pcn'")
    assert set(zip(held["child_code"], held["parent_code"])) == expected
    levels = store.query("SELECT org_code, org_level FROM organisations").set_index("org_code")["org_level"]
    assert {levels[c] for _, c in expected} == {"sub_icb"}
    assert "72Q" in {c for _, c in expected}  # South East London kept its CCG code as a sub-ICB location


def test_memberships_are_dated_as_the_workbook_dates_them(imported, ccg_sheets):
    store, _ = imported
    header = ccg_sheets[PARTNERS][0]
    practice, pcn = header.index("Partner\nOrganisation\nCode"), header.index("PCN Code")
    rows = ccg_sheets[PARTNERS][1:]
    counts = {}
    for r in rows:
        counts[r[practice]] = counts.get(r[practice], 0) + 1
    expected = {(r[practice], r[pcn], day(r[header.index(START)]), day(r[header.index(END)]))
                for r in rows if counts[r[practice]] == 1}
    held = store.query("SELECT child_code, parent_code, start_date, end_date FROM memberships "
                       "WHERE child_level = 'practice' AND parent_level = 'pcn'")
    spans = {(c, p, s.date(), None if pd.isna(e) else e.date())
             for c, p, s, e in held.itertuples(index=False)}
    single = {s for s in spans if counts.get(s[0]) == 1}
    assert len(expected) > 6000 and single == expected


def test_a_ccg_era_workbook_dating_a_change_years_after_the_ccgs_is_refused_by_its_era(ccg_sheets, tmp_path):
    store = Store(tmp_path / "pcn.duckdb")
    assert import_publications([SAMPLES / "gp-reg-pat-prac-map.csv"], store, progress=io.StringIO()).ok
    sheets = {name: [list(r) for r in rows] for name, rows in ccg_sheets.items()}
    sheets[PARTNERS][5][sheets[PARTNERS][0].index(START)] = "20240401"
    path = write_workbook(tmp_path / "ePCN.xlsx", sheets)
    before = fingerprint(store.path)
    outcome = import_publications([path], store, progress=io.StringIO())
    (report,) = outcome.reports
    assert report.status == "failed"
    assert report.error.startswith("ePCN.xlsx: sheet PCN Core Partner Details, row 6, column Practice to PCN "
                                   "Relationship Start Date: '20240401' is 01 Apr 2024")
    assert "Clinical Commissioning Groups" in report.error and "before 1 July 2022" in report.error
    assert "Nothing was imported" in report.error
    assert_unchanged(before, store.path)


def test_a_workbook_of_neither_era_names_both_headers_it_looks_for(ccg_sheets, tmp_path):
    headers = {**CCG_HEADERS, "Current Sub ICB Loc Code": "Area Code"}
    path = write_workbook(tmp_path / "ePCN.xlsx", ccg_sheets, headers)
    store = Store(tmp_path / "pcn.duckdb")
    outcome = import_publications([path], store, progress=io.StringIO())
    (report,) = outcome.reports
    assert report.status == "failed"
    assert "has no column 'Current Sub ICB Loc Code' (before July 2022: 'Current Clinical Commissioning Group Code')" \
        in report.error


def test_ccg_and_sub_icb_era_workbooks_give_the_same_memberships_for_the_same_rows(ccg_sheets, tmp_path):
    """The same rows under either era's headers: the practice ↔ PCN timeline is the same."""
    timelines = []
    for headers in (CCG_HEADERS, {}):
        folder = tmp_path / ("ccg" if headers else "sub_icb")
        folder.mkdir()
        store = Store(folder / "pcn.duckdb")
        outcome = import_publications([write_workbook(folder / "ePCN.xlsx", ccg_sheets, headers)], store,
                                      progress=io.StringIO())
        assert outcome.ok, outcome.text()
        timelines.append(store.query("SELECT child_code, parent_code, start_date, end_date FROM memberships "
                                     "WHERE parent_level = 'pcn' AND end_date IS NOT NULL ORDER BY ALL"))
    assert len(timelines[0]) > 0 and timelines[0].equals(timelines[1])
