"""The PCN contract's money rules by financial year (IIF, access payment, ARRS): one YAML file a year, validated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from ..catalogue import (CatalogueError, Caveat, _check_financial_year, _field_path, _file_text, _load_yaml,
                         _plain_number, _Strict, default_catalogue)
from ..text import shorten, shown

RULES_DIR = Path(__file__).parent / "years"
FIRST_YEAR, LAST_YEAR = "2023/24", "2026/27"
_FILE_NAME = re.compile(r"^(\d{4})-(\d{2})$")
_SOURCE_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")

Pounds = Annotated[float, BeforeValidator(_plain_number), Field(ge=0)]
Share = Annotated[float, BeforeValidator(_plain_number), Field(ge=0, le=1)]
Percent = Annotated[float, BeforeValidator(_plain_number), Field(ge=0, le=100)]
Adjustment = Literal["list_size", "prevalence"]


class ContractError(CatalogueError):
    """A contract rules file that cannot be used; the message names the file and the field."""


class Source(_Strict):
    document: str = Field(min_length=3, max_length=500)
    date: str = Field(description="the document's date: 2026-02-24, 2026-02 or 2026")

    @field_validator("date")
    @classmethod
    def _date(cls, value: str) -> str:
        if not _SOURCE_DATE.match(str(value)):
            raise ValueError(f"must be a date written 2026-02-24, 2026-02 or 2026, got {shown(value, 40)}")
        return value


class _Sourced(_Strict):
    source: str = Field(min_length=1, max_length=60)
    caveats: list[Caveat] = Field(default_factory=list, max_length=20)


class Indicator(_Sourced):
    """One IIF indicator in one year: whether it pays, its thresholds (percent) and points. None = not known."""

    code: str = Field(pattern=r"^[A-Z]{2,5}-\d{2}[A-Z]?$")
    measure: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    in_iif: bool | None
    lower: Percent | None = None
    upper: Percent | None = None
    points: Annotated[float, BeforeValidator(_plain_number), Field(ge=0, le=1000)] | None = None
    # An indicator that took over from another part-way through the year: the old code and the first day of
    # the new one (CAN-04 replaced CAN-02 from 1 October 2024). Charts of the measure mark the day.
    replaces: str | None = Field(default=None, pattern=r"^[A-Z]{2,5}-\d{2}[A-Z]?$")
    from_date: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Indicator":
        if (self.replaces is None) != (self.from_date is None):
            raise ValueError("give both replaces and from_date, or neither")
        if (self.lower is None) != (self.upper is None):
            raise ValueError("give both lower and upper, or neither")
        if self.lower is not None and self.lower > self.upper:
            raise ValueError(f"lower ({self.lower:g}) is above upper ({self.upper:g})")
        if self.in_iif is False and (self.points or self.lower is not None):
            raise ValueError("an indicator not in the IIF that year has no points or thresholds")
        return self

    @property
    def known(self) -> bool:
        """Whether the year's rule is complete enough to turn achievement into points."""
        return bool(self.in_iif) and self.lower is not None and self.points is not None


class IIF(_Sourced):
    pounds_per_point: Pounds | None = None
    adjustments: list[Adjustment] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list, max_length=60)

    @field_validator("indicators")
    @classmethod
    def _once_each(cls, value: list[Indicator]) -> list[Indicator]:
        codes = [i.code for i in value]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"indicator {', '.join(twice)} is listed twice; list each indicator once a year")
        return value


class Component(_Sourced):
    name: str = Field(min_length=1, max_length=200)
    share: Share | None = None
    amount_pounds: Pounds | None = None


class PaymentPart(Component):
    pounds_per_adjusted_patient: Pounds | None = None
    components: list[Component] = Field(default_factory=list, max_length=20)


class AccessPayment(_Sourced):
    name: str = Field(min_length=1, max_length=200)
    in_contract: bool
    total_pounds: Pounds | None = None
    parts: list[PaymentPart] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _shares(self) -> "AccessPayment":
        if not self.in_contract and self.parts:
            raise ValueError("a payment not in the contract that year has no parts")
        shares = [p.share for p in self.parts if p.share is not None]
        if shares and abs(sum(shares) - 1) > 1e-6 and len(shares) == len(self.parts):
            raise ValueError(f"the parts' shares add up to {sum(shares):g}, not 1")
        return self


class Reimbursement(_Sourced):
    role: str = Field(min_length=1, max_length=200)
    pounds_per_wte: Pounds


class ARRS(_Sourced):
    rate_per_weighted_patient: Pounds | None = None
    gp_rate_per_weighted_patient: Pounds | None = None
    national_pool_pounds: Pounds | None = None
    roles: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1, max_length=100)
    maximum_reimbursement: list[Reimbursement] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _reimbursed_roles_count(self) -> "ARRS":
        stray = [r.role for r in self.maximum_reimbursement if r.role not in self.roles]
        if stray:
            raise ValueError(f"maximum_reimbursement names {', '.join(stray)}, not in roles")
        return self


class YearRules(_Strict):
    """The money rules of one financial year."""

    financial_year: str
    sources: dict[Annotated[str, Field(pattern=r"^[a-z0-9_]+$", max_length=60)], Source] = Field(min_length=1)
    iif: IIF
    access_payment: AccessPayment
    arrs: ARRS

    @field_validator("financial_year")
    @classmethod
    def _year(cls, value: str) -> str:
        return _check_financial_year(value)

    @model_validator(mode="after")
    def _changes_in_year(self) -> "YearRules":
        start = date(int(self.financial_year[:4]), 4, 1)
        end = date(start.year + 1, 3, 31)
        wrong = [i.code for i in self.iif.indicators if i.from_date is not None and not start <= i.from_date <= end]
        if wrong:
            raise ValueError(f"{', '.join(wrong)}: from_date is outside {self.financial_year} "
                             f"({start:%d %b %Y} to {end:%d %b %Y})")
        return self

    @model_validator(mode="after")
    def _sources_named(self) -> "YearRules":
        problems = [f"{where}: source {shown(source, 60)} is not one of the file's sources "
                    f"({', '.join(sorted(self.sources))})" for where, source in self._source_uses()
                    if source not in self.sources]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _source_uses(self):
        yield "iif", self.iif.source
        for n, indicator in enumerate(self.iif.indicators):
            yield f"iif.indicators.{n}", indicator.source
        yield "access_payment", self.access_payment.source
        for n, part in enumerate(self.access_payment.parts):
            yield f"access_payment.parts.{n}", part.source
            for m, component in enumerate(part.components):
                yield f"access_payment.parts.{n}.components.{m}", component.source
        yield "arrs", self.arrs.source
        for n, reimbursement in enumerate(self.arrs.maximum_reimbursement):
            yield f"arrs.maximum_reimbursement.{n}", reimbursement.source

    def indicator(self, code: str) -> Indicator | None:
        wanted = normalise_code(code)
        return next((i for i in self.iif.indicators if i.code == wanted), None)

    def cite(self, source_id: str) -> str:
        source = self.sources[source_id]
        return f"{source.document} ({source.date})"


def normalise_code(code: str) -> str:
    """An indicator code as the rules write it: 'CAN04', 'can-04' and 'CAN-04' are all 'CAN-04'."""
    text = str(code).strip().upper().replace(" ", "")
    match = re.fullmatch(r"([A-Z]{2,5})-?(\d{2}[A-Z]?)", text)
    return f"{match.group(1)}-{match.group(2)}" if match else text


def parse_year(path: Path, text: str | None = None) -> YearRules:
    """Load and validate one year's rules file; errors name the file and each failing field."""
    path = Path(path)
    name = shorten(path.name, 100)
    try:
        raw = _load_yaml(name, text if text is not None else _file_text(path, name))
    except ContractError:
        raise
    except CatalogueError as problem:
        raise ContractError(str(problem)) from None
    if not isinstance(raw, dict):
        raise ContractError(f"{name}: expected a mapping of field: value (financial_year: ..., iif: ...)")
    try:
        rules = YearRules.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown field (check its spelling against the contract rules README)"
            problems.append(f"{name}: field '{_field_path(error['loc'])}': {shorten(message, 300)}")
        raise ContractError("\n".join(problems[:20])) from None
    match = _FILE_NAME.match(path.stem)
    expected = f"{match.group(1)}/{match.group(2)}" if match else None
    if expected != rules.financial_year:
        raise ContractError(f"{name}: field 'financial_year' is {rules.financial_year} but the file name says "
                            f"{expected or 'no year'}; name the file for its year, e.g. "
                            f"{rules.financial_year.replace('/', '-')}.yaml")
    catalogue_ids = set(default_catalogue().ids())
    unknown = [(n, i.measure) for n, i in enumerate(rules.iif.indicators) if i.measure not in catalogue_ids]
    if unknown:
        n, measure = unknown[0]
        raise ContractError(f"{name}: field 'iif.indicators.{n}.measure': {shown(measure, 60)} is not a measure in "
                            "the catalogue (measures/catalogue/)")
    return rules


@dataclass(frozen=True)
class ContractRules:
    """Every year's rules, by financial year."""

    years: dict[str, YearRules]

    def year(self, financial_year: str) -> YearRules:
        try:
            return self.years[financial_year]
        except KeyError:
            raise ContractError(f"no contract rules for {shown(financial_year, 20)}; the rules cover "
                                f"{', '.join(self.years)} (measures/contract/years/)") from None

    def codes(self) -> set[str]:
        return {i.code for rules in self.years.values() for i in rules.iif.indicators}

    def code_changes(self, measure_id: str) -> list[tuple[date, str, str, str]]:
        """When a measure's indicator changed code: (first day, old code, new code, source), oldest first."""
        return sorted((i.from_date, i.replaces, i.code, rules.cite(i.source)) for rules in self.years.values()
                      for i in rules.iif.indicators if i.measure == measure_id and i.replaces)

    def measure_of(self, code: str) -> str | None:
        wanted = normalise_code(code)
        for rules in self.years.values():
            for indicator in rules.iif.indicators:
                if indicator.code == wanted:
                    return indicator.measure
        return None


def load_rules(directory: Path | str | None = None) -> ContractRules:
    """Load every year's file; all problems are reported together."""
    directory = Path(directory) if directory else RULES_DIR
    years, problems = {}, []
    for path in sorted(directory.glob("*.yaml")):
        try:
            rules = parse_year(path)
        except CatalogueError as exc:
            problems.append(str(exc))
            continue
        years[rules.financial_year] = rules
    if problems:
        raise ContractError("\n".join(problems))
    if not years:
        raise ContractError(f"{shorten(str(directory), 200)}: no contract rules files (2025-26.yaml, …)")
    return ContractRules(dict(sorted(years.items())))


@lru_cache(maxsize=2)
def default_rules() -> ContractRules:
    return load_rules(RULES_DIR)
