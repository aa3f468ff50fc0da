"""Deterministic synthetic demo data: a fictional ICB (or a fictional England) with all three families filled."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import board_summaries, demo_contract
from .demo_history import LocalCodes, entered_values, record_local_values
from .demo_neighbourhoods import add_demo_neighbourhoods
from .demo_rows import OBSERVATION_COLUMNS, ObservationCodes, fixed_period, month_periods
from .demo_workforce import demo_workforce_roles, match_published_totals
from .catalogue import Catalogue, Measure, compute_values, default_catalogue
from .local.definitions import LOCAL_FAMILIES
from .local.derived import DERIVED
from .local.validation import ENTRY_COLUMNS
from .store import Store, finish_import, set_meta, start_import

DEMO_LABEL = "Synthetic demo data: fictional organisations and values, not real NHS figures."
LAST_MONTH = date(2026, 9, 1)  # fixed, so the same seed always gives the same database
DEMO_ICB = "QZZ"


@dataclass(frozen=True)
class Scale:
    regions: int
    icbs: int
    sub_icbs: int
    pcns: int
    practices: int
    months: int


SCALES = {
    "demo": Scale(regions=1, icbs=1, sub_icbs=3, pcns=12, practices=60, months=36),
    "national": Scale(regions=7, icbs=36, sub_icbs=106, pcns=1300, practices=6300, months=60),
}

_PLACES = (
    "Riverside Millbrook Ashvale Kingsmead Hollowford Brackenby Eastmoor Westfield Thornbury Larkhill "
    "Oakridge Fennwick Marlow Green Saltcote Heathway Redbridge Vale Copperfield Elmstead Northgate Southwold "
    "Harbourside Stonecross Willowdene Ravensholt Beechwood Foxley Amberley Castlegate Brookside Mistral Down "
    "Queensway Highcliff Meadowbank Orchard Park Pennyfields Quarry Hill Rosebank Sandown Tanners Upton Vicarage"
).split()
_PRACTICE_KINDS = ("Surgery", "Medical Centre", "Health Centre", "Medical Practice", "Family Practice", "Group Practice")
_STREETS = (
    "Station Road", "High Street", "Church Lane", "Park View", "Mill Lane", "The Green", "Victoria Road",
    "Market Place", "Bridge Street", "Kings Road", "Elm Grove", "Orchard Way", "Canal Side", "Hill Top",
)
_REGION_NAMES = ("North", "Midlands", "East", "London", "South East", "South West", "North West")
_ICB_SYMBOLS = "Z0123456789ABCDEFGHIJKLMNOPQRSTUVWXY"


def _month_starts(months: int) -> pd.DatetimeIndex:
    return pd.date_range(end=pd.Timestamp(LAST_MONTH), periods=months, freq="MS")


@dataclass
class Population:
    """The fictional organisations and their list sizes, month by month."""

    orgs: pd.DataFrame
    memberships: pd.DataFrame
    practice_codes: np.ndarray
    pcn_codes: np.ndarray
    pcn_of_practice: np.ndarray  # (practices, months): index of the PCN a practice belonged to that month
    registered: np.ndarray  # (practices, months)
    weighted: np.ndarray  # (practices, months)
    imd: np.ndarray  # (practices,)
    months: pd.DatetimeIndex

    def pcn_sum(self, practice_values: np.ndarray) -> np.ndarray:
        """Sum a (practices, months) array into (pcns, months) using each month's membership."""
        out = np.zeros((len(self.pcn_codes), len(self.months)))
        for month in range(len(self.months)):
            np.add.at(out[:, month], self.pcn_of_practice[:, month], practice_values[:, month])
        return out


def build_population(scale: Scale, rng: np.random.Generator) -> Population:
    months = _month_starts(scale.months)
    region_codes = [f"Y9{i + 1}" for i in range(scale.regions)]
    icb_codes = [f"QZ{_ICB_SYMBOLS[i]}" for i in range(scale.icbs)]
    sub_icb_codes = [f"Z{i + 1:02d}" if i < 99 else f"ZA{i - 99}" for i in range(scale.sub_icbs)]
    pcn_codes = np.array([f"UZ{i + 1:04d}" for i in range(scale.pcns)])
    practice_codes = np.array([f"Z{i + 1:05d}" for i in range(scale.practices)])

    icb_of_sub = np.arange(scale.sub_icbs) % scale.icbs
    region_of_icb = np.arange(scale.icbs) % scale.regions
    sub_of_pcn = np.sort(np.arange(scale.pcns) % scale.sub_icbs)
    # Every PCN gets at least one practice; the rest are spread unevenly, as real PCNs are.
    extra = rng.choice(scale.pcns, size=scale.practices - scale.pcns, p=_uneven_weights(scale.pcns, rng))
    home_pcn = np.sort(np.concatenate([np.arange(scale.pcns), extra]))

    # A few practices move to a neighbouring PCN part-way through; their history follows them.
    pcn_of_practice = np.repeat(home_pcn[:, None], scale.months, axis=1)
    movers = _pick_movers(home_pcn, sub_of_pcn, scale, rng)
    move_month = {}
    for practice, target in movers:
        month = int(rng.integers(scale.months // 3, scale.months - 6))
        pcn_of_practice[practice, month:] = target
        move_month[practice] = (month, target)

    base = np.clip(rng.lognormal(np.log(8000), 0.5, scale.practices), 1500, 40000)
    growth = rng.normal(0.0007, 0.0012, scale.practices)
    registered = np.round(base[:, None] * (1 + growth[:, None]) ** np.arange(scale.months)[None, :])
    imd = np.clip(rng.gamma(4.0, 5.5, scale.practices), 3, 70)
    weight = np.clip(0.86 + imd / 180 + rng.normal(0, 0.05, scale.practices), 0.78, 1.3)
    weighted = registered * weight[:, None]

    names = _names(scale, rng, len(pcn_codes), len(practice_codes))
    orgs = pd.concat(
        [
            pd.DataFrame({"org_code": region_codes, "org_level": "region",
                          "name": [f"Synthetic {_REGION_NAMES[i % 7]} region" for i in range(scale.regions)]}),
            pd.DataFrame({"org_code": icb_codes, "org_level": "icb",
                          "name": ["NHS Synthetic Valley ICB" if i == 0 else f"NHS Synthetic ICB {c}"
                                   for i, c in enumerate(icb_codes)]}),
            pd.DataFrame({"org_code": sub_icb_codes, "org_level": "sub_icb",
                          "name": [f"Synthetic place {names['places'][i]} - {c}" for i, c in enumerate(sub_icb_codes)]}),
            pd.DataFrame({"org_code": pcn_codes, "org_level": "pcn", "name": names["pcns"]}),
            pd.DataFrame({"org_code": practice_codes, "org_level": "practice", "name": names["practices"]}),
        ],
        ignore_index=True,
    )
    start = months[0].date()
    rows = []
    for i, code in enumerate(icb_codes):
        rows.append((code, region_codes[region_of_icb[i]], "icb", "region", start, None))
    for i, code in enumerate(sub_icb_codes):
        rows.append((code, icb_codes[icb_of_sub[i]], "sub_icb", "icb", start, None))
    for i, code in enumerate(pcn_codes):
        rows.append((code, sub_icb_codes[sub_of_pcn[i]], "pcn", "sub_icb", start, None))
    for i, code in enumerate(practice_codes):
        if i in move_month:
            month, target = move_month[i]
            moved = months[month].date()
            rows.append((code, pcn_codes[home_pcn[i]], "practice", "pcn", start, (months[month] - pd.Timedelta(days=1)).date()))
            rows.append((code, pcn_codes[target], "practice", "pcn", moved, None))
        else:
            rows.append((code, pcn_codes[home_pcn[i]], "practice", "pcn", start, None))
        rows.append((code, sub_icb_codes[sub_of_pcn[home_pcn[i]]], "practice", "sub_icb", start, None))
    memberships = pd.DataFrame(
        rows, columns=["child_code", "parent_code", "child_level", "parent_level", "start_date", "end_date"]
    )
    return Population(orgs, memberships, practice_codes, pcn_codes, pcn_of_practice, registered, weighted, imd, months)


def _uneven_weights(n: int, rng: np.random.Generator) -> np.ndarray:
    weights = rng.gamma(2.0, 1.0, n)
    return weights / weights.sum()


def _pick_movers(home_pcn, sub_of_pcn, scale: Scale, rng) -> list[tuple[int, int]]:
    count = max(1, scale.practices // 100)
    movers = []
    for practice in rng.choice(scale.practices, size=count * 3, replace=False):
        pcn = home_pcn[practice]
        if np.sum(home_pcn == pcn) < 2:
            continue  # a PCN keeps at least one practice
        neighbours = np.flatnonzero((sub_of_pcn == sub_of_pcn[pcn]) & (np.arange(scale.pcns) != pcn))
        if len(neighbours):
            movers.append((int(practice), int(rng.choice(neighbours))))
        if len(movers) == count:
            break
    return movers


def _names(scale: Scale, rng, n_pcns: int, n_practices: int) -> dict:
    places = list(_PLACES)
    place_names = [places[i % len(places)] + ("" if i < len(places) else f" {i // len(places) + 1}")
                   for i in range(max(n_pcns, scale.sub_icbs))]
    pcns = [f"{place_names[i]} PCN" for i in range(n_pcns)]
    streets = rng.choice(_STREETS, n_practices)
    kinds = rng.choice(_PRACTICE_KINDS, n_practices)
    practices = [f"{s} {k}" for s, k in zip(streets, kinds)]
    return {"places": place_names, "pcns": pcns, "practices": practices}


# ---------------------------------------------------------------------------------------------
# Measures. Each spec gives a latent level per organisation and month (trend, step changes,
# noise) and says what the denominator is; the numerator is then drawn so that the ratio is
# realistic, with binomial or Poisson noise that shrinks as the denominator grows.


@dataclass(frozen=True)
class Spec:
    base: float
    org_sd: float
    trend_mean: float = 0.0  # change per month
    trend_sd: float = 0.0  # spread of that change across organisations
    noise_sd: float = 0.0
    steps: float = 0.0  # size of an occasional step change
    denominator: Callable[["_Context"], np.ndarray] | None = None
    low: float = 0.0
    high: float = float("inf")
    missing: float = 0.0  # share of submissions that never arrived (local measures)


@dataclass
class _Context:
    registered: np.ndarray
    weighted: np.ndarray
    rng: np.random.Generator

    def scaled(self, per_patient: float, jitter: float = 0.1) -> np.ndarray:
        noise = 1 + self.rng.normal(0, jitter, self.registered.shape[0])[:, None]
        return np.maximum(np.round(self.registered * per_patient * noise), 0)


SPECS: dict[str, Spec] = {
    "registered_patients": Spec(base=0, org_sd=0),
    "acc_08_monthly": Spec(0.86, 0.04, 0.0002, 0.0004, 0.004, 0.02, lambda c: c.scaled(0.36), 0.5, 0.995),
    "can_02_fit": Spec(0.70, 0.08, 0.002, 0.004, 0.0, 0.05, lambda c: c.scaled(0.0006, 0.3), 0.05, 1.0),
    "hi_03_ld_health_checks": Spec(0.62, 0.09, 0.002, 0.003, 0.0, 0.05, lambda c: c.scaled(0.0055, 0.2), 0.05, 1.0),
    # Measures the published files give (IIF MI file, PCN workforce); counts are per 10,000 patients
    "acc_10": Spec(12.5, 3.0, -0.01, 0.02, 0.6, 1.2, lambda c: c.registered, 3, 40),
    "acc_10b": Spec(9.8, 2.5, -0.01, 0.02, 0.5, 1.0, lambda c: c.registered, 2, 35),
    "ehch_04": Spec(40, 20, 0.05, 0.1, 0.0, 8, None, 0, 150),
    "workforce_headcount": Spec(5.5, 1.5, 0.01, 0.03, 0.0, 0.8, None, 0.5, 20),
    "workforce_fte_per_10k": Spec(6.5, 1.4, 0.01, 0.03, 0.05, 0.6, lambda c: c.registered, 1.0, 20),
    "workforce_arrs_fte_per_10k": Spec(4.2, 1.1, 0.01, 0.03, 0.04, 0.5, lambda c: c.registered, 0.5, 15),
    "workforce_pharmacy_fte_per_10k": Spec(1.4, 0.45, 0.003, 0.006, 0.02, 0.2, lambda c: c.registered, 0.1, 6),
    "workforce_personalised_care_fte_per_10k": Spec(1.5, 0.5, 0.004, 0.01, 0.02, 0.25, lambda c: c.registered, 0.1, 6),
    "workforce_direct_care_other_fte_per_10k": Spec(1.3, 0.5, 0.004, 0.01, 0.02, 0.25, lambda c: c.registered, 0.0, 6),
    "appointments_per_1000": Spec(460, 60, 0.8, 1.2, 18, 25, lambda c: c.registered, 200, 900),
    "appointments_same_day_pct": Spec(0.43, 0.06, 0.0005, 0.0008, 0.012, 0.03, lambda c: c.scaled(0.45), 0.1, 0.9),
    "appointments_within_14_days_pct": Spec(0.83, 0.04, 0.0003, 0.0005, 0.006, 0.02, lambda c: c.scaled(0.45), 0.4, 0.99),
    "dna_rate": Spec(0.045, 0.012, -0.00005, 0.0001, 0.002, 0.006, lambda c: c.scaled(0.45), 0.005, 0.2),
    "face_to_face_pct": Spec(0.64, 0.06, 0.0005, 0.001, 0.01, 0.03, lambda c: c.scaled(0.45), 0.2, 0.95),
    "non_gp_appointments_pct": Spec(0.52, 0.07, 0.001, 0.001, 0.01, 0.03, lambda c: c.scaled(0.45), 0.1, 0.9),
    # Realistic sizes matter since small-number suppression: a PCN of 40,000 reviews about 20 cases a month.
    "int_mdt_case_reviews": Spec(5.0, 1.2, 0.02, 0.04, 0.0, 1.0, lambda c: c.registered / 10000, 0, 40, 0.02),
    "int_proactive_care_plan_pct": Spec(0.55, 0.12, 0.004, 0.006, 0.0, 0.08, lambda c: c.scaled(0.025), 0.05, 1.0, 0.02),
    "int_social_prescribing_per_1000": Spec(2.6, 0.8, 0.01, 0.02, 0.15, 0.4, lambda c: c.registered, 0.2, 10, 0.02),
    "int_care_home_weekly_round_pct": Spec(0.82, 0.08, 0.001, 0.003, 0.0, 0.06, lambda c: c.scaled(0.0035, 0.5), 0.3, 1.0, 0.02),
    "int_cohort_emergency_admissions_per_1000": Spec(34, 8, -0.05, 0.1, 0.0, 4, lambda c: c.scaled(0.025), 5, 90, 0.02),
    "int_mdt_partner_attendance_pct": Spec(0.58, 0.14, 0.003, 0.005, 0.0, 0.1, lambda c: np.maximum(np.round(c.registered / 9000), 2), 0, 1.0, 0.02),
    "int_vcse_referrals_engaged_pct": Spec(0.66, 0.09, 0.001, 0.003, 0.0, 0.06, lambda c: c.scaled(0.0009, 0.3), 0.2, 1.0, 0.02),
    "int_care_home_admissions_per_1000_beds": Spec(60, 12, -0.05, 0.12, 0.0, 6, lambda c: c.scaled(0.0045, 0.4), 5, 150, 0.02),
    "ps_arrs_hours_per_1000_weighted": Spec(72, 18, 0.2, 0.3, 4, 10, lambda c: c.weighted, 10, 200, 0.01),
    "ps_arrs_fair_share_ratio": Spec(0, 0),  # derived from ARRS hours when they are recorded
    "ps_funding_per_weighted_patient": Spec(2.4, 0.6, 0.004, 0.01, 0.08, 0.3, lambda c: c.weighted, 0.2, 8, 0.01),
    "ps_shared_services_used": Spec(3.2, 1.2, 0.01, 0.02, 0.0, 0.8, None, 0, 12, 0.01),
    "ps_days_to_practice_payment": Spec(24, 8, -0.05, 0.1, 2.5, 5, lambda c: np.full(c.registered.shape, 2.0), 2, 90, 0.01),
    "ps_training_supervision_hours": Spec(14, 5, 0.03, 0.05, 0.0, 3, None, 0, 80, 0.01),
    "ps_arrs_budget_used_pct": Spec(0.86, 0.07, 0.001, 0.003, 0.015, 0.04, lambda c: c.weighted * 26.631 / 12, 0.3, 1.0, 0.01),
    "ps_enhanced_access_per_1000": Spec(22, 6, 0.03, 0.06, 1.5, 3, lambda c: c.registered, 2, 80, 0.01),
}


# Measures with no special cause: no trend, no step change, and a narrow normal spread of PCNs' own levels, so
# a funnel plot flags about the share chance predicts. Cohort emergency admissions: the cohort is chosen by
# frailty, so PCNs' cohorts are alike. The measure's SPECS draw is still made, then replaced by one from a
# generator of the measure's own, so every measure drawn after it keeps the values it had.
CHANCE_ONLY: dict[str, Spec] = {
    "int_cohort_emergency_admissions_per_1000": Spec(34, 2, denominator=lambda c: c.scaled(0.025), low=5, high=90,
                                                     missing=0.02),
}


def _own_context(ctx: _Context, measure_id: str) -> _Context:
    """The same organisations, drawing from a generator seeded by the demo's seed and the measure's id alone."""
    seed = [ctx.rng.bit_generator.seed_seq.entropy, zlib.crc32(measure_id.encode())]
    return _Context(ctx.registered, ctx.weighted, np.random.default_rng(seed))


def _latent(spec: Spec, n_orgs: int, n_months: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    t = np.arange(n_months)[None, :]
    level = rng.normal(spec.base, spec.org_sd, n_orgs)[:, None]
    trend = rng.normal(spec.trend_mean, spec.trend_sd, n_orgs)[:, None] if spec.trend_sd else spec.trend_mean
    latent = level + trend * t * scale
    if spec.steps:
        # About one organisation in six has a step change (a new service, a lost role), so SPC has signals to show.
        has_step = rng.random(n_orgs) < 0.17
        when = rng.integers(n_months // 4, n_months - 3, n_orgs)[:, None]
        size = rng.normal(0, spec.steps, n_orgs)[:, None] * 1.8
        latent = latent + np.where(has_step[:, None] & (t >= when), size, 0.0)
    if spec.noise_sd:
        latent = latent + rng.normal(0, spec.noise_sd, (n_orgs, n_months))
    return np.clip(latent, spec.low, spec.high)


def _draw(measure: Measure, spec: Spec, ctx: _Context) -> tuple[np.ndarray, np.ndarray | None]:
    rng = ctx.rng
    n_orgs, n_months = ctx.registered.shape
    if measure.id == "registered_patients":
        return ctx.registered.copy(), None
    if measure.type == "count":
        level = _latent(spec, n_orgs, n_months, rng)
        if measure.id == "ps_shared_services_used":
            return np.round(level), None
        return rng.poisson(level * ctx.registered / 10000).astype(float), None  # spec levels are per 10,000 patients
    denominator = np.asarray(spec.denominator(ctx), dtype=float)
    level = _latent(spec, n_orgs, n_months, rng)
    if measure.type == "proportion":
        denominator = np.maximum(denominator, 0)
        return rng.binomial(denominator.astype(np.int64), np.clip(level, 0, 1)).astype(float), denominator
    if measure.type == "rate" and "workforce" in measure.tags:
        return np.round(denominator * level / measure.multiplier, 2), denominator
    if measure.type == "rate":
        return rng.poisson(np.maximum(denominator * level / measure.multiplier, 0)).astype(float), denominator
    if measure.type == "mean":
        payments = rng.poisson(denominator) + 1.0
        return np.round(payments * level), payments
    if measure.type == "currency":
        return np.round(denominator * level / measure.multiplier, 2), np.round(denominator)
    raise ValueError(f"demo has no generator for {measure.id} ({measure.type})")


IIF_ACC_08 = "acc_08"
IIF_YEAR = (date(2023, 4, 1), date(2024, 3, 31))  # ACC-08 was an IIF indicator in 2023/24 only


def _iif_acc_08(measure: Measure, pop: Population, rng: np.random.Generator, codes: ObservationCodes) -> pd.DataFrame:
    """The IIF's yearly ACC-08 for 2023/24, per practice and summed per PCN at the year's end, as the IIF file has it.

    Drawn from a generator of its own, so adding it left every other measure's values as they were.
    """
    own = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
    spec = SPECS["acc_08_monthly"]
    year_end = int(np.clip(np.searchsorted(pop.months, pd.Timestamp(IIF_YEAR[1])) - 1, 0, len(pop.months) - 1))
    denominator = np.maximum(np.round(pop.registered[:, year_end] * 0.36 * 12
                                      * (1 + own.normal(0, 0.1, len(pop.practice_codes)))), 0)
    share = np.clip(own.normal(spec.base, spec.org_sd, len(pop.practice_codes)), spec.low, spec.high)
    numerator = own.binomial(denominator.astype(np.int64), share).astype(float)
    pcn_index = pop.pcn_of_practice[:, year_end]
    pcn_numerator = np.bincount(pcn_index, weights=numerator, minlength=len(pop.pcn_codes))
    pcn_denominator = np.bincount(pcn_index, weights=denominator, minlength=len(pop.pcn_codes))
    frames = []
    for level, orgs, n, d, basis in (("practice", pop.practice_codes, numerator, denominator, "synthetic"),
                                     ("pcn", pop.pcn_codes, pcn_numerator, pcn_denominator, "sum_of_practices")):
        frames.append(codes.rows(measure, orgs, level, np.arange(len(orgs)), *fixed_period(*IIF_YEAR, len(orgs)),
                                 n, d, compute_values(measure, n, d), basis))
    return pd.concat(frames, ignore_index=True)


def generate_observations(catalogue: Catalogue, pop: Population,
                          rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every measure for every organisation and month: the published ones' observations and the local values entered.

    Published measures come as observations, practice rows plus their PCN sums, in the long shape. Local measures
    come as the values a PCN's editors enter (ENTRY_COLUMNS but `row`), to be recorded as they would be; their PCN
    sums and derived measures follow from recording them.
    """
    frames, entered = [], []
    pcn_ctx = _Context(pop.pcn_sum(pop.registered), pop.pcn_sum(pop.weighted), rng)
    practice_ctx = _Context(pop.registered, pop.weighted, rng)
    derived_last = sorted(catalogue, key=lambda m: m.id in DERIVED)
    # Millions of local values: their codes as categories (one list for every measure), not strings row by row.
    local_codes = LocalCodes(pd.Index([m.id for m in derived_last if m.family in LOCAL_FAMILIES]),
                         pd.Index(np.concatenate([pop.pcn_codes, pop.practice_codes])), pd.Index(["pcn", "practice"]))
    codes = ObservationCodes.of([m.id for m in catalogue], np.concatenate([pop.pcn_codes, pop.practice_codes]))
    for measure in derived_last:
        if measure.id == IIF_ACC_08:
            frames.append(_iif_acc_08(measure, pop, rng, codes))
            continue
        spec = SPECS.get(measure.id)
        if spec is None:
            continue  # measures added to the catalogue after this demo was designed stay empty
        if measure.id in DERIVED:
            rng.random(pop.registered.shape)  # the draw it once made, so that every later value stays as it was
            continue
        ctx = practice_ctx if measure.level == "practice" else pcn_ctx
        num, den = _draw(measure, spec, ctx)
        if measure.id in CHANCE_ONLY:
            num, den = _draw(measure, CHANCE_ONLY[measure.id], _own_context(ctx, measure.id))
        present = rng.random(num.shape) >= spec.missing
        if measure.family in LOCAL_FAMILIES:
            entered.append(entered_values(measure, pop, num, den, present, local_codes))
            continue
        if measure.id in demo_contract.YEAR_TO_DATE:
            # Drawn above all the same, so that every other measure keeps the values it had.
            frames.append(demo_contract.year_to_date(measure, pop, rng, codes))
            continue
        levels = [("pcn", pop.pcn_codes, num, den, present, "synthetic")]
        if measure.level == "practice":
            pcn_num = pop.pcn_sum(np.where(present, num, 0))
            pcn_den = pop.pcn_sum(np.where(present, den, 0)) if den is not None else None
            pcn_present = pop.pcn_sum(present.astype(float)) > 0
            levels = [
                ("practice", pop.practice_codes, num, den, present, "synthetic"),
                ("pcn", pop.pcn_codes, pcn_num, pcn_den, pcn_present, "sum_of_practices"),
            ]
        for level, orgs, n, d, keep, basis in levels:
            values = compute_values(measure, n, d if d is not None else np.full(n.shape, np.nan))
            org_index, month_index = np.nonzero(keep)
            frames.append(codes.rows(measure, orgs, level, org_index, *month_periods(pop.months, month_index),
                                     n[org_index, month_index],
                                     d[org_index, month_index] if d is not None else None,
                                     values[org_index, month_index], basis))
    # A catalogue of local measures only (or none) still builds: empty frames of the same shape.
    observations = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=OBSERVATION_COLUMNS)
    values = (pd.concat(entered, ignore_index=True) if entered
              else pd.DataFrame(columns=[c for c in ENTRY_COLUMNS if c != "row"]))
    return observations, values


def build_demo(db_path: Path | str, scale: str = "demo", seed: int = 2026, catalogue: Catalogue | None = None,
               precompute_boards: bool = True) -> dict:
    """Build the synthetic demo database at db_path, replacing any file there atomically.

    `precompute_boards=False` leaves the board summaries out (boards are then computed when opened): they are most
    of a demo-scale build's time, and derived from the data, so a check of the data alone need not wait for them.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    catalogue = catalogue or default_catalogue()
    rng = np.random.default_rng(seed)
    pop = build_population(SCALES[scale], rng)
    observations, entered = generate_observations(catalogue, pop, rng)
    list_sizes = _list_sizes(pop)
    # After every other draw, so that adding staff by role left the other values as they were.
    workforce = match_published_totals(
        demo_workforce_roles(pop.pcn_codes, pop.pcn_sum(pop.registered), pop.pcn_sum(pop.weighted), pop.months, rng),
        observations)
    store = Store(db_path)
    with store.rebuild() as con:
        import_id = start_import(con, "demo", publication=f"Synthetic demo (scale {scale}, seed {seed})",
                                 vintage=str(LAST_MONTH), note=DEMO_LABEL)
        deprivation = pd.DataFrame({"org_code": pop.practice_codes, "indicator": "imd_score", "period": "2025",
                                    "value": np.round(pop.imd, 3)})
        for name, frame in (("organisations", pop.orgs), ("memberships", pop.memberships),
                            ("list_sizes", list_sizes), ("observations", observations),
                            ("practice_context", deprivation), ("workforce_roles", workforce)):
            frame = frame.assign(import_id=import_id)
            con.register("incoming", frame)
            columns = ", ".join(frame.columns)
            order = " ORDER BY org_code, measure_id, period_start" if name == "observations" else ""
            con.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM incoming{order}")
            con.unregister("incoming")
        finish_import(con, import_id, rows_read=len(observations), rows_loaded=len(observations), rows_rejected=0)
        # Local values as the PCNs' editors record them, so History, the audit log and the Overview agree.
        record_local_values(con, entered, {(m.id, m.version): m for m in catalogue}, LAST_MONTH)
        add_demo_neighbourhoods(con, LAST_MONTH, seed)  # two synthetic neighbourhoods with recorded values
        total = con.execute("SELECT count(*) FROM observations").fetchall()[0][0]
        set_meta(con, dataset="synthetic", dataset_label=DEMO_LABEL, demo_scale=scale, demo_seed=seed,
                 latest_period=str(LAST_MONTH))
        if scale == "demo" and precompute_boards:  # every board precomputed; national: `python -m measures.board_summaries` (minutes)
            board_summaries.refresh_in(con, store.path)
    return {"path": str(store.path), "scale": scale, "seed": seed, "observations": total,
            "practices": len(pop.practice_codes), "pcns": len(pop.pcn_codes), "months": len(pop.months)}


def _list_sizes(pop: Population) -> pd.DataFrame:
    months = pop.months.date
    pcn_registered = pop.pcn_sum(pop.registered)
    pcn_weighted = pop.pcn_sum(pop.weighted)
    frames = []
    for codes, registered, weighted in ((pop.practice_codes, pop.registered, pop.weighted),
                                        (pop.pcn_codes, pcn_registered, pcn_weighted)):
        org_index, month_index = np.indices(registered.shape)
        frames.append(pd.DataFrame({
            "org_code": codes[org_index.ravel()],
            "extract_date": months[month_index.ravel()],
            "registered_patients": registered.ravel().astype(np.int64),
            "weighted_patients": np.round(weighted.ravel(), 1),
        }))
    return pd.concat(frames, ignore_index=True)
