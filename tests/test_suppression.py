"""Small-number suppression: the rules, and suppressed values shown as * on screen and in every export format."""

import csv
import io
import json
import shutil
from datetime import date

import numpy as np
import pandas as pd
import pytest
from docx import Document
from openpyxl import load_workbook
from pptx import Presentation
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from measures import boardpack, charts, compare, detail, exports, local, queries, suppression
from measures.catalogue import CatalogueError, default_catalogue, parse_measure
from measures.charts_fair_share import fair_share_figure
from measures.store import Store
from tests import apptest
from tests.conftest import ROOT

ACCESS_FILE = ROOT / "data" / "access.example.yaml"
FOOTNOTE = "* Values from counts of 1 to 4 are suppressed (NHS disclosure practice)."

VCSE = "int_vcse_referrals_engaged_pct"  # a PCN-level proportion, set locally
VCSE_LABEL = "VCSE referrals engaged"
ACCESS = "ps_enhanced_access_per_1000"  # a practice-level rate with a fair share, set locally
ACCESS_LABEL = "Enhanced access per 1,000"
PCN = "UZ0003"  # five member practices
SEP = date(2026, 9, 1)
SMALL = (3.0, 977.0)  # 3 people of 977: 0.3%, which must never be shown
SMALL_TEXT = "0.3%"
RULES = {"people": "count", "share": "proportion", "rate": "rate", "meetings": None}


def tidy(measure: str, numerators, denominators=None) -> pd.DataFrame:
    numerators = np.asarray(numerators, dtype=float)
    denominators = np.full(len(numerators), np.nan) if denominators is None else np.asarray(denominators, float)
    return pd.DataFrame({"measure": measure, "version": 1, "org": [f"U{i:05d}" for i in range(len(numerators))],
                         "period_start": pd.Timestamp(SEP), "numerator": numerators, "denominator": denominators,
                         "value": np.where(np.isnan(denominators), numerators, numerators / denominators * 100)})


def hidden(frame: pd.DataFrame) -> list[bool]:
    return frame[suppression.FLAG].tolist()


# --- the rules ------------------------------------------------------------------------------------------------


def test_zero_is_shown_one_to_four_are_suppressed_and_five_is_shown():
    result = suppression.suppress(tidy("people", [0, 1, 2, 3, 4, 5, 40]), RULES)
    assert hidden(result) == [False, True, True, True, True, False, False]
    assert result["value"].tolist()[0] == 0 and result["value"].tolist()[5] == 5


def test_a_proportion_is_suppressed_when_the_people_left_out_are_few():
    result = suppression.suppress(tidy("share", [97, 95, 100, 0], [100, 100, 100, 100]), RULES)
    assert hidden(result) == [True, False, False, False]  # 3 left out reveals them as surely as 3 counted


def test_a_small_denominator_suppresses_the_value_built_on_it():
    result = suppression.suppress(tidy("rate", [0, 40, 40], [3, 3, 800]), RULES)
    assert hidden(result) == [True, True, False]


def test_a_suppressed_row_keeps_its_organisation_and_period_and_loses_its_figures():
    frame = tidy("share", [2, 50], [60, 60]).assign(lower_95=[0.1, 70.0], upper_95=[9.0, 90.0])
    result = suppression.suppress(frame, RULES)
    assert list(result.columns) == [*frame.columns, suppression.FLAG]
    assert result.loc[0, ["org", "period_start"]].tolist() == frame.loc[0, ["org", "period_start"]].tolist()
    assert result.loc[0, ["numerator", "denominator", "value", "lower_95", "upper_95"]].isna().all()
    assert result.loc[1, "numerator"] == 50 and result.loc[1, "upper_95"] == 90


def test_the_threshold_comes_from_pcn_suppress_below(monkeypatch):
    monkeypatch.setenv("PCN_SUPPRESS_BELOW", "10")
    assert hidden(suppression.suppress(tidy("people", [7, 10]), RULES)) == [True, False]
    assert suppression.footnote() == "* Values from counts of 1 to 9 are suppressed (NHS disclosure practice)."
    monkeypatch.setenv("PCN_SUPPRESS_BELOW", "1")
    assert hidden(suppression.suppress(tidy("people", [1, 2]), RULES)) == [False, False]
    assert suppression.footnote() == ""
    monkeypatch.delenv("PCN_SUPPRESS_BELOW")
    assert suppression.threshold() == 5 and suppression.footnote() == FOOTNOTE


@pytest.mark.parametrize("setting", ["five", "0", "-3", "2.5"])
def test_a_bad_threshold_is_refused_naming_the_variable(monkeypatch, setting):
    monkeypatch.setenv("PCN_SUPPRESS_BELOW", setting)
    with pytest.raises(suppression.SuppressionSettingError, match="PCN_SUPPRESS_BELOW must be a whole number"):
        suppression.suppress(tidy("people", [3]), RULES)


def test_one_suppressed_practice_takes_the_next_smallest_non_zero_one_with_it():
    practices = tidy("people", [3, 0, 40, 12, 25])  # the PCN's total, 80, minus the others would give the 3
    result = suppression.suppress(practices, RULES, secondary=("measure", "version", "period_start"))
    assert hidden(result) == [True, False, False, True, False]


def test_two_suppressed_practices_take_a_third_only_when_their_sum_would_pin_them_to_small_numbers():
    apart = tidy("people", [3, 4, 40, 12])  # 7 left to share between two: either could be 6, so nothing follows
    assert hidden(suppression.suppress(apart, RULES, secondary=("measure", "period_start"))) == [True, True, False,
                                                                                                False]
    close = tidy("people", [3, 2, 40, 12])  # 5 left to share between two: each is 1 to 4, so the 12 goes too
    assert hidden(suppression.suppress(close, RULES, secondary=("measure", "period_start"))) == [True, True, False,
                                                                                                True]


def test_groups_are_suppressed_separately():
    other_month = tidy("people", [30, 40, 12]).assign(period_start=pd.Timestamp(2026, 8, 1))
    both = pd.concat([tidy("people", [3, 40, 12]), other_month], ignore_index=True)
    result = suppression.suppress(both, RULES, secondary=("measure", "period_start"))
    assert hidden(result) == [True, False, True, False, False, False]


def test_national_figures_are_shown_as_published_and_a_catalogue_file_can_say_otherwise(tmp_path):
    rules = suppression.rules(default_catalogue())
    assert rules["acc_08"] is None and rules["ehch_04"] is None  # national DES: NHS England's own control
    assert rules["int_mdt_case_reviews"] == "count" and rules[VCSE] == "proportion" and rules[ACCESS] == "rate"
    assert rules["int_mdt_partner_attendance_pct"] is None  # meetings identify nobody: the file says false
    assert rules["ps_funding_per_weighted_patient"] is None  # currency is not a count of people
    assert hidden(suppression.suppress(tidy("acc_08", [2, 3], [900, 4]), rules)) == [False, False]

    text = (ROOT / "measures" / "catalogue" / "workforce_headcount.yaml").read_text()
    assert parse_measure(tmp_path / "workforce_headcount.yaml",
                         text + "\nsuppress_small_numbers: true\n").suppress_small_numbers is True
    mean = (ROOT / "measures" / "catalogue" / "ps_days_to_practice_payment.yaml").read_text()
    with pytest.raises(CatalogueError, match="suppress_small_numbers.*counts, proportions and rates"):
        parse_measure(tmp_path / "ps_days_to_practice_payment.yaml", mean + "\nsuppress_small_numbers: true\n")


def test_the_sql_for_averages_leaves_out_exactly_the_rows_the_rule_suppresses():
    import duckdb

    rows = pd.concat([tidy("people", [0, 1, 4, 5, np.nan]), tidy("share", [97, 95, 3, 0], [100, 100, 100, 4]),
                      tidy("rate", [40, 2, 40], [3, 800, 800]), tidy("meetings", [1, 2], [3, 3]),
                      tidy("unknown", [2, 30])], ignore_index=True)
    rows.loc[4, "value"] = 2.0  # a count with only its value: the value is the count
    expected = ~suppression.suppress(rows, RULES)[suppression.FLAG]
    condition, parameters = suppression.comparator_condition(RULES, alias="o")
    with duckdb.connect() as con:
        con.register("o_rows", rows.rename(columns={"measure": "measure_id"}).reset_index())
        kept = con.execute(f"SELECT index FROM o_rows o WHERE {condition} ORDER BY index", parameters).fetchall()
    assert [i for (i,) in kept] == rows.index[expected].tolist()


# --- a demo database with small numbers recorded in it ---------------------------------------------------------


def record(store: Store, measure_id: str, pcn: str, values: dict) -> None:
    grid = local.grid_frame(store, measure_id, pcn, SEP)
    for org, (numerator, denominator) in values.items():
        grid.loc[grid["org_code"] == org, ["numerator", "denominator"]] = [numerator, denominator]
    local.save(store, local.batch_from_grid(store, measure_id, pcn, SEP, grid), "test: an editor")


@pytest.fixture(scope="module")
def recorded(demo_db, tmp_path_factory) -> Store:
    """The demo with 3 of 977 recorded for VCSE referrals (UZ0001 and UZ0003) and 2 for one practice of UZ0003."""
    path = tmp_path_factory.mktemp("suppression") / "demo.duckdb"
    shutil.copy(demo_db, path)
    store = Store(path)
    record(store, VCSE, PCN, {PCN: SMALL})
    record(store, VCSE, "UZ0001", {"UZ0001": SMALL})
    practices = local.grid_frame(store, ACCESS, PCN, SEP).sort_values("numerator")
    assert len(practices) == 5
    record(store, ACCESS, PCN, {practices["org_code"].iloc[0]: (2.0, practices["denominator"].iloc[0])})
    return store


@pytest.fixture
def app_db(recorded, monkeypatch) -> Store:
    monkeypatch.setenv("PCN_DB", str(recorded.path))
    monkeypatch.delenv("PCN_SUPPRESS_BELOW", raising=False)
    return recorded


def open_app(pcn=PCN, page="pages/pcn_overview.py", email=None, **params) -> AppTest:
    return apptest.open_app(page, pcn=pcn, email=email, **params)


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def footnotes(spec: dict) -> str:
    return "\n".join(a["text"] for a in spec["layout"].get("annotations", []))


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def suppressed_series(store: Store, measure_id: str, org: str) -> pd.DataFrame:
    return suppression.suppress(queries.series(store, measure_id, org), suppression.rules(default_catalogue()))


def test_an_icb_average_leaves_suppressed_values_out(recorded):
    _, comparator = queries.overview(recorded, PCN, default_catalogue())
    latest = pd.to_datetime(comparator["period_start"]) == pd.Timestamp(SEP)
    average = comparator[(comparator["measure"] == VCSE) & latest]
    everyone = suppression.suppress(queries.pcn_values(recorded, VCSE, SEP), suppression.rules(default_catalogue()),
                                    measure_id=VCSE)
    shown = everyone[~everyone[suppression.FLAG] & (everyone["icb"] == "QZZ")]
    assert {"UZ0001", PCN} <= set(everyone.loc[everyone[suppression.FLAG], "org"])
    assert average["orgs"].iloc[0] == len(shown)
    assert average["comparator"].iloc[0] == pytest.approx(shown["numerator"].sum() / shown["denominator"].sum() * 100)


# --- on screen ------------------------------------------------------------------------------------------------


def test_the_overview_card_shows_a_star_and_the_footnote(app_db):
    at = open_app()
    vcse = next(m for m in at.metric if m.label == VCSE_LABEL)
    assert vcse.value == suppression.MARK
    assert SMALL_TEXT not in vcse.value and FOOTNOTE in captions(at)
    access = next(c.value for c in at.caption if "practices:" in c.value and FOOTNOTE in c.value)
    assert "3 of 5 practices:" in access  # the small practice, and the next smallest with it


def test_measure_detail_breaks_the_line_and_says_the_limits_use_the_values_shown(app_db):
    at = open_app(page="pages/measure_detail.py", measure=VCSE)
    (spec,) = figures(at)
    assert FOOTNOTE in footnotes(spec) and "limits and signals use the" in footnotes(spec)
    plotted = [y for trace in spec["data"] if trace.get("mode") in ("lines", "markers") and trace.get("y")
               for y in (trace["y"] if isinstance(trace["y"], list) else [])]
    assert not any(isinstance(y, float) and abs(y - 100 * SMALL[0] / SMALL[1]) < 1e-6 for y in plotted)
    stars = next(t for t in spec["data"] if t.get("mode") == "text")  # a * where each value was
    assert set(stars["text"]) == {suppression.MARK} and len(stars["x"]) == len(stars["text"])
    assert "suppressed as small numbers, including the latest (September 2026)" in "\n".join(
        m.value for m in at.markdown)
    (numbers,) = [d.value for d in at.dataframe if "Upper process limit" in d.value.columns]
    latest = numbers.iloc[-1]
    assert latest["Period"] == "Sep 2026" and latest["suppressed"] and pd.isna(latest["Numerator"])
    assert FOOTNOTE in captions(at)


def test_compare_areas_marks_the_pcn_suppressed_in_the_chart_funnel_and_table(app_db):
    at = open_app(page="pages/compare_areas.py", measure=VCSE)
    at.selectbox(key="period_picker").set_value(SEP).run()
    assert not at.exception, at.exception
    (ranked,) = figures(at)
    star = next(t for t in ranked["data"] if t.get("mode") == "text")
    assert PCN in star["y"]
    (funnel,) = figures(apptest.open_tab(at, "Funnel plot"))
    assert FOOTNOTE in footnotes(ranked) and "not plotted" in footnotes(funnel)
    apptest.open_tab(at, "Table")
    table = at.dataframe[0].value.set_index("PCN code")
    assert table.loc[PCN, "Compared with comparator"] == "suppressed"
    assert table.loc[PCN, ["Numerator", "Denominator", "VCSE referrals engaged"]].isna().all()
    assert FOOTNOTE in captions(at)


def test_editors_see_the_values_they_entered_and_others_see_them_suppressed(app_db, monkeypatch):
    at = open_app("UZ0001", page="pages/local_measures.py")  # open demo mode: everyone is an editor
    at.selectbox(key="local_measure").select(VCSE).run()
    at.selectbox(key="grid_period").set_value(SEP).run()
    assert at.data_editor[0].value[["numerator", "denominator"]].iloc[0].tolist() == list(SMALL)

    monkeypatch.setenv("PCN_ACCESS", str(ACCESS_FILE))
    editor = open_app("UZ0001", page="pages/local_measures.py", email="editor@example.nhs.uk")
    editor.selectbox(key="local_measure").select(VCSE).run()
    editor.selectbox(key="grid_period").set_value(SEP).run()
    assert editor.data_editor[0].value["numerator"].iloc[0] == SMALL[0]

    viewer = open_app("UZ0001", page="pages/local_measures.py", email="viewer@example.nhs.uk")
    viewer.selectbox(key="local_measure").select(VCSE).run()
    viewer.selectbox(key="grid_period").set_value(SEP).run()
    assert not viewer.exception, viewer.exception
    assert not viewer.data_editor and not viewer.file_uploader  # read only: no preview of earlier values
    grid = next(d.value for d in viewer.dataframe if "Numerator" in d.value.columns)
    assert grid["Numerator"].isna().all() and grid["suppressed"].all()
    assert FOOTNOTE in captions(viewer)
    changes = next(d.value for d in viewer.dataframe if "Who" in d.value.columns)
    assert "New value" not in changes.columns  # a change log's values are its editors' only


# --- in every export format -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compare_table(recorded) -> pd.DataFrame:
    measure = default_catalogue().get(VCSE)
    everyone = suppression.suppress(queries.pcn_values(recorded, VCSE, SEP), suppression.rules(default_catalogue()),
                                    measure_id=VCSE)
    frame = compare.benchmarked(everyone, measure, compare.pooled_value(everyone, measure))
    return compare.comparison_table(frame, measure)


def test_a_csv_download_writes_star_and_the_footnote_not_the_number(compare_table):
    rows = list(csv.reader(io.StringIO(exports.to_csv_bytes(compare_table).decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert "suppressed" not in header
    mine = next(r for r in body if r and r[0] == PCN)
    cells = dict(zip(header, mine))
    assert [cells[c] for c in ("Numerator", "Denominator", VCSE_LABEL, "95% CI lower", "95% CI upper")] == ["*"] * 5
    assert "977" not in ",".join(mine) and not any(c.startswith("0.30") for c in mine)
    assert body[-2:] == [[""], [FOOTNOTE]]  # after a blank row, as statistical tables carry footnotes
    assert cells["IMD score (deprivation)"] != "*"  # missing for another reason: not starred
    shown = next(r for r in body if r and r[0] == "UZ0005")
    assert float(dict(zip(header, shown))["Numerator"]) > 0  # other PCNs keep their numbers


def test_an_xlsx_download_writes_star_and_the_footnote_not_the_number(compare_table):
    sheet = load_workbook(io.BytesIO(exports.to_xlsx_bytes(compare_table, "compare"))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    mine = dict(zip(header, next(r for r in rows if r[0] == PCN)))
    assert mine["Numerator"] == "*" and mine[VCSE_LABEL] == "*" and mine["Denominator"] == "*"
    assert "suppressed" not in header
    assert rows[-1][0] == FOOTNOTE
    other = dict(zip(header, next(r for r in rows if r[0] == "UZ0005")))
    assert isinstance(other["Numerator"], (int, float))  # numbers stay numbers


@pytest.fixture(scope="module")
def spc_figure(recorded):
    measure = default_catalogue().get(VCSE)
    reading = detail.read(suppressed_series(recorded, VCSE, PCN), measure)
    assert reading.latest_suppressed
    return charts.spc_chart(reading.result, measure, "Ashvale PCN", suppressed=reading.suppressed)


def test_chart_images_carry_the_footnote_in_svg_pdf_and_png(spc_figure):
    svg = exports.figure_image(spc_figure, "svg").decode("utf-8")
    assert "Values from counts of 1 to 4 are suppressed (NHS disclosure practice)." in svg
    pdf = PdfReader(io.BytesIO(exports.figure_image(spc_figure, "pdf")))
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert "Values from counts of 1 to 4 are suppressed" in text and "limits and signals use the" in text
    png = exports.figure_image(spc_figure, "png")
    width, height = (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big"))
    assert (width, height) == exports.expected_png_size(spc_figure)
    assert height > 560 * exports.PRINT_SCALE  # taller by the footnote's lines, so the plot keeps its size


def test_the_numbers_behind_the_chart_download_with_a_star_for_each_suppressed_period(recorded):
    measure = default_catalogue().get(VCSE)
    series = suppressed_series(recorded, VCSE, PCN)
    table = detail.data_table(series, detail.read(series, measure), measure)
    rows = list(csv.reader(io.StringIO(exports.to_csv_bytes(table).decode("utf-8-sig"))))
    cells = dict(zip(rows[0], next(r for r in rows if r and r[0] == "Sep 2026")))
    assert [cells["Numerator"], cells["Denominator"], cells[VCSE_LABEL]] == ["*", "*", "*"]
    assert cells["Mean"] == "" and cells["Point"].startswith("Suppressed")  # not computed, so not starred
    assert rows[-1] == [FOOTNOTE] and len(rows) - 3 == len(series)  # header, blank row and footnote aside


def test_the_fair_share_chart_and_its_download_star_a_suppressed_practice(recorded):
    shares = local.fair_share(recorded, ACCESS, PCN, SEP, SEP)
    shown = suppression.suppress_query("local.fair_share", shares, (ACCESS, PCN, SEP, SEP),
                                       suppression.rules(default_catalogue()))
    assert shown[suppression.FLAG].sum() == 2  # the practice with 2 appointments, and the next smallest
    assert shown.loc[shown[suppression.FLAG], ["resource", "resource_share", "gap_points"]].isna().all().all()
    figure = fair_share_figure(shown, measure_label=ACCESS_LABEL, population="registered patients",
                               pcn_name="Ashvale PCN", period_text="Sep 2026", source="test")
    assert FOOTNOTE in figure.layout.annotations[-1].text
    assert sum(a.text == "* suppressed" for a in figure.layout.annotations) == 2
    table = pd.DataFrame({"Practice": shown["org_code"], "Share of resource": shown["resource_share"] * 100,
                          "suppressed": shown[suppression.FLAG]})
    text = exports.to_csv_bytes(table).decode("utf-8-sig")
    assert text.count(",*\r\n") == 2 and FOOTNOTE in text


@pytest.fixture(scope="module")
def pack(recorded):
    return boardpack.build_pack(recorded, PCN, "2026-09", produced=date(2026, 11, 23), chart_images=False)


def test_the_board_pack_model_stars_the_suppressed_latest_value(pack):
    row = next(r for r in pack.summary if r.measure_id == VCSE)
    assert row.latest == suppression.MARK and row.period == "Sep 2026" and row.trend[-1] is None
    assert pack.suppression_note.startswith(FOOTNOTE)
    assert pack.suppression_note in pack.summary_notes
    national = next(r for r in pack.summary if r.measure_id == "acc_08")
    assert national.latest != suppression.MARK and not national.suppressed
    rows = list(csv.reader(io.StringIO(exports.to_csv_bytes(pack.summary_frame()).decode("utf-8-sig"))))
    mine = dict(zip(rows[0], next(r for r in rows if VCSE in r)))
    assert mine["Latest value"] == suppression.MARK and mine["Trend (oldest to latest)"].endswith(" *")
    assert rows[-1] == [FOOTNOTE]


def summary_row(cells: list[str]) -> list[str]:
    return next(row for row in cells if VCSE_LABEL in row)


def test_the_board_pack_in_powerpoint_shows_star_and_the_footnote(pack):
    deck = Presentation(io.BytesIO(boardpack.render(pack, "pptx")))
    rows = [[cell.text for cell in row.cells] for slide in deck.slides for shape in slide.shapes if shape.has_table
            for row in shape.table.rows]
    mine = summary_row(rows)
    assert mine[2] == suppression.MARK and SMALL_TEXT not in mine
    words = " ".join(shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame)
    assert FOOTNOTE in words


def test_the_board_pack_in_word_shows_star_and_the_footnote(pack):
    document = Document(io.BytesIO(boardpack.render(pack, "docx")))
    rows = [[cell.text.strip() for cell in row.cells] for row in document.tables[0].rows]
    mine = summary_row(rows)
    assert mine[2] == suppression.MARK and SMALL_TEXT not in mine
    assert any(FOOTNOTE in p.text for p in document.paragraphs)


def test_the_board_pack_as_pdf_shows_star_and_the_footnote(pack):
    reader = PdfReader(io.BytesIO(boardpack.render(pack, "pdf")))
    text = "\n".join(page.extract_text() for page in reader.pages)
    cells = text[text.index(VCSE_LABEL):].splitlines()[:3]  # one line per table cell
    assert cells == [VCSE_LABEL, suppression.MARK, "Sep 2026"]
    assert FOOTNOTE in " ".join(text.split())


# --- the command line ------------------------------------------------------------------------------------------


def test_the_series_command_prints_small_numbers_as_stars_and_hides_the_practice_that_would_reveal_them(
        demo_db, tmp_path, monkeypatch, capsys):
    from measures import cli

    path = tmp_path / "cli.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.delenv("PCN_ACCESS", raising=False)
    monkeypatch.delenv("PCN_SUPPRESS_BELOW", raising=False)
    store = Store(path)
    measure, day = "ps_enhanced_access_per_1000", "2026-09-01"
    pcn = store.query("SELECT parent_code FROM memberships WHERE parent_level = 'pcn' AND end_date IS NULL "
                      "GROUP BY 1 HAVING count(*) >= 4 ORDER BY 1 LIMIT 1")["parent_code"].iloc[0]
    practices = store.query(
        "SELECT org_code, numerator FROM observations WHERE measure_id = ? AND period_start = ? AND org_code IN "
        "(SELECT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn' AND end_date IS NULL)"
        " ORDER BY numerator", [measure, day, pcn])
    small, next_smallest, largest = practices["org_code"].iloc[0], practices["org_code"].iloc[1], \
        practices["org_code"].iloc[-1]
    template = tmp_path / "small.csv"
    denominator = store.query("SELECT denominator FROM observations WHERE measure_id = ? AND period_start = ? "
                              "AND org_code = ?", [measure, day, small])["denominator"].iloc[0]
    template.write_text(f"measure_id,period_start,org_code,numerator,denominator\n"
                        f"{measure},{day},{small},3,{denominator}\n")
    assert cli.main(["record", str(template), "--db", str(path), "--actor", "practice manager"]) == 0
    capsys.readouterr()

    def printed(org):
        assert cli.main(["series", "--measure", measure, "--org", org, "--db", str(path)]) == 0
        out = capsys.readouterr()
        row = next(r for r in csv.DictReader(io.StringIO(out.out)) if r["period_start"] == day)
        return row, out.err

    row, err = printed(small)
    assert (row["numerator"], row["denominator"], row["value"]) == ("*", "*", "*")
    assert "Values from counts of 1 to 4 are suppressed" in err
    row, _ = printed(next_smallest)
    assert row["value"] == "*", "the next-smallest practice is hidden too, or the PCN total would reveal the first"
    row, _ = printed(largest)
    assert float(row["value"]) > 0
    assert cli.main(["series", "--measure", "acc_08", "--org", pcn, "--db", str(path)]) == 0
    assert "*" not in capsys.readouterr().out, "national published figures are printed as published"
