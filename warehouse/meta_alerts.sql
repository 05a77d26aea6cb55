-- Every alert, once per (alert key, recipient): recorded as pending in the transaction of what caused it,
-- delivered after the run has published (outside the write lock), retried by later runs with growing
-- pauses until delivered or abandoned. recipient is redacted (scheme and host only); recipient_id is a
-- hash prefix of the full URL, which is never stored.
CREATE TABLE IF NOT EXISTS alerts (
    alert_key        VARCHAR NOT NULL,   -- file:<receipt id>:<kind>, check_failed:<receipt id>,
                                         -- missing:<form>:<unit>:<period>, run_failed:<run id>,
                                         -- audit_failed:<year>:<digest>, audit_crashed:<run id>
    recipient_id     VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,   -- rejected, warnings, check_failed, missing, run_failed, audit_failed
    recipient        VARCHAR NOT NULL,   -- e.g. dingtalk://***, json://127.0.0.1:8080
    unit_code        VARCHAR,
    submission_id    BIGINT,
    run_id           VARCHAR,
    title            VARCHAR NOT NULL,
    attempts         INTEGER NOT NULL,
    delivered        BOOLEAN NOT NULL,
    last_error       VARCHAR,            -- redacted
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    body             VARCHAR,
    status           VARCHAR,            -- pending, retrying, delivered, abandoned
    last_attempt_at  TIMESTAMPTZ,
    PRIMARY KEY (alert_key, recipient_id)
);
