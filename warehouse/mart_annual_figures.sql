-- Contract §6: one row per (year, scope, figure, dimension) with the previous year's value and
-- the change (% relative, pp for percentages, otherwise the figure's own unit). Unrounded.
-- A certified year serves its certified values (certified = true).
CREATE OR REPLACE VIEW annual_figures AS
SELECT v.year, v.scope, v.figure, v.dimension, v.value, c.unit,
       p.value AS previous_value,
       CASE WHEN c.change_unit = '%' THEN (v.value - p.value) / nullif(p.value, 0) * 100
            ELSE v.value - p.value END AS change,
       c.change_unit, c.name_zh, v.certified, v.certified_at
FROM mart_served_figures v
JOIN meta_figure_catalogue c USING (figure)
LEFT JOIN mart_served_figures p
       ON p.year = v.year - 1 AND p.scope = v.scope AND p.figure = v.figure
      AND p.dimension IS NOT DISTINCT FROM v.dimension;
