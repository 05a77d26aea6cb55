-- Form water_sections (水质断面): every accepted row with its lineage, current or superseded.
CREATE TABLE IF NOT EXISTS fact_water_sections (
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
    section_code             VARCHAR,  -- 断面编码
    section_name             VARCHAR,  -- 断面名称
    water_body               VARCHAR,  -- 所在水体
    water_type               VARCHAR,  -- 水体类型
    level                    VARCHAR,  -- 断面级别
    water_class              VARCHAR,  -- 水质类别
    total_phosphorus         DOUBLE,  -- 总磷 (mg/L)
    at_least       VARCHAR[]         -- fields written with 以上/多/≥ (recorded as at least)
);
