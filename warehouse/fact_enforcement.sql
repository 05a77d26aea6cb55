-- Form enforcement (环境执法): every accepted row with its lineage, current or superseded.
CREATE TABLE IF NOT EXISTS fact_enforcement (
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
    penalty_cases            BIGINT,  -- 行政处罚案件数
    fines                    DOUBLE,  -- 罚款金额 (万元)
    exempt_cases             BIGINT,  -- 免罚案件数
    exempt_amount            DOUBLE,  -- 免罚金额 (万元)
    scattered_found          BIGINT,  -- 排查散乱污企业数
    scattered_fixed          BIGINT,  -- 完成整治散乱污企业数
    at_least       VARCHAR[]         -- fields written with 以上/多/≥ (recorded as at least)
);
