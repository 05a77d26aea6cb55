-- Contract v3 §8: every warning that needs an explanation, of every accepted version of a slice, with its
-- explanation: the latest given against it in the portal or the CLI (source portal), else its row's
-- 说明/备注 cell (source cell), else one given to an earlier version of the same slice for the same finding
-- key and value (source carried). explained is false where none stands; is_current marks the slice's
-- current version.
CREATE OR REPLACE VIEW explanations AS
WITH w AS (
    SELECT w.*, r.receipt_id, l.submitter, l.received_at
    FROM meta_review_warnings w JOIN submission_log l USING (submission_id)
    JOIN core_submission_receipts r USING (submission_id)
),
d AS (
    SELECT receipt_id, form, unit_code, period, finding_key, arg_max(text, position) AS text,
           arg_max(login, position) AS login, arg_max(decided_at, position) AS decided_at
    FROM meta_review_decisions WHERE applied AND kind = 'explanation' GROUP BY ALL
),
own AS (
    SELECT w.*, coalesce(d.text, w.cell_explanation) AS own_text,
           CASE WHEN d.text IS NOT NULL THEN 'portal' WHEN w.cell_explanation IS NOT NULL THEN 'cell' END AS own_source,
           CASE WHEN d.text IS NOT NULL THEN d.login ELSE w.submitter END AS own_by,
           CASE WHEN d.text IS NOT NULL THEN d.decided_at ELSE w.received_at END AS own_at
    FROM w LEFT JOIN d ON d.receipt_id = w.receipt_id AND d.form = w.form AND d.unit_code = w.unit_code
                      AND d.period = w.period AND d.finding_key = w.finding_key
),
carried AS (
    SELECT o.submission_id, o.finding_key, arg_max(e.own_text, e.submission_id) AS text,
           arg_max(e.own_by, e.submission_id) AS given_by, arg_max(e.own_at, e.submission_id) AS given_at
    FROM own o JOIN own e ON e.form = o.form AND e.unit_code = o.unit_code AND e.period = o.period
                         AND e.finding_key = o.finding_key AND e.value IS NOT DISTINCT FROM o.value
                         AND e.submission_id < o.submission_id AND e.own_text IS NOT NULL
    WHERE o.own_text IS NULL
    GROUP BY ALL
)
SELECT o.form, o.unit_code, o.period, o.submission_id, o.receipt_id, o.finding_key, o.rule_id, o.field, o.value,
       o.row_number, o.message_zh, o.message_en,
       coalesce(o.own_text, c.text) AS explanation,
       coalesce(o.own_source, CASE WHEN c.text IS NOT NULL THEN 'carried' END) AS source,
       coalesce(o.own_by, c.given_by) AS given_by, coalesce(o.own_at, c.given_at) AS given_at,
       coalesce(o.own_text, c.text) IS NOT NULL AS explained,
       o.submission_id IN (SELECT submission_id FROM core_current_versions) AS is_current
FROM own o LEFT JOIN carried c USING (submission_id, finding_key);
