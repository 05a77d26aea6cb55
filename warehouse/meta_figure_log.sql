-- Every change of an annual figure, as seen at the end of the run that caused it.
CREATE TABLE IF NOT EXISTS meta_figure_log (
    run_id      VARCHAR NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    year        INTEGER NOT NULL,
    scope       VARCHAR NOT NULL,
    figure      VARCHAR NOT NULL,
    dimension   VARCHAR,
    old_value   DOUBLE,
    new_value   DOUBLE
);
