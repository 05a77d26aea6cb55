-- Certified figures that later accepted submissions would change: held until `certify --amend`.
CREATE OR REPLACE VIEW mart_pending_amendments AS
SELECT coalesce(c.year, l.year) AS year, coalesce(c.scope, l.scope) AS scope,
       coalesce(c.figure, l.figure) AS figure, coalesce(c.dimension, l.dimension) AS dimension,
       c.value AS certified_value, l.value AS live_value, c.version, c.certified_at
FROM (SELECT * FROM meta_certified_figures WHERE is_current) c
FULL JOIN (SELECT * FROM mart_figure_values WHERE year IN (SELECT year FROM meta_certified_figures)) l
  ON c.year = l.year AND c.scope = l.scope AND c.figure = l.figure AND c.dimension IS NOT DISTINCT FROM l.dimension
WHERE (c.value IS NULL) <> (l.value IS NULL)
   OR abs(c.value - l.value) > 1e-9 * greatest(1, abs(c.value));
