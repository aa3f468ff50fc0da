"""The decisions: who reads, edits and administers what, by PCN, neighbourhood and period, and filters over frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Callable, Mapping

import pandas as pd

from .principals import Principal

LOCAL_FAMILIES = ("local_integration", "practice_support")


class AccessDenied(PermissionError):
    """The principal may not read or change this; the message says why and who may."""


# ---------------------------------------------------------------------------------------------
# What the decisions need to know about organisations


@dataclass
class Directory:
    """Facts from the store the decisions need: PCNs and their ICBs, practice memberships, published periods, and
    each neighbourhood's ICB and PCNs."""

    icb_of: Mapping[str, str | None] = field(default_factory=dict)
    memberships: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["child", "parent", "start_date", "end_date"]))
    published: frozenset = frozenset()  # {(pcn or neighbourhood code, period_start date)}
    neighbourhood_icb: Mapping[str, str] = field(default_factory=dict)
    # Every PCN with a practice in the neighbourhood at any time: their people read and record its values.
    neighbourhood_pcns: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def is_neighbourhood(self, code: str) -> bool:
        return code in self.neighbourhood_icb

    def pcns_in(self, icb: str) -> list[str]:
        return [pcn for pcn, code in self.icb_of.items() if code == icb]


def _day(day) -> date:
    day = pd.Timestamp(day)
    return date(day.year, day.month, day.day)


# ---------------------------------------------------------------------------------------------
# Decisions


@lru_cache(maxsize=1)
def national_ids() -> frozenset[str]:
    """The built-in catalogue's national measures (read once; the YAML files do not change while running)."""
    from ..catalogue import default_catalogue

    return frozenset(m.id for m in default_catalogue() if m.family == "national_des")


def is_local_measure(measure_id: str) -> bool:
    """Local unless the built-in catalogue says national: a measure defined in the app is always local."""
    return measure_id not in national_ids()


def member_of(principal: Principal, pcn: str, directory: Directory | Callable[[], Directory]) -> bool:
    """Reads every period of the PCN's local values: its viewers and editors, its ICB's analysts, administrators.

    For a neighbourhood: the viewers and editors of any of its PCNs, and its ICB's analysts. `directory` may be a
    function giving it, called only when the principal's own grants do not answer (an administrator, or a PCN's
    own viewer, needs no read of the store).
    """
    if principal.is_admin or pcn in principal.viewer_pcns:
        return True
    if callable(directory):
        directory = directory()
    if directory.is_neighbourhood(pcn):
        if principal.viewer_pcns & directory.neighbourhood_pcns.get(pcn, frozenset()):
            return True
        icb = directory.neighbourhood_icb[pcn]
    else:
        icb = directory.icb_of.get(pcn)
    return icb is not None and icb in principal.analyst_icbs


def can_read_local(principal: Principal, pcn: str, period, directory: Directory) -> bool:
    """May the principal read the PCN's local values for the period starting `period`?"""
    if member_of(principal, pcn, directory):
        return True
    return period is not None and (pcn, _day(period)) in directory.published


def can_edit(principal: Principal, pcn: str, directory: Directory | None = None) -> bool:
    """Record values, define measures, add chart notes and publish periods for the PCN (with a `directory`, also
    a neighbourhood: the editors of any of its PCNs)."""
    if principal.is_admin or pcn in principal.editor_pcns:
        return True
    return (directory is not None and directory.is_neighbourhood(pcn)
            and bool(principal.editor_pcns & directory.neighbourhood_pcns.get(pcn, frozenset())))


def can_define(principal: Principal, scope: str, pcn: str) -> bool:
    """A PCN's editors define measures for that PCN; an ICB-wide measure needs an administrator."""
    return principal.is_admin or (scope == pcn and can_edit(principal, pcn))


def can_administer(principal: Principal) -> bool:
    """Imports of published files, rebuilding the demo, reading the access log."""
    return principal.is_admin


def readable_pcns(principal: Principal, directory: Directory) -> set[str]:
    """The PCNs whose local values the principal reads in every period."""
    return {pcn for pcn in directory.icb_of if member_of(principal, pcn, directory)}


def who_may_read(pcn: str, directory: Directory) -> str:
    if directory.is_neighbourhood(pcn):
        pcns = ", ".join(sorted(directory.neighbourhood_pcns.get(pcn, ()))) or "none yet"
        return (f"the viewers and editors of its PCNs ({pcns}), analysts of {directory.neighbourhood_icb[pcn]} and "
                "administrators; others once the neighbourhood publishes a period")
    icb = directory.icb_of.get(pcn)
    return ("its own viewers and editors" + (f", analysts of {icb}" if icb else "") + " and administrators; "
            "others once the PCN publishes a period")


def require_local(principal: Principal, pcn: str, directory: Directory, what: str = "local values") -> None:
    """Raise AccessDenied unless the principal reads the PCN's local values in every period."""
    if not member_of(principal, pcn, directory):
        raise AccessDenied(f"{principal.actor} may not read {pcn}'s {what}: they are shown to "
                           f"{who_may_read(pcn, directory)}. Your access: {principal.roles_text}.")


def require_edit(principal: Principal, pcn: str, what: str = "change its local measures and values",
                 directory: Directory | None = None) -> None:
    if not can_edit(principal, pcn, directory):
        who = ("the editors of its PCNs" if directory is not None and directory.is_neighbourhood(pcn)
               else "its editors")
        raise AccessDenied(f"{principal.actor} may not {what} for {pcn}: only {who} and administrators "
                           f"may. Your access: {principal.roles_text}.")


def require_admin(principal: Principal, what: str) -> None:
    if not can_administer(principal):
        raise AccessDenied(f"{principal.actor} may not {what}: only administrators may. "
                           f"Your access: {principal.roles_text}.")


# ---------------------------------------------------------------------------------------------
# Filters over frames


def pcn_of_rows(frame: pd.DataFrame, directory: Directory, *, org: str = "org",
                period: str = "period_start") -> pd.Series:
    """For each row, the PCN its organisation belonged to at the period (a PCN is its own); None if unknown."""
    result = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if frame.empty:
        return result
    codes = frame[org].astype(object).to_numpy()
    # A PCN is its own; so is a neighbourhood, whose readers member_of knows.
    is_pcn = pd.Series(codes).isin([*directory.icb_of, *directory.neighbourhood_icb]).to_numpy()
    values = result.to_numpy(copy=True)
    values[is_pcn] = codes[is_pcn]
    rest = pd.DataFrame({"position": range(len(frame)), "child": codes,
                         "when": pd.to_datetime(frame[period]).to_numpy()})[~is_pcn]
    if not rest.empty and not directory.memberships.empty:
        members = directory.memberships.assign(start_date=pd.to_datetime(directory.memberships["start_date"]),
                                               end_date=pd.to_datetime(directory.memberships["end_date"]))
        matched = rest.merge(members, on="child", how="inner")
        held = (matched["start_date"] <= matched["when"]) & (matched["end_date"].isna()
                                                            | (matched["end_date"] >= matched["when"]))
        matched = matched[held].drop_duplicates("position", keep="last")
        values[matched["position"].to_numpy()] = matched["parent"].to_numpy()
    return pd.Series(values, index=frame.index, dtype=object)


def readable_mask(frame: pd.DataFrame, principal: Principal, directory: Directory, *, measure: str = "measure",
                  org: str = "org", period: str = "period_start", measure_id: str | None = None) -> pd.Series:
    """True for the rows the principal may read: national measures always; local ones by PCN and period.

    `measure_id` names the measure of every row when the frame has no measure column.
    """
    if principal.is_admin or frame.empty:
        return pd.Series(True, index=frame.index)
    ids = pd.Series(measure_id, index=frame.index) if measure_id is not None else frame[measure]
    local = ids.map(is_local_measure).astype(bool)
    if not local.any():
        return pd.Series(True, index=frame.index)
    pcns = pcn_of_rows(frame, directory, org=org, period=period)
    members = {p: member_of(principal, p, directory) for p in set(pcns.dropna())}
    periods = pd.to_datetime(frame[period])
    allowed = [
        (not is_local) or (p is not None and (members.get(p, False) or (p, _day(when)) in directory.published))
        for is_local, p, when in zip(local, pcns, periods)
    ]
    return pd.Series(allowed, index=frame.index, dtype=bool)


def filter_rows(frame: pd.DataFrame, principal: Principal, directory: Directory, **columns) -> pd.DataFrame:
    """The rows of a tidy frame the principal may read (see `readable_mask`)."""
    if frame is None or frame.empty or principal.is_admin:
        return frame
    return frame[readable_mask(frame, principal, directory, **columns)]


def filter_comparator(comparator: pd.DataFrame, principal: Principal, pcn: str,
                      directory: Directory) -> pd.DataFrame:
    """An ICB average of a local measure pools other PCNs' values: keep it only if all of them are readable."""
    if comparator is None or comparator.empty or principal.is_admin:
        return comparator
    icb = directory.icb_of.get(pcn)
    peers = directory.pcns_in(icb) if icb else []
    keep = []
    for row in comparator.itertuples():
        if not is_local_measure(row.measure):
            keep.append(True)
        else:
            keep.append(all(can_read_local(principal, peer, row.period_start, directory) for peer in peers))
    return comparator[pd.Series(keep, index=comparator.index, dtype=bool)]
