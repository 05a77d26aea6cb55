-- Which schema version (warehouse/migrations/) and contract version the warehouse holds, and how it got
-- there: one row per migration step applied, per additive change derived from the forms, and for the
-- version a warehouse was found at (by code of another contract than its latest row's) or created with.
-- The schema version is the highest version; the contract version it holds, its latest row's.
CREATE TABLE IF NOT EXISTS meta_schema_version (
    version           INTEGER NOT NULL,  -- warehouse/migrations/<version>_<name>
    name              VARCHAR NOT NULL,  -- the step's name, or what was derived
    how               VARCHAR NOT NULL CHECK (how IN ('found', 'created', 'migrated', 'derived')),
    contract_version  VARCHAR NOT NULL,  -- the contract the code that applied it implements
    applied_at        TIMESTAMPTZ NOT NULL,
    statements        VARCHAR            -- the SQL a derived change ran
);
