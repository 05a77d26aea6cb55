-- Contract v3 §9: the slices not approved when a year was certified anyway (`certify --with-pending`),
-- named by the certification (version) they belong to. Added in schema version 6.
CREATE TABLE IF NOT EXISTS meta_certified_pending (
    year       INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    form       VARCHAR NOT NULL,
    unit_code  VARCHAR NOT NULL,
    period     VARCHAR NOT NULL,
    state      VARCHAR NOT NULL   -- pending or returned when certified
);
