-- One row per ingest run.
CREATE TABLE IF NOT EXISTS meta_ingest_runs (
    run_id           VARCHAR PRIMARY KEY,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    files            INTEGER,
    tables_accepted  INTEGER,
    tables_rejected  INTEGER,
    duplicates       INTEGER,
    figures_changed  INTEGER
);
