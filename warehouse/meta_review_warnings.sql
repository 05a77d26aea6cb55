-- Contract v3 §8: every warning that needs an explanation, of every accepted table, with its slice and
-- finding key (rule:field:row key): what an explanation stands for. Written with the table's other findings
-- (validation_issues); cell_explanation is the row's 说明/备注 text where it counts as an explanation.
-- Added in schema version 6; a warehouse carried forward from v2 has none (nothing is re-judged).
CREATE TABLE IF NOT EXISTS meta_review_warnings (
    submission_id     BIGINT NOT NULL,
    form              VARCHAR NOT NULL,
    unit_code         VARCHAR NOT NULL,
    period            VARCHAR NOT NULL,
    finding_key       VARCHAR NOT NULL,   -- rule:field:key codes, e.g. PERIOD_JUMP:fines:
    rule_id           VARCHAR NOT NULL,
    field             VARCHAR NOT NULL,
    value             VARCHAR,            -- the cell as written
    row_number        INTEGER,
    message_zh        VARCHAR NOT NULL,
    message_en        VARCHAR NOT NULL,
    cell_explanation  VARCHAR
);
