"""The 5-year age band list sizes (gp-reg-pat-prac-quin-age.csv): the all-persons totals, with the bands kept.

They give the same list sizes as the all-persons file and keep each practice's patients by sex and age band; bad
rows are refused by row and column, changing nothing."""

import csv
import io

import pytest

from measures.importers import import_publications
from measures.store import Store
from tests.conftest import SAMPLES
from tests.tables import assert_unchanged, fingerprint

BANDS = [f"{a}_{a + 4}" for a in range(0, 95, 5)] + ["95+"]
SHARES = [6, 6, 6, 5, 6, 7, 7, 7, 7, 7, 7, 6, 6, 5, 4, 3, 2, 2, 1, 0.5]  # a plausible age profile, in percent
PRACTICES = 400  # the first practices of the real all-persons file (and their PCNs' totals)


def all_persons_rows():
    with open(SAMPLES / "gp-reg-pat-prac-all.csv", newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    return rows[: PRACTICES + 1]


def split(total, shares):
    """`total` patients over bands in proportion to `shares`, the remainder in the last band."""
    counts = [int(total * s / sum(shares)) for s in shares]
    counts[-1] += total - sum(counts)
    return counts


def quinary_rows(header=("ORG_TYPE", "ORG_CODE"), whole_rows=True, areas=True):
    """The real all-persons list sizes as the 5-year age band file gives them: per practice a SEX ALL, AGE_GROUP_5 ALL
    row (unless `whole_rows` is false), and female, male and all-persons counts for each band; and rows for areas."""
    kind, code = header
    source = all_persons_rows()
    names = source[0]
    out = [["PUBLICATION", "EXTRACT_DATE", kind, code, "ONS_CODE", "POSTCODE", "SEX", "AGE_GROUP_5",
            "NUMBER_OF_PATIENTS"]]
    for r in source[1:]:
        row = dict(zip(names, r))
        total = int(row["NUMBER_OF_PATIENTS"])
        female = split(total // 2, SHARES)
        male = split(total - total // 2, list(reversed(SHARES)))
        base = [row["PUBLICATION"], row["EXTRACT_DATE"], "GP", row["CODE"], "", row["POSTCODE"]]
        if whole_rows:
            out.append(base + ["ALL", "ALL", str(total)])
        for band, f, m in zip(BANDS, female, male):
            out += [base + ["FEMALE", band, str(f)], base + ["MALE", band, str(m)], base + ["ALL", band, str(f + m)]]
    if areas:
        extract = source[1][names.index("EXTRACT_DATE")]
        out += [["GP_PRAC_PAT_LIST", extract, "PCN", "U00254", "", "", "ALL", "ALL", "41000"],
                ["GP_PRAC_PAT_LIST", extract, "SUB_ICB_LOCATION", "16C", "E38000247", "", "ALL", "ALL", "700000"]]
    return out


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


@pytest.fixture(scope="module")
def map_only(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("bands") / "map.duckdb")
    assert import_publications([SAMPLES / "gp-reg-pat-prac-map.csv"], store, progress=io.StringIO()).ok
    return store.path


def store_with(map_only, tmp_path, name, *files):
    import shutil

    path = tmp_path / f"{name}.duckdb"
    shutil.copy(map_only, path)
    store = Store(path)
    outcome = import_publications(list(files), store, progress=io.StringIO())
    return store, outcome


def list_sizes(store):
    return store.query("SELECT org_code, extract_date, registered_patients FROM list_sizes ORDER BY ALL")


def registered(store):
    return store.query("SELECT measure_id, org_code, org_level, period_start, period_end, numerator, value, basis "
                       "FROM observations WHERE measure_id = 'registered_patients' ORDER BY ALL")


@pytest.fixture(scope="module")
def all_persons(map_only, tmp_path_factory):
    folder = tmp_path_factory.mktemp("persons")
    store, outcome = store_with(map_only, folder, "persons", write_csv(folder / "gp-reg-pat-prac-all.csv",
                                                                       all_persons_rows()))
    assert outcome.ok, outcome.text()
    return store


@pytest.mark.parametrize("header", [("ORG_TYPE", "ORG_CODE"), ("TYPE", "CODE")], ids=["org-columns", "code-columns"])
@pytest.mark.parametrize("whole_rows", [True, False], ids=["with-all-rows", "bands-only"])
def test_the_age_band_file_gives_the_same_list_sizes_as_the_all_persons_file(map_only, all_persons, tmp_path,
                                                                           header, whole_rows):
    path = write_csv(tmp_path / "gp-reg-pat-prac-quin-age.csv", quinary_rows(header, whole_rows))
    store, outcome = store_with(map_only, tmp_path, "bands", path)
    assert outcome.ok, outcome.text()
    (report,) = outcome.reports
    assert report.publication == "Patients Registered at a GP Practice: list sizes"
    assert "rows for PCNs, sub-ICB locations, ICBs and regions" in report.text()
    expected = list_sizes(all_persons)
    assert len(expected[expected["org_code"].str.startswith("U")]) > 10  # PCN totals, summed from practices
    assert list_sizes(store).equals(expected)
    assert registered(store).equals(registered(all_persons))


def test_the_age_bands_are_kept_per_practice_sex_and_band(map_only, tmp_path):
    rows = quinary_rows()
    store, outcome = store_with(map_only, tmp_path, "kept", write_csv(tmp_path / "quin.csv", rows))
    assert outcome.ok, outcome.text()
    held = store.query("SELECT * FROM list_size_age_bands")
    names = rows[0]
    published = {(r[names.index("ORG_CODE")], r[names.index("SEX")], r[names.index("AGE_GROUP_5")]):
                 int(r[names.index("NUMBER_OF_PATIENTS")]) for r in rows[1:]
                 if r[names.index("ORG_TYPE")] == "GP" and r[names.index("AGE_GROUP_5")] != "ALL"}
    known = set(store.query("SELECT org_code FROM organisations WHERE org_level = 'practice'")["org_code"])
    published = {k: v for k, v in published.items() if k[0] in known}
    assert dict(zip(zip(held["org_code"], held["sex"], held["age_band"]), held["registered_patients"])) == published
    assert set(held["age_band"]) == set(BANDS) and set(held["sex"]) == {"ALL", "FEMALE", "MALE"}
    # A corrected file for the same extract replaces a practice's bands, leaving none of the old ones.
    first = rows[1][names.index("ORG_CODE")]
    fewer = [r for r in rows if r[names.index("ORG_CODE")] != first or r[names.index("AGE_GROUP_5")] in ("ALL", "0_4")]
    again = import_publications([write_csv(tmp_path / "quin2.csv", fewer)], store, progress=io.StringIO())
    assert again.ok, again.text()
    bands = store.query("SELECT sex, age_band FROM list_size_age_bands WHERE org_code = ?", [first])
    assert set(bands["age_band"]) == {"0_4"} and len(bands) == 3


@pytest.mark.parametrize("column,value,problem", [
    ("AGE_GROUP_5", "5-9", "is not a 5-year age band (such as 0_4, 90_94, 95+ or ALL)"),
    ("SEX", "PERSONS", "is not a sex the file uses (ALL, FEMALE or MALE)"),
    ("NUMBER_OF_PATIENTS", "-4", "is negative"),
])
def test_a_bad_value_is_refused_by_row_and_column_and_changes_nothing(map_only, tmp_path, column, value, problem):
    import shutil

    rows = quinary_rows()
    rows[7][rows[0].index(column)] = value
    path = tmp_path / "pcn.duckdb"
    shutil.copy(map_only, path)
    store = Store(path)
    before = fingerprint(path)
    outcome = import_publications([write_csv(tmp_path / "quin.csv", rows)], store, progress=io.StringIO())
    (report,) = outcome.reports
    assert report.status == "failed"
    assert report.error.startswith(f"quin.csv: row 8, column {column}: '{value}' {problem}"), report.error
    assert_unchanged(before, path)
