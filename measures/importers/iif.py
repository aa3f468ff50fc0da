"""Network Contract DES (MI) Investment and Impact Fund annual file → ACC-08, EHCH-04, ACC-10 and ACC-10b."""

from __future__ import annotations

import pandas as pd

from .common import (Example, Rejections, check_counts, duplicates, examples, financial_year_start, label,
                     measures_catalogue, number_sql, observations, read_csv_table,
                     require_values, shown, single_date)
from .context import StoreContext
from .hierarchy import MEMBERSHIP_AT_SQL
from .loading import Load

PUBLICATION = "Network Contract DES (MI): Investment and Impact Fund"
SHORT = "IIF indicators"
ORDER = 40
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/mi-network-contract-des"
CADENCE = "annual"  # how often a new file is published: monthly or annual
REQUIRED = ["ORGANISATION_TYPE", "ORGANISATION_CODE", "ACH_DATE", "IND_CODE", "MEASURE", "VALUE"]
OPTIONAL = ["ORGANISATION_NAME", "QUALITY_SERVICE"]
_ADVICE = f"Download the file again from {LANDING_PAGE}."

# MEASURE as published (compared without case or extra spaces) → (measure id, part). ACC-10's denominator is
# also ACC-10b's: the file gives no separate one.
PARTS = {
    "acc-08 numerator": [("acc_08", "numerator")],
    "acc-08 denominator": [("acc_08", "denominator")],
    "ehch-04 numerator": [("ehch_04", "numerator")],
    "acc-10 standardised numerator": [("acc_10", "numerator")],
    "acc-10 denominator": [("acc_10", "denominator"), ("acc_10b", "denominator")],
    "acc-10b non-standardised numerator": [("acc_10b", "numerator")],
}
NOT_LOADED = {  # published, understood, deliberately not loaded
    "acc-10 baseline numerator": "baseline: the file does not say which period the baseline covers",
    "acc-10 baseline denominator": "baseline: the file does not say which period the baseline covers",
    "acc-10b baseline non-standardised numerator": "baseline: the file does not say which period the baseline covers",
}
LEVELS = {"pcn": "pcn", "gp practice": "practice", "practice": "practice"}


def parse(source, context: StoreContext) -> Load:
    name = source.name
    context.require_practices(name, "IIF")
    con = context.connection()  # the DuckDB the store is read and written through too
    rows = read_csv_table(con, source)
    require_values(name, con, ["ORGANISATION_TYPE", "ORGANISATION_CODE", "MEASURE", "VALUE"], _ADVICE)
    achieved = single_date(name, con, "ACH_DATE", _ADVICE)
    check_counts(name, con, "VALUE", "a count of patients or appointments", _ADVICE)
    catalogue = measures_catalogue()
    rejections = Rejections()
    notes: list[str] = []

    con.execute("ALTER TABLE raw ADD COLUMN _measure VARCHAR")
    con.execute("ALTER TABLE raw ADD COLUMN _level VARCHAR")
    con.execute("UPDATE raw SET _measure = lower(regexp_replace(trim(MEASURE), '\\s+', ' ', 'g')), "
                "_level = lower(regexp_replace(trim(ORGANISATION_TYPE), '\\s+', ' ', 'g'))")
    levels = dict(con.execute("SELECT _level, count(*) FROM raw GROUP BY 1").fetchall())
    unknown_levels = {k: v for k, v in levels.items() if k not in LEVELS}
    if unknown_levels:
        count, found = _rows(con, "SELECT _row, ORGANISATION_TYPE FROM raw WHERE _level NOT IN (SELECT unnest($l))",
                             {"l": list(LEVELS)})
        rejections.add("ORGANISATION_TYPE is neither PCN nor GP practice", count, found)
    con.execute("UPDATE raw SET _level = CASE _level WHEN 'pcn' THEN 'pcn' WHEN 'gp practice' THEN 'practice' "
                "WHEN 'practice' THEN 'practice' END")
    keep = duplicates(name, con, ["ORGANISATION_CODE", "_measure"],
                      ["ORGANISATION_TYPE", "ORGANISATION_CODE", "ACH_DATE", "IND_CODE", "MEASURE", "VALUE"],
                      rejections, "organisation and measure")
    skipped = con.execute(f"SELECT MEASURE, count(*) FROM raw WHERE {keep} AND _measure NOT IN (SELECT unnest($p)) "
                          "GROUP BY 1 ORDER BY 1", {"p": list(PARTS)}).fetchall()
    for measure, count in skipped:
        why = NOT_LOADED.get(label(measure), "not a measure in the catalogue")
        notes.append(f"{count:,} rows of MEASURE {shown(measure)} were not loaded ({why}).")

    con.register("known_practices", context.codes("practice"))
    con.register("known_pcns", context.codes("pcn"))
    advice = "Import a practice-to-PCN map or ePCN workbook that lists them to load these rows."
    wanted = f"{keep} AND _measure IN (SELECT unnest($p)) AND _level IS NOT NULL"
    for level, table, what in (("practice", "known_practices", "GP practice"), ("pcn", "known_pcns", "PCN")):
        count, found = _rows(con, f"SELECT _row, ORGANISATION_CODE FROM raw WHERE {wanted} AND _level = $level "
                                  f"AND ORGANISATION_CODE NOT IN (SELECT org_code FROM {table})",
                             {"p": list(PARTS), "level": level})
        for e in found:
            e.column = "ORGANISATION_CODE"
        rejections.add(f"{what} code not in any imported map", count, found, advice)
    con.execute(f"""
        CREATE TABLE accepted AS SELECT _row, ORGANISATION_CODE AS org_code, _level AS org_level, _measure,
               {number_sql('VALUE')} AS value
        FROM raw WHERE {wanted}
          AND ((_level = 'practice' AND ORGANISATION_CODE IN (SELECT org_code FROM known_practices))
            OR (_level = 'pcn' AND ORGANISATION_CODE IN (SELECT org_code FROM known_pcns)))
    """, {"p": list(PARTS)})
    accepted = con.execute("SELECT * FROM accepted").df()
    start, end = financial_year_start(achieved), achieved

    # Long rows → one row per measure and organisation with numerator and denominator.
    parts = []
    for measure_label, targets in PARTS.items():
        rows_ = accepted[accepted["_measure"] == measure_label]
        for measure_id, part in targets:
            parts.append(rows_.assign(measure_id=measure_id, part=part)[["measure_id", "org_code", "org_level", "part", "value"]])
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["measure_id", "org_code", "org_level", "part", "value"])
    wide = long.pivot_table(index=["measure_id", "org_code", "org_level"], columns="part", values="value",
                            aggfunc="first").reset_index()
    for part in ("numerator", "denominator"):
        if part not in wide:
            wide[part] = float("nan")
    published = wide.assign(period_start=start, period_end=end)

    frames = []
    for measure_id, rows_ in published.groupby("measure_id"):
        measure = catalogue.get(measure_id)
        if measure.type != "count":
            half = rows_[rows_["numerator"].isna() != rows_["denominator"].isna()]
            if len(half):
                notes.append(f"{measure_id}: {len(half):,} organisations have a numerator or a denominator but not "
                             "both; their value is empty.")
        frames.append(observations(measure_id, rows_, "published", catalogue))

    # PCN figures the file does not give are the sums of the practices in the PCN at the achievement date. They are
    # built when the file is written, and again whenever a later map or workbook changes the memberships
    # (totals.rebuild_member_sums); here only what the memberships known now say about the practices is reported.
    practice_rows = published[published["org_level"] == "practice"]
    if not practice_rows.empty:
        con.register("pcn_spans", context.frame("pcn_spans"))
        con.register("_at_frame", pd.DataFrame({"child_code": practice_rows["org_code"].unique()}).assign(at_date=end))
        con.execute("CREATE TABLE _at AS SELECT * FROM _at_frame")
        members = con.execute(MEMBERSHIP_AT_SQL).df()
        assumed = int(members["assumed"].sum())
        if assumed:
            notes.append(f"{assumed:,} practices were placed in the PCN they were first seen in on a later map, because "
                         f"no membership is dated at {end:%d %b %Y}; import the ePCN workbook to date them (the PCN "
                         "sums are rebuilt when it is imported).")
        outside = len(set(practice_rows["org_code"]) - set(members["child_code"]))
        if outside:
            notes.append(f"{outside:,} practices belonged to no PCN at {end:%d %b %Y}; they are in no PCN total.")
    obs = pd.concat(frames, ignore_index=True) if frames else None
    by_level = published.groupby(["measure_id", "org_level"]).size()
    counts = ", ".join(f"{m} {lvl} {n:,}" for (m, lvl), n in by_level.items())
    notes.insert(0, f"financial year {start:%Y}/{(start.year + 1) % 100:02d} to {end:%d %b %Y}: published rows for "
                    f"{counts}; PCN figures the file does not give are summed from the practices in each PCN.")
    return Load(publication=PUBLICATION, vintage=achieved.isoformat(), rows_read=rows, rows_loaded=len(accepted),
                rejections=rejections, notes=notes, observations=obs)


def _rows(con, sql: str, params) -> tuple[int, list[Example]]:
    return examples(con, sql, params)
