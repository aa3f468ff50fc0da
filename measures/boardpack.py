"""Board packs for one PCN and period: one format-neutral model, rendered to PowerPoint, Word or PDF."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from . import access, charts, detail, exports, queries, suppression
from .catalogue import FAMILIES, FAMILY_LABELS, Catalogue, Measure, financial_year_of
from .contract.pack import MONEY, MoneyPage
from .overview import goal_text, month_label, period_label
from .store import Store
from .text import shown

FORMATS = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
FORMAT_LABELS = {"pptx": "PowerPoint", "docx": "Word", "pdf": "PDF"}

SUMMARY = "Summary"
EXCEPTIONS = "Measures needing attention"
APPENDIX = "Definitions and data sources"
PRACTICES = "What the PCN did for each practice"

SUMMARY_COLUMNS = ["Family", "Measure", "Latest value", "Period", "Target or threshold", "Variation", "Assurance"]
TREND_POINTS = 24

VARIATION_SHORT = {
    "common_cause": "Common cause",
    "improvement_high": "Improvement (high)",
    "improvement_low": "Improvement (low)",
    "concern_high": "Concern (high)",
    "concern_low": "Concern (low)",
    "neutral_high": "Special cause (high)",
    "neutral_low": "Special cause (low)",
}
ASSURANCE_SHORT = {"consistent_pass": "Consistently passing", "consistent_fail": "Consistently failing",
                   "inconsistent": "Hit and miss"}
DIRECTION_TEXT = {"increase": "higher is better", "decrease": "lower is better", "neutral": "no direction is better"}

METHOD_NOTE = ("Variation and assurance follow NHS England's Making Data Count (XmR charts, NHSRplotthedots rules). "
               "A measure needs attention when its latest point signals special-cause concern, or its latest value "
               "misses its target (or, for IIF indicators, the upper threshold for full payment).")


# ----------------------------------------------------------------------------------------------------------------
# The model: everything a pack says, computed once.


@dataclass(frozen=True)
class Cover:
    pcn_name: str
    pcn_code: str
    icb_name: str | None
    icb_code: str | None
    sub_icb_name: str | None
    period: date
    produced: date
    dataset_label: str | None  # set when the database holds synthetic data

    @property
    def title(self) -> str:
        return f"Board pack: {self.pcn_name}"

    @property
    def period_label(self) -> str:
        return f"{self.period:%B %Y}"

    def lines(self) -> list[str]:
        lines = [f"PCN: {self.pcn_name} ({self.pcn_code})"]
        if self.icb_name:
            lines.append(f"ICB: {self.icb_name} ({self.icb_code})")
        if self.sub_icb_name:
            lines.append(f"Place: {self.sub_icb_name}")
        lines.append(f"Period: data to {self.period_label}")
        lines.append(f"Produced: {self.produced.day} {self.produced:%B %Y}")
        return lines

    @property
    def running_footer(self) -> str:
        parts = [f"{self.pcn_name} ({self.pcn_code}) board pack", f"data to {self.period_label}"]
        if self.dataset_label:
            parts.append("Synthetic demo data")
        return " · ".join(parts)


@dataclass(frozen=True)
class SummaryRow:
    family: str
    measure_id: str
    measure: str
    latest: str
    period: str
    goal: str
    variation: str | None
    assurance: str | None
    trend: tuple[float | None, ...]  # oldest to latest; None where a value is suppressed as a small number
    reasons: tuple[str, ...]
    suppressed: int = 0  # values of the series suppressed as small numbers (the latest shows as *)
    sparkline_png: bytes | None = field(default=None, repr=False)

    @property
    def needs_attention(self) -> bool:
        return bool(self.reasons)

    @property
    def variation_text(self) -> str:
        if self.latest == "No data":
            return "No data"
        return VARIATION_SHORT.get(self.variation or "", "Too few points")

    @property
    def assurance_text(self) -> str:
        return ASSURANCE_SHORT.get(self.assurance or "", "No target" if self.goal == "–" else "–")

    def cells(self) -> list[str]:
        return [self.family, self.measure, self.latest, self.period, self.goal, self.variation_text,
                self.assurance_text]


@dataclass(frozen=True)
class ExceptionPage:
    measure_id: str
    heading: str
    family: str
    reasons: tuple[str, ...]
    narrative: str
    chart_png: bytes | None = field(repr=False)
    chart_size: tuple[int, int] | None  # pixels, for the aspect ratio
    notes: tuple[str, ...]  # annotations pinned to the chart: what was done and when
    footnotes: tuple[str, ...]  # the measure's caveats


@dataclass(frozen=True)
class Definition:
    measure_id: str
    heading: str
    family: str
    description: str
    numerator: str
    denominator: str | None
    unit: str
    goal: str | None
    source: str
    publisher: str | None
    landing_page: str | None
    data_to: str
    caveats: tuple[str, ...]

    def paragraphs(self) -> list[tuple[str, str]]:
        rows = [("Definition", self.description), ("Numerator", self.numerator)]
        if self.denominator:
            rows.append(("Denominator", self.denominator))
        rows.append(("Unit", self.unit))
        if self.goal:
            rows.append(("Target or threshold", self.goal))
        rows.append(("Source", self.source + (f" ({self.publisher})" if self.publisher else "")
                     + (f", {self.landing_page}" if self.landing_page else "")))
        rows.append(("Data", self.data_to))
        return rows


@dataclass(frozen=True)
class DataSource:
    publication: str
    publisher: str | None
    landing_page: str | None
    measures: int
    data_to: str


@dataclass(frozen=True)
class PracticeCell:
    ratio: str  # 1.04×, * when suppressed, – with no data
    band: str  # a band of measures.practice_view: in line, above or below fair share, suppressed, no data


@dataclass(frozen=True)
class PracticeRow:
    name: str
    code: str
    member_at_end: bool  # False for a practice that left the PCN during the months
    cells: tuple[PracticeCell, ...]  # in the order of PracticePage.measures


@dataclass(frozen=True)
class PracticePage:
    """Each member practice's share of the PCN's resource against its fair share (`practice_view.practice_matrix`)."""

    period: str  # Oct 2025 to Sep 2026
    measures: tuple[tuple[str, str], ...]  # label, what the fair share follows
    practices: tuple[PracticeRow, ...]
    tolerance: float
    suppressed: bool  # any cell suppressed as a small number

    @property
    def notes(self) -> list[str]:
        from .practice_view import tolerance_text

        notes = [f"Each cell: the practice's share of the PCN's total ÷ its fair share (1.00× is exactly its fair "
                 f"share; its fair share is its share of the PCN's registered or weighted patients). In line: "
                 f"{tolerance_text(self.tolerance)}; above or below it otherwise. Neither direction is better: a PCN may "
                 "agree to send more to a practice with greater need."]
        if self.suppressed:
            notes.append(suppression.footnote())
        return notes

    @staticmethod
    def cell_text(cell: PracticeCell, arrows: bool = True) -> str:
        """`0.82× ▼ below`: the band in words, and (`arrows`, where the font has them) as an arrow too."""
        from .practice_view import ABOVE, BELOW, IN_LINE

        words = {IN_LINE: "in line", ABOVE: "▲ above" if arrows else "above",
                 BELOW: "▼ below" if arrows else "below"}.get(cell.band, cell.band)
        return f"{cell.ratio} {words}" if cell.band in (IN_LINE, ABOVE, BELOW) else f"{cell.ratio} ({words})"


@dataclass(frozen=True)
class BoardPack:
    cover: Cover
    summary: tuple[SummaryRow, ...]
    exceptions: tuple[ExceptionPage, ...]
    definitions: tuple[Definition, ...]
    sources: tuple[DataSource, ...]
    practices: PracticePage | None = None  # None: a pack made without the practice page
    money: MoneyPage | None = None  # None: no contract rules cover the pack's years

    @property
    def file_stem(self) -> str:
        return f"board-pack-{self.cover.pcn_code.lower()}-{self.cover.period:%Y-%m}"

    @property
    def suppression_note(self) -> str | None:
        """The small-number footnote, when any value in the pack is suppressed."""
        if any(row.suppressed for row in self.summary):
            return (suppression.footnote() + " Variation and assurance use the values shown.")
        return None

    @property
    def summary_notes(self) -> list[str]:
        notes = [METHOD_NOTE, f"{len(self.exceptions)} of {len(self.summary)} measures need attention."]
        if self.suppression_note:
            notes.append(self.suppression_note)
        if self.cover.dataset_label:
            notes.append(self.cover.dataset_label)
        return notes

    def summary_frame(self) -> pd.DataFrame:
        """The summary matrix as a table, for CSV and XLSX downloads."""
        return pd.DataFrame({
            "Family": [r.family for r in self.summary],
            "Measure": [r.measure for r in self.summary],
            "Measure id": [r.measure_id for r in self.summary],
            "Latest value": [r.latest for r in self.summary],
            "Period": [r.period for r in self.summary],
            "Target or threshold": [r.goal for r in self.summary],
            "Variation": [r.variation_text for r in self.summary],
            "Assurance": [r.assurance_text for r in self.summary],
            "Needs attention": ["; ".join(r.reasons) for r in self.summary],
            "Trend (oldest to latest)": [" ".join(suppression.MARK if v is None else f"{v:g}" for v in r.trend)
                                         for r in self.summary],
            suppression.FLAG: [bool(r.suppressed) for r in self.summary],  # downloads add the footnote
        })


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
    from . import local

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
    if not series.empty:
        series = series.assign(period_start=pd.to_datetime(series["period_start"]))
        if as_of is not None:
            series = series[series["period_start"] <= pd.Timestamp(as_of)]
    if as_of is None:
        as_of = series["period_start"].max().date().replace(day=1) if not series.empty else date.today().replace(day=1)
    meta = queries.meta(store)
    cover = Cover(
        pcn_name=hierarchy["pcn_name"], pcn_code=pcn_code, icb_name=_text(hierarchy.get("icb_name")),
        icb_code=_text(hierarchy.get("icb")), sub_icb_name=_text(hierarchy.get("sub_icb_name")), period=as_of,
        produced=produced or date.today(),
        dataset_label=(meta.get("dataset_label") or "Synthetic demo data") if meta.get("dataset") == "synthetic" else None,
    )

    by_measure = dict(tuple(series.groupby("measure", sort=False))) if not series.empty else {}
    rebases = _rebases(store, pcn_code)
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
            data_to=f"Data to {period_label(latest_period, latest['period_end'])}" if latest_period
            else "No data for this PCN yet",
            caveats=tuple(measure.caveats),
        ))

    exceptions = _exception_pages(store, cover, pending, chart_images)
    return BoardPack(cover=cover, summary=tuple(rows), exceptions=tuple(exceptions),
                     definitions=tuple(definitions), sources=tuple(_sources(catalogue, by_measure)),
                     practices=practice_page(store, pcn_code, catalogue, as_of), money=_money_page(store, pcn_code, as_of))


def _money_page(store: Store, pcn_code: str, as_of: date) -> MoneyPage | None:
    from .contract import ContractError
    from .contract.pack import money_page

    try:
        return money_page(store, pcn_code, as_of)
    except ContractError:
        return None


def practice_page(store: Store, pcn_code: str, catalogue: Catalogue, as_of: date) -> PracticePage:
    """The 12 months up to `as_of`, practice by practice, with small numbers suppressed as the app does."""
    from . import practice_view

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


# Cell tints of the practice page: those of the app's table (measures.practice_html), one per band.
def _practice_fill(band: str) -> str:
    from .practice_html import CELL_STYLES

    return CELL_STYLES.get(band, ("#FFFFFF", ""))[0]


def _practice_heading(page: PracticePage) -> str:
    return f"Share of the PCN's total ÷ fair share, practice by practice, {page.period}"


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
    from .annotations import rebases

    found = rebases(store, measure_id, pcn_code)
    return dict(zip(found["period_start"], found["reason"]))


def _sources(catalogue: Catalogue, by_measure: dict) -> list[DataSource]:
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
            data_to=f"Data to {month_label(max(latest))}" if latest else "No data for this PCN yet"))
    return sorted(sources, key=lambda s: s.publication)


# ----------------------------------------------------------------------------------------------------------------
# Small pictures shared by the renderers: trend sparklines and Making Data Count style icons.

_ICON_COLOURS = charts.ICON_COLOURS


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def sparkline_png(values: tuple[float, ...], last_point_type: str | None = None) -> bytes | None:
    """A small trend line (oldest to latest) with the latest point coloured as on the SPC chart."""
    if len(values) < 2:
        return None
    from PIL import Image, ImageDraw

    width, height, pad = 330, 84, 9
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    points = [(pad + i * (width - 2 * pad) / (len(values) - 1),
               height - pad - (v - low) / span * (height - 2 * pad)) for i, v in enumerate(values)]
    mean_y = height - pad - (sum(values) / len(values) - low) / span * (height - 2 * pad)
    draw.line([(pad, mean_y), (width - pad, mean_y)], fill=_rgb(charts.NHS_PALE_GREY), width=2)
    draw.line(points, fill=_rgb(charts.NHS_BLUE), width=4, joint="curve")
    x, y = points[-1]
    colour = _rgb(charts.POINT_COLOURS.get(last_point_type or "", charts.NHS_DARK_BLUE))
    draw.ellipse([x - 7, y - 7, x + 7, y + 7], fill=colour, outline="white")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@lru_cache(maxsize=32)
def icon_png(kind: str | None) -> bytes | None:
    """A round icon in the Making Data Count colours: H or L for special cause, P, F or ? for assurance."""
    if not kind:
        return None
    from PIL import Image, ImageDraw, ImageFont

    size = 96
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    group = kind if kind in _ICON_COLOURS else kind.split("_")[0]
    colour = _rgb(_ICON_COLOURS.get(group, charts.NHS_MID_GREY))
    draw.ellipse([3, 3, size - 3, size - 3], fill="white", outline=colour, width=8)
    letter = {"consistent_pass": "P", "consistent_fail": "F", "inconsistent": "?"}.get(kind)
    if letter is None and kind != "common_cause":
        letter = "H" if kind.endswith("high") else "L"
    if letter:
        font = ImageFont.load_default(size=52)
        draw.text((size / 2, size / 2 + 2), letter, fill=colour, font=font, anchor="mm")
    else:  # common cause: a flat wavy line, as on the NHS icon
        wave = [(20 + i * 7, size / 2 + (-8 if i % 2 else 8)) for i in range(9)]
        draw.line(wave, fill=colour, width=7, joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# ----------------------------------------------------------------------------------------------------------------
# Renderers: the same pack in three formats.


def render(pack: BoardPack, fmt: str) -> bytes:
    renderers = {"pptx": render_pptx, "docx": render_docx, "pdf": render_pdf}
    if fmt not in renderers:
        raise ValueError(f"board pack format must be one of {', '.join(renderers)}, got {fmt!r}")
    return renderers[fmt](pack)


def format_of(path: Path | str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"the output file must end in .pptx, .docx or .pdf, got {Path(path).name!r}")
    return suffix


def write_pack(store: Store, pcn_code: str, out: Path | str, period: str | date | None = None,
               *, produced: date | None = None, principal: access.Principal = access.OPEN) -> BoardPack:
    """Build the pack and write it in the format its file name ends with."""
    fmt = format_of(out)
    pack = build_pack(store, pcn_code, period, produced=produced, principal=principal)
    data = render(pack, fmt)
    # A folder is never created: a mistyped path would silently put the pack where nobody looks for it.
    if not Path(out).parent.is_dir():
        raise ValueError(f"the folder {shown(str(Path(out).parent), 200)} does not exist; create it first, or write the "
                         "pack into a folder that does. The board pack was not written.")
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise ValueError(f"could not write {shown(str(out), 200)}: {exc.strerror or type(exc).__name__}. The board pack "
                         "was not written; choose another file name or folder.") from None
    return pack


def _chunks(items, size: int):
    return [items[i:i + size] for i in range(0, len(items), size)] or [items[:0]]


def _continued(title: str, index: int) -> str:
    return title if index == 0 else f"{title} (continued)"


# --- PowerPoint ---

SUMMARY_ROWS_PER_SLIDE = 12
DEFINITIONS_PER_SLIDE = 4
PRACTICES_PER_SLIDE = 10


def render_pptx(pack: BoardPack) -> bytes:
    """A 16:9 deck: real titles, text boxes and tables (editable), pictures only for charts and glyphs."""
    from pptx import Presentation
    from pptx.util import Inches, Pt

    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    deck.core_properties.title = pack.cover.title
    deck.core_properties.author = "PCN dashboard"

    _pptx_cover(deck, pack)
    for family in FAMILIES:
        rows = [row for row in pack.summary if row.family == FAMILY_LABELS[family]]
        for index, chunk in enumerate(_chunks(rows, SUMMARY_ROWS_PER_SLIDE) if rows else []):
            _pptx_summary(deck, pack, chunk, _continued(f"{SUMMARY}: {FAMILY_LABELS[family]}", index))
    if pack.exceptions:
        for page in pack.exceptions:
            _pptx_exception(deck, pack, page)
    else:
        slide = _pptx_slide(deck, EXCEPTIONS)
        _pptx_text(slide, Inches(0.5), Inches(1.4), Inches(12.3), Inches(1),
                   [("No measure needs attention this period.", Pt(18), False)])
    if pack.practices is not None:
        for index, chunk in enumerate(_chunks(list(pack.practices.practices), PRACTICES_PER_SLIDE)):
            _pptx_practices(deck, pack, chunk, _continued(PRACTICES, index))
    if pack.money is not None:
        _pptx_money(deck, pack, pack.money)
    for index, chunk in enumerate(_chunks(list(pack.definitions), DEFINITIONS_PER_SLIDE)):
        _pptx_definitions(deck, pack, chunk, _continued(APPENDIX, index))
    _pptx_sources(deck, pack, _continued(APPENDIX, 1))
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def _pptx_colour(hex_colour: str):
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_colour.lstrip("#"))


def _pptx_slide(deck, title: str):
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches, Pt

    slide = deck.slides.add_slide(deck.slide_layouts[5])  # "Title Only": the title stays a real title placeholder
    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.8)
    shape.text = title
    paragraph = shape.text_frame.paragraphs[0]
    paragraph.alignment = PP_ALIGN.LEFT
    paragraph.font.size = Pt(28)
    paragraph.font.bold = True
    paragraph.font.color.rgb = _pptx_colour(charts.NHS_DARK_BLUE)
    return slide


def _pptx_footer(slide, pack: BoardPack, text: str | None = None) -> None:
    from pptx.util import Inches, Pt

    _pptx_text(slide, Inches(0.5), Inches(7.0), Inches(12.3), Inches(0.35),
               [(text or pack.cover.running_footer, Pt(9), False)], colour=charts.NHS_DARK_GREY)


def _pptx_text(slide, left, top, width, height, paragraphs, colour: str = charts.NHS_TEXT, fit: bool = False):
    """A text box; `paragraphs` is a list of (text, size, bold)."""
    from pptx.enum.text import MSO_AUTO_SIZE

    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    if fit:
        frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE  # PowerPoint shrinks long notes rather than spill
    for index, (text, size, bold) in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        paragraph.text = text
        paragraph.font.size = size
        paragraph.font.bold = bold
        paragraph.font.color.rgb = _pptx_colour(colour)
        paragraph.space_after = int(size * 0.4)
    return box


def _pptx_cover(deck, pack: BoardPack) -> None:
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, pack.cover.title)
    slide.shapes.title.top, slide.shapes.title.height = Inches(2.0), Inches(1.2)
    slide.shapes.title.text_frame.paragraphs[0].font.size = Pt(40)
    band = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, deck.slide_width, Inches(0.35))
    band.fill.solid()
    band.fill.fore_color.rgb = _pptx_colour(charts.NHS_BLUE)
    band.line.fill.background()
    _pptx_text(slide, Inches(0.5), Inches(3.3), Inches(12.3), Inches(2.4),
               [(line, Pt(20), False) for line in pack.cover.lines()])
    if pack.cover.dataset_label:
        label = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(0.5), Inches(5.9), Inches(12.3), Inches(0.8))
        label.fill.solid()
        label.fill.fore_color.rgb = _pptx_colour(charts.NHS_WARM_YELLOW)
        label.line.fill.background()
        frame = label.text_frame
        frame.word_wrap = True
        frame.text = pack.cover.dataset_label
        frame.paragraphs[0].font.size = Pt(16)
        frame.paragraphs[0].font.bold = True
        frame.paragraphs[0].font.color.rgb = _pptx_colour(charts.NHS_TEXT)


def _pptx_cell(cell, text: str, size, *, bold: bool = False, fill: str | None = None, colour: str = charts.NHS_TEXT,
               indent=None) -> None:
    from pptx.enum.text import MSO_ANCHOR
    from pptx.util import Inches

    cell.text = text
    cell.vertical_anchor = MSO_ANCHOR.MIDDLE
    cell.margin_left = indent if indent is not None else Inches(0.06)
    cell.margin_right = Inches(0.04)
    cell.margin_top = cell.margin_bottom = Inches(0.02)
    for paragraph in cell.text_frame.paragraphs:
        paragraph.font.size = size
        paragraph.font.bold = bold
        paragraph.font.color.rgb = _pptx_colour(colour)
    cell.fill.solid()
    cell.fill.fore_color.rgb = _pptx_colour(fill or "#FFFFFF")


def _pptx_summary(deck, pack: BoardPack, rows: list[SummaryRow], title: str) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, title)
    widths = [1.45, 2.85, 1.05, 0.85, 2.3, 1.6, 1.5, 1.1]
    headers = SUMMARY_COLUMNS + ["Trend"]
    left, top, header_height, row_height = Inches(0.3), Inches(1.2), Inches(0.42), Inches(0.42)
    shape = slide.shapes.add_table(len(rows) + 1, len(headers), left, top, Inches(sum(widths)),
                                   header_height + row_height * len(rows))
    table = shape.table
    for column, width in zip(table.columns, widths):
        column.width = Inches(width)
    table.rows[0].height = header_height
    for index, header in enumerate(headers):
        _pptx_cell(table.cell(0, index), header, Pt(11), bold=True, fill=charts.NHS_BLUE, colour="#FFFFFF")
    icon_indent = Inches(0.4)
    for number, row in enumerate(rows, start=1):
        table.rows[number].height = row_height
        fill = "#FDF1E2" if row.needs_attention else ("#FFFFFF" if number % 2 else "#F3F6F7")
        icons = {5: icon_png(row.variation), 6: icon_png(row.assurance)}
        for index, text in enumerate(row.cells() + [""]):
            _pptx_cell(table.cell(number, index), text, Pt(9 if index in (0, 4) else 10), fill=fill,
                       bold=index == 1 and row.needs_attention, indent=icon_indent if icons.get(index) else None)
        # Pictures sit on top of their cells: python-pptx tables hold text only.
        row_top = top + header_height + row_height * (number - 1)
        column_left = [left + Inches(sum(widths[:i])) for i in range(len(widths))]
        for column, png in icons.items():
            if png:
                slide.shapes.add_picture(io.BytesIO(png), column_left[column] + Inches(0.06),
                                         row_top + (row_height - Inches(0.28)) // 2, Inches(0.28), Inches(0.28))
        if row.sparkline_png:
            slide.shapes.add_picture(io.BytesIO(row.sparkline_png), column_left[7] + Inches(0.07),
                                     row_top + (row_height - Inches(0.25)) // 2, Inches(0.96), Inches(0.245))
    notes = [pack.summary_notes[0], *([pack.suppression_note] if pack.suppression_note else [])]
    _pptx_footer(slide, pack, " ".join(notes) + "  ·  " + pack.cover.running_footer)


def _pptx_exception(deck, pack: BoardPack, page: ExceptionPage) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, page.heading)
    _pptx_text(slide, Inches(0.5), Inches(0.95), Inches(12.3), Inches(0.4),
               [(f"{page.family} · needs attention", Pt(13), False)], colour=charts.NHS_DARK_GREY)
    chart_width = Inches(8.3)
    if page.chart_png:
        width_px, height_px = page.chart_size
        slide.shapes.add_picture(io.BytesIO(page.chart_png), Inches(0.4), Inches(1.4), chart_width,
                                 int(chart_width * height_px / width_px))
    paragraphs = [("Why it is here", Pt(14), True)] + [(f"• {r}", Pt(12), False) for r in page.reasons]
    paragraphs += [("What the chart shows", Pt(14), True), (page.narrative, Pt(12), False)]
    if page.notes:
        paragraphs += [("Notes on the chart", Pt(14), True)] + [(f"• {n}", Pt(11), False) for n in page.notes]
    _pptx_text(slide, Inches(8.9), Inches(1.4), Inches(4.1), Inches(4.0), paragraphs, fit=True)
    if page.footnotes:
        _pptx_text(slide, Inches(8.9), Inches(5.45), Inches(4.1), Inches(1.5),
                   [(f"{i}. {c}", Pt(9), False) for i, c in enumerate(page.footnotes, start=1)],
                   colour=charts.NHS_DARK_GREY, fit=True)
    _pptx_footer(slide, pack)
    slide.notes_slide.notes_text_frame.text = "\n".join([page.narrative, *page.reasons, *page.footnotes])


def _pptx_practices(deck, pack: BoardPack, practices: list[PracticeRow], title: str) -> None:
    from pptx.util import Inches, Pt

    page = pack.practices
    slide = _pptx_slide(deck, title)
    _pptx_text(slide, Inches(0.5), Inches(0.95), Inches(12.3), Inches(0.4), [(_practice_heading(page), Pt(13), False)],
               colour=charts.NHS_DARK_GREY)
    if not page.measures or not practices:
        _pptx_text(slide, Inches(0.5), Inches(1.5), Inches(12.3), Inches(1),
                   [("No practice-support measure has a fair share, or the PCN has no member practices.", Pt(16),
                     False)])
        _pptx_footer(slide, pack)
        return
    first = 3.0
    other = (12.7 - first) / len(page.measures)
    shape = slide.shapes.add_table(len(practices) + 1, len(page.measures) + 1, Inches(0.3), Inches(1.45),
                                   Inches(12.7), Inches(0.6 + 0.45 * len(practices)))
    table = shape.table
    for index, column in enumerate(table.columns):
        column.width = Inches(first if index == 0 else other)
    _pptx_cell(table.cell(0, 0), "Practice", Pt(11), bold=True, fill=charts.NHS_BLUE, colour="#FFFFFF")
    for index, (label, basis) in enumerate(page.measures, start=1):
        _pptx_cell(table.cell(0, index), f"{label}\nby {basis}", Pt(10), bold=True, fill=charts.NHS_BLUE,
                   colour="#FFFFFF")
    for number, practice in enumerate(practices, start=1):
        name = f"{practice.name} ({practice.code})" + ("" if practice.member_at_end else "\nleft the PCN during "
                                                                                          "these months")
        _pptx_cell(table.cell(number, 0), name, Pt(10))
        for index, cell in enumerate(practice.cells, start=1):
            _pptx_cell(table.cell(number, index), PracticePage.cell_text(cell), Pt(11), fill=_practice_fill(cell.band))
    _pptx_footer(slide, pack, " ".join(page.notes) + "  ·  " + pack.cover.running_footer)


def _pptx_money(deck, pack: BoardPack, page: MoneyPage) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, MONEY)
    _pptx_text(slide, Inches(0.5), Inches(0.95), Inches(12.3), Inches(0.4), [(page.heading, Pt(13), False)],
               colour=charts.NHS_DARK_GREY)
    widths = [2.6, 2.2, 1.3, 1.5, 1.2, 1.2, 2.7]
    shape = slide.shapes.add_table(len(page.rows) + 1, len(widths), Inches(0.3), Inches(1.45), Inches(sum(widths)),
                                   Inches(0.45 * (len(page.rows) + 1)))
    table = shape.table
    for column, width in zip(table.columns, widths):
        column.width = Inches(width)
    for index, header in enumerate(page.headers):
        _pptx_cell(table.cell(0, index), header, Pt(11), bold=True, fill=charts.NHS_BLUE, colour="#FFFFFF")
    for number, row in enumerate(page.rows, start=1):
        for index, value in enumerate(row):
            _pptx_cell(table.cell(number, index), value, Pt(10.5), bold=number == len(page.rows))
    lines = [page.payment_note] + [f"{name}: {size}" for name, size in page.payments]
    _pptx_text(slide, Inches(0.5), Inches(1.6 + 0.45 * (len(page.rows) + 1)), Inches(12.3), Inches(0.9),
               [(line, Pt(11), n == 0) for n, line in enumerate(lines)])
    _pptx_text(slide, Inches(0.5), Inches(4.9), Inches(12.3), Inches(2.0), [(n, Pt(9), False) for n in page.notes],
               colour=charts.NHS_DARK_GREY, fit=True)
    _pptx_footer(slide, pack)


def _pptx_definitions(deck, pack: BoardPack, definitions: list[Definition], title: str) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, title)
    widths = [2.6, 6.6, 3.5]
    shape = slide.shapes.add_table(len(definitions) + 1, 3, Inches(0.3), Inches(1.2), Inches(sum(widths)),
                                   Inches(0.4 + 1.3 * len(definitions)))
    table = shape.table
    table.rows[0].height = Inches(0.4)
    for row in list(table.rows)[1:]:
        row.height = Inches(1.3)
    for column, width in zip(table.columns, widths):
        column.width = Inches(width)
    for index, header in enumerate(["Measure", "Definition", "Source and data date"]):
        _pptx_cell(table.cell(0, index), header, Pt(11), bold=True, fill=charts.NHS_BLUE, colour="#FFFFFF")
    for number, item in enumerate(definitions, start=1):
        definition = f"{item.description} Numerator: {item.numerator}" + (
            f" Denominator: {item.denominator}" if item.denominator else "") + f" Unit: {item.unit}."
        source = f"{item.source}. {item.data_to}." + (f" Target or threshold: {item.goal}." if item.goal else "")
        for index, text in enumerate([f"{item.heading}\n{item.family}", definition, source]):
            _pptx_cell(table.cell(number, index), text, Pt(8 if index else 10))
        table.cell(number, 0).text_frame.paragraphs[0].font.bold = True
    _pptx_footer(slide, pack, "Each measure's caveats are in this slide's notes and in the Word and PDF packs.  ·  "
                 + pack.cover.running_footer)
    slide.notes_slide.notes_text_frame.text = "\n".join(
        f"{d.heading}: " + " ".join(d.caveats) for d in definitions if d.caveats)


def _pptx_sources(deck, pack: BoardPack, title: str) -> None:
    from pptx.util import Inches, Pt

    slide = _pptx_slide(deck, title)
    _pptx_text(slide, Inches(0.5), Inches(1.05), Inches(12.3), Inches(0.4), [("Data sources", Pt(16), True)])
    widths = [5.6, 3.2, 1.2, 2.7]
    shape = slide.shapes.add_table(len(pack.sources) + 1, 4, Inches(0.3), Inches(1.55), Inches(sum(widths)),
                                   Inches(0.4 * (len(pack.sources) + 1)))
    table = shape.table
    for row in table.rows:
        row.height = Inches(0.4)
    for column, width in zip(table.columns, widths):
        column.width = Inches(width)
    for index, header in enumerate(["Publication", "Publisher", "Measures", "Data date"]):
        _pptx_cell(table.cell(0, index), header, Pt(11), bold=True, fill=charts.NHS_BLUE, colour="#FFFFFF")
    for number, source in enumerate(pack.sources, start=1):
        for index, text in enumerate([source.publication, source.publisher or "–", str(source.measures),
                                      source.data_to]):
            _pptx_cell(table.cell(number, index), text, Pt(10))
    _pptx_footer(slide, pack)


# --- Word ---


def render_docx(pack: BoardPack) -> bytes:
    """A landscape A4 document with Heading 1 and Heading 2 styles, so Word's navigation pane lists every page."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_BREAK, WD_COLOR_INDEX
    from docx.shared import Cm, Pt, RGBColor

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    document.core_properties.title = pack.cover.title
    document.core_properties.author = "PCN dashboard"
    styles = document.styles
    styles["Normal"].font.name = "Arial"
    styles["Normal"].font.size = Pt(10.5)
    for name, size in (("Title", 30), ("Heading 1", 20), ("Heading 2", 15)):
        styles[name].font.name = "Arial"
        styles[name].font.size = Pt(size)
        styles[name].font.color.rgb = RGBColor.from_string(charts.NHS_DARK_BLUE.lstrip("#"))
    footer = section.footer.paragraphs[0]
    footer.text = pack.cover.running_footer
    footer.runs[0].font.size = Pt(8)

    def page_break():
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def small(text: str, italic: bool = False):
        paragraph = document.add_paragraph()
        run = paragraph.add_run(text)
        run.font.size = Pt(8.5)
        run.italic = italic
        run.font.color.rgb = RGBColor.from_string(charts.NHS_DARK_GREY.lstrip("#"))
        return paragraph

    # Cover
    document.add_paragraph(pack.cover.title, style="Title")
    for line in pack.cover.lines():
        document.add_paragraph(line).runs[0].font.size = Pt(14)
    if pack.cover.dataset_label:
        run = document.add_paragraph().add_run(pack.cover.dataset_label)
        run.bold = True
        run.font.size = Pt(13)
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW  # the label must not be missed when printed
    page_break()

    # Summary matrix
    document.add_heading(SUMMARY, level=1)
    headers = SUMMARY_COLUMNS + ["Trend"]
    widths = [Cm(2.9), Cm(5.0), Cm(2.0), Cm(1.8), Cm(4.3), Cm(3.9), Cm(3.3), Cm(2.9)]
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    _docx_header_row(table, headers, widths)
    _docx_widths(table, widths)
    for row in pack.summary:
        cells = table.add_row().cells
        for index, text in enumerate(row.cells()):
            paragraph = cells[index].paragraphs[0]
            icon = icon_png(row.variation) if index == 5 else icon_png(row.assurance) if index == 6 else None
            if icon:
                paragraph.add_run().add_picture(io.BytesIO(icon), width=Cm(0.42))
            run = paragraph.add_run(("\u00a0" if icon else "") + text)
            run.font.size = Pt(8.5)
            run.bold = index == 1 and row.needs_attention
            if row.needs_attention:
                _docx_shade(cells[index], "FDF1E2")
        if row.sparkline_png:
            cells[7].paragraphs[0].add_run().add_picture(io.BytesIO(row.sparkline_png), width=Cm(2.2))
        if row.needs_attention:
            _docx_shade(cells[7], "FDF1E2")
        for cell, width in zip(cells, widths):
            cell.width = width
    for note in pack.summary_notes:
        small(note)
    page_break()

    # One page per exception
    document.add_heading(EXCEPTIONS, level=1)
    document.add_paragraph(f"{len(pack.exceptions)} of {len(pack.summary)} measures need attention this period."
                           if pack.exceptions else "No measure needs attention this period.")
    for index, page in enumerate(pack.exceptions):
        if index:
            page_break()
        document.add_heading(page.heading, level=2)
        small(f"{page.family} · needs attention")
        layout = document.add_table(rows=1, cols=2)
        _docx_widths(layout, [Cm(16.4), Cm(10.2)])
        chart_cell, text_cell = layout.rows[0].cells
        if page.chart_png:
            chart_cell.paragraphs[0].add_run().add_picture(io.BytesIO(page.chart_png), width=Cm(15.8))
        _docx_label(text_cell.paragraphs[0], "Why it is here")
        for reason in page.reasons:
            text_cell.add_paragraph(reason, style="List Bullet")
        _docx_label(text_cell.add_paragraph(), "What the chart shows")
        text_cell.add_paragraph(page.narrative)
        if page.notes:
            _docx_label(text_cell.add_paragraph(), "Notes on the chart")
            for note in page.notes:
                text_cell.add_paragraph(note, style="List Bullet")
        if page.footnotes:
            _docx_label(text_cell.add_paragraph(), "Caveats")
        for number, caveat in enumerate(page.footnotes, start=1):
            run = text_cell.add_paragraph().add_run(f"{number}. {caveat}")
            run.font.size = Pt(8.5)
            run.font.color.rgb = RGBColor.from_string(charts.NHS_DARK_GREY.lstrip("#"))
    page_break()

    if pack.practices is not None:
        _docx_practices(document, pack.practices, small)
        page_break()
    if pack.money is not None:
        _docx_money(document, pack.money, small)
        page_break()

    # Appendix
    document.add_heading(APPENDIX, level=1)
    for item in pack.definitions:
        document.add_heading(item.heading, level=2)
        small(item.family)
        for label, text in item.paragraphs():
            paragraph = document.add_paragraph()
            paragraph.add_run(f"{label}: ").bold = True
            paragraph.add_run(text)
            paragraph.paragraph_format.space_after = Pt(2)
        for caveat in item.caveats:
            small(f"Caveat: {caveat}", italic=True)
    document.add_heading("Data sources", level=2)
    sources = document.add_table(rows=1, cols=4)
    sources.style = "Table Grid"
    source_widths = [Cm(12), Cm(6.5), Cm(2.2), Cm(5.5)]
    _docx_header_row(sources, ["Publication", "Publisher", "Measures", "Data date"], source_widths)
    _docx_widths(sources, source_widths)
    for source in pack.sources:
        cells = sources.add_row().cells
        for cell, text, width in zip(cells, [source.publication, source.publisher or "–", str(source.measures),
                                             source.data_to], source_widths):
            cell.paragraphs[0].add_run(text).font.size = Pt(9)
            cell.width = width
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _docx_practices(document, page: PracticePage, small) -> None:
    from docx.shared import Cm, Pt

    document.add_heading(PRACTICES, level=1)
    document.add_paragraph(_practice_heading(page))
    if not page.measures or not page.practices:
        document.add_paragraph("No practice-support measure has a fair share, or the PCN has no member practices.")
        return
    first = Cm(5.5)
    widths = [first] + [Cm((26.7 - 5.5) / len(page.measures))] * len(page.measures)
    table = document.add_table(rows=1, cols=len(widths))
    table.style = "Table Grid"
    _docx_header_row(table, ["Practice"] + [f"{label} (by {basis})" for label, basis in page.measures], widths)
    _docx_widths(table, widths)
    for practice in page.practices:
        cells = table.add_row().cells
        name = cells[0].paragraphs[0].add_run(f"{practice.name} ({practice.code})"
                                              + ("" if practice.member_at_end else ", left the PCN during these "
                                                                                   "months"))
        name.font.size = Pt(9.5)
        for cell, value in zip(cells[1:], practice.cells):
            run = cell.paragraphs[0].add_run(PracticePage.cell_text(value))
            run.font.size = Pt(9.5)
            _docx_shade(cell, _practice_fill(value.band).lstrip("#"))
        for cell, width in zip(cells, widths):
            cell.width = width
    for note in page.notes:
        small(note)


def _docx_money(document, page: MoneyPage, small) -> None:
    from docx.shared import Cm, Pt

    document.add_heading(MONEY, level=1)
    document.add_paragraph(page.heading)
    widths = [Cm(6.0), Cm(4.5), Cm(2.6), Cm(3.0), Cm(2.6), Cm(2.6), Cm(5.4)]
    table = document.add_table(rows=1, cols=len(widths))
    table.style = "Table Grid"
    _docx_header_row(table, list(page.headers), widths)
    _docx_widths(table, widths)
    for number, row in enumerate(page.rows, start=1):
        cells = table.add_row().cells
        for cell, value, width in zip(cells, row, widths):
            run = cell.paragraphs[0].add_run(value)
            run.font.size = Pt(9.5)
            run.bold = number == len(page.rows)
            cell.width = width
    document.add_paragraph().add_run(page.payment_note).bold = True
    for name, size in page.payments:
        document.add_paragraph(f"{name}: {size}")
    for note in page.notes:
        small(note)


def _docx_shade(cell, hex_fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), hex_fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _docx_widths(table, widths) -> None:
    # Word reads the cell widths, LibreOffice the grid's: set both, and stop autofit from undoing them.
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width


def _docx_header_row(table, headers: list[str], widths) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    row = table.rows[0]
    # Repeat the header row on every printed page of a long table.
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(repeat)
    for cell, header, width in zip(row.cells, headers, widths):
        run = cell.paragraphs[0].add_run(header)
        run.bold = True
        run.font.size = Pt(9)
        run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
        _docx_shade(cell, charts.NHS_BLUE.lstrip("#"))
        cell.width = width


def _docx_label(paragraph, text: str) -> None:
    from docx.shared import Pt, RGBColor

    run = paragraph.add_run(text)
    run.bold = True
    run.font.size = Pt(12)
    run.font.color.rgb = RGBColor.from_string(charts.NHS_DARK_BLUE.lstrip("#"))


# --- PDF ---


def render_pdf(pack: BoardPack) -> bytes:
    """A landscape A4 PDF (reportlab): real text and tables, chart images, and a bookmark for every heading."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import (BaseDocTemplate, Frame, Image, KeepTogether, PageBreak, PageTemplate,
                                    Paragraph, Spacer, Table, TableStyle)

    page_size = landscape(A4)
    margin = 1.5 * cm
    blue, dark_blue, grey = (colors.HexColor(c) for c in (charts.NHS_BLUE, charts.NHS_DARK_BLUE, charts.NHS_DARK_GREY))
    sheet = getSampleStyleSheet()
    styles = {
        "title": ParagraphStyle("PackTitle", parent=sheet["Title"], alignment=TA_LEFT, fontSize=30, leading=36,
                                textColor=dark_blue, spaceAfter=18),
        "h1": ParagraphStyle("Heading1", parent=sheet["Heading1"], fontSize=20, leading=24, textColor=dark_blue),
        "h2": ParagraphStyle("Heading2", parent=sheet["Heading2"], fontSize=15, leading=19, textColor=dark_blue),
        "body": ParagraphStyle("Body", parent=sheet["BodyText"], fontSize=10.5, leading=14),
        "cover": ParagraphStyle("Cover", parent=sheet["BodyText"], fontSize=15, leading=22),
        "label": ParagraphStyle("Label", parent=sheet["BodyText"], fontSize=12, leading=15, textColor=dark_blue,
                                fontName="Helvetica-Bold", spaceBefore=6),
        "cell": ParagraphStyle("Cell", parent=sheet["BodyText"], fontSize=8.5, leading=10.5),
        "cell_bold": ParagraphStyle("CellBold", parent=sheet["BodyText"], fontSize=8.5, leading=10.5,
                                    fontName="Helvetica-Bold"),
        "header": ParagraphStyle("Header", parent=sheet["BodyText"], fontSize=9, leading=11, textColor=colors.white,
                                 fontName="Helvetica-Bold"),
        "small": ParagraphStyle("Small", parent=sheet["BodyText"], fontSize=8.5, leading=11, textColor=grey),
        "banner": ParagraphStyle("Banner", parent=sheet["BodyText"], fontSize=13, leading=17,
                                 fontName="Helvetica-Bold", backColor=colors.HexColor(charts.NHS_WARM_YELLOW),
                                 borderPadding=8, spaceBefore=16),
    }

    def text(value: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(value).replace("\n", "<br/>"), styles[style])

    class PackDocument(BaseDocTemplate):
        def afterFlowable(self, flowable):
            # Headings become PDF bookmarks, the reader's equivalent of Word's navigation pane.
            if isinstance(flowable, Paragraph) and flowable.style.name in ("Heading1", "Heading2"):
                level = 0 if flowable.style.name == "Heading1" else 1
                key = f"h{id(flowable)}"
                self.canv.bookmarkPage(key)
                self.canv.addOutlineEntry(flowable.getPlainText(), key, level=level, closed=level > 0)

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(grey)
        canvas.drawString(margin, 0.8 * cm, pack.cover.running_footer)
        canvas.drawRightString(page_size[0] - margin, 0.8 * cm, f"Page {document.page}")
        canvas.restoreState()

    out = io.BytesIO()
    document = PackDocument(out, pagesize=page_size, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title=pack.cover.title, author="PCN dashboard",
                            subject=f"Board pack, data to {pack.cover.period_label}")
    frame = Frame(margin, margin, page_size[0] - 2 * margin, page_size[1] - 2 * margin, id="body")
    document.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=footer)])
    width = page_size[0] - 2 * margin

    story = [Spacer(1, 3 * cm), text(pack.cover.title, "title")]
    story += [text(line, "cover") for line in pack.cover.lines()]
    if pack.cover.dataset_label:
        story.append(text(pack.cover.dataset_label, "banner"))
    story.append(PageBreak())

    story.append(text(SUMMARY, "h1"))
    column_widths = [2.9 * cm, 5.0 * cm, 2.2 * cm, 1.8 * cm, 4.7 * cm, 3.5 * cm, 3.4 * cm, 3.1 * cm]

    def with_icon(kind: str | None, label: str):
        icon = icon_png(kind)
        if not icon:
            return text(label, "cell")
        inner = Table([[Image(io.BytesIO(icon), 0.42 * cm, 0.42 * cm), text(label, "cell")]],
                      colWidths=[0.6 * cm, None])
        inner.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                   ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
        return inner

    data = [[text(h, "header") for h in SUMMARY_COLUMNS + ["Trend"]]]
    style = [("BACKGROUND", (0, 0), (-1, 0), blue), ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#AEB7BD")),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    for number, row in enumerate(pack.summary, start=1):
        cells = row.cells()
        trend = Image(io.BytesIO(row.sparkline_png), 2.8 * cm, 0.71 * cm) if row.sparkline_png else text("–", "cell")
        data.append([text(cells[0], "cell"), text(cells[1], "cell_bold" if row.needs_attention else "cell"),
                     text(cells[2], "cell"), text(cells[3], "cell"), text(cells[4], "cell"),
                     with_icon(row.variation, cells[5]), with_icon(row.assurance, cells[6]), trend])
        if row.needs_attention:
            style.append(("BACKGROUND", (0, number), (-1, number), colors.HexColor("#FDF1E2")))
    summary = Table(data, colWidths=column_widths, repeatRows=1)
    summary.setStyle(TableStyle(style))
    story.append(summary)
    story.append(Spacer(1, 0.3 * cm))
    story += [text(note, "small") for note in pack.summary_notes]
    story.append(PageBreak())

    story.append(text(EXCEPTIONS, "h1"))
    story.append(text(f"{len(pack.exceptions)} of {len(pack.summary)} measures need attention this period."
                      if pack.exceptions else "No measure needs attention this period."))
    for index, page in enumerate(pack.exceptions):
        if index:
            story.append(PageBreak())
        story.append(text(page.heading, "h2"))
        story.append(text(f"{page.family} · needs attention", "small"))
        side = [text("Why it is here", "label")] + [text(f"• {r}") for r in page.reasons]
        side += [text("What the chart shows", "label"), text(page.narrative)]
        if page.notes:
            side += [text("Notes on the chart", "label")] + [text(f"• {n}") for n in page.notes]
        chart_width = 17.2 * cm
        chart = (Image(io.BytesIO(page.chart_png), chart_width, chart_width * page.chart_size[1] / page.chart_size[0])
                 if page.chart_png else text("No chart: too few points.", "small"))
        layout = Table([[chart, side]], colWidths=[chart_width + 0.4 * cm, width - chart_width - 0.4 * cm])
        layout.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
        story.append(layout)
        story += [text(f"{n}. {c}", "small") for n, c in enumerate(page.footnotes, start=1)]
    story.append(PageBreak())

    if pack.practices is not None:
        page = pack.practices
        story.append(text(PRACTICES, "h1"))
        story.append(text(_practice_heading(page)))
        if page.measures and page.practices:
            first = 5.5 * cm
            rest = (width - first) / len(page.measures)
            grid = [[text("Practice", "header")] + [text(f"{label} (by {basis})", "header")
                                                    for label, basis in page.measures]]
            shading = [("BACKGROUND", (0, 0), (-1, 0), blue),
                       ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#AEB7BD")),
                       ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
            for number, practice in enumerate(page.practices, start=1):
                name = f"{practice.name} ({practice.code})" + ("" if practice.member_at_end else
                                                               ", left the PCN during these months")
                grid.append([text(name, "cell")] + [text(PracticePage.cell_text(c, arrows=False), "cell") for c in practice.cells])
                shading += [("BACKGROUND", (column, number), (column, number), colors.HexColor(_practice_fill(c.band)))
                            for column, c in enumerate(practice.cells, start=1)]
            practice_table = Table(grid, colWidths=[first] + [rest] * len(page.measures), repeatRows=1)
            practice_table.setStyle(TableStyle(shading))
            story.append(practice_table)
        else:
            story.append(text("No practice-support measure has a fair share, or the PCN has no member practices."))
        story.append(Spacer(1, 0.3 * cm))
        story += [text(note, "small") for note in page.notes]
        story.append(PageBreak())

    if pack.money is not None:
        money = pack.money
        story += [text(MONEY, "h1"), text(money.heading)]
        grid = [[text(h, "header") for h in money.headers]]
        grid += [[text(v, "cell_bold" if n == len(money.rows) - 1 else "cell") for v in row]
                 for n, row in enumerate(money.rows)]
        money_table = Table(grid, colWidths=[6.0 * cm, 4.5 * cm, 2.6 * cm, 3.0 * cm, 2.6 * cm, 2.6 * cm,
                                             width - 21.3 * cm], repeatRows=1)
        money_table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), blue),
                                         ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#AEB7BD")),
                                         ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [money_table, Spacer(1, 0.3 * cm), text(money.payment_note, "label")]
        story += [text(f"{name}: {size}") for name, size in money.payments]
        story += [text(note, "small") for note in money.notes]
        story.append(PageBreak())

    story.append(text(APPENDIX, "h1"))
    for item in pack.definitions:
        block = [text(item.heading, "h2"), text(item.family, "small")]
        block += [Paragraph(f"<b>{escape(label)}:</b> {escape(value)}", styles["body"])
                  for label, value in item.paragraphs()]
        block += [text(f"Caveat: {c}", "small") for c in item.caveats]
        story.append(KeepTogether(block[:3]))  # never a heading alone at the foot of a page
        story += block[3:]
    story.append(text("Data sources", "h2"))
    rows = [[text(h, "header") for h in ("Publication", "Publisher", "Measures", "Data date")]]
    rows += [[text(s.publication, "cell"), text(s.publisher or "–", "cell"), text(str(s.measures), "cell"),
              text(s.data_to, "cell")] for s in pack.sources]
    sources = Table(rows, colWidths=[12 * cm, 6.5 * cm, 2.2 * cm, width - 20.7 * cm], repeatRows=1)
    sources.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), blue),
                                 ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#AEB7BD")),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(sources)
    document.build(story)
    return out.getvalue()
