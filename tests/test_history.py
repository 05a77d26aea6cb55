"""Version history of slices and certification of a year's figures."""

from __future__ import annotations

import duckdb

from ecostat.cli import main
from ecostat.run import ingest as steps
from tests.forms_data import header, row
from tests.test_load import OUTFALL, drop


def served(db, figure="outfall.required"):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT value, certified FROM annual_figures WHERE year = 2024 AND scope = '360100' "
                           "AND figure = ?", [figure]).fetchone()


def test_history_lists_every_version_with_cell_level_diffs(tmp_path, capsys):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    drop(raw, "360102/v1.csv", [OUTFALL, row("outfall_remediation", required=10, completed=8),
                                row("outfall_remediation", water_body="抚河", required=3, completed=3)])
    drop(raw, "360102/v2.csv", [OUTFALL, row("outfall_remediation", required=10, completed=11)])
    drop(raw, "360102/v3.csv", [OUTFALL, row("outfall_remediation", required=12, completed=9)])
    drop(raw, "360102/other.csv", [OUTFALL, row("outfall_remediation", period="2024-06", required=5, completed=5)])
    steps.run_plain(raw, db)
    capsys.readouterr()
    assert main(["history", "--unit", "360102", "--form", "outfall_remediation", "--period", "2024",
                 "--warehouse", str(db)]) == 0
    out = capsys.readouterr().out
    lines = [line.split()[1] for line in out.splitlines() if line.strip().startswith("#")]
    assert lines == ["superseded", "rejected", "accepted"]  # the words of submission_log
    assert "ganjiang 需整治排口数: 10 → 12" in out and "ganjiang 已完成整治数: 8 → 9" in out
    assert "fuhe 行删除 removed" in out
    assert "2024-06" not in out  # another slice


def test_certified_figures_are_frozen_until_amended(tmp_path, capsys):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    wh = ["--warehouse", str(db)]
    drop(raw, "360102/a.csv", [OUTFALL, row("outfall_remediation", required=10, completed=8)])
    steps.run_plain(raw, db)
    assert main(["certify", "--year", "2024", "--by", "张三", "--with-pending", *wh]) == 0  # nothing approved
    assert served(db) == (10.0, True)
    assert main(["certify", "--year", "2024", "--by", "张三", *wh]) == 2  # already certified
    drop(raw, "360102/b.csv", [OUTFALL, row("outfall_remediation", required=12, completed=9)])
    summary = steps.run_plain(raw, db)
    assert summary.count("accepted") == 1
    assert served(db) == (10.0, True)  # held as a pending amendment
    capsys.readouterr()
    assert main(["amendments", *wh]) == 0
    pending = capsys.readouterr().out
    assert "outfall.required" in pending and "12" in pending
    assert main(["certify", "--year", "2024", "--amend", "--by", "李四", *wh]) == 2  # no reason
    assert main(["certify", "--year", "2024", "--amend", "--by", "李四", "--reason", "区县更正", "--with-pending",
                 *wh]) == 0
    assert served(db) == (12.0, True)
    with duckdb.connect(str(db), read_only=True) as con:
        versions = con.execute("SELECT version, value, is_current, certified_by FROM meta_certified_figures "
                               "WHERE figure = 'outfall.required' AND scope = '360100' ORDER BY version").fetchall()
        audit = con.execute("SELECT act, version, acted_by, reason, changed FROM meta_certification_audit "
                            "ORDER BY version").fetchall()
        pending_after = con.execute("SELECT count(*) FROM mart_pending_amendments").fetchone()
    assert versions == [(1, 10.0, False, "张三"), (2, 12.0, True, "李四")]
    assert audit[0][:3] == ("certify", 1, "张三") and audit[1][:4] == ("amend", 2, "李四", "区县更正")
    assert audit[1][4] > 0 and pending_after == (0,)


def test_uncertified_year_serves_live_values(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    drop(raw, "360102/a.csv", [header("outfall_remediation"), row("outfall_remediation", required=7, completed=7)])
    steps.run_plain(raw, db)
    assert served(db) == (7.0, False)
