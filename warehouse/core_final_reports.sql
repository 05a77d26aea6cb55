-- For each form, unit and year: the period of the unit's final report (contract §5) —
-- the annual report where one is current, otherwise the latest current monthly report.
CREATE OR REPLACE VIEW core_final_reports AS
SELECT form, unit_code, year, arg_max(period, coalesce(month, 13)) AS period
FROM core_form_slices
GROUP BY form, unit_code, year;
