"""One pass reports everything: a cell error elsewhere in the table does not hide cross-period rules."""

from __future__ import annotations

from pathlib import Path

from ecostat.run import ingest as steps
from tests.conftest import write_csv
from tests.forms_data import header, row


def test_cross_period_rules_run_beside_other_errors(tmp_path: Path) -> None:
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    inbox = raw / "inbox"
    write_csv(inbox / "360102" / "june.csv", [header("outfall_remediation"),
                                             row("outfall_remediation", period="2024-06", completed=8)])
    assert steps.run_plain(raw, db).tables[0].status == "accepted"
    write_csv(inbox / "360102" / "july.csv", [
        header("outfall_remediation"),
        row("outfall_remediation", period="2024-07", completed=5),                    # fell from 8
        row("outfall_remediation", period="2024-07", water_body="抚河", required="十个")])  # not a number
    (outcome,) = steps.run_plain(raw, db).tables
    assert outcome.status == "rejected"
    assert sorted((f.rule_id, f.row, f.column) for f in outcome.findings) == [
        ("CELL_NUMBER", 3, "D"), ("PERIOD_FALL", 2, "E")]
