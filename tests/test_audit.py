"""The Great Expectations audit on small warehouses built here, its Data Docs in real headless chromium,
and its alert."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ecostat.contract.operator_settings import Settings
from ecostat.notify import audit, audit_journal
from ecostat.notify.audit import AuditResult, audit_and_alert, audit_year, run_audit, store_results
from ecostat.notify.audit_journal import audits_path
from ecostat.notify.delivery import journal_path
from ecostat.run import ingest as steps
from ecostat.run.summary import RunSummary
from ecostat.store.warehouse import connect
from ecostat.store.writer import writing
from tests.conftest import ingest_files, write_csv
from tests.forms_data import header, row
from tests.programs import chromium_or_skip
from tests.webhook import webhook

OUTFALL = "fact_outfall_remediation"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    """A warehouse where only 360102 reported outfalls for 2023 and 2024, then tampered with directly
    (bypassing validation): a duplicated current row, completed above required, an implausible value."""
    tmp = tmp_path_factory.mktemp("audit")
    inbox = tmp / "raw" / "inbox" / "360102"
    write_csv(inbox / "a.csv", [header("outfall_remediation"), row("outfall_remediation", period="2023", required=4,
                                                                   completed=4)])
    write_csv(inbox / "b.csv", [header("outfall_remediation"), row("outfall_remediation")])
    con, _, tables = ingest_files(tmp / "raw", tmp / "w.duckdb")
    assert [t.status for t in tables] == ["accepted", "accepted"]
    con.execute(f"INSERT INTO {OUTFALL} SELECT * REPLACE (900 AS required, 950 AS completed) FROM {OUTFALL} "
                "WHERE year = 2024")
    yield con, tmp
    con.close()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse where 360102 reported its outfalls for 2024, closed (as a run leaves it published)."""
    tmp = tmp_path_factory.mktemp("published")
    write_csv(tmp / "raw" / "inbox" / "360102" / "a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    con, _, _ = ingest_files(tmp / "raw", tmp / "w.duckdb")
    con.close()
    return tmp / "w.duckdb"


def test_audit_names_what_is_missing_duplicated_inconsistent_and_implausible(small):
    con, tmp = small
    result = run_audit(con, 2024, tmp / "docs")
    failed = {(c.suite, c.column): c for c in result.checks if not c.success}
    missing = failed[("completeness", "report")]
    assert missing.severity == "error"
    named = {m["report"] for m in missing.details["unexpected"]}
    assert {"360103 outfall_remediation", "360100 air_quality", "360124 rural_soil"} <= named
    assert {"360100 radiation", "360121 drinking_water", "360105 soil_waste"} <= named  # contract v2's forms
    # every district, county and Wanli: 7 forms; the city: 6; the counties: drinking water; 360102's outfalls sent
    assert "360102 outfall_remediation" not in named and len(named) == 7 * 10 + 6 + 3 - 1
    assert failed[("current_rows", "row_key")].details["unexpected"][0]["row_key"].startswith(
        "outfall_remediation|360102|2024|")
    pair = failed[("city_figure_pairs", "larger,smaller")]
    assert pair.severity == "error" and pair.details["unexpected"][0]["check"] == "outfall"
    for col in ("required", "completed"):
        bound = failed[("district_outfall_remediation", col)]
        assert bound.severity == "warning" and bound.details["unexpected"][0]["unit_code"] == "360102"
        assert failed[("jumps_outfall_remediation", f"{col}_jump_pct")].severity == "warning"
    assert ("current_slices", "slice_key") not in failed  # one submission per slice
    assert [u["figure"] for u in failed[("city_figures", "rate")].details["unexpected"]] == [
        "outfall.completion_rate"]  # 958 of 910
    assert ("city_figures", "count_fraction") not in failed
    assert result.failed_errors and "360103 outfall_remediation" in result.text()
    store_results(con, result, "run-x")
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE NOT success), any_value(run_id) "
                       "FROM meta_audit_results WHERE audit_id = ?", [result.audit_id]).fetchone() == (
        len(result.checks), len(failed), "run-x")
    assert (tmp / "docs" / "index.html").is_file()


def test_an_untampered_year_fails_only_for_the_units_that_did_not_report(small):
    con, _ = small
    result = run_audit(con, 2023, None)
    assert [c.suite for c in result.failed_errors] == ["completeness"]  # only 360102 reported
    assert not result.failed_warnings
    assert audit_year(con) == 2024


def test_audit_failure_is_alerted_once(small):
    con, _ = small
    opts = Settings(operator_urls=["json://127.0.0.1:9/ops"], unit_urls={"360102": ["json://127.0.0.1:9/unit"]})
    audit_and_alert(con, 2024, None, opts, run_id="r1")
    audit_and_alert(con, 2024, None, opts, run_id="r2")  # the same failure: not again
    (kind, body, status), = con.execute("SELECT kind, body, status FROM alerts WHERE alert_key LIKE 'audit_%'"
                                        ).fetchall()  # the operator only
    assert (kind, status) == ("audit_failed", "pending")
    assert body.startswith("2024 年数据审计未通过") and "360103 outfall_remediation" in body


def test_a_crashed_audit_alerts_the_operator_with_the_error(published, monkeypatch, caplog):
    opts = Settings(operator_urls=["json://127.0.0.1:9/ops"])

    def crash(*args, **kw):
        raise KeyError("expectation_suite")

    monkeypatch.setattr(audit_journal, "run_audit", crash)
    assert audit_journal.audit_published(published, opts, "run-crash") is None
    (line,) = [json.loads(t) for t in journal_path(published).read_text(encoding="utf-8").splitlines()
               if "audit_crashed:run-crash" in t]  # journaled for the delivery after it
    assert "数据审计出错" in line["alert"]["title"] and "KeyError: 'expectation_suite'" in line["alert"]["body"]
    assert "Traceback" in caplog.text
    assert not audits_path(published).exists()  # no verdict: no results


def audited_run(raw: Path, db: Path) -> tuple[RunSummary, AuditResult | None]:
    """An ingest run through the plain steps, with the flow's audit."""
    return steps.perform(steps.Run.start(raw, db), dataclasses.replace(steps.PLAIN, audit=steps.Run.audit))


def settings_for(tmp: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    path = tmp / "ecostat.toml"
    path.write_text(f'[alerts]\noperator_urls = ["{url}"]\nbackoff_seconds = 0.01\ntimeout_seconds = 2\n',
                    encoding="utf-8")
    monkeypatch.setenv("ECOSTAT_SETTINGS", str(path))
    monkeypatch.delenv("ECOSTAT_ALERT_URLS", raising=False)


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_the_runs_audit_lets_another_writer_commit_and_its_alert_is_delivered_once(tmp_path, monkeypatch):
    """The audit runs on the published warehouse after the write lock is released: another writer takes the
    lock at once and commits while it runs; the failure alert goes out with the same run's delivery, once; the
    results are on the status site at once and in ``meta_audit_results`` after the next writer."""
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    outfalls = [header("outfall_remediation"), row("outfall_remediation")]
    write_csv(raw / "inbox" / "360102" / "a.csv", outfalls)

    def while_another_writer_commits(con, year, docs):
        with writing(db, wait_seconds=0) as work, connect(work, create=True) as other:  # WarehouseBusy if held
            other.execute("INSERT INTO meta_ingest_runs (run_id, started_at) SELECT 'other-writer-' || count(*), "
                          "now() FROM meta_ingest_runs")
        return audit.run_audit(con, year, docs)

    monkeypatch.setattr(audit_journal, "run_audit", while_another_writer_commits)
    with webhook() as hook:
        settings_for(tmp_path, monkeypatch, hook.url("ops"))
        first, audited = audited_run(raw, db)
        assert audited is not None and audited.failed_errors  # most units have not reported
        assert [(d.kind, d.delivered) for d in first.deliveries] == [("audit_failed", True)]
        assert rows(db, "SELECT count(*) FROM meta_ingest_runs WHERE run_id LIKE 'other-writer-%'") == [(1,)]
        assert rows(db, "SELECT count(*) FROM meta_audit_results") == [(0,)]  # journaled beside it
        index = (db.parent / "site" / "index.html").read_text(encoding="utf-8")
        assert f"{audited.year}年：{len(audited.checks)}项" in index  # the run's audit, read from the journal
        assert (db.parent / "docs" / "audit.html").is_file()

        write_csv(raw / "inbox" / "360102" / "again.csv", outfalls)  # a duplicate: audited again, same failure
        second, again = audited_run(raw, db)
        assert again is not None and again.failed_errors and second.deliveries == []
        assert [p for p, _ in hook.received] == ["/ops"] and "数据审计未通过" in hook.received[0][1]["title"]
    assert rows(db, "SELECT count(*), any_value(year) FROM meta_audit_results WHERE run_id = ?",
                [first.run_id]) == [(len(audited.checks), audited.year)]  # folded by the second run's writer
    assert rows(db, "SELECT kind, status FROM alerts") == [("audit_failed", "delivered")]
    assert [json.loads(t)["run_id"] for t in audits_path(db).read_text(encoding="utf-8").splitlines()] == [
        second.run_id]  # the first audit's line, folded and published, dropped


def test_a_run_killed_after_journaling_its_audit_loses_nothing_and_sends_nothing_twice(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    code = ("import sys; from pathlib import Path; from tests.test_audit import audited_run; "
            "audited_run(Path(sys.argv[1]), Path(sys.argv[2]))")
    with webhook() as hook:
        settings_for(tmp_path, monkeypatch, hook.url("ops"))
        killed = subprocess.run([sys.executable, "-c", code, str(raw), str(db)], capture_output=True, text=True,
                                env={**os.environ, "ECOSTAT_FAULT": "audited"}, timeout=600, check=False)
        assert killed.returncode == -9, killed.stderr[-3000:]  # between the audit journal and the delivery's
        (line,) = [json.loads(t) for t in audits_path(db).read_text(encoding="utf-8").splitlines()]
        assert [p["key"].split(":")[0] for p in line["pending"]] == ["audit_failed"]  # its alert, with it
        assert not journal_path(db).exists() and hook.received == []
        steps.run_plain(raw, db)  # the next writer records the audit and its alert; its delivery sends it
        steps.run_plain(raw, db)
        assert [p for p, _ in hook.received] == ["/ops"] and "数据审计未通过" in hook.received[0][1]["title"]
    assert rows(db, "SELECT count(*) FROM meta_audit_results WHERE run_id = ?", [line["run_id"]]) == [
        (len(line["checks"]),)]
    assert rows(db, "SELECT kind, status FROM alerts") == [("audit_failed", "delivered")]


def dump_dom(browser: str, page: Path, profile: Path) -> str:
    out = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run",
                          f"--user-data-dir={profile}", "--allow-file-access-from-files", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=90, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_data_docs_render_a_failing_expectation_in_headless_chromium(small, tmp_path: Path):
    browser = chromium_or_skip()
    con, _ = small
    docs = tmp_path / "docs"
    run_audit(con, 2024, docs)
    index = dump_dom(browser, docs / "index.html", tmp_path / "profile")
    links = re.findall(r"validations/completeness/[^'\"]+?\.html", index)
    assert links and "Failed" in index, index[:2000]
    page = dump_dom(browser, docs / links[0], tmp_path / "profile")
    assert "Failed" in page and "expect_column_values_to_be_in_set" not in page  # rendered, not raw config
    assert "360103 outfall_remediation" in page
