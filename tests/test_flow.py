"""The Prefect flow itself, under one session-wide test harness."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import write_csv
from tests.forms_data import header, row
from tests.webhook import closed_port, webhook

pytestmark = pytest.mark.flow


def test_ingest_flow_loads_good_tables_and_logs_bad_ones(prefect_harness, tmp_path: Path):
    from flows.ingest import ingest

    raw, db = tmp_path / "raw", tmp_path / "ecostat.duckdb"
    write_csv(raw / "inbox" / "360102" / "ok.csv", [header("outfall_remediation"), row("outfall_remediation")])
    write_csv(raw / "inbox" / "360102" / "bad.csv",
              [header("outfall_remediation"), row("outfall_remediation", completed=99)])
    state = ingest(raw=raw, warehouse=db, return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert (summary.files, summary.count("accepted"), summary.count("rejected")) == (2, 1, 1)
    outbox = raw / "outbox" / "360102"
    assert sorted(p.name for p in outbox.iterdir()) == [
        "bad.csv.feedback.md", "bad.csv.feedback.xlsx", "ok.csv.feedback.md", "ok.csv.feedback.xlsx"]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT value FROM annual_figures WHERE figure = 'outfall.required' "
                           "AND scope = '360100'").fetchall() == [(10.0,)]
        assert con.execute("SELECT tables_accepted, tables_rejected, figures_changed FROM meta_ingest_runs"
                           ).fetchall() == [(1, 1, summary.figures_changed)]
    again = ingest(raw=raw, warehouse=db)
    assert (again.files, again.tables, again.figures_changed) == (0, [], None)  # nothing new: not refreshed
    assert "nothing new: figures, audit and site skipped" in again.text()


def test_flow_delivers_after_publishing_retries_a_dead_endpoint_and_alerts_a_failed_run(
        prefect_harness, tmp_path: Path, monkeypatch):
    from flows.ingest import ingest

    raw, db = tmp_path / "raw", tmp_path / "ecostat.duckdb"
    write_csv(raw / "inbox" / "360103" / "bad.csv",
              [header("outfall_remediation"), row("outfall_remediation", unit="360103", completed=99)])
    port = closed_port()
    settings = tmp_path / "ecostat.toml"
    settings.write_text(f'[alerts]\noperator_urls = ["json://127.0.0.1:{port}/ops"]\nattempts = 1\n'
                        "retry_after_minutes = 0\n", encoding="utf-8")
    monkeypatch.setenv("ECOSTAT_SETTINGS", str(settings))
    first = ingest(raw=raw, warehouse=db)
    assert [(d.kind, d.delivered) for d in first.deliveries] == [("rejected", False)]
    with webhook(port) as hook:  # the endpoint is back: the next run delivers, once
        second = ingest(raw=raw, warehouse=db)
        assert [(d.kind, d.delivered, d.attempts) for d in second.deliveries] == [("rejected", True, 2)]
        assert "西湖区（360103）" in hook.received[0][1]["message"]
        assert ingest(raw=raw, warehouse=db).deliveries == []
        state = ingest(raw=raw, warehouse=tmp_path, return_state=True)  # a folder: the warehouse cannot open
        assert state.is_failed()
        assert [p for p, _ in hook.received] == ["/ops", "/ops"]
        assert "入库运行失败" in hook.received[1][1]["title"]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT status, attempts FROM alerts").fetchall() == [("delivered", 2)]


def test_the_flows_audit_runs_after_publishing_and_its_failure_is_delivered_once(
        prefect_harness, tmp_path: Path, monkeypatch):
    from flows.ingest import ingest

    raw, db = tmp_path / "raw", tmp_path / "ecostat.duckdb"
    outfalls = [header("outfall_remediation"), row("outfall_remediation")]
    write_csv(raw / "inbox" / "360102" / "ok.csv", outfalls)
    with webhook() as hook:
        settings = tmp_path / "ecostat.toml"
        settings.write_text(f'[alerts]\noperator_urls = ["{hook.url("ops")}"]\n', encoding="utf-8")
        monkeypatch.setenv("ECOSTAT_SETTINGS", str(settings))
        first = ingest(raw=raw, warehouse=db)  # most units have not reported: the audit fails
        assert [(d.kind, d.delivered) for d in first.deliveries] == [("audit_failed", True)]
        assert "write lock held" in first.text() and "per file" in first.text()
        write_csv(raw / "inbox" / "360102" / "again.csv", outfalls)  # a duplicate: audited again, same failure
        assert ingest(raw=raw, warehouse=db).deliveries == []
        assert [p for p, _ in hook.received] == ["/ops"] and "数据审计未通过" in hook.received[0][1]["title"]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT kind, status FROM alerts").fetchall() == [("audit_failed", "delivered")]
        assert con.execute("SELECT count(*) > 0 FROM meta_audit_results WHERE run_id = ?",
                           [first.run_id]).fetchone() == (True,)  # journaled, then folded by the next writer
