-- The version of every current (form, unit, period) slice: the last accepted table that wrote it, with the
-- receipt that brought it (the version decisions name), who sent it and when.
CREATE OR REPLACE VIEW core_current_versions AS
SELECT s.form, s.unit_code, s.period, s.year, v.submission_id, r.receipt_id, l.submitter, l.received_at
FROM core_form_slices s
JOIN (SELECT form, unit_code, period, max(submission_id) AS submission_id FROM core_slice_versions
      WHERE status IN ('accepted', 'superseded') GROUP BY ALL) v USING (form, unit_code, period)
JOIN submission_log l USING (submission_id)
JOIN core_submission_receipts r USING (submission_id);
