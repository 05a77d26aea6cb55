"""The ``ingest`` flow: receive the inbox into the archive → check and load every pending receipt in
order (one transaction per file, which also writes its feedback and records its alerts) and refresh the
annual figures → audit (skipped when no file was processed) → publish the warehouse → deliver the
pending alerts, outside the write lock → rebuild the status site (unless nothing changed) → refresh the
Parquet lake beside the warehouse (when a file was processed) → the run's artifacts (every file's outcome
is in them).

The work is in :mod:`ecostat.run.ingest`, :mod:`ecostat.notify.delivery`, :mod:`ecostat.notify.audit`,
:mod:`ecostat.run.artifact`, :mod:`ecostat.publish.site` and :mod:`ecostat.store.lake`; tasks are per step,
not per file. With ``workers`` > 1 (or ``ECOSTAT_DASK_ADDRESS``), the files are read and checked by
``check_files`` tasks, a batch of files each, on Dask workers (:mod:`ecostat.run.parallel`), and the
``process`` step applies their checks in order. The flow holds the warehouse's write lock and (with a Prefect
server) the global concurrency limit ``ecostat-writer`` from receiving to publishing, and a run that fails
alerts the operator with its ecostat run id."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ecostat.common.progress import FileProgress
from ecostat.contract.operator_settings import Settings, load_settings
from ecostat.intake.archive import Receipt
from ecostat.notify import audit as checks
from ecostat.notify.delivery import Delivery, deliver_pending
from ecostat.publish.sitestate import site_needs_rebuild
from ecostat.run import artifact as report
from ecostat.run import ingest as steps
from ecostat.run import parallel
from ecostat.store import lake
from ecostat.store.warehouse import connect
from ecostat.store.writer import writer_slot


@task(cache_policy=NO_CACHE)
def receive_inbox(raw: Path) -> int:
    """Archive and journal every inbox file, then take it out of the inbox."""
    return steps.receive_inbox(raw)


@task(cache_policy=NO_CACHE)
def check_files(raw: Path, receipts: list[Receipt]) -> list[parallel.Staged]:
    """Read a batch of pending files from the archive and check them, on a Dask worker (no warehouse)."""
    return parallel.check_batch(raw, receipts)


@task(cache_policy=NO_CACHE)
def process(work: Path, raw: Path, warehouse: Path, run_id: str, settings: Settings,
            workers: int | None = None) -> steps.RunSummary:
    """Check and load every pending file in order, with its feedback and alerts; refresh the figures.
    With Dask workers, they check the files ahead and this one writer applies their checks in order."""
    with connect(work, create=True) as con, parallel.dask_stage(workers, check_files, raw) as stage:
        return steps.write_run(con, raw, warehouse, run_id, settings, FileProgress("ingest", "log"), stage)


@task(cache_policy=NO_CACHE)
def audit(work: Path, run_id: str, settings: Settings) -> checks.AuditResult | None:
    """Audit the warehouse (Data Docs beside it); record an alert if it fails or crashes."""
    with connect(work) as con:
        return checks.audit_after_run(con, work, settings, run_id)


@task(cache_policy=NO_CACHE)
def deliver(warehouse: Path, settings: Settings) -> list[Delivery]:
    """Send the pending alerts that are due (after publishing: never under the write lock)."""
    return deliver_pending(warehouse, settings)


@task(cache_policy=NO_CACHE)
def refresh_lake(warehouse: Path) -> str:
    """Bring the Parquet lake beside the published warehouse up to date with it."""
    return lake.refresh(warehouse)


@task(cache_policy=NO_CACHE)
def publish_artifacts(summary: steps.RunSummary, audited: checks.AuditResult | None) -> None:
    """The run's Markdown summary and every file's outcome and findings as Prefect artifacts."""
    create_markdown_artifact(key="ingest-summary", markdown=report.run_markdown(summary, audited),
                             description="入库运行摘要 ingest run summary")
    rows = report.findings_table(summary)
    if rows:
        create_table_artifact(key="ingest-findings", table=rows, description="各文件结果与问题 outcomes, findings")


@task(cache_policy=NO_CACHE)
def rebuild_site(raw: Path, warehouse: Path) -> None:
    """Rebuild the status site from the published warehouse, after the deliveries; never fails the run."""
    from ecostat.publish.site import build_site_after_run

    build_site_after_run(warehouse, raw)


@flow(name="ingest")
def ingest(raw: Path, warehouse: Path, wait_seconds: float = 0.0, workers: int | None = None) -> steps.RunSummary:
    """Ingest every new file under ``raw/inbox`` into the warehouse, in order; ``workers``: Dask worker
    processes that check the files (default ``ECOSTAT_WORKERS``, else 1: checked by the writer, unless
    ``ECOSTAT_DASK_ADDRESS`` names a scheduler)."""
    run_id = steps.new_run_id()
    settings = load_settings(raw)
    # the slot outside the lock: held until the lock's block has published the warehouse
    with writer_slot(warehouse, wait_seconds), steps.locked_run(raw, warehouse, run_id, wait_seconds) as lock:
        receive_inbox(raw)
        summary = process(lock.work, raw, warehouse, run_id, settings, workers)
        audited = audit(lock.work, run_id, settings) if summary.files else None
    summary.lock_seconds = lock.seconds
    summary.deliveries = deliver(warehouse, settings)
    if site_needs_rebuild(warehouse, files=summary.files, deliveries=len(summary.deliveries)):
        rebuild_site(raw, warehouse)
    if summary.files:
        refresh_lake(warehouse)
    publish_artifacts(summary, audited)
    get_run_logger().info("%s", summary.text())
    return summary
