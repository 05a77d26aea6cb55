-- Contract §6's rows (year, scope, figure, dimension) with the previous year's value and the change
-- (% relative, pp for percentages, otherwise the figure's own unit), unrounded: from the figures served
-- (certified for a certified year) or, with live = true, from the live values of the final reports.
CREATE OR REPLACE MACRO figures_with_change(live) AS TABLE
WITH v AS (
    SELECT year, scope, figure, dimension, value, certified, certified_at FROM mart_served_figures WHERE NOT live
    UNION ALL
    SELECT year, scope, figure, dimension, value, false, NULL::TIMESTAMPTZ FROM mart_figure_values WHERE live
)
SELECT v.year, v.scope, v.figure, v.dimension, v.value, c.unit,
       p.value AS previous_value,
       CASE WHEN c.change_unit = '%' THEN (v.value - p.value) / nullif(p.value, 0) * 100
            ELSE v.value - p.value END AS change,
       c.change_unit, c.name_zh, v.certified, v.certified_at
FROM v
JOIN meta_figure_catalogue c USING (figure)
LEFT JOIN v p
       ON p.year = v.year - 1 AND p.scope = v.scope AND p.figure = v.figure
      AND p.dimension IS NOT DISTINCT FROM v.dimension;
