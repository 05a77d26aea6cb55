-- Every file received, once per distinct (path, bytes): where it came from and its exact bytes' hash.
CREATE TABLE IF NOT EXISTS meta_received_files (
    sha256       VARCHAR NOT NULL,
    file         VARCHAR NOT NULL,      -- path under raw/inbox/, e.g. 360111/信访3月.xlsx
    submitter    VARCHAR,               -- the unit folder; NULL outside any unit folder
    size_bytes   BIGINT NOT NULL,
    modified_at  TIMESTAMPTZ NOT NULL,  -- file mtime: the processing order
    received_at  TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR NOT NULL,
    PRIMARY KEY (file, sha256)
);
