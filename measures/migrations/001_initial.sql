-- Organisations, their dated hierarchy, list sizes, observations in one long shape, and import provenance.
CREATE TABLE meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE SEQUENCE import_id_seq START 1;

CREATE TABLE imports (
    import_id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,              -- demo | publication | recorded
    publication VARCHAR,
    file_name VARCHAR,
    sha256 VARCHAR,
    vintage VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_rejected BIGINT,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    actor VARCHAR,
    note VARCHAR
);

CREATE TABLE organisations (
    org_code VARCHAR PRIMARY KEY,
    org_level VARCHAR NOT NULL CHECK (org_level IN ('practice', 'pcn', 'sub_icb', 'icb', 'region')),
    name VARCHAR NOT NULL,
    ons_code VARCHAR,
    postcode VARCHAR,
    open_date DATE,
    close_date DATE,
    import_id BIGINT
);

-- A child belongs to a parent from start_date to end_date (NULL = still does). Practices move between PCNs.
CREATE TABLE memberships (
    child_code VARCHAR NOT NULL,
    parent_code VARCHAR NOT NULL,
    child_level VARCHAR NOT NULL,
    parent_level VARCHAR NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE,
    import_id BIGINT,
    PRIMARY KEY (child_code, parent_level, start_date)
);

CREATE TABLE list_sizes (
    org_code VARCHAR NOT NULL,
    extract_date DATE NOT NULL,
    registered_patients BIGINT NOT NULL,
    weighted_patients DOUBLE,
    import_id BIGINT,
    PRIMARY KEY (org_code, extract_date)
);

-- Every measured value, at whatever level it was published or recorded.
-- basis: published (as in the file), sum_of_practices (aggregated at that date's membership), recorded (entered locally).
CREATE TABLE observations (
    measure_id VARCHAR NOT NULL,
    measure_version INTEGER NOT NULL,
    org_code VARCHAR NOT NULL,
    org_level VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    numerator DOUBLE,
    denominator DOUBLE,
    value DOUBLE,
    basis VARCHAR NOT NULL,
    import_id BIGINT NOT NULL
);
