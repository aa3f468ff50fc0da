-- Each PCN's board rows, computed once and read in one query by the board view. Derived data: any row can be
-- deleted and computed again. A row is used only while `basis` still names the latest import that can change
-- the PCN's board (any import of published data, and values recorded for the PCN or another PCN of its ICB,
-- whose values pool into the ICB comparators), `published` still lists the PCN's published periods, and the
-- catalogue and change points the reader holds match the keys. Otherwise the board is computed as it is read.
CREATE TABLE board_summaries (
    pcn_code VARCHAR NOT NULL,
    audience VARCHAR NOT NULL,          -- members: every local period; others: the PCN's published periods only
    suppress_below INTEGER NOT NULL,    -- the small-number threshold the rows were suppressed at
    basis BIGINT NOT NULL,              -- the latest import that can change this PCN's board, when computed
    published VARCHAR NOT NULL,         -- the PCN's published periods then, in order ('' for none)
    catalogue_key VARCHAR NOT NULL,     -- digest of the PCN's catalogue (every measure's definition)
    rebase_key VARCHAR NOT NULL,        -- the change points the SPC limits were recalculated from
    rows_json VARCHAR NOT NULL,         -- the board rows, in catalogue order (measures.board_summaries)
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (pcn_code, audience, suppress_below)
);
