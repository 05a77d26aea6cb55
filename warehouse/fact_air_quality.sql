-- Form air_quality (空气质量): every accepted row with its lineage, current or superseded.
CREATE TABLE IF NOT EXISTS fact_air_quality (
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
    pm25                     DOUBLE,  -- PM2.5平均浓度 (µg/m³)
    pm10                     DOUBLE,  -- PM10平均浓度 (µg/m³)
    good_days                BIGINT,  -- 优良天数 (days)
    valid_days               BIGINT,  -- 有效监测天数 (days)
    good_day_rate            DOUBLE,  -- 优良天数比例 (%)
    at_least       VARCHAR[]         -- fields written with 以上/多/≥ (recorded as at least)
);
