"""The measure catalogue: one YAML file per measure, validated on load."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from .text import shorten, shown

CATALOGUE_DIR = Path(__file__).parent / "catalogue"
# libyaml's safe loader parses the catalogue about ten times faster where PyYAML was built with it.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Family = Literal["national_des", "local_integration", "practice_support"]
FAMILIES: tuple[str, ...] = ("national_des", "local_integration", "practice_support")
FAMILY_LABELS = {
    "national_des": "National DES",
    "local_integration": "Integration (set locally)",
    "practice_support": "Support for practices",
}
ImprovementDirection = Literal["increase", "decrease", "neutral"]
Comparison = Literal["wilson", "byar", "dobson", "normal", "none"]
# Which comparison methods fit which type: Wilson's interval is for a share of people or events, Byar's for a
# count or rate of events, Dobson's for a directly standardised rate; a normal interval from the spread of
# values fits anything but a raw count, which is not comparable across areas of different size.
COMPARISONS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "proportion": ("wilson", "normal", "none"),
    "rate": ("byar", "dobson", "normal", "none"),
    "count": ("byar", "none"),
    "mean": ("normal", "none"),
    "currency": ("normal", "none"),
    "ratio": ("normal", "none"),
}
# A file that leaves `comparison` out (and every measure defined in the app) gets the method its type
# most often needs. A count defaults to none because most counts recorded locally (hours, services, people in
# post) are not events; a count of events says `byar` in its file.
DEFAULT_COMPARISON = {"proportion": "wilson", "rate": "byar", "count": "none", "mean": "none", "currency": "none",
                      "ratio": "none"}

_FINANCIAL_YEAR = re.compile(r"^(\d{4})/(\d{2})$")
_SCOPE = re.compile(r"^(national|Q[A-Z0-9]{2}|[A-Z0-9]{5}|U\d{5}|U[A-Z0-9]{5})$")
_ID = re.compile(r"[a-z0-9_]+")

# A catalogue file is a page of text (the largest shipped is about 2 KB); anything near a megabyte is not one.
MAX_FILE_BYTES = 1024 * 1024
# The schema nests three deep (thresholds: - lower:); deeper nesting is a mistake or an attack on the parser,
# whose C code recurses once per level and crashes the process a hundred thousand levels down.
MAX_NESTING = 20
MAX_PROBLEMS_LISTED = 20
SHOWN_CHARACTERS = 60
# The tags plain YAML gives text, numbers, true/false, dates, lists and mappings; any other (!!python/object,
# !!binary, a custom !tag) is refused before it is constructed.
_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map",
                                                           "timestamp")}


class CatalogueError(ValueError):
    """A catalogue file that cannot be used; the message names the file and the field."""


def _shown(value) -> str:
    """A value as quoted in a message, cut to a readable length."""
    return shown(value, SHOWN_CHARACTERS)


def _plain_number(value):
    # pydantic reads true as 1; in a number field it is a slip. YAML's .inf and .nan are no measure's numbers.
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not {str(value).lower()}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be a finite number, not {value}")
    return value


Number = Annotated[float, BeforeValidator(_plain_number), Field(allow_inf_nan=False)]
WholeNumber = Annotated[int, BeforeValidator(_plain_number)]
Tag = Annotated[str, Field(min_length=1, max_length=60)]
Caveat = Annotated[str, Field(min_length=1, max_length=1000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_financial_year(value: str) -> str:
    match = _FINANCIAL_YEAR.match(value)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"financial year must look like 2023/24, got {_shown(value)}")
    return value


def financial_year_of(day: date) -> str:
    """The NHS financial year (April to March) containing a date, as '2023/24'."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


class Part(_Strict):
    """A numerator or denominator: what is counted, in plain English."""

    definition: str = Field(min_length=3, max_length=2000)
    source: str | None = Field(default=None, max_length=500)


class Threshold(_Strict):
    """IIF-style thresholds for one financial year: no credit at or below lower, full credit at or above upper."""

    financial_year: str
    lower: Number
    upper: Number

    @field_validator("financial_year")
    @classmethod
    def _year(cls, value: str) -> str:
        return _check_financial_year(value)

    @model_validator(mode="after")
    def _ordered(self) -> "Threshold":
        if self.lower > self.upper:
            raise ValueError(f"lower ({self.lower}) is above upper ({self.upper})")
        return self


class Target(_Strict):
    """A target for one financial year."""

    financial_year: str
    value: Number
    label: str | None = Field(default=None, max_length=100)

    @field_validator("financial_year")
    @classmethod
    def _year(cls, value: str) -> str:
        return _check_financial_year(value)


class Source(_Strict):
    publication: str = Field(min_length=1, max_length=500)
    landing_page: str | None = Field(default=None, max_length=500)
    licence: str | None = Field(default=None, max_length=500)
    publisher: str | None = Field(default=None, max_length=500)


class Measure(_Strict):
    """One measure as defined in its catalogue file."""

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    version: WholeNumber = Field(default=1, ge=1, le=10_000)
    name: str = Field(min_length=3, max_length=200)
    short_name: str | None = Field(default=None, max_length=60)
    code: str | None = Field(default=None, max_length=40)
    description: str = Field(min_length=10, max_length=2000)
    family: Family
    level: Literal["practice", "pcn", "neighbourhood"]  # a neighbourhood: an area an ICB defines (measures.neighbourhoods)
    type: Literal["proportion", "rate", "count", "mean", "currency", "ratio"]
    numerator: Part
    denominator: Part | None = Field(default=None, validate_default=True)
    unit: str = Field(max_length=80)
    multiplier: Number = Field(default=1, gt=0, le=1_000_000)
    decimals: WholeNumber = Field(default=1, ge=0, le=4)
    improvement_direction: ImprovementDirection
    # How Compare areas sets one area against another; left out, it follows the type (DEFAULT_COMPARISON).
    comparison: Comparison | None = Field(default=None, validate_default=True)
    frequency: Literal["monthly", "quarterly", "annual"] = "monthly"
    thresholds: list[Threshold] = Field(default_factory=list, max_length=50)
    targets: list[Target] = Field(default_factory=list, max_length=50)
    fair_share: Literal["registered_population", "weighted_population"] | None = None
    # None: small numbers of local counts, proportions and rates are suppressed (measures.suppression); a
    # catalogue file's true or false overrides that.
    suppress_small_numbers: bool | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=30)
    source: Source
    caveats: list[Caveat] = Field(default_factory=list, max_length=30)
    scope: str = Field(default="national", validate_default=True, max_length=8)
    status: Literal["draft", "active", "retired"] = "active"

    @field_validator("denominator")
    @classmethod
    def _denominator_fits_type(cls, value: Part | None, info: ValidationInfo) -> Part | None:
        kind = info.data.get("type")
        if kind in ("proportion", "rate", "mean", "ratio", "currency") and value is None:
            raise ValueError(f"a {kind} needs a denominator")
        if kind == "count" and value is not None:
            raise ValueError("a count has no denominator; use type 'rate' to divide by a population")
        return value

    @field_validator("comparison")
    @classmethod
    def _comparison_fits_type(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if kind not in COMPARISONS_BY_TYPE:
            return value  # the type itself failed; its own message says why
        if value is None:
            return DEFAULT_COMPARISON[kind]
        allowed = COMPARISONS_BY_TYPE[kind]
        if value not in allowed:
            reasons = {"wilson": "Wilson's interval is for a proportion of people or events",
                       "byar": "Byar's method is for a count or rate of events",
                       "dobson": "Dobson's method is for a directly standardised rate (type rate)",
                       "normal": "a raw count is not comparable across areas of different size"}
            raise ValueError(f"{value!r} does not fit a {kind}: {reasons[value]}; use one of "
                             f"{', '.join(allowed)}")
        return value

    @field_validator("suppress_small_numbers")
    @classmethod
    def _suppression_fits_type(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        kind = info.data.get("type")
        if value and kind not in ("count", "proportion", "rate"):
            raise ValueError(f"small-number suppression applies to counts, proportions and rates, not a {kind}")
        return value

    @field_validator("thresholds")
    @classmethod
    def _one_threshold_a_year(cls, value: list[Threshold]) -> list[Threshold]:
        years = [t.financial_year for t in value]
        if len(years) != len(set(years)):
            raise ValueError("lists a financial year twice")
        return value

    @field_validator("scope")
    @classmethod
    def _scope_code(cls, value: str, info: ValidationInfo) -> str:
        if not _SCOPE.match(value):
            raise ValueError(f"scope must be 'national' or an ICB or PCN code (e.g. QHM, U00254), got {_shown(value)}")
        family, tags = info.data.get("family"), info.data.get("tags") or []
        if family == "national_des" and value != "national":
            raise ValueError("a national_des measure has scope 'national'")
        if family in ("local_integration", "practice_support") and value == "national" and "example" not in tags:
            raise ValueError("a locally set measure names the ICB or PCN that set it, or is tagged 'example'")
        return value

    @property
    def label(self) -> str:
        return self.short_name or self.name

    def threshold_for(self, day: date) -> Threshold | None:
        year = financial_year_of(day)
        return next((t for t in self.thresholds if t.financial_year == year), None)

    def target_for(self, day: date) -> Target | None:
        year = financial_year_of(day)
        return next((t for t in self.targets if t.financial_year == year), None)

    def format_value(self, value: float | None) -> str:
        if value is None or value != value:
            return "–"
        text = f"{value:,.{self.decimals}f}"
        if self.unit == "%":
            return f"{text}%"
        if self.unit.startswith("£"):
            return f"£{text}"
        return text


def _field_path(location: tuple) -> str:
    return ".".join(str(part)[:SHOWN_CHARACTERS] for part in location) or "(file)"


def _file_text(path: Path, name: str) -> str:
    """The file's text, read no further than the size limit; a device, a pipe or a folder is refused unread."""
    try:
        if not path.is_file():
            raise CatalogueError(f"{name}: is not a regular file; a catalogue file is a YAML text file")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CatalogueError(f"{name}: cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CatalogueError(f"{name}: is over {MAX_FILE_BYTES // 1024:,} KB; a catalogue file is a page of text, "
                             "so check that it is the right file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{name}: is not UTF-8 text (byte {exc.start:,} is not); save it as UTF-8") from None


def _check_events(name: str, text: str) -> None:
    """Refuse aliases and deep nesting from the parser's event stream, before anything is built from it.

    An alias (*name) repeats an anchored value; nested, they make a few lines stand for billions of values
    (the "billion laughs"). No catalogue file needs one, so none is accepted.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        line = f"line {event.start_mark.line + 1}" if event.start_mark is not None else "a line"
        if isinstance(event, yaml.AliasEvent):
            raise CatalogueError(f"{name}: {line}: uses the YAML alias *{str(event.anchor)[:SHOWN_CHARACTERS]}; "
                                 "write each value out in full, as aliases can make a small file expand without limit")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                raise CatalogueError(f"{name}: {line}: lists and mappings are nested more than {MAX_NESTING} deep; "
                                     "the catalogue's fields nest at most three deep")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _check_nodes(name: str, node: yaml.Node, path: str = "") -> None:
    """Refuse tags other than plain YAML's, keys that are not text, and a key given twice, naming the field."""
    here = path or "(file)"
    line = node.start_mark.line + 1
    if node.tag not in _PLAIN_TAGS:
        raise CatalogueError(f"{name}: field '{here}' (line {line}): the tag {_shown(node.tag)} is not allowed; a "
                             "catalogue file holds only text, numbers, true/false, lists and mappings")
    if isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _check_nodes(name, item, f"{path}.{position}" if path else str(position))
    elif isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            key_line = key.start_mark.line + 1
            if not isinstance(key, yaml.ScalarNode) or key.tag != "tag:yaml.org,2002:str":
                quoted = _shown(key.value) if isinstance(key, yaml.ScalarNode) else "a list or mapping"
                raise CatalogueError(f"{name}: field '{here}' (line {key_line}): the key {quoted} is not a field "
                                     "name; field names are text, such as name or description")
            field = f"{path}.{key.value}" if path else key.value
            if key.value in seen:
                raise CatalogueError(f"{name}: field '{_field_path((field,))}' (line {key_line}): is given twice "
                                     f"(first on line {seen[key.value]}); give each field once")
            seen[key.value] = key_line
            _check_nodes(name, value, field)


def _load_yaml(name: str, text: str):
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise CatalogueError(f"{name}: is over {MAX_FILE_BYTES // 1024:,} KB; a catalogue file is a page of text, "
                             "so check that it is the right file")
    try:
        _check_events(name, text)
        loader = _SAFE_LOADER(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_nodes(name, node)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{name}: not valid YAML: {shorten(str(exc), 400)}") from None




def parse_measure(path: Path, text: str | None = None) -> Measure:
    """Load and validate one catalogue file; errors name the file and each failing field.

    Hostile files are refused with a message, never a traceback or a hang: over 1 MB, not UTF-8, aliases, deep
    nesting, tags other than plain YAML's, keys that are not text or given twice, a file name that is not an id.
    """
    path = Path(path)
    name = shorten(path.name, 100)
    if not _ID.fullmatch(path.stem) or len(path.stem) > 64:
        raise CatalogueError(f"{name}: field 'id': the file name is the measure's id, which must be 1 to 64 "
                             f"lower-case letters, digits or _ (got {_shown(path.stem)}); rename the file")
    raw = _load_yaml(name, text if text is not None else _file_text(path, name))
    if not isinstance(raw, dict):
        kind = {"list": "a list", "str": "a line of text", "NoneType": "nothing", "int": "a number",
                "float": "a number", "bool": "true or false"}.get(type(raw).__name__, type(raw).__name__)
        raise CatalogueError(f"{name}: expected a mapping of field: value (name: ..., description: ...), got {kind}")
    if "id" in raw and raw["id"] != path.stem:
        raise CatalogueError(f"{name}: field 'id' is {_shown(raw['id'])} but must equal the file name stem "
                             f"{path.stem!r}")
    raw = {"id": path.stem, **raw}
    try:
        return Measure.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = _field_path(error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown field (check its spelling against the catalogue README)"
            problems.append(f"{name}: field '{field}': {shorten(message, 300)}")
        if len(problems) > MAX_PROBLEMS_LISTED:
            problems = problems[:MAX_PROBLEMS_LISTED] + [f"{name}: … and {len(problems) - MAX_PROBLEMS_LISTED:,} "
                                                         "more problems"]
        raise CatalogueError("\n".join(problems)) from None


@dataclass(frozen=True)
class Catalogue:
    """Every measure, by id, in catalogue order (family, then file name)."""

    measures: tuple[Measure, ...]

    def __iter__(self):
        return iter(self.measures)

    def __len__(self) -> int:
        return len(self.measures)

    def get(self, measure_id: str) -> Measure:
        for measure in self.measures:
            if measure.id == measure_id:
                return measure
        raise KeyError(f"no measure {measure_id!r} in the catalogue")

    def by_family(self, family: str) -> list[Measure]:
        return [m for m in self.measures if m.family == family]

    def ids(self) -> list[str]:
        return [m.id for m in self.measures]


def load_catalogue(directory: Path | str | None = None) -> Catalogue:
    """Load every `*.yaml` file in a directory; all problems are reported together."""
    directory = Path(directory) if directory else CATALOGUE_DIR
    measures, problems = [], []
    for path in sorted(directory.glob("*.yaml")):
        try:
            measures.append(parse_measure(path))
        except CatalogueError as exc:
            problems.append(str(exc))
    if problems:
        raise CatalogueError("\n".join(problems))
    measures.sort(key=lambda m: (FAMILIES.index(m.family), m.id))
    return Catalogue(tuple(measures))


@lru_cache(maxsize=4)
def default_catalogue() -> Catalogue:
    return load_catalogue(CATALOGUE_DIR)


def compute_values(measure: Measure, numerator, denominator):
    """value = numerator ÷ denominator × multiplier (a count is its numerator); NaN where undefined."""
    import numpy as np

    numerator = np.asarray(numerator, dtype="float64")
    if measure.type == "count":
        return numerator.copy()
    denominator = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # an overflow is inf, refused by callers
        values = numerator / denominator * measure.multiplier
    values[~(denominator > 0)] = np.nan
    return values
