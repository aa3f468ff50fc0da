"""Importing every real published sample, and checking the figures against the raw files read independently."""

import csv
import functools
import hashlib
import io
import subprocess
import sys
import zipfile
from collections import defaultdict
from datetime import date

import pandas as pd
import pytest

from measures import queries
from measures.catalogue import default_catalogue
from measures.importers import import_publications
from measures.store import Store
from tests.conftest import ROOT, SAMPLES

FILES = ["IIF_indicators_annual_pub_2023_24.csv", "PCNWFIndividualCSV.062026.zip", "PREVALENCE_2425.csv",
         "appointments_practice_level_72Q_Oct2025.csv", "ePCN.xlsx", "fingertips-imd-2025-gp-practice.csv",
         "gp-reg-pat-prac-all.csv", "gp-reg-pat-prac-map.csv"]  # alphabetical: the importer orders them itself
WORKFORCE_MEMBER = "1.Primary Care Networks - June 2026 Individual Level.csv"
PCN = "U00254"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("published") / "pcn.duckdb")
    outcome = import_publications([SAMPLES / f for f in FILES], store, progress=io.StringIO())
    return store, outcome


@functools.lru_cache(maxsize=None)
def raw(name):
    with open(SAMPLES / name, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def workforce_rows():
    with zipfile.ZipFile(SAMPLES / "PCNWFIndividualCSV.062026.zip") as archive:
        with archive.open(WORKFORCE_MEMBER) as member:
            return list(csv.DictReader(io.TextIOWrapper(member, encoding="utf-8-sig", newline="")))


def list_sizes():
    return {r["CODE"]: int(r["NUMBER_OF_PATIENTS"]) for r in raw("gp-reg-pat-prac-all.csv")}


def observation(store, measure, org, period_start=None):
    sql = "SELECT * FROM observations WHERE measure_id = ? AND org_code = ?"
    params = [measure, org]
    if period_start:
        sql += " AND period_start = ?"
        params.append(period_start)
    frame = store.query(sql, params)
    assert len(frame) == 1, (measure, org, len(frame))
    return frame.iloc[0]


# --- the import as a whole ---------------------------------------------------------------------


def test_every_sample_is_recognised_by_content_and_imported_in_dependency_order(imported):
    store, outcome = imported
    assert outcome.ok, outcome.text()
    statuses = {r.name: r.status for r in outcome.reports}
    assert set(statuses.values()) == {"imported"}
    order = [r.publication for r in outcome.reports]
    assert order.index("Patients Registered at a GP Practice: practice to PCN map") == 0
    assert order.index("Patients Registered at a GP Practice: list sizes") < order.index(
        "Primary Care Network Workforce: individual-level CSV")
    assert f"PCNWFIndividualCSV.062026.zip/{WORKFORCE_MEMBER}" in statuses
    skipped = "\n".join(outcome.skipped)
    assert "Guide to using Pivot Tables" in skipped and "definitions.xlsx" in skipped


def test_each_import_records_its_provenance(imported):
    store, _ = imported
    imports = store.query("SELECT * FROM imports WHERE kind = 'publication' ORDER BY import_id")
    assert len(imports) == 8
    assert imports["sha256"].is_unique
    by_file = imports.set_index("file_name")
    map_row = by_file.loc["gp-reg-pat-prac-map.csv"]
    assert map_row["sha256"] == hashlib.sha256((SAMPLES / "gp-reg-pat-prac-map.csv").read_bytes()).hexdigest()
    assert (map_row["publication"], map_row["vintage"]) == ("Patients Registered at a GP Practice: practice to PCN map",
                                                            "2026-07-01")
    assert (map_row["rows_read"], map_row["rows_loaded"], map_row["rows_rejected"]) == (6139, 6139, 0)
    with zipfile.ZipFile(SAMPLES / "PCNWFIndividualCSV.062026.zip") as archive:
        member_sha = hashlib.sha256(archive.read(WORKFORCE_MEMBER)).hexdigest()
    assert by_file.loc[f"PCNWFIndividualCSV.062026.zip/{WORKFORCE_MEMBER}", "sha256"] == member_sha
    appointments = by_file.loc["appointments_practice_level_72Q_Oct2025.csv"]
    assert appointments["rows_read"] == appointments["rows_loaded"] + appointments["rows_rejected"] == 57750
    assert (imports["started_at"] <= imports["finished_at"]).all()
    assert imports["vintage"].notna().all()


def test_importing_the_same_files_again_changes_nothing_and_says_so(imported):
    store, _ = imported
    before = store.query("SELECT (SELECT count(*) FROM observations) AS o, (SELECT count(*) FROM imports) AS i, "
                         "(SELECT count(*) FROM memberships) AS m, (SELECT sum(value) FROM observations) AS v")
    again = import_publications([SAMPLES / f for f in FILES], store, progress=io.StringIO())
    assert {r.status for r in again.reports} == {"already imported"}
    assert all("nothing changed" in r.text() for r in again.reports)
    after = store.query("SELECT (SELECT count(*) FROM observations) AS o, (SELECT count(*) FROM imports) AS i, "
                        "(SELECT count(*) FROM memberships) AS m, (SELECT sum(value) FROM observations) AS v")
    assert before.equals(after)


# --- the map and the ePCN workbook -------------------------------------------------------------


def test_the_map_gives_every_level_with_names_and_ons_codes(imported):
    store, _ = imported
    rows = raw("gp-reg-pat-prac-map.csv")
    orgs = store.query("SELECT * FROM organisations").set_index("org_code")
    assert {r["PRACTICE_CODE"] for r in rows} <= set(orgs.index[orgs["org_level"] == "practice"])
    icbs = {r["ICB_CODE"]: (r["ICB_NAME"], r["ONS_ICB_CODE"]) for r in rows}
    assert len(icbs) == 36 and "D7T5G" in icbs  # 2026 mergers: five-character ICB codes
    for code, (name, ons) in icbs.items():
        assert (orgs.loc[code, "org_level"], orgs.loc[code, "name"], orgs.loc[code, "ons_code"]) == ("icb", name, ons)
    assert orgs.loc["72Q", "ons_code"].startswith("E38") and orgs.loc["Y56", "ons_code"].startswith("E40")
    assert orgs.loc["A89015", "name"] == "FULWELL MEDICAL CENTRE,"  # a quoted comma in the published name


def test_unallocated_practices_belong_to_no_pcn_from_the_extract_date(imported):
    store, outcome = imported
    unallocated = [r["PRACTICE_CODE"] for r in raw("gp-reg-pat-prac-map.csv") if r["PCN_CODE"] == "U"]
    assert len(unallocated) == 52
    report = next(r for r in outcome.reports if r.name == "gp-reg-pat-prac-map.csv").text()
    assert "52 practices are unallocated" in report
    open_pcn = store.query("SELECT child_code FROM memberships WHERE parent_level = 'pcn' AND "
                           "(end_date IS NULL OR end_date >= DATE '2026-07-01') AND list_contains(?, child_code)",
                           [unallocated])
    assert open_pcn.empty
    assert store.query("SELECT count(*) AS n FROM organisations WHERE org_code = 'U'")["n"].iloc[0] == 0


def test_memberships_follow_the_map_and_the_dated_workbook(imported):
    store, _ = imported
    members = store.query("SELECT * FROM memberships WHERE parent_level = 'pcn'")
    # A practice in the same PCN in both keeps the workbook's dated start.
    g83001 = members[members["child_code"] == "G83001"]
    assert len(g83001) == 1 and g83001.iloc[0]["parent_code"] == PCN
    assert g83001.iloc[0]["start_date"].date() == date(2019, 10, 1) and g83001["end_date"].isna().all()
    # A practice only the map knows is dated from the extract date.
    epcn_practices = {r[0] for r in _epcn_partners()}
    only_map = [r for r in raw("gp-reg-pat-prac-map.csv") if r["PRACTICE_CODE"] not in epcn_practices
                and r["PCN_CODE"] != "U"][0]
    row = members[members["child_code"] == only_map["PRACTICE_CODE"]].iloc[0]
    assert (row["parent_code"], row["start_date"].date()) == (only_map["PCN_CODE"], date(2026, 7, 1))
    # The map's sub-ICB, ICB and region chain is there for PCNs, as the Overview needs.
    found = queries.pcn(store, PCN)
    assert pd.isna(found.pop("close_date")), "an open PCN has no close date"
    assert found == {"pcn": PCN, "pcn_name": "BLACKHEATH AND CHARLTON PCN", "sub_icb": "72Q",
                                       "sub_icb_name": "NHS South East London ICB - 72Q", "icb": "QKK",
                                       "icb_name": "NHS South East London Integrated Care Board"}


@functools.lru_cache(maxsize=None)
def _epcn_workbook():
    from openpyxl import load_workbook

    workbook = load_workbook(SAMPLES / "ePCN.xlsx", read_only=True)
    partners = list(workbook["PCN Core Partner Details"].iter_rows(values_only=True))[1:]
    details = list(workbook["PCNDetails"].iter_rows(values_only=True))[1:]
    workbook.close()
    return partners, details


def _epcn_partners():

    return [(r[0], r[4], r[8], r[9]) for r in _epcn_workbook()[0] if r[0]]


def test_closed_pcns_keep_their_close_date(imported):
    store, _ = imported
    closed = [(r[0], r[5]) for r in _epcn_workbook()[1] if r[5]]
    assert len(closed) == 65
    orgs = store.query("SELECT org_code, close_date FROM organisations WHERE org_level = 'pcn'").set_index("org_code")
    for code, close in closed:
        assert orgs.loc[code, "close_date"].strftime("%Y%m%d") == close
    code, close = closed[0]
    sub = store.query("SELECT end_date FROM memberships WHERE child_code = ? AND parent_level = 'sub_icb'", [code])
    assert sub["end_date"].iloc[0].strftime("%Y%m%d") == close


def test_dated_practice_moves_from_the_workbook_are_kept(imported):
    store, _ = imported
    partners = _epcn_partners()
    moved = [p for p in partners if p[0] == "A84002"]  # U25545 until 20220331, then U09980
    assert {(p[1], p[2], p[3]) for p in moved} == {("U25545", "20191001", "20220331"), ("U09980", "20220401", None)}
    rows = store.query("SELECT parent_code, start_date, end_date FROM memberships WHERE child_code = 'A84002' "
                       "AND parent_level = 'pcn' ORDER BY start_date")
    assert rows.iloc[0]["parent_code"] == "U25545" and rows.iloc[0]["end_date"].date() == date(2022, 3, 31)
    assert rows.iloc[1]["start_date"].date() == date(2022, 4, 1)


# --- list sizes --------------------------------------------------------------------------------


def test_list_sizes_per_practice_and_per_pcn_sum_the_practices_in_the_pcn_on_that_date(imported):
    store, outcome = imported
    sizes = list_sizes()
    members = [r["PRACTICE_CODE"] for r in raw("gp-reg-pat-prac-map.csv") if r["PCN_CODE"] == PCN]
    expected = sum(sizes[p] for p in members)
    stored = store.query("SELECT org_code, registered_patients FROM list_sizes WHERE extract_date = DATE '2025-12-01'"
                         ).set_index("org_code")["registered_patients"]
    assert stored["G83001"] == sizes["G83001"]
    assert stored[PCN] == expected
    pcn_obs = observation(store, "registered_patients", PCN)
    assert (pcn_obs["value"], pcn_obs["basis"], pcn_obs["org_level"]) == (expected, "sum_of_practices", "pcn")
    assert pcn_obs["period_start"].date() == date(2025, 12, 1)
    practice_obs = observation(store, "registered_patients", "G83001")
    assert (practice_obs["value"], practice_obs["basis"]) == (sizes["G83001"], "published")
    report = next(r for r in outcome.reports if r.name == "gp-reg-pat-prac-all.csv")
    assert report.rows_rejected == 16  # practices in no imported map (closed or merged since)
    assert "row 518 CODE 'B82622'" in report.text()


# --- IIF ---------------------------------------------------------------------------------------


def _iif(org, measure):
    return next(int(r["VALUE"]) for r in raw("IIF_indicators_annual_pub_2023_24.csv")
                if r["ORGANISATION_CODE"] == org and r["MEASURE"] == measure)


def test_iif_published_pcn_rows_are_used_as_published(imported):
    store, _ = imported
    acc_10 = observation(store, "acc_10", PCN)
    numerator, denominator = _iif(PCN, "ACC-10 standardised numerator"), _iif(PCN, "ACC-10 denominator")
    assert (acc_10["numerator"], acc_10["denominator"], acc_10["basis"]) == (numerator, denominator, "published")
    assert acc_10["value"] == pytest.approx(numerator / denominator * 1000)
    assert (acc_10["period_start"].date(), acc_10["period_end"].date()) == (date(2023, 4, 1), date(2024, 3, 31))
    acc_10b = observation(store, "acc_10b", PCN)
    assert acc_10b["value"] == pytest.approx(_iif(PCN, "ACC-10b non-standardised numerator") / denominator * 1000)


def test_iif_pcn_acc08_sums_the_practices_in_the_pcn_at_the_achievement_date(imported):
    store, _ = imported
    in_pcn = [p for p, pcn, start, end in _epcn_partners()
              if pcn == PCN and start <= "20240331" and (end is None or end >= "20240331")]
    assert len(in_pcn) == 4
    rows = raw("IIF_indicators_annual_pub_2023_24.csv")
    numerator = sum(int(r["VALUE"]) for r in rows if r["ORGANISATION_CODE"] in in_pcn and r["MEASURE"] == "ACC-08 Numerator")
    denominator = sum(int(r["VALUE"]) for r in rows
                      if r["ORGANISATION_CODE"] in in_pcn and r["MEASURE"] == "ACC-08 Denominator")
    acc_08 = observation(store, "acc_08", PCN, date(2023, 4, 1))
    assert (acc_08["numerator"], acc_08["denominator"], acc_08["basis"]) == (numerator, denominator, "sum_of_practices")
    assert acc_08["value"] == pytest.approx(numerator / denominator * 100)
    practice = observation(store, "acc_08", "G83001", date(2023, 4, 1))
    assert practice["basis"] == "published"
    assert practice["value"] == pytest.approx(_iif("G83001", "ACC-08 Numerator") / _iif("G83001", "ACC-08 Denominator") * 100)
    ehch = observation(store, "ehch_04", PCN)
    expected = sum(int(r["VALUE"]) for r in rows if r["ORGANISATION_CODE"] in in_pcn and r["MEASURE"] == "EHCH-04 Numerator")
    assert (ehch["value"], ehch["basis"]) == (expected, "sum_of_practices")


def test_iif_baselines_are_reported_not_dropped_silently(imported):
    _, outcome = imported
    report = next(r for r in outcome.reports if r.name.startswith("IIF")).text()
    assert "1,273 rows of MEASURE 'ACC-10 baseline numerator' were not loaded" in report


# --- workforce ---------------------------------------------------------------------------------

PHARMACY = {"Pharmacists", "Pharmacy Technicians", "Trainee Pharmacy Technicians"}
PERSONALISED = {"Social Prescribing Link Workers", "Health and Wellbeing Coaches", "Care Coordinators"}
OTHER = {"Physiotherapists", "Paramedics", "Physician Associates", "Mental Health and Wellbeing Practitioners",
         "Nursing Associates", "Trainee Nursing Associates", "General Practice Assistants", "Dieticians", "Podiatrists"}


def _group(role):
    if role.endswith("(Mental Health Practitioners)") or role in OTHER or (
            role.startswith("Advanced ") and role.endswith(" Practitioners")):
        return "other"
    return "pharmacy" if role in PHARMACY else "personalised" if role in PERSONALISED else (
        "digital" if role == "Digital and Transformation Leads" else None)


def test_workforce_fte_per_10k_by_role_group_for_every_pcn(imported):
    store, _ = imported
    fte = defaultdict(lambda: defaultdict(float))
    people = defaultdict(set)
    for row in workforce_rows():
        group, value = _group(row["STAFF_ROLE"]), float(row["FTE"])
        totals = fte[row["PCN_CODE"]]
        totals["all"] += value
        if group:
            totals["arrs"] += value
            totals[group] += value
        if row["Data_source"] == "NWRS Staff" and row["UNIQUE_IDENTIFIER"]:
            people[row["PCN_CODE"]].add(row["UNIQUE_IDENTIFIER"])
    measures = {"workforce_fte_per_10k": "all", "workforce_arrs_fte_per_10k": "arrs",
                "workforce_pharmacy_fte_per_10k": "pharmacy", "workforce_personalised_care_fte_per_10k": "personalised",
                "workforce_direct_care_other_fte_per_10k": "other"}
    stored = store.query("SELECT measure_id, org_code, numerator, denominator, value FROM observations "
                         "WHERE measure_id LIKE 'workforce_%'")
    assert len(stored) == 6 * 1271
    for row in stored.itertuples():
        if row.measure_id == "workforce_headcount":
            assert row.value == len(people[row.org_code]), row
        else:
            assert row.numerator == pytest.approx(fte[row.org_code][measures[row.measure_id]], abs=1e-6), row
    pcn_list = store.query("SELECT registered_patients FROM list_sizes WHERE org_code = ?", [PCN]).iloc[0, 0]
    mine = stored[(stored.org_code == PCN) & (stored.measure_id == "workforce_fte_per_10k")].iloc[0]
    assert mine["denominator"] == pcn_list
    assert mine["value"] == pytest.approx(fte[PCN]["all"] / pcn_list * 10000)


# --- appointments ------------------------------------------------------------------------------

WITHIN = {"Same Day", "1 Day", "2 to 7 Days", "8 to 14 Days"}
KNOWN = WITHIN | {"15 to 21 Days", "22 to 28 Days", "More than 28 Days"}
ACC_08 = {"General Consultation Acute", "General Consultation Routine", "Unplanned Clinical Activity", "Clinical Triage",
          "Walk-in", "Home Visit", "Care Home Visit", "Care Related Encounter but does not fit into any other category"}


@functools.lru_cache(maxsize=None)
def _appointment_sums(key):
    """Per key (practice or PCN): the numerators and denominators, from the raw file with exact repeats counted once."""
    seen, sums = set(), defaultdict(lambda: defaultdict(int))
    for row in raw("appointments_practice_level_72Q_Oct2025.csv"):
        identity = tuple(row.values())
        if identity in seen:
            continue
        seen.add(identity)
        n, lag = int(row["COUNT_OF_APPOINTMENTS"]), " ".join(row["TIME_BETWEEN_BOOK_AND_APPT"].split())
        s = sums[row[key]]
        s["total"] += n
        s["same_day"] += n * (lag == "Same Day")
        s["within"] += n * (lag in WITHIN)
        s["known"] += n * (lag in KNOWN)
        s["dna"] += n * (row["APPT_STATUS"] == "DNA")
        s["status_known"] += n * (row["APPT_STATUS"] in ("Attended", "DNA"))
        s["f2f"] += n * (row["APPT_MODE"] == "Face-to-Face")
        s["mode_known"] += n * (row["APPT_MODE"] in ("Face-to-Face", "Telephone", "Home Visit", "Video Conference/Online"))
        s["other"] += n * (row["HCP_TYPE"] == "Other Practice staff")
        s["staff_known"] += n * (row["HCP_TYPE"] in ("GP", "Other Practice staff"))
        s["acc08"] += n * (row["NATIONAL_CATEGORY"] in ACC_08 and lag in WITHIN)
        s["acc08_known"] += n * (row["NATIONAL_CATEGORY"] in ACC_08 and lag in KNOWN)
    return sums


def _check_appointments(stored, org, s, registered):
    expected = {
        "appointments_per_1000": (s["total"], registered), "appointments_same_day_pct": (s["same_day"], s["known"]),
        "appointments_within_14_days_pct": (s["within"], s["known"]), "dna_rate": (s["dna"], s["status_known"]),
        "face_to_face_pct": (s["f2f"], s["mode_known"]), "non_gp_appointments_pct": (s["other"], s["staff_known"]),
        "acc_08_monthly": (s["acc08"], s["acc08_known"]),
    }
    for measure_id, (numerator, denominator) in expected.items():
        row = stored.loc[(measure_id, org)]
        multiplier = default_catalogue().get(measure_id).multiplier
        assert (row["numerator"], row["denominator"]) == (numerator, denominator), (measure_id, org)
        if denominator:
            assert row["value"] == pytest.approx(numerator / denominator * multiplier), (measure_id, org)
        else:  # nothing to divide by (a practice with no appointments in the ACC-08 categories)
            assert row["value"] != row["value"], (measure_id, org)
        assert row["period_end"].date() == date(2025, 10, 31)


def _october(store):
    frame = store.query("SELECT * FROM observations WHERE period_start = DATE '2025-10-01'")
    assert not frame.duplicated(["measure_id", "org_code"]).any()
    return frame.set_index(["measure_id", "org_code"])


def test_appointments_per_practice_match_the_raw_file(imported):
    store, _ = imported
    sizes, stored = list_sizes(), _october(store)
    practices = _appointment_sums("GP_CODE")
    assert len(practices) == 189
    for practice, sums in practices.items():
        _check_appointments(stored, practice, sums, sizes[practice])
        assert stored.loc[("dna_rate", practice), "basis"] == "published"


def test_appointments_per_pcn_sum_the_practice_rows_of_that_pcn_code(imported):
    store, _ = imported
    sizes = list_sizes()
    rows = raw("appointments_practice_level_72Q_Oct2025.csv")
    practices = {r["GP_CODE"] for r in rows if r["PCN_CODE"] == PCN}
    sums = _appointment_sums("PCN_CODE")
    _check_appointments(_october(store), PCN, sums[PCN], sum(sizes[p] for p in practices))
    per_1000 = observation(store, "appointments_per_1000", PCN, date(2025, 10, 1))
    assert per_1000["basis"] == "sum_of_practices"
    assert 300 < per_1000["value"] < 800  # each repeated row counted once: about 600 a month, not 1,200
    assert store.query("SELECT count(*) AS n FROM observations WHERE org_code = 'U'")["n"].iloc[0] == 0


def test_appointment_repeats_and_blank_statuses_are_reported(imported):
    _, outcome = imported
    report = next(r for r in outcome.reports if r.name.startswith("appointments"))
    assert report.rows_rejected == 28875
    text = report.text()
    assert "rejected 28,875 rows: an exact repeat of an earlier row" in text and "row 227 repeats row 2" in text
    assert "blank APPT_STATUS, read as Unknown" in text


# --- context -----------------------------------------------------------------------------------


def test_qof_prevalence_and_imd_are_kept_as_practice_context(imported):
    store, _ = imported
    context = store.query("SELECT * FROM practice_context WHERE org_code = 'A81001'").set_index("indicator")
    af = next(r for r in raw("PREVALENCE_2425.csv") if r["PRACTICE_CODE"] == "A81001" and r["GROUP_CODE"] == "AF")
    row = context.loc["qof_prevalence_AF"]
    assert (row["period"], row["numerator"], row["denominator"], row["detail"]) == (
        "2024/25", float(af["REGISTER"]), float(af["PRACTICE_LIST_SIZE"]), "TOTAL")
    assert row["value"] == pytest.approx(float(af["REGISTER"]) / float(af["PRACTICE_LIST_SIZE"]) * 100)
    imd = next(r for r in raw("fingertips-imd-2025-gp-practice.csv") if r["PRACTICE_CODE"] == "A81001")
    assert (context.loc["imd_score", "value"], context.loc["imd_score", "period"]) == (float(imd["IMD_SCORE"]), "2025")


# --- what the product shows --------------------------------------------------------------------


def test_overview_of_a_real_pcn_has_national_measures_and_an_icb_comparator(imported):
    store, _ = imported
    series, comparator = queries.overview(store, PCN, default_catalogue())
    national = {m.id for m in default_catalogue().by_family("national_des")}
    shown = set(series["measure"])
    assert {"acc_08", "appointments_per_1000", "registered_patients", "workforce_fte_per_10k", "acc_10"} <= shown <= national
    assert not comparator.empty and set(comparator["comparator_org"]) == {"QKK"}
    assert comparator["comparator"].notna().all()
    # Each measure is compared at the PCN's own latest period for it, whatever its rhythm.
    latest = series.groupby("measure")["period_start"].max()
    compared = comparator.groupby("measure")["period_start"].max()
    assert set(compared.index) == set(latest.index)
    assert (compared == latest[compared.index]).all()


def test_series_command_prints_the_yearly_and_the_monthly_acc_08_as_separate_series(imported):
    store, _ = imported
    starts = {}
    for measure_id in ("acc_08", "acc_08_monthly"):
        result = subprocess.run([sys.executable, "-m", "measures", "series", "--measure", measure_id, "--org", PCN,
                                 "--db", str(store.path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert result.returncode == 0, result.stderr
        starts[measure_id] = [r["period_start"] for r in csv.DictReader(io.StringIO(result.stdout))]
    assert starts == {"acc_08": ["2023-04-01"], "acc_08_monthly": ["2025-10-01"]}


def test_the_app_shows_the_overview_of_the_real_pcn(imported, monkeypatch):
    from tests import apptest

    store, _ = imported
    monkeypatch.setenv("PCN_DB", str(store.path))
    at = apptest.open_app("pages/pcn_overview.py", pcn=PCN)
    assert at.title[0].value == "BLACKHEATH AND CHARLTON PCN"
    values = {m.label: m.value for m in at.metric}
    assert values["List size"] == "51,381"
    assert not any("Synthetic" in w.value for w in at.warning)


def test_the_pcn_picker_lists_open_pcns_first_and_closed_ones_after(imported):
    store, _ = imported
    listed = queries.pcns(store)
    closed = listed["close_date"].notna()
    assert closed.any() and (~closed).any()
    assert not closed.iloc[: (~closed).sum()].any(), "every open PCN comes before every closed one"
