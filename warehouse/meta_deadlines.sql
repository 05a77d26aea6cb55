-- The due dates the bureau sets ([[alerts.deadlines]] of ecostat.toml: form, period, due), loaded on every
-- run: the periods units owe, for reporting_rates. Added in schema version 6.
CREATE TABLE IF NOT EXISTS meta_deadlines (
    form    VARCHAR NOT NULL,
    period  VARCHAR NOT NULL,
    due     DATE NOT NULL,
    PRIMARY KEY (form, period)
);
