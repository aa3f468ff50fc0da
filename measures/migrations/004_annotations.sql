-- Notes a user pins to a date on a measure's chart for one organisation ("new triage model went live").
CREATE SEQUENCE annotation_id_seq START 1;

CREATE TABLE annotations (
    annotation_id BIGINT PRIMARY KEY,
    measure_id VARCHAR NOT NULL,
    org_code VARCHAR NOT NULL,
    on_date DATE NOT NULL,
    note VARCHAR NOT NULL,
    created_by VARCHAR,
    created_at TIMESTAMP NOT NULL
);
