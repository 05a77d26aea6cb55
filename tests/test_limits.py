"""Files that would take all the memory or all the time (issue 12): each gets one finding, checked
before the work where its size can be known first, and the run goes on. Each runs `ecostat validate`
in a child process under a memory limit (``RLIMIT_AS``) or a time limit, as a hostile unit's file would
meet them in production."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.hostile import parquet_bomb, styled_empty_rows
from ecostat.run import ingest as steps
from ecostat.store.warehouse import connect
from tests.conftest import write_csv
from tests.forms_data import header, row

ROOT = Path(__file__).resolve().parent.parent
GB = 2**30
OUTFALL = [header("outfall_remediation"), row("outfall_remediation")]


def validate(path: Path, *, memory: int | None = None, seconds: float = 120,
             **env: str) -> subprocess.CompletedProcess[str]:
    """`ecostat validate` of one file in a child process, under an address-space limit if given."""
    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run([sys.executable, "-m", "ecostat.cli", "validate", str(path), "--unit", "360102",
                           "--warehouse", str(path.parent / "none.duckdb")], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **env}, timeout=seconds, preexec_fn=limit, check=False)


def findings(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines() if line.startswith(("ERROR", "WARNING"))]


def test_parquet_bomb_is_refused_from_its_metadata(tmp_path: Path) -> None:
    path = parquet_bomb(tmp_path / "bomb.parquet", 50_000_000)
    assert path.stat().st_size < 1024 * 1024
    proc = validate(path, memory=GB)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    (found,) = findings(proc.stdout)
    assert found[:2] == ["ERROR", "TABLE_TOO_LARGE"] and "bomb.parquet" in found[2]
    assert "50000001 行" in proc.stdout


def test_parquet_decompressed_size_is_a_setting(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({"备注": [f"{i}很长的说明" * 20_000 for i in range(20)]}), path, compression="zstd")
    proc = validate(path, ECOSTAT_MAX_UNZIPPED_MB="1")
    assert [f[:2] for f in findings(proc.stdout)] == [["ERROR", "FILE_UNPACKED_TOO_LARGE"]], proc.stdout


def test_wide_headerless_csv_is_checked_in_linear_time(tmp_path: Path) -> None:
    """200 KB of ``1,1,1…`` without a header row: minutes of form matching before (issue 12)."""
    path = tmp_path / "wide.csv"
    path.write_text(("," .join(["1"] * 50_000) + "\n") * 2, encoding="utf-8")
    proc = validate(path, seconds=60)
    assert proc.returncode == 1
    assert [f[:2] for f in findings(proc.stdout)] == [["ERROR", "TABLE_FORM_UNKNOWN"]], proc.stdout


def test_parquet_of_ten_thousand_columns_is_handled_linearly(tmp_path: Path) -> None:
    """10,000 unknown columns beside three known ones: building the header and matching the form stay
    linear (36 s before, issue 12)."""
    names = ["区县代码", "报告期", "所属水体", *(f"列{j}" for j in range(10_000))]
    values = ["360102", "2024", "赣江", *(["x"] * 10_000)]
    path = tmp_path / "cols.parquet"
    pq.write_table(pa.table({n: [v] * 20 for n, v in zip(names, values, strict=True)}), path)
    proc = validate(path, seconds=60)
    assert proc.returncode == 1, proc.stderr[-2000:]
    rules = [f[1] for f in findings(proc.stdout)]
    assert rules.count("COLUMN_UNKNOWN") == 10_000 and "COLUMN_MISSING" in rules


def test_styled_empty_rows_cost_little(tmp_path: Path) -> None:
    """Four sheets of 60,000 styled empty rows (a 6 MB file): gigabytes when every styled cell becomes an
    object (issue 12: a 21 MB one took 7.3 GB); under 1 GB of address space here, each sheet's table loads."""
    path = styled_empty_rows(tmp_path / "styled.xlsx", 60_000, OUTFALL)
    assert path.stat().st_size < 8 * 1024 * 1024
    proc = validate(path, memory=GB)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert findings(proc.stdout) == []
    assert proc.stdout.count("outfall_remediation — 通过 accepted") == 4


def test_a_sheet_stated_too_large_is_refused_before_parsing(tmp_path: Path) -> None:
    path = styled_empty_rows(tmp_path / "big.xlsx", 1000, OUTFALL, sheets=1)
    proc = validate(path, ECOSTAT_MAX_CELLS="5000")
    assert [f[:2] for f in findings(proc.stdout)] == [["ERROR", "TABLE_TOO_LARGE"]], proc.stdout


def test_time_budget_per_file_is_a_setting(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "slow.csv", [OUTFALL[0], *([OUTFALL[1]] * 20_000)])
    proc = validate(path, ECOSTAT_MAX_FILE_SECONDS="0.001")
    assert [f[:2] for f in findings(proc.stdout)] == [["ERROR", "FILE_TIME_BUDGET"]], proc.stdout
    assert "0.001 秒" in proc.stdout


def test_files_over_a_limit_do_not_stop_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = tmp_path / "raw" / "inbox" / "360102"
    inbox.mkdir(parents=True)
    parquet_bomb(inbox / "bomb.parquet", rows=10_000_000)
    write_csv(inbox / "good.csv", OUTFALL)
    outcomes = {o.file.split("/")[-1]: o for o in steps.run_plain(tmp_path / "raw", tmp_path / "w.duckdb").tables}
    assert outcomes["good.csv"].status == "accepted"
    assert [f.rule_id for f in outcomes["bomb.parquet"].findings] == ["TABLE_TOO_LARGE"]
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fact_outfall_remediation").fetchone() == (1,)
