"""Checking in a sandbox (issue 17): every received file is read and checked in a child process with hard
limits, mostly before the writer takes the write lock. A file that hangs its check gets one
FILE_TIME_BUDGET within its budget and a small constant, one that takes all the memory one finding, one
that kills its checking child twice is held; the other units' files load, and the writer holds the lock
only to apply checks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from benchmarks.hostile import far_cell_xls, far_cell_xlsx
from ecostat.run import ingest as steps
from tests.conftest import write_csv
from tests.forms_data import header, row

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def outfall(unit: str, period: str = "2024") -> list[list[object]]:
    return [header("outfall_remediation"), row("outfall_remediation", unit=unit, period=period)]


def statuses(db: Path) -> dict[str, list[str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        found: dict[str, list[str]] = {}
        for file, status in con.execute("SELECT file, status FROM submission_log ORDER BY file").fetchall():
            found.setdefault(file, []).append(status)
        for file, rule in con.execute("SELECT s.file, v.rule_id FROM validation_issues v JOIN submission_log s "
                                      "USING (submission_id) ORDER BY 1, 2").fetchall():
            found[file].append(rule)
    return found


def ingest(raw: Path, db: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """`ecostat ingest --no-prefect` in a child process: its result, its wall time and the peak resident memory
    (KB) of the largest of its processes (the writer and its checking children), as the kernel counted them."""
    code = ("import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
            "print('PEAK', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(p.returncode)\n")
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "ecostat.cli", "ingest", "--no-prefect",
                           "--raw", str(raw), "--warehouse", str(db)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "ECOSTAT_SETTINGS": str(raw / "none.toml"), **env}, timeout=600)
    peak = re.search(r"PEAK (\d+)", proc.stdout)
    return proc, time.monotonic() - began, int(peak[1]) if peak else 0


def lock_seconds(proc: subprocess.CompletedProcess[str]) -> float:
    found = re.search(r"write lock held ([\d.]+) s", proc.stdout)
    assert found, proc.stdout + proc.stderr[-2000:]
    return float(found[1])


def test_a_file_that_hangs_its_check_gets_one_finding_in_its_budget_and_the_lock_is_not_held_meanwhile(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    (tmp_path / "raw").mkdir()
    (raw / "none.toml").write_text("")
    write_csv(raw / "inbox" / "360103" / "first.csv", outfall("360103", "2023"))
    first, _, _ = ingest(raw, db)  # the warehouse exists: the next run's lock time is the files' alone
    assert first.returncode == 0, first.stderr[-2000:]
    write_csv(raw / "inbox" / "360102" / "slow.csv", outfall("360102"))
    write_csv(raw / "inbox" / "360103" / "ok.csv", outfall("360103"))
    budget = 6.0
    proc, wall, _ = ingest(raw, db, ECOSTAT_FAULT="stalling:slow.csv", ECOSTAT_MAX_FILE_SECONDS=str(budget))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert statuses(db) == {"360102/slow.csv": ["rejected", "FILE_TIME_BUDGET"], "360103/first.csv": ["accepted"],
                            "360103/ok.csv": ["accepted"]}
    assert wall < budget + 25  # the budget, the child's kill and the run's own start and work
    held = lock_seconds(proc)
    assert held < budget, f"the lock was held {held:.1f} s while a file took {budget} s to check"


def test_a_file_that_kills_its_checking_child_twice_is_held_in_the_same_run_and_the_rest_loads(tmp_path,
                                                                                                monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "poison.csv", outfall("360102"))
    write_csv(raw / "inbox" / "360103" / "ok.csv", outfall("360103"))
    monkeypatch.setenv("ECOSTAT_FAULT", "checking:poison.csv")  # kills the child checking it, never the writer
    monkeypatch.setenv("ECOSTAT_SETTINGS", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    summary = steps.run_plain(raw, db)
    assert {t.file: [t.status, *(f.rule_id for f in t.findings)] for t in summary.tables} == {
        "360102/poison.csv": ["rejected", "FILE_QUARANTINED"], "360103/ok.csv": ["accepted"]}


def test_far_cells_are_refused_before_allocation_with_every_process_under_a_bound(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    (tmp_path / "raw").mkdir()
    (raw / "none.toml").write_text("")
    far_cell_xlsx(raw / "inbox" / "360102" / "far.xlsx")
    far_cell_xls(raw / "inbox" / "360102" / "far.xls")
    assert (raw / "inbox" / "360102" / "far.xlsx").stat().st_size < 10_000
    write_csv(raw / "inbox" / "360103" / "ok.csv", outfall("360103"))
    proc, _, peak = ingest(raw, db)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert statuses(db) == {"360102/far.xls": ["rejected", "TABLE_TOO_LARGE"],
                            "360102/far.xlsx": ["rejected", "TABLE_TOO_LARGE"], "360103/ok.csv": ["accepted"]}
    assert 0 < peak < 600 * 1024, f"a process took {peak / 1024:.0f} MB"


def test_a_check_over_the_memory_limit_gets_one_finding_and_the_run_goes_on(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    (tmp_path / "raw").mkdir()
    (raw / "none.toml").write_text("")
    far_cell_xls(raw / "inbox" / "360102" / "far.xls", sheets=4)  # 4 × 16.7 M cells once the limit is lifted
    write_csv(raw / "inbox" / "360103" / "ok.csv", outfall("360103"))
    proc, _, peak = ingest(raw, db, ECOSTAT_MAX_CELLS=str(10**12), ECOSTAT_MAX_ROWS=str(10**9),
                           ECOSTAT_CHECK_MEMORY_MB="1200")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert statuses(db) == {"360102/far.xls": ["rejected", "FILE_MEMORY_LIMIT"], "360103/ok.csv": ["accepted"]}
    assert 400 * 1024 < peak < 1300 * 1024, f"a process took {peak / 1024:.0f} MB"  # the child's, counted


def test_the_files_after_one_over_the_memory_limit_in_the_same_child_load(tmp_path):
    """A child keeps the address space a file took (its allocator does not give it back): the files it was sent
    next went short of memory (FILE_UNREADABLE, "failed to launch worker thread") until it stopped itself."""
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    (tmp_path / "raw").mkdir()
    (raw / "none.toml").write_text("")
    far_cell_xls(raw / "inbox" / "360102" / "far.xls", sheets=4)
    for k in range(3):  # after far.xls, in receipt order, and in its one child
        write_csv(raw / "inbox" / "360102" / f"ok{k}.csv", outfall("360102", f"202{k}"))
    proc, _, _ = ingest(raw, db, ECOSTAT_MAX_CELLS=str(10**12), ECOSTAT_MAX_ROWS=str(10**9),
                        ECOSTAT_CHECK_MEMORY_MB="1200", ECOSTAT_CHECK_PROCESSES="1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert statuses(db) == {"360102/far.xls": ["rejected", "FILE_MEMORY_LIMIT"], "360102/ok0.csv": ["accepted"],
                            "360102/ok1.csv": ["accepted"], "360102/ok2.csv": ["accepted"]}


def test_ingest_exits_cleanly_with_its_code_run_after_run(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    (tmp_path / "raw").mkdir()
    (raw / "none.toml").write_text("")
    for k in range(3):  # the exit-time abort was intermittent: several runs, each with work to do
        write_csv(raw / "inbox" / "360103" / f"ok-{k}.csv", outfall("360103", f"202{k}"))
        proc, _, _ = ingest(raw, db)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "terminate called" not in proc.stderr and "Traceback" not in proc.stderr
        assert "run " in proc.stdout and "write lock held" in proc.stdout  # the summary was printed in full
    assert len(statuses(db)) == 3


def test_rebuild_checks_in_the_sandbox_too(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    (tmp_path / "raw").mkdir()
    (raw / "none.toml").write_text("")
    write_csv(raw / "inbox" / "360102" / "poison.csv", outfall("360102"))
    write_csv(raw / "inbox" / "360103" / "ok.csv", outfall("360103"))
    first, _, _ = ingest(raw, db)
    assert first.returncode == 0, first.stderr[-2000:]
    rebuilt = tmp_path / "rebuilt.duckdb"
    proc = subprocess.run([sys.executable, "-m", "ecostat.cli", "rebuild", "--raw", str(raw), "--warehouse", str(db),
                           "--to", str(rebuilt)], capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "ECOSTAT_FAULT": "checking:poison.csv"})  # kills its child, twice
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert statuses(rebuilt) == {"360102/poison.csv": ["rejected", "FILE_QUARANTINED"], "360103/ok.csv": ["accepted"]}


def test_a_big_check_is_handed_over_through_a_spool_file_that_is_removed(tmp_path):
    from benchmarks.loads import Scale, generate
    from ecostat.run.sandbox import SPOOL_ROWS

    rows = SPOOL_ROWS + 1_000
    load = generate(tmp_path / "load", Scale("spool", 2, (2024,), (1,), rows), workbooks=False)
    big = next(load.big.rglob("*.csv"))
    raw, db, spool = tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "tmp"
    (raw / "inbox" / big.parent.name).mkdir(parents=True)
    big.rename(raw / "inbox" / big.parent.name / big.name)
    spool.mkdir()
    env = {**os.environ, "ECOSTAT_REGISTRY_DIR": str(load.registries), "TMPDIR": str(spool),
           "ECOSTAT_MAX_FILE_MB": "100"}
    done = subprocess.run([sys.executable, "-m", "ecostat.cli", "ingest", "--no-prefect", "--raw", str(raw),
                           "--warehouse", str(db)], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fact_water_sections").fetchone() == (rows,)
    assert list(spool.iterdir()) == []  # the pool's spool folder and its file are gone


def test_a_plain_ingest_that_checks_nothing_leaves_no_forkserver_behind(tmp_path, monkeypatch):
    """`ecostat ingest --no-prefect` starts the checking children's forkserver first thing; a run with nothing
    to check stops it all the same, so that a later run in the same process (whose environment may differ:
    the forkserver's imports read it) starts its own."""
    from multiprocessing import forkserver

    from ecostat.cli import main

    raw = tmp_path / "raw"
    (raw / "inbox").mkdir(parents=True)
    monkeypatch.setenv("ECOSTAT_CHECK_PROCESSES", "1")
    assert main(["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(tmp_path / "wh" / "e.duckdb")]) == 0
    assert getattr(forkserver._forkserver, "_forkserver_pid", None) is None
    write_csv(raw / "inbox" / "360100" / "断面.csv", [header("water_sections"), row("water_sections")])
    assert main(["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(tmp_path / "wh" / "e.duckdb")]) == 0
    assert getattr(forkserver._forkserver, "_forkserver_pid", None) is None
    with duckdb.connect(str(tmp_path / "wh" / "e.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fact_water_sections").fetchone() == (1,)


def test_a_spooled_check_read_back_only_when_handed_over_and_a_damaged_one_holds_its_file(tmp_path):
    import datetime as dt
    import pickle

    from ecostat.check.staged import Staged
    from ecostat.intake.archive import Receipt
    from ecostat.run.sandbox import Spooled, _handed

    now = dt.datetime.now(dt.UTC)
    rec = Receipt("r1", "0" * 64, "360102/big.csv", "360102", 10, now, now)
    good, bad = tmp_path / "good.pickle", tmp_path / "bad.pickle"
    with open(good, "wb") as fh:
        pickle.dump(Staged("r1", [], None, []), fh)
    bad.write_bytes(b"not a pickle")
    assert _handed(rec, Spooled(good)) == ([], None) and not good.exists()  # read back and removed
    finding, failure = _handed(rec, Spooled(bad))
    assert finding.rule_id == "FILE_CHECK_FAILED" and finding.file == "360102/big.csv" and failure
