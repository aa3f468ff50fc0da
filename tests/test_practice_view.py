"""What the PCN did for each practice: the fair-share matrix, its HTML table and chart, every practice's series."""

import html
import shutil
from datetime import date

import duckdb
import pandas as pd
import plotly.graph_objects as go
import pytest

from measures import detail, local, queries, suppression
from measures import practice_html as ph
from measures import practice_view as pv
from measures.catalogue import Catalogue
from measures.store import Store

ENHANCED = "ps_enhanced_access_per_1000"  # a rate of patients' appointments: its small numbers are suppressed
HOSTILE = "<b>x</b>"


def catalogue_for(store, pcn):
    return local.catalogue_with_local(store, pcn)


def members_at(store, pcn, day):
    frame = store.query("SELECT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn' "
                        "AND start_date <= ? AND (end_date IS NULL OR end_date >= ?)", [pcn, day, day])
    return set(frame["child_code"])


def writable_copy(demo_db, tmp_path):
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, path)
    return path


def execute(path, sql, params=()):
    con = duckdb.connect(str(path))
    try:
        con.execute(sql, list(params))
    finally:
        con.close()


# --- the matrix ------------------------------------------------------------------------------------------------


def test_every_member_practice_of_each_pcn_has_a_row_for_every_fair_share_measure(demo_db):
    store = Store(demo_db)
    pcns = queries.pcns(store)["pcn"].tolist()
    for pcn in pcns:
        catalogue = catalogue_for(store, pcn)
        matrix = pv.practice_matrix(store, pcn, catalogue)
        end = matrix["period_end"].iloc[0]
        expected = members_at(store, pcn, end)
        measures = {m.id for m in pv.fair_share_measures(catalogue)}
        assert measures and set(matrix["measure"]) == measures
        for measure_id, rows in matrix.groupby("measure"):
            assert set(rows.loc[rows["member_at_end"], "org"]) == expected, (pcn, measure_id)
            assert rows["org"].is_unique


def test_the_default_period_is_the_12_months_up_to_the_pcns_latest_practice_value(demo_db):
    store = Store(demo_db)
    matrix = pv.practice_matrix(store, "UZ0002", catalogue_for(store, "UZ0002"))
    latest = store.query(
        "SELECT max(period_start) AS latest FROM observations WHERE org_level = 'practice' AND measure_id IN "
        "(SELECT unnest(?)) AND org_code IN (SELECT unnest(?))",
        [sorted(set(matrix["measure"])), sorted(members_at(store, "UZ0002", date.today()))])["latest"].iloc[0]
    assert matrix["period_end"].iloc[0] == pd.Timestamp(latest).date()
    assert matrix["period_start"].iloc[0] == (pd.Timestamp(latest) - pd.DateOffset(months=11)).date()
    assert (matrix["first_period"] >= matrix["period_start"]).all()


def test_a_practice_that_left_during_the_months_keeps_its_share_and_is_marked(demo_db):
    store = Store(demo_db)
    moves = store.query("SELECT child_code, parent_code, end_date FROM memberships WHERE parent_level = 'pcn' "
                        "AND end_date IS NOT NULL ORDER BY end_date").iloc[0]
    left_on = pd.Timestamp(moves["end_date"]).date()
    end = (pd.Timestamp(left_on) + pd.DateOffset(months=3)).date().replace(day=1)
    matrix = pv.practice_matrix(store, moves["parent_code"], catalogue_for(store, moves["parent_code"]), end=end)
    mover = matrix[matrix["org"] == moves["child_code"]]
    assert len(mover) == matrix["measure"].nunique()
    assert not mover["member_at_end"].any()
    assert (mover["last_period"] <= left_on).all()
    for _, rows in matrix.groupby("measure"):  # its share stays in, so the shares still make the whole
        assert rows["resource_share"].sum() == pytest.approx(1)


def test_the_ratio_is_the_practices_resource_share_over_its_population_share_from_local_fair_share(demo_db):
    store = Store(demo_db)
    matrix = pv.practice_matrix(store, "UZ0006", catalogue_for(store, "UZ0006"))
    start, end = matrix["period_start"].iloc[0], matrix["period_end"].iloc[0]
    for measure_id, rows in matrix.groupby("measure"):
        shares = local.fair_share(store, measure_id, "UZ0006", start, end).set_index("org_code")
        rows = rows.set_index("org").loc[shares.index]
        assert rows["ratio"].to_numpy() == pytest.approx(
            (shares["resource_share"] / shares["population_share"]).to_numpy())
        assert rows["resource_share"].to_numpy() == pytest.approx(shares["resource_share"].to_numpy())
        assert rows["population_share"].to_numpy() == pytest.approx(shares["population_share"].to_numpy())
        assert list(rows["band"]) == [pv.band(r) for r in rows["ratio"]]


def test_a_member_practice_with_nothing_recorded_is_listed_with_no_data(demo_db, tmp_path):
    path = writable_copy(demo_db, tmp_path)
    store = Store(path)
    quiet = sorted(members_at(store, "UZ0006", date.today()))[0]
    execute(path, "DELETE FROM observations WHERE org_code = ? AND measure_id LIKE 'ps_%'", [quiet])
    matrix = pv.practice_matrix(store, "UZ0006", catalogue_for(store, "UZ0006"))
    rows = matrix[matrix["org"] == quiet]
    assert len(rows) == matrix["measure"].nunique()
    assert (rows["band"] == pv.NO_DATA).all() and rows["ratio"].isna().all() and (rows["periods"] == 0).all()
    assert rows["member_at_end"].all()
    cells = ph.practice_html(matrix)
    assert cells.count(f">{pv.NO_DATA}<") == len(rows)


def test_with_no_fair_share_measure_the_matrix_is_empty_and_the_table_and_chart_say_so(demo_db):
    store = Store(demo_db)
    national = Catalogue(tuple(m for m in catalogue_for(store, "UZ0002") if m.family == "national_des"))
    matrix = pv.practice_matrix(store, "UZ0002", national)
    assert matrix.empty and list(matrix.columns) == pv.MATRIX_COLUMNS
    assert "No practice-support measure here has a fair share" in ph.practice_html(matrix)
    figure = pv.fair_share_panels(matrix, pcn_name="UZ0002")
    assert any("No practice-support measure" in a.text for a in figure.layout.annotations)


# --- the band rule ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ratio", "expected"), [
    (0.89, pv.BELOW),
    (0.8949, pv.BELOW),  # shown as 0.89×
    (0.8951, pv.IN_LINE),  # shown as 0.90×
    (0.90, pv.IN_LINE),
    (1.00, pv.IN_LINE),
    (1.10, pv.IN_LINE),
    (0.33 / 0.3, pv.IN_LINE),  # 1.1000000000000003 in floating point: reads 1.10×, so in line
    (1.1049, pv.IN_LINE),  # shown as 1.10×
    (1.1051, pv.ABOVE),  # shown as 1.11×
    (1.11, pv.ABOVE),
    (0.0, pv.BELOW),  # the practice got none of it
    (float("nan"), pv.NO_DATA),
    (float("inf"), pv.NO_DATA),  # no population to set a fair share
    (None, pv.NO_DATA),
])
def test_a_ratio_within_10_percent_of_fair_share_as_shown_is_in_line_both_ends_included(ratio, expected):
    assert pv.band(ratio) == expected
    if expected in (pv.IN_LINE, pv.ABOVE, pv.BELOW):  # the cell's text never contradicts its band
        shown = float(pv.ratio_text(ratio).rstrip("×"))
        assert pv.band(shown) == expected


def test_the_tolerance_sets_the_band_and_a_suppressed_ratio_is_suppressed_whatever_its_value():
    assert pv.band(1.05, 0.05) == pv.IN_LINE and pv.band(1.06, 0.05) == pv.ABOVE
    assert pv.band(0.95, 0.05) == pv.IN_LINE and pv.band(0.94, 0.05) == pv.BELOW
    assert pv.band(1.0, suppressed=True) == pv.SUPPRESSED
    assert pv.tolerance_text(0.1) == "within ±10% of fair share"
    with pytest.raises(ValueError, match="tolerance"):
        pv.band(1.0, 1.5)


def test_a_wider_tolerance_moves_practices_into_line(demo_db):
    store = Store(demo_db)
    catalogue = catalogue_for(store, "UZ0006")
    narrow = pv.practice_matrix(store, "UZ0006", catalogue, tolerance=0.10)
    wide = pv.practice_matrix(store, "UZ0006", catalogue, tolerance=0.25)
    assert (wide["band"] == pv.IN_LINE).sum() > (narrow["band"] == pv.IN_LINE).sum()
    assert (wide["tolerance"] == 0.25).all()
    assert "±25%" in ph.practice_html(wide)


# --- small-number suppression ----------------------------------------------------------------------------------


def small_enhanced_access(demo_db, tmp_path):
    """A copy where one practice of UZ0006 had 3 enhanced-access appointments over the 12 months."""
    path = writable_copy(demo_db, tmp_path)
    store = Store(path)
    small = sorted(members_at(store, "UZ0006", date.today()))[0]
    execute(path, "UPDATE observations SET numerator = CASE WHEN period_start = DATE '2026-09-01' THEN 3 ELSE 0 END "
                  "WHERE org_code = ? AND measure_id = ? AND period_start >= DATE '2025-10-01'", [small, ENHANCED])
    return store, small


def test_a_practice_whose_total_is_a_small_number_is_suppressed_with_the_next_smallest(demo_db, tmp_path,
                                                                                          monkeypatch):
    monkeypatch.delenv(suppression.ENV_VAR, raising=False)
    store, small = small_enhanced_access(demo_db, tmp_path)
    matrix = pv.practice_matrix(store, "UZ0006", catalogue_for(store, "UZ0006"))
    rows = matrix[matrix["measure"] == ENHANCED].set_index("org")
    assert rows.loc[small, "band"] == pv.SUPPRESSED and bool(rows.loc[small, "suppressed"])
    assert rows.loc[[small], ["resource", "resource_share", "ratio"]].isna().all().all()
    # The secondary rule: the PCN total minus the others would give the small one away, so one more is hidden.
    assert (rows["band"] == pv.SUPPRESSED).sum() == 2
    # Measures that count hours or pounds identify nobody and stay shown.
    assert not matrix.loc[matrix["measure"] != ENHANCED, "suppressed"].any()

    table = ph.practice_html(matrix)
    assert table.count(f'>{suppression.MARK}</span>') == 2
    assert html.escape(suppression.footnote()) in table
    figure = pv.fair_share_panels(matrix, pcn_name="UZ0006")
    assert suppression.footnote() in figure.layout.annotations[-1].text
    assert any(trace.mode == "text" and list(trace.text) == [suppression.MARK] * 2 for trace in figure.data)


def test_with_suppression_off_the_small_total_is_shown_and_no_footnote(demo_db, tmp_path, monkeypatch):
    store, small = small_enhanced_access(demo_db, tmp_path)
    monkeypatch.setenv(suppression.ENV_VAR, "1")
    matrix = pv.practice_matrix(store, "UZ0006", catalogue_for(store, "UZ0006"))
    row = matrix[(matrix["measure"] == ENHANCED) & (matrix["org"] == small)].iloc[0]
    assert row["resource"] == 3 and row["band"] == pv.BELOW
    assert "suppressed" not in ph.practice_html(matrix)


def test_a_page_can_read_the_shares_through_its_own_reader(demo_db):
    store = Store(demo_db)
    asked = []

    def reader(measure_id, pcn, start, end):
        asked.append((measure_id, pcn, start, end))
        return local.fair_share(store, measure_id, pcn, start, end).assign(suppressed=False)

    matrix = pv.practice_matrix(store, "UZ0002", catalogue_for(store, "UZ0002"), date(2026, 1, 1),
                                date(2026, 6, 1), read_shares=reader)
    assert sorted(a[0] for a in asked) == sorted(set(matrix["measure"]))
    assert {a[2:] for a in asked} == {(date(2026, 1, 1), date(2026, 6, 1))}
    assert (matrix["last_period"] <= date(2026, 6, 1)).all()


# --- the HTML table --------------------------------------------------------------------------------------------


def test_the_table_escapes_every_practice_name_and_measure_label(demo_db, tmp_path):
    path = writable_copy(demo_db, tmp_path)
    store = Store(path)
    members = sorted(members_at(store, "UZ0006", date.today()))
    execute(path, "UPDATE organisations SET name = ? WHERE org_code = ?", [HOSTILE, members[0]])
    catalogue = catalogue_for(store, "UZ0006")
    hours = catalogue.get("ps_training_supervision_hours")
    catalogue = Catalogue(tuple(m.model_copy(update={"short_name": '<i onclick="x">hours</i>'}) if m is hours else m
                                for m in catalogue))
    matrix = pv.practice_matrix(store, "UZ0006", catalogue)
    table = ph.practice_html(matrix, pcn_name="<script>alert(1)</script> PCN")
    assert "&lt;b&gt;x&lt;/b&gt;" in table and HOSTILE not in table
    assert "&lt;i onclick=&quot;x&quot;&gt;hours&lt;/i&gt;" in table and "<i onclick" not in table
    assert "&lt;script&gt;" in table and "<script" not in table
    for name in store.query("SELECT name FROM organisations WHERE org_code IN (SELECT unnest(?))",
                            [members])["name"]:
        assert html.escape(name) in table
    # One row per practice and one cell per practice and measure.
    assert table.count('<th scope="row"') == matrix["org"].nunique()
    assert table.count("<td ") == len(matrix)


def test_each_cell_shows_the_ratio_and_its_band_in_words_with_the_band_colour(demo_db):
    store = Store(demo_db)
    matrix = pv.practice_matrix(store, "UZ0006", catalogue_for(store, "UZ0006"))
    table = ph.practice_html(matrix)
    for row in matrix.itertuples():
        if row.band in (pv.IN_LINE, pv.ABOVE, pv.BELOW):
            assert f">{pv.ratio_text(row.ratio)}<" in table
    for name in (pv.IN_LINE, pv.ABOVE, pv.BELOW):
        assert table.count(f"background:{ph.CELL_STYLES[name][0]};padding") == (matrix["band"] == name).sum()
    assert "Fair share = the practice's share of the PCN's registered (or weighted) patients" in html.unescape(table)
    assert "in line = within ±10%" in html.unescape(table)


def test_the_table_fits_a_1920_screen_and_scrolls_only_inside_its_own_box_on_a_phone(demo_db, chromium):
    store = Store(demo_db)
    matrix = pv.practice_matrix(store, "UZ0006", catalogue_for(store, "UZ0006"))  # the largest PCN
    table = ph.practice_html(matrix, pcn_name="A PCN")
    # Streamlit's wide layout at 1920 leaves about 1,500 pixels for the page; a phone about 358.
    for viewport, box in ((1920, 1500), (1920, 704), (390, 358)):
        page = chromium.new_page(viewport={"width": viewport, "height": 900})
        try:
            page.set_content(f"<html><body style='margin:16px'><div style='width:{box}px'>{table}</div></body></html>")
            region, page_width = page.evaluate(
                "() => { const r = document.querySelector('[role=region]');"
                " return [[r.scrollWidth, r.clientWidth], document.documentElement.scrollWidth] }")
        finally:
            page.close()
        assert page_width <= viewport  # the page itself never scrolls sideways
        if viewport == 1920:
            assert region[0] <= region[1]


# --- the small-multiples chart ---------------------------------------------------------------------------------


def test_the_chart_has_a_panel_per_measure_each_with_the_tolerance_band(demo_db):
    store = Store(demo_db)
    matrix = pv.practice_matrix(store, "UZ0006", catalogue_for(store, "UZ0006"))
    figure = pv.fair_share_panels(matrix, pcn_name="UZ0006")
    assert isinstance(figure, go.Figure)
    measures = list(dict.fromkeys(matrix["measure"]))
    axes = [name for name in figure.layout.to_plotly_json() if name.startswith("xaxis")]
    assert len(axes) == len(measures)
    bands = [s for s in figure.layout.shapes if s.type == "rect"]
    assert len(bands) == len(measures)
    assert {s.xref for s in bands} == {"x"} | {f"x{i}" for i in range(2, len(measures) + 1)}
    assert all(s.x0 == pytest.approx(0.9) and s.x1 == pytest.approx(1.1) for s in bands)
    titles = [a.text for a in figure.layout.annotations][:len(measures)]
    assert titles == list(matrix.drop_duplicates("measure")["measure_label"])
    assert "±10%" in figure.layout.title.subtitle.text and "÷ fair share" in figure.layout.title.subtitle.text
    plotted = sum(len(t.x) for t in figure.data if t.mode == "markers")
    assert plotted == matrix["band"].isin([pv.IN_LINE, pv.ABOVE, pv.BELOW]).sum()
    for trace in figure.data:  # each marker sits at its practice's ratio, in its band's trace
        if trace.mode != "markers":
            continue
        band = next(b for b, label in pv.BAND_LEGEND.items() if label == trace.name)
        panel = measures[int(trace.xaxis[1:] or 1) - 1]
        rows = matrix[(matrix["measure"] == panel) & (matrix["band"] == band)]
        assert sorted(trace.x) == pytest.approx(sorted(rows["ratio"]))


# --- every practice's series -----------------------------------------------------------------------------------


def test_every_member_practice_has_its_series_for_the_months_it_belonged(demo_db):
    store = Store(demo_db)
    for pcn in ("UZ0006", "UZ0004", "UZ0003"):
        series = pv.practice_series(store, pcn, ENHANCED)
        assert list(series.columns[:len(pv.SERIES_COLUMNS)]) == pv.SERIES_COLUMNS
        ever = store.query("SELECT child_code, start_date, end_date FROM memberships WHERE parent_code = ? "
                           "AND parent_level = 'pcn'", [pcn])
        assert set(series["org"]) == set(ever["child_code"])
        assert members_at(store, pcn, date.today()) <= set(series["org"])
        for row in ever.itertuples():
            months = pd.to_datetime(series.loc[series["org"] == row.child_code, "period_start"])
            assert months.min() >= row.start_date
            if pd.notna(row.end_date):
                assert months.max() <= row.end_date
        one = series["org"].iloc[0]
        mine = queries.series(store, ENHANCED, one)
        assert series.loc[series["org"] == one, "value"].to_numpy() == pytest.approx(
            mine.loc[pd.to_datetime(mine["period_start"]) >= ever.set_index("child_code").loc[one, "start_date"],
                     "value"].to_numpy())


def test_the_series_hides_a_practices_small_numbers_and_one_more_that_month(demo_db, tmp_path, monkeypatch):
    monkeypatch.delenv(suppression.ENV_VAR, raising=False)
    store, small = small_enhanced_access(demo_db, tmp_path)
    series = pv.practice_series(store, "UZ0006", ENHANCED)
    september = series[pd.to_datetime(series["period_start"]) == pd.Timestamp("2026-09-01")]
    assert september.loc[september["org"] == small, "suppressed"].all()
    assert september.loc[september["org"] == small, ["numerator", "value"]].isna().all().all()
    assert september["suppressed"].sum() == 2
    raw = pv.practice_series(store, "UZ0006", ENHANCED, suppress=False)
    recorded = raw[(raw["org"] == small) & (pd.to_datetime(raw["period_start"]) == "2026-09-01")]
    assert recorded["numerator"].item() == 3


def test_the_spc_table_reads_each_practice_as_its_own_chart_does(demo_db, tmp_path, monkeypatch):
    monkeypatch.delenv(suppression.ENV_VAR, raising=False)
    store, small = small_enhanced_access(demo_db, tmp_path)
    measure = catalogue_for(store, "UZ0006").get(ENHANCED)
    series = pv.practice_series(store, "UZ0006", ENHANCED)
    members = pv.practice_members(store, "UZ0006")
    names = dict(zip(members["org"], members["org_name"])) | {"Z99999": "A practice with no values"}
    table = pv.practice_spc_table(series, measure, names=names)
    assert list(table["org"])[:len(members)] == list(members["org"]) and table["org"].is_unique
    for row in table.itertuples():
        if row.org == "Z99999":
            assert row.points == 0 and pd.isna(row.variation) and pd.isna(row.latest_value)
            continue
        own = series[series["org"] == row.org]
        reading = detail.read(own, measure)
        assert (row.variation, row.assurance, row.points) == (reading.variation, reading.assurance, reading.points)
    hidden = table.set_index("org").loc[small]
    assert hidden["latest_suppressed"] and hidden["latest_text"] == suppression.MARK
    assert pd.isna(hidden["latest_value"])
    shown = table[~table["latest_suppressed"] & (table["org"] != "Z99999")].iloc[0]
    last = series[series["org"] == shown["org"]].sort_values("period_start").iloc[-1]
    assert shown["latest_value"] == pytest.approx(last["value"])
    assert shown["latest_text"] == measure.format_value(last["value"])


# --- the board pack's page: what the PCN did for each practice ---------------------------------------------------


@pytest.fixture(scope="module")
def pack_with_practices(demo_db):
    from measures import boardpack

    pack = boardpack.build_pack(Store(demo_db), "UZ0009", chart_images=False)
    return pack, {fmt: boardpack.render(pack, fmt) for fmt in boardpack.FORMATS}


def test_the_pack_holds_each_member_practice_against_its_fair_share_as_the_app_does(demo_db, pack_with_practices):
    pack, _ = pack_with_practices
    store = Store(demo_db)
    matrix = pv.practice_matrix(store, "UZ0009", catalogue_for(store, "UZ0009"), end=pack.cover.period)
    page = pack.practices
    assert [label for label, _ in page.measures] == list(dict.fromkeys(matrix["measure_label"]))
    assert {p.code for p in page.practices} == set(matrix["org"])
    assert page.period == pv.period_text(matrix["period_start"].iloc[0], matrix["period_end"].iloc[0])
    by_cell = {(r.org, r.measure_label): r for r in matrix.itertuples()}
    for practice in page.practices:
        for (label, _), cell in zip(page.measures, practice.cells):
            expected = by_cell[(practice.code, label)]
            assert (cell.ratio, cell.band) == (pv.ratio_text(expected.ratio), expected.band)


def test_the_pack_page_suppresses_a_small_practice_total(demo_db, tmp_path, monkeypatch):
    from measures import boardpack

    monkeypatch.delenv(suppression.ENV_VAR, raising=False)
    store, small = small_enhanced_access(demo_db, tmp_path)
    page = boardpack.build_pack(store, "UZ0006", chart_images=False).practices
    column = [label for label, _ in page.measures].index("Enhanced access per 1,000")
    cells = {p.code: p.cells[column] for p in page.practices}
    assert cells[small].band == pv.SUPPRESSED and cells[small].ratio == suppression.MARK
    assert sum(cell.band == pv.SUPPRESSED for cell in cells.values()) == 2  # and the next smallest
    assert page.suppressed and suppression.footnote() in page.notes


def test_the_practice_page_is_an_editable_table_in_powerpoint(pack_with_practices):
    import io

    from pptx import Presentation

    from measures import boardpack

    pack, files = pack_with_practices
    deck = Presentation(io.BytesIO(files["pptx"]))
    slide = next(s for s in deck.slides if s.shapes.title.text == boardpack.PRACTICES)
    (table,) = [shape.table for shape in slide.shapes if shape.has_table]
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0][0] == "Practice" and [r.split("\n")[0] for r in rows[0][1:]] == [m for m, _ in pack.practices.measures]
    for practice, row in zip(pack.practices.practices, rows[1:]):
        assert row[0].startswith(f"{practice.name} ({practice.code})")
        assert row[1:] == [boardpack.PracticePage.cell_text(cell) for cell in practice.cells]


def test_the_practice_page_is_a_heading_1_with_its_table_in_word(pack_with_practices):
    import io

    from docx import Document

    from measures import boardpack

    pack, files = pack_with_practices
    document = Document(io.BytesIO(files["docx"]))
    assert boardpack.PRACTICES in [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "Practice")
    assert len(table.rows) == len(pack.practices.practices) + 1
    assert [c.text for c in table.rows[1].cells[1:]] == [boardpack.PracticePage.cell_text(c)
                                                         for c in pack.practices.practices[0].cells]


def test_the_practice_page_is_a_bookmarked_table_in_the_pdf(pack_with_practices):
    import io

    from pypdf import PdfReader

    from measures import boardpack

    pack, files = pack_with_practices
    reader = PdfReader(io.BytesIO(files["pdf"]))
    assert boardpack.PRACTICES in [item.title for item in reader.outline if not isinstance(item, list)]
    text = next(page.extract_text() for page in reader.pages if boardpack.PRACTICES in page.extract_text())
    for practice in pack.practices.practices:
        assert practice.code in text
        for cell in practice.cells:
            assert boardpack.PracticePage.cell_text(cell, arrows=False) in text


def test_practice_names_in_the_pack_are_plain_text(demo_db, tmp_path):
    import io

    from pypdf import PdfReader

    from measures import boardpack

    path = writable_copy(demo_db, tmp_path)
    code = sorted(members_at(Store(path), "UZ0009", date(2026, 9, 1)))[0]
    execute(path, "UPDATE organisations SET name = ? WHERE org_code = ?", [f"{HOSTILE} & <i>co", code])
    pack = boardpack.build_pack(Store(path), "UZ0009", chart_images=False)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(boardpack.render(pack, "pdf"))).pages)
    assert f"{HOSTILE} & <i>co ({code})" in text
