"""ARRS against entitlement: the year's sum, role counting, costs and staff by role.

The year's sum worked by hand, role counting by year, costs only where the rules give them, and staff by role from
the real workforce file checked against the raw file read independently."""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import date

import numpy as np
import pandas as pd
import pytest

from measures.contract import default_rules
from measures.contract import reads
from measures.contract.arrs import (ADVANCED, MENTAL_HEALTH, arrs_role, arrs_view, entitlement,
                                    registered_population, weighted_population)
from measures.demo_workforce import demo_workforce_roles
from measures.importers import import_publications
from measures.store import Store
from tests.conftest import SAMPLES
from tests.tables import fingerprint

WORKFORCE_ZIP = "PCNWFIndividualCSV.062026.zip"
WORKFORCE_MEMBER = "1.Primary Care Networks - June 2026 Individual Level.csv"
PCN = "U00254"


def rules(year):
    return default_rules().year(year)


def lists(*rows):
    """A PCN's list-size extracts: (extract date, registered, weighted)."""
    return pd.DataFrame(rows, columns=["extract_date", "registered_patients", "weighted_patients"])


def staff(census, *rows):
    """A PCN's staff by role at one census: (role, group, FTE, headcount)."""
    frame = pd.DataFrame(rows, columns=["staff_role", "staff_group", "fte", "headcount"])
    return frame.assign(census_date=census)[["census_date", "staff_role", "staff_group", "fte", "headcount"]]


DPC = "Other Direct Patient Care staff"
JAN_2026 = lists((date(2025, 12, 1), 12_400, 13_000.0), (date(2026, 1, 1), 12_500, 13_100.5),
                 (date(2026, 2, 1), 12_600, 13_200.0))


# --- the entitlement ------------------------------------------------------------------------------------------

def test_the_2025_26_entitlement_is_weighted_patients_times_26_631():
    assert entitlement(10_000, 26.631) == pytest.approx(266_310.0)
    # 13,100.5 × 26.631 = 13,100.5 × 26 + 13,100.5 × 0.631 = 340,613 + 8,266.4155
    view = arrs_view(rules("2025/26"), PCN, JAN_2026, staff(date(2026, 3, 31)))
    assert view.rate == 26.631
    assert view.weighted_patients == 13_100.5 and view.weighted.extract_date == date(2026, 1, 1)
    assert view.entitlement == pytest.approx(348_879.4155, abs=1e-6)
    assert "Weighted patients (13,100.5) are from the extract of 1 January 2026." in view.caveats
    assert view.summary().set_index("figure").loc["Entitlement (£)", "value"] == pytest.approx(348_879.4155)


def test_2024_25_has_no_entitlement_and_says_why():
    view = arrs_view(rules("2024/25"), PCN, lists((date(2025, 1, 1), 12_500, 13_100.5)),
                     staff(date(2025, 3, 31), ("Pharmacists", DPC, 2.0, 2)))
    assert view.rate is None and view.weighted_patients == 13_100.5
    assert view.entitlement is None and view.totals["entitlement_less_cost"] is None
    assert any("main ARRS sum per weighted patient for 2024/25 is not in the sources" in c for c in view.caveats)


def test_the_weighted_extract_is_the_one_nearest_1_january_in_the_year():
    # 1 December and 1 February are 31 days either side of 1 January: the one before is taken.
    chosen = weighted_population(lists((date(2025, 12, 1), 1, 100.0), (date(2026, 2, 1), 1, 200.0)), "2025/26")
    assert (chosen.extract_date, chosen.patients) == (date(2025, 12, 1), 100.0)
    assert "the one in 2025/26 nearest 1 January 2026" in chosen.caveat
    # Extracts outside the year are never used, however near 1 January.
    chosen = weighted_population(lists((date(2026, 4, 1), 1, 900.0), (date(2025, 4, 1), 1, 300.0)), "2025/26")
    assert (chosen.extract_date, chosen.patients) == (date(2025, 4, 1), 300.0)
    # Before 1 January has come, the latest in the year, and the caveat says so.
    chosen = weighted_population(lists((date(2026, 6, 1), 1, 500.0), (date(2026, 9, 1), 1, 510.0),
                                       (date(2026, 3, 1), 1, 400.0)), "2026/27")
    assert (chosen.extract_date, chosen.patients) == (date(2026, 9, 1), 510.0)
    assert "the latest in 2026/27 (none on or after 1 January 2027 is loaded)" in chosen.caveat


def test_no_weighted_figure_means_no_entitlement_never_a_guess():
    registered_only = lists((date(2025, 12, 1), 51_381, None))
    chosen = weighted_population(registered_only, "2025/26")
    assert chosen.patients is None and "registered patients only" in chosen.caveat
    view = arrs_view(rules("2025/26"), PCN, registered_only, staff(date(2026, 3, 31), ("Pharmacists", DPC, 1.0, 1)))
    assert view.entitlement is None and view.totals["entitlement_less_cost"] is None
    nothing = weighted_population(lists((date(2025, 1, 1), 1, 5.0)), "2025/26")
    assert nothing.patients is None and "No list size of this PCN in 2025/26" in nothing.caveat


# --- roles and costs ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role, year, expected", [
    ("Pharmacists", "2023/24", "Pharmacists"),
    ("  pharmacists ", "2025/26", "Pharmacists"),  # spaces and case aside
    ("Salaried GPs", "2023/24", None),  # GPs joined the scheme in 2024/25
    ("Salaried GPs", "2024/25", "Salaried GPs"),
    ("Healthcare Support Workers", "2024/25", None),  # added for 2025/26
    ("Healthcare Support Workers", "2025/26", "Healthcare Support Workers"),
    ("Advanced Nurse Practitioners", "2025/26", "Advanced Nurse Practitioners"),  # listed by name that year
    ("Advanced Nurse Practitioners", "2024/25", ADVANCED),
    ("Advanced Paramedic Practitioners", "2025/26", ADVANCED),
    ("Social Prescribing Link Workers (Mental Health Practitioners)", "2025/26", MENTAL_HEALTH),
    ("Community Mental Health Nurses (Mental Health Practitioners)", "2023/24", MENTAL_HEALTH),
    ("Community Mental Health Nurses", "2025/26", None),
    ("Trainee Pharmacy Technicians", "2025/26", None),
    ("Receptionists", "2025/26", None),
    ("GP Locums", "2025/26", None),
])
def test_a_role_counts_as_the_years_rules_say(role, year, expected):
    assert arrs_role(role, rules(year).arrs.roles) == expected


def test_cost_is_fte_times_the_maximum_reimbursement_only_where_the_rules_give_one():
    census = date(2026, 3, 31)
    workforce = staff(census, ("Pharmacists", DPC, 2.5, 3), ("Pharmacy Technicians", DPC, 1.2, 2),
                      ("Care Coordinators", DPC, 3.0, 4), ("Receptionists", "Other Admin/Non-clinical staff", 4.0, 5))
    view = arrs_view(rules("2025/26"), PCN, JAN_2026, workforce)
    table = view.table().set_index("staff_role")
    assert table.loc["Pharmacists", "estimated_cost"] == pytest.approx(2.5 * 66_972)  # 167,430
    assert table.loc["Pharmacy Technicians", "estimated_cost"] == pytest.approx(1.2 * 43_352)  # 52,022.40
    assert pd.isna(table.loc["Care Coordinators", "estimated_cost"]) and table.loc["Care Coordinators", "counts"]
    assert pd.isna(table.loc["Receptionists", "estimated_cost"]) and not table.loc["Receptionists", "counts"]
    assert list(table.index) == ["Care Coordinators", "Pharmacists", "Pharmacy Technicians", "Receptionists"]
    totals = view.totals
    assert totals["arrs_roles"] == 3 and totals["arrs_fte"] == pytest.approx(6.7) and totals["fte"] == pytest.approx(10.7)
    assert totals["estimated_cost_known_roles"] == pytest.approx(219_452.4)
    assert totals["estimated_cost"] is None and totals["entitlement_less_cost"] is None
    assert totals["uncosted_roles"] == 1
    assert any("maximum reimbursement of 1 of the 3 ARRS roles in post is not known" in c for c in view.caveats)
    # With every ARRS role costed, the entitlement less the cost is shown.
    costed = arrs_view(rules("2025/26"), PCN, JAN_2026, workforce[workforce["staff_role"] != "Care Coordinators"])
    assert costed.totals["estimated_cost"] == pytest.approx(219_452.4)
    assert costed.totals["entitlement_less_cost"] == pytest.approx(348_879.4155 - 219_452.4)
    assert not any("is not known here (for example" in c for c in costed.caveats)
    # The same staff in 2024/25, whose rules give no maximum: no cost at all.
    earlier = arrs_view(rules("2024/25"), PCN, lists((date(2025, 1, 1), 12_500, 13_100.5)),
                        staff(date(2025, 3, 31), ("Pharmacists", DPC, 2.5, 3)))
    assert earlier.table()["estimated_cost"].isna().all() and earlier.totals["estimated_cost_known_roles"] is None


def test_fte_per_10000_divides_by_registered_patients_at_the_extract_nearest_the_census():
    extracts = lists((date(2026, 1, 1), 20_000, 21_000.0), (date(2026, 4, 1), 12_500, 13_000.0))
    view = arrs_view(rules("2025/26"), PCN, extracts, staff(date(2026, 3, 31), ("Pharmacists", DPC, 2.5, 3),
                                                             ("Paramedics", DPC, 1.0, 1)))
    assert view.registered.extract_date == date(2026, 4, 1)  # one day from the census, not the weighted extract
    table = view.table().set_index("staff_role")
    assert table.loc["Pharmacists", "fte_per_10k"] == pytest.approx(2.0)  # 2.5 ÷ 12,500 × 10,000
    assert table.loc["Paramedics", "fte_per_10k"] == pytest.approx(0.8)
    assert view.totals["arrs_fte_per_10k"] == pytest.approx(2.8)
    assert registered_population(lists(), date(2026, 3, 31)).patients is None


# --- the workforce import against the raw file --------------------------------------------------------------

def raw_workforce() -> pd.DataFrame:
    with zipfile.ZipFile(SAMPLES / WORKFORCE_ZIP) as archive, archive.open(WORKFORCE_MEMBER) as member:
        frame = pd.read_csv(member, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return frame.assign(FTE=frame["FTE"].astype(float))


def expected_roles(raw: pd.DataFrame, pcn: str) -> pd.DataFrame:
    own = raw[raw["PCN_CODE"] == pcn]
    people = own[(own["Data_source"].str.strip().str.lower() == "nwrs staff") & (own["UNIQUE_IDENTIFIER"] != "")]
    out = pd.DataFrame({"fte": own.groupby("STAFF_ROLE")["FTE"].sum(),
                        "groups": own.groupby("STAFF_ROLE")["STAFF_GROUP"].agg(lambda g: "; ".join(sorted(set(g)))),
                        "headcount": people.groupby("STAFF_ROLE")["UNIQUE_IDENTIFIER"].nunique()})
    return out.fillna({"headcount": 0})


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("workforce") / "pcn.duckdb")
    outcome = import_publications([SAMPLES / f for f in ("gp-reg-pat-prac-map.csv", "gp-reg-pat-prac-all.csv",
                                                         WORKFORCE_ZIP)], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    return store


def test_staff_by_role_match_the_raw_file_for_one_pcn(imported):
    stored = imported.query("SELECT * FROM workforce_roles WHERE org_code = ? ORDER BY staff_role", [PCN])
    expected = expected_roles(raw_workforce(), PCN)
    assert sorted(stored["staff_role"]) == sorted(expected.index)
    assert set(stored["census_date"].dt.date) == {date(2026, 6, 30)}
    stored = stored.set_index("staff_role")
    for role, row in expected.iterrows():
        assert stored.loc[role, "fte"] == pytest.approx(row["fte"], abs=1e-9), role
        assert stored.loc[role, "headcount"] == row["headcount"], role
        assert stored.loc[role, "staff_group"] == row["groups"], role
    assert stored["headcount"].sum() > 0 and (stored["fte"] > 0).all()


def test_a_role_in_two_staff_groups_is_one_row_with_both_groups(imported):
    raw = raw_workforce()
    apprentices = raw[raw["STAFF_ROLE"] == "Apprentices"].groupby("PCN_CODE")["STAFF_GROUP"].nunique()
    pcn = apprentices[apprentices > 1].index[0]
    expected = expected_roles(raw, pcn).loc["Apprentices"]
    row = imported.query("SELECT * FROM workforce_roles WHERE org_code = ? AND staff_role = 'Apprentices'", [pcn])
    assert len(row) == 1
    assert row["staff_group"].iloc[0] == "Other Admin/Non-clinical staff; Other Direct Patient Care staff"
    assert row["fte"].iloc[0] == pytest.approx(expected["fte"]) and row["headcount"].iloc[0] == expected["headcount"]


def test_every_pcns_roles_add_up_to_its_published_total(imported):
    check = imported.query("""
        SELECT o.org_code, o.numerator, r.fte FROM observations o
        JOIN (SELECT org_code, sum(fte) AS fte FROM workforce_roles GROUP BY 1) r USING (org_code)
        WHERE o.measure_id = 'workforce_fte_per_10k'
    """)
    assert len(check) == imported.query("SELECT count(DISTINCT org_code) AS n FROM workforce_roles")["n"].iloc[0]
    assert np.allclose(check["numerator"], check["fte"])
    raw = raw_workforce()
    known = set(imported.query("SELECT org_code FROM organisations WHERE org_level = 'pcn'")["org_code"])
    assert imported.query("SELECT sum(fte) AS f FROM workforce_roles")["f"].iloc[0] == pytest.approx(
        raw.loc[raw["PCN_CODE"].isin(known), "FTE"].sum())


def test_the_arrs_read_gives_the_imported_pcns_roles(imported):
    view = reads.arrs(imported, PCN, "2026/27")
    expected = expected_roles(raw_workforce(), PCN)
    table = view.table().set_index("staff_role")
    assert view.census_date == date(2026, 6, 30)
    registered = imported.query("SELECT registered_patients FROM list_sizes WHERE org_code = ?", [PCN])
    assert len(registered) == 1
    for role, row in expected.iterrows():
        assert table.loc[role, "fte"] == pytest.approx(row["fte"])
        assert table.loc[role, "fte_per_10k"] == pytest.approx(row["fte"] / registered.iloc[0, 0] * 10_000)
    assert table.loc["Pharmacists", "counts"] and not table.loc["Medical Clinical Director (GP)", "counts"]
    assert view.entitlement is None  # neither a 2026/27 rate nor a weighted population is loaded
    assert reads.workforce_in_year(imported, PCN, "2025/26").empty


def test_importing_the_same_census_again_replaces_its_rows(imported, tmp_path):
    path = tmp_path / "again.duckdb"
    shutil.copy(imported.path, path)
    store = Store(path)
    before = fingerprint(path)
    again = import_publications([SAMPLES / WORKFORCE_ZIP], store, progress=io.StringIO())
    assert {r.status for r in again.reports} == {"already imported"}
    assert fingerprint(path) == before
    # The same rows in a file that differs byte for byte (no byte-order mark) are imported again and replace them.
    with zipfile.ZipFile(SAMPLES / WORKFORCE_ZIP) as archive:
        content = archive.read(WORKFORCE_MEMBER)
    assert content.startswith(b"\xef\xbb\xbf")
    (tmp_path / "workforce.csv").write_bytes(content[3:])
    columns = "org_code, census_date, staff_role, staff_group, fte, headcount"
    rows_before = store.query(f"SELECT {columns} FROM workforce_roles ORDER BY ALL")
    outcome = import_publications([tmp_path / "workforce.csv"], store, progress=io.StringIO())
    assert [r.status for r in outcome.reports] == ["imported"], outcome.text()
    after = fingerprint(path)
    assert after["workforce_roles"][0] == before["workforce_roles"][0]
    assert {t for t in after if after[t] != before[t]} == {"imports", "observations", "workforce_roles"}
    assert store.query(f"SELECT {columns} FROM workforce_roles ORDER BY ALL").equals(rows_before)
    assert store.query("SELECT DISTINCT import_id FROM workforce_roles")["import_id"].tolist() == [
        store.query("SELECT max(import_id) AS i FROM imports")["i"].iloc[0]]


def test_a_corrected_census_without_a_role_leaves_nothing_of_the_old_rows(imported, tmp_path):
    path = tmp_path / "corrected.duckdb"
    shutil.copy(imported.path, path)
    store = Store(path)
    with zipfile.ZipFile(SAMPLES / WORKFORCE_ZIP) as archive:
        text = archive.read(WORKFORCE_MEMBER).decode("utf-8-sig")
    lines = text.splitlines(keepends=True)
    header = lines[0].split(",")
    role, code = header.index("STAFF_ROLE"), header.index("PCN_CODE")
    kept = [lines[0]] + [line for line in lines[1:]
                         if not (line.split(",")[code] == PCN and line.split(",")[role] == "Pharmacists")]
    assert len(kept) < len(lines)
    (tmp_path / "corrected.csv").write_text("".join(kept), encoding="utf-8")
    before = store.query("SELECT count(*) AS n FROM workforce_roles WHERE org_code = ?", [PCN])["n"].iloc[0]
    outcome = import_publications([tmp_path / "corrected.csv"], store, progress=io.StringIO())
    assert [r.status for r in outcome.reports] == ["imported"], outcome.text()
    roles = store.query("SELECT staff_role FROM workforce_roles WHERE org_code = ?", [PCN])["staff_role"].tolist()
    assert "Pharmacists" not in roles and len(roles) == before - 1


# --- the demo's rows -----------------------------------------------------------------------------------------

def demo_inputs(seed=7):
    from measures.demo import SCALES, build_population

    pop = build_population(SCALES["demo"], np.random.default_rng(seed))
    return pop, (pop.pcn_codes, pop.pcn_sum(pop.registered), pop.pcn_sum(pop.weighted), pop.months)


def test_demo_roles_are_deterministic_realistic_and_fit_the_table(tmp_path):
    pop, inputs = demo_inputs()
    frame = demo_workforce_roles(*inputs, np.random.default_rng(11))
    assert frame.equals(demo_workforce_roles(*inputs, np.random.default_rng(11)))
    assert not frame.equals(demo_workforce_roles(*inputs, np.random.default_rng(12)))
    assert set(frame["org_code"]) == set(pop.pcn_codes)
    censuses = sorted(set(frame["census_date"]))
    assert censuses == [date(2025, 12, 31), date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30)]
    roles = set(frame["staff_role"])
    assert {"Pharmacists", "Pharmacy Technicians", "Social Prescribing Link Workers", "Care Coordinators",
            "Health and Wellbeing Coaches", "Paramedics", "Physiotherapists", "Salaried GPs"} <= roles
    assert (frame["fte"] > 0).all() and (frame["headcount"] >= 0).all()
    assert (frame["headcount"] == 0).any()  # contracted services: FTE but no headcount
    store = Store(tmp_path / "demo.duckdb")
    with store.writer() as con:
        con.register("incoming", frame.assign(import_id=1))
        con.execute("INSERT INTO workforce_roles SELECT org_code, census_date, staff_role, staff_group, fte, "
                    "headcount, import_id FROM incoming")  # the primary key holds
    # Each PCN's ARRS team costs about its entitlement: FTE of a post costing ~£30k-£100k a year.
    first = frame[frame["census_date"] == censuses[0]]
    counted = first[[arrs_role(r, rules("2025/26").arrs.roles) is not None for r in first["staff_role"]]]
    per_pcn = counted.groupby("org_code")["fte"].sum()
    weighted = pd.Series(inputs[2][:, -10], index=pop.pcn_codes)  # December 2025
    spend_per_fte = weighted[per_pcn.index] * 26.631 / per_pcn
    assert spend_per_fte.between(30_000, 100_000).all()


def test_the_arrs_read_on_demo_rows_sets_staff_against_the_2025_26_entitlement(tmp_path):
    pop, inputs = demo_inputs()
    frame = demo_workforce_roles(*inputs, np.random.default_rng(11))
    pcn = pop.pcn_codes[0]
    months = pop.months.date
    extracts = pd.DataFrame({"org_code": pcn, "extract_date": months, "registered_patients": inputs[1][0].astype(int),
                             "weighted_patients": np.round(inputs[2][0], 1)})
    store = Store(tmp_path / "arrs.duckdb")
    with store.writer() as con:
        for table, rows in (("list_sizes", extracts), ("workforce_roles", frame)):
            con.register("incoming", rows.assign(import_id=1))
            con.execute(f"INSERT INTO {table} ({', '.join(rows.columns)}, import_id) "
                        f"SELECT {', '.join(rows.columns)}, import_id FROM incoming")
            con.unregister("incoming")
    view = reads.arrs(store, pcn, "2025/26")
    assert view.census_date == date(2026, 3, 31)  # the latest census in the year, not September's
    january = extracts[extracts["extract_date"] == date(2026, 1, 1)].iloc[0]
    assert view.weighted.extract_date == date(2026, 1, 1)
    assert view.entitlement == pytest.approx(january["weighted_patients"] * 26.631)
    march = frame[(frame["org_code"] == pcn) & (frame["census_date"] == date(2026, 3, 31))].set_index("staff_role")
    table = view.table().set_index("staff_role")
    assert sorted(table.index) == sorted(march.index)
    assert table.loc["Pharmacists", "estimated_cost"] == pytest.approx(march.loc["Pharmacists", "fte"] * 66_972)


def test_the_years_with_a_census_are_offered_first(tmp_path):
    store = Store(tmp_path / "years.duckdb")
    with store.writer() as con:
        con.execute("INSERT INTO workforce_roles VALUES ('U00001', DATE '2024-03-31', 'Pharmacists', NULL, 1, 1, 1)")
    assert reads.arrs_years(store) == ["2023/24", "2026/27", "2025/26", "2024/25"]
