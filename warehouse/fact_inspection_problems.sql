-- Form inspection_problems (督察整改问题): every accepted row with its lineage, current or superseded.
CREATE TABLE IF NOT EXISTS fact_inspection_problems (
    submission_id  BIGINT NOT NULL,   -- submission_log.submission_id
    sha256         VARCHAR NOT NULL,  -- the received file's bytes
    file           VARCHAR NOT NULL,  -- path under raw/inbox/
    sheet          VARCHAR,           -- NULL for csv/json/parquet
    source_row     INTEGER NOT NULL,  -- row number as the submitter sees it
    received_at    TIMESTAMPTZ NOT NULL,
    is_current     BOOLEAN NOT NULL,  -- false once a later table replaced the slice
    superseded_by  BIGINT,            -- the submission that replaced it
    unit_code      VARCHAR NOT NULL,
    period         VARCHAR NOT NULL,  -- 2024 (annual) or 2024-06 (monthly, year to date)
    year           INTEGER NOT NULL,
    month          INTEGER,           -- NULL for the annual report
    batch                    VARCHAR,  -- 批次
    problems_due             BIGINT,  -- 有整改时限问题数
    problems_done            BIGINT,  -- 已完成整改数
    at_least       VARCHAR[]         -- fields written with 以上/多/≥ (recorded as at least)
);
