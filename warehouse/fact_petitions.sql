-- Form petitions (信访件办理): every accepted row with its lineage, current or superseded.
CREATE TABLE IF NOT EXISTS fact_petitions (
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
    assigned                 BIGINT,  -- 交办件数
    difficult                BIGINT,  -- 疑难复杂件数
    key_cases                BIGINT,  -- 重点件数
    general                  BIGINT,  -- 一般件数
    concluded                BIGINT,  -- 已办结件数
    closed                   BIGINT,  -- 已销号件数
    at_least       VARCHAR[]         -- fields written with 以上/多/≥ (recorded as at least)
);
