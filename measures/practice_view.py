"""What the PCN did for each practice: fair-share ratios practice by practice, their chart, each practice's series.

The matrix (`practice_matrix`) has one row per member practice and Support-for-practices measure with a
`fair_share` field. Each row's ratio is the practice's share of the PCN's total of the resource divided by its
fair share (its share of the PCN's registered or weighted patients), as `measures.local.fair_share` computes it
over the same practice-months. Its band reads the ratio as it is shown, to two decimal places:

- **in line**: the ratio shown is within ±tolerance of 1, both ends included (with the default 10%: 0.90× to
  1.10×, so a cell reading 1.10× is always in line and 1.11× never is);
- **above fair share** / **below fair share**: beyond that;
- **suppressed**: the practice's total is a small number (`measures.suppression`), so its share is hidden;
- **no data**: nothing recorded for the practice in those months, or no list size to set its fair share.

The default period is the 12 months up to and including the latest month in which any of those measures has a
value for the PCN's practices (`queries.practice_spread`), so the whole table covers one span; a measure
recorded less recently covers fewer months, which its `first_period`, `last_period` and `periods` say.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import detail, local, queries, suppression
from .catalogue import Catalogue, Measure
from .charts import NHS_BLUE, NHS_DARK_GREY, NHS_MID_GREY, NHS_PALE_GREY, NHS_TEXT, titled
from .charts_fair_share import POPULATION_BASIS
from .store import Store

IN_LINE = "in line"
ABOVE = "above fair share"
BELOW = "below fair share"
NO_DATA = "no data"
SUPPRESSED = "suppressed"
BANDS = (ABOVE, IN_LINE, BELOW, SUPPRESSED, NO_DATA)

DEFAULT_TOLERANCE = 0.10
DEFAULT_MONTHS = 12
RATIO_DECIMALS = 2  # the band is decided on the ratio as shown, so a cell never contradicts its own band

FAMILY = "practice_support"

MATRIX_COLUMNS = [
    "measure", "measure_label", "fair_share_basis", "org", "org_name", "member_at_end",
    "resource", "resource_share", "population_share", "ratio", "band", "suppressed",
    "periods", "first_period", "last_period", "period_start", "period_end", "tolerance",
]
SERIES_COLUMNS = ["measure", "version", "org", "period_start", "numerator", "denominator", "value"]

# Reads one measure's fair shares: (measure_id, pcn_code, start, end) -> the frame of `local.fair_share`,
# already suppressed. A page passes `lambda *args: ui.query("local.fair_share", *args)` so that access rules and
# caching apply; the default reads the store and suppresses here.
SharesReader = Callable[[str, str, date, date], pd.DataFrame]


# ---------------------------------------------------------------------------------------------
# Bands


def _check_tolerance(tolerance: float) -> float:
    tolerance = float(tolerance)
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance is a fraction of fair share from 0 up to (not including) 1, such as 0.10 "
                         f"for ±10%; got {tolerance!r}")
    return tolerance


def shown_ratio(ratio: float | None) -> float | None:
    """The ratio as the table shows it (two decimal places); None when it is missing or not finite."""
    if ratio is None or not math.isfinite(float(ratio)):
        return None
    return round(float(ratio), RATIO_DECIMALS)


def band(ratio: float | None, tolerance: float = DEFAULT_TOLERANCE, *, suppressed: bool = False) -> str:
    """The fair-share band of one ratio (see the module docstring for the rule and its boundaries)."""
    tolerance = _check_tolerance(tolerance)
    if suppressed:
        return SUPPRESSED
    shown = shown_ratio(ratio)
    if shown is None:
        return NO_DATA
    lowest, highest = round(1 - tolerance, RATIO_DECIMALS), round(1 + tolerance, RATIO_DECIMALS)
    if shown < lowest:
        return BELOW
    if shown > highest:
        return ABOVE
    return IN_LINE


def tolerance_text(tolerance: float = DEFAULT_TOLERANCE) -> str:
    """`within ±10% of fair share`, for legends and subtitles."""
    return f"within ±{_check_tolerance(tolerance) * 100:g}% of fair share"


def ratio_text(ratio: float | None) -> str:
    shown = shown_ratio(ratio)
    return "–" if shown is None else f"{shown:.{RATIO_DECIMALS}f}×"


def month_text(day) -> str:
    return pd.Timestamp(day).strftime("%b %Y")


def period_text(start, end) -> str:
    """`Oct 2025 to Sep 2026`, or one month."""
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return "no months with values"
    if pd.Timestamp(start) == pd.Timestamp(end):
        return month_text(start)
    return f"{month_text(start)} to {month_text(end)}"


# ---------------------------------------------------------------------------------------------
# Members and the matrix


def fair_share_measures(catalogue: Catalogue | Iterable[Measure]) -> list[Measure]:
    """The Support-for-practices measures, recorded practice by practice, that say what their fair share follows."""
    return [m for m in catalogue
            if m.family == FAMILY and m.level == "practice" and m.fair_share is not None and m.status != "retired"]


def practice_members(store: Store, pcn_code: str, day: date | None = None, *,
                     include_former: bool = False) -> pd.DataFrame:
    """The PCN's member practices on `day` (default: its open memberships now): org, org_name, by name.

    With `include_former`, every practice that was ever a member follows them (column `current` says which are
    members on `day`), so a series that reaches back before a practice left can still name it.
    """
    when = "m.end_date IS NULL" if day is None else "m.start_date <= ? AND (m.end_date IS NULL OR m.end_date >= ?)"
    members = store.query(
        f"""
        SELECT m.child_code AS org, o.name AS org_name, bool_or({when}) AS current
        FROM memberships m JOIN organisations o ON o.org_code = m.child_code
        WHERE m.parent_code = ? AND m.parent_level = 'pcn' AND m.child_level = 'practice'
        GROUP BY ALL
        ORDER BY current DESC, org_name, org
        """, ([] if day is None else [day, day]) + [pcn_code])
    if not include_former:
        members = members[members["current"]].drop(columns="current")
    return members.reset_index(drop=True)


def default_period(store: Store, pcn_code: str, measures: Iterable[Measure],
                   months: int = DEFAULT_MONTHS) -> tuple[date, date] | None:
    """The `months` months up to the PCN's latest period with a practice value of any of `measures`; None if none."""
    ids = {m.id for m in measures}
    spread = queries.practice_spread(store, pcn_code)
    latest = spread.loc[spread["measure"].isin(ids), "period_start"] if not spread.empty else pd.Series(dtype=object)
    if latest.empty:
        return None
    end = pd.Timestamp(latest.max())
    return (end - pd.DateOffset(months=months - 1)).date(), end.date()


def _read_and_suppress(store: Store, rules: Mapping) -> SharesReader:
    def read(measure_id: str, pcn_code: str, start: date, end: date) -> pd.DataFrame:
        args = (measure_id, pcn_code, start, end)
        return suppression.suppress_query("local.fair_share", local.fair_share(store, *args), args, rules)
    return read


def practice_matrix(store: Store, pcn_code: str, catalogue: Catalogue, start: date | None = None,
                    end: date | None = None, tolerance: float = DEFAULT_TOLERANCE, *,
                    read_shares: SharesReader | None = None) -> pd.DataFrame:
    """One row per (member practice, Support-for-practices measure with a `fair_share` field): ratio and band.

    Columns are `MATRIX_COLUMNS`: shares are fractions; `ratio` is resource_share ÷ population_share;
    `member_at_end` is False for a practice that left the PCN during the months but held some of its resource
    then (kept, so the shares still add up to the PCN's total). Every practice that is a member at `end` has a
    row for every measure, with band "no data" where nothing was recorded. Without `start` and `end` the period
    is the default of the module docstring; with `end` alone, the 12 months up to it. Small numbers are
    suppressed (band "suppressed", shares missing, `suppressed` True) unless `read_shares` already does it.
    """
    tolerance = _check_tolerance(tolerance)
    measures = fair_share_measures(catalogue)
    if start is None or end is None:
        if end is not None:
            start = (pd.Timestamp(end) - pd.DateOffset(months=DEFAULT_MONTHS - 1)).date()
        else:
            span = default_period(store, pcn_code, measures)
            start, end = span if span else (None, None)
    if start is not None and pd.Timestamp(start) > pd.Timestamp(end):
        raise ValueError(f"the period starts ({start}) after it ends ({end})")
    members = practice_members(store, pcn_code, end)
    read = read_shares or _read_and_suppress(store, suppression.rules(catalogue))
    pieces = []
    for measure in measures:
        shares = read(measure.id, pcn_code, start, end) if start is not None else pd.DataFrame()
        pieces.append(_measure_rows(measure, members, shares, tolerance))
    if not pieces:
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    matrix = pd.concat(pieces, ignore_index=True)
    matrix["period_start"] = pd.Timestamp(start).date() if start is not None else None
    matrix["period_end"] = pd.Timestamp(end).date() if end is not None else None
    matrix["tolerance"] = tolerance
    return matrix[MATRIX_COLUMNS]


def _measure_rows(measure: Measure, members: pd.DataFrame, shares: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    rows = members.assign(member_at_end=True)
    if not shares.empty:
        shares = shares.rename(columns={"org_code": "org", "org_name": "share_org_name"})
        rows = rows.merge(shares, on="org", how="outer")
        rows["org_name"] = rows["org_name"].fillna(rows["share_org_name"])
        rows["member_at_end"] = rows["member_at_end"].fillna(False).astype(bool)
    for column in ("resource", "resource_share", "population_share", "ratio"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce") if column in rows else np.nan
    for column in ("periods", "first_period", "last_period"):
        if column not in rows:
            rows[column] = None
    rows["periods"] = pd.to_numeric(rows["periods"], errors="coerce").fillna(0).astype(int)
    flags = rows[suppression.FLAG] if suppression.FLAG in rows else pd.Series(False, index=rows.index)
    rows[suppression.FLAG] = flags.astype("boolean").fillna(False).astype(bool)
    rows["band"] = [band(ratio, tolerance, suppressed=hidden)
                    for ratio, hidden in zip(rows["ratio"], rows[suppression.FLAG])]
    rows["measure"] = measure.id
    rows["measure_label"] = measure.label
    rows["fair_share_basis"] = POPULATION_BASIS[measure.fair_share]
    return rows.sort_values(["member_at_end", "org_name", "org"], ascending=[False, True, True], kind="stable")


# ---------------------------------------------------------------------------------------------
# Small multiples: each practice's share against its fair share, a panel per measure

BAND_COLOURS = {ABOVE: NHS_BLUE, IN_LINE: NHS_MID_GREY, BELOW: "#B35A00"}  # blue and dark orange: colour-blind safe
BAND_SYMBOLS = {ABOVE: "triangle-right", IN_LINE: "circle", BELOW: "triangle-left"}  # a shape, not only a colour
BAND_LEGEND = {ABOVE: "Above fair share", IN_LINE: "In line", BELOW: "Below fair share"}
BAND_FILL = "rgba(232, 237, 238, 0.9)"  # NHS pale grey: the in-line band
TOP_PIXELS = 135


def practice_label(name, code) -> str:
    return f"{name} ({code})"


def fair_share_panels(matrix: pd.DataFrame, *, pcn_name: str, source: str | None = None,
                      columns: int = 3) -> go.Figure:
    """Small multiples, a panel per measure: each practice's ratio of its share to its fair share, the band shaded.

    `matrix` is `practice_matrix`'s frame. The shaded band is the in-line tolerance around 1.00× (exactly its
    fair share); markers are coloured and shaped by band; a suppressed practice shows `*` at 1.00× and the
    footnote; a practice with no data keeps its row, empty.
    """
    measures = list(dict.fromkeys(matrix["measure"]))
    if not measures:
        fig = go.Figure()
        fig.add_annotation(text="No practice-support measure with a fair share, or no member practices",
                           xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           font=dict(size=16, color=NHS_DARK_GREY))
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return titled(fig, f"Each practice's share against its fair share: {pcn_name}", None,
                      source or "Locally recorded by the PCN; population from list sizes", None)
    count = len(measures)
    columns = max(1, min(columns, count))
    rows_of_panels = math.ceil(count / columns)
    tolerance = float(matrix["tolerance"].iloc[0]) if len(matrix) else DEFAULT_TOLERANCE
    labels = {m: matrix.loc[matrix["measure"] == m, "measure_label"].iloc[0] for m in measures}
    specs = [[{} if r * columns + c < len(measures) else None for c in range(columns)] for r in range(rows_of_panels)]
    fig = make_subplots(rows=rows_of_panels, cols=columns, specs=specs, shared_yaxes="all",
                        subplot_titles=[labels[m] for m in measures] or None, horizontal_spacing=0.04,
                        vertical_spacing=min(0.5 / rows_of_panels, 0.12))
    practices = (matrix.drop_duplicates("org")
                 .sort_values(["member_at_end", "org_name", "org"], ascending=[False, True, True]))
    order = [practice_label(n, c) for n, c in zip(practices["org_name"], practices["org"])][::-1]
    ratios = matrix["ratio"].to_numpy(dtype=float)
    finite = ratios[np.isfinite(ratios)]
    right = max(2.0, math.ceil((finite.max() if finite.size else 0) * 10) / 10 + 0.1)
    in_legend: set[str] = set()
    for index, measure_id in enumerate(measures):
        row, col = index // columns + 1, index % columns + 1
        rows = matrix[matrix["measure"] == measure_id]
        axis = "" if index == 0 else str(index + 1)
        fig.add_shape(type="rect", x0=1 - tolerance, x1=1 + tolerance, y0=0, y1=1, xref=f"x{axis}",
                      yref=f"y{axis} domain", fillcolor=BAND_FILL, line=dict(width=0), layer="below")
        fig.add_shape(type="line", x0=1, x1=1, y0=0, y1=1, xref=f"x{axis}", yref=f"y{axis} domain",
                      line=dict(color=NHS_DARK_GREY, width=1.5), layer="below")
        for name in (ABOVE, IN_LINE, BELOW):
            chosen = rows[rows["band"] == name]
            if chosen.empty:
                continue
            fig.add_trace(go.Scatter(
                x=chosen["ratio"], y=[practice_label(n, c) for n, c in zip(chosen["org_name"], chosen["org"])],
                mode="markers", name=BAND_LEGEND[name], legendgroup=name, showlegend=name not in in_legend,
                marker=dict(symbol=BAND_SYMBOLS[name], size=13, color=BAND_COLOURS[name],
                            line=dict(color="#FFFFFF", width=1)),
                customdata=np.c_[chosen["resource_share"] * 100, chosen["population_share"] * 100],
                hovertemplate=(f"%{{y}}<br>{labels[measure_id]}<br>Share of the PCN's total: %{{customdata[0]:.1f}}%"
                               f"<br>Fair share: %{{customdata[1]:.1f}}%<br>%{{x:.2f}}× ({name})<extra></extra>"),
            ), row=row, col=col)
            in_legend.add(name)
        hidden = rows[rows["band"] == SUPPRESSED]
        if not hidden.empty:
            fig.add_trace(go.Scatter(
                x=[1.0] * len(hidden), y=[practice_label(n, c) for n, c in zip(hidden["org_name"], hidden["org"])],
                mode="text", text=[suppression.MARK] * len(hidden), textfont=dict(size=20, color=NHS_DARK_GREY),
                showlegend=False, hovertemplate="%{y}: suppressed (small number)<extra></extra>",
            ), row=row, col=col)
        fig.update_xaxes(range=[0, right], ticksuffix="×", tickformat=".1f", showgrid=True, gridcolor=NHS_PALE_GREY,
                         row=row, col=col)
        if row == rows_of_panels or index + columns >= len(measures):
            fig.update_xaxes(title_text="Share ÷ fair share", row=row, col=col)
    fig.update_yaxes(categoryorder="array", categoryarray=order, range=[-0.5, len(order) - 0.5],
                     gridcolor="rgba(0,0,0,0)", tickfont=dict(size=13))
    for annotation in fig.layout.annotations:  # subplot titles: smaller than the figure's own title
        annotation.font = dict(size=15, color=NHS_TEXT)
    # A taller top margin than the template's: the subplot titles of the first row sit under the subtitle.
    fig.update_layout(height=max(420, rows_of_panels * (30 * len(order) + 110) + TOP_PIXELS + 174),
                      hovermode="closest", margin=dict(r=30, t=TOP_PIXELS))
    start = matrix["period_start"].iloc[0] if len(matrix) else None
    end = matrix["period_end"].iloc[0] if len(matrix) else None
    title = f"Each practice's share against its fair share: {pcn_name}, {period_text(start, end)}"
    subtitle = (f"Share of the PCN's total ÷ fair share (its share of registered or weighted patients); "
                f"shaded: in line, {tolerance_text(tolerance)}")
    notes = [suppression.footnote()] if (matrix["band"] == SUPPRESSED).any() else []
    return titled(fig, title, subtitle, source or "Locally recorded by the PCN; population from list sizes",
                  end, notes)


# ---------------------------------------------------------------------------------------------
# Every practice's series of a practice-level measure, and its SPC reading practice by practice


def _measure_of(store: Store, pcn_code: str, measure_id: str, catalogue: Catalogue | None) -> Measure:
    catalogue = catalogue or local.catalogue_with_local(store, pcn_code)
    return catalogue.get(measure_id)


def practice_series(store: Store, pcn_code: str, measure_id: str, *, catalogue: Catalogue | None = None,
                    suppress: bool = True) -> pd.DataFrame:
    """Every member practice's series of a practice-level measure, for the months each was a member of the PCN.

    Tidy columns (`SERIES_COLUMNS`), ordered by practice, version and period. Small numbers are suppressed (with
    the `suppressed` column) as `ui.query("practice_spread", ...)` does, each period's practices one group, so the
    PCN total cannot give a hidden practice away; `suppress=False` returns the recorded values, for editors.
    Do not pass the result through `suppression.suppress` again: it would lose the flags of rows it hid.
    """
    frame = store.query(
        """
        SELECT DISTINCT o.measure_id AS measure, o.measure_version AS version, o.org_code AS org, o.period_start,
               o.numerator, o.denominator, o.value
        FROM observations o
        JOIN memberships m ON m.child_code = o.org_code AND m.parent_code = ? AND m.parent_level = 'pcn'
             AND m.start_date <= o.period_start AND (m.end_date IS NULL OR m.end_date >= o.period_start)
        WHERE o.measure_id = ? AND o.org_level = 'practice'
        ORDER BY org, version, o.period_start
        """, [pcn_code, measure_id])
    if not suppress:
        return frame
    measure = _measure_of(store, pcn_code, measure_id, catalogue)
    return suppression.suppress(frame, suppression.rules([measure]), secondary=("measure", "version", "period_start"))


SPC_TABLE_COLUMNS = ["org", "org_name", "latest_period", "latest_value", "latest_text", "latest_suppressed",
                     "points", "variation", "assurance", "variation_text", "assurance_text", "target"]


def practice_spc_table(frame: pd.DataFrame, measure: Measure, *,
                       names: Mapping[str, str] | pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per practice: its latest value and its Making Data Count variation and assurance icon kinds.

    `frame` is `practice_series`'s output. Each practice's series is read with `detail.read`, as the PCN's chart
    is (values suppressed as small numbers left out of the limits; `variation` is None under two values).
    `names` (org -> name, or `practice_members`'s frame) names the practices and adds a row for each member with
    no values at all, in its order; practices in `frame` but not in `names` follow.
    """
    if isinstance(names, pd.DataFrame):
        names = dict(zip(names["org"], names["org_name"]))
    names = dict(names or {})
    from .board import icons_by  # the board reads practices' icons as it reads a PCN's measures, on arrays

    orgs = list(names) + [o for o in dict.fromkeys(frame["org"]) if o not in names] if len(frame) else list(names)
    icons = icons_by(frame, measure, "org") if len(frame) else {}
    by_org = dict(iter(frame.groupby("org", sort=False))) if len(frame) else {}
    rows = []
    for org in orgs:
        # Each practice's newest values on arrays: a row taken as a Series costs more than the rest of its reading.
        latest = detail.latest_version(by_org.get(org, frame.iloc[:0]), keep_suppressed=True)
        periods = latest["period_start"].to_numpy()
        order = (np.argsort(periods, kind="stable") if periods.dtype.kind == "M"  # NaT last, as pandas sorts
                 else latest["period_start"].reset_index(drop=True).sort_values(kind="stable").index.to_numpy())
        values = latest["value"].to_numpy()[order]
        periods = periods[order]
        last = len(latest) - 1 if len(latest) else None
        hidden = bool(last is not None and suppression.FLAG in latest
                      and bool(latest[suppression.FLAG].to_numpy()[order][last]))
        value = float(values[last]) if last is not None and not hidden and pd.notna(values[last]) else None
        variation, assurance, points = icons.get(org, (None, None, None))
        shown = periods[pd.notna(values)]
        rows.append({
            "org": org, "org_name": names.get(org, org),
            "latest_period": pd.Timestamp(periods[last]).date() if last is not None else None,
            "latest_value": value,
            "latest_text": suppression.MARK if hidden else measure.format_value(value),
            "latest_suppressed": hidden,
            "points": points if points is not None else 0,
            "variation": variation,
            "assurance": assurance,
            "variation_text": detail.VARIATION_TEXT.get(variation, "") if variation else "",
            "assurance_text": detail.ASSURANCE_TEXT.get(assurance, "") if assurance else "",
            "target": (detail.assurance_target(measure, pd.Timestamp(shown.max() if len(shown) else pd.NaT).date())
                       if points is not None else None),
        })
    return pd.DataFrame(rows, columns=SPC_TABLE_COLUMNS)
