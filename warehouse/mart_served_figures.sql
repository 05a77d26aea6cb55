-- The figure values served: the current certified version for a certified year, otherwise the
-- live values computed from the final reports.
CREATE OR REPLACE VIEW mart_served_figures AS
SELECT year, scope, figure, dimension, value, true AS certified, certified_at
FROM meta_certified_figures WHERE is_current
UNION ALL
SELECT year, scope, figure, dimension, value, false, NULL::TIMESTAMPTZ
FROM mart_figure_values
WHERE year NOT IN (SELECT year FROM meta_certified_figures);
