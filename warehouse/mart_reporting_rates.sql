-- Contract v3 §10: for every form and period units owe (meta_deadlines) and every unit that owes it
-- (meta_obligations), and for the city (scope = the city's code, is_city): the units expected, and of them
-- those that sent a table of the slice (received), have it accepted and current (accepted), approved, and
-- whose first accepted table came by the due date (on_time) or after it (late); rates in % of expected.
CREATE OR REPLACE VIEW reporting_rates AS
WITH expected AS (
    SELECT d.form, d.period, d.due, o.unit_code FROM meta_deadlines d JOIN meta_obligations o USING (form)
),
per_unit AS (
    SELECT e.form, e.period, e.due, e.unit_code,
           (SELECT count(*) FROM core_slice_versions v WHERE v.form = e.form AND v.period = e.period
              AND (v.unit_code = e.unit_code OR v.submitter = e.unit_code)) > 0 AS received,
           s.state IS NOT NULL AS accepted,
           coalesce(s.state = 'approved', false) AS approved,
           (SELECT min(v.received_at) FROM core_slice_versions v WHERE v.form = e.form AND v.period = e.period
              AND v.unit_code = e.unit_code AND v.status IN ('accepted', 'superseded')) AS first_accepted
    FROM expected e
    LEFT JOIN review_states s ON s.form = e.form AND s.period = e.period AND s.unit_code = e.unit_code
),
judged AS (
    SELECT *, accepted AND CAST(first_accepted AS DATE) <= due AS on_time,
           accepted AND CAST(first_accepted AS DATE) > due AS late
    FROM per_unit
)
SELECT form, period, due,
       CASE WHEN grouping(unit_code) = 1 THEN (SELECT code FROM meta_units WHERE kind = 'city') ELSE unit_code END
           AS scope,
       grouping(unit_code) = 1 AS is_city,
       count(*) AS expected, count(*) FILTER (WHERE received) AS received,
       count(*) FILTER (WHERE accepted) AS accepted, count(*) FILTER (WHERE approved) AS approved,
       count(*) FILTER (WHERE on_time) AS on_time, count(*) FILTER (WHERE late) AS late,
       count(*) FILTER (WHERE NOT accepted) AS missing,
       100.0 * count(*) FILTER (WHERE received) / count(*) AS received_rate,
       100.0 * count(*) FILTER (WHERE accepted) / count(*) AS accepted_rate,
       100.0 * count(*) FILTER (WHERE approved) / count(*) AS approved_rate,
       100.0 * count(*) FILTER (WHERE on_time) / count(*) AS on_time_rate
FROM judged
GROUP BY GROUPING SETS ((form, period, due), (form, period, due, unit_code));
