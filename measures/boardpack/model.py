"""The board pack's format-neutral model: what each page says, as frozen dataclasses, and its headings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from .. import suppression
from ..contract.pack import MoneyPage
from ..data_quality import DATA_PAGE, DataPage


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
    pcn_name: str  # the organisation as the pack names it: "Thornbury PCN", "Riverside neighbourhood"
    pcn_code: str
    icb_name: str | None
    icb_code: str | None
    sub_icb_name: str | None
    period: date
    produced: date
    dataset_label: str | None  # set when the database holds synthetic data
    org_kind: str = "PCN"  # what the organisation is: "PCN" or "Neighbourhood"
    org_name: str | None = None  # its own name on the first line, when that differs from `pcn_name`
    extra_lines: tuple[str, ...] = ()  # said under the first line: a neighbourhood's footprint and member PCNs

    @property
    def title(self) -> str:
        return f"Board pack: {self.pcn_name}"

    @property
    def noun(self) -> str:
        """The kind mid-sentence: "this PCN", "this neighbourhood"."""
        return self.org_kind if self.org_kind.isupper() else self.org_kind.lower()

    @property
    def period_label(self) -> str:
        return f"{self.period:%B %Y}"

    def lines(self) -> list[str]:
        lines = [f"{self.org_kind}: {self.org_name or self.pcn_name} ({self.pcn_code})", *self.extra_lines]
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
        from ..practice_view import tolerance_text

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
        from ..practice_view import ABOVE, BELOW, IN_LINE

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
    data: DataPage | None = None  # each publication's latest file and this PCN's coverage in it

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


# Cell tints of the practice page: those of the app's table (measures.practice_html), one per band.
def _practice_fill(band: str) -> str:
    from ..practice_html import CELL_STYLES

    return CELL_STYLES.get(band, ("#FFFFFF", ""))[0]


def _practice_heading(page: PracticePage) -> str:
    return f"Share of the PCN's total ÷ fair share, practice by practice, {page.period}"
