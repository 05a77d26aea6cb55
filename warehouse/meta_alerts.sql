-- Every alert sent (or tried), once per (alert key, recipient): the key makes an alert never repeat.
-- recipient is redacted (scheme and host only); recipient_id is a hash prefix of the full URL.
CREATE TABLE IF NOT EXISTS alerts (
    alert_key      VARCHAR NOT NULL,   -- rejected:<submission id>, warnings:<id>, missing:<form>:<unit>:<period>,
                                       -- run_failed:<run id>, audit_failed:<audit id>
    recipient_id   VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL CHECK (kind IN ('rejected', 'warnings', 'missing', 'run_failed', 'audit_failed')),
    recipient      VARCHAR NOT NULL,   -- e.g. dingtalk://***, json://127.0.0.1:8080
    unit_code      VARCHAR,
    submission_id  BIGINT,
    run_id         VARCHAR,
    title          VARCHAR NOT NULL,
    attempts       INTEGER NOT NULL,
    delivered      BOOLEAN NOT NULL,
    last_error     VARCHAR,            -- redacted
    created_at     TIMESTAMPTZ NOT NULL,
    sent_at        TIMESTAMPTZ,
    PRIMARY KEY (alert_key, recipient_id)
);
