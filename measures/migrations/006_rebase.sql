-- Change points an editor marks on a measure's SPC chart for one organisation: the limits are recalculated
-- from that period on. Removing one keeps the row (removed_by, removed_at), so who did what stays on record.
CREATE SEQUENCE rebase_id_seq START 1;

CREATE TABLE rebases (
    rebase_id BIGINT PRIMARY KEY,
    measure_id VARCHAR NOT NULL,
    org_code VARCHAR NOT NULL,
    period_start DATE NOT NULL,         -- the first period of the new limits
    reason VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    removed_by VARCHAR,
    removed_at TIMESTAMP,
    removal_reason VARCHAR
);
