-- Every annual figure of contract §6, unrounded, from each unit's final report of the year:
-- scope 360100 for the city; district scopes for the summed figures, ratios and air quality.
CREATE OR REPLACE VIEW mart_figure_values AS
WITH
air AS (
    SELECT f.* FROM fact_air_quality f
    JOIN core_final_reports r ON r.form = 'air_quality' AND r.unit_code = f.unit_code AND r.year = f.year AND r.period = f.period
    WHERE f.is_current
),
water AS (
    SELECT f.* FROM fact_water_sections f
    JOIN core_final_reports r ON r.form = 'water_sections' AND r.unit_code = f.unit_code AND r.year = f.year AND r.period = f.period
    WHERE f.is_current
),
outfall AS (
    SELECT f.* FROM fact_outfall_remediation f
    JOIN core_final_reports r ON r.form = 'outfall_remediation' AND r.unit_code = f.unit_code AND r.year = f.year AND r.period = f.period
    WHERE f.is_current
),
inspection AS (
    SELECT f.* FROM fact_inspection_problems f
    JOIN core_final_reports r ON r.form = 'inspection_problems' AND r.unit_code = f.unit_code AND r.year = f.year AND r.period = f.period
    WHERE f.is_current
),
petition AS (
    SELECT f.* FROM fact_petitions f
    JOIN core_final_reports r ON r.form = 'petitions' AND r.unit_code = f.unit_code AND r.year = f.year AND r.period = f.period
    WHERE f.is_current
),
enforcement AS (
    SELECT f.* FROM fact_enforcement f
    JOIN core_final_reports r ON r.form = 'enforcement' AND r.unit_code = f.unit_code AND r.year = f.year AND r.period = f.period
    WHERE f.is_current
),
rural AS (
    SELECT f.* FROM fact_rural_soil f
    JOIN core_final_reports r ON r.form = 'rural_soil' AND r.unit_code = f.unit_code AND r.year = f.year AND r.period = f.period
    WHERE f.is_current
),
sums AS (  -- (year, unit, figure, dimension, value) of every summed column
    SELECT year, unit_code, 'outfall.' || name AS figure, NULL::VARCHAR AS dimension, value FROM (
        UNPIVOT (SELECT year, unit_code, required::DOUBLE AS required, completed::DOUBLE AS completed FROM outfall)
        ON required, completed INTO NAME name VALUE value)
    UNION ALL
    SELECT year, unit_code, 'inspection.' || name, batch, value FROM (
        UNPIVOT (SELECT year, unit_code, batch, problems_due::DOUBLE AS problems_due,
                        problems_done::DOUBLE AS problems_done FROM inspection)
        ON problems_due, problems_done INTO NAME name VALUE value)
    UNION ALL
    SELECT year, unit_code, 'petition.' || name, batch, value FROM (
        UNPIVOT (SELECT year, unit_code, batch, assigned::DOUBLE AS assigned, difficult::DOUBLE AS difficult,
                        key_cases::DOUBLE AS key_cases, general::DOUBLE AS general,
                        concluded::DOUBLE AS concluded, closed::DOUBLE AS closed FROM petition)
        ON assigned, difficult, key_cases, general, concluded, closed INTO NAME name VALUE value)
    UNION ALL
    SELECT year, unit_code, 'enforcement.' || name, NULL, value FROM (
        UNPIVOT (SELECT year, unit_code, penalty_cases::DOUBLE AS penalty_cases, fines,
                        exempt_cases::DOUBLE AS exempt_cases, exempt_amount,
                        scattered_found::DOUBLE AS scattered_found, scattered_fixed::DOUBLE AS scattered_fixed
                 FROM enforcement)
        ON penalty_cases, fines, exempt_cases, exempt_amount, scattered_found, scattered_fixed
        INTO NAME name VALUE value)
    UNION ALL
    SELECT year, unit_code, 'rural.' || name, NULL, value FROM (
        UNPIVOT (SELECT year, unit_code, villages_new::DOUBLE AS villages_new,
                        villages_cumulative::DOUBLE AS villages_cumulative FROM rural)
        ON villages_new, villages_cumulative INTO NAME name VALUE value)
),
ratios AS (  -- ratios are computed from summed counts, never by averaging unit percentages
    SELECT year, unit_code, 'outfall.completion_rate' AS figure, completed::DOUBLE AS num, required::DOUBLE AS den FROM outfall
    UNION ALL SELECT year, unit_code, 'rural.sewage_rate', villages_sewage_treated, villages_total FROM rural
    UNION ALL SELECT year, unit_code, 'soil.farmland_safe_rate', farmland_safe, farmland_polluted FROM rural
)
SELECT year, CASE WHEN grouping(unit_code) = 1 THEN '360100' ELSE unit_code END AS scope,
       figure, dimension, sum(value) AS value
FROM sums
GROUP BY GROUPING SETS ((year, figure, dimension), (year, unit_code, figure, dimension))
HAVING grouping(unit_code) = 1 OR unit_code <> '360100'
UNION ALL
SELECT year, CASE WHEN grouping(unit_code) = 1 THEN '360100' ELSE unit_code END,
       figure, NULL, sum(num) / nullif(sum(den), 0) * 100
FROM ratios
GROUP BY GROUPING SETS ((year, figure), (year, unit_code, figure))
HAVING grouping(unit_code) = 1 OR unit_code <> '360100'
UNION ALL
SELECT year, unit_code, 'air.pm25_mean', NULL, pm25 FROM air
UNION ALL
SELECT year, unit_code, 'air.good_day_rate', NULL, good_days / valid_days * 100 FROM air
UNION ALL
SELECT year, '360100', 'water.surface_good_rate', NULL,
       100.0 * count(*) FILTER (WHERE water_class::INTEGER <= 3) / count(*) FROM water GROUP BY year
UNION ALL
SELECT year, '360100', 'water.national_good_rate', NULL,
       100.0 * count(*) FILTER (WHERE level = 'national' AND water_class::INTEGER <= 3)
       / nullif(count(*) FILTER (WHERE level = 'national'), 0) FROM water GROUP BY year
UNION ALL
SELECT year, '360100', 'water.class2_share', NULL,
       100.0 * count(*) FILTER (WHERE water_class::INTEGER <= 2) / count(*) FROM water GROUP BY year
UNION ALL
SELECT year, '360100', 'water.tp_mean', water_body, avg(total_phosphorus) FROM water GROUP BY year, water_body;
