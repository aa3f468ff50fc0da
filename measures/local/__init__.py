"""Locally set measures: definitions made in the app, recorded values, templates, validation and the audit log."""

# Every public name of the modules is importable from here, as `local.NAME`: pages and the command line use
# them so, and `ui.query("local.NAME", ...)` looks NAME up on this package.
from .definitions import (
    LOCAL_FAMILIES,
    LOCAL_PUBLICATION,
    MEANING_FIELDS,
    TARGET_EXAMPLE,
    THRESHOLD_EXAMPLE,
    Defined,
    DefinitionError,
    app_defined_ids,
    catalogue_with_local,
    define_measure,
    definition_history,
    icb_neighbourhood_count,
    measure_form_defaults,
    measure_from_form,
    measure_versions,
    measure_yaml,
    neighbourhood_measures,
    recordable_measures,
)
from .periods import FIRST_PERIOD, applies_to, is_period_start, period_end, periods_ending, recent_periods
from .templates import REQUIRED_COLUMNS, TEMPLATE_COLUMNS, grid_frame, template_csv, template_frame, template_xlsx
from .problems import MAX_PROBLEMS_LISTED, SHOWN_CHARACTERS, Problem, RecordingError
from .cells import FORMULA_PREFIXES, MAX_RECORDED, MAX_RECORDED_MONEY
from .reading import MAX_CELL_CHARACTERS, MAX_SHEET_COLUMNS, MAX_SHEET_ROWS, max_upload_mb, read_table
from .validation import (
    ENTRY_COLUMNS,
    GRID_SOURCE,
    Batch,
    batch_from_grid,
    parse_upload,
    validate_in,
    validate_rows,
)
from .saving import Saved, preview, recent_changes, record_file, save, save_in, save_new_in, value_history
from .fair_shares import fair_share
from .derived import DERIVED, recompute_in
from .publishing import local_periods, publish_period, published_periods, withdraw_period
from .reminders import REMINDERS_LISTED, reminder_summary, still_to_record
