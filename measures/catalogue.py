"""The measure catalogue: one YAML file per measure, validated on load."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

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

_FINANCIAL_YEAR = re.compile(r"^(\d{4})/(\d{2})$")
_SCOPE = re.compile(r"^(national|Q[A-Z0-9]{2}|[A-Z0-9]{5}|U\d{5}|U[A-Z0-9]{5})$")


class CatalogueError(ValueError):
    """A catalogue file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_financial_year(value: str) -> str:
    match = _FINANCIAL_YEAR.match(value)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"financial year must look like 2023/24, got {value!r}")
    return value


def financial_year_of(day: date) -> str:
    """The NHS financial year (April to March) containing a date, as '2023/24'."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


class Part(_Strict):
    """A numerator or denominator: what is counted, in plain English."""

    definition: str = Field(min_length=3)
    source: str | None = None


class Threshold(_Strict):
    """IIF-style thresholds for one financial year: no credit at or below lower, full credit at or above upper."""

    financial_year: str
    lower: float
    upper: float

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
    value: float
    label: str | None = None

    @field_validator("financial_year")
    @classmethod
    def _year(cls, value: str) -> str:
        return _check_financial_year(value)


class Source(_Strict):
    publication: str
    landing_page: str | None = None
    licence: str | None = None
    publisher: str | None = None


class Measure(_Strict):
    """One measure as defined in its catalogue file."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    version: int = Field(default=1, ge=1)
    name: str = Field(min_length=3)
    short_name: str | None = None
    code: str | None = None
    description: str = Field(min_length=10)
    family: Family
    level: Literal["practice", "pcn"]
    type: Literal["proportion", "rate", "count", "mean", "currency", "ratio"]
    numerator: Part
    denominator: Part | None = Field(default=None, validate_default=True)
    unit: str
    multiplier: float = Field(default=1, gt=0)
    decimals: int = Field(default=1, ge=0, le=4)
    improvement_direction: ImprovementDirection
    frequency: Literal["monthly", "quarterly", "annual"] = "monthly"
    thresholds: list[Threshold] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    fair_share: Literal["registered_population", "weighted_population"] | None = None
    # None: small numbers of local counts, proportions and rates are suppressed (measures.suppression); a
    # catalogue file's true or false overrides that.
    suppress_small_numbers: bool | None = None
    tags: list[str] = Field(default_factory=list)
    source: Source
    caveats: list[str] = Field(default_factory=list)
    scope: str = Field(default="national", validate_default=True)
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
            raise ValueError(f"scope must be 'national' or an ICB or PCN code (e.g. QHM, U00254), got {value!r}")
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
    return ".".join(str(part) for part in location) or "(file)"


def parse_measure(path: Path, text: str | None = None) -> Measure:
    """Load and validate one catalogue file; errors name the file and each failing field."""
    path = Path(path)
    try:
        raw = yaml.load(text if text is not None else path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path.name}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise CatalogueError(f"{path.name}: cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path.name}: expected a mapping of field: value, got {type(raw).__name__}")
    if "id" in raw and raw["id"] != path.stem:
        raise CatalogueError(f"{path.name}: field 'id' is {raw['id']!r} but must equal the file name stem {path.stem!r}")
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
            problems.append(f"{path.name}: field '{field}': {message}")
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
    with np.errstate(divide="ignore", invalid="ignore"):
        values = numerator / denominator * measure.multiplier
    values[~(denominator > 0)] = np.nan
    return values
