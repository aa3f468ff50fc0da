-- What each practice gave towards a PCN total that a publication states practice by practice, naming the PCN of
-- each row (the appointments crosstab's PCN_CODE): one row per measure, PCN, period and practice. A PCN total is
-- the sum over every practice held here for that measure and period, whatever file it came in, so a month
-- published in several files (one per region) never leaves a PCN with the sum of only the last file's practices.
-- A later file that gives the same practice, measure and period replaces that practice's rows.
CREATE TABLE pcn_contributions (
    measure_id VARCHAR NOT NULL,
    org_code VARCHAR NOT NULL,          -- the PCN the rows name
    practice_code VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    numerator DOUBLE,
    denominator DOUBLE,                 -- NULL: the practice has no list size (a rate per 1,000 leaves it out)
    import_id BIGINT NOT NULL,
    PRIMARY KEY (measure_id, org_code, period_start, period_end, practice_code)
);

-- Registered patients by sex and 5-year age band per practice, as the 5-year age band list sizes give them
-- (gp-reg-pat-prac-quin-age.csv), for age-weighted denominators. Labels as published (sex ALL, FEMALE, MALE;
-- bands such as 0_4, 90_94, 95+); the ALL band is the list size and is kept in list_sizes, not here. A later import
-- of the same practice and extract replaces all of that practice's rows.
CREATE TABLE list_size_age_bands (
    org_code VARCHAR NOT NULL,          -- the practice
    extract_date DATE NOT NULL,
    sex VARCHAR NOT NULL,
    age_band VARCHAR NOT NULL,
    registered_patients BIGINT NOT NULL,
    import_id BIGINT NOT NULL,
    PRIMARY KEY (org_code, extract_date, sex, age_band)
);
