"""Reading one PCN's data as of a period into the board pack model: summary, exceptions, practices, money, data."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from .. import access, charts, detail, exports, queries, suppression
from ..catalogue import FAMILY_LABELS, Catalogue, Measure, financial_year_of
from ..contract.pack import MoneyPage
from ..overview import goal_text, month_label, period_label
from ..store import Store
from ..text import shown
from .images import sparkline_png
from .model import (DIRECTION_TEXT, TREND_POINTS, BoardPack, Cover, DataPage, DataSource, Definition, ExceptionPage,
                    PracticeCell, PracticePage, PracticeRow, SummaryRow)


def parse_period(text: str | date | None) -> date | None:
    """`2026-03` (or a date) as the first day of that month; None stays None."""
    if text is None or text == "":
        return None
    if isinstance(text, date):
        return date(text.year, text.month, 1)
    match = re.fullmatch(r"(\d{4})-(\d{2})", str(text).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"period must look like 2026-03 (year-month), got {shown(text)}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def effective_catalogue(store: Store, pcn_code: str) -> Catalogue:
    """The catalogue the Overview shows for this PCN: built-in measures plus those defined in the app."""
    from .. import local

    return local.catalogue_with_local(store, pcn_code)


def available_periods(store: Store, pcn_code: str) -> list[date]:
    """Months with values for the PCN, newest first: the periods a pack can be read as of."""
    frame = store.query("SELECT DISTINCT period_start FROM observations WHERE org_code = ? AND org_level = 'pcn' "
                        "ORDER BY period_start DESC", [pcn_code])
    return [pd.Timestamp(p).date() for p in frame["period_start"]]


def misses_goal(measure: Measure, value: float | None, goal: float | None) -> bool:
    if value is None or goal is None or pd.isna(value):
        return False
    if measure.improvement_direction == "increase":
        return value < goal
    if measure.improvement_direction == "decrease":
        return value > goal
    return False


def attention_reasons(measure: Measure, reading: detail.Reading | None, latest_value: float | None,
                      latest_period: date | None) -> tuple[str, ...]:
    """Why a measure is on an exception page; empty when it is not."""
    reasons = []
    if reading is not None and (reading.variation or "").startswith("concern"):
        reasons.append(detail.VARIATION_TEXT[reading.variation])
    if latest_period is not None:
        goal = detail.target_for(measure, latest_period)
        if misses_goal(measure, latest_value, goal):
            kind = "target" if measure.target_for(latest_period) else "IIF upper threshold"
            side = "below" if measure.improvement_direction == "increase" else "above"
            reasons.append(f"Latest value {measure.format_value(latest_value)} is {side} the {kind} of "
                           f"{measure.format_value(goal)} for {financial_year_of(latest_period)}")
    if reading is not None and reading.assurance == "consistent_fail":
        reasons.append(detail.ASSURANCE_TEXT["consistent_fail"])
    return tuple(reasons)


def _has_table(store: Store, name: str) -> bool:
    found = store.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?", [name])
    return bool(found["n"].iloc[0])


def _annotations(store: Store, measure_id: str, pcn_code: str, until: date) -> pd.DataFrame:
    notes = queries.annotations(store, measure_id, pcn_code)
    if notes.empty:
        return notes
    return notes[pd.to_datetime(notes["date"]) <= pd.Timestamp(until) + pd.offsets.MonthEnd(0)]


def build_pack(store: Store, pcn_code: str, period: str | date | None = None, *, catalogue: Catalogue | None = None,
               produced: date | None = None, chart_images: bool = True,
               principal: access.Principal = access.OPEN) -> BoardPack:
    """Read the PCN's data as of `period` (later months ignored) and compute everything the pack says.

    `chart_images=False` skips the exception charts (for the summary matrix alone). A pack holds the PCN's
    local values of every period, so only the PCN's members may build one (`access.AccessDenied` otherwise).
    """
    hierarchy = queries.pcn(store, pcn_code)
    if hierarchy is None:
        raise ValueError(f"no PCN with code {shown(pcn_code)}")
    if not principal.is_admin:
        access.require_local(principal, pcn_code, access.directory(store), "board pack (it holds local values "
                                                                           "of every period)")
    as_of = parse_period(period)
    catalogue = catalogue or effective_catalogue(store, pcn_code)
    series, _ = queries.overview(store, pcn_code, catalogue)
    # The pack is read outside the app, so small numbers are suppressed here as ui.query does there
    rules = suppression.rules(catalogue)
    series = suppression.suppress_with_totals(  # a PCN total that its practices would give away is hidden too
        suppression.suppress(series, rules), lambda *read: suppression.practice_values(store, *read), rules,
        [pcn_code])
    series, as_of = up_to(series, as_of)
    cover = Cover(
        pcn_name=hierarchy["pcn_name"], pcn_code=pcn_code, icb_name=_text(hierarchy.get("icb_name")),
        icb_code=_text(hierarchy.get("icb")), sub_icb_name=_text(hierarchy.get("sub_icb_name")), period=as_of,
        produced=produced or date.today(), dataset_label=dataset_label(store),
    )
    return assemble(store, cover, catalogue, series, chart_images=chart_images,
                    practices=practice_page(store, pcn_code, catalogue, as_of),
                    money=_money_page(store, pcn_code, as_of), data=data_page(store, pcn_code, cover.produced))


def up_to(series: pd.DataFrame, as_of: date | None) -> tuple[pd.DataFrame, date]:
    """The series without months after `as_of`, and the month the pack is read as of (None: the latest with data)."""
    if not series.empty:
        series = series.assign(period_start=pd.to_datetime(series["period_start"]))
        if as_of is not None:
            series = series[series["period_start"] <= pd.Timestamp(as_of)]
    if as_of is None:
        as_of = series["period_start"].max().date().replace(day=1) if not series.empty else date.today().replace(day=1)
    return series, as_of


def dataset_label(store: Store) -> str | None:
    """The cover's synthetic-data label, when the database holds synthetic data."""
    meta = queries.meta(store)
    return (meta.get("dataset_label") or "Synthetic demo data") if meta.get("dataset") == "synthetic" else None


def assemble(store: Store, cover: Cover, catalogue: Catalogue, series: pd.DataFrame, *, chart_images: bool = True,
             practices: PracticePage | None = None, money: MoneyPage | None = None,
             data: DataPage | None = None) -> BoardPack:
    """The pack of the organisation on the cover from its series (read, access-filtered and suppressed already):
    a summary row and a definition per measure, and an exception page per measure needing attention."""
    by_measure = dict(tuple(series.groupby("measure", sort=False))) if not series.empty else {}
    no_data = f"No data for this {cover.noun} yet"
    rows, pending, definitions = _measure_pages(catalogue, by_measure, _rebases(store, cover.pcn_code), cover.period,
                                                no_data)
    exceptions = _exception_pages(store, cover, pending, chart_images)
    return BoardPack(cover=cover, summary=tuple(rows), exceptions=tuple(exceptions),
                     definitions=tuple(definitions), sources=tuple(_sources(catalogue, by_measure, no_data)),
                     practices=practices, money=money, data=data)


def _measure_pages(catalogue: Catalogue, by_measure: dict, rebases: dict, as_of: date,
                   no_data: str) -> tuple[list[SummaryRow], list, list[Definition]]:
    """Each measure's summary row and definition, and what the exception page of each needing attention shows."""
    rows, pending, definitions = [], [], []
    for measure in catalogue:
        if measure.status == "retired":
            continue
        measure_rows = detail.latest_version(by_measure.get(measure.id, pd.DataFrame()), keep_suppressed=True)
        if len(measure_rows):
            measure_rows = measure_rows.sort_values("period_start")
        reading = detail.read(measure_rows, measure, rebase=rebases.get(measure.id))  # None with no value shown
        latest = measure_rows.iloc[-1] if len(measure_rows) else None
        latest_period = pd.Timestamp(latest["period_start"]).date() if latest is not None else None
        hidden = measure_rows[suppression.FLAG].astype(bool) if len(measure_rows) else pd.Series(dtype=bool)
        latest_hidden = latest is not None and bool(latest[suppression.FLAG])
        latest_value = float(latest["value"]) if latest is not None and not latest_hidden else None
        reasons = attention_reasons(measure, reading, latest_value, latest_period)
        trend = [None if v != v else round(float(v), 4)  # None, not NaN: a pack must equal itself
                 for v in measure_rows["value"].tail(TREND_POINTS)] if len(measure_rows) else []
        point_type = reading.result["point_type"].iloc[-1] if reading is not None else None
        family = FAMILY_LABELS[measure.family]
        rows.append(SummaryRow(
            family=family, measure_id=measure.id, measure=measure.label,
            latest=(suppression.MARK if latest_hidden else measure.format_value(latest_value)) if latest is not None
            else "No data",
            period=period_label(latest_period, latest["period_end"]) if latest_period else "–",
            goal=(goal_text(measure, latest_period) if latest_period else None) or "–",
            variation=reading.variation if reading is not None else None,
            assurance=reading.assurance if reading is not None else None,
            trend=tuple(trend), reasons=reasons, suppressed=int(hidden.sum()),
            sparkline_png=sparkline_png(tuple(v for v in trend if v is not None),
                                        None if latest_hidden else point_type),
        ))
        if reasons:
            pending.append((measure, reading, reasons, latest_value, latest_period))
        definitions.append(Definition(
            measure_id=measure.id, heading=measure.label + (f" ({measure.code})" if measure.code else ""),
            family=family, description=measure.description, numerator=measure.numerator.definition,
            denominator=measure.denominator.definition if measure.denominator else None,
            unit=f"{measure.unit}; {DIRECTION_TEXT[measure.improvement_direction]}",
            goal=goal_text(measure, latest_period or as_of), source=measure.source.publication,
            publisher=measure.source.publisher, landing_page=measure.source.landing_page,
            data_to=f"Data to {period_label(latest_period, latest['period_end'])}" if latest_period else no_data,
            caveats=tuple(measure.caveats),
        ))
    return rows, pending, definitions


def data_page(store: Store, pcn_code: str, day: date) -> DataPage:
    from .. import data_quality

    return data_quality.data_page(store, pcn_code, day)


def _money_page(store: Store, pcn_code: str, as_of: date) -> MoneyPage | None:
    from ..contract import ContractError
    from ..contract.pack import money_page

    try:
        return money_page(store, pcn_code, as_of)
    except ContractError:
        return None


def practice_page(store: Store, pcn_code: str, catalogue: Catalogue, as_of: date) -> PracticePage:
    """The 12 months up to `as_of`, practice by practice, with small numbers suppressed as the app does."""
    from .. import practice_view

    matrix = practice_view.practice_matrix(store, pcn_code, catalogue, end=as_of)  # suppresses small numbers
    measures = matrix.drop_duplicates("measure")
    practices = matrix.drop_duplicates("org").sort_values(["member_at_end", "org_name", "org"],
                                                          ascending=[False, True, True], kind="stable")
    by_cell = {(r["org"], r["measure"]): r for r in matrix.to_dict("records")}
    rows = []
    for practice in practices.itertuples():
        cells = []
        for measure_id in measures["measure"]:
            found = by_cell.get((practice.org, measure_id))
            band = found["band"] if found is not None else practice_view.NO_DATA
            ratio = (suppression.MARK if band == practice_view.SUPPRESSED
                     else practice_view.ratio_text(found["ratio"]) if found is not None else "–")
            cells.append(PracticeCell(ratio, band))
        rows.append(PracticeRow(str(practice.org_name), str(practice.org), bool(practice.member_at_end),
                                tuple(cells)))
    start = matrix["period_start"].iloc[0] if len(matrix) else None
    end = matrix["period_end"].iloc[0] if len(matrix) else None
    return PracticePage(
        period=practice_view.period_text(start, end),
        measures=tuple(zip(measures["measure_label"].astype(str), measures["fair_share_basis"].astype(str))),
        practices=tuple(rows), tolerance=float(matrix["tolerance"].iloc[0]) if len(matrix) else
        practice_view.DEFAULT_TOLERANCE, suppressed=bool((matrix["band"] == practice_view.SUPPRESSED).any()))


def _text(value) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _exception_pages(store: Store, cover: Cover, pending: list, chart_images: bool) -> list[ExceptionPage]:
    figures, pages = [], []
    # A database from before chart notes existed (migration 004) simply has none to show.
    with_notes = bool(pending) and _has_table(store, "annotations")
    for measure, reading, reasons, latest_value, latest_period in pending:
        if reading is None:
            figures.append(None)
            continue
        notes = (_annotations(store, measure.id, cover.pcn_code, cover.period) if with_notes
                 else pd.DataFrame(columns=["date", "note"]))
        reasons_by_start = _rebase_reasons(store, measure.id, cover.pcn_code) if reading.rebases else {}
        figures.append((charts.spc_chart(
            reading.result, measure, cover.pcn_name, annotations=notes if not notes.empty else None,
            reading=reading, rebase_reasons=reasons_by_start,
            goal_lines=detail.goal_lines(measure, reading.result["date"].min(), reading.result["date"].max())), notes))
    # One at a time: kaleido's server is not safe for concurrent callers (see `exports`).
    images = [exports.figure_image(f[0], "png") if chart_images and f is not None else None for f in figures]
    for (measure, reading, reasons, latest_value, latest_period), figure, image in zip(pending, figures, images):
        if reading is not None:
            narrative = detail.narrative(reading, measure, cover.pcn_name)
        else:
            shown = measure.format_value(latest_value) if latest_value is not None else (
                f"{suppression.MARK} (suppressed as a small number)")
            narrative = (f"{measure.label} for {cover.pcn_name} was {shown} in "
                         f"{latest_period:%B %Y}; one value is too few for an SPC chart.")
        notes = figure[1] if figure is not None else pd.DataFrame(columns=["date", "note"])
        pages.append(ExceptionPage(
            measure_id=measure.id, heading=measure.label, family=FAMILY_LABELS[measure.family], reasons=reasons,
            narrative=narrative, chart_png=image,
            chart_size=exports.expected_png_size(figure[0]) if figure is not None else None,
            notes=tuple(f"{pd.Timestamp(r.date):%d %b %Y}: {r.note}" for r in notes.itertuples()),
            footnotes=tuple(measure.caveats) + _suppression_footnotes(reading),
        ))
    return pages


def _suppression_footnotes(reading: detail.Reading | None) -> tuple[str, ...]:
    if reading is None or not reading.suppressed:
        return ()
    if reading.mode == "spc":
        return (f"{suppression.footnote()} {detail.SUPPRESSION_METHOD}",)
    return (f"{suppression.footnote()} The chart shows the {reading.points} values that are not.",)


def _rebases(store: Store, pcn_code: str) -> dict[str, list[date]]:
    """Each measure's change points in use for the PCN (the limits recalculated from each)."""
    if not _has_table(store, "rebases"):  # a database from before change points existed (migration 006)
        return {}
    found = store.query("SELECT measure_id, period_start FROM rebases WHERE org_code = ? AND removed_at IS NULL "
                        "ORDER BY period_start", [pcn_code])
    grouped: dict[str, list[date]] = {}
    for measure_id, start in zip(found["measure_id"], found["period_start"]):
        grouped.setdefault(measure_id, []).append(pd.Timestamp(start).date())
    return grouped


def _rebase_reasons(store: Store, measure_id: str, pcn_code: str) -> dict:
    from ..annotations import rebases

    found = rebases(store, measure_id, pcn_code)
    return dict(zip(found["period_start"], found["reason"]))


def _sources(catalogue: Catalogue, by_measure: dict, no_data: str) -> list[DataSource]:
    grouped: dict[str, list[Measure]] = {}
    for measure in catalogue:
        if measure.status != "retired":
            grouped.setdefault(measure.source.publication, []).append(measure)
    sources = []
    for publication, measures in grouped.items():
        latest = [pd.Timestamp(by_measure[m.id]["period_start"].max()) for m in measures if m.id in by_measure]
        sources.append(DataSource(
            publication=publication, publisher=measures[0].source.publisher,
            landing_page=measures[0].source.landing_page, measures=len(measures),
            data_to=f"Data to {month_label(max(latest))}" if latest else no_data))
    return sorted(sources, key=lambda s: s.publication)
