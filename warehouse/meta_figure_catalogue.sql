-- The annual figures (contract §6) as data, loaded from schemas/figures.csv on every run: names, units and
-- how each is computed (see ecostat/figuredefs.py and mart_figure_values.sql). Added in schema version 2.
CREATE TABLE IF NOT EXISTS meta_figure_catalogue (
    figure       VARCHAR PRIMARY KEY,
    name_zh      VARCHAR NOT NULL,
    unit         VARCHAR NOT NULL,
    change_unit  VARCHAR NOT NULL,
    kind         VARCHAR,             -- sum, ratio, value, mean, count, share, sql
    form         VARCHAR,             -- the form it is computed from (NULL for kind sql)
    field        VARCHAR,             -- summed, averaged or the ratio's numerator
    denominator  VARCHAR,             -- a ratio's denominator
    by_field     VARCHAR,             -- the field whose code is the dimension
    filter       STRUCT(field VARCHAR, codes VARCHAR[], numbers DOUBLE[])[],  -- rows counted: every condition met
    base         STRUCT(field VARCHAR, codes VARCHAR[], numbers DOUBLE[])[],  -- a share's base rows
    scope        VARCHAR,             -- all: the city and each other unit; unit: each unit alone; city: the city only
    position     INTEGER              -- order of figures.csv
);
