"""Parallel checking on Dask, one writer (issue 10 item 2): the flow with a cluster of two Dask worker processes
(``ECOSTAT_DASK_ADDRESS``) leaves the warehouse a serial run leaves, a file that kills its workers is held while
the rest load, and at most one flow run writes at a time (Prefect's global concurrency limit); ``--workers N``
without a Dask address is the local sandbox of N children."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import duckdb
import pytest

from benchmarks.loads import SCALES, generate
from ecostat.check.files import Checked, check_archived, check_crashed
from ecostat.contract.catalogue import Finding
from ecostat.contract.operator_settings import load_settings
from ecostat.intake import archive
from ecostat.intake import inbox as intake
from ecostat.intake.archive import Receipt
from ecostat.intake.inbox import receive_inbox
from ecostat.run import parallel
from ecostat.run.parallel import DASK_CONFIG
from ecostat.run.pending import write_run
from ecostat.run.receipt import QUARANTINE_AFTER, attempts_path, note_attempts
from ecostat.run.summary import RunSummary, new_run_id
from ecostat.store.warehouse import connect
from ecostat.store.writer import LEASE_SECONDS, WRITER_LIMIT, WarehouseBusy, lease_path
from tests.conftest import SAMPLES, write_csv
from tests.forms_data import header, row

pytestmark = pytest.mark.flow
POISON = "360104/poison.csv"  # its check kills the worker process that runs it (ECOSTAT_FAULT)
# what two runs over the same receipts may differ in: the run that wrote a row
RUN_ONLY = {"submission_log": "run_id", "meta_received_files": "run_id"}


def _inbox(inbox: Path, tmp: Path) -> None:
    """The samples, the benchmark's small load (corrections, bad cells), a later month whose outfall count
    falls below an earlier file's of the same run, and the poisoned file, last."""
    shutil.copytree(SAMPLES, inbox)
    load = generate(tmp / "load", SCALES["small"])
    shutil.copytree(load.many, inbox, dirs_exist_ok=True)
    later = time.time() + 60
    for i, (period, completed) in enumerate((("2022-02", 50), ("2022-03", 40))):
        path = write_csv(inbox / "360102" / f"排污口{period}.csv",
                         [header("outfall_remediation"),
                          row("outfall_remediation", period=period, required=60, completed=completed)])
        os.utime(path, (later + i, later + i))
    poison = write_csv(inbox / POISON, [header("enforcement"), row("enforcement", unit="360104")])
    os.utime(poison, (later + 2, later + 2))


def _differences(serial: Path, parallel: Path) -> dict[str, int]:
    """Rows of each compared table in one warehouse and not the other (both ways), run ids left out."""
    con = duckdb.connect()
    con.execute("ATTACH ? AS s (READ_ONLY)", [str(serial)])
    con.execute("ATTACH ? AS p (READ_ONLY)", [str(parallel)])
    facts = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 's' "
                                       "AND table_name LIKE 'fact_%'").fetchall()]
    out = {}
    for name in ("submission_log", "validation_issues", "meta_submission_notes", "meta_received_files", *facts):
        cols = f"* EXCLUDE ({RUN_ONLY[name]})" if name in RUN_ONLY else "*"
        out[name] = sum(con.execute(f'SELECT count(*) FROM (SELECT {cols} FROM {a}."{name}" EXCEPT ALL '
                                    f'SELECT {cols} FROM {b}."{name}")').fetchone()[0]  # type: ignore[index]
                        for a, b in (("s", "p"), ("p", "s")))
    figures = "SELECT year, scope, figure, dimension, round(value, 9) FROM {}.annual_figures ORDER BY ALL"
    out["annual_figures"] = int(con.execute(figures.format("s")).fetchall() != con.execute(figures.format("p"))
                                .fetchall())
    return out


def test_two_workers_leave_the_warehouse_of_a_serial_run_and_hold_a_file_that_kills_them(
        prefect_harness, tmp_path: Path, monkeypatch):
    from flows.ingest import ingest

    received = tmp_path / "received"
    _inbox(received / "inbox", tmp_path)
    receive_inbox(received)  # both runs process the very same receipts
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    shutil.copytree(received, serial)
    shutil.copytree(received, parallel)
    poison = next(r for r in archive.receipts(serial / "archive") if r.file == POISON)
    for _ in range(QUARANTINE_AFTER):  # serially: two runs died on it, so this one holds it
        note_attempts(attempts_path(serial / "ecostat.duckdb"), [poison.receipt_id], f"died-{_}")
    with connect(serial / "ecostat.duckdb", create=True) as con:
        write_run(con, serial, serial / "ecostat.duckdb", new_run_id(), load_settings(serial))

    import dask
    from distributed import LocalCluster

    monkeypatch.setenv("ECOSTAT_FAULT", f"checking:{POISON}")  # inherited by the workers, never reached here
    # a Dask cluster of two worker processes, as an operator starts one (failing a task at its first death)
    with dask.config.set(DASK_CONFIG), LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                             dashboard_address=None) as cluster:
        monkeypatch.setenv("ECOSTAT_DASK_ADDRESS", cluster.scheduler_address)
        summary = ingest(raw=parallel, warehouse=parallel / "ecostat.duckdb", workers=2)
        checked_there = {name: sum(prefix.state_counts.values()) for name, prefix in
                         cluster.scheduler.task_prefixes.items()}
    assert any("check_files" in name and count for name, count in checked_there.items()), checked_there

    differences = _differences(serial / "ecostat.duckdb", parallel / "ecostat.duckdb")
    assert len(differences) > 5 and not any(differences.values()), differences
    held = [t for t in summary.tables if t.file == POISON]
    assert [(t.status, [f.rule_id for f in t.findings]) for t in held] == [("rejected", ["FILE_QUARANTINED"])]
    with duckdb.connect(str(parallel / "ecostat.duckdb"), read_only=True) as con:
        statuses = dict(con.execute("SELECT status, count(*) FROM submission_log GROUP BY status").fetchall())
        fell = con.execute("SELECT l.file FROM validation_issues i JOIN submission_log l USING (submission_id) "
                           "WHERE i.rule_id = 'PERIOD_FALL'").fetchall()
    assert statuses["superseded"] > 0 and statuses["rejected"] > 5  # corrections and bad files were in it
    assert ("360102/排污口2022-03.csv",) in fell  # judged against a file loaded earlier in the same run
    assert summary.files == len(archive.receipts(parallel / "archive"))


def test_workers_without_a_dask_address_are_the_local_sandboxs_children(tmp_path: Path, monkeypatch):
    from flows.ingest import check_files

    monkeypatch.delenv("ECOSTAT_DASK_ADDRESS", raising=False)
    monkeypatch.delenv("ECOSTAT_WORKERS", raising=False)
    for workers, expected in ((2, 2), (1, 1), (3, 3)):
        with parallel.run_stage(workers, check_files, tmp_path) as stage:
            assert stage is not None and stage.__self__.processes == expected  # type: ignore[attr-defined]
    monkeypatch.setenv("ECOSTAT_WORKERS", "3")
    with parallel.run_stage(None, check_files, tmp_path) as stage:
        assert stage.__self__.processes == 3  # type: ignore[union-attr]


def test_a_second_flow_run_refuses_or_waits_while_one_writes(prefect_harness, tmp_path: Path, monkeypatch):
    from flows.ingest import ingest

    # two machines: each its own raw folder and warehouse (no shared lock file), one Prefect server
    first, second = tmp_path / "a", tmp_path / "b"
    for raw in (first, second):
        write_csv(raw / "inbox" / "360102" / "ok.csv", [header("outfall_remediation"), row("outfall_remediation")])
    writing, release = threading.Event(), threading.Event()
    order: list[str] = []

    def hold(item: intake.InboxFile) -> None:  # the first run stops while it writes
        if not writing.is_set():
            writing.set()
            release.wait(120)
        order.append(f"received, first published: {(first / 'ecostat.duckdb').exists()}")

    monkeypatch.setattr(intake, "before_read", hold)
    runs: dict[str, object] = {}

    def run(name: str, raw: Path, wait: float) -> None:
        try:
            runs[name] = ingest(raw=raw, warehouse=raw / "ecostat.duckdb", wait_seconds=wait)
        except Exception as exc:
            runs[name] = exc
        order.append(f"{name} done")

    one = threading.Thread(target=run, args=("first", first, 0.0))
    one.start()
    assert writing.wait(120)
    with pytest.raises(WarehouseBusy, match="ecostat-writer"):
        ingest(raw=second, warehouse=second / "ecostat.duckdb")
    assert not (second / "ecostat.duckdb").exists() and (second / "inbox" / "360102" / "ok.csv").exists()
    two = threading.Thread(target=run, args=("second", second, 120.0))
    two.start()
    time.sleep(3)  # the second run is waiting for the slot (nothing is asserted about time)
    release.set()
    one.join(180)
    two.join(180)
    # the second run received only once the first had published (not as soon as the first received)
    assert [o for o in order if o.startswith("received")] == ["received, first published: False",
                                                             "received, first published: True"], order
    assert all(isinstance(r, RunSummary) and r.count("accepted") == 1 for r in runs.values()), runs



def test_a_killed_writers_slot_is_freed_by_the_next_writer_of_its_host(prefect_harness, tmp_path: Path):
    from prefect.concurrency._sync import acquire_concurrency_slots_with_lease, release_concurrency_slots_with_lease

    from flows.ingest import ingest

    raw, warehouse = tmp_path / "raw", tmp_path / "ecostat.duckdb"
    write_csv(raw / "inbox" / "360102" / "ok.csv", [header("outfall_remediation"), row("outfall_remediation")])
    ingest(raw=raw, warehouse=warehouse)  # creates the limit
    gone = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # a process id no process can have
    for pid in (os.getpid(), gone):  # a writer of this host alive, then one that died
        lease = acquire_concurrency_slots_with_lease([WRITER_LIMIT], 1, lease_duration=LEASE_SECONDS, strict=True,
                                                     max_retries=0).lease_id
        lease_path(warehouse).write_text(json.dumps({"host": socket.gethostname(), "pid": pid, "lease": str(lease)}))
        if pid == os.getpid():
            with pytest.raises(WarehouseBusy, match=WRITER_LIMIT):
                ingest(raw=raw, warehouse=warehouse)
            release_concurrency_slots_with_lease(lease)
        else:  # freed at once, long before the lease would expire
            assert ingest(raw=raw, warehouse=warehouse).files == 0
            assert not lease_path(warehouse).exists()


class _Done:
    """A batch sent to a fake cluster: its checks, or the error its worker met."""

    def __init__(self, batch: list[Receipt], error: BaseException | None = None):
        self.batch, self.error = batch, error

    def result(self) -> list[parallel.Staged]:
        if self.error is not None:
            raise self.error
        return [parallel.Staged.of(r, check_crashed(r, RuntimeError("made by the worker"))) for r in self.batch]


def test_checks_come_back_in_order_and_a_batch_that_fails_is_retried_quarantined_or_checked_here():
    from distributed import KilledWorker

    now = dt.datetime.now(dt.UTC)
    receipts = [Receipt(f"r{i:02}", "0" * 64, f"360102/{i}.csv", "360102", 10, now, now) for i in range(40)]
    sent: list[list[str]] = []

    def submit(batch: list[Receipt]) -> _Done:
        sent.append([r.receipt_id for r in batch])
        ids = {r.receipt_id for r in batch}
        if "r03" in ids:  # checking r03 kills its worker, every time
            return _Done(batch, KilledWorker("r03", "tcp://worker", 0))
        if "r20" in ids:  # the batch holding r20 is lost otherwise (the cluster went away)
            return _Done(batch, OSError("connection lost"))
        return _Done(batch)

    here: list[str] = []

    def check_here(rec: Receipt) -> Checked:
        here.append(rec.receipt_id)
        return check_crashed(rec, RuntimeError("made by the writer"))

    got = list(parallel.staged_checks(receipts, submit, lambda: 2, check_here))
    assert [rid for rid, _ in got] == [r.receipt_id for r in receipts]  # every receipt once, in order
    rules = {rid: (result.rule_id if isinstance(result, Finding) else None) for rid, (result, _) in got}
    assert rules["r03"] == "FILE_QUARANTINED" and sent.count(["r03"]) == parallel.DEATHS - 1
    assert here == [f"r{i:02}" for i in range(16, 32)]  # r20's batch, checked by the writer
    made = {rid: result.params.get("detail", "") for rid, (result, _) in got if isinstance(result, Finding)}
    assert "worker" in made["r04"] and "writer" in made["r20"] and "worker" in made["r39"]


def test_a_table_comes_back_from_a_worker_as_the_writer_loads_it(tmp_path: Path):
    raw = tmp_path / "raw"
    for sample in ("360124/进贤县2024年度报表.xlsx", "360100/water_sections_2023.parquet",
                   "360100/南昌市2023年饮用水水源地.csv"):  # a workbook of sheets; columnar parquet and csv
        (raw / "inbox" / sample).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLES / sample, raw / "inbox" / sample)
    receive_inbox(raw)
    for rec in archive.receipts(raw / "archive"):
        result, failure = check_archived(raw, rec)
        assert failure is None and isinstance(result, list) and any(t.frame is not None for t in result)
        (back, _), = [batch.checked() for batch in parallel.check_batch(raw, [rec])]
        assert isinstance(back, list) and len(back) == len(result)
        for sent_table, got_table in zip(result, back, strict=True):
            assert got_table.form is sent_table.form and got_table.findings == sent_table.findings
            assert got_table.frame is None and got_table.accepted == sent_table.accepted  # its rows travel as loaded
            if sent_table.frame is not None:
                assert got_table.rows is not None and got_table.rows.equals(sent_table.values())
                assert got_table.rows.num_rows == len(sent_table.frame) > 0
