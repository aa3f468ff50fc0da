"""Comparing the neighbourhoods of an ICB: their values of a period, readable and suppressed, ready for Compare areas."""

from __future__ import annotations

from datetime import date
from typing import Iterable

import numpy as np
import pandas as pd

from . import access, suppression
from .catalogue import Catalogue, Measure, compute_values
from .neighbourhoods import LEVEL, board_measures, neighbourhoods, readable, practice_spans, sum_of_practices
from .store import Store

COLUMNS = ["org", "name", "sub_icb_name", "icb", "version", "period_start", "period_end", "numerator", "denominator",
           "value", "list_size", "practices"]
TABLE_NAMES = {"PCN code": "Neighbourhood code", "PCN": "Neighbourhood", "Place": "ICB"}
# What the neighbourhoods are compared with, as it reads mid-sentence ("compared with the neighbourhoods together").
COMPARATOR_LABEL = "the neighbourhoods together"


def measures(catalogue: Iterable[Measure], icb: str) -> Catalogue:
    """What neighbourhoods can be compared on: measures recorded for them, and practice-level measures (summed)."""
    return board_measures(catalogue, icb)


def periods(store: Store, measure: Measure, icb: str) -> list[date]:
    """The periods with a value for any neighbourhood of the ICB, latest first."""
    codes = neighbourhoods(store, icb)["neighbourhood"].tolist()
    if not codes:
        return []
    if measure.level == LEVEL:
        frame = store.query("SELECT DISTINCT period_start FROM observations WHERE measure_id = ? "
                            "AND org_level = 'neighbourhood' AND org_code IN (SELECT unnest(?)) "
                            "ORDER BY period_start DESC", [measure.id, codes])
    else:
        frame = store.query("SELECT DISTINCT period_start FROM observations WHERE measure_id = ? "
                            "AND org_level = 'practice' ORDER BY period_start DESC", [measure.id])
    return [pd.Timestamp(day).date() for day in frame["period_start"]]


def values(store: Store, measure: Measure, icb: str, period: date, principal: access.Principal,
           directory: access.Directory) -> pd.DataFrame:
    """Each neighbourhood of the ICB with its value for the period the principal may read (COLUMNS).

    A neighbourhood-level measure is its recorded value, readable as the neighbourhood's (its PCNs, its ICB's
    analysts; everyone once published). A practice-level one is the sum of its practices on the period's last day,
    shown to its members, and to anyone else once every one of those practice values is readable
    (`neighbourhoods.readable`). `list_size` is the sum of those practices' latest list sizes.
    """
    hoods = neighbourhoods(store, icb)
    if hoods.empty:
        return pd.DataFrame(columns=COLUMNS)
    codes = hoods["neighbourhood"].tolist()
    icb_name = store.query("SELECT name FROM organisations WHERE org_code = ?", [icb])["name"]
    spans = practice_spans(store, codes)
    if measure.level == LEVEL:
        frame = store.query(
            "SELECT org_code AS org, measure_version AS version, period_start, period_end, numerator, denominator, "
            "value FROM observations WHERE measure_id = ? AND org_level = 'neighbourhood' AND period_start = ? "
            "AND org_code IN (SELECT unnest(?)) ORDER BY org_code, measure_version", [measure.id, period, codes])
        frame = access.filter_rows(frame, principal, directory, measure_id=measure.id)
        frame = frame.drop_duplicates("org", keep="last")
    else:
        rows = store.query(
            "SELECT o.org_code AS org, o.measure_id AS measure, o.measure_version AS version, o.period_start, "
            "o.period_end, o.numerator, o.denominator, o.value FROM observations o WHERE o.measure_id = ? "
            "AND o.org_level = 'practice' AND o.period_start = ?", [measure.id, period])
        frames = []
        for code in codes:
            own = spans[spans["neighbourhood"] == code]
            end = pd.Timestamp(rows["period_end"].iloc[0]) if not rows.empty else None
            if end is None:
                continue
            held = own[(pd.to_datetime(own["start_date"]) <= end)
                       & (own["end_date"].isna() | (pd.to_datetime(own["end_date"]) >= end))]
            members = readable(rows[rows["org"].isin(set(held["practice"]))], principal, directory, code)
            frames.append(sum_of_practices(members, measure, code))
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    sizes = _list_sizes(store, spans, period)
    frame = frame.merge(hoods.rename(columns={"neighbourhood": "org"}), on="org", how="inner")
    frame["sub_icb_name"] = icb_name.iloc[0] if len(icb_name) else icb
    frame["list_size"] = frame["org"].map(sizes).astype(float)
    if "practices" not in frame:
        frame["practices"] = np.nan
    frame["value"] = compute_values(measure, frame["numerator"], frame["denominator"].astype(float))
    return frame[COLUMNS].reset_index(drop=True)


def _list_sizes(store: Store, spans: pd.DataFrame, period: date) -> dict[str, float]:
    """Each neighbourhood's registered patients: its practices' latest list sizes up to the period's start."""
    if spans.empty:
        return {}
    lists = store.query("SELECT org_code AS practice, arg_max(registered_patients, extract_date) AS patients "
                        "FROM list_sizes WHERE extract_date <= ? AND org_code IN (SELECT unnest(?)) GROUP BY 1",
                        [period, sorted(set(spans["practice"]))])
    day = pd.Timestamp(period)
    held = spans[(pd.to_datetime(spans["start_date"]) <= day)
                 & (spans["end_date"].isna() | (pd.to_datetime(spans["end_date"]) >= day))]
    return held.merge(lists, on="practice").groupby("neighbourhood")["patients"].sum().to_dict()


def suppressed(frame: pd.DataFrame, catalogue: Iterable[Measure], measure: Measure, below: int) -> pd.DataFrame:
    """The values with small numbers suppressed by the same rules as a PCN's."""
    return suppression.suppress(frame, suppression.rules(catalogue), measure_id=measure.id, below=below)


def table(compared: pd.DataFrame) -> pd.DataFrame:
    """Compare areas' table with its columns named for neighbourhoods."""
    renamed = compared.rename(columns=TABLE_NAMES)
    renamed.attrs = dict(compared.attrs)
    return renamed
