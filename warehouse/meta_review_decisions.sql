-- Contract v3 §8–§9: every explanation, approval and return recorded in the archive's decision journal
-- (raw/archive/decisions.jsonl), as the writer applied it, in journal order: applied, or refused with why.
-- A rebuild replays the journal and gives the same rows. Added in schema version 6.
CREATE TABLE IF NOT EXISTS meta_review_decisions (
    decision_id  VARCHAR PRIMARY KEY,
    position     BIGINT NOT NULL,       -- order in the journal
    kind         VARCHAR NOT NULL CHECK (kind IN ('explanation', 'approval', 'return')),
    form         VARCHAR NOT NULL,
    unit_code    VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,
    receipt_id   VARCHAR NOT NULL,      -- the version of the slice decided on: the receipt that brought it
    finding_key  VARCHAR,               -- an explanation's finding
    text         VARCHAR,               -- an explanation's words, a return's reason
    login        VARCHAR NOT NULL,      -- the account that decided
    decided_at   TIMESTAMPTZ NOT NULL,
    applied      BOOLEAN NOT NULL,
    refusal      VARCHAR,               -- why it was not applied
    run_id       VARCHAR NOT NULL
);
