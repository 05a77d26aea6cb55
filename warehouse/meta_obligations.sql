-- Which unit must report which form (schemas/registries/report_obligations.csv by unit kind), loaded on
-- every run like meta_units: the units expected by reporting_rates. Added in schema version 6.
CREATE TABLE IF NOT EXISTS meta_obligations (
    form       VARCHAR NOT NULL,
    unit_code  VARCHAR NOT NULL,
    PRIMARY KEY (form, unit_code)
);
