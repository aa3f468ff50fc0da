"""MI Network Contract DES monthly practice file as NHS England publishes it, read by the extract's importer."""

from __future__ import annotations

from . import ncdes
from .context import StoreContext
from .loading import Load

# One publication in two layouts: the same name makes a later file of either replace the other's figures.
PUBLICATION = ncdes.PUBLICATION
SHORT = "MI Network Contract DES monthly file"
ORDER = ncdes.ORDER
LANDING_PAGE = ncdes.LANDING_PAGE
CADENCE = ncdes.CADENCE
# The publisher renames the extract's ORG_CODE to PRACTICE_CODE and FIELD_NAME to MEASURE, writes ACH_DATE as
# dd/mm/yyyy and puts "*" for a personalised care adjustment or denominator it suppresses. The annual IIF file
# names ORGANISATION_TYPE and ORGANISATION_CODE instead of PRACTICE_CODE, so neither is taken for the other.
REQUIRED = ["PRACTICE_CODE", "QUALITY_SERVICE", "ACH_DATE", "IND_CODE", "MEASURE", "VALUE"]
OPTIONAL = ["PRACTICE_NAME"]
SHAPE = ncdes.Shape(tuple(REQUIRED), org="PRACTICE_CODE", field="MEASURE",
                    dates="the published file writes dd/mm/yyyy, such as 30/09/2024", suppressed="*")


def parse(source, context: StoreContext) -> Load:
    return ncdes.parse(source, context, SHAPE)
