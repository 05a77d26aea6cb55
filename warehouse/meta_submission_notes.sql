-- The label–value pairs of a table's footer rows and notes (填报人：王敏, 审核人：刘强, 联系电话：…,
-- 注：…), contract §3.1: recorded with the submission, shown by `ecostat history`, never alerted.
CREATE TABLE IF NOT EXISTS meta_submission_notes (
    submission_id  BIGINT NOT NULL,
    position       INTEGER NOT NULL,  -- order in the table, from 1
    row_number     INTEGER NOT NULL,  -- the row of the file that holds it
    label          VARCHAR NOT NULL,  -- 填报人, 审核人, 联系电话, 注, ...
    value          VARCHAR NOT NULL,
    PRIMARY KEY (submission_id, position)
);
