-- Form rural_soil (农村环境与土壤): every accepted row with its lineage, current or superseded.
CREATE TABLE IF NOT EXISTS fact_rural_soil (
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
    villages_new             BIGINT,  -- 新增完成环境整治行政村数
    villages_cumulative      BIGINT,  -- 累计完成环境整治行政村数
    villages_total           BIGINT,  -- 行政村总数
    villages_sewage_treated  BIGINT,  -- 生活污水治理行政村数
    sewage_rate              DOUBLE,  -- 农村生活污水治理率 (%)
    farmland_polluted        DOUBLE,  -- 受污染耕地面积 (亩)
    farmland_safe            DOUBLE,  -- 受污染耕地安全利用面积 (亩)
    farmland_safe_rate       DOUBLE,  -- 受污染耕地安全利用率 (%)
    at_least       VARCHAR[]         -- fields written with 以上/多/≥ (recorded as at least)
);
