-- Every annual figure of contract §6, unrounded, from each unit's final report of the year, computed as
-- meta_figure_catalogue (schemas/figures.csv) defines it: one generic aggregate per kind over the figure's
-- rows (mart_figure_rows: each row of its form's final reports, with its dimension, numerator, denominator
-- and whether it meets the figure's filter and base), times the figure's scale. Scope 'all': the city (the
-- unit of kind city in meta_units) over every unit's rows, and each other unit alone; 'unit': each unit
-- alone (the city's figure is the city unit's own); 'city': the city only.
-- Figures of kind sql come from warehouse/figures/<figure>.sql through mart_sql_figures.
CREATE OR REPLACE VIEW mart_figure_values AS
WITH
city AS (SELECT code AS city FROM meta_units WHERE kind = 'city'),
judged AS (
    SELECT r.*, c.kind, c.scope AS spread, coalesce(c.scale, 1) AS scale, city.city
    FROM mart_figure_rows r
    JOIN meta_figure_catalogue c USING (figure)
    CROSS JOIN city
)
SELECT year, CASE WHEN grouping(unit_code) = 1 THEN city ELSE unit_code END AS scope, figure, dimension,
       scale * CASE kind
           WHEN 'sum' THEN fsum(num) FILTER (WHERE in_filter)
           WHEN 'ratio' THEN fsum(num) FILTER (WHERE in_filter) / nullif(fsum(den) FILTER (WHERE in_filter), 0) * 100
           WHEN 'reduction' THEN (1 - fsum(num) FILTER (WHERE in_filter)
                                      / nullif(fsum(den) FILTER (WHERE in_filter), 0)) * 100
           WHEN 'count' THEN count(*) FILTER (WHERE in_filter)
           WHEN 'share' THEN 100.0 * count(*) FILTER (WHERE in_filter AND in_base)
                             / nullif(count(*) FILTER (WHERE in_base), 0)
           ELSE favg(num) FILTER (WHERE in_filter)  -- value, mean
       END AS value
FROM judged
GROUP BY GROUPING SETS ((figure, kind, spread, scale, city, year, dimension),
                        (figure, kind, spread, scale, city, year, dimension, unit_code))
HAVING (CASE WHEN grouping(unit_code) = 1 THEN spread IN ('all', 'city')
             ELSE spread = 'unit' OR (spread = 'all' AND unit_code <> city) END)
   AND (kind IN ('count', 'share')  -- a sum, mean, ratio or reduction of no given value is no figure
        OR count(CASE WHEN kind IN ('ratio', 'reduction') THEN den ELSE num END) FILTER (WHERE in_filter) > 0)
UNION ALL
SELECT year, scope, figure, dimension, value FROM mart_sql_figures;
