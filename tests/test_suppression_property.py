"""Small-number suppression cannot be undone by subtraction: no hidden practice value follows from what is shown.

An attacker sees the shown practices of a PCN (zeros included) and the PCN's total when it is shown. Each hidden
practice is at least 1 (zeros are shown), so with k hidden whose figures add up to H = total − shown, each lies in
[1, H − (k − 1)]. That interval must never fit inside [1, threshold − 1], for a count, for a rate's numerator and
denominator, and for a proportion's numerator, denominator and the people left out — on every path that shows
practice values and PCN totals: the pages' reads, the `series` command, downloads and the board pack.
"""

import csv
import io
import shutil
from datetime import date

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from measures import boardpack, detail, exports, local, queries, suppression
from measures.catalogue import default_catalogue
from measures.store import Store
from tests import apptest

GROUP = ("measure", "version", "period_start")
RULES = {"people": "count", "share": "proportion", "rate": "rate"}

# Values 0 to 60, mostly small: the cases where subtraction can give a small number away.
small_or_any = st.one_of(st.integers(0, 6), st.integers(0, 6), st.integers(0, 60))
practice_counts = st.lists(small_or_any, min_size=2, max_size=12)
thresholds = st.integers(2, 10)


def practices(measure: str, numerators, denominators=None) -> pd.DataFrame:
    numerators = np.asarray(numerators, dtype=float)
    denominators = np.full(len(numerators), np.nan) if denominators is None else np.asarray(denominators, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(np.isnan(denominators), numerators, numerators / denominators * 100)
    return pd.DataFrame({"measure": measure, "version": 1, "org": [f"Z{i:05d}" for i in range(len(numerators))],
                         "period_start": pd.Timestamp(2026, 9, 1), "numerator": numerators,
                         "denominator": denominators, "value": values})


def pinned_to_small(shown: list, total: float | None, below: int) -> list[int]:
    """The hidden cells (None in `shown`) whose value an attacker can pin inside [1, below − 1]."""
    hidden = [i for i, v in enumerate(shown) if v is None]
    if total is None or not hidden:
        return []
    left = total - sum(v for v in shown if v is not None)
    most = left - (len(hidden) - 1)  # every other hidden cell is at least 1
    return hidden if most <= below - 1 else []


def figures(kind: str, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    numerator = frame["numerator"].to_numpy(dtype=float)
    if kind == "count":
        return {"numerator": numerator}
    denominator = frame["denominator"].to_numpy(dtype=float)
    both = {"numerator": numerator, "denominator": denominator}
    return {**both, "left out": denominator - numerator} if kind == "proportion" else both


def small(value: float, below: int) -> bool:
    return 0 < value < below


def check_nothing_follows(kind: str, frame: pd.DataFrame, below: int) -> None:
    result = suppression.suppress(frame, RULES, secondary=GROUP, below=below)
    (total,) = suppression.group_totals(frame, RULES, GROUP, below=below).itertuples(index=False)
    hidden = result[suppression.FLAG].to_numpy(dtype=bool)
    true_figures = figures(kind, frame)
    total_small = any(small(values.sum(), below) for values in true_figures.values())
    total_shown = not total.suppressed
    sizes = frame["numerator"].to_numpy(dtype=float)

    primary = suppression.primary_mask([kind] * len(frame), frame["numerator"], frame["denominator"],
                                       frame["value"], below)
    assert hidden[primary].all(), "every practice with a small number is hidden"
    assert not hidden[(sizes == 0) & ~primary].any(), "a zero is shown unless it is small itself"
    if total_small:
        assert not total_shown, "a small PCN total is suppressed"
    elif not total_shown:
        assert hidden[sizes > 0].all(), "a PCN total is hidden only when every non-zero practice already is"
    for name, values in true_figures.items():
        shown = [None if h else float(v) for h, v in zip(hidden, values)]
        pinned = pinned_to_small(shown, float(values.sum()) if total_shown else None, below)
        assert not pinned, (f"the {name} of practices {pinned} follows from the PCN total {values.sum():g} minus "
                            f"the shown {[v for v in shown if v is not None]}")
    secondary = hidden & ~primary
    if secondary.any() and total_shown:  # the largest practice hidden to protect the others was needed
        without = hidden.copy()
        without[np.flatnonzero(secondary)[np.argmax(sizes[secondary])]] = False
        fewer = [float(v[without].sum()) - (without.sum() - 1) for v in true_figures.values()]
        assert min(fewer) < below, "no practice is hidden that the others did not need"


@settings(max_examples=400, deadline=None)
@given(counts=practice_counts, below=thresholds)
def test_no_hidden_practice_count_can_be_pinned_to_a_small_number(counts, below):
    check_nothing_follows("count", practices("people", counts), below)


@settings(max_examples=400, deadline=None)
@given(cells=st.lists(st.tuples(small_or_any, small_or_any), min_size=2, max_size=12), below=thresholds)
# A practice with none left out, hidden first as the next smallest, protects nothing of the left-out figure;
# once a larger practice is hidden too it is not needed and is shown again.
@example(cells=[(0, 1), (3, 0), (3, 3)], below=2)
def test_no_hidden_proportion_gives_away_its_people_counted_its_people_left_out_or_its_denominator(cells, below):
    numerators = [n for n, _ in cells]
    denominators = [n + left_out for n, left_out in cells]
    frame = practices("share", numerators, denominators)
    frame = frame[frame["denominator"] > 0].reset_index(drop=True)  # a proportion of nobody is not recorded
    if len(frame) >= 2:
        check_nothing_follows("proportion", frame, below)


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.tuples(small_or_any, st.integers(1, 60)), min_size=2, max_size=12), below=thresholds)
def test_no_hidden_rate_gives_away_its_numerator_or_its_denominator(cells, below):
    check_nothing_follows("rate", practices("rate", [n for n, _ in cells], [d for _, d in cells]), below)


def test_two_practices_of_one_are_not_given_away_by_the_pcn_total():
    frame = practices("people", [1, 1, 40, 50, 60])  # 152 − (40 + 50 + 60) = 2: both would be 1
    result = suppression.suppress(frame, RULES, secondary=GROUP, below=5)
    assert result[suppression.FLAG].tolist() == [True, True, True, False, False]


def test_a_pcn_total_is_hidden_when_its_practices_are_all_hidden_and_still_pinned():
    frame = practices("people", [2, 3, 0, 0])  # a total of 5 is not small, but 2 and 3 would each be 1 to 4
    (total,) = suppression.group_totals(frame, RULES, GROUP, below=5).itertuples(index=False)
    assert total.numerator == 5 and total.suppressed
    (apart,) = suppression.group_totals(practices("people", [2, 30, 0]), RULES, GROUP, below=5).itertuples(
        index=False)
    assert not apart.suppressed  # 2 and 30 hidden: 32 between them, either could be 31


# --- every path that shows practice values beside a PCN total, on a database with two practices of 1 -------------

ACCESS = "ps_enhanced_access_per_1000"  # practice-level rate of the practice-support family: suppressed
PAIR_PCN = "UZ0003"  # five practices: 1, 1, 40, 50 and 60 appointments
ALL_HIDDEN_PCN = "UZ0001"  # two practices: 2 and 3 appointments, a total of 5
SEP = date(2026, 9, 1)
DAY = "2026-09-01"
BELOW = 5


def record(store: Store, pcn: str, numerators: list[float]) -> dict[str, float]:
    grid = local.grid_frame(store, ACCESS, pcn, SEP).sort_values("org_code").reset_index(drop=True)
    assert len(grid) == len(numerators)
    grid["numerator"] = numerators
    local.save(store, local.batch_from_grid(store, ACCESS, pcn, SEP, grid), "test: practice manager")
    return dict(zip(grid["org_code"], numerators))


@pytest.fixture(scope="module")
def ones(demo_db, tmp_path_factory):
    """The demo with 1, 1, 40, 50, 60 appointments at UZ0003's practices and 2, 3 at UZ0001's in September 2026."""
    folder = tmp_path_factory.mktemp("suppression_property")
    path = folder / "demo.duckdb"
    shutil.copy(demo_db, path)
    store = Store(path)
    pair = record(store, PAIR_PCN, [1.0, 40.0, 1.0, 50.0, 60.0])
    few = record(store, ALL_HIDDEN_PCN, [2.0, 3.0])
    return store, pair, few


@pytest.fixture(autouse=True)
def default_threshold(monkeypatch):
    monkeypatch.delenv("PCN_SUPPRESS_BELOW", raising=False)
    monkeypatch.delenv("PCN_ACCESS", raising=False)


def rules() -> dict:
    return suppression.rules(default_catalogue())


def reader(store: Store):
    return lambda *read: suppression.practice_values(store, *read)


def assert_nothing_pinned(practice_numerators: dict, pcn_numerator) -> None:
    """From each output's shown practice numerators (None: hidden) and PCN numerator (None: hidden)."""
    shown = list(practice_numerators.values())
    pinned = pinned_to_small(shown, pcn_numerator, BELOW)
    assert not pinned, (f"PCN total {pcn_numerator} minus the shown {[v for v in shown if v is not None]} pins "
                        f"{[list(practice_numerators)[i] for i in pinned]} to 1 to {BELOW - 1}")


def number(cell) -> float | None:
    return None if cell in ("*", "", None) or (isinstance(cell, float) and np.isnan(cell)) else float(cell)


def test_on_screen_the_practice_reads_and_the_pcn_total_pin_no_practice(ones):
    store, pair, few = ones
    for pcn, entered in ((PAIR_PCN, pair), (ALL_HIDDEN_PCN, few)):
        spread = suppression.suppress_query("practice_spread", queries.practice_spread(store, pcn), (pcn,), rules())
        spread = spread[spread["measure"] == ACCESS].set_index("org")
        grid = suppression.suppress_query("local.grid_frame", local.grid_frame(store, ACCESS, pcn, SEP),
                                          (ACCESS, pcn, SEP), rules()).set_index("org_code")
        series, _ = suppression.suppress_query("overview", queries.overview(store, pcn, default_catalogue()),
                                               (pcn,), rules(), practices=reader(store))
        total = series[(series["measure"] == ACCESS) & (pd.to_datetime(series["period_start"]) == pd.Timestamp(SEP))]
        everyone = suppression.suppress_query("pcn_values", queries.pcn_values(store, ACCESS, SEP), (ACCESS, SEP),
                                              rules(), practices=reader(store)).set_index("org")
        for shown in (spread, grid):
            assert_nothing_pinned({org: number(shown.loc[org, "numerator"]) for org in entered},
                                  number(total["numerator"].iloc[0]))
            assert_nothing_pinned({org: number(shown.loc[org, "numerator"]) for org in entered},
                                  number(everyone.loc[pcn, "numerator"]))


def test_an_app_viewer_cannot_pin_a_practice_from_the_local_grid_and_the_measure_detail_numbers(
        ones, tmp_path, monkeypatch):
    store, pair, _ = ones
    access_file = tmp_path / "access.yaml"
    access_file.write_text(yaml.safe_dump({"version": 1, "users": {
        "viewer@example.nhs.uk": [{"role": "viewer", "pcns": [PAIR_PCN]}]}}))
    monkeypatch.setenv("PCN_DB", str(store.path))
    monkeypatch.setenv("PCN_ACCESS", str(access_file))
    at = apptest.open_app("pages/local_measures.py", pcn=PAIR_PCN, email="viewer@example.nhs.uk")
    at.selectbox(key="local_measure").select(ACCESS).run()
    at.selectbox(key="grid_period").set_value(SEP).run()
    assert not at.exception, at.exception
    grid = next(d.value for d in at.dataframe if "Numerator" in d.value.columns)
    code_column = next(c for c in grid.columns if grid[c].astype(str).isin(list(pair)).all())
    grid = grid.set_index(code_column)
    detail_page = apptest.open_app("pages/measure_detail.py", pcn=PAIR_PCN, email="viewer@example.nhs.uk",
                                   measure=ACCESS)
    (numbers,) = [d.value for d in detail_page.dataframe if "Upper process limit" in d.value.columns]
    september = numbers[numbers["Period"] == "Sep 2026"].iloc[0]
    assert number(september["Numerator"]) == 152  # the PCN's total is shown: it is not small
    assert_nothing_pinned({org: number(grid.loc[org, "Numerator"]) for org in pair}, number(september["Numerator"]))


def series_command(path, org: str, capsys) -> dict:
    from measures import cli

    assert cli.main(["series", "--measure", ACCESS, "--org", org, "--db", str(path)]) == 0
    out = capsys.readouterr().out
    return next(r for r in csv.DictReader(io.StringIO(out)) if r["period_start"] == DAY)


def test_the_series_command_prints_no_practice_and_total_that_pin_a_practice(ones, capsys):
    store, pair, few = ones
    for pcn, entered in ((PAIR_PCN, pair), (ALL_HIDDEN_PCN, few)):
        printed = {org: number(series_command(store.path, org, capsys)["numerator"]) for org in entered}
        assert_nothing_pinned(printed, number(series_command(store.path, pcn, capsys)["numerator"]))


def csv_rows(table: pd.DataFrame) -> list[dict]:
    text = exports.to_csv_bytes(table).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text.split("\r\n\r\n")[0])))


def test_downloads_of_the_practices_and_the_pcn_numbers_pin_no_practice(ones):
    store, pair, few = ones
    measure = default_catalogue().get(ACCESS)
    for pcn, entered in ((PAIR_PCN, pair), (ALL_HIDDEN_PCN, few)):
        grid = suppression.suppress_query("local.grid_frame", local.grid_frame(store, ACCESS, pcn, SEP),
                                          (ACCESS, pcn, SEP), rules())
        practices_download = {r["org_code"]: number(r["numerator"]) for r in csv_rows(grid)}
        series = suppression.suppress_query("series", queries.series(store, ACCESS, pcn), (ACCESS, pcn), rules(),
                                            practices=reader(store))
        table = detail.data_table(series, detail.read(series, measure), measure)
        september = next(r for r in csv_rows(table) if r["Period"] == "Sep 2026")
        assert_nothing_pinned({org: practices_download[org] for org in entered}, number(september["Numerator"]))


def test_the_board_pack_shows_no_pcn_total_that_pins_a_practice(ones, capsys):
    store, pair, few = ones
    measure = default_catalogue().get(ACCESS)
    for pcn, entered in ((PAIR_PCN, pair), (ALL_HIDDEN_PCN, few)):
        pack = boardpack.build_pack(store, pcn, "2026-09", produced=date(2026, 11, 23), chart_images=False)
        row = next(r for r in pack.summary if r.measure_id == ACCESS)
        # The pack shows the rate; with the PCN's list size (its practices' denominators) it gives the count.
        denominator = store.query("SELECT denominator FROM observations WHERE measure_id = ? AND org_code = ? "
                                  "AND period_start = ?", [ACCESS, pcn, DAY])["denominator"].iloc[0]
        total = None if row.latest == suppression.MARK else row.trend[-1] * denominator / measure.multiplier
        printed = {org: number(series_command(store.path, org, capsys)["numerator"]) for org in entered}
        assert_nothing_pinned(printed, None if total is None else round(total))


def test_the_icb_average_leaves_out_a_pcn_total_its_practices_would_give_away(ones):
    store, _, few = ones
    catalogue = default_catalogue()
    _, comparator = queries.overview(store, PAIR_PCN, catalogue)
    row = comparator[(comparator["measure"] == ACCESS)
                     & (pd.to_datetime(comparator["period_start"]) == pd.Timestamp(SEP))].iloc[0]
    everyone = suppression.suppress_query("pcn_values", queries.pcn_values(store, ACCESS, SEP), (ACCESS, SEP),
                                          rules(), practices=reader(store))
    shown = everyone[~everyone[suppression.FLAG].astype(bool)]
    assert ALL_HIDDEN_PCN not in set(shown["org"]), "UZ0001's total of 2 + 3 is hidden on Compare areas"
    # The ICB average pools exactly the PCNs shown: subtracting them recovers nothing of UZ0001's total.
    icb_pcns = set(queries.pcn_values(store, ACCESS, SEP)["org"])
    pooled = shown[shown["org"].isin(icb_pcns)]
    assert row["orgs"] == len(pooled)
    assert row["comparator"] == pytest.approx(pooled["numerator"].sum() / pooled["denominator"].sum()
                                              * catalogue.get(ACCESS).multiplier)
