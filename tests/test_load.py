"""Loads against a real DuckDB file: slice replacement, final reports, rejections, duplicates,
cross-period rules and lineage."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest

from ecostat.run import ingest as steps
from ecostat.run.summary import RunSummary
from tests.conftest import write_csv, write_xlsx
from tests.forms_data import header, row

_clock = [1_700_000_000]


def drop(raw: Path, name: str, rows: list[list[object]], **kw: object) -> Path:
    """Put a file into the inbox, each one newer than the last."""
    path = raw / "inbox" / name
    if name.endswith(".xlsx"):
        write_xlsx(path, {"表1": rows})
    else:
        write_csv(path, rows, **kw)
    _clock[0] += 60
    os.utime(path, (_clock[0], _clock[0]))
    return path


def ingest(raw: Path, db: Path) -> RunSummary:
    """One ingest run through the plain steps (the flow runs the same ones)."""
    return steps.run_plain(raw, db)


def figures(db: Path, year: int = 2024) -> dict[tuple[str, str | None], float]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT figure, dimension, value FROM annual_figures WHERE year = ? AND scope = '360100'",
                           [year]).fetchall()
    return {(f, d): v for f, d, v in rows}


def query(db: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


OUTFALL = header("outfall_remediation")


@pytest.fixture
def env(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"


def test_later_table_replaces_the_whole_slice_and_keeps_history(env):
    raw, db = env
    drop(raw, "360102/a.csv", [OUTFALL, row("outfall_remediation", water_body="赣江", required=10, completed=8),
                               row("outfall_remediation", water_body="抚河", required=5, completed=5)])
    drop(raw, "360103/c.csv", [OUTFALL, row("outfall_remediation", unit="360103", required=7, completed=7)])
    first = ingest(raw, db)
    assert first.count("accepted") == 2
    assert figures(db)[("outfall.required", None)] == 22
    drop(raw, "360102/b.xlsx", [OUTFALL, row("outfall_remediation", water_body="赣江", required=12, completed=9)])
    second = ingest(raw, db)
    (b,) = second.tables
    assert b.status == "accepted" and b.replaced == [first.tables[0].submission_id]
    assert figures(db)[("outfall.required", None)] == 19  # 12 (new 360102 slice) + 7 (360103 untouched)
    assert query(db, "SELECT status FROM submission_log ORDER BY submission_id") == [
        ("superseded",), ("accepted",), ("accepted",)]
    history = query(db, "SELECT file, water_body, is_current, superseded_by FROM fact_outfall_remediation "
                        "WHERE unit_code = '360102' ORDER BY submission_id, source_row")
    assert history == [("360102/a.csv", "ganjiang", False, b.submission_id),
                       ("360102/a.csv", "fuhe", False, b.submission_id),
                       ("360102/b.xlsx", "ganjiang", True, None)]
    assert second.figures_changed >= 1


def test_final_report_is_the_annual_else_the_latest_monthly(env):
    raw, db = env
    drop(raw, "360102/annual.csv", [OUTFALL, row("outfall_remediation", required=10, completed=8)])
    drop(raw, "360102/june.csv", [OUTFALL, row("outfall_remediation", period="2024-06", required=6, completed=2)])
    drop(raw, "360103/june.csv", [OUTFALL, row("outfall_remediation", unit="360103", period="2024年6月",
                                               required=3, completed=1)])
    drop(raw, "360103/nov.csv", [OUTFALL, row("outfall_remediation", unit="360103", period="202411",
                                              required=4, completed=4)])
    ingest(raw, db)
    assert figures(db)[("outfall.required", None)] == 14
    assert figures(db)[("outfall.completed", None)] == 12
    assert query(db, "SELECT unit_code, period FROM core_final_reports ORDER BY unit_code") == [
        ("360102", "2024"), ("360103", "2024-11")]


def test_rejected_table_changes_no_figure_and_names_its_cell(env):
    raw, db = env
    drop(raw, "360102/good.csv", [OUTFALL, row("outfall_remediation", required=10, completed=8)])
    ingest(raw, db)
    before = figures(db)
    facts = query(db, "SELECT count(*) FROM fact_outfall_remediation")
    drop(raw, "360102/bad.xlsx", [OUTFALL, row("outfall_remediation", required=10, completed=12)])
    summary = ingest(raw, db)
    assert [t.status for t in summary.tables] == ["rejected"] and summary.figures_changed == 0
    assert figures(db) == before
    assert query(db, "SELECT count(*) FROM fact_outfall_remediation") == facts
    assert query(db, "SELECT file, sheet, row_number, column_letter, header, value, rule_id, severity "
                     "FROM validation_issues") == [
        ("360102/bad.xlsx", "表1", 2, "E", "已完成整治数", "12", "ROW_NOT_ABOVE", "error")]


def test_same_bytes_twice_change_nothing(env):
    raw, db = env
    path = drop(raw, "360102/a.csv", [OUTFALL, row("outfall_remediation")])
    data = path.read_bytes()
    ingest(raw, db)
    assert not path.exists()  # it left the inbox for the archive
    log = query(db, "SELECT * FROM submission_log")
    again = ingest(raw, db)
    assert again.tables == [] and query(db, "SELECT * FROM submission_log") == log
    path.write_bytes(data)
    (raw / "inbox" / "360102" / "a-copy.csv").write_bytes(data)
    dup = ingest(raw, db)
    assert [t.status for t in dup.tables] == ["duplicate", "duplicate"] and dup.figures_changed == 0
    assert query(db, "SELECT count(*) FROM fact_outfall_remediation") == [(1,)]
    sha = hashlib.sha256(data).hexdigest()
    assert [p.name for p in (raw / "archive" / "objects").rglob("*") if p.is_file()] == [sha]
    assert query(db, "SELECT DISTINCT sha256 FROM submission_log") == [(sha,)]
    assert query(db, "SELECT sha256, source_row, sheet FROM fact_outfall_remediation") == [(sha, 2, None)]


def test_files_outside_a_unit_folder_are_rejected(env):
    raw, db = env
    drop(raw, "loose.csv", [OUTFALL, row("outfall_remediation")])
    drop(raw, "999999/x.csv", [OUTFALL, row("outfall_remediation", required=11)])
    drop(raw, "东湖区/x.csv", [OUTFALL, row("outfall_remediation", required=12)])
    summary = ingest(raw, db)
    assert [(t.file, t.status, t.findings[0].rule_id) for t in summary.tables] == [
        ("loose.csv", "rejected", "AUTH_FOLDER"), ("999999/x.csv", "rejected", "AUTH_FOLDER"),
        ("东湖区/x.csv", "rejected", "AUTH_FOLDER")]
    assert query(db, "SELECT file, sheet, form, submitter, status FROM submission_log ORDER BY submission_id")[0] == (
        "loose.csv", None, None, None, "rejected")


def test_completed_may_not_fall_and_a_falling_required_warns(env):
    raw, db = env
    drop(raw, "360102/2023.csv", [OUTFALL, row("outfall_remediation", period="2023", required=10, completed=8)])
    drop(raw, "360102/fall.csv", [OUTFALL, row("outfall_remediation", period="2024-06", required=10, completed=7)])
    drop(raw, "360102/warn.csv", [OUTFALL, row("outfall_remediation", required=9, completed=9)])
    summary = ingest(raw, db)
    fall, warn = summary.tables[1], summary.tables[2]
    assert (fall.status, [(f.rule_id, f.row, f.column) for f in fall.findings]) == (
        "rejected", [("PERIOD_FALL", 2, "E")])
    assert "2023" in fall.findings[0].message_zh
    assert (warn.status, [(f.rule_id, f.severity) for f in warn.findings]) == (
        "accepted", [("PERIOD_FALL_WARNING", "warning")])


def test_cumulative_villages_chain_across_years(env):
    raw, db = env
    rural = header("rural_soil")
    drop(raw, "360102/2023.csv", [rural, row("rural_soil", period="2023", villages_new=5, villages_cumulative=45)])
    drop(raw, "360102/2024-bad.csv", [rural, row("rural_soil", villages_new=5, villages_cumulative=51)])
    drop(raw, "360102/2024-good.csv", [rural, row("rural_soil", villages_new=5, villages_cumulative=50)])
    summary = ingest(raw, db)
    assert [t.status for t in summary.tables] == ["accepted", "rejected", "accepted"]
    (f,) = summary.tables[1].findings
    assert (f.rule_id, f.row, f.column) == ("PERIOD_CUMULATIVE_CHAIN", 2, "D")
    assert figures(db)[("rural.villages_cumulative", None)] == 50


def test_gbk_csv_with_money_in_yuan_loads_in_wan_yuan(env):
    raw, db = env
    enf = header("enforcement")
    enf[3] = "罚款金额(元)"
    drop(raw, "360102/执法.csv", [enf, row("enforcement", fines="1,250,000")], encoding="gbk")
    summary = ingest(raw, db)
    assert summary.count("accepted") == 1
    assert figures(db)[("enforcement.fines", None)] == pytest.approx(125.0)


def test_rejected_bytes_are_checked_again_when_sent_again(env):
    raw, db = env
    path = drop(raw, "stray.csv", [OUTFALL, row("outfall_remediation")])
    data = path.read_bytes()
    assert [t.findings[0].rule_id for t in ingest(raw, db).tables] == ["AUTH_FOLDER"]
    (raw / "inbox" / "360102").mkdir()
    (raw / "inbox" / "360102" / "stray.csv").write_bytes(data)  # the same bytes, now from the unit's folder
    assert [t.status for t in ingest(raw, db).tables] == ["accepted"]
