"""One pass reports everything: a cell error elsewhere in the table does not hide cross-period rules."""

from __future__ import annotations

from pathlib import Path

from ecostat import ingest as steps
from ecostat.warehouse import connect
from tests.conftest import write_csv
from tests.forms_data import header, row


def test_cross_period_rules_run_beside_other_errors(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_csv(inbox / "360102" / "june.csv", [header("outfall_remediation"),
                                             row("outfall_remediation", period="2024-06", completed=8)])
    with connect(tmp_path / "w.duckdb") as con:
        run = steps.start_run(con)
        (rec,) = steps.discover(inbox)
        assert steps.process_file(con, rec, run)[0].status == "accepted"
        write_csv(inbox / "360102" / "july.csv", [
            header("outfall_remediation"),
            row("outfall_remediation", period="2024-07", completed=5),                    # fell from 8
            row("outfall_remediation", period="2024-07", water_body="抚河", required="十个")])  # not a number
        rec = next(r for r in steps.discover(inbox) if r.file.endswith("july.csv"))
        (outcome,) = steps.process_file(con, rec, run)
    assert outcome.status == "rejected"
    assert sorted((f.rule_id, f.row, f.column) for f in outcome.findings) == [
        ("CELL_NUMBER", 3, "D"), ("PERIOD_FALL", 2, "E")]
