-- Every table that wrote, or tried to write, a (form, unit, period) slice: one row per slice and
-- submission, whatever became of it (accepted, superseded, rejected).
CREATE OR REPLACE VIEW core_slice_versions AS
SELECT l.submission_id, l.form, split_part(s, ':', 1) AS unit_code, split_part(s, ':', 2) AS period,
       l.status, l.file, l.sheet, l.submitter, l.errors, l.warnings, l.rows_loaded, l.received_at
FROM submission_log l, unnest(l.slices) AS t(s)
WHERE l.form IS NOT NULL;
