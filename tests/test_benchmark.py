"""The benchmark's smallest scale as a smoke test: every measure runs to its end and the loads give
the outcome they were generated for. No timing is asserted (performance comes from the benchmark's
own ratios, run by hand: see docs/benchmark.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.run import BIG_CSV, MEASURES

pytestmark = pytest.mark.benchmark
ROOT = Path(__file__).resolve().parent.parent


def test_small_scale_runs_every_measure(tmp_path: Path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.run", "--scale", "small", "--workers", "2",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    measures = {*MEASURES, "ingest_workers", "ingest_serial"}  # --workers: the flow with `--workers 2` and `1`
    assert set(results["measures"]) == measures
    assert {k: v["exit_code"] for k, v in results["measures"].items()} == dict.fromkeys(measures, 0)
    assert all(v["peak_rss_mb"] > 0 for v in results["measures"].values())
    assert {g["measure"] for g in results["goals"]} == {"ingest_no_prefect", "openpyxl_floor", "ingest_prefect",
                                                       "ingest_noop", "big_csv_no_prefect", "rebuild",
                                                       "ingest_workers", "office_csv_no_prefect", "check_only_2"}
    speedup = next(g for g in results["goals"] if g["measure"] == "check_only_2")
    assert speedup["at_least"] and speedup["goal"] == 1.8  # the sandbox's 2 processes against its 1
    for one in ("check_only_1", "check_only_2"):  # the checking alone, timed inside the process
        timed = results["measures"][one]
        assert 0 < timed["seconds"] < timed["process_seconds"] and 0 < timed["files"] <= results["load"]["workbooks"]
    fanned = [g for g in results["goals"] if g["measure"] == "ingest_workers"]
    assert [(g["baseline"], g["goal"]) for g in fanned] == [  # the goal against the serial flow; the rest shown
        ("throughput: ingest_serial ÷ it", 1.0), ("the same beyond ingest_noop", None),
        ("throughput: ingest_prefect ÷ it", None)]
    # the write lock's time, from the summary
    for run in ("ingest_no_prefect", "ingest_prefect", "ingest_workers", "ingest_serial"):
        assert 0 < results["measures"][run]["lock_seconds"] < results["measures"][run]["seconds"]
        assert results["measures"][run]["lock_per_file"] > 0
    load = results["load"]
    assert load["rejected"] > 0 and load["superseded"] > 0  # the load mixes bad tables and corrections
    assert {k: c["seen"] for k, c in results["checks"].items()} == {
        "ingest_no_prefect": {"accepted": load["accepted"], "rejected": load["rejected"],
                              "superseded": load["superseded"]},
        "rebuild": {"accepted": load["accepted"], "rejected": load["rejected"], "superseded": load["superseded"]},
        "ingest_prefect": {"accepted": load["accepted"], "rejected": load["rejected"],
                           "superseded": load["superseded"]},
        "big_csv_no_prefect": {"rows": load["csv_rows"]},
        "office_csv_no_prefect": {"rows": load["csv_rows"]},  # the same rows, GBK with CRLF and units
        "ingest_workers": {"accepted": load["accepted"], "rejected": load["rejected"],
                           "superseded": load["superseded"]},
        "ingest_serial": {"accepted": load["accepted"], "rejected": load["rejected"],
                          "superseded": load["superseded"]},
    }
    assert results["workers"]["requested"] == 2
    assert "ingest_no_prefect" in done.stdout and "met" in done.stdout


def test_only_the_big_csv(tmp_path: Path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.run", "--scale", "small", "--only", "big-csv",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert set(results["measures"]) == set(BIG_CSV) and results["load"]["workbooks"] == 0
    assert {g["baseline"] for g in results["goals"]} == {"duckdb_read_csv"}
    assert {k: c["seen"] for k, c in results["checks"].items()} == {
        "big_csv_no_prefect": {"rows": 2_000}, "office_csv_no_prefect": {"rows": 2_000}}
