-- Neighbourhoods: areas an ICB defines for its integrated neighbourhood teams, one PCN, several, or part of one.
-- Their members (PCNs or practices) are dated rows of `memberships` with parent_level 'neighbourhood'; a PCN
-- member counts every practice the PCN has on a given day. `organisations` keeps NHS organisations only (its
-- org_level check lists them), so a neighbourhood's own facts are here.
CREATE TABLE neighbourhoods (
    neighbourhood_code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    icb_code VARCHAR NOT NULL,          -- the ICB that defined it; its file replaces all of that ICB's neighbourhoods
    file_name VARCHAR NOT NULL,         -- the neighbourhood file it was last loaded from
    sha256 VARCHAR NOT NULL,            -- of that file, so loading the same file again changes nothing
    loaded_by VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
