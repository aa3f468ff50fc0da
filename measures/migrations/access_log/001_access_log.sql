-- The access log's own file, beside the store (`<store>.access-log.duckdb`): sign-ins, sign-outs, refusals,
-- exports and changes of SPC limits. A line here is not a change of the data, so writing one publishes no copy
-- of the store and leaves every reader's cache as it was. Publishing and withdrawing a period change what others
-- may read, so their lines stay in the store's own access_log, written in the same transaction as the change.

CREATE SEQUENCE access_log_id_seq START 1;

-- Append-only, with the columns of the store's access_log.
CREATE TABLE access_log (
    log_id BIGINT PRIMARY KEY,
    logged_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,             -- the signed-in email, the command line's --as, or "open demo mode"
    action VARCHAR NOT NULL,            -- sign_in | sign_out | refused | export | rebase | remove_rebase
    target VARCHAR,
    detail VARCHAR,
    via VARCHAR NOT NULL                -- app | cli
);
