"""Whether the figures can be trusted: each publication's freshness, who is missing from it, who has not recorded."""

from .caveats import (COMPLETENESS_COLUMNS, caveat_text, card_caveats, chart_caveat, completeness_rows,
                      practice_completeness)
from .nhs_coverage import (NHS_COVERAGE_COLUMNS, NO_COVERAGE_FILE, appointment_coverage, coverage_line, coverage_rows,
                           nhs_coverage_summary, nhs_coverage_table, sub_icbs_in_scope)
from .pack import DATA_HEADERS, DATA_PAGE, LOCAL_GAPS_IN_PACK, DataPage, data_page
from .practices import (COVERAGE_COLUMNS, MISSING_LISTED, coverage, coverage_from, coverage_summary, coverage_table,
                        incomplete, members_at, pcns_in_scope, without_list_size)
from .publications import (CADENCES, CATEGORY_MEASURE, IMPORTS_LISTED, PUBLICATION_COLUMNS, PUBLICATIONS,
                           TODAY_SETTING, Cadence, Publication, freshness, imported_by, imports, imports_table,
                           months_since, next_due, period_text, publications, publications_table, staleness, today)
from .submissions import (GAP_COLUMNS, LOCAL_PERIODS, expected_submissions, gap_table, gaps_summary,
                          local_submissions, mark_recorded)
from .unknowns import (DEMO_UNKNOWNS, NOT_STORED, UNKNOWN_PARTS, appointment_parts, appointment_unknowns,
                       category_not_held, unknown_shares, unknowns_table, unmapped_line)

__all__ = [
    "CADENCES", "CATEGORY_MEASURE", "COMPLETENESS_COLUMNS", "COVERAGE_COLUMNS", "DATA_HEADERS", "DATA_PAGE",
    "DEMO_UNKNOWNS", "GAP_COLUMNS", "IMPORTS_LISTED", "LOCAL_GAPS_IN_PACK", "LOCAL_PERIODS", "MISSING_LISTED",
    "NHS_COVERAGE_COLUMNS", "NO_COVERAGE_FILE", "NOT_STORED", "PUBLICATION_COLUMNS", "PUBLICATIONS",
    "TODAY_SETTING", "UNKNOWN_PARTS", "Cadence", "DataPage", "Publication", "appointment_coverage",
    "appointment_parts", "appointment_unknowns", "card_caveats", "category_not_held", "caveat_text",
    "chart_caveat", "completeness_rows", "coverage", "coverage_from", "coverage_line", "coverage_rows", "coverage_summary",
    "coverage_table", "data_page", "expected_submissions", "freshness", "gap_table", "gaps_summary", "imported_by",
    "imports", "imports_table", "incomplete", "local_submissions", "mark_recorded", "members_at", "months_since",
    "next_due", "nhs_coverage_summary", "nhs_coverage_table", "pcns_in_scope", "period_text",
    "practice_completeness", "publications", "publications_table", "staleness", "sub_icbs_in_scope", "today",
    "unknown_shares", "unknowns_table", "unmapped_line", "without_list_size",
]
