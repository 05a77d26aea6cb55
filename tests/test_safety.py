"""Nothing lost, nothing double-counted: archive, rebuild, crash safety (real kill -9),
concurrent readers and writers, and path and SQL tricks."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from ecostat.check import files as checking
from ecostat.cli import main
from ecostat.common.faults import POINTS
from ecostat.intake import archive
from ecostat.run import ingest as steps
from ecostat.store.writer import WarehouseBusy, writing
from tests.conftest import prefect_env, write_csv, write_xlsx
from tests.forms_data import header, row

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "raw" / "samples"
SUBSET = ["360100", "360102", "360121", "stray.csv"]  # multi-sheet workbooks, a banner, a monthly, a reject


def copy_samples(raw: Path, parts: list[str] | None = None) -> None:
    inbox = raw / "inbox"
    for part in parts or [p.name for p in SAMPLES.iterdir()]:
        src = SAMPLES / part
        if src.is_dir():
            shutil.copytree(src, inbox / part)
        else:
            inbox.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, inbox / part)


def db_state(db: Path) -> dict[str, object]:
    """What a reader of the published warehouse sees, that must be identical between two warehouses built
    from the same submissions."""
    with duckdb.connect(str(db), read_only=True) as con:
        figures = con.execute("""SELECT year, scope, figure, dimension, round(value, 9), round(change, 9)
                                 FROM annual_figures ORDER BY ALL""").fetchall()
        log = Counter(con.execute("SELECT file, sheet, form, status, errors, warnings, rows_loaded "
                                  "FROM submission_log").fetchall())
        facts = con.execute("SELECT count(*) FROM fact_enforcement").fetchone()
        receipts = con.execute("SELECT count(*), count(DISTINCT receipt_id) FROM meta_received_files").fetchone()
    return {"figures": figures, "log": log, "facts": facts, "receipts": receipts}


def state(db: Path) -> dict[str, object]:
    """The warehouse as readers see it, and the feedback files written."""
    outbox = sorted(p.relative_to(db.parent).as_posix() for p in (db.parent / "raw" / "outbox").rglob("*.*"))
    return {**db_state(db), "feedback": outbox}


def cli(*args: str, fault: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(env or os.environ)
    env.pop("ECOSTAT_FAULT", None)
    if fault:
        env["ECOSTAT_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "ecostat.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def watched(args: list[str], db: Path, fault: str, env: dict[str, str] | None = None) -> tuple[int, str, list]:
    """Run ``ecostat`` with a fault while a reader keeps opening the published warehouse; returns the exit
    code, stderr and every state the reader saw."""
    env = {**(env or os.environ), "ECOSTAT_FAULT": fault}
    proc = subprocess.Popen([sys.executable, "-m", "ecostat.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    while proc.poll() is None:
        if db.exists():
            seen.append(db_state(db))
        time.sleep(0.05)
    _out, err = proc.communicate(timeout=60)
    if db.exists():
        seen.append(db_state(db))
    return proc.returncode, err, seen


def test_archive_keeps_every_received_byte_once(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    copy_samples(raw, ["360102"])
    originals = {p.relative_to(raw / "inbox").as_posix(): p.read_bytes() for p in (raw / "inbox").rglob("*.*")}
    litter = [raw / "inbox" / "360102" / n for n in ("~$东湖区2024年度生态环境报表.xlsx", ".DS_Store", "a.xlsx.part")]
    for p in litter:
        p.write_bytes(b"x")
    steps.run_plain(raw, db)
    assert sorted((raw / "inbox").rglob("*")) == sorted([raw / "inbox" / "360102", *litter])
    manifest = archive.receipts(raw / "archive")
    assert {r.file: r.submitter for r in manifest} == dict.fromkeys(originals, "360102")
    for r in manifest:
        assert archive.object_path(raw / "archive", r.sha256).read_bytes() == originals[r.file]
        assert r.size == len(originals[r.file]) and r.received_at.tzinfo is not None
    # the same bytes again: one archive object, a duplicate row
    _name, data = next(iter(originals.items()))
    (raw / "inbox" / "360102" / "again.xlsx").write_bytes(data)
    summary = steps.run_plain(raw, db)
    assert [t.status for t in summary.tables] == ["duplicate"]
    objects = [p for p in (raw / "archive" / "objects").rglob("*") if p.is_file()]
    assert len(objects) == len(originals)


def test_rebuild_from_the_archive_alone_gives_identical_figures_and_statuses(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    copy_samples(raw)
    steps.run_plain(raw, db)
    rebuilt = tmp_path / "rebuilt.duckdb"
    live = ["--raw", str(raw), "--warehouse", str(db)]
    assert main(["rebuild", *live, "--to", str(rebuilt)]) == 0
    assert state(rebuilt) == state(db)
    assert len(state(db)["figures"]) > 500
    assert main(["rebuild", *live, "--to", str(rebuilt)]) == 2  # never overwrites
    assert main(["rebuild", *live, "--to", str(db)]) == 2  # nor the live warehouse
    again = tmp_path / "again.duckdb"  # a second rebuild counts no attempt of the first: nothing quarantined
    assert main(["rebuild", *live, "--to", str(again)]) == 0
    assert state(again) == state(db)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    raw = tmp_path_factory.mktemp("ref") / "raw"
    copy_samples(raw, SUBSET)
    db = raw.parent / "w.duckdb"
    steps.run_plain(raw, db)
    result = state(db)
    assert len(result["feedback"]) > 10
    return result


def _readers_saw_only_complete_states(seen: list, reference: dict) -> None:
    complete = {k: v for k, v in reference.items() if k != "feedback"}
    assert all(s == complete for s in seen), "a reader saw a partial warehouse"


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_at_any_stage_then_rerun_completes_exactly_once(tmp_path, point, reference):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    copy_samples(raw, SUBSET)
    args = ["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(db)]
    code, err, seen = watched(args, db, point)
    assert code == -9, err[-2000:]
    _readers_saw_only_complete_states(seen, reference)  # never a partial state, whatever the point
    assert bool(seen) == (point == "published")
    rerun = cli(*args)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert state(db) == reference


@pytest.mark.parametrize("point", ["mid_load", "published"])
def test_kill_9_in_the_prefect_flow_then_rerun_completes_exactly_once(tmp_path, point, reference, prefect_server):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    copy_samples(raw, SUBSET)
    env = prefect_env(tmp_path / "prefect", PREFECT_API_URL=prefect_server)
    args = ["ingest", "--raw", str(raw), "--warehouse", str(db)]
    code, err, seen = watched(args, db, point, env)
    assert code == -9, err[-2000:]
    _readers_saw_only_complete_states(seen, reference)
    rerun = cli(*args, env=env)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert state(db) == reference


def test_a_file_that_kills_the_check_twice_is_quarantined_and_the_rest_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOSTAT_CHECK_PROCESSES", "0")  # checked in the writer: the run dies with its check
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "poison.csv", [header("outfall_remediation"), row("outfall_remediation")])
    args = ["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(db)]
    for _ in range(2):  # the process dies on the same file, run after run
        assert cli(*args, fault="checking:poison.csv").returncode == -9
        write_csv(raw / "inbox" / "360103" / f"ok-{_}.csv",
                  [header("outfall_remediation"), row("outfall_remediation", unit="360103", period=f"202{3 + _}")])
    third = cli(*args, fault="checking:poison.csv")
    assert third.returncode == 0, third.stderr[-2000:]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT file, status FROM submission_log ORDER BY file").fetchall() == [
            ("360102/poison.csv", "rejected"), ("360103/ok-0.csv", "accepted"), ("360103/ok-1.csv", "accepted")]
        assert con.execute("SELECT rule_id FROM validation_issues").fetchall() == [("FILE_QUARANTINED",)]
        assert con.execute("SELECT count(*) FROM fact_outfall_remediation").fetchone() == (2,)
    assert "市局" in (raw / "outbox" / "360102" / "poison.csv.feedback.md").read_text(encoding="utf-8")


def test_readers_work_while_an_ingest_runs_and_a_second_ingest_is_refused(tmp_path, capsys):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    copy_samples(raw, ["360100"])
    steps.run_plain(raw, db)
    copy_samples(raw, [p.name for p in SAMPLES.iterdir() if p.name != "360100"])
    proc = subprocess.Popen([sys.executable, "-m", "ecostat.cli", "ingest", "--no-prefect", "--raw", str(raw),
                             "--warehouse", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reads, refused = 0, 0
    try:
        while proc.poll() is None:
            assert main(["figures", "--year", "2024", "--warehouse", str(db), "--format", "csv"]) == 0
            assert main(["query", "SELECT count(*) AS n FROM submission_log", "--warehouse", str(db)]) == 0
            with duckdb.connect(str(db), read_only=True) as con:
                assert con.execute("SELECT count(*) FROM annual_figures").fetchone()[0] > 0
            reads += 1
            lock = db.parent / (db.name + ".lock")
            if refused == 0 and f"pid {proc.pid} " in lock.read_text(encoding="utf-8"):
                try:
                    steps.run_plain(raw, db)
                except WarehouseBusy:
                    refused += 1
    finally:
        _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert reads > 0 and refused == 1
    capsys.readouterr()
    print(f"read iterations during the ingest: {reads}")
    with duckdb.connect(str(db), read_only=True) as con:
        shipped = sum(p.is_file() for p in SAMPLES.rglob("*"))  # every sample received once
        assert con.execute("SELECT count(*), count(DISTINCT receipt_id) FROM meta_received_files").fetchone() == (
            shipped, shipped)


def test_second_ingest_exits_with_a_clear_message(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    (tmp_path / "raw" / "inbox").mkdir(parents=True)
    with writing(db):
        code = main(["ingest", "--no-prefect", "--raw", str(tmp_path / "raw"), "--warehouse", str(db)])
    assert code == 3
    assert "另一个任务正在写入数据仓库" in capsys.readouterr().err
    holding = threading.Event()

    def hold() -> None:
        with writing(db):
            holding.set()
            time.sleep(1.0)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    assert main(["ingest", "--no-prefect", "--wait", "10", "--raw", str(tmp_path / "raw"),
                 "--warehouse", str(db)]) == 0  # waited for the holder, then ran
    holder.join()


def test_path_tricks_cannot_write_another_units_slices(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    secret = tmp_path / "secret.csv"
    write_csv(secret, [header("outfall_remediation"), row("outfall_remediation", unit="360103", required=99)])
    inbox = raw / "inbox"
    (inbox / "360103").mkdir(parents=True)
    (inbox / "360103" / "link.csv").symlink_to(secret)
    (inbox / "360103" / "dir-link").symlink_to(tmp_path, target_is_directory=True)
    write_csv(inbox / "360102" / "360103" / "nested.csv",
              [header("outfall_remediation"), row("outfall_remediation", unit="360103")])
    write_csv(inbox / "360102" / "..\\360103\\dots.csv",  # backslashes and dots are only characters here
              [header("outfall_remediation"), row("outfall_remediation", unit="360103", required=11)])
    summary = steps.run_plain(raw, db)
    by_file = {t.file: t for t in summary.tables}
    assert by_file["360103/link.csv"].findings[0].rule_id == "FILE_SYMLINK"
    assert by_file["360103/dir-link"].findings[0].rule_id == "FILE_SYMLINK"
    nested = by_file["360102/360103/nested.csv"]
    assert (nested.status, nested.findings[0].rule_id) == ("rejected", "AUTH_ROW_UNIT")
    dots = by_file["360102/..\\360103\\dots.csv"]
    assert (dots.status, dots.findings[0].rule_id) == ("rejected", "AUTH_ROW_UNIT")
    assert secret.exists() and summary.count("accepted") == 0
    archived = b"".join(p.read_bytes() for p in (raw / "archive" / "objects").rglob("*") if p.is_file())
    assert secret.read_bytes() not in archived  # a link is recorded, never followed


def test_hostile_sheet_name_is_only_data_and_files_are_not_world_writable(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    name = "'; drop table x; --"
    write_xlsx(raw / "inbox" / "360102" / "a.xlsx", {name: [header("outfall_remediation"), row("outfall_remediation")]})
    summary = steps.run_plain(raw, db)
    assert summary.count("accepted") == 1
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT sheet FROM fact_outfall_remediation").fetchall() == [(name,)]
        assert con.execute("SELECT sheet FROM submission_log").fetchall() == [(name,)]
    for path in [db, *(raw / "archive").rglob("*")]:
        assert not path.stat().st_mode & stat.S_IWOTH, path


def test_a_file_that_breaks_the_checks_is_rejected_and_the_queue_goes_on(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    write_csv(raw / "inbox" / "360103" / "b.csv",
              [header("outfall_remediation"), row("outfall_remediation", unit="360103")])
    real = checking.check_table

    def breaks_on_360102(table, submitter, **kw):  # a stand-in for a bug in a check
        if submitter == "360102":
            raise OverflowError("cannot convert float infinity to integer")
        return real(table, submitter, **kw)

    monkeypatch.setattr(checking, "check_table", breaks_on_360102)
    monkeypatch.setenv("ECOSTAT_CHECK_PROCESSES", "0")  # checked in this process, where the stand-in is
    summary = steps.run_plain(raw, db)
    assert {t.file: (t.status, t.findings[0].rule_id if t.findings else None) for t in summary.tables} == {
        "360102/a.csv": ("rejected", "FILE_CHECK_FAILED"), "360103/b.csv": ("accepted", None)}


def test_a_manifest_line_cut_short_by_a_crash_loses_nothing(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    steps.run_plain(raw, db)
    manifest = raw / "archive" / "manifest.jsonl"
    with open(manifest, "ab") as fh:
        fh.write(b'{"receipt_id": "torn", "sha')  # a crash mid-append; its file is still in the inbox
    write_csv(raw / "inbox" / "360103" / "b.csv",
              [header("outfall_remediation"), row("outfall_remediation", unit="360103")])
    assert steps.run_plain(raw, db).count("accepted") == 1
    write_csv(raw / "inbox" / "360104" / "c.csv",
              [header("outfall_remediation"), row("outfall_remediation", unit="360104")])
    assert steps.run_plain(raw, db).count("accepted") == 1
    assert [r.file for r in archive.receipts(raw / "archive")] == ["360102/a.csv", "360103/b.csv", "360104/c.csv"]


def test_query_is_one_read_only_statement_without_file_or_network_access(tmp_path, capsys):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    steps.run_plain(raw, db)
    wh = ["--warehouse", str(db)]
    assert main(["query", "SELECT count(*) AS n FROM fact_outfall_remediation", *wh]) == 0
    assert main(["query", "DELETE FROM fact_outfall_remediation", *wh]) == 1
    out = tmp_path / "leak.csv"
    assert main(["query", f"COPY (SELECT 1) TO '{out}'", *wh]) == 1 and not out.exists()
    assert main(["query", f"ATTACH '{db}.work' AS w", *wh]) == 1
    assert main(["query", "SELECT 1; DROP TABLE alerts", *wh]) == 2
    assert main(["history", "--unit", "360102", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert "数据仓库不存在" in capsys.readouterr().err


def test_an_unwritable_outbox_does_not_hold_the_data_back(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    (raw / "outbox").write_text("not a folder")
    assert steps.run_plain(raw, db).count("accepted") == 1
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fact_outfall_remediation").fetchone() == (1,)
