-- Which slices feed which figure: for every figure of a form, year and scope, each final report (contract §5)
-- it is computed from — the city's figure from every unit's (the city's own only, for a figure of scope
-- unit), a unit's from its own — with the slice's review state (pending where no current version is known).
CREATE OR REPLACE VIEW core_figure_inputs AS
WITH city AS (SELECT code AS city FROM meta_units WHERE kind = 'city'),
fed AS (
    SELECT c.figure, c.scope AS spread, r.year, r.form, r.unit_code, r.period, coalesce(s.state, 'pending') AS state
    FROM meta_figure_catalogue c
    JOIN core_final_reports r ON r.form = c.form
    LEFT JOIN review_states s ON s.form = r.form AND s.unit_code = r.unit_code AND s.period = r.period
)
SELECT f.year, f.unit_code AS scope, f.figure, f.form, f.unit_code, f.period, f.state FROM fed f
UNION ALL
SELECT f.year, city.city, f.figure, f.form, f.unit_code, f.period, f.state FROM fed f CROSS JOIN city
WHERE f.spread <> 'unit' AND f.unit_code <> city.city;
