"""MI Network Contract DES monthly practice figures (extract or published file) → CAN-02/CAN-04, HI-03 and fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from ..store import StoreMissing
from .common import (DATE_FORMATS, PublicationError, Rejections, check_counts, duplicates, examples, ident,
                     measures_catalogue, not_in_future, number_sql, observations, read_csv_table,
                     reject_unknown, require_values, shown, stop_on_rows)
from .context import StoreContext
from .hierarchy import MEMBERSHIP_AT_SQL
from .loading import Load

PUBLICATION = "MI Network Contract DES: monthly practice extract"
SHORT = "MI Network Contract DES monthly extract"
ORDER = 45  # after the maps (practices must be known); needs no list sizes
LANDING_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/mi-network-contract-des"
CADENCE = "monthly"  # how often a new file is published: monthly or annual
REQUIRED = ["QUALITY_SERVICE", "ORG_CODE", "ACH_DATE", "IND_CODE", "FIELD_NAME", "VALUE"]
OPTIONAL = ["NAME", "DEFAULT_VALUES_USED", "SUBMIT_USER_ID", "SUBMIT_DATE", "SUBMIT_TIME", "LAST_SUBMISSION"]
_ADVICE = f"Download the file again from {LANDING_PAGE}."


@dataclass(frozen=True)
class Shape:
    """One layout of the practice figures: the columns it names the practice and the field by, how it writes the
    achievement date, and the mark it puts for a figure the publisher withheld (None: it withholds none)."""

    required: tuple[str, ...]
    org: str
    field: str
    dates: str
    suppressed: str | None = None


EXTRACT = Shape(tuple(REQUIRED), org="ORG_CODE", field="FIELD_NAME",
                dates="the extract writes yyyymmdd, such as 20240930")

# IND_CODE as published (no hyphen) → the catalogue measure its numerator and denominator feed. CAN-04 replaced
# CAN-02 in October 2024 with the same definition, so both codes are one series.
SERIES = {"CAN02": "can_02_fit", "CAN04": "can_02_fit", "HI03": "hi_03_ld_health_checks"}

# Exclusion and PCA codes (CQRS short codes) by indicator, from NHS England's 2025/26 indicator metadata
# (NCD_metadata_2025-26.csv); other FIELD_NAME text is kept as published.
FIELD_CODES = {
    "CAN04": {"GICANREF": "exclusion", "FITNIDAT": "PCA", "FAECIMMDEC": "PCA"},
    "SMR01A": {"PAT_AGEU18": "exclusion", "NOMEDERR1": "exclusion", "PALCARDAT2": "PCA", "MEDRVWDEC": "PCA"},
    "SMR01B": {"SEVFRAIL2": "exclusion", "PALCARDAT2": "PCA", "STRMEDRVDC": "PCA"},
    "SMR01C": {"PALCARDAT2": "PCA", "STRMEDRVDC": "PCA"},
    "SMR01D": {"CARHOMNP18": "exclusion", "PALCARDAT2": "PCA", "CARHOMDEC1": "PCA", "STRMEDRVDC": "PCA"},
    "SMR03": {"L12MNODOAC": "exclusion", "DOAC3MDAT1": "PCA", "DOAC9MDAT1": "PCA"},
    "HI03": {"PAT_AGEU14": "exclusion", "LD_DAT": "exclusion", "HLTHCHKDEC": "PCA", "HLTHAPDEC": "PCA"},
}
# Fraction indicators (INDICATOR_TYPE FI in the metadata, and CAN-02 before it became CAN-04): the numerator counts
# patients of the denominator, so it can never be larger.
FI_INDICATORS = ("CAN02", "CAN04", "SMR01A", "SMR01B", "SMR01C", "SMR01D", "SMR03", "HI03")

_SERVICE = "upper(regexp_replace(coalesce(QUALITY_SERVICE, ''), '\\s', '', 'g'))"
_FIRST_YY = f"TRY_CAST(substr({_SERVICE}, 4, 2) AS INTEGER)"
_SECOND_YY = f"TRY_CAST(substr({_SERVICE}, 6, 2) AS INTEGER)"
_YEAR = f"'20' || substr({_SERVICE}, 4, 2) || '/' || substr({_SERVICE}, 6, 2)"
_YEAR_START = f"make_date(2000 + {_FIRST_YY}, 4, 1)"
_FORMATS = ["%Y%m%d", *[f for f in DATE_FORMATS if f != "%Y%m%d"]]  # the extract writes 20240930
_ACHIEVED = "CAST(try_strptime(trim(ACH_DATE), $formats) AS DATE)"
_CODE = "upper(regexp_replace(coalesce(IND_CODE, ''), '[\\s-]', '', 'g'))"


def contract_years() -> list[str]:
    """The financial years the contract rules cover (measures/contract/years/2025-26.yaml is 2025/26): a year
    without rules has indicators the dashboard cannot read."""
    from ..contract import RULES_DIR

    return sorted(f"{m.group(1)}/{m.group(2)}" for path in RULES_DIR.glob("*.yaml")
                  if (m := re.fullmatch(r"(\d{4})-(\d{2})", path.stem)))


def parse(source, context: StoreContext, shape: Shape = EXTRACT) -> Load:
    name = source.name
    context.require_practices(name, "MI Network Contract DES")
    con = context.connection()  # the DuckDB the store is read and written through too
    rows = read_csv_table(con, source)
    require_values(name, con, list(shape.required), _ADVICE)
    _check_service(name, con)
    _check_dates(name, con, shape)
    stop_on_rows(name, con, f"SELECT _row, IND_CODE FROM raw WHERE NOT regexp_full_match({_CODE}, "
                            "'[A-Z]{2,8}[0-9]{1,4}[A-Z]{0,2}')", [], "IND_CODE",
                 "is not an indicator code (letters then digits, such as CAN04, HI03 or SMR01A)", _ADVICE)
    # A figure the publisher withheld is no count: the count checks pass over it and it is read as no value.
    con.execute("ALTER TABLE raw ADD COLUMN _withheld BOOLEAN")
    con.execute("UPDATE raw SET _withheld = coalesce(trim(VALUE) = $mark, FALSE)", {"mark": shape.suppressed})
    con.execute("CREATE VIEW counted AS SELECT * FROM raw WHERE NOT _withheld")
    check_counts(name, con, "VALUE", "a count of patients", _ADVICE, whole=False, table="counted")
    rejections = Rejections()
    notes: list[str] = []
    org_sql, field_sql = ident(shape.org), ident(shape.field)
    text = f"regexp_replace(trim({field_sql}), '\\s+', ' ', 'g')"

    con.register("known_fields", pd.DataFrame(
        [(code, field, kind) for code, fields in FIELD_CODES.items() for field, kind in fields.items()],
        columns=["ind_code", "field", "kind"]))
    con.execute(f"""
        CREATE TABLE fields AS
        WITH base AS (
            SELECT _row, upper(trim({org_sql})) AS {org_sql}, {_ACHIEVED} AS ACH_DATE, {_CODE} AS IND_CODE,
                   regexp_replace({_CODE}, '^([A-Z]+)([0-9].*)$', '\\1-\\2') AS indicator,
                   {_YEAR} AS financial_year, CAST(date_trunc('month', {_ACHIEVED}) AS DATE) AS period_start,
                   {text} AS text,
                   CASE WHEN _withheld THEN NULL ELSE {number_sql('VALUE', whole=False)} END AS VALUE
            FROM raw)
        SELECT b._row, b.{org_sql}, b.ACH_DATE, b.IND_CODE, b.indicator, b.financial_year, b.period_start,
               CASE WHEN lower(b.text) = 'numerator' THEN 'Numerator'
                    WHEN lower(b.text) = 'denominator' THEN 'Denominator'
                    WHEN k.field IS NOT NULL THEN k.field ELSE b.text END AS {field_sql},
               CASE WHEN lower(b.text) IN ('numerator', 'denominator') THEN lower(b.text)
                    WHEN k.kind IS NOT NULL THEN k.kind
                    WHEN regexp_full_match(b.text, '[A-Za-z0-9_]+') THEN 'code'
                    ELSE 'description' END AS kind,
               b.VALUE
        FROM base b LEFT JOIN known_fields k ON k.ind_code = b.IND_CODE AND k.field = upper(b.text)
    """, {"formats": _FORMATS})
    # Messages name the file's own columns; from `accepted` on, both layouts are read by the extract's names.
    keep = duplicates(name, con, [shape.org, "ACH_DATE", "IND_CODE", shape.field], ["VALUE"], rejections,
                      "practice, achievement date, indicator and field", table="fields")
    con.register("known_practices", context.codes("practice"))
    known = reject_unknown(con, shape.org, "known_practices", rejections, "GP practice code not in any imported map",
                           "Import a practice-to-PCN map or ePCN workbook that lists them to load these rows.",
                           keep_sql=keep, table="fields")
    con.execute(f"CREATE TABLE accepted AS SELECT * EXCLUDE ({org_sql}, {field_sql}), {org_sql} AS ORG_CODE, "
                f"{field_sql} AS FIELD_NAME FROM fields WHERE {keep} AND {known}")
    _check_one_code_per_series(name, con)
    _check_numerators(name, con)

    dates = [row[0] for row in con.execute("SELECT DISTINCT ACH_DATE FROM accepted ORDER BY 1").fetchall()]
    vintage = (max(dates) if dates else con.execute("SELECT max(ACH_DATE) FROM fields").fetchall()[0][0]).isoformat()
    fields = con.execute("""
        SELECT ORG_CODE AS org_code, financial_year, ACH_DATE AS ach_date, indicator, FIELD_NAME AS field,
               VALUE AS value, kind
        FROM accepted ORDER BY org_code, ach_date, indicator, field
    """).df()
    loaded = len(fields)  # rows left out because a newer vintage gave them still count, as kept observations do
    notes.append(_summary(fields, dates))
    withheld = int(fields["value"].isna().sum())
    if withheld:
        notes.append(f"{_count(withheld, 'contract field')} {'is' if withheld == 1 else 'are'} suppressed by the "
                     f"publisher ({shape.suppressed}) and kept without a value.")
    fields = _without_newer(context, fields, dates, vintage, notes)

    obs = _observations(con, context, notes, shape)
    return Load(publication=PUBLICATION, vintage=vintage, rows_read=rows, rows_loaded=loaded,
                rejections=rejections, notes=notes, observations=obs,
                tables={"contract_fields": fields.drop(columns="kind")})


# ------------------------------------------------------------------------------------------------
# Checks that stop the import


def _check_service(name: str, con) -> None:
    consecutive = f"({_FIRST_YY} + 1) % 100 = {_SECOND_YY}"
    stop_on_rows(name, con, f"SELECT _row, QUALITY_SERVICE FROM raw WHERE NOT (regexp_full_match({_SERVICE}, "
                            f"'NCD[0-9]{{4}}') AND coalesce({consecutive}, FALSE))", [], "QUALITY_SERVICE",
                 "is not a Network Contract DES service the importer knows: it reads NCD followed by the two years "
                 "of the financial year (NCD2425 is 2024/25)", _ADVICE)
    years = contract_years()
    listed = f"{years[0]} to {years[-1]}" if years else "no year"
    stop_on_rows(name, con, f"SELECT _row, QUALITY_SERVICE FROM raw WHERE {_YEAR} NOT IN (SELECT unnest($years))",
                 {"years": years}, "QUALITY_SERVICE",
                 f"is for a financial year with no contract rules (measures/contract/years/ has rules for {listed}), "
                 "so its indicators cannot be read against that year's contract",
                 "Import a file of a year the contract rules cover, or add that year's rules first.")


def _check_dates(name: str, con, shape: Shape) -> None:
    params = {"formats": _FORMATS}
    stop_on_rows(name, con, f"SELECT _row, ACH_DATE FROM raw WHERE {_ACHIEVED} IS NULL", params, "ACH_DATE",
                 f"is not a date the importer knows ({shape.dates})", _ADVICE)
    not_in_future(name, con, _ACHIEVED, "ACH_DATE", _ADVICE, params)
    outside = (f"SELECT _row, ACH_DATE, QUALITY_SERVICE, {_YEAR} AS year, {_YEAR_START} AS start FROM raw "
               f"WHERE {_ACHIEVED} NOT BETWEEN {_YEAR_START} AND {_YEAR_START} + INTERVAL 1 YEAR - INTERVAL 1 DAY")
    count = con.execute(f"SELECT count(*) FROM ({outside})", params).fetchall()[0][0]
    if not count:
        return
    found = con.execute(f"{outside} ORDER BY _row LIMIT 5", params).fetchall()
    row, value, service, year, start = found[0]
    raise PublicationError(
        f"{name}: row {row:,}, column ACH_DATE: {shown(value)} is not in {year}, the service year its QUALITY_SERVICE "
        f"{shown(service)} names (1 Apr {start.year} to 31 Mar {start.year + 1}); achievement is counted within one "
        f"financial year.{_more(count, [r[0] for r in found])} Nothing was imported from this file. {_ADVICE}")


def _check_one_code_per_series(name: str, con) -> None:
    """One practice and achievement date takes its CAN-02/CAN-04 figures from one code: with both, the importer
    cannot tell which the series should hold."""
    for measure_id in sorted(set(SERIES.values())):
        codes = [code for code, measure in SERIES.items() if measure == measure_id]
        if len(codes) < 2:
            continue
        both = con.execute("""
            SELECT ORG_CODE, ACH_DATE, list(_row ORDER BY _row)[:4], list(DISTINCT indicator ORDER BY indicator)
            FROM accepted WHERE kind IN ('numerator', 'denominator') AND IND_CODE IN (SELECT unnest($codes))
            GROUP BY 1, 2 HAVING count(DISTINCT IND_CODE) > 1 ORDER BY min(_row) LIMIT 1
        """, {"codes": codes}).fetchall()
        if both:
            org, achieved, rows, indicators = both[0]
            raise PublicationError(
                f"{name}: rows {', '.join(f'{r:,}' for r in rows)}, column IND_CODE: practice {shown(org)} has "
                f"numerators or denominators of both {' and '.join(indicators)} at {achieved:%d %b %Y}. They are one "
                f"series ({measure_id}: CAN-04 replaced CAN-02 in October 2024), so each practice and achievement "
                f"date gives one of them, and the importer cannot tell which is right. Nothing was imported from "
                f"this file. {_ADVICE}")


def _check_numerators(name: str, con) -> None:
    over = """
        SELECT n._row, n.VALUE, n.ORG_CODE, n.ACH_DATE, n.indicator, d.VALUE, d._row
        FROM accepted n JOIN accepted d USING (ORG_CODE, ACH_DATE, IND_CODE)
        WHERE n.kind = 'numerator' AND d.kind = 'denominator' AND n.IND_CODE IN (SELECT unnest($fi))
          AND n.VALUE > d.VALUE
    """
    count, found = examples(con, over, {"fi": list(FI_INDICATORS)})
    if not count:
        return
    row, numerator, org, achieved, indicator, denominator, denominator_row = con.execute(
        f"{over} ORDER BY n._row LIMIT 1", {"fi": list(FI_INDICATORS)}).fetchall()[0]
    raise PublicationError(
        f"{name}: row {row:,}, column VALUE: the {indicator} numerator {_figure(numerator)} of practice {shown(org)} "
        f"at {achieved:%d %b %Y} is above its denominator {_figure(denominator)} (row {denominator_row:,}); the "
        f"numerator counts patients of the denominator, so one of them is wrong."
        f"{_more(count, [e.row for e in found])} Nothing was imported from this file. {_ADVICE}")


def _more(count: int, rows: list[int]) -> str:
    """The other rows with the same fault, as stop_on_rows words them; `rows` are the first few, the first included."""
    if count < 2:
        return ""
    listed = ", ".join(f"{r:,}" for r in rows[1:])
    return (f" {count - 1:,} more row{'s' if count > 2 else ''} like this ({'rows' if count > 2 else 'row'} "
            f"{listed}{', …' if count > len(rows) else ''}).")


def _figure(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


# ------------------------------------------------------------------------------------------------
# What is written


def _without_newer(context: StoreContext, fields: pd.DataFrame, dates: list[date], vintage: str,
                   notes: list[str]) -> pd.DataFrame:
    """Leave out rows a newer vintage of this publication already gave, as observations do: importing an older
    file after a newer one never turns revised figures back."""
    if fields.empty:
        return fields
    try:
        with context.store.reader() as con:
            newer = con.execute("""
                SELECT c.org_code, c.ach_date, c.indicator, c.field FROM contract_fields c
                JOIN imports i ON i.import_id = c.import_id
                WHERE i.publication = $publication AND i.vintage > $vintage AND c.ach_date IN (SELECT unnest($dates))
            """, {"publication": PUBLICATION, "vintage": vintage, "dates": dates}).df()
    except (StoreMissing, duckdb.CatalogException):  # no store yet, or one from before contract fields
        return fields
    if newer.empty:
        return fields
    newer["ach_date"] = pd.to_datetime(newer["ach_date"])
    key = ["org_code", "ach_date", "indicator", "field"]
    marked = fields.assign(ach_date=pd.to_datetime(fields["ach_date"])).merge(
        newer.assign(_newer=True), on=key, how="left")
    kept = marked["_newer"].isna().to_numpy()
    skipped = int((~kept).sum())
    notes.append(f"{_count(skipped, 'contract field')} {'was' if skipped == 1 else 'were'} not written because a "
                 "newer vintage of this publication already gave them.")
    return fields[kept].reset_index(drop=True)


def _summary(fields: pd.DataFrame, dates: list[date]) -> str:
    if fields.empty:
        return "no row can be loaded."
    kinds = fields["kind"].value_counts().to_dict()
    shares = [(kinds.get("numerator", 0) + kinds.get("denominator", 0), "numerators and denominators"),
              (kinds.get("exclusion", 0) + kinds.get("PCA", 0),
               "exclusions and personalised care adjustments by their CQRS code"),
              (kinds.get("code", 0), "by a code NHS England's 2025/26 metadata does not list for that indicator"),
              (kinds.get("description", 0), "management-information counts given by their description")]
    parts = "; ".join(f"{n:,} {what}" for n, what in shares if n)
    listed = [f"{d:%d %b %Y}" for d in dates]
    when = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"
    return (f"financial year {', '.join(sorted(fields['financial_year'].unique()))}, achievement to {when} "
            f"(each year to date from 1 April): {_count(fields['org_code'].nunique(), 'practice')}; "
            f"{_count(len(fields), 'contract field')} for {', '.join(sorted(fields['indicator'].unique()))}: {parts}.")


def _observations(con, context: StoreContext, notes: list[str], shape: Shape) -> pd.DataFrame | None:
    """Practice figures of the catalogue's series as published, and each PCN's as the sum of the practices in it at
    each achievement date. A practice figure with a numerator or denominator the publisher withheld has no value and
    is in no PCN total, and the notes name the totals it leaves incomplete."""
    series = con.execute("""
        SELECT ORG_CODE AS org_code, ACH_DATE AS period_end, period_start, IND_CODE, indicator,
               max(VALUE) FILTER (WHERE kind = 'numerator') AS numerator,
               max(VALUE) FILTER (WHERE kind = 'denominator') AS denominator,
               bool_or(VALUE IS NULL) AS withheld
        FROM accepted WHERE kind IN ('numerator', 'denominator') AND IND_CODE IN (SELECT unnest($codes))
        GROUP BY ALL ORDER BY ALL
    """, {"codes": list(SERIES)}).df()
    if series.empty:
        codes = [_hyphen(c) for c in SERIES]
        notes.append(f"no Numerator or Denominator rows for {', '.join(codes[:-1])} or {codes[-1]}, so no "
                     f"observations of {' or '.join(sorted(set(SERIES.values())))} were written; the file's figures "
                     "are kept as contract fields.")
        return None
    series["measure_id"] = series["IND_CODE"].map(SERIES)
    for column in ("period_start", "period_end"):
        series[column] = pd.to_datetime(series[column]).dt.date
    catalogue = measures_catalogue()
    frames = []
    for measure_id, rows_ in series.groupby("measure_id"):
        notes.append(f"{measure_id}: " + "; ".join(
            f"{end:%d %b %Y} from " + " and ".join(f"{code} ({_count(n, 'practice')})"
                                                   for code, n in group.groupby("indicator").size().items())
            for end, group in rows_.groupby("period_end")) + ".")
        half = rows_[~rows_["withheld"] & (rows_["numerator"].isna() != rows_["denominator"].isna())]
        if len(half):
            notes.append(f"{measure_id}: {_count(len(half), 'practice figure')} "
                         f"{'has' if len(half) == 1 else 'have'} a numerator or a denominator but not both; "
                         f"{'its value is' if len(half) == 1 else 'their values are'} empty and in no PCN total.")
        frames.append(observations(measure_id, rows_.assign(org_level="practice"), "published", catalogue))

    con.register("pcn_spans", context.frame("pcn_spans"))
    con.register("_at_frame", series[["org_code", "period_end"]].drop_duplicates().rename(
        columns={"org_code": "child_code", "period_end": "at_date"}))
    con.execute("CREATE TABLE _at AS SELECT child_code, CAST(at_date AS DATE) AS at_date FROM _at_frame")
    members = con.execute(MEMBERSHIP_AT_SQL).df()
    members["at_date"] = pd.to_datetime(members["at_date"]).dt.date
    assumed = int(members["assumed"].sum())
    if assumed:
        notes.append(f"{_count(assumed, 'practice figure')} {'was' if assumed == 1 else 'were'} added to the PCN "
                     "the practice was first seen in on a later map, because no membership is dated at the "
                     "achievement date; import the ePCN workbook to date them.")
    joined = series.merge(members[["child_code", "at_date", "parent_code"]], how="left",
                          left_on=["org_code", "period_end"], right_on=["child_code", "at_date"])
    outside = int(joined["parent_code"].isna().sum())
    if outside:
        notes.append(f"{_count(outside, 'practice figure')} {'belongs' if outside == 1 else 'belong'} to no PCN at "
                     "the achievement date and so to no PCN total.")
    complete = joined[joined["parent_code"].notna() & joined["numerator"].notna() & joined["denominator"].notna()]
    sums = (complete.groupby(["measure_id", "parent_code", "period_start", "period_end"])
            .agg(numerator=("numerator", "sum"), denominator=("denominator", "sum")).reset_index()
            .rename(columns={"parent_code": "org_code"}))
    for measure_id, rows_ in sums.groupby("measure_id"):
        frames.append(observations(measure_id, rows_.assign(org_level="pcn"), "sum_of_practices", catalogue))
    notes.append(f"{_count(len(sums), 'PCN figure')} summed from the practices in each PCN at each achievement "
                 "date.")
    notes += _withheld_notes(joined, sums, shape)
    return pd.concat(frames, ignore_index=True)


def _withheld_notes(joined: pd.DataFrame, sums: pd.DataFrame, shape: Shape) -> list[str]:
    """For each series, how many practice figures the publisher withheld, and the PCN totals that therefore leave
    them out (or, where no practice of the PCN is complete, do not exist)."""
    out = []
    summed = set(zip(sums["measure_id"], sums["org_code"], sums["period_end"]))
    for measure_id, rows_ in joined[joined["withheld"]].groupby("measure_id"):
        pcns = rows_[rows_["parent_code"].notna()][["parent_code", "period_end"]].drop_duplicates().sort_values(
            ["period_end", "parent_code"])
        incomplete = [f"{p} at {end:%d %b %Y}" for p, end in pcns.itertuples(index=False)
                      if (measure_id, p, end) in summed]
        missing = [f"{p} at {end:%d %b %Y}" for p, end in pcns.itertuples(index=False)
                   if (measure_id, p, end) not in summed]
        text = (f"{measure_id}: {_count(len(rows_), 'practice figure')} "
                f"{'has' if len(rows_) == 1 else 'have'} a numerator or denominator suppressed by the publisher "
                f"({shape.suppressed}), so {'its value is' if len(rows_) == 1 else 'their values are'} empty and in "
                "no PCN total")
        if incomplete:
            text += (f"; {_count(len(incomplete), 'PCN total')} {'is' if len(incomplete) == 1 else 'are'} therefore "
                     f"incomplete ({_listed(incomplete)})")
        if missing:
            text += (f"; {_count(len(missing), 'PCN total')} {'is' if len(missing) == 1 else 'are'} not written, "
                     f"no practice in {'it' if len(missing) == 1 else 'them'} being complete ({_listed(missing)})")
        out.append(text + ".")
    return out


def _listed(items: list[str], most: int = 5) -> str:
    return "; ".join(items[:most]) + (f"; and {len(items) - most:,} more" if len(items) > most else "")


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def _hyphen(code: str) -> str:
    return re.sub(r"^([A-Z]+)([0-9].*)$", r"\1-\2", code)

