-- Who sees what: the periods each PCN has published, and a log of sign-ins, refusals and exports.

-- A PCN's local values for a period are readable outside the PCN (and its ICB's analysts) once it appears here.
-- Publishing a period publishes every local value of the PCN and of its practices whose period starts that day.
-- Withdrawing deletes the row; both are kept in access_log.
CREATE TABLE published_periods (
    pcn_code VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    published_by VARCHAR NOT NULL,
    published_at TIMESTAMP NOT NULL,
    PRIMARY KEY (pcn_code, period_start)
);

-- Append-only: one row per sign-in, refusal, export, publish or withdrawal, from the app or the command line.
CREATE SEQUENCE access_log_id_seq START 1;

CREATE TABLE access_log (
    log_id BIGINT PRIMARY KEY,
    logged_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,             -- the signed-in email, the command line's --as, or "open demo mode"
    action VARCHAR NOT NULL,            -- sign_in | sign_out | refused | export | publish | withdraw
    target VARCHAR,                     -- e.g. the PCN, "UZ0002 local values", a file name
    detail VARCHAR,
    via VARCHAR NOT NULL                -- app | cli
);
