-- annual_figures values as of the last refresh, to tell which figures a run changed.
CREATE TABLE IF NOT EXISTS meta_figure_snapshot (
    year       INTEGER NOT NULL,
    scope      VARCHAR NOT NULL,
    figure     VARCHAR NOT NULL,
    dimension  VARCHAR,
    value      DOUBLE
);
