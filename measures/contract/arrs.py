"""ARRS against entitlement: a PCN's sum for the year (weighted patients × the year's rate) against staff in post."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd

from . import YearRules
from ..catalogue import financial_year_of
from ..text import shorten

ADVANCED = "Advanced Practitioners"  # the rules' name for every "Advanced ... Practitioners" staff role
MENTAL_HEALTH = "Mental Health and Wellbeing Practitioners"
MENTAL_HEALTH_SUFFIX = "(mental health practitioners)"  # the workforce file marks mental health practitioners so
ROLE_COLUMNS = ["staff_role", "staff_group", "arrs_role", "counts", "fte", "headcount", "fte_per_10k",
                "pounds_per_wte", "estimated_cost"]
SUMMARY_COLUMNS = ["figure", "value"]
WORKFORCE_COLUMNS = ["census_date", "staff_role", "staff_group", "fte", "headcount"]
LIST_COLUMNS = ["extract_date", "registered_patients", "weighted_patients"]
NOT_FUNDING = ("The workforce publication records a person's role, not how the post is funded: staff in ARRS roles "
               "are counted whether or not the PCN claims for them (salaried GPs especially).")
COST_METHOD = ("Estimated cost is FTE × the year's maximum reimbursement per whole-time post, the most the scheme "
               "repays for the role, not what the PCN pays.")
HEADCOUNT_ADDED = "Headcounts are added over roles, so someone in two roles is counted in each."


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _day(value) -> date:
    return pd.Timestamp(value).date()


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _tidy(text) -> str:
    return " ".join(str(text or "").split())


def arrs_role(staff_role: str | None, roles: list[str]) -> str | None:
    """The year's ARRS role (as the rules name it) a STAFF_ROLE counts as, or None when it does not count.

    A role the rules list by name matches it (spaces and case aside); any role ending "(Mental Health
    Practitioners)" is a mental health practitioner; any "Advanced ... Practitioners" an advanced practitioner."""
    text = _tidy(staff_role).lower()
    by_name = {_tidy(r).lower(): r for r in roles}
    if text in by_name:
        return by_name[text]
    if text.endswith(MENTAL_HEALTH_SUFFIX) and MENTAL_HEALTH in roles:
        return MENTAL_HEALTH
    if text.startswith("advanced ") and text.endswith(" practitioners") and ADVANCED in roles:
        return ADVANCED
    return None


def entitlement(weighted_patients, rate) -> float | None:
    """The year's ARRS sum for the PCN: weighted patients × pounds per weighted patient; None when either is
    not known."""
    if not (_known(weighted_patients) and _known(rate)):
        return None
    return float(weighted_patients) * float(rate)


def per_10k(fte, registered) -> float | None:
    if not (_known(fte) and _known(registered)) or registered <= 0:
        return None
    return float(fte) / float(registered) * 10_000


@dataclass(frozen=True)
class Population:
    """The list-size figure used and why that extract: its date, the patients, and a caveat saying which."""

    extract_date: date | None
    patients: float | None
    caveat: str


def year_january(financial_year: str) -> date:
    """1 January inside a financial year (2025/26 → 1 January 2026)."""
    return date(int(financial_year[:4]) + 1, 1, 1)


def weighted_population(lists: pd.DataFrame, financial_year: str) -> Population:
    """The PCN's weighted patients at its extract in the financial year nearest 1 January (an extract on or
    before it when two are as near); before 1 January has come, that is the latest extract in the year."""
    start, end = date(int(financial_year[:4]), 4, 1), date(int(financial_year[:4]) + 1, 3, 31)
    january = year_january(financial_year)
    frame = lists.reindex(columns=LIST_COLUMNS).copy()
    frame["extract_date"] = [_day(d) for d in frame["extract_date"]]
    in_year = frame[[start <= d <= end for d in frame["extract_date"]]]
    if in_year.empty:
        return Population(None, None, f"No list size of this PCN in {financial_year} is loaded, so there is no "
                                      "weighted population and no entitlement.")
    weighted = in_year[in_year["weighted_patients"].map(_known)]
    if weighted.empty:
        shown = ", ".join(f"{d:%d %b %Y}" for d in sorted(in_year["extract_date"])[-3:])
        return Population(None, None, f"The list sizes loaded for {financial_year} ({shown}) give registered patients "
                                      "only, with no weighted population, so no entitlement is shown.")
    ranked = sorted(weighted.itertuples(), key=lambda r: (abs((r.extract_date - january).days),
                                                          r.extract_date > january))
    chosen = ranked[0]
    latest = max(weighted["extract_date"])
    if chosen.extract_date == january:
        why = f"the extract of 1 January {january.year}"
    elif chosen.extract_date < january and chosen.extract_date == latest:
        why = (f"the extract of {chosen.extract_date:%d %b %Y}, the latest in {financial_year} "
               f"(none on or after 1 January {january.year} is loaded)")
    else:
        why = (f"the extract of {chosen.extract_date:%d %b %Y}, the one in {financial_year} nearest "
               f"1 January {january.year}")
    return Population(chosen.extract_date, float(chosen.weighted_patients),
                      f"Weighted patients ({float(chosen.weighted_patients):,.1f}) are from {why}.")


def registered_population(lists: pd.DataFrame, census: date | None) -> Population:
    """The PCN's registered patients at the extract nearest the census date (the later when two are as near), as
    the workforce import divides by."""
    frame = lists.reindex(columns=LIST_COLUMNS)
    frame = frame[frame["registered_patients"].map(_known)]
    if census is None:
        return Population(None, None, "")
    if frame.empty:
        return Population(None, None, "No list size of this PCN is loaded, so FTE per 10,000 patients is blank.")
    ranked = sorted(frame.itertuples(), key=lambda r: (abs((_day(r.extract_date) - census).days),
                                                       -_day(r.extract_date).toordinal()))
    chosen = ranked[0]
    day = _day(chosen.extract_date)
    return Population(day, float(chosen.registered_patients),
                      f"FTE per 10,000 divides by the PCN's {float(chosen.registered_patients):,.0f} registered "
                      f"patients at the extract of {day:%d %b %Y} ({_days(abs((day - census).days))} from the census "
                      f"of {census:%d %b %Y}).")


@dataclass(frozen=True)
class RoleInPost:
    """One staff role at the census: what is in post, whether it counts under the year's ARRS and its cost."""

    staff_role: str
    staff_group: str | None
    arrs_role: str | None  # the rules' role it counts as; None = not an ARRS role that year
    fte: float
    headcount: int
    registered: float | None
    pounds_per_wte: float | None  # the year's maximum reimbursement; None when not known or not ARRS

    @property
    def counts(self) -> bool:
        return self.arrs_role is not None

    @property
    def fte_per_10k(self) -> float | None:
        return per_10k(self.fte, self.registered)

    @property
    def estimated_cost(self) -> float | None:
        if not self.counts or self.pounds_per_wte is None:
            return None
        return self.fte * self.pounds_per_wte

    def row(self) -> dict:
        return {"staff_role": self.staff_role, "staff_group": self.staff_group, "arrs_role": self.arrs_role,
                "counts": self.counts, "fte": self.fte, "headcount": self.headcount,
                "fte_per_10k": self.fte_per_10k, "pounds_per_wte": self.pounds_per_wte,
                "estimated_cost": self.estimated_cost}


@dataclass(frozen=True)
class ArrsView:
    """What the page, the pack and the command line show of one PCN's ARRS for one year."""

    year: str
    pcn: str
    rate: float | None  # pounds per weighted patient
    weighted: Population
    registered: Population
    census_date: date | None
    roles: tuple[RoleInPost, ...] = ()
    caveats: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def weighted_patients(self) -> float | None:
        return self.weighted.patients

    @property
    def entitlement(self) -> float | None:
        return entitlement(self.weighted.patients, self.rate)

    @property
    def counted(self) -> tuple[RoleInPost, ...]:
        return tuple(r for r in self.roles if r.counts)

    @property
    def uncosted(self) -> tuple[RoleInPost, ...]:
        """The counted roles in post whose maximum reimbursement is not known this year."""
        return tuple(r for r in self.counted if r.estimated_cost is None)

    @property
    def totals(self) -> dict:
        """Every role and the ARRS roles; the estimated cost only when every ARRS role's cost is known, and the
        entitlement less it only when both are known."""
        counted, costed = self.counted, [r for r in self.counted if r.estimated_cost is not None]
        fte = float(sum(r.fte for r in self.roles))
        arrs_fte = float(sum(r.fte for r in counted))
        known_cost = float(sum(r.estimated_cost for r in costed)) if costed else None
        cost = (known_cost or 0.0) if not self.uncosted and self.census_date is not None else None
        granted = self.entitlement
        return {"fte": fte, "headcount": int(sum(r.headcount for r in self.roles)),
                "fte_per_10k": per_10k(fte, self.registered.patients),
                "arrs_roles": len(counted), "arrs_fte": arrs_fte,
                "arrs_headcount": int(sum(r.headcount for r in counted)),
                "arrs_fte_per_10k": per_10k(arrs_fte, self.registered.patients),
                "costed_roles": len(costed), "uncosted_roles": len(self.uncosted),
                "costed_fte": float(sum(r.fte for r in costed)), "estimated_cost_known_roles": known_cost,
                "estimated_cost": cost, "entitlement": granted,
                "entitlement_less_cost": granted - cost if granted is not None and cost is not None else None}

    def table(self) -> pd.DataFrame:
        """One row a role in post (ARRS roles first, then by FTE), blank where a figure is not known."""
        ordered = sorted(self.roles, key=lambda r: (not r.counts, -r.fte, r.staff_role))
        return pd.DataFrame([r.row() for r in ordered], columns=ROLE_COLUMNS)

    def summary(self) -> pd.DataFrame:
        """The year's figures in display order, blank where not known."""
        t = self.totals
        rows = [("Weighted patients", self.weighted_patients), ("Pounds per weighted patient", self.rate),
                ("Entitlement (£)", t["entitlement"]), ("ARRS roles in post", t["arrs_roles"]),
                ("ARRS FTE in post", t["arrs_fte"]), ("ARRS FTE per 10,000 patients", t["arrs_fte_per_10k"]),
                ("Estimated cost of roles with a known maximum (£)", t["estimated_cost_known_roles"]),
                ("Estimated cost of every ARRS role (£)", t["estimated_cost"]),
                ("Entitlement less estimated cost (£)", t["entitlement_less_cost"])]
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def arrs_view(rules: YearRules, pcn_code: str, lists: pd.DataFrame, workforce: pd.DataFrame) -> ArrsView:
    """Combine a year's rules with the PCN's list sizes (every extract: `LIST_COLUMNS`) and its staff by role at
    one census (`WORKFORCE_COLUMNS`, the latest census in the year)."""
    year = rules.financial_year
    scheme = rules.arrs
    maxima = {r.role: r.pounds_per_wte for r in scheme.maximum_reimbursement}
    census = _day(workforce["census_date"].max()) if not workforce.empty else None
    weighted = weighted_population(lists, year)
    registered = registered_population(lists, census)
    roles = []
    for row in workforce.itertuples():
        counted = arrs_role(row.staff_role, scheme.roles)
        group = row.staff_group if isinstance(row.staff_group, str) else None
        roles.append(RoleInPost(staff_role=str(row.staff_role), staff_group=group, arrs_role=counted,
                                fte=float(row.fte), headcount=int(row.headcount), registered=registered.patients,
                                pounds_per_wte=maxima.get(counted) if counted else None))
    caveats = list(scheme.caveats) + [weighted.caveat]
    if census is None:
        caveats.append(f"No workforce census of this PCN in {year} is loaded, so there are no staff in post to set "
                       "against the entitlement.")
    else:
        caveats.append(f"Staff in post are from the workforce census of {census:%d %b %Y}, the latest in {year} "
                       "loaded for this PCN.")
        caveats += [registered.caveat, NOT_FUNDING, COST_METHOD, HEADCOUNT_ADDED]
        uncosted = [r for r in roles if r.counts and r.estimated_cost is None]
        counted_roles = [r for r in roles if r.counts]
        if uncosted:
            names = ", ".join(shorten(r.staff_role, 100) for r in sorted(uncosted, key=lambda r: -r.fte)[:3])
            caveats.append(f"The maximum reimbursement of {len(uncosted)} of the {len(counted_roles)} ARRS roles in "
                           f"post is not known here (for example {names}), so their cost is blank, there is no "
                           "estimated cost of every ARRS role and no entitlement less cost.")
    sources = tuple(rules.cite(s) for s in dict.fromkeys(
        [scheme.source] + [r.source for r in scheme.maximum_reimbursement]))
    return ArrsView(year=year, pcn=pcn_code, rate=scheme.rate_per_weighted_patient, weighted=weighted,
                    registered=registered, census_date=census, roles=tuple(roles),
                    caveats=tuple(dict.fromkeys(c for c in caveats if c)), sources=sources)


def years_with_census(years: list[str], census_dates: list[date]) -> list[str]:
    """Financial years for a picker: those with a workforce census loaded (latest first), then the rest (latest
    first)."""
    have = {financial_year_of(d) for d in census_dates}
    return sorted(years, key=lambda y: (y not in have, -int(y[:4])))
