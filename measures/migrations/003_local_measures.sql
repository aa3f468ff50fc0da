-- Locally set measures defined in the app, values recorded by PCN staff, and the append-only history of every change.

-- Every save of a definition made in the app, never overwritten. The effective definition of a measure is its
-- latest row; a change to what is counted (numerator, denominator, type, level, multiplier) raises `version`,
-- so earlier versions stay readable and the values recorded under them keep their version.
CREATE SEQUENCE local_measure_rev_seq START 1;

CREATE TABLE local_measures (
    revision BIGINT PRIMARY KEY,        -- order of saves
    measure_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    yaml VARCHAR NOT NULL,              -- the catalogue file, exactly as downloaded
    scope VARCHAR NOT NULL,             -- ICB or PCN code that set it
    family VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- The current recorded value of each measure version, organisation and period (the latest save wins).
CREATE TABLE recorded_values (
    measure_id VARCHAR NOT NULL,
    measure_version INTEGER NOT NULL,
    org_code VARCHAR NOT NULL,
    org_level VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    numerator DOUBLE NOT NULL,
    denominator DOUBLE,
    value DOUBLE,
    recorded_by VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,
    import_id BIGINT NOT NULL,
    PRIMARY KEY (measure_id, measure_version, org_code, period_start)
);

-- Append-only: one row per change of a value, with what it was before. Nothing updates or deletes these rows.
CREATE SEQUENCE value_audit_id_seq START 1;

CREATE TABLE value_audit (
    audit_id BIGINT PRIMARY KEY,
    measure_id VARCHAR NOT NULL,
    measure_version INTEGER NOT NULL,
    org_code VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    action VARCHAR NOT NULL,            -- recorded (no earlier value) | corrected (replaced an earlier value)
    old_numerator DOUBLE,
    old_denominator DOUBLE,
    old_value DOUBLE,
    old_basis VARCHAR,                  -- where the earlier value came from: recorded, or the observation's basis
    new_numerator DOUBLE NOT NULL,
    new_denominator DOUBLE,
    new_value DOUBLE,
    changed_by VARCHAR NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,            -- file name, "in-app grid" or "demo"
    import_id BIGINT NOT NULL
);
