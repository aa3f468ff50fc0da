"""Every PCN's board inputs read once for the whole store, then handed out PCN by PCN.

The board summaries of 1,300 PCNs read, per PCN, its series and ICB comparator, its practices' spread and
values, its change points, caveats, catalogue and basis: some fifteen queries each, most of them scanning
the observations, which cost more than the boards themselves. `EveryPcn` reads each of these once for all
the PCNs asked for and gives each PCN the same frames its own queries return (`board_summaries._OnePcn`),
so the rows computed from them are the same; `tests/test_board_summaries.py` holds the two to that.
"""

from __future__ import annotations

from datetime import date
from typing import Sequence

import numpy as np
import pandas as pd

from . import access, local, queries, suppression
from .catalogue import Catalogue
from .data_quality.caveats import caveat_text, completeness_rows
from .local.common import _has_table

# Each PCN's ICBs as `queries.overview` finds its peers (open memberships), and the PCN itself.
_PLACES = """
    SELECT DISTINCT ms.child_code AS pcn, mi.parent_code AS icb
    FROM memberships ms
    JOIN memberships mi ON mi.child_code = ms.parent_code AND mi.parent_level = 'icb' AND mi.end_date IS NULL
    WHERE ms.child_level = 'pcn' AND ms.parent_level = 'sub_icb' AND ms.end_date IS NULL
"""


class EveryPcn:
    """The inputs of `board_summaries._audiences` for many PCNs, from one read of each table."""

    def __init__(self, store, pcn_codes: Sequence[str], facts: access.Directory | None = None):
        self.store = store
        self.codes = list(pcn_codes)
        self.everything = local.catalogue_with_local(store)
        self._facts = facts
        self._days: dict[str, set[date]] | None = None  # each PCN's published periods, from `facts`
        self._rules = suppression.rules(self.everything)
        hierarchy = queries.pcns(store).drop_duplicates("pcn", keep="first")  # as queries.pcn picks a PCN's row
        self._icb = {pcn: icb for pcn, icb in zip(hierarchy["pcn"], hierarchy["icb"]) if isinstance(icb, str)}
        self._read_bases()  # first: data written while the rest is read makes the summaries unused, never stale
        with store.reader() as con:
            self._read_series(con)
            self._read_practices(con)
            self._read_spread(con)
        self._comparators = self._pool()
        self._catalogues = self._read_catalogues()
        self._rebases = self._read_rebases()
        self._caveats = self._read_caveats()
        self._held_back = self._read_held_back()

    # --- what `_OnePcn` answers PCN by PCN -----------------------------------------------------------------

    def facts(self) -> access.Directory:
        if self._facts is None:
            self._facts = access.directory(self.store)
        return self._facts

    def catalogue(self, pcn_code: str) -> Catalogue:
        return self._catalogues[pcn_code]

    def overview(self, pcn_code: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        mine = _rows(self._series, self._series_at.get(pcn_code))
        icb = self._icb.get(pcn_code)
        if mine.empty or icb is None:
            return mine, queries._empty_comparator()
        wanted = self._wanted.get(pcn_code)
        pooled = self._comparators.get(icb)
        if wanted is None or pooled is None:
            return mine, queries._empty_comparator()
        found = pooled.merge(wanted, on=["measure", "period_start"], how="inner")
        return mine, found[["measure", "period_start", "comparator", "comparator_org", "orgs"]]

    def spread(self, pcn_code: str) -> pd.DataFrame:
        if pcn_code not in self._has_members:
            return pd.DataFrame(columns=["measure", "version", "org", "period_start", "numerator", "denominator",
                                         "value"])
        return _rows(self._spread, self._spread_at.get(pcn_code)).drop(columns="pcn")

    def rebases(self, pcn_code: str) -> dict:
        return {measure: list(days) for measure, days in self._rebases.get(pcn_code, {}).items()}

    def caveats(self, pcn_code: str) -> dict:
        return dict(self._caveats.get(pcn_code, {}))

    def practices(self, pcn_code: str):
        def read(ids, pcns, period) -> pd.DataFrame:
            at = [self._practices_at[p] for p in set(pcns or ()) if p in self._practices_at]
            rows = _rows(self._practices, np.sort(np.concatenate(at)) if at else None)
            rows = rows[rows["measure"].isin(sorted(set(ids)))]
            if period is not None:
                rows = rows[rows["period_start"] == pd.Timestamp(period)]
            return rows.reset_index(drop=True)
        return read

    def holds_back(self, pcn_code: str) -> bool:
        return pcn_code in self._held_back

    def readable(self, frame: pd.DataFrame, pcn_code: str) -> pd.Series:
        """`access.readable_mask` for someone outside the PCN, of rows of the PCN itself: national measures, and
        local ones in the periods it published."""
        facts = self.facts()
        nobody = access.Principal()
        if frame.empty or pcn_code not in facts.icb_of or access.member_of(nobody, pcn_code, facts):
            return access.readable_mask(frame, nobody, facts)
        if self._days is None:
            self._days = {}
            for pcn, day in facts.published:
                self._days.setdefault(pcn, set()).add(day)
        days = self._days.get(pcn_code, set())
        national = ~frame["measure"].map(access.is_local_measure).astype(bool).to_numpy()
        published = (np.array([day in days for day in pd.to_datetime(frame["period_start"]).dt.date], dtype=bool)
                     if days else np.zeros(len(frame), dtype=bool))
        return pd.Series(national | published, index=frame.index, dtype=bool)

    def basis(self, pcn_code: str) -> tuple[int, str]:
        return basis_of(self._basis_facts, pcn_code)

    # --- the reads -----------------------------------------------------------------------------------------

    def _read_series(self, con) -> None:
        """Every PCN's series, in the order and shape of `queries.overview`'s, and the periods each compares."""
        self._series = con.execute(
            queries._SERIES_SELECT + " WHERE org_level = 'pcn' AND list_contains(?, org_code) "
            "ORDER BY org_code, measure, period_start, measure_version", [self.codes]).df()
        self._series_at = _positions(self._series, "org")
        # Each measure at this PCN's own latest two periods (queries.overview's `wanted`).
        tail = self._series.groupby(["org", "measure"], sort=False).tail(2)[["org", "measure", "period_start"]]
        tail = tail.drop_duplicates()
        self._wanted = {org: rows.drop(columns="org").reset_index(drop=True)
                        for org, rows in tail.groupby("org", sort=False)}

    def _read_practices(self, con) -> None:
        """The practice values of every measure whose small numbers are suppressed (`suppression.practice_values`;
        a measure no catalogue knows is suppressed too), for the PCNs and the peers their comparators pool."""
        exempt = sorted(m for m, kind in self._rules.items() if kind is None)
        peers = self._basis_facts[2]
        pooled = set(self.codes) | {peer for code in self.codes for peer in peers.get(code, ())}
        self._practices = con.execute(
            """
            SELECT o.measure_id AS measure, o.measure_version AS version, o.org_code AS org, m.parent_code AS pcn,
                   o.period_start, o.period_end, o.numerator, o.denominator, o.value
            FROM observations o
            JOIN memberships m ON m.child_code = o.org_code AND m.parent_level = 'pcn'
                 AND m.start_date <= o.period_start AND (m.end_date IS NULL OR m.end_date >= o.period_start)
            WHERE o.org_level = 'practice' AND NOT list_contains(?, o.measure_id) AND list_contains(?, m.parent_code)
            ORDER BY o.measure_id, o.measure_version, m.parent_code, o.period_start, o.org_code
            """, [exempt, sorted(pooled)]).df()
        self._practices_at = _positions(self._practices, "pcn")

    def _read_spread(self, con) -> None:
        """`queries.practice_spread` of every PCN: its practices' values at its latest period of each measure."""
        self._has_members = {code for (code,) in con.execute(
            "SELECT DISTINCT parent_code FROM memberships WHERE parent_level = 'pcn' AND list_contains(?, parent_code)",
            [self.codes]).fetchall()}
        self._spread = con.execute(
            """
            WITH latest AS (
                SELECT org_code AS pcn, measure_id, max(period_start) AS period_start
                FROM observations WHERE org_level = 'pcn' AND list_contains(?, org_code) GROUP BY ALL
            )
            SELECT o.measure_id AS measure, o.measure_version AS version, o.org_code AS org, o.period_start,
                   o.numerator, o.denominator, o.value, l.pcn
            FROM observations o
            JOIN memberships m ON m.child_code = o.org_code AND m.parent_level = 'pcn'
                 AND m.start_date <= o.period_start AND (m.end_date IS NULL OR m.end_date >= o.period_start)
            JOIN latest l ON l.pcn = m.parent_code AND l.measure_id = o.measure_id AND l.period_start = o.period_start
            WHERE o.org_level = 'practice' AND o.value IS NOT NULL
            ORDER BY l.pcn, o.measure_id, o.org_code
            """, [self.codes]).df()
        self._spread_at = _positions(self._spread, "pcn")

    def _pool(self) -> dict[str, pd.DataFrame]:
        """Each ICB's comparator at every period one of its PCNs compares (queries.overview, ICB by ICB)."""
        if not self._wanted:
            return {}
        wanted = pd.concat([rows.assign(icb=self._icb[org]) for org, rows in self._wanted.items()
                            if org in self._icb], ignore_index=True)
        if wanted.empty:
            return {}
        pooled = pool(self.store, wanted.drop_duplicates(), self.everything, self._practices)
        return {icb: part.drop(columns="icb").reset_index(drop=True) for icb, part in pooled.groupby("icb")}

    def _read_catalogues(self) -> dict[str, Catalogue]:
        """Each PCN's catalogue (`local.catalogue_with_local`): it depends only on the PCN's ICB, unless measures
        were defined for the PCN itself, so it is built once per ICB."""
        with self.store.reader() as con:
            scopes = set() if not _has_table(con, "local_measures") else {
                scope for (scope,) in con.execute("SELECT DISTINCT scope FROM local_measures").fetchall()}
        built: dict[tuple, Catalogue] = {}
        catalogues = {}
        for code in self.codes:
            key = (self._icb.get(code), code if code in scopes else None) if scopes else ()
            if key not in built:
                built[key] = local.catalogue_with_local(self.store, code)
            catalogues[code] = built[key]
        return catalogues

    def _read_rebases(self) -> dict[str, dict[str, list[date]]]:
        """`annotations.rebase_dates_by_measure` of every organisation."""
        from . import annotations

        if not annotations._has_rebases(self.store):
            return {}
        found = self.store.query("SELECT org_code, measure_id, period_start FROM rebases WHERE removed_at IS NULL "
                                 "ORDER BY period_start, rebase_id")
        grouped: dict[str, dict[str, list[date]]] = {}
        for org, measure_id, start in zip(found["org_code"], found["measure_id"], found["period_start"]):
            grouped.setdefault(str(org), {}).setdefault(str(measure_id), []).append(pd.Timestamp(start).date())
        return grouped

    def _read_caveats(self) -> dict[str, dict[tuple[str, date], str]]:
        """`data_quality.card_caveats(practice_completeness(...))` of every PCN, in one query: each practice-level
        measure and period with a PCN value whose value leaves out some member practices."""
        caveats: dict[str, dict[tuple[str, date], str]] = {}
        for pcn, measure_id, start, _, members, reporting, _ in completeness_rows(self.store, self.codes,
                                                                                  self.everything,
                                                                                  incomplete_only=True):
            text = caveat_text(int(members) - int(reporting), int(members))
            if text:
                caveats.setdefault(str(pcn), {})[(str(measure_id), pd.Timestamp(start).date())] = text
        return caveats

    def _read_held_back(self) -> set[str]:
        """The PCNs with local values (their own or their practices') in a period they have not published."""
        found = self.store.query(
            """
            WITH owners AS (
                SELECT unnest($pcns) AS org, unnest($pcns) AS pcn
                UNION
                SELECT child_code, parent_code FROM memberships
                WHERE parent_level = 'pcn' AND list_contains($pcns, parent_code)
            )
            SELECT DISTINCT w.pcn FROM observations o JOIN owners w ON w.org = o.org_code
            WHERE NOT list_contains($national, o.measure_id)
              AND NOT EXISTS (SELECT 1 FROM published_periods p WHERE p.pcn_code = w.pcn
                                                                  AND p.period_start = o.period_start)
            """, {"pcns": self.codes, "national": sorted(access.national_ids())})
        return set(found["pcn"])

    def _read_bases(self) -> None:
        self._basis_facts = _basis_facts(self.store)


def _basis_facts(store, excluding: Sequence[int] = (),
                 pcn_codes: Sequence[str] | None = None) -> tuple[int, dict[str, int], dict[str, set[str]], dict]:
    """What `board_summaries._basis` reads, for every PCN at once (or those of `pcn_codes` and their peers): the
    latest import of published data, the latest save for an organisation of each PCN (itself or its practices),
    each PCN's peers (itself and the PCNs of its ICB) and its published periods; leaving out the imports
    `excluding` (a save's own)."""
    published_import = int(store.query(
        "SELECT coalesce(max(import_id), 0) AS n FROM imports WHERE kind <> 'recorded'")["n"].iloc[0])
    places = store.query(_PLACES)
    # Columns as lists, not Series: iterating a Series of strings boxes each value (about 10 ms at national scale).
    place_pairs = list(zip(places["pcn"].tolist(), places["icb"].tolist()))
    by_icb: dict[str, set[str]] = {}
    for pcn, icb in place_pairs:
        by_icb.setdefault(icb, set()).add(pcn)
    peers: dict[str, set[str]] = {}
    for pcn, icb in place_pairs:
        peers.setdefault(pcn, {pcn}).update(by_icb[icb])
    wanted = None if pcn_codes is None else sorted(
        {peer for code in pcn_codes for peer in peers.get(code, {code})})
    audited = store.query(
        """
        WITH owners AS (
            SELECT child_code AS org, parent_code AS pcn FROM memberships
            WHERE parent_level = 'pcn' AND ($pcns IS NULL OR list_contains($pcns, parent_code))
        ),
        audit AS (SELECT org_code, max(import_id) AS id FROM value_audit
                  WHERE NOT list_contains($excluding, import_id)
                    AND ($pcns IS NULL OR list_contains($pcns, org_code)
                         OR org_code IN (SELECT org FROM owners))
                  GROUP BY org_code),
        owned AS (SELECT org_code AS org, org_code AS pcn FROM audit UNION SELECT org, pcn FROM owners)
        SELECT w.pcn, max(a.id) AS id FROM audit a JOIN owned w ON w.org = a.org_code GROUP BY w.pcn
        """, {"excluding": list(excluding), "pcns": wanted})
    published = store.query(
        "SELECT pcn_code, string_agg(strftime(period_start, '%Y-%m-%d'), ',' ORDER BY period_start) AS days "
        "FROM published_periods GROUP BY pcn_code")
    return (published_import,
            {str(pcn): int(found) for pcn, found in zip(audited["pcn"].tolist(), audited["id"].tolist())}, peers,
            {str(pcn): str(days) for pcn, days in zip(published["pcn_code"].tolist(), published["days"].tolist())})


def basis_of(facts: tuple, pcn_code: str) -> tuple[int, str]:
    """`board_summaries._basis` of one PCN (basis, published periods) from `_basis_facts`: the later of the latest
    import of published data and the latest save for the PCN or a peer, and its published periods."""
    published_import, audited, peers, published = facts
    latest_save = max((audited.get(peer, 0) for peer in peers.get(pcn_code, {pcn_code})), default=0)
    return max(published_import, latest_save), published.get(pcn_code, "")


def bases(store, pcn_codes: Sequence[str], excluding: Sequence[int] = ()) -> dict[str, tuple[int, str]]:
    """`board_summaries._basis` of each PCN (basis, published periods), leaving out the imports `excluding`."""
    facts = _basis_facts(store, excluding, pcn_codes)
    return {code: basis_of(facts, code) for code in pcn_codes}


def pool(store, wanted: pd.DataFrame, everything: Catalogue, practices: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ICB comparator at each (icb, measure, period_start) of `wanted`, as `queries.overview` pools it: the
    ICB's PCNs' values shown (summed in one order), less every PCN total its practices would give away.

    `practices` holds the practice values of the PCNs pooled (`suppression.practice_values`), or None to read
    them. One row per icb, measure and period_start found, with comparator, comparator_org and orgs."""
    rules = suppression.rules(everything)
    shown, parameters = suppression.comparator_condition(rules)
    with store.reader() as con:
        con.register("wanted_periods", wanted[["icb", "measure", "period_start"]])
        try:
            rows = con.execute(
                f"""
                WITH peers AS ({_PLACES})
                SELECT w.icb, o.measure_id AS measure, o.measure_version AS version, o.org_code AS org,
                       o.period_start, o.numerator, o.denominator, o.value
                FROM observations o
                JOIN peers p ON p.pcn = o.org_code
                JOIN wanted_periods w ON w.icb = p.icb AND w.measure = o.measure_id
                     AND w.period_start = o.period_start
                WHERE o.org_level = 'pcn' AND {shown}
                ORDER BY w.icb, o.measure_id, o.period_start, o.org_code, o.measure_version
                """, parameters).df()
        finally:
            con.unregister("wanted_periods")
    # queries._pool_shown: a PCN total its practices would give away stays out of the pool.
    suppressible = sorted({m for m in rows["measure"].unique() if rules.get(m, suppression.UNKNOWN_KIND) is not None})
    if suppressible and not rows.empty and suppression.threshold() > 1:
        flagged = rows.assign(**{suppression.FLAG: False})
        if practices is None:
            practices = suppression.practice_values(store, suppressible, rows["org"].unique().tolist())
        practices = practices[practices["measure"].isin(suppressible) & practices["pcn"].isin(rows["org"].unique())
                              & practices["period_start"].isin(rows["period_start"].unique())]
        flagged = suppression.suppress_totals(flagged, practices.reset_index(drop=True), rules)
        rows = rows[~flagged[suppression.FLAG].to_numpy(dtype=bool)]
    grouped = rows.groupby(["icb", "measure", "period_start"])
    pooled = pd.DataFrame({
        "numerator": grouped["numerator"].sum(min_count=1), "denominator": grouped["denominator"].sum(min_count=1),
        "mean_value": grouped["value"].mean(), "orgs": grouped.size(),
    }).reset_index()
    pooled = queries.comparator_values(pooled, everything)
    pooled["comparator_org"] = pooled["icb"]
    return pooled[["icb", "measure", "period_start", "comparator", "comparator_org", "orgs"]]


def _positions(frame: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
    """Each value's row positions in `frame`, in the frame's order."""
    if frame.empty:
        return {}
    return {str(key): np.asarray(rows) for key, rows in frame.groupby(column, sort=False).indices.items()}


def _rows(frame: pd.DataFrame, positions: np.ndarray | None) -> pd.DataFrame:
    """The rows at `positions` as a frame of their own, indexed from 0 as a query's result is."""
    if positions is None or not len(positions):
        return frame.iloc[0:0].reset_index(drop=True)
    return frame.take(positions).reset_index(drop=True)
