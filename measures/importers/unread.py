"""Published files the importer knows but does not read, recognised by content and named, with the file to get instead."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .common import canonical

# Such a file is genuine: it is never called damaged, nor is the user sent to download it again.

APPOINTMENTS_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/appointments-in-general-practice"
PATIENTS_PAGE = "https://digital.nhs.uk/data-and-information/publications/statistical/patients-registered-at-a-gp-practice"
QOF_PAGE = ("https://digital.nhs.uk/data-and-information/publications/statistical/"
            "quality-and-outcomes-framework-achievement-prevalence-and-exceptions-data")
CROSSTAB = (f"download the practice-level crosstab instead (Practice_Level_Crosstab_MMM_YY.zip, one CSV per region, "
            f"from {APPOINTMENTS_PAGE}), which gives every practice's appointments with its PCN")
MAP = "gp-reg-pat-prac-map.csv"


@dataclass(frozen=True)
class Known:
    """A publication's file the importer does not read: what it is, and what to download instead."""

    what: str
    instead: str
    matches: Callable[[set[str], list[str]], bool]

    def message(self, file_name: str) -> str:
        return f"{file_name}: this is {self.what}. The importer does not read it: {self.instead}. Nothing was imported."


def _has(*columns: str) -> Callable[[set[str]], bool]:
    return lambda header: all(c in header for c in columns)


def _appointments_area(header: set[str], _cells: list[str]) -> bool:
    return ("COUNT_OF_APPOINTMENTS" in header and "GP_CODE" not in header and "PCN_CODE" not in header
            and bool(header & {"SUB_ICB_LOCATION_CODE", "SUB_ICB_CODE", "ICB_CODE", "ICB_ONS_CODE", "REGION_ONS_CODE"})
            and "NATIONAL_CATEGORY" not in header)


def _appointments_ccg(header: set[str], _cells: list[str]) -> bool:
    return "COUNT_OF_APPOINTMENTS" in header and "GP_CODE" not in header and "CCG_CODE" in header


def _appointments_categories(header: set[str], _cells: list[str]) -> bool:
    return ("COUNT_OF_APPOINTMENTS" in header and "NATIONAL_CATEGORY" in header and "GP_CODE" not in header
            and bool(header & {"SERVICE_SETTING", "CONTEXT_TYPE"}))


def _coverage_ccg(header: set[str], _cells: list[str]) -> bool:
    return ("INCLUDED PRACTICES" in header and "COMMISSIONER_ORGANISATION_CODE" in header
            and "SUB_ICB_LOCATION_CODE" not in header)


def _single_age(header: set[str], _cells: list[str]) -> bool:
    return _has("SEX", "AGE", "NUMBER_OF_PATIENTS", "ORG_CODE")(header) and "CODE" not in header


def _lsoa(header: set[str], _cells: list[str]) -> bool:
    return "NUMBER_OF_PATIENTS" in header and any(h.startswith("LSOA") for h in header)


def _ccg_map(header: set[str], _cells: list[str]) -> bool:
    return (_has("PRACTICE_CODE", "PCN_CODE")(header) and bool(header & {"CCG_CODE", "STP_CODE"})
            and "SUB_ICB_LOCATION_CODE" not in header)


def _qof_achievement(header: set[str], _cells: list[str]) -> bool:
    return _has("PRACTICE_CODE", "INDICATOR_CODE", "MEASURE", "VALUE")(header)


PRACTICE = re.compile(r"[A-Z][0-9]{5}")
YYYYMMDD = re.compile(r"(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])")


def _epraccur(_header: set[str], cells: list[str]) -> bool:
    """ODS epraccur has no header: its first row is a practice (code, name, national grouping, high level health
    geography, five address lines, postcode, open date, close date, status code, ...)."""
    cells = [str(c).strip().lstrip("\ufeff") for c in cells]
    return (len(cells) >= 20 and bool(PRACTICE.fullmatch(cells[0])) and bool(YYYYMMDD.fullmatch(cells[10]))
            and (cells[11] == "" or bool(YYYYMMDD.fullmatch(cells[11]))) and cells[12] in {"A", "C", "D", "P"})


KNOWN: tuple[Known, ...] = (
    Known("the Appointments in General Practice national categories file, which counts appointments per sub-ICB "
          "location and day by national category, not per practice",
          f"it gives no practice or PCN figure; {CROSSTAB}", _appointments_categories),
    Known("the Appointments in General Practice CSV for whole areas (per sub-ICB location, month or day, without "
          "GP_CODE), not per practice",
          f"it gives no practice or PCN figure; {CROSSTAB}", _appointments_area),
    Known("an Appointments in General Practice CSV from before 1 July 2022: it counts appointments per Clinical "
          "Commissioning Group (CCG_CODE), not per practice",
          f"it gives no practice or PCN figure; {CROSSTAB}", _appointments_ccg),
    Known("an Appointments in General Practice coverage file from before 1 July 2022: it counts practices and "
          "patients per Clinical Commissioning Group (COMMISSIONER_ORGANISATION_CODE), not per sub-ICB location",
          f"import APPOINTMENTS_GP_COVERAGE.csv from the daily zip of a release since July 2022, which names "
          f"SUB_ICB_LOCATION_CODE, from {APPOINTMENTS_PAGE}", _coverage_ccg),
    Known("a Patients Registered at a GP Practice list by single year of age (gp-reg-pat-prac-sing-age-female.csv, "
          "-male.csv or the file for areas)",
          f"list sizes come from the all-persons file (gp-reg-pat-prac-all.csv), and age bands from the 5-year age "
          f"band file (gp-reg-pat-prac-quin-age.csv), both from {PATIENTS_PAGE}", _single_age),
    Known("a Patients Registered at a GP Practice list by LSOA of residence (gp-reg-pat-prac-lsoa-*.csv)",
          f"list sizes come from the all-persons file (gp-reg-pat-prac-all.csv) from {PATIENTS_PAGE}", _lsoa),
    Known("a practice-to-PCN map from before 1 July 2022: it names Clinical Commissioning Groups and STPs "
          "(CCG_CODE, STP_CODE), where maps since name sub-ICB locations and ICBs",
          f"import a current map ({MAP} from {PATIENTS_PAGE}); for the memberships of that time, import the ePCN "
          "workbook of that time, which is read with its CCGs as sub-ICB locations", _ccg_map),
    Known("a Quality and Outcomes Framework achievement file (points and indicators per practice)",
          f"the importer reads QOF disease prevalence, the PREVALENCE_YYZZ.csv file of the same archive from {QOF_PAGE}",
          _qof_achievement),
    Known("ODS epraccur (GP practices with their addresses, open and close dates; it has no header row)",
          f"practices and their PCNs come from the practice-to-PCN map ({MAP}, from {PATIENTS_PAGE}) and the "
          "ODS ePCN workbook (ePCN.xlsx)", _epraccur),
)


def match(header_cells: list[str]) -> Known | None:
    """The known, unread file this header (a CSV's first row) belongs to, if any."""
    header = {canonical(h) for h in header_cells}
    for known in KNOWN:
        if known.matches(header, list(header_cells)):
            return known
    return None
