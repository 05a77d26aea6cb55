-- The reporting units (schemas/registries/units.csv: code, name, kind), loaded on every run, so that views
-- name the city by its kind, never by a literal code. Added in schema version 5.
CREATE TABLE IF NOT EXISTS meta_units (
    code  VARCHAR PRIMARY KEY,
    name  VARCHAR NOT NULL,
    kind  VARCHAR NOT NULL   -- city, district, county, administration
);
