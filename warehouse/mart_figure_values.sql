-- Every annual figure of contract §6, unrounded, from each unit's final report of the year
-- (core_final_values), computed as meta_figure_catalogue (schemas/figures.csv) defines it: one generic
-- aggregate per kind. Scope 'all': the city (360100) over every unit's rows, and each other unit alone;
-- 'unit': each unit alone (the city's figure is 360100's own); 'city': the city only.
-- Figures of kind sql come from warehouse/figures/<figure>.sql through mart_sql_figures.
CREATE OR REPLACE VIEW mart_figure_values AS
WITH
entries AS (  -- each figure with every value of its form's final rows
    SELECT c.figure, c.kind, c.scope AS spread, c.field AS num_field, c.denominator, c.by_field,
           len(coalesce(c.filter, [])) AS filter_n, len(coalesce(c.base, [])) AS base_n,
           v.year, v.unit_code, v.submission_id, v.source_row, v.field, v.value, v.code
    FROM meta_figure_catalogue c JOIN core_final_values v ON v.form = c.form
    WHERE c.kind <> 'sql'
),
conditions AS (  -- one row per condition: the row's field holds one of codes (or numbers)
    SELECT figure, 'filter' AS role, unnest(filter) AS c FROM meta_figure_catalogue
    UNION ALL
    SELECT figure, 'base', unnest(base) FROM meta_figure_catalogue
),
met AS (  -- how many of a figure's filter (base) conditions each row meets
    SELECT e.figure, k.role, e.submission_id, e.source_row, count(*) AS n
    FROM entries e JOIN conditions k ON k.figure = e.figure AND k.c.field = e.field
     AND (list_contains(k.c.codes, e.code) OR list_contains(k.c.numbers, e.value))
    GROUP BY ALL
),
figure_rows AS (  -- one row per (figure, final row): its dimension, numerator and denominator
    SELECT figure, kind, spread, filter_n, base_n, year, unit_code, submission_id, source_row,
           any_value(code) FILTER (WHERE field = by_field) AS dimension,
           any_value(value) FILTER (WHERE field = num_field) AS num,
           any_value(value) FILTER (WHERE field = denominator) AS den
    FROM entries
    GROUP BY ALL
),
judged AS (  -- whether each row meets the figure's filter and base
    SELECT r.*, coalesce(f.n, 0) = r.filter_n AS in_filter, coalesce(b.n, 0) = r.base_n AS in_base
    FROM figure_rows r
    LEFT JOIN met f ON f.role = 'filter' AND f.figure = r.figure
     AND f.submission_id = r.submission_id AND f.source_row = r.source_row
    LEFT JOIN met b ON b.role = 'base' AND b.figure = r.figure
     AND b.submission_id = r.submission_id AND b.source_row = r.source_row
)
SELECT year, CASE WHEN grouping(unit_code) = 1 THEN '360100' ELSE unit_code END AS scope, figure, dimension,
       CASE kind
           WHEN 'sum' THEN fsum(num) FILTER (WHERE in_filter)
           WHEN 'ratio' THEN fsum(num) FILTER (WHERE in_filter) / nullif(fsum(den) FILTER (WHERE in_filter), 0) * 100
           WHEN 'count' THEN count(*) FILTER (WHERE in_filter)
           WHEN 'share' THEN 100.0 * count(*) FILTER (WHERE in_filter AND in_base)
                             / nullif(count(*) FILTER (WHERE in_base), 0)
           ELSE favg(num) FILTER (WHERE in_filter)  -- value, mean
       END AS value
FROM judged
GROUP BY GROUPING SETS ((figure, kind, spread, year, dimension), (figure, kind, spread, year, dimension, unit_code))
HAVING (CASE WHEN grouping(unit_code) = 1 THEN spread IN ('all', 'city')
             ELSE spread = 'unit' OR (spread = 'all' AND unit_code <> '360100') END)
   AND (kind IN ('count', 'share')  -- a sum, mean or ratio of no given value is no figure
        OR count(CASE WHEN kind = 'ratio' THEN den ELSE num END) FILTER (WHERE in_filter) > 0)
UNION ALL
SELECT year, scope, figure, dimension, value FROM mart_sql_figures;
