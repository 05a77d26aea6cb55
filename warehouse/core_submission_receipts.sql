-- Each table's receipt (the version a decision names): the receipt of meta_received_files processed in the same
-- run, of the same file and bytes (the first, should the same bytes have been dropped twice in one run).
CREATE OR REPLACE VIEW core_submission_receipts AS
SELECT l.submission_id, min(r.receipt_id) AS receipt_id
FROM submission_log l
JOIN meta_received_files r ON r.run_id = l.run_id AND r.file = l.file AND r.sha256 = l.sha256
GROUP BY l.submission_id;
