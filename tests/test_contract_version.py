"""Contract v3 (``../shared/submission-contract.md``, "Changes from v2" and §7): the version this code records
with a warehouse's schema rows and its receipts' verdicts, and a warehouse whose versions and verdicts this
same code recorded as "2" (before its version said 3), carried forward by the next run without re-judging
anything: its rejections stand, in the warehouse, in the verdict journal and in a rebuild from the archive."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

import ecostat.cli.ingest
import ecostat.intake.verdicts
import ecostat.publish.dictionary
import ecostat.run.pending
import ecostat.store.warehouse
from ecostat.cli import main
from ecostat.contract.version import CONTRACT_VERSION
from ecostat.intake import verdicts
from ecostat.intake.archive import receipts
from ecostat.intake.inbox import receive_inbox
from ecostat.publish.dictionary import render
from ecostat.run import ingest as steps
from ecostat.store import migrations
from tests.conftest import write_csv
from tests.forms_data import header, row

OUTCOME = "SELECT file, sheet, form, status, rows_loaded FROM submission_log ORDER BY submission_id"
EARLIER = ("SELECT l.file, i.message_en FROM submission_log l JOIN validation_issues i USING (submission_id) "
           "WHERE i.rule_id = 'REJECTED_EARLIER' ORDER BY l.submission_id")
LATEST = migrations.latest_version()
LATEST_NAME = migrations.steps()[-1].name


def drop(raw: Path, name: str, rows: list[list[object]]) -> None:
    write_csv(raw / "inbox" / name, rows)


def three_files(raw: Path) -> None:
    """One file accepted, one whose table is rejected (completed > required), one rejected whole (no form)."""
    drop(raw, "360102/a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    drop(raw, "360102/b.csv", [header("outfall_remediation"), row("outfall_remediation", completed=11)])
    drop(raw, "360103/c.csv", [["区县代码", "报告期"], ["360103", "2024"]])


def versions(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT version, name, how, contract_version FROM meta_schema_version "
                           "ORDER BY applied_at, version").fetchall()


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def by_file(raw: Path) -> dict[str, verdicts.Verdict]:
    """The journaled verdicts by the file's name in its unit folder."""
    names = {r.receipt_id: r.file for r in receipts(raw / "archive")}
    return {names[k]: v for k, v in verdicts.read(raw / "archive").items()}


def as_contract(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    """Make this code record ``version`` as its contract, in every module that holds the constant (as the code
    did before the constant said 3; the checks, made in other processes, never read it)."""
    for module in [m for name, m in sys.modules.items() if name.startswith("ecostat")]:
        if isinstance(getattr(module, "CONTRACT_VERSION", None), str):
            monkeypatch.setattr(module, "CONTRACT_VERSION", version)


def built_under_2(raw: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The three files ingested into ``db`` by this code recording contract 2, as it did before."""
    as_contract(monkeypatch, "2")
    three_files(raw)
    steps.run_plain(raw, db)
    monkeypatch.undo()


def test_a_fresh_warehouse_records_contract_3_for_its_schema_and_its_verdicts(tmp_path, capsys):
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    assert CONTRACT_VERSION == "3"
    three_files(raw)
    assert main(["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(db)]) == 0
    assert versions(db) == [(LATEST, LATEST_NAME, "created", "3")]
    journal = by_file(raw)
    assert {f: (v.contract, [st for *_, st in v.tables]) for f, v in journal.items()} == {
        "360102/a.csv": ("3", ["accepted"]), "360102/b.csv": ("3", ["rejected"]), "360103/c.csv": ("3", ["rejected"])}
    assert not any(v.earlier for v in journal.values())
    capsys.readouterr()
    assert main(["upgrade", "--raw", str(raw), "--warehouse", str(db)]) == 0
    out = capsys.readouterr().out
    assert "up to date" in out and "contract version" not in out
    assert versions(db) == [(LATEST, LATEST_NAME, "created", "3")]  # nothing more recorded
    assert "Contract version 3." in render()


def test_a_warehouse_recorded_under_2_carries_forward_and_keeps_every_verdict(tmp_path, monkeypatch, capsys):
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    built_under_2(raw, db, monkeypatch)
    assert ecostat.run.receipt.CONTRACT_VERSION == ecostat.store.warehouse.CONTRACT_VERSION == "3"
    built = versions(db)
    assert built == [(LATEST, LATEST_NAME, "created", "2")]
    before = by_file(raw)
    assert {v.contract for v in before.values()} == {"2"}
    outcome = query(db, OUTCOME)
    assert [o[3] for o in outcome] == ["accepted", "rejected", "rejected"]

    capsys.readouterr()  # readers take it as it is: its schema is current, only its contract is older
    assert main(["query", "SELECT count(*) FROM submission_log", "--warehouse", str(db)]) == 0
    assert "3" in capsys.readouterr().out

    drop(raw, "360103/d.csv", [header("outfall_remediation"), row("outfall_remediation", unit="360103")])
    assert main(["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(db)]) == 0
    after = versions(db)
    assert after == [*built, (LATEST, LATEST_NAME, "found", "3")]  # rows added, none changed; same schema
    assert query(db, OUTCOME)[:3] == outcome  # nothing re-judged
    assert query(db, OUTCOME)[3][3] == "accepted"
    journal = by_file(raw)
    assert {f: journal[f] for f in before} == before  # the v2 verdicts as they were
    assert journal["360103/d.csv"].contract == "3"

    (raw / "archive" / verdicts.JOURNAL).unlink()  # lost: journaled from the warehouse by the version it held
    assert main(["upgrade", "--raw", str(raw), "--warehouse", str(db)]) == 0
    out = capsys.readouterr().out
    assert "journaled the verdicts of 4 processed receipts" in out and "contract version" not in out
    assert versions(db) == after
    again = by_file(raw)
    assert {f: v.contract for f, v in again.items()} == {
        "360102/a.csv": "2", "360102/b.csv": "2", "360103/c.csv": "2", "360103/d.csv": "3"}
    assert {f: again[f].tables for f in before} == {f: v.tables for f, v in before.items()}

    rebuilt = tmp_path / "rebuilt.duckdb"
    assert main(["rebuild", "--raw", str(raw), "--warehouse", str(db), "--to", str(rebuilt)]) == 0
    assert "no recorded verdict" not in capsys.readouterr().out
    assert query(rebuilt, OUTCOME) == query(db, OUTCOME)
    earlier = "rejected under submission contract v2 (now v3): it stays rejected"
    kept = query(rebuilt, EARLIER)
    assert sorted(f for f, _ in kept) == ["360102/b.csv", "360103/c.csv"]
    assert all(earlier in message for _, message in kept)
    assert query(rebuilt, "SELECT count(*) FROM validation_issues i JOIN submission_log l USING (submission_id) "
                          "WHERE l.file = '360103/c.csv'") == [(1,)]  # the file rejected whole is not read again


def test_the_upgrade_says_which_contract_the_warehouse_held(tmp_path, monkeypatch, capsys):
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    built_under_2(raw, db, monkeypatch)
    capsys.readouterr()
    assert main(["upgrade", "--warehouse", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"schema version {LATEST}: up to date" in out
    assert "contract version 2 → 3: the verdicts on record stand" in out
    assert main(["upgrade", "--warehouse", str(db)]) == 0
    assert "contract version" not in capsys.readouterr().out
    assert [v[2:] for v in versions(db)] == [("created", "2"), ("found", "3")]


def test_a_v2_rejection_of_a_file_this_code_accepts_stays_rejected(tmp_path):
    """A pending receipt (its run rolled back after the journal line, then ecostat was upgraded) that the code of
    contract 2 rejected is not re-judged by the code of contract 3, although it would accept it."""
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    drop(raw, "360102/a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    assert receive_inbox(raw) == 1
    (rec,) = receipts(raw / "archive")
    verdicts.write(raw / "archive", verdicts.Verdict(rec.receipt_id, "2", ((None, "outfall_remediation", "rejected"),)))
    (t,) = steps.run_plain(raw, db).tables
    assert (t.status, t.findings[0].rule_id) == ("rejected", "REJECTED_EARLIER")
    assert "(now v3)" in t.findings[0].message_en
    assert verdicts.read(raw / "archive")[rec.receipt_id].contract == "2"
