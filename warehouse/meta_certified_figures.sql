-- Annual figures frozen by `ecostat certify`: every version is kept; the current one is served.
CREATE TABLE IF NOT EXISTS meta_certified_figures (
    year          INTEGER NOT NULL,
    version       INTEGER NOT NULL,   -- 1 at certification, +1 per amendment
    scope         VARCHAR NOT NULL,
    figure        VARCHAR NOT NULL,
    dimension     VARCHAR,
    value         DOUBLE,
    is_current    BOOLEAN NOT NULL,
    certified_at  TIMESTAMPTZ NOT NULL,
    certified_by  VARCHAR NOT NULL
);
