-- Staff in post by role, as the PCN workforce collection gives them: one row per PCN, census date and STAFF_ROLE
-- (spaces tidied, otherwise as published). FTE counts every record, contracted services included; headcount counts
-- different staff identifiers, so contracted services add FTE but no headcount. A role published under two staff
-- groups in one PCN is one row, its groups joined with '; '. A later import of the same census replaces the row.
CREATE TABLE workforce_roles (
    org_code VARCHAR NOT NULL,          -- the PCN code
    census_date DATE NOT NULL,          -- the end of the census month
    staff_role VARCHAR NOT NULL,        -- e.g. Pharmacists, Social Prescribing Link Workers (Mental Health Practitioners)
    staff_group VARCHAR,                -- e.g. Other Direct Patient Care staff
    fte DOUBLE NOT NULL,
    headcount BIGINT NOT NULL,
    import_id BIGINT NOT NULL,
    PRIMARY KEY (org_code, census_date, staff_role)
);
