-- Figures become data: the catalogue holds each figure's kind and inputs (schemas/figures.csv), read by the
-- generic queries of mart_figure_values. Nullable columns, filled by the next catalogue load.
ALTER TABLE meta_figure_catalogue ADD COLUMN kind VARCHAR;
ALTER TABLE meta_figure_catalogue ADD COLUMN form VARCHAR;
ALTER TABLE meta_figure_catalogue ADD COLUMN field VARCHAR;
ALTER TABLE meta_figure_catalogue ADD COLUMN denominator VARCHAR;
ALTER TABLE meta_figure_catalogue ADD COLUMN by_field VARCHAR;
ALTER TABLE meta_figure_catalogue ADD COLUMN filter STRUCT(field VARCHAR, codes VARCHAR[], numbers DOUBLE[])[];
ALTER TABLE meta_figure_catalogue ADD COLUMN base STRUCT(field VARCHAR, codes VARCHAR[], numbers DOUBLE[])[];
ALTER TABLE meta_figure_catalogue ADD COLUMN scope VARCHAR;
ALTER TABLE meta_figure_catalogue ADD COLUMN position INTEGER;
