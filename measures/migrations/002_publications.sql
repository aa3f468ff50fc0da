-- Context from the publications: practice-level indicators used for peer groups, not measures.
-- QOF disease prevalence (numerator = register, denominator = the list the register is counted against)
-- and the IMD deprivation score. One row per practice, indicator and period; a newer import replaces it.
CREATE TABLE practice_context (
    org_code VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,         -- e.g. imd_score, qof_prevalence_AF
    period VARCHAR NOT NULL,            -- '2024/25' (financial year) or '2025' (IMD year)
    value DOUBLE,
    numerator DOUBLE,
    denominator DOUBLE,
    detail VARCHAR,                     -- e.g. the QOF list type the denominator counts (TOTAL, 18OV)
    import_id BIGINT NOT NULL,
    PRIMARY KEY (org_code, indicator, period)
);

-- What each publication said about a child's parent, as published. `memberships` is rebuilt from
-- this for the children an import touches, so that files imported in any order give the same dated hierarchy.
-- A snapshot (the practice-to-PCN map) says "seen in this parent on seen_on"; the ePCN workbook dates starts and ends.
CREATE TABLE membership_evidence (
    child_code VARCHAR NOT NULL,
    parent_code VARCHAR,                -- NULL: seen in no parent (a practice unallocated to any PCN)
    child_level VARCHAR NOT NULL,
    parent_level VARCHAR NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE,
    dated_start BOOLEAN NOT NULL,       -- true: the publication dates the start; false: first seen on start_date
    seen_on DATE NOT NULL,              -- the publication's date: the relationship held then (or until end_date)
    import_id BIGINT NOT NULL
);
