-- Coverage of Appointments in General Practice: practices and registered patients included in the publication
-- against those open, per sub-ICB location and month (the caveat behind every appointments figure).
CREATE TABLE appointment_coverage (
    sub_icb_code VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    included_practices INTEGER,
    open_practices INTEGER,
    included_patients BIGINT,
    open_patients BIGINT,
    import_id BIGINT,
    PRIMARY KEY (sub_icb_code, period_start)
);
