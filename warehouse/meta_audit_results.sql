-- Every expectation of every Great Expectations audit (`ecostat audit`, and after each ingest run).
CREATE TABLE IF NOT EXISTS meta_audit_results (
    audit_id     VARCHAR NOT NULL,
    run_id       VARCHAR,             -- the ingest run that triggered it; NULL on demand
    year         INTEGER NOT NULL,
    audited_at   TIMESTAMPTZ NOT NULL,
    suite        VARCHAR NOT NULL,    -- the batch: completeness, current_rows, city_figures, district_<form>, ...
    expectation  VARCHAR NOT NULL,    -- GX expectation type
    column_name  VARCHAR,
    severity     VARCHAR NOT NULL CHECK (severity IN ('error', 'warning')),
    success      BOOLEAN NOT NULL,
    details      JSON                 -- the unexpected rows (by their naming columns) or the observed value
);
