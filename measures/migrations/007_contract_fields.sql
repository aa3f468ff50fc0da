-- Every figure of the MI Network Contract DES practice extract, as published: numerators and denominators,
-- exclusions and personalised care adjustments (by their CQRS code) and management-information counts (by their
-- description). Achievement is year to date from 1 April, so one row per practice, achievement date, indicator
-- and field; a later import of the same key replaces the row. `indicator` keeps the code each row was published
-- under, with its hyphen ('CAN-02' before the change to 'CAN-04'), so a renamed indicator stays traceable.
CREATE TABLE contract_fields (
    org_code VARCHAR NOT NULL,
    financial_year VARCHAR NOT NULL,    -- '2024/25', from QUALITY_SERVICE (NCD2425)
    ach_date DATE NOT NULL,             -- the achievement date: the end of the year-to-date period
    indicator VARCHAR NOT NULL,         -- e.g. CAN-04, HI-03, SMR-01A
    field VARCHAR NOT NULL,             -- Numerator, Denominator, a CQRS code (GICANREF) or a description
    value DOUBLE,                       -- NULL: published, but suppressed by the publisher ("*")
    import_id BIGINT NOT NULL,
    PRIMARY KEY (org_code, ach_date, indicator, field)
);
