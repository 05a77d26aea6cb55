-- Every receipt the warehouse has processed (the archive's manifest.jsonl journals all of them):
-- where the file came from and its exact bytes' hash. Written in the same transaction as its tables.
CREATE TABLE IF NOT EXISTS meta_received_files (
    receipt_id   VARCHAR PRIMARY KEY,
    sha256       VARCHAR NOT NULL,      -- raw/archive/objects/<sha256[:2]>/<sha256>
    file         VARCHAR NOT NULL,      -- path under raw/inbox/, e.g. 360111/信访3月.xlsx
    submitter    VARCHAR,               -- the unit folder; NULL outside any unit folder
    size_bytes   BIGINT NOT NULL,
    modified_at  TIMESTAMPTZ NOT NULL,  -- file mtime: the processing order
    received_at  TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR NOT NULL
);
