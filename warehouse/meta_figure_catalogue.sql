-- The figures of contract §6 with their Chinese names and units (loaded from schemas/figures.csv).
CREATE TABLE IF NOT EXISTS meta_figure_catalogue (
    figure       VARCHAR PRIMARY KEY,
    name_zh      VARCHAR NOT NULL,
    unit         VARCHAR NOT NULL,
    change_unit  VARCHAR NOT NULL
);
