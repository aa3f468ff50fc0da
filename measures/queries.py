"""Read queries the pages and the command line use; every value is a bound parameter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import suppression
from .catalogue import Catalogue, compute_values
from .store import Store
from .versioned import PerVersion

SERIES_COLUMNS = ["measure", "version", "org", "period_start", "period_end", "numerator", "denominator", "value"]

_SERIES_SELECT = """
    SELECT measure_id AS measure, measure_version AS version, org_code AS org,
           period_start, period_end, numerator, denominator, value
    FROM observations
"""

# The PCN's place in the hierarchy as it stands now (open memberships).
_PCN_HIERARCHY = """
    SELECT p.org_code AS pcn, p.name AS pcn_name, p.close_date,
           s.org_code AS sub_icb, s.name AS sub_icb_name,
           i.org_code AS icb, i.name AS icb_name
    FROM organisations p
    LEFT JOIN memberships ms ON ms.child_code = p.org_code AND ms.parent_level = 'sub_icb' AND ms.end_date IS NULL
    LEFT JOIN organisations s ON s.org_code = ms.parent_code
    LEFT JOIN memberships mi ON mi.child_code = s.org_code AND mi.parent_level = 'icb' AND mi.end_date IS NULL
    LEFT JOIN organisations i ON i.org_code = mi.parent_code
    WHERE p.org_level = 'pcn'
"""


def meta(store: Store) -> dict[str, str]:
    return dict(store.query("SELECT key, value FROM meta").itertuples(index=False, name=None))


# The hierarchy for the latest data versions read, by database: every page needs it (the picker, the ICB
# comparator, Compare areas), and it changes only when the data does.
_HIERARCHIES: PerVersion[pd.DataFrame] = PerVersion(kept=4)


def _hierarchy(store: Store) -> pd.DataFrame:
    """`pcns(store)`, read once per data version; shared, so callers copy before changing it."""
    return _HIERARCHIES.get(store, (), lambda: store.query(
        _PCN_HIERARCHY + " ORDER BY p.close_date IS NOT NULL, p.name, p.org_code"))


def pcns(store: Store) -> pd.DataFrame:
    """Every PCN with its current sub-ICB and ICB: open PCNs by name, then closed ones (kept for their history)."""
    return _hierarchy(store).copy()


def pcn(store: Store, pcn_code: str) -> dict | None:
    frame = _hierarchy(store)
    row = frame[frame["pcn"] == pcn_code]
    return None if row.empty else row.iloc[0].to_dict()


def series(store: Store, measure_id: str, org_code: str) -> pd.DataFrame:
    """One measure's series for one organisation, in the tidy shape."""
    return store.query(
        _SERIES_SELECT + " WHERE measure_id = ? AND org_code = ? ORDER BY measure_version, period_start",
        [measure_id, org_code],
    )


def practice_and_peers(store: Store, measure_id: str, practice_code: str) -> pd.DataFrame:
    """A practice's series with the same measure's values of the practices it shared a PCN with, period by period.

    Tidy shape plus `pcn`: the group in which small-number suppression of one practice can spill to another
    (the secondary rule), because the PCN's total is the sum of its practices. Empty for an organisation that
    was never a practice of a PCN.
    """
    return store.query(
        """
        WITH mine AS (
            SELECT parent_code, start_date, end_date FROM memberships
            WHERE child_code = ? AND parent_level = 'pcn'
        )
        SELECT o.measure_id AS measure, o.measure_version AS version, o.org_code AS org, m.parent_code AS pcn,
               o.period_start, o.period_end, o.numerator, o.denominator, o.value
        FROM observations o
        JOIN memberships m ON m.child_code = o.org_code AND m.parent_level = 'pcn'
             AND m.start_date <= o.period_start AND (m.end_date IS NULL OR m.end_date >= o.period_start)
        JOIN mine ON mine.parent_code = m.parent_code AND mine.start_date <= o.period_start
             AND (mine.end_date IS NULL OR mine.end_date >= o.period_start)
        WHERE o.measure_id = ? AND o.org_level = 'practice'
        ORDER BY o.measure_version, o.period_start, o.org_code
        """, [practice_code, measure_id])


def comparator_values(pooled: pd.DataFrame, catalogue) -> pd.DataFrame:
    """`pooled` (an area's sums per measure and period: numerator, denominator, mean_value) with `comparator`: the
    mean of the areas' values for a count, the value of the sums for anything else; NaN for a measure not in
    `catalogue`. Changed in place and returned."""
    pooled["comparator"] = np.nan
    for measure_id, rows in pooled.groupby("measure"):
        try:
            measure = catalogue.get(measure_id)
        except KeyError:
            continue
        values = (rows["mean_value"] if measure.type == "count"
                  else compute_values(measure, rows["numerator"], rows["denominator"]))
        pooled.loc[rows.index, "comparator"] = np.asarray(values)
    return pooled


def overview(store: Store, pcn_code: str, catalogue: Catalogue, comparator_periods: int = 2,
             measure_ids: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A PCN's series for every measure (or only `measure_ids`), and the ICB comparator for each measure's latest
    periods.

    The comparator pools the ICB's PCNs (sum of numerators over sum of denominators), the
    way a rate for the whole ICB is computed; for counts it is the mean per PCN. Values suppressed as small
    numbers stay out of the pool (`measures.suppression`), so the average cannot be unpicked into one of them.
    """
    shown, shown_parameters = suppression.comparator_condition(suppression.rules(catalogue))
    place = pcn(store, pcn_code)
    icb_row = None if place is None or not isinstance(place["icb"], str) else (place["icb"],)
    with store.reader() as con:
        only = "" if measure_ids is None else " AND list_contains(?, measure_id)"
        mine = con.execute(
            _SERIES_SELECT + f" WHERE org_code = ? AND org_level = 'pcn'{only} ORDER BY measure, period_start",
            [pcn_code] + ([] if measure_ids is None else [list(measure_ids)])
        ).df()
        if mine.empty or icb_row is None:
            return mine, _empty_comparator()
        # Measures come at different rhythms (monthly appointments, annual IIF): compare each one at
        # this PCN's own latest periods for it.
        wanted = (mine.sort_values("period_start").groupby("measure").tail(comparator_periods)
                  [["measure", "period_start"]].drop_duplicates())
        # The ICB's pool depends on the ICB and those periods, not on which of its PCNs asks: the PCNs of an ICB
        # mostly share their latest periods, so the next one opened reuses it (its reads and suppression, 40-70 ms
        # at national scale). What decides it is in the key: which rows are shown (the rules and threshold, in
        # `shown`), and how each measure's value is computed from its sums.
        key = (icb_row[0], tuple(sorted(zip(wanted["measure"].tolist(), wanted["period_start"].tolist()))), shown,
               tuple(tuple(v) if isinstance(v, list) else v for v in shown_parameters), suppression.threshold(),
               tuple((m.id, m.version, m.type, m.multiplier) for m in catalogue))
        pooled = _ICB_POOLS.get(store, key, lambda: _icb_pool(con, store, icb_row[0], wanted, shown,
                                                              shown_parameters, catalogue))
    return mine, pooled.assign(comparator_org=icb_row[0])[["measure", "period_start", "comparator", "comparator_org",
                                                           "orgs"]]


# The ICB comparators worked out, by store, data version and what decides them (`overview`); shared read-only.
_ICB_POOLS: PerVersion[pd.DataFrame] = PerVersion(kept=256)


def _icb_pool(con, store: Store, icb: str, wanted: pd.DataFrame, shown: str, shown_parameters: list,
              catalogue: Catalogue) -> pd.DataFrame:
    """The ICB's PCNs pooled per measure at the `wanted` periods (rows shown only), with each comparator."""
    con.register("wanted_periods", wanted)
    try:
        pooled = con.execute(
            """
            WITH peers AS (
                SELECT ms.child_code AS pcn
                FROM memberships ms
                JOIN memberships mi ON mi.child_code = ms.parent_code AND mi.parent_level = 'icb'
                     AND mi.end_date IS NULL
                WHERE ms.child_level = 'pcn' AND ms.parent_level = 'sub_icb' AND ms.end_date IS NULL
                  AND mi.parent_code = ?
            )
            SELECT o.measure_id AS measure, o.measure_version AS version, o.org_code AS org, o.period_start,
                   o.numerator, o.denominator, o.value
            FROM observations o
            JOIN wanted_periods w ON w.measure = o.measure_id AND w.period_start = o.period_start
            WHERE o.org_level = 'pcn' AND o.org_code IN (SELECT pcn FROM peers) AND {shown}
            -- One order, so the pooled sums come out the same to the last bit whoever reads them
            ORDER BY o.measure_id, o.period_start, o.org_code, o.measure_version
            """.format(shown=shown),
            [icb, *shown_parameters],
        ).df()
    finally:
        con.unregister("wanted_periods")
    return comparator_values(_pool_shown(store, pooled, catalogue), catalogue)


def _pool_shown(store: Store, rows: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Pool the ICB's PCN rows per measure and period, leaving out every PCN total its practices would give away.

    A PCN total that is not small itself is still hidden when all its non-zero practices are hidden and it would
    pin them to small numbers (`suppression.suppress_totals`); pooled into the ICB average it could be recovered
    by subtracting the PCNs shown, so it stays out of the pool like any suppressed value.
    """
    rules = suppression.rules(catalogue)
    suppressible = sorted({m for m in rows["measure"].unique() if rules.get(m, suppression.UNKNOWN_KIND) is not None})
    if suppressible and not rows.empty and suppression.threshold() > 1:
        flagged = rows.assign(**{suppression.FLAG: False})
        practices = suppression.practice_values(store, suppressible, rows["org"].unique().tolist())
        practices = practices[practices["period_start"].isin(rows["period_start"].unique())]
        flagged = suppression.suppress_totals(flagged, practices, rules)
        rows = rows[~flagged[suppression.FLAG].to_numpy(dtype=bool)]
    grouped = rows.groupby(["measure", "period_start"])
    return pd.DataFrame({  # min_count=1: a sum over no numbers is missing, as in SQL, not zero
        "numerator": grouped["numerator"].sum(min_count=1), "denominator": grouped["denominator"].sum(min_count=1),
        "mean_value": grouped["value"].mean(), "orgs": grouped.size(),
    }).reset_index()


def _empty_comparator() -> pd.DataFrame:
    return pd.DataFrame(columns=["measure", "period_start", "comparator", "comparator_org", "orgs"])


def areas(store: Store) -> pd.DataFrame:
    """ICBs and sub-ICB places that have PCNs, for the area picker."""
    # Counted in Python over the columns' lists: a pandas group-by of 1,300 rows costs more than the counting.
    hierarchy = _hierarchy(store)  # only read: no copy
    icb, icb_name, sub, sub_name = (hierarchy[c].tolist() for c in ("icb", "icb_name", "sub_icb", "sub_icb_name"))
    icbs, subs = _known_counts(zip(icb, icb_name)), _known_counts(zip(sub, sub_name, icb))
    rows = ([("icb", code, name, count) for (code, name), count in icbs]
            + [("sub_icb", code, name, count) for (code, name, _), count in subs])
    # Column by column, each of its type: built from rows and then cast, the frame took twice as long.
    levels, codes, names, counts = (list(column) for column in zip(*rows)) if rows else ([], [], [], [])
    return pd.DataFrame({"level": pd.array(levels, dtype="str"), "code": pd.array(codes, dtype="str"),
                         "name": pd.array(names, dtype="str"), "pcns": np.array(counts, dtype="int64")})


def area_choices(store: Store) -> dict[str, str]:
    """The area picker's choices, all England first and then `areas` in order: each key ("england", or
    "LEVEL:CODE") with its label."""
    frame = areas(store)
    return {"england": "All England"} | {f"{level}:{code}": f"{name} ({code})" for level, code, name in
                                         zip(frame["level"].tolist(), frame["code"].tolist(), frame["name"].tolist())}


def _known_counts(keys) -> list[tuple[tuple, int]]:
    """How many rows have each key, in key order, as a group-by counts: only keys whose every part is known."""
    return sorted((key, count) for key, count in Counter(keys).items() if all(isinstance(part, str) for part in key))


def measure_periods(store: Store, measure_id: str) -> list:
    """Periods with PCN values for a measure, newest first."""
    frame = store.query(
        "SELECT DISTINCT period_start FROM observations WHERE measure_id = ? AND org_level = 'pcn' "
        "ORDER BY period_start DESC", [measure_id])
    return [pd.Timestamp(p).date() for p in frame["period_start"]]


def pcn_values(store: Store, measure_id: str, period_start) -> pd.DataFrame:
    """Every PCN's value of a measure for one period, with its place, ICB and latest list size."""
    frame = store.query(
        """
        WITH latest_list AS (
            SELECT org_code, arg_max(registered_patients, extract_date) AS list_size
            FROM list_sizes WHERE extract_date <= ? GROUP BY org_code
        ),
        practice_imd AS (
            SELECT org_code, arg_max(value, period) AS imd_score
            FROM practice_context WHERE indicator = 'imd_score' GROUP BY org_code
        ),
        -- A PCN's deprivation: its current practices' IMD scores weighted by their list sizes.
        pcn_imd AS (
            SELECT m.parent_code AS org_code, sum(i.imd_score * l.list_size) / sum(l.list_size) AS imd_score
            FROM memberships m
            JOIN practice_imd i ON i.org_code = m.child_code
            JOIN latest_list l ON l.org_code = m.child_code
            WHERE m.parent_level = 'pcn' AND m.end_date IS NULL
            GROUP BY 1
        )
        SELECT o.org_code AS org, o.measure_version AS version, o.period_start, o.period_end,
               o.numerator, o.denominator, o.value, l.list_size, d.imd_score
        FROM observations o
        LEFT JOIN latest_list l ON l.org_code = o.org_code
        LEFT JOIN pcn_imd d ON d.org_code = o.org_code
        WHERE o.measure_id = ? AND o.org_level = 'pcn' AND o.period_start = ?
        ORDER BY o.org_code, o.measure_version
        """,
        [period_start, measure_id, period_start],
    )
    # The place of each PCN from the hierarchy held for this data version, not joined again per measure and period;
    # each PCN's latest measure version only (the rows come in version order).
    frame = frame.drop_duplicates("org", keep="last").join(_places(store), on="org", how="inner")
    return frame[PCN_VALUE_COLUMNS].reset_index(drop=True)


_PLACES: PerVersion[pd.DataFrame] = PerVersion(kept=4)


def _places(store: Store) -> pd.DataFrame:
    """Each PCN's name, place and ICB, indexed by its code, held once per data version; shared, read only."""
    return _PLACES.get(store, (), lambda: _hierarchy(store)[
        ["pcn", "pcn_name", "sub_icb", "sub_icb_name", "icb", "icb_name"]].rename(
        columns={"pcn": "org", "pcn_name": "name"}).drop_duplicates("org").set_index("org"))


PCN_VALUE_COLUMNS = ["org", "name", "sub_icb", "sub_icb_name", "icb", "icb_name", "version", "period_start",
                     "period_end", "numerator", "denominator", "value", "list_size", "imd_score"]


def annotations(store: Store, measure_id: str, org_code: str) -> pd.DataFrame:
    """Notes pinned to a measure's chart for one organisation: columns date and note, oldest first; with the
    day the contract rules say the measure's indicator changed code, for every organisation."""
    from .contract import default_rules

    notes = store.query(
        "SELECT on_date AS date, note, created_by, created_at FROM annotations "
        "WHERE measure_id = ? AND org_code = ? ORDER BY on_date, annotation_id",
        [measure_id, org_code],
    )
    changes = pd.DataFrame([{"date": day, "note": f"{old} became {new}", "created_by": "contract rules",
                             "created_at": pd.NaT} for day, old, new, _ in default_rules().code_changes(measure_id)],
                           columns=notes.columns)
    if changes.empty:
        return notes
    changes["date"] = pd.to_datetime(changes["date"])
    if notes.empty:
        return changes
    frame = pd.concat([notes.assign(date=pd.to_datetime(notes["date"])), changes], ignore_index=True)
    return frame.sort_values("date", kind="stable", ignore_index=True)


def practice_spread(store: Store, pcn_code: str) -> pd.DataFrame:
    """For practice-level measures: each member practice's value in the PCN's latest period of the measure.

    Members are taken at that period's date, so a practice that moved counts where it was then. One row per
    practice (measure, version, org, period_start, numerator, denominator, value), so small numbers can be
    suppressed practice by practice before `overview.practice_ranges` takes the lowest and highest.
    """
    with store.reader() as con:
        members = con.execute(
            "SELECT DISTINCT child_code FROM memberships WHERE parent_code = ? AND parent_level = 'pcn'", [pcn_code]
        ).fetchall()
        if not members:
            return pd.DataFrame(columns=["measure", "version", "org", "period_start", "numerator", "denominator",
                                         "value"])
        codes = sorted(code for (code,) in members)
        # The range bound lets DuckDB skip row groups (observations are stored in org_code order).
        return con.execute(
            """
            WITH latest AS (
                SELECT measure_id, max(period_start) AS period_start
                FROM observations WHERE org_code = ? AND org_level = 'pcn' GROUP BY measure_id
            )
            SELECT o.measure_id AS measure, o.measure_version AS version, o.org_code AS org, o.period_start,
                   o.numerator, o.denominator, o.value
            FROM observations o
            JOIN latest l ON l.measure_id = o.measure_id AND l.period_start = o.period_start
            JOIN memberships m ON m.child_code = o.org_code AND m.parent_level = 'pcn' AND m.parent_code = ?
                 AND m.start_date <= o.period_start AND (m.end_date IS NULL OR m.end_date >= o.period_start)
            WHERE o.org_level = 'practice' AND o.org_code BETWEEN ? AND ? AND o.value IS NOT NULL
            ORDER BY o.measure_id, o.org_code
            """,
            [pcn_code, pcn_code, codes[0], codes[-1]],
        ).df()


def neighbourhood_footprints(store: Store) -> list:
    """Every neighbourhood as it stands today, each with what it reaches (`ui.neighbourhood_footprints` picks a
    PCN's)."""
    from datetime import date

    from . import neighbourhoods

    return neighbourhoods.footprints(store, date.today())


def neighbourhood_list(store: Store, icb_code: str | None = None) -> pd.DataFrame:
    """Every neighbourhood (of one ICB): neighbourhood, name, icb."""
    from . import neighbourhoods

    return neighbourhoods.neighbourhoods(store, icb_code)
