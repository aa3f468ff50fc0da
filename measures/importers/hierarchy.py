"""The dated hierarchy: what each publication said about memberships, resolved into one timeline per child."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pandas as pd

ONE_DAY = timedelta(days=1)
EVIDENCE_COLUMNS = ["child_code", "parent_code", "child_level", "parent_level", "start_date", "end_date",
                    "dated_start", "seen_on"]


@dataclass
class Span:
    """A child in one parent (None: in no parent) from start to end (None: still).

    `dated` says the start is a real start date (the ePCN workbook dates them) rather than the first day the
    child was seen there (a monthly snapshot such as the practice-to-PCN map). `seen` is the latest date a
    publication said the relationship held."""

    parent: str | None
    start: date
    end: date | None
    dated: bool
    seen: date
    import_id: int


def _midpoint(a: date, b: date) -> date:
    return a + timedelta(days=((b - a).days + 1) // 2)


def _merge(p: Span, s: Span) -> Span:
    """Two spans of the same parent that overlap or touch, as one."""
    if p.end is None and s.end is None:
        end = None
    elif p.end is None:
        end = None if p.seen > s.end else s.end
    elif s.end is None:
        end = None if s.seen > p.end else p.end
    else:
        end = max(p.end, s.end)
    newest = s if s.seen >= p.seen else p
    dated = p.dated if p.start < s.start else (p.dated or s.dated)
    return Span(p.parent, p.start, end, dated, max(p.seen, s.seen), newest.import_id)


def resolve(evidence: list[Span]) -> list[Span]:
    """One non-overlapping timeline from every publication's evidence, whatever order it was imported in.

    - Evidence for the same parent that overlaps or touches is one span.
    - Where publications disagree, the newer evidence wins. A dated start is taken as it is; a snapshot that
      contradicts an older open membership dates the change halfway between the day the old membership was
      last seen and the day the new one was first seen (each day goes to the nearer evidence).
    - A span in no parent (unallocated) ends the previous membership and is then dropped.
    """
    spans = sorted((replace(s) for s in evidence), key=lambda s: (s.start, s.seen, s.end or date.max))
    out: list[Span] = []
    for s in spans:
        while True:
            if not out:
                out.append(s)
                break
            p = out[-1]
            if p.end is not None and p.end < s.start:
                if p.parent == s.parent and p.end + ONE_DAY == s.start:
                    out[-1] = _merge(p, s)
                else:
                    out.append(s)
                break
            if p.parent == s.parent:
                out[-1] = _merge(p, s)
                break
            if s.seen >= p.seen:  # the newer evidence says another parent from (about) s.start
                change = s.start if (s.dated or p.seen >= s.start) else _midpoint(p.seen, s.start)
                s.start = change
                if change <= p.start:
                    out.pop()  # p is wholly superseded; compare s with the span before it
                    continue
                p.end = change - ONE_DAY
                out.append(s)
                break
            # p is the newer evidence and covers s.start: keep only what s says after p ends, if s dates it
            if s.dated and p.end is not None and (s.end is None or s.end > p.end):
                s.start = p.end + ONE_DAY
                out.append(s)
            break
    return [s for s in out if s.parent is not None]


def resolve_frame(evidence: pd.DataFrame) -> pd.DataFrame:
    """Resolve every (child, parent level) in an evidence frame into membership rows."""
    rows = []
    records = evidence.sort_values(["child_code", "parent_level"]).itertuples(index=False)
    for (child, parent_level), group in itertools.groupby(records, key=lambda r: (r.child_code, r.parent_level)):
        group = list(group)
        spans = [Span(None if pd.isna(r.parent_code) else r.parent_code, _day(r.start_date),
                      None if pd.isna(r.end_date) else _day(r.end_date), bool(r.dated_start), _day(r.seen_on),
                      int(r.import_id)) for r in group]
        for span in resolve(spans):
            rows.append((child, span.parent, group[0].child_level, parent_level, span.start, span.end, span.import_id))
    return pd.DataFrame(rows, columns=["child_code", "parent_code", "child_level", "parent_level", "start_date",
                                       "end_date", "import_id"])


def _day(value) -> date:
    return value if isinstance(value, date) and not isinstance(value, pd.Timestamp) else pd.Timestamp(value).date()


def write_evidence(con, evidence: pd.DataFrame, import_id: int) -> dict[str, int]:
    """Record an import's evidence and rebuild the memberships of every child it mentions."""
    if evidence.empty:
        return {}
    frame = evidence[EVIDENCE_COLUMNS].assign(import_id=import_id)
    con.register("_incoming_evidence", frame)
    try:
        con.execute(f"INSERT INTO membership_evidence ({', '.join(frame.columns)}) "
                    f"SELECT {', '.join(frame.columns)} FROM _incoming_evidence")
        con.execute("CREATE OR REPLACE TEMP TABLE _affected AS "
                    "SELECT DISTINCT child_code, parent_level FROM _incoming_evidence")
    finally:
        con.unregister("_incoming_evidence")
    everything = con.execute(
        "SELECT e.* FROM membership_evidence e JOIN _affected a USING (child_code, parent_level)").df()
    resolved = resolve_frame(everything)
    con.execute("DELETE FROM memberships USING _affected a "
                "WHERE memberships.child_code = a.child_code AND memberships.parent_level = a.parent_level")
    con.register("_resolved", resolved)
    try:
        con.execute(f"INSERT INTO memberships ({', '.join(resolved.columns)}) "
                    f"SELECT {', '.join(resolved.columns)} FROM _resolved")
    finally:
        con.unregister("_resolved")
    counts = resolved.groupby(["child_level", "parent_level"]).size()
    return {f"{child}→{parent}": int(n) for (child, parent), n in counts.items()}


# ------------------------------------------------------------------------------------------------
# Which PCN a practice belonged to on a date

# Practice → PCN spans, and whether the first span may be read backwards: a practice first *seen* in a
# PCN on a map's extract date (not dated by the ePCN workbook) is taken to have been there before too.
PCN_SPANS_SQL = """
    SELECT m.child_code, m.parent_code, m.start_date, m.end_date,
           (m.start_date = min(m.start_date) OVER (PARTITION BY m.child_code)) AND NOT coalesce(d.dated, TRUE) AS extend_back
    FROM memberships m
    LEFT JOIN (SELECT child_code, parent_code, start_date, bool_or(dated_start) AS dated
               FROM membership_evidence WHERE parent_level = 'pcn' GROUP BY ALL) d
           ON d.child_code = m.child_code AND d.parent_code = m.parent_code AND d.start_date = m.start_date
    WHERE m.parent_level = 'pcn'
"""

# For each (child_code, at_date) in `_at`: the PCN then, and whether that was assumed from a later first sighting.
MEMBERSHIP_AT_SQL = """
    SELECT a.child_code, a.at_date, s.parent_code, s.start_date > a.at_date AS assumed
    FROM _at a JOIN pcn_spans s ON s.child_code = a.child_code
    WHERE (s.start_date <= a.at_date AND (s.end_date IS NULL OR s.end_date >= a.at_date))
       OR (s.extend_back AND s.start_date > a.at_date)
    QUALIFY row_number() OVER (PARTITION BY a.child_code, a.at_date
                               ORDER BY s.start_date <= a.at_date DESC, s.start_date DESC) = 1
"""


def refresh_pcn_list_sizes(con, publication: str, measure_version: int) -> dict[str, int]:
    """PCN list sizes (and `registered_patients` PCN rows) as the sum of the practices in each PCN on each
    extract date, rebuilt from the practice list sizes and the current memberships."""
    params = {"publication": publication}
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _practice_lists AS
        SELECT l.org_code AS child_code, l.extract_date AS at_date, l.registered_patients, l.import_id
        FROM list_sizes l JOIN imports i ON i.import_id = l.import_id
        JOIN organisations o ON o.org_code = l.org_code AND o.org_level = 'practice'
        WHERE i.publication = $publication
    """, params)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _practice_pcn AS
        WITH pcn_spans AS ({PCN_SPANS_SQL}), _at AS (SELECT child_code, at_date FROM _practice_lists)
        {MEMBERSHIP_AT_SQL}
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _pcn_lists AS
        SELECT m.parent_code AS org_code, p.at_date AS extract_date, sum(p.registered_patients) AS registered_patients,
               max(p.import_id) AS import_id, count(*) AS practices, count(*) FILTER (WHERE m.assumed) AS assumed
        FROM _practice_lists p JOIN _practice_pcn m USING (child_code, at_date)
        GROUP BY ALL
    """)
    con.execute("""
        DELETE FROM list_sizes
        WHERE import_id IN (SELECT import_id FROM imports WHERE publication = $publication)
          AND org_code IN (SELECT org_code FROM organisations WHERE org_level = 'pcn')
    """, params)
    con.execute("INSERT INTO list_sizes (org_code, extract_date, registered_patients, import_id) "
                "SELECT org_code, extract_date, registered_patients, import_id FROM _pcn_lists")
    con.execute("""
        DELETE FROM observations
        WHERE measure_id = 'registered_patients' AND org_level = 'pcn' AND basis = 'sum_of_practices'
          AND import_id IN (SELECT import_id FROM imports WHERE publication = $publication)
    """, params)
    con.execute("""
        INSERT INTO observations (measure_id, measure_version, org_code, org_level, period_start, period_end,
                                  numerator, denominator, value, basis, import_id)
        SELECT 'registered_patients', $version, org_code, 'pcn', CAST(date_trunc('month', extract_date) AS DATE),
               last_day(extract_date), registered_patients, NULL, registered_patients, 'sum_of_practices', import_id
        FROM _pcn_lists
    """, {"version": measure_version})
    pcns, practices, assumed = con.execute(
        "SELECT count(*), coalesce(sum(practices), 0), coalesce(sum(assumed), 0) FROM _pcn_lists").fetchall()[0]
    unplaced = con.execute("SELECT count(*) FROM _practice_lists ANTI JOIN _practice_pcn USING (child_code, at_date)"
                           ).fetchall()[0][0]
    return {"pcn_list_sizes": int(pcns), "practices_summed": int(practices), "practices_assumed": int(assumed),
            "practices_in_no_pcn": int(unplaced)}
