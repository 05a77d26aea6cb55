-- One row per finding, located as the submitter sees the file.
CREATE TABLE IF NOT EXISTS validation_issues (
    submission_id  BIGINT NOT NULL,
    file           VARCHAR NOT NULL,
    sheet          VARCHAR,
    row_number     INTEGER,   -- as in the file (row 1 = the first line / the json header)
    column_letter  VARCHAR,   -- A, B, ... as a spreadsheet shows it
    header         VARCHAR,   -- the header as written
    value          VARCHAR,   -- the cell as written
    rule_id        VARCHAR NOT NULL,  -- schemas/rules.toml
    severity       VARCHAR NOT NULL CHECK (severity IN ('error', 'warning')),
    message_zh     VARCHAR NOT NULL,
    message_en     VARCHAR NOT NULL
);
