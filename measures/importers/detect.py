"""Recognising a publication by its content (the CSV header or the workbook's sheet names), never by its file name."""

from __future__ import annotations

from types import ModuleType

from . import (appointments, appointments_coverage, epcn, iif, imd, list_sizes, list_sizes_age, ncdes,
               ncdes_published, practice_map, qof, unread, workforce)
from .common import PublicationError, canonical, shorten, shown

CSV_PUBLICATIONS: tuple[ModuleType, ...] = (practice_map, list_sizes, list_sizes_age, iif, ncdes, ncdes_published,
                                            workforce, appointments, appointments_coverage, qof, imd)
WORKBOOK_PUBLICATIONS: tuple[ModuleType, ...] = (epcn,)
ALL: tuple[ModuleType, ...] = tuple(sorted(CSV_PUBLICATIONS + WORKBOOK_PUBLICATIONS, key=lambda m: m.ORDER))


class Unrecognised(PublicationError):
    """Not a publication the importer reads (as opposed to a known one with something wrong)."""


class NotRead(Unrecognised):
    """A genuine published file the importer knows and does not read (say the sub-ICB appointments CSV)."""

    def __init__(self, message: str, what: str):
        super().__init__(message)
        self.what = what


def recognised() -> str:
    return "; ".join(f"{m.SHORT} ({m.PUBLICATION})" for m in ALL)


def detect(source) -> ModuleType:
    """The publication module that reads this source, or a PublicationError saying why none does."""
    if source.format == "xlsx":
        for module in WORKBOOK_PUBLICATIONS:
            present = [s for s in module.SHEETS if s in source.sheets]
            if len(present) == len(module.SHEETS):
                return module
            if present:
                missing = [s for s in module.SHEETS if s not in source.sheets]
                raise PublicationError(
                    f"{source.name}: looks like the {module.SHORT} but has no sheet {', '.join(map(repr, missing))} "
                    f"(sheets: {_sheets(source)}). Download it again from {module.LANDING_PAGE}. "
                    "Nothing was imported.")
        raise Unrecognised(f"{source.name}: a workbook the importer does not recognise (sheets: "
                               f"{_sheets(source)}). The importer reads: {recognised()}. "
                               "Nothing was imported.")
    header = {canonical(h) for h in source.header}
    complete = [m for m in CSV_PUBLICATIONS if set(m.REQUIRED) <= header]
    if complete:
        return max(complete, key=lambda m: len(m.REQUIRED))
    # A genuine file of a publication the importer does not read shares columns with one it does (the sub-ICB
    # appointments CSV with the practice-level crosstab): it is named as what it is before any near match is taken
    # for a damaged copy.
    known = unread.match(source.header)
    if known is not None:
        raise NotRead(known.message(source.name), known.what)
    # Layouts that share most required columns (the annual IIF file and the monthly published file both have
    # ACH_DATE, IND_CODE, MEASURE, VALUE and QUALITY_SERVICE) are told apart by the other columns they name.
    scored = sorted(((len(set(m.REQUIRED) & header) / len(m.REQUIRED), len(set(m.REQUIRED) & header),
                      len(set(m.OPTIONAL) & header), m) for m in CSV_PUBLICATIONS),
                    key=lambda t: t[:3], reverse=True)
    share, matched, _, module = scored[0]
    if share >= 0.5 and matched >= 2:
        missing = [c for c in module.REQUIRED if c not in header]
        raise PublicationError(
            f"{source.name}: looks like the {module.SHORT} file ({module.PUBLICATION}) but row 1, the header, has no "
            f"column {', '.join(missing)}. Columns found: "
            f"{', '.join(shorten(h) for h in source.header[:30] if h.strip())}{', …' if len(source.header) > 30 else ''}. "
            f"Download the file again from {module.LANDING_PAGE}; if the publisher has renamed the column, the "
            "importer needs updating. Nothing was imported.")
    columns = ", ".join(shorten(h.strip().lstrip("\ufeff")) for h in source.header[:8] if h.strip())
    raise Unrecognised(f"{source.name}: not a publication the importer recognises (row 1 has columns {columns}"
                           f"{', …' if len(source.header) > 8 else ''}). The importer reads: {recognised()}. "
                           "Nothing was imported.")


def _sheets(source) -> str:
    return ", ".join(shown(s) for s in source.sheets[:20]) + (", …" if len(source.sheets) > 20 else "")
