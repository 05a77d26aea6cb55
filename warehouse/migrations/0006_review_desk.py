"""Contract v3 §8–§10, the review desk: the warnings that need an explanation, the decisions applied
(explanations, approvals, returns), the obligations and due dates of the reporting rates, and each table's
receipt on ``submission_log`` (filled in from ``meta_received_files``). A v2 warehouse carries forward with
no warnings and no decisions: every current slice is pending and nothing is re-judged (§7)."""

from __future__ import annotations

from pathlib import Path

import duckdb

WAREHOUSE = Path(__file__).resolve().parents[1]
TABLES = ("meta_review_warnings", "meta_review_decisions", "meta_obligations", "meta_deadlines",
          "meta_certified_pending")


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Create the review desk's tables and give every stored table its receipt."""
    for name in TABLES:
        con.execute((WAREHOUSE / f"{name}.sql").read_text(encoding="utf-8"))
    con.execute("ALTER TABLE submission_log ADD COLUMN receipt_id VARCHAR")
    con.execute("""UPDATE submission_log l SET receipt_id = r.receipt_id
                   FROM (SELECT run_id, file, sha256, min(receipt_id) AS receipt_id FROM meta_received_files
                         GROUP BY ALL) r
                   WHERE r.run_id = l.run_id AND r.file = l.file AND r.sha256 = l.sha256""")
