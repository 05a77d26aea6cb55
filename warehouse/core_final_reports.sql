-- For each form, unit and year: the period of the unit's final report (contract §5) —
-- the annual report where one is current, otherwise the latest current monthly report.
CREATE OR REPLACE VIEW core_final_reports AS
WITH slices AS (
    SELECT DISTINCT 'air_quality' AS form, unit_code, year, period, month FROM fact_air_quality WHERE is_current
    UNION ALL SELECT DISTINCT 'water_sections', unit_code, year, period, month FROM fact_water_sections WHERE is_current
    UNION ALL SELECT DISTINCT 'outfall_remediation', unit_code, year, period, month FROM fact_outfall_remediation WHERE is_current
    UNION ALL SELECT DISTINCT 'inspection_problems', unit_code, year, period, month FROM fact_inspection_problems WHERE is_current
    UNION ALL SELECT DISTINCT 'petitions', unit_code, year, period, month FROM fact_petitions WHERE is_current
    UNION ALL SELECT DISTINCT 'enforcement', unit_code, year, period, month FROM fact_enforcement WHERE is_current
    UNION ALL SELECT DISTINCT 'rural_soil', unit_code, year, period, month FROM fact_rural_soil WHERE is_current
)
SELECT form, unit_code, year, arg_max(period, coalesce(month, 13)) AS period
FROM slices
GROUP BY form, unit_code, year;
