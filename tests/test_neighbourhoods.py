"""Neighbourhoods: the neighbourhood file checked by file and field, loaded all or nothing, and the command."""

import shutil
import subprocess
import sys
import textwrap

import pytest

from measures.importers.neighbourhoods import NeighbourhoodFileError, load_file, parse_file
from measures.store import Store
from tests.conftest import ROOT
from tests.hoods import without_neighbourhoods
from tests.tables import assert_unchanged, fingerprint

GOOD = """\
    version: 1
    icb: QZZ
    neighbourhoods:
      - code: QZZ-RIVERSIDE
        name: Riverside
        members:
          - {pcn: UZ0001, start: 2024-04-01}
          - {pcn: UZ0002, start: 2024-04-01}
          - {pcn: UZ0003, start: 2024-04-01, end: 2026-03-31}
      - code: QZZ-BRACKENBY-N
        name: Brackenby North
        members:
          - {practice: Z00020, start: 2024-04-01}
          - {practice: Z00021, start: 2024-04-01}
    """


@pytest.fixture
def store(demo_db, tmp_path) -> Store:
    """A copy of the demo without its own neighbourhoods, their measures and values: each test defines its own."""
    path = tmp_path / "hoods.duckdb"
    shutil.copy(demo_db, path)
    return without_neighbourhoods(Store(path))


def write(tmp_path, text: str, name: str = "neighbourhoods.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_good_file_loads_its_neighbourhoods_and_dated_members(store, tmp_path):
    loaded = load_file(store, write(tmp_path, GOOD), actor="tester")
    assert loaded.changed and loaded.neighbourhoods == 2 and loaded.members == 5
    hoods = store.query("SELECT neighbourhood_code, name, icb_code FROM neighbourhoods ORDER BY 1")
    assert hoods.values.tolist() == [["QZZ-BRACKENBY-N", "Brackenby North", "QZZ"], ["QZZ-RIVERSIDE", "Riverside", "QZZ"]]
    members = store.query("SELECT child_code, child_level, coalesce(CAST(end_date AS VARCHAR), '') AS ended FROM memberships "
                          "WHERE parent_code = 'QZZ-RIVERSIDE' AND parent_level = 'neighbourhood' ORDER BY 1")
    assert members.values.tolist() == [["UZ0001", "pcn", ""], ["UZ0002", "pcn", ""],
                                       ["UZ0003", "pcn", "2026-03-31"]]


def test_the_same_file_again_changes_nothing(store, tmp_path):
    path = write(tmp_path, GOOD)
    load_file(store, path, actor="tester")
    before = fingerprint(store.path)
    again = load_file(store, path, actor="someone else")
    assert not again.changed
    assert_unchanged(before, store.path)


def test_a_new_file_replaces_the_icbs_neighbourhoods(store, tmp_path):
    load_file(store, write(tmp_path, GOOD), actor="tester")
    smaller = GOOD.split("      - code: QZZ-BRACKENBY-N")[0]
    load_file(store, write(tmp_path, smaller, "second.yaml"), actor="tester")
    assert store.query("SELECT neighbourhood_code FROM neighbourhoods")["neighbourhood_code"].tolist() == ["QZZ-RIVERSIDE"]
    assert store.query("SELECT count(*) AS n FROM memberships WHERE parent_code = 'QZZ-BRACKENBY-N'")["n"][0] == 0


MISTAKES = {
    "unknown PCN": (GOOD.replace("pcn: UZ0002", "pcn: UZ9999"),
                    "field 'neighbourhoods[0].members[1].pcn': 'UZ9999' is not a known PCN code"),
    "a practice given as a PCN": (GOOD.replace("pcn: UZ0002", "pcn: Z00003"),
                                  "'Z00003' is not a known PCN code (it is a practice)"),
    "end before start": (GOOD.replace("end: 2026-03-31", "end: 2023-03-31"),
                         "field 'neighbourhoods[0].members[2]': end 2023-03-31 is before start 2024-04-01"),
    "overlapping dates": (GOOD.replace("          - {pcn: UZ0002, start: 2024-04-01}\n",
                                       "          - {pcn: UZ0002, start: 2024-04-01}\n"
                                       "          - {pcn: UZ0002, start: 2025-04-01}\n"),
                          "field 'neighbourhoods[0].members[2].start': PCN UZ0002 is already a member of "
                          "QZZ-RIVERSIDE from 2024-04-01"),
    "a practice in two neighbourhoods at once": (
        GOOD.replace("practice: Z00021", "practice: Z00003"),
        "field 'neighbourhoods[1].members[1]': practice Z00003 would be in two neighbourhoods at once: "
        "QZZ-BRACKENBY-N from 2024-04-01 and QZZ-RIVERSIDE from 2024-04-01 (neighbourhoods[0].members[1] "
        "(PCN UZ0002))"),
    "a practice beside its own PCN": (
        GOOD.replace("          - {pcn: UZ0003,", "          - {practice: Z00003, start: 2025-01-01}\n"
                                                  "          - {pcn: UZ0003,"),
        "field 'neighbourhoods[0].members[2].start': practice Z00003 is already a member of QZZ-RIVERSIDE from "
        "2024-04-01 (neighbourhoods[0].members[1] (PCN UZ0002)); these dates overlap it"),
    "duplicate code": (GOOD.replace("code: QZZ-BRACKENBY-N", "code: QZZ-RIVERSIDE"),
                       "field 'neighbourhoods[1].code': QZZ-RIVERSIDE is already the code of neighbourhoods[0]"),
    "a date that is not a date": (GOOD.replace("Z00021, start: 2024-04-01", "Z00021, start: 1/4/24"),
                                  "field 'neighbourhoods[1].members[1].start': '1/4/24' is not a date"),
    "unknown field": (GOOD.replace("name: Riverside", "name: Riverside\n        colour: red"),
                      "field 'neighbourhoods[0].colour': unknown field"),
    "a code of an organisation": (GOOD.replace("code: QZZ-RIVERSIDE", "code: UZ0001"),
                                  "field 'neighbourhoods[0].code': UZ0001 is the code of a pcn"),
    "an ICB not held": (GOOD.replace("icb: QZZ", "icb: QYY"), "field 'icb': QYY is not an ICB in this database"),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_a_mistake_is_named_by_file_and_field_and_nothing_is_loaded(case, store, tmp_path):
    text, expected = MISTAKES[case]
    path = write(tmp_path, text, "hoods-qzz.yaml")
    before = fingerprint(store.path)
    with pytest.raises(NeighbourhoodFileError) as refused:
        load_file(store, path, actor="tester")
    assert f"{path}: " in str(refused.value)
    assert expected in str(refused.value)
    assert_unchanged(before, store.path)


def test_a_practice_moving_between_pcns_is_in_one_neighbourhood_at_a_time(store, tmp_path):
    # Z00012 moves from UZ0004 to UZ0003 on 2026-03-01: with UZ0003 in one neighbourhood and UZ0004 in another
    # it is in each in turn, never both, so the file loads.
    text = """\
        icb: QZZ
        neighbourhoods:
          - {code: QZZ-A, name: A, members: [{pcn: UZ0003, start: 2024-04-01}]}
          - {code: QZZ-B, name: B, members: [{pcn: UZ0004, start: 2024-04-01}]}
        """
    assert load_file(store, write(tmp_path, text), actor="tester").changed
    # Naming Z00012 in B as well keeps it in B after it joined UZ0003 (so A): in two at once from that day.
    twice = text.replace("{pcn: UZ0004, start: 2024-04-01}", "{pcn: UZ0004, start: 2024-04-01}, "
                                                             "{practice: Z00012, start: 2026-03-01}")
    parse_file(tmp_path / "twice.yaml", textwrap.dedent(twice).encode())  # the file alone says nothing wrong
    with pytest.raises(NeighbourhoodFileError, match=r"practice Z00012 would be in two neighbourhoods at once: "
                                                     r"QZZ-B from 2026-03-01 and QZZ-A from 2026-03-01"):
        load_file(store, write(tmp_path, twice, "twice.yaml"), actor="tester")


def test_the_command_loads_a_file_and_refuses_a_bad_one_with_exit_code_2(store, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PCN_ACCESS": ""}
    good = subprocess.run([sys.executable, "-m", "measures", "neighbourhoods", str(write(tmp_path, GOOD)),
                           "--db", str(store.path)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert good.returncode == 0, good.stderr
    assert "2 neighbourhoods of QZZ, 5 members" in good.stderr
    bad = subprocess.run([sys.executable, "-m", "measures", "neighbourhoods",
                          str(write(tmp_path, GOOD.replace("UZ0002", "UZ9999"), "bad.yaml")), "--db", str(store.path)],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    assert bad.returncode == 2
    assert "bad.yaml: field 'neighbourhoods[0].members[1].pcn'" in bad.stderr


# --- members at a date, and a neighbourhood's value as the sum of its practices ------------------------------

MOVING = """\
    icb: QZZ
    neighbourhoods:
      - code: QZZ-ASHVALE
        name: Ashvale
        members:
          - {pcn: UZ0003, start: 2024-04-01}
          - {practice: Z00013, start: 2024-04-01, end: 2025-12-31}
    """


def practice_sum(store, practices, measure, period):
    """The numerator and denominator of the named practices' values for one period, read straight from the store."""
    held = store.query("SELECT sum(numerator) AS n, sum(denominator) AS d FROM observations WHERE measure_id = ? "
                       "AND org_level = 'practice' AND period_start = ? AND org_code IN (SELECT unnest(?))",
                       [measure, period, sorted(practices)])
    return float(held["n"][0]), float(held["d"][0])


def test_members_at_a_date_follow_the_pcns_practices_and_each_members_dates(store, tmp_path):
    from datetime import date

    from measures import neighbourhoods

    load_file(store, write(tmp_path, MOVING), actor="tester")
    pcn_practices = lambda day: set(store.query(  # noqa: E731
        "SELECT child_code FROM memberships WHERE parent_code = 'UZ0003' AND parent_level = 'pcn' "
        "AND start_date <= ? AND (end_date IS NULL OR end_date >= ?)", [day, day])["child_code"])
    before, after = date(2025, 11, 30), date(2026, 3, 31)
    members_before = neighbourhoods.members_at(store, "QZZ-ASHVALE", before)
    members_after = neighbourhoods.members_at(store, "QZZ-ASHVALE", after)
    # Z00012 joined UZ0003 on 2026-03-01, and Z00013's own membership ended on 2025-12-31.
    assert set(members_before["practice"]) == pcn_practices(before) | {"Z00013"}
    assert "Z00012" not in set(members_before["practice"])
    assert set(members_after["practice"]) == pcn_practices(after)
    assert {"Z00012"} <= set(members_after["practice"]) and "Z00013" not in set(members_after["practice"])
    assert members_after.set_index("practice").loc["Z00012", "via_pcn"] == "UZ0003"


def test_a_neighbourhoods_value_is_the_sum_of_its_practices_at_each_date(store, tmp_path):
    from datetime import date

    from measures import neighbourhoods
    from measures.catalogue import default_catalogue

    load_file(store, write(tmp_path, MOVING), actor="tester")
    measure = default_catalogue().get("dna_rate")
    summed = neighbourhoods.series(store, measure, "QZZ-ASHVALE").set_index("period_start")
    for period in (date(2025, 11, 1), date(2026, 1, 1), date(2026, 3, 1), date(2026, 9, 1)):
        practices = set(neighbourhoods.members_at(store, "QZZ-ASHVALE", neighbourhoods_end(period))["practice"])
        numerator, denominator = practice_sum(store, practices, "dna_rate", period)
        row = summed.loc[pd_day(period)]
        assert (row["numerator"], row["denominator"]) == (numerator, denominator)
        assert row["value"] == pytest.approx(numerator / denominator * measure.multiplier)
        assert row["practices"] == len(practices)
    # While the neighbourhood is exactly UZ0003, its sum is the PCN's own sum of practices.
    pcn = store.query("SELECT numerator, denominator FROM observations WHERE measure_id = 'dna_rate' "
                      "AND org_code = 'UZ0003' AND period_start = '2026-03-01'")
    assert summed.loc[pd_day(date(2026, 3, 1)), "numerator"] == pcn["numerator"][0]
    # Z00012 joined in March 2026, so March adds one practice more than January.
    assert summed.loc[pd_day(date(2026, 3, 1)), "practices"] == summed.loc[pd_day(date(2026, 1, 1)), "practices"] + 1


def neighbourhoods_end(period):
    import pandas as pd

    return (pd.Timestamp(period) + pd.offsets.MonthEnd(0)).date()


def pd_day(day):
    import pandas as pd

    return pd.Timestamp(day)


# --- local measures recorded for a neighbourhood, and who reads and records them ------------------------------

HOOD_MEASURE = "nbh_team_partners_pct"


def define_hood_measure(store):
    from measures import local
    from measures.catalogue import default_catalogue

    base = default_catalogue().get("int_mdt_partner_attendance_pct")
    measure = base.model_copy(update={"id": HOOD_MEASURE, "level": "neighbourhood", "suppress_small_numbers": True,
                                      "name": "Neighbourhood team meetings with partners present"})
    return local.define_measure(store, measure, "ICB lead").measure


def editor(pcn):
    from measures.access import Grant, Principal

    return Principal(f"{pcn.lower()}@example.nhs.uk", grants=(Grant(role="editor", pcns=[pcn]),))


def template(tmp_path, rows, name="hood-values.csv"):
    path = tmp_path / name
    path.write_text("measure_id,period_start,org_code,numerator,denominator\n"
                    + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def hood_store(store, tmp_path):
    load_file(store, write(tmp_path, GOOD), actor="tester")
    define_hood_measure(store)
    return store


def test_a_neighbourhood_measure_is_recorded_with_its_audit_row(hood_store, tmp_path):
    from measures import local

    path = template(tmp_path, [f"{HOOD_MEASURE},2026-08-01,QZZ-RIVERSIDE,12,15",
                               f"{HOOD_MEASURE},2026-08-01,QZZ-BRACKENBY-N,3,4"])
    # UZ0002's editor may record Riverside's values, not Brackenby North's (which has no practice of UZ0002).
    with pytest.raises(local_access().AccessDenied, match="QZZ-BRACKENBY-N: only the editors of its PCNs"):
        local.record_file(hood_store, path, "Riverside lead", principal=editor("UZ0002"))
    assert hood_store.query("SELECT count(*) AS n FROM recorded_values WHERE org_code LIKE 'QZZ-%'")["n"][0] == 0
    local.record_file(hood_store, template(tmp_path, [f"{HOOD_MEASURE},2026-08-01,QZZ-RIVERSIDE,12,15"], "riverside.csv"),
                      "Riverside lead", principal=editor("UZ0002"))
    held = hood_store.query("SELECT org_code, org_level, numerator, denominator, value FROM observations "
                            "WHERE measure_id = ?", [HOOD_MEASURE])
    assert held.values.tolist() == [["QZZ-RIVERSIDE", "neighbourhood", 12.0, 15.0, 80.0]]
    audit = hood_store.query("SELECT org_code, action, new_numerator, changed_by FROM value_audit WHERE measure_id = ?",
                             [HOOD_MEASURE])
    assert audit.values.tolist() == [["QZZ-RIVERSIDE", "recorded", 12.0, "Riverside lead"]]
    # A correction is audited with the earlier value, as for a PCN.
    local.record_file(hood_store, template(tmp_path, [f"{HOOD_MEASURE},2026-08-01,QZZ-RIVERSIDE,13,15"], "fix.csv"),
                      "Riverside lead", principal=editor("UZ0001"))
    fix = hood_store.query("SELECT action, old_numerator, new_numerator FROM value_audit WHERE measure_id = ? "
                           "ORDER BY audit_id", [HOOD_MEASURE])
    assert fix.values.tolist()[-1] == ["corrected", 12.0, 13.0]


def local_access():
    from measures import access

    return access


def test_neighbourhood_rows_are_checked_like_any_other(hood_store, tmp_path):
    from measures import local

    cases = {
        "int_mdt_partner_attendance_pct,2026-08-01,QZZ-RIVERSIDE,3,4":
            "QZZ-RIVERSIDE (Riverside) is a neighbourhood, but int_mdt_partner_attendance_pct is recorded for each PCN",
        f"{HOOD_MEASURE},2026-08-01,UZ0001,3,4": "UZ0001 (Riverside PCN) is a pcn, but",
        f"{HOOD_MEASURE},2026-08-01,QZZ-RIVERSIDE,5,4": "is above the denominator",
    }
    for row, expected in cases.items():
        before = fingerprint(hood_store.path)
        with pytest.raises(local.RecordingError) as refused:
            local.record_file(hood_store, template(tmp_path, [row]), "tester")
        assert expected in str(refused.value) and "hood-values.csv" in str(refused.value)
        assert_unchanged(before, hood_store.path)
    # On a PCN's own page (pcn_code), only the neighbourhoods that include that PCN.
    with pytest.raises(local.RecordingError, match="QZZ-BRACKENBY-N .* did not include UZ0001 on 2026-08-01"):
        local.record_file(hood_store, template(tmp_path, [f"{HOOD_MEASURE},2026-08-01,QZZ-BRACKENBY-N,3,4"]),
                          "tester", pcn_code="UZ0001")
    local.record_file(hood_store, template(tmp_path, [f"{HOOD_MEASURE},2026-08-01,QZZ-BRACKENBY-N,3,4"]),
                      "tester", pcn_code="UZ0006")


def test_small_neighbourhood_values_are_suppressed_on_the_same_rules(hood_store, tmp_path):
    from measures import local, neighbourhoods, suppression

    local.record_file(hood_store, template(tmp_path, [f"{HOOD_MEASURE},2026-07-01,QZZ-BRACKENBY-N,3,4",
                                                      f"{HOOD_MEASURE},2026-08-01,QZZ-BRACKENBY-N,30,40"]), "tester")
    measure = local.catalogue_with_local(hood_store).get(HOOD_MEASURE)
    shown = suppression.suppress(neighbourhoods.series(hood_store, measure, "QZZ-BRACKENBY-N"),
                                 suppression.rules(local.catalogue_with_local(hood_store)), below=5)
    assert shown[suppression.FLAG].tolist() == [True, False]
    assert shown["value"].isna().tolist() == [True, False]


def test_a_neighbourhoods_unpublished_values_are_read_by_its_pcns_and_its_icbs_analysts(hood_store, tmp_path):
    import pandas as pd

    from measures import access, local
    from measures.access import Grant, Principal

    local.record_file(hood_store, template(tmp_path, [f"{HOOD_MEASURE},2026-08-01,QZZ-RIVERSIDE,12,15",
                                                      f"{HOOD_MEASURE},2026-08-01,QZZ-BRACKENBY-N,30,40"]), "tester")
    facts = access.directory(hood_store)
    assert facts.neighbourhood_pcns["QZZ-RIVERSIDE"] == {"UZ0001", "UZ0002", "UZ0003"}
    # Brackenby North is part of UZ0006; Z00012 moved into UZ0003 while UZ0003 was in Riverside, not before.
    assert facts.neighbourhood_pcns["QZZ-BRACKENBY-N"] == {"UZ0006"}
    frame = pd.DataFrame({"measure": HOOD_MEASURE, "org": ["QZZ-RIVERSIDE", "QZZ-BRACKENBY-N"],
                          "period_start": pd.Timestamp("2026-08-01"), "value": [80.0, 75.0]})
    who = {
        "viewer of UZ0003": Principal("v@x.nhs.uk", grants=(Grant(role="viewer", pcns=["UZ0003"]),)),
        "editor of UZ0006": editor("UZ0006"),
        "viewer of UZ0009": Principal("w@x.nhs.uk", grants=(Grant(role="viewer", pcns=["UZ0009"]),)),
        "analyst of QZZ": Principal("a@x.nhs.uk", grants=(Grant(role="icb_analyst", icbs=["QZZ"]),)),
        "analyst of QYY": Principal("b@x.nhs.uk", grants=(Grant(role="icb_analyst", icbs=["QYY"]),)),
        "no role": Principal("n@x.nhs.uk"),
    }
    readable = {name: access.filter_rows(frame, principal, facts)["org"].tolist() for name, principal in who.items()}
    assert readable == {"viewer of UZ0003": ["QZZ-RIVERSIDE"], "editor of UZ0006": ["QZZ-BRACKENBY-N"],
                        "viewer of UZ0009": [], "analyst of QZZ": ["QZZ-RIVERSIDE", "QZZ-BRACKENBY-N"],
                        "analyst of QYY": [], "no role": []}
    with pytest.raises(access.AccessDenied, match="the viewers and editors of its PCNs \\(UZ0001, UZ0002, UZ0003\\), "
                                                  "analysts of QZZ"):
        access.require_local(who["viewer of UZ0009"], "QZZ-RIVERSIDE", facts)
    # Once a PCN of the neighbourhood publishes the neighbourhood's period, everyone reads it, as for a PCN.
    local.publish_period(hood_store, editor("UZ0001"), "QZZ-RIVERSIDE", date_(2026, 8, 1))
    with pytest.raises(access.AccessDenied):
        local.publish_period(hood_store, editor("UZ0009"), "QZZ-RIVERSIDE", date_(2026, 7, 1))
    facts = access.directory(hood_store)
    assert access.filter_rows(frame, who["no role"], facts)["org"].tolist() == ["QZZ-RIVERSIDE"]
    assert access.can_edit(editor("UZ0001"), "QZZ-RIVERSIDE", facts)
    assert not access.can_edit(editor("UZ0001"), "QZZ-BRACKENBY-N", facts)


def date_(*parts):
    from datetime import date

    return date(*parts)


def test_a_missing_file_or_one_that_is_not_a_mapping_is_refused_by_name(store, tmp_path):
    with pytest.raises(NeighbourhoodFileError, match="nowhere.yaml: cannot be read"):
        load_file(store, tmp_path / "nowhere.yaml", actor="tester")
    with pytest.raises(NeighbourhoodFileError, match="list.yaml: expected a mapping"):
        load_file(store, write(tmp_path, "- QZZ\n", "list.yaml"), actor="tester")
    with pytest.raises(NeighbourhoodFileError, match="alias.yaml: not valid YAML: .*aliases"):
        load_file(store, write(tmp_path, GOOD.replace("name: Riverside", "name: &n Riverside")
                               .replace("name: Brackenby North", "name: *n"), "alias.yaml"), actor="tester")


def test_the_demo_has_two_synthetic_neighbourhoods_with_recorded_values(demo_db):
    from datetime import date

    from measures import neighbourhoods
    from measures.demo_neighbourhoods import SOURCE

    store = Store(demo_db)
    labels = {fp.code: fp.label for fp in neighbourhoods.footprints(store, date(2026, 9, 30))}
    assert labels == {"QZZ-RIVERSIDE": "Riverside neighbourhood: 3 PCNs",
                      "QZZ-BRACKENBY-N": "Brackenby North neighbourhood: part of 1 PCN (7 practices)"}
    assert set(store.query("SELECT file_name FROM neighbourhoods")["file_name"]) == {SOURCE}
    assert "synthetic" in SOURCE
    held = store.query("SELECT org_code, count(*) AS n FROM observations WHERE org_level = 'neighbourhood' "
                       "GROUP BY 1 ORDER BY 1")
    audited = store.query("SELECT count(*) AS n FROM value_audit WHERE org_code LIKE 'QZZ-%'")["n"][0]
    assert held["org_code"].tolist() == ["QZZ-BRACKENBY-N", "QZZ-RIVERSIDE"] and held["n"].min() > 12
    assert audited == held["n"].sum()  # every value recorded through the audited path
