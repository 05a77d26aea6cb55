-- Contract v2's forms (§4.8–§4.13) and figures (§6.1): a figure's value may be scaled (Σ investment in 万元 stated
-- in 亿元), and the views name the city by its kind in the units registry, loaded into meta_units on every run.
-- The new forms' fact tables are derived from schemas/ (no step needed).
ALTER TABLE meta_figure_catalogue ADD COLUMN scale DOUBLE;
CREATE TABLE meta_units (
    code  VARCHAR PRIMARY KEY,
    name  VARCHAR NOT NULL,
    kind  VARCHAR NOT NULL
);
