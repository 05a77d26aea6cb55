-- Each ingest run with its counts and the outcome of the audit it ran (the status site's "latest runs";
-- its alerts are in `alerts`, by run_id).
CREATE OR REPLACE VIEW mart_run_overview AS
SELECT r.run_id, r.started_at, r.finished_at, r.files, r.tables_accepted, r.tables_rejected, r.duplicates,
       r.figures_changed, m.audit_year, m.expectations, m.failed_errors, m.failed_warnings
FROM meta_ingest_runs r
LEFT JOIN (SELECT run_id, any_value(year) AS audit_year, count(*) AS expectations,
                  count(*) FILTER (WHERE NOT success AND severity = 'error') AS failed_errors,
                  count(*) FILTER (WHERE NOT success AND severity = 'warning') AS failed_warnings
           FROM meta_audit_results WHERE run_id IS NOT NULL GROUP BY run_id) m USING (run_id);
