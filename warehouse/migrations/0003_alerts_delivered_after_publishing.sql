-- Alerts recorded in the transaction of what caused them and delivered after the run has published, with
-- retries (main 2151b40): any kind (check_failed and audit_crashed join the five of v1, so the CHECK on kind
-- goes) and each alert's body, status and last attempt. DuckDB cannot drop a CHECK constraint: the table is
-- rebuilt with every row. Rows of earlier versions keep status NULL: v1 sent them (or gave up) itself, and
-- they are never retried.
CREATE TABLE alerts_v3 (
    alert_key        VARCHAR NOT NULL,
    recipient_id     VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,
    recipient        VARCHAR NOT NULL,
    unit_code        VARCHAR,
    submission_id    BIGINT,
    run_id           VARCHAR,
    title            VARCHAR NOT NULL,
    attempts         INTEGER NOT NULL,
    delivered        BOOLEAN NOT NULL,
    last_error       VARCHAR,
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    body             VARCHAR,
    status           VARCHAR,
    last_attempt_at  TIMESTAMPTZ,
    PRIMARY KEY (alert_key, recipient_id)
);
INSERT INTO alerts_v3 BY NAME SELECT * FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_v3 RENAME TO alerts;
