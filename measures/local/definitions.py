"""Measures defined in the app: the form, their YAML, their versions, and the catalogue with them in it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml
from pydantic import ValidationError

from ..catalogue import FAMILIES, Catalogue, Measure, default_catalogue, parse_measure
from ..store import Store
from ..versioned import PerVersion
from .common import _has_table, _in_writer, _now, _retrying
from .periods import _icb_of, applies_to

LOCAL_FAMILIES = ("local_integration", "practice_support")
LOCAL_PUBLICATION = "Locally recorded by the PCN"

# Changing any of these changes what a value means, so it makes a new version of the measure.
MEANING_FIELDS = ("numerator", "denominator", "type", "level", "multiplier")
# A neighbourhood (measures.neighbourhoods) is measured on integration, by a measure its ICB sets.
NEIGHBOURHOOD_LEVEL = "neighbourhood"
NEIGHBOURHOOD_FAMILY = "local_integration"


class DefinitionError(ValueError):
    """A measure definition that cannot be saved; `errors` maps each form field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


# One financial year a line: "2026/27: 80" or "2026/27: 80, stretch" for a target, "2026/27: 60 to 80" for thresholds.
_TARGET_LINE = re.compile(r"^(?P<year>[^:]+):\s*(?P<value>[^,]+?)\s*(?:,\s*(?P<label>.*?))?\s*$")
_THRESHOLD_LINE = re.compile(r"^(?P<year>[^:]+):\s*(?P<lower>\S+)\s+to\s+(?P<upper>\S+)\s*$")
TARGET_EXAMPLE = "2026/27: 80, or 2026/27: 80, stretch target"
THRESHOLD_EXAMPLE = "2026/27: 60 to 80"


def _number(text: str):
    # A number as a number; anything else goes to the model as typed, so its message is the catalogue's.
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return text


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _yearly(text: str, pattern: re.Pattern, example: str, build) -> tuple[list[dict], list[str]]:
    """The lines of a by-year field as catalogue entries, and the lines that do not follow the pattern."""
    entries, problems = [], []
    for number, line in enumerate(_lines(text), start=1):
        match = pattern.match(line)
        if match is None:
            problems.append(f"line {number} ({line[:40]!r}): write one year a line, as {example}")
        else:
            entries.append(build(match))
    return entries, problems


def _target(match: re.Match) -> dict:
    entry = {"financial_year": match["year"].strip(), "value": _number(match["value"])}
    return entry | ({"label": match["label"]} if match["label"] else {})


def _threshold(match: re.Match) -> dict:
    return {"financial_year": match["year"].strip(), "lower": _number(match["lower"]),
            "upper": _number(match["upper"])}


def _yearly_message(location: list[str], message: str, entries: list) -> str:
    """A target's or threshold's problem, naming its line and year: 'line 1 (2026/27): lower (90.0) is above ...'."""
    if len(location) < 2 or not location[1].isdigit():
        return message  # the list as a whole, e.g. a year given twice
    position = int(location[1])
    year = entries[position].get("financial_year") if position < len(entries) else None
    where = f"line {position + 1}" + (f" ({year})" if year else "")
    part = f" {location[2].replace('_', ' ')}" if len(location) > 2 else ""
    return f"{where}{part}: {message}"


def _field_for_model_error(message: str) -> str:
    lowered = message.lower()
    if "denominator" in lowered:
        return "denominator"
    if "scope" in lowered:
        return "scope"
    if "threshold" in lowered:
        return "thresholds"
    return "form"


def measure_from_form(fields: dict) -> Measure:
    """Build a Measure from the Local measures form; raises DefinitionError with one message per failing field.

    Form fields: id, name, short_name, description, family, level, type, numerator, denominator, unit,
    multiplier, decimals, improvement_direction, comparison, frequency, fair_share, scope, status, tags
    (comma-separated), caveats (one per line), targets (one year a line: `2026/27: 80` or `2026/27: 80, label`),
    thresholds (one year a line: `2026/27: 60 to 80`), publication, publisher. Blank optional fields are left out.
    """
    def text(name: str) -> str:
        value = fields.get(name)
        return "" if value is None else str(value).strip()

    def optional(name: str) -> str | None:
        return text(name) or None

    raw: dict = {
        "id": text("id"),
        "version": int(fields.get("version") or 1),
        "name": text("name"),
        "short_name": optional("short_name"),
        "description": text("description"),
        "family": text("family"),
        "level": text("level"),
        "type": text("type"),
        "numerator": {"definition": text("numerator")},
        "denominator": {"definition": text("denominator")} if text("denominator") else None,
        "unit": text("unit"),
        "multiplier": fields.get("multiplier", 1),
        "decimals": fields.get("decimals", 1),
        "improvement_direction": text("improvement_direction"),
        "comparison": optional("comparison"),
        "frequency": text("frequency") or "monthly",
        "fair_share": optional("fair_share"),
        "tags": [t.strip() for t in text("tags").split(",") if t.strip()],
        "source": {"publication": text("publication") or LOCAL_PUBLICATION, "publisher": optional("publisher")},
        "caveats": [line.strip() for line in text("caveats").splitlines() if line.strip()],
        "scope": text("scope"),
        "status": text("status") or "active",
    }
    targets, target_problems = _yearly(text("targets"), _TARGET_LINE, TARGET_EXAMPLE, _target)
    thresholds, threshold_problems = _yearly(text("thresholds"), _THRESHOLD_LINE, THRESHOLD_EXAMPLE, _threshold)
    raw |= {"targets": targets, "thresholds": thresholds}
    raw = {k: v for k, v in raw.items() if v is not None}
    errors: dict[str, str] = {}
    if target_problems:
        errors["targets"] = target_problems[0]
    if threshold_problems:
        errors["thresholds"] = threshold_problems[0]
    try:
        measure = Measure.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            location = [str(part) for part in error["loc"]]
            message = error["msg"].removeprefix("Value error, ")
            if not location:
                name = _field_for_model_error(message)
            elif location[0] == "source":
                name = "publication" if location[-1] == "publication" else "publisher"
            elif location[0] in ("targets", "thresholds"):
                name = location[0]
                message = _yearly_message(location, message, raw[name])
            else:
                name = location[0]
            errors.setdefault(name, message)
        raise DefinitionError(errors) from None
    if errors:
        raise DefinitionError(errors)
    return measure


def measure_yaml(measure: Measure, *, comment: str | None = None) -> str:
    """The measure as a catalogue YAML file (`<id>.yaml`), readable by `parse_measure`."""
    data = measure.model_dump(mode="json", exclude_none=True)
    data = {key: value for key, value in data.items() if value != []}
    for key in ("multiplier",):
        if float(data[key]).is_integer():
            data[key] = int(data[key])
    header = f"# {measure.id}.yaml: a locally set measure, version {measure.version}"
    if comment:
        header += f"\n# {comment}"
    return header + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


@lru_cache(maxsize=1024)
def _parse_stored(measure_id: str, text: str) -> Measure:
    # Keyed by the definition's own text: an import changes the data version but no definition, so the pages that
    # follow it need not parse and validate every stored definition again. A Measure is frozen, so it is shared.
    return parse_measure(Path(f"{measure_id}.yaml"), text)


def _meaning(measure: Measure) -> tuple:
    return tuple(getattr(measure, name) for name in MEANING_FIELDS)


def _definitions(con) -> pd.DataFrame:
    if not _has_table(con, "local_measures"):
        return pd.DataFrame(columns=["revision", "measure_id", "version", "yaml", "scope", "family",
                                     "created_by", "created_at"])
    return con.execute("SELECT * FROM local_measures ORDER BY revision").df()


def _stored_measures(con) -> list[tuple[str, Measure]]:
    """The latest definition of each measure defined in the app, with its scope; a file with the same id wins."""
    if not _has_table(con, "local_measures"):
        return []
    known = set(default_catalogue().ids())
    latest: dict[str, tuple[str, str]] = {}  # each measure's last revision, in the order of those revisions
    for measure_id, scope, text in con.execute(
            "SELECT measure_id, scope, yaml FROM local_measures ORDER BY revision").fetchall():
        latest.pop(measure_id, None)
        latest[measure_id] = (scope, text)
    return [(scope, _parse_stored(measure_id, text)) for measure_id, (scope, text) in latest.items()
            if measure_id not in known]


def _catalogue_in(con, pcn_code: str | None = None, stored: list[tuple[str, Measure]] | None = None) -> Catalogue:
    """The effective catalogue read on `con`; `stored` is `_stored_measures(con)` when the caller has it."""
    stored = _stored_measures(con) if stored is None else stored
    measures = list(default_catalogue())
    if stored:
        scopes = {"national", pcn_code, _icb_of(con, pcn_code)} if pcn_code else None
        measures += [measure for scope, measure in stored if scopes is None or scope in scopes]
    if pcn_code:  # a PCN's catalogue is of the PCN and its practices; its neighbourhoods' measures are shown apart
        measures = [m for m in measures if m.level != "neighbourhood"]
    measures.sort(key=lambda m: (FAMILIES.index(m.family), m.id))
    return Catalogue(tuple(measures))


# The effective catalogues last asked for, by store, data version and PCN, and each store's app-defined measures
# parsed, by data version: every page and every read of a board asks for its PCN's catalogue, and each stored
# definition is YAML to parse and validate again (10-15 ms a catalogue at national scale). Shared read-only.
_CATALOGUES: PerVersion[Catalogue] = PerVersion(kept=256)
_STORED: PerVersion[list[tuple[str, Measure]]] = PerVersion(kept=4)


def catalogue_with_local(store: Store, pcn_code: str | None = None) -> Catalogue:
    """The effective catalogue: the built-in YAML files plus the measures defined in the app (latest version).

    With a PCN code, measures defined in the app for another PCN or ICB are left out. Worked out once per data
    version and PCN; the catalogue returned is shared, so it must not be changed.
    """
    def build() -> Catalogue:
        with store.reader() as con:
            return _catalogue_in(con, pcn_code, _STORED.get(store, (), lambda: _stored_measures(con)))

    return _CATALOGUES.get(store, (pcn_code,), build)


def recordable_measures(store: Store, pcn_code: str) -> list[Measure]:
    """The locally set measures a PCN records: integration and practice-support measures in its scope, not retired."""
    with store.reader() as con:
        catalogue = _catalogue_in(con, pcn_code)
        icb = _icb_of(con, pcn_code)
    return [m for m in catalogue if m.family in LOCAL_FAMILIES and m.status != "retired" and applies_to(m, pcn_code, icb)]


def _versions_in(con) -> dict[str, dict[int, Measure]]:
    """Every readable version of every measure: built-in files (their current version) and app definitions."""
    builtin = default_catalogue()
    versions = {m.id: {m.version: m} for m in builtin}
    builtin_ids = set(builtin.ids())
    for row in _definitions(con).groupby(["measure_id", "version"], sort=False).tail(1).itertuples():
        if row.measure_id not in builtin_ids:
            versions.setdefault(row.measure_id, {})[int(row.version)] = _parse_stored(row.measure_id, row.yaml)
    return versions


def _resolve(con, measure_id: str, version: int | None = None) -> Measure:
    versions = _versions_in(con).get(measure_id)
    if not versions:
        raise KeyError(f"no measure {measure_id!r} in the catalogue")
    return versions[version] if version is not None else versions[max(versions)]


def _app_ids(rows: pd.DataFrame) -> set[str]:
    return set(rows["measure_id"]) - set(default_catalogue().ids())


def measure_versions(store: Store, measure_id: str) -> dict[int, Measure]:
    """Every version of a measure that can still be read: {version: Measure}."""
    with store.reader() as con:
        return _versions_in(con).get(measure_id, {})


def definition_history(store: Store, measure_id: str) -> pd.DataFrame:
    """Every save of an app-defined measure: revision, version, who, when, and the YAML."""
    return store.query(
        "SELECT revision, version, created_by, created_at, scope, yaml FROM local_measures "
        "WHERE measure_id = ? ORDER BY revision", [measure_id])


def icb_neighbourhood_count(store: Store, icb: str) -> int:
    """How many neighbourhoods the ICB has defined (0 in a store made before neighbourhoods existed)."""
    with store.reader() as con:
        if not _has_table(con, "neighbourhoods"):
            return 0
        return con.execute("SELECT count(*) FROM neighbourhoods WHERE icb_code = ?", [icb]).fetchall()[0][0]


def neighbourhood_measures(store: Store, icb: str) -> list[Measure]:
    """The measures defined in the app for the ICB's neighbourhoods, not retired (the Define form changes them)."""
    with store.reader() as con:
        app_ids = _app_ids(_definitions(con))
        catalogue = _catalogue_in(con)
    return [m for m in catalogue if m.id in app_ids and m.level == NEIGHBOURHOOD_LEVEL and m.scope == icb
            and m.status != "retired"]


def app_defined_ids(store: Store) -> list[str]:
    with store.reader() as con:
        return sorted(_app_ids(_definitions(con)))


@dataclass(frozen=True)
class Defined:
    measure: Measure
    outcome: str  # "new measure" | "new version" | "updated" | "unchanged"
    previous_version: int | None = None


def define_measure(store: Store, measure: Measure, actor: str, *, at: datetime | None = None) -> Defined:
    """Store a measure defined in the app; a changed numerator or denominator (or type, level, multiplier) makes a new version.

    The version in `measure` is ignored: it is 1 for a new measure, the same as the latest for a change that
    keeps the meaning, and one more for a change of meaning. Every save is kept (table local_measures).
    """
    if not (actor or "").strip():
        raise DefinitionError({"actor": "say who is making the change, so the log can show it"})
    if measure.family not in LOCAL_FAMILIES:
        raise DefinitionError({"family": "national DES measures come from NHS England's publications; "
                                         "define integration or practice-support measures here"})
    if measure.scope == "national":
        raise DefinitionError({"scope": "a measure defined in the app names the ICB or PCN that set it"})
    if measure.id in default_catalogue().ids():
        raise DefinitionError({"id": f"{measure.id!r} is a built-in measure (measures/catalogue/{measure.id}.yaml); "
                                     "change that file, which is version-controlled, or choose another id"})
    if measure.level == NEIGHBOURHOOD_LEVEL and measure.family != NEIGHBOURHOOD_FAMILY:
        raise DefinitionError({"level": "a neighbourhood is measured on integration with its partners: choose the "
                                        "integration family, or the PCN or practice level"})

    def write(con) -> Defined:
        if measure.level == NEIGHBOURHOOD_LEVEL:
            # Recorded for each neighbourhood of one ICB, and shown beside its PCNs' boards, so the ICB sets it.
            held = con.execute("SELECT org_level FROM organisations WHERE org_code = ?", [measure.scope]).fetchall()
            if not held or held[0][0] != "icb":
                raise DefinitionError({"scope": f"a neighbourhood measure is set by the ICB whose neighbourhoods "
                                                f"record it, not {measure.scope}; choose the ICB under Set by"})
        row = con.execute("SELECT version, yaml FROM local_measures WHERE measure_id = ? "
                          "ORDER BY revision DESC LIMIT 1", [measure.id]).fetchall()
        row = row[0] if row else None
        if row is None:
            saved, outcome, previous = measure.model_copy(update={"version": 1}), "new measure", None
        else:
            previous = int(row[0])
            latest = _parse_stored(measure.id, row[1])
            if _meaning(latest) != _meaning(measure):
                saved, outcome = measure.model_copy(update={"version": previous + 1}), "new version"
            else:
                saved = measure.model_copy(update={"version": previous})
                outcome = "unchanged" if saved == latest else "updated"
        if outcome != "unchanged":
            when = at or _now()
            text = measure_yaml(saved, comment=f"defined in the PCN dashboard by {actor.strip()} on {when:%Y-%m-%d}")
            _parse_stored(saved.id, text)  # the stored file must load back exactly
            con.execute(
                "INSERT INTO local_measures VALUES (nextval('local_measure_rev_seq'), ?, ?, ?, ?, ?, ?, ?)",
                [saved.id, saved.version, text, saved.scope, saved.family, actor.strip(), when])
        return Defined(saved, outcome, previous)

    return _retrying(lambda: _in_writer(store, write))


def measure_form_defaults(measure: Measure) -> dict:
    """The form fields that reproduce a measure (the inverse of `measure_from_form`)."""
    return {
        "id": measure.id, "name": measure.name, "short_name": measure.short_name or "",
        "description": measure.description, "family": measure.family, "level": measure.level,
        "type": measure.type, "numerator": measure.numerator.definition,
        "denominator": measure.denominator.definition if measure.denominator else "",
        "unit": measure.unit, "multiplier": float(measure.multiplier), "decimals": measure.decimals,
        "improvement_direction": measure.improvement_direction, "comparison": measure.comparison,
        "frequency": measure.frequency,
        "fair_share": measure.fair_share or "", "scope": measure.scope, "status": measure.status,
        "tags": ", ".join(measure.tags), "caveats": "\n".join(measure.caveats),
        "targets": "\n".join(f"{t.financial_year}: {t.value:.15g}" + (f", {t.label}" if t.label else "")
                             for t in measure.targets),
        "thresholds": "\n".join(f"{t.financial_year}: {t.lower:.15g} to {t.upper:.15g}" for t in measure.thresholds),
        "publication": measure.source.publication, "publisher": measure.source.publisher or "",
    }
