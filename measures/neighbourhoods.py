"""Neighbourhoods: their member practices on a date, their values as sums of those practices, and their labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from .catalogue import Measure, compute_values
from .queries import SERIES_COLUMNS
from .store import Store

LEVEL = "neighbourhood"

# Each neighbourhood's practices with the dates each counts: a practice member as listed, a PCN member as every
# practice the PCN had while it was a member (the overlap of the two memberships).
_PRACTICES = """
    WITH hood AS (
        SELECT parent_code AS neighbourhood, child_code, child_level, start_date, end_date
        FROM memberships WHERE parent_level = 'neighbourhood'
    )
    SELECT neighbourhood, child_code AS practice, CAST(NULL AS VARCHAR) AS via_pcn, start_date, end_date
    FROM hood WHERE child_level = 'practice'
    UNION ALL
    SELECT h.neighbourhood, m.child_code AS practice, h.child_code AS via_pcn,
           greatest(h.start_date, m.start_date) AS start_date,
           CASE WHEN h.end_date IS NULL THEN m.end_date WHEN m.end_date IS NULL THEN h.end_date
                ELSE least(h.end_date, m.end_date) END AS end_date
    FROM hood h
    JOIN memberships m ON m.parent_code = h.child_code AND m.parent_level = 'pcn' AND m.child_level = 'practice'
    WHERE h.child_level = 'pcn' AND (h.end_date IS NULL OR m.start_date <= h.end_date)
      AND (m.end_date IS NULL OR m.end_date >= h.start_date)
"""


def has_neighbourhoods(store: Store) -> bool:
    """Whether the store can hold neighbourhoods (a store migrated before they existed cannot)."""
    return bool(store.query("SELECT count(*) AS n FROM information_schema.tables "
                            "WHERE table_name = 'neighbourhoods'")["n"].iloc[0])


def neighbourhoods(store: Store, icb: str | None = None) -> pd.DataFrame:
    """Every neighbourhood (of one ICB, if given): neighbourhood, name, icb."""
    if not has_neighbourhoods(store):
        return pd.DataFrame(columns=["neighbourhood", "name", "icb"])
    return store.query(
        "SELECT neighbourhood_code AS neighbourhood, name, icb_code AS icb FROM neighbourhoods "
        "WHERE ? IS NULL OR icb_code = ? ORDER BY name, neighbourhood_code", [icb, icb])


def practice_spans(store: Store, codes: list[str] | None = None) -> pd.DataFrame:
    """The practices each neighbourhood counts and when: neighbourhood, practice, via_pcn, start_date, end_date."""
    if not has_neighbourhoods(store):
        return pd.DataFrame(columns=["neighbourhood", "practice", "via_pcn", "start_date", "end_date"])
    return store.query(f"SELECT * FROM ({_PRACTICES}) WHERE $codes IS NULL OR list_contains($codes, neighbourhood) "
                       "ORDER BY neighbourhood, practice, start_date", {"codes": codes})


def _held_on(spans: pd.DataFrame, day) -> pd.Series:
    day = pd.Timestamp(day)
    return (pd.to_datetime(spans["start_date"]) <= day) & (spans["end_date"].isna()
                                                          | (pd.to_datetime(spans["end_date"]) >= day))


def members_at(store: Store, code: str, day: date) -> pd.DataFrame:
    """The neighbourhood's practices on `day`, each with the PCN it counts through (blank: a practice member)."""
    spans = practice_spans(store, [code])
    return spans[_held_on(spans, day)][["practice", "via_pcn"]].reset_index(drop=True)


def sum_of_practices(rows: pd.DataFrame, measure: Measure, code: str) -> pd.DataFrame:
    """A neighbourhood's series of a practice-level measure: per period, the sums of its practices' numerators and
    denominators, and the value they give (pure: the practice rows `board_rows_read` read, after any filtering).

    Tidy shape with org = the neighbourhood, plus `practices`: how many practices the period's sum adds.
    """
    columns = SERIES_COLUMNS + ["practices"]
    if rows is None or rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows[rows["numerator"].notna()]
    summed = (rows.groupby(["version", "period_start", "period_end"], as_index=False)
              .agg(numerator=("numerator", "sum"), denominator=("denominator", lambda d: d.sum(min_count=1)),
                   practices=("org", "nunique")))
    summed["value"] = compute_values(measure, summed["numerator"], summed["denominator"].astype(float))
    summed["measure"], summed["org"] = measure.id, code
    return summed[columns].sort_values(["version", "period_start"]).reset_index(drop=True)


def series(store: Store, measure: Measure, code: str) -> pd.DataFrame:
    """A neighbourhood's series of a measure: recorded for it (a neighbourhood-level measure) or, for a
    practice-level one, the sum of its member practices at each period's last day (with `practices`), as its
    board reads them (`board_rows_read`, `board_series`), unfiltered."""
    if measure.level not in (LEVEL, "practice"):
        return pd.DataFrame(columns=SERIES_COLUMNS)
    found = board_series(board_rows_read(store, code, [measure.id]), [measure], code)
    return found if measure.level == "practice" else found[SERIES_COLUMNS]


# --- which neighbourhoods a PCN is in, and how to name them ---------------------------------------------------


@dataclass(frozen=True)
class Footprint:
    """A neighbourhood as a PCN's board names it: which PCNs it reaches on a day, and how much of each."""

    code: str
    name: str
    icb: str
    pcns: tuple[str, ...]  # every PCN with at least one practice in it that day
    whole_pcns: tuple[str, ...]  # those with every practice in it
    practices: int

    @property
    def label(self) -> str:
        """'Riverside neighbourhood: 3 PCNs', or 'Brackenby North neighbourhood: part of 1 PCN (7 practices)'."""
        name = self.name if self.name.lower().endswith("neighbourhood") else f"{self.name} neighbourhood"
        count = len(self.pcns)
        pcns = f"{count} PCN{'s' if count != 1 else ''}"
        if set(self.whole_pcns) == set(self.pcns):
            return f"{name}: {pcns}"
        if not self.whole_pcns:
            return f"{name}: part of {pcns} ({self.practices} practice{'s' if self.practices != 1 else ''})"
        return f"{name}: {pcns}, {count - len(self.whole_pcns)} of them in part ({self.practices} practices)"


def footprints(store: Store, day: date, pcn: str | None = None) -> list[Footprint]:
    """Each neighbourhood as it stands on `day` (only those reaching `pcn`, if given), by name."""
    hoods = neighbourhoods(store)
    if hoods.empty:
        return []
    spans = practice_spans(store)
    held = spans[_held_on(spans, day)]
    pcn_members = store.query(
        "SELECT child_code AS practice, parent_code AS pcn FROM memberships WHERE parent_level = 'pcn' "
        "AND child_level = 'practice' AND start_date <= ? AND (end_date IS NULL OR end_date >= ?)", [day, day])
    return footprints_from(hoods, held, pcn_members, pcn)


def footprints_from(hoods: pd.DataFrame, held: pd.DataFrame, pcn_members: pd.DataFrame,
                    pcn: str | None = None) -> list[Footprint]:
    """`footprints` from frames already read: neighbourhoods, their practices on the day, the PCNs' practices."""
    of_pcn = dict(zip(pcn_members["practice"], pcn_members["pcn"]))
    size = pcn_members.groupby("pcn")["practice"].nunique().to_dict()
    found = []
    for row in hoods.itertuples():
        practices = set(held.loc[held["neighbourhood"] == row.neighbourhood, "practice"])
        pcns = sorted({of_pcn[p] for p in practices if p in of_pcn})
        if not practices or (pcn is not None and pcn not in pcns):
            continue
        whole = tuple(p for p in pcns if sum(of_pcn.get(x) == p for x in practices) == size.get(p, 0))
        found.append(Footprint(row.neighbourhood, row.name, row.icb, tuple(pcns), whole, len(practices)))
    return found


# --- a neighbourhood's own board: which measures, and every series at once -------------------------------------


def board_measures(catalogue, icb: str):
    """What a neighbourhood is shown and compared on: measures recorded for neighbourhoods, and practice-level
    measures (summed over its practices); national or set by its ICB, not retired."""
    from .catalogue import Catalogue

    return Catalogue(tuple(m for m in catalogue if m.status != "retired" and m.scope in ("national", icb)
                           and m.level in (LEVEL, "practice")))


def board_rows_read(store: Store, code: str, measure_ids: list[str]) -> pd.DataFrame:
    """Every value a neighbourhood's board adds up, in one read: its own recorded rows (org = the neighbourhood)
    and its member practices' rows of each period whose last day the practice was a member on (org = the practice).

    Tidy rows, unfiltered: read them through the access filter (each practice's row as its PCN's, the
    neighbourhood's as the neighbourhood's) before `board_series` sums them.
    """
    if not has_neighbourhoods(store) or not measure_ids:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    return store.query(
        f"""
        WITH spans AS (SELECT * FROM ({_PRACTICES}) WHERE neighbourhood = $code)
        SELECT o.measure_id AS measure, o.measure_version AS version, o.org_code AS org,
               o.period_start, o.period_end, o.numerator, o.denominator, o.value
        FROM observations o
        WHERE o.measure_id IN (SELECT unnest($ids)) AND o.org_level = 'neighbourhood' AND o.org_code = $code
        UNION ALL
        SELECT o.measure_id, o.measure_version, o.org_code, o.period_start, o.period_end, o.numerator,
               o.denominator, o.value
        FROM observations o
        WHERE o.measure_id IN (SELECT unnest($ids)) AND o.org_level = 'practice'
          AND EXISTS (SELECT 1 FROM spans s WHERE s.practice = o.org_code AND s.start_date <= o.period_end
                      AND (s.end_date IS NULL OR s.end_date >= o.period_end))
        ORDER BY 1, 2, 4, 3
        """, {"code": code, "ids": list(measure_ids)})


_PERIOD = ["measure", "version", "period_start"]
# Set on the rows `readable` gives a member who may not read every one of them as its PCN's value.
READ_AS_PRACTICE = "read_as_practice"


def readable(rows: pd.DataFrame, principal, directory, code: str) -> pd.DataFrame:
    """The raw rows (`board_rows_read`) a principal's view of the neighbourhood adds up.

    Its members (the people of its PCNs, its ICB's analysts, administrators) read them all: a sum over its
    practices is the neighbourhood's own value, read by the neighbourhood's rules. Anyone else reads only whole
    periods all of whose rows they may read: a sum of only the practices whose PCNs have published would read as
    the neighbourhood's value, and it is not.

    A practice's own value is its PCN's, not the neighbourhood's: where a member may not read every row by its
    PCN's rules, the rows carry READ_AS_PRACTICE (True where they may), so that what shows single practices
    (the range on `neighbourhood_board.board_rows`) leaves out those they may not.
    """
    from . import access

    if rows is None or rows.empty or principal.is_admin:
        return rows
    mask = access.readable_mask(rows, principal, directory)
    if access.member_of(principal, code, directory):
        return rows if bool(mask.all()) else rows.assign(**{READ_AS_PRACTICE: mask.to_numpy()})
    return whole_periods(rows, mask)


def whole_periods(rows: pd.DataFrame, readable_rows: pd.Series) -> pd.DataFrame:
    """The rows of every (measure, version, period) all of whose rows are readable (`readable_rows`, aligned)."""
    if rows.empty or bool(readable_rows.all()):
        return rows
    hidden = rows.loc[~readable_rows.to_numpy(), _PERIOD].drop_duplicates().assign(_hidden=True)
    keep = rows[_PERIOD].merge(hidden, on=_PERIOD, how="left")["_hidden"].isna().to_numpy()
    return rows[keep]


def board_series(rows: pd.DataFrame, measures, code: str) -> pd.DataFrame:
    """Every board measure's series for the neighbourhood (pure): its recorded values of a neighbourhood-level
    measure, the sums of its practices of a practice-level one. Tidy shape plus `practices`."""
    columns = SERIES_COLUMNS + ["practices"]
    frames = []
    for measure in measures:
        own = rows[rows["measure"] == measure.id] if rows is not None and len(rows) else None
        if own is None or own.empty:
            continue
        if measure.level == LEVEL:
            frames.append(own[own["org"] == code].assign(practices=float("nan")))
        elif measure.level == "practice":
            frames.append(sum_of_practices(own[own["org"] != code], measure, code))
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
