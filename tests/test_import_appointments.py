"""The appointments importer on the real sample: the mapped-category share the Data page reads."""

import io
from datetime import date

import pandas as pd
import pytest

from measures.importers import import_publications
from measures.store import Store
from tests.conftest import SAMPLES

APPOINTMENTS = SAMPLES / "appointments_practice_level_72Q_Oct2025.csv"
PREREQUISITES = ["gp-reg-pat-prac-map.csv", "gp-reg-pat-prac-all.csv"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("appointments") / "pcn.duckdb")
    outcome = import_publications([SAMPLES / f for f in PREREQUISITES] + [APPOINTMENTS], store, progress=io.StringIO())
    assert outcome.ok, outcome.text()
    return store


def _by_hand(practice: str) -> tuple[int, int]:
    """Appointments with a mapped category and all appointments of a practice, from the raw file (repeats once)."""
    raw = pd.read_csv(APPOINTMENTS, dtype=str, keep_default_na=False).drop_duplicates()
    rows = raw[raw["GP_CODE"] == practice]
    counts = rows["COUNT_OF_APPOINTMENTS"].astype(int)
    mapped = counts[~rows["NATIONAL_CATEGORY"].isin(["Unmapped", "Inconsistent Mapping"])]
    return int(mapped.sum()), int(counts.sum())


@pytest.mark.parametrize("practice", ["G83001", "G83647"])
def test_the_mapped_category_share_equals_the_raw_file(imported, practice):
    numerator, denominator = _by_hand(practice)
    assert 0 < numerator < denominator  # both practices have unmapped or inconsistently mapped appointments
    stored = imported.query("SELECT * FROM observations WHERE measure_id = 'appt_category_mapped' AND org_code = ?",
                            [practice])
    assert len(stored) == 1
    row = stored.iloc[0]
    assert (row["numerator"], row["denominator"]) == (numerator, denominator)
    assert row["value"] == pytest.approx(100 * numerator / denominator)
    assert (row["org_level"], row["period_start"].date(), row["period_end"].date()) == (
        "practice", date(2025, 10, 1), date(2025, 10, 31))


def test_the_mapped_category_share_is_stored_for_every_practice_loaded_and_no_pcn(imported):
    def orgs(measure):
        frame = imported.query("SELECT org_level, org_code FROM observations WHERE measure_id = ?", [measure])
        return set(frame.itertuples(index=False, name=None))

    mapped, dna = orgs("appt_category_mapped"), orgs("dna_rate")
    assert len(mapped) > 180
    assert mapped == {(level, org) for level, org in dna if level == "practice"}

