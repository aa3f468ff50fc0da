"""Synthetic staff in post by role for the demo's PCNs: rows for workforce_roles at the last few census months."""

from __future__ import annotations

import numpy as np
import pandas as pd

CENSUSES = 4  # quarterly census months, the last being the demo's last month
SIZING_RATE = 26.631  # pounds per weighted patient (2025/26): sizes each PCN's synthetic ARRS team
DIRECT = "Other Direct Patient Care staff"
ADMIN = "Other Admin/Non-clinical staff"

# (STAFF_ROLE and STAFF_GROUP as the workforce file writes them, share of the ARRS money, chance a PCN employs the
# role, pounds a whole-time post costs, used only to turn money into FTE)
ARRS_MIX = (
    ("Pharmacists", DIRECT, 0.22, 0.99, 66972),
    ("Pharmacy Technicians", DIRECT, 0.07, 0.85, 43352),
    ("Care Coordinators", DIRECT, 0.13, 0.97, 32000),
    ("Social Prescribing Link Workers", DIRECT, 0.08, 0.95, 36000),
    ("Health and Wellbeing Coaches", DIRECT, 0.04, 0.6, 36000),
    ("Physiotherapists", DIRECT, 0.07, 0.75, 55000),
    ("Paramedics", DIRECT, 0.06, 0.6, 58000),
    ("Physician Associates", DIRECT, 0.04, 0.45, 55000),
    ("Mental Health and Wellbeing Practitioners (Mental Health Practitioners)", DIRECT, 0.04, 0.55, 55000),
    ("General Practice Assistants", DIRECT, 0.05, 0.6, 28000),
    ("Nursing Associates", DIRECT, 0.02, 0.35, 35000),
    ("Advanced Paramedic Practitioners", DIRECT, 0.03, 0.3, 70000),
    ("Advanced Pharmacist Practitioners", DIRECT, 0.03, 0.3, 75000),
    ("Advanced Nurse Practitioners", "Other Nurses", 0.03, 0.35, 70000),
    ("Digital and Transformation Leads", ADMIN, 0.02, 0.45, 50000),
    ("Salaried GPs", "Other GPs", 0.05, 0.4, 100000),
    ("Dieticians", DIRECT, 0.01, 0.1, 50000),
)
# Roles outside the scheme that most PCNs return: (role, group, lowest FTE, highest FTE)
OTHER_ROLES = (
    ("Medical Clinical Director (GP)", "Directors", 0.2, 0.6),
    ("Managers", ADMIN, 0.5, 2.0),
    ("Other Admin/Non-clinical", ADMIN, 0.0, 3.0),
)
COLUMNS = ["org_code", "census_date", "staff_role", "staff_group", "fte", "headcount"]


def census_months(months: pd.DatetimeIndex, count: int = CENSUSES) -> list[int]:
    """Positions in `months` of the census months: every third month back from the last, oldest first."""
    last = len(months) - 1
    return sorted(i for i in range(last, -1, -3)[:count])


def demo_workforce_roles(pcn_codes, registered: np.ndarray, weighted: np.ndarray, months: pd.DatetimeIndex,
                         rng: np.random.Generator) -> pd.DataFrame:
    """workforce_roles rows (without import_id) for each PCN at each census month.

    `registered` and `weighted` are the PCNs' patients, (pcns, months), in `months` (month starts). Each PCN's ARRS
    team costs about its weighted patients × the 2025/26 rate (most PCNs spend a little less), split between the
    roles it employs; managers and administrators scale with registered patients. Staff drift from census to census
    as posts are filled and left, and some roles are bought in as contracted services, which carry FTE but no
    headcount, as in the published file."""
    codes = np.asarray(pcn_codes)
    pcns, roles = len(codes), len(ARRS_MIX)
    positions = census_months(months)
    shares = np.array([r[2] for r in ARRS_MIX])
    chance = np.array([r[3] for r in ARRS_MIX])
    post_cost = np.array([r[4] for r in ARRS_MIX], dtype=float)

    employs = rng.random((pcns, roles)) < chance
    employs[:, 0] = True  # every PCN has clinical pharmacists
    weights = employs * shares * rng.lognormal(0.0, 0.35, (pcns, roles))
    weights /= weights.sum(axis=1, keepdims=True)
    used = np.clip(rng.normal(0.88, 0.08, pcns), 0.6, 1.02)
    budget = np.asarray(weighted, dtype=float)[:, positions[0]] * SIZING_RATE * used
    base_fte = weights * budget[:, None] / post_cost
    contracted = (rng.random((pcns, roles)) < 0.1) & employs
    per_person = rng.uniform(0.7, 1.0, (pcns, roles))
    size = np.clip(np.asarray(registered, dtype=float)[:, positions[0]] / 50_000, 0.5, 2.0)  # admin grows with the list
    other_base = np.column_stack([rng.uniform(low, high, pcns) for _, _, low, high in OTHER_ROLES])
    other_base[:, 1:] *= size[:, None]

    frames = []
    drift = np.ones((pcns, roles))
    for step, position in enumerate(positions):
        if step:
            drift *= np.clip(rng.normal(1.01, 0.05, (pcns, roles)), 0.8, 1.2)
        fte = np.round(base_fte * drift, 3)
        headcount = np.where(contracted, 0, np.maximum(1, np.ceil(fte / per_person))).astype(np.int64)
        census = (months[position] + pd.offsets.MonthEnd(0)).date()
        keep = employs & (fte >= 0.05)
        pcn_index, role_index = np.nonzero(keep)
        frames.append(pd.DataFrame({
            "org_code": codes[pcn_index], "census_date": census,
            "staff_role": [ARRS_MIX[r][0] for r in role_index], "staff_group": [ARRS_MIX[r][1] for r in role_index],
            "fte": fte[pcn_index, role_index], "headcount": headcount[pcn_index, role_index]}))
        other = np.round(other_base * np.clip(rng.normal(1.0, 0.03, other_base.shape), 0.9, 1.1), 3)
        pcn_index, role_index = np.nonzero(other >= 0.05)
        frames.append(pd.DataFrame({
            "org_code": codes[pcn_index], "census_date": census,
            "staff_role": [OTHER_ROLES[r][0] for r in role_index],
            "staff_group": [OTHER_ROLES[r][1] for r in role_index],
            "fte": other[pcn_index, role_index],
            "headcount": np.maximum(1, np.ceil(other[pcn_index, role_index])).astype(np.int64)}))
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["org_code", "census_date", "staff_role"], ignore_index=True)[COLUMNS]


def match_published_totals(roles: pd.DataFrame, observations: pd.DataFrame) -> pd.DataFrame:
    """Scale each PCN's synthetic roles at each census so that they add up to the demo's own workforce measures
    that month (ARRS role groups to `workforce_arrs_fte_per_10k`'s FTE, the rest to the remainder of
    `workforce_fte_per_10k`'s), so the money view and the board never disagree about the same staff."""
    from .importers.workforce import role_group

    if roles.empty:
        return roles
    wanted = observations[observations["measure_id"].isin(["workforce_arrs_fte_per_10k", "workforce_fte_per_10k"])
                          & (observations["org_level"] == "pcn")]
    # The measures' FTE (their numerators) per PCN and census day, beside each role's row; NaN where the demo has none.
    totals = (wanted.assign(org_code=wanted["org_code"].astype(str), _day=pd.to_datetime(wanted["period_end"]))
              .groupby(["org_code", "_day", "measure_id"], observed=True)["numerator"].first()
              .unstack("measure_id"))
    out = roles.copy()
    keys = pd.MultiIndex.from_arrays([out["org_code"].astype(str), pd.to_datetime(out["census_date"])])
    arrs_total, all_total = (totals.reindex(keys)[m].to_numpy(dtype=float) if m in totals
                             else np.full(len(out), np.nan)
                             for m in ("workforce_arrs_fte_per_10k", "workforce_fte_per_10k"))
    arrs = out["staff_role"].map({r: role_group(r) is not None for r in out["staff_role"].unique()}).to_numpy(bool)
    # Each PCN and census day's ARRS FTE and other FTE, over its rows.
    group = keys.factorize()[0]
    fte = out["fte"].to_numpy(dtype=float)
    have_arrs = np.bincount(group, weights=np.where(arrs, fte, 0.0))[group]
    have_other = np.bincount(group, weights=np.where(arrs, 0.0, fte))[group]
    scaled = np.where(arrs, ~np.isnan(arrs_total) & (have_arrs > 0),
                      ~np.isnan(all_total) & ~np.isnan(arrs_total) & (have_other > 0) & (all_total > arrs_total))
    wanted_fte = np.where(arrs, arrs_total, all_total - arrs_total)[scaled]
    held_fte = np.where(arrs, have_arrs, have_other)[scaled]
    out.loc[scaled, "fte"] = np.round(fte[scaled] * wanted_fte / held_fte, 3)
    return out
