"""The Great Expectations audit on small warehouses built here, its Data Docs in real headless chromium,
and its alert."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ecostat.audit import audit_and_alert, audit_year, run_audit, store_results
from ecostat.config import Settings
from tests.conftest import ingest_files, write_csv
from tests.forms_data import header, row
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


def test_audit_names_what_is_missing_duplicated_inconsistent_and_implausible(small):
    con, tmp = small
    result = run_audit(con, 2024, tmp / "docs")
    failed = {(c.suite, c.column): c for c in result.checks if not c.success}
    missing = failed[("completeness", "report")]
    assert missing.severity == "error"
    named = {m["report"] for m in missing.details["unexpected"]}
    assert {"360103 outfall_remediation", "360100 air_quality", "360124 rural_soil"} <= named
    assert "360102 outfall_remediation" not in named and len(named) == 5 * 10 + 2 - 1
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


def test_a_clean_year_passes_and_the_audited_year_is_the_latest_annual(small):
    con, _ = small
    result = run_audit(con, 2023, None)
    assert [c.suite for c in result.failed_errors] == ["completeness"]  # only 360102 reported
    assert not result.failed_warnings
    assert audit_year(con) == 2024


def test_audit_failure_alerts_once(small):
    con, _ = small
    with webhook() as hook:
        opts = Settings(operator_urls=[hook.url("ops")], backoff_seconds=0.01)
        _, sent = audit_and_alert(con, 2024, None, opts, run_id="r1")
        assert [(d.kind, d.delivered) for d in sent] == [("audit_failed", True)]
        msg = hook.received[0][1]["message"]
        assert msg.startswith("2024 年数据审计未通过") and "360103 outfall_remediation" in msg
        assert audit_and_alert(con, 2024, None, opts, run_id="r2")[1] == []  # the same failure: not again


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(browser: str, page: Path, profile: Path) -> str:
    out = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run",
                          f"--user-data-dir={profile}", "--allow-file-access-from-files", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=90, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_data_docs_render_a_failing_expectation_in_headless_chromium(small, tmp_path: Path):
    browser = chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required on CI (.ci/run installs it)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    con, _ = small
    docs = tmp_path / "docs"
    run_audit(con, 2024, docs)
    index = dump_dom(browser, docs / "index.html", tmp_path / "profile")
    links = re.findall(r"validations/completeness/[^'\"]+?\.html", index)
    assert links and "Failed" in index, index[:2000]
    page = dump_dom(browser, docs / links[0], tmp_path / "profile")
    assert "Failed" in page and "expect_column_values_to_be_in_set" not in page  # rendered, not raw config
    assert "360103 outfall_remediation" in page
