-- One row per table received, and one per file that could not be read at all.
CREATE TABLE IF NOT EXISTS submission_log (
    submission_id  BIGINT PRIMARY KEY,
    run_id         VARCHAR NOT NULL,
    file           VARCHAR NOT NULL,   -- path under raw/inbox/
    sheet          VARCHAR,            -- NULL if none (csv/json/parquet, or an unreadable file)
    form           VARCHAR,            -- NULL when not recognised
    submitter      VARCHAR,            -- the unit folder; NULL outside any unit folder
    status         VARCHAR NOT NULL CHECK (status IN ('accepted', 'rejected', 'superseded', 'duplicate')),
    errors         INTEGER NOT NULL,
    warnings       INTEGER NOT NULL,
    rows_loaded    INTEGER NOT NULL,
    slices         VARCHAR[],          -- unit:period slices this table wrote
    replaced       BIGINT[],           -- submissions whose rows this table superseded
    sha256         VARCHAR NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL
);
