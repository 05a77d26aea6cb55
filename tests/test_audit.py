"""The Great Expectations audit on small warehouses built here, its Data Docs in real headless chromium,
and its alert."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ecostat.contract.operator_settings import Settings
from ecostat.notify import audit
from ecostat.notify.audit import audit_and_alert, audit_year, run_audit, store_results
from tests.conftest import ingest_files, write_csv
from tests.forms_data import header, row
from tests.programs import chromium_or_skip

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


def test_a_crashed_audit_alerts_the_operator_with_the_error(small, monkeypatch, caplog):
    con, tmp = small
    opts = Settings(operator_urls=["json://127.0.0.1:9/ops"])

    def crash(*args, **kw):
        raise KeyError("expectation_suite")

    monkeypatch.setattr(audit, "run_audit", crash)
    assert audit.audit_after_run(con, tmp / "w.duckdb", opts, "run-crash") is None
    (title, body), = con.execute("SELECT title, body FROM alerts WHERE alert_key = 'audit_crashed:run-crash'"
                                 ).fetchall()
    assert "数据审计出错" in title and "KeyError: 'expectation_suite'" in body
    assert "Traceback" in caplog.text


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
