-- The board rows of a summary stored zlib-compressed: read by key, a 20 KB JSON string column cost a board view
-- 20-400 ms at national scale (its column is decompressed a vector at a time), a 3-5 KB blob 2-20 ms. The table
-- holds derived data only, so it is made anew; the next demo build, import or `python -m measures.board_summaries`
-- computes it again, and until then the board is computed as it is read.
DROP TABLE board_summaries;
CREATE TABLE board_summaries (
    pcn_code VARCHAR NOT NULL,
    audience VARCHAR NOT NULL,          -- members: every local period; others: the PCN's published periods only
    suppress_below INTEGER NOT NULL,    -- the small-number threshold the rows were suppressed at
    basis BIGINT NOT NULL,              -- the latest import that can change this PCN's board, when computed
    published VARCHAR NOT NULL,         -- the PCN's published periods then, in order ('' for none)
    catalogue_key VARCHAR NOT NULL,     -- digest of the PCN's catalogue (every measure's definition)
    rebase_key VARCHAR NOT NULL,        -- the change points the SPC limits were recalculated from
    rows_z BLOB NOT NULL,               -- the board rows as JSON, zlib-compressed (measures.board_summaries)
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (pcn_code, audience, suppress_below)
);
