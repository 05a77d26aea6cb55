-- Footer rows and notes of a table (contract v2 §3.1: 填报人, 审核人, 联系电话, 注, ...), recorded with the
-- submission and shown by `ecostat history` (main 55379de). Earlier submissions have none.
CREATE TABLE meta_submission_notes (
    submission_id  BIGINT NOT NULL,
    position       INTEGER NOT NULL,
    row_number     INTEGER NOT NULL,
    label          VARCHAR NOT NULL,
    value          VARCHAR NOT NULL,
    PRIMARY KEY (submission_id, position)
);
