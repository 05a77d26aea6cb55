-- Every certification act: who froze or amended which year, when, why, and how many figures changed.
CREATE TABLE IF NOT EXISTS meta_certification_audit (
    act       VARCHAR NOT NULL CHECK (act IN ('certify', 'amend')),
    year      INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    acted_by  VARCHAR NOT NULL,
    reason    VARCHAR,
    acted_at  TIMESTAMPTZ NOT NULL,
    figures   INTEGER NOT NULL,      -- figures frozen in this version
    changed   INTEGER NOT NULL       -- of which differ from the previous version
);
