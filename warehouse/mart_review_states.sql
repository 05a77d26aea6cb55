-- Contract v3 §9: the review state of every current slice — pending 待审核, approved 已通过 or returned
-- 已退回 — from the latest approval or return applied to its current version (a newly accepted version is
-- pending again), with who decided, when and why (a return's reason), and its warnings needing an
-- explanation, explained or not.
CREATE OR REPLACE VIEW review_states AS
WITH d AS (
    SELECT form, unit_code, period, receipt_id, arg_max(kind, position) AS kind, arg_max(login, position) AS login,
           arg_max(decided_at, position) AS decided_at, arg_max(text, position) AS text
    FROM meta_review_decisions WHERE applied AND kind IN ('approval', 'return') GROUP BY ALL
),
x AS (
    SELECT submission_id, count(*) AS warnings, count(*) FILTER (WHERE NOT explained) AS unexplained
    FROM explanations GROUP BY ALL
)
SELECT c.form, c.unit_code, c.period, c.year, c.submission_id, c.receipt_id, c.submitter, c.received_at,
       CASE d.kind WHEN 'approval' THEN 'approved' WHEN 'return' THEN 'returned' ELSE 'pending' END AS state,
       CASE d.kind WHEN 'approval' THEN '已通过' WHEN 'return' THEN '已退回' ELSE '待审核' END AS state_zh,
       d.login AS decided_by, d.decided_at, CASE WHEN d.kind = 'return' THEN d.text END AS reason,
       coalesce(x.warnings, 0) AS warnings, coalesce(x.unexplained, 0) AS unexplained
FROM core_current_versions c
LEFT JOIN d ON d.form = c.form AND d.unit_code = c.unit_code AND d.period = c.period AND d.receipt_id = c.receipt_id
LEFT JOIN x USING (submission_id);
