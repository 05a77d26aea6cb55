"""Contract v3 §8–§10, the review desk: the warnings that need an explanation, the decisions applied
(explanations, approvals, returns), the obligations and due dates of the reporting rates, and the slices certified
while not approved. A v2 warehouse carries forward with
no warnings and no decisions: every current slice is pending and nothing is re-judged (§7)."""

from __future__ import annotations

import duckdb

from ecostat.store.warehouse import SQL_DIR

TABLES = ("meta_review_warnings", "meta_review_decisions", "meta_obligations", "meta_deadlines",
          "meta_certified_pending")


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Create the review desk's tables, as their files in ``warehouse/`` declare them (written once)."""
    for name in TABLES:
        con.execute((SQL_DIR / f"{name}.sql").read_text(encoding="utf-8"))
