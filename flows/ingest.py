"""The ``ingest`` flow: the steps of an ingest run (:mod:`ecostat.run.ingest`), in the order
:func:`ecostat.run.ingest.perform` takes them for the plain run too, each as a Prefect task: receive the
inbox into the archive → check and load every pending receipt in order (a transaction per group of files, each
file with its feedback and alerts) and refresh the annual figures → publish the warehouse; then,
outside the write lock: audit the published warehouse (skipped when no file was processed) → deliver the
pending alerts (the audit's among them) → rebuild the status site (unless nothing changed) → refresh the
Parquet lake beside the warehouse (when a file was processed); then the run's artifacts (every file's
outcome is in them).

Tasks are per step, not per file. The files are read and checked outside the writer, mostly before it takes
the lock: by a local pool of sandboxed children (:mod:`ecostat.run.sandbox`; ``workers`` of them), or, with
``ECOSTAT_DASK_ADDRESS``, by ``check_files`` tasks, a batch of files each, on that scheduler's Dask workers
(:mod:`ecostat.run.parallel`); the ``process`` step applies their checks in order. The flow holds the
warehouse's write lock to receive and from processing to publishing, and (with a Prefect server) the global
concurrency limit ``ecostat-writer`` from receiving to publishing; a run that fails alerts the operator with
its ecostat run id."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ecostat.common.progress import FileProgress
from ecostat.intake.archive import Receipt
from ecostat.notify.audit import AuditResult
from ecostat.notify.delivery import Delivery
from ecostat.run import artifact as report
from ecostat.run import parallel
from ecostat.run.ingest import Run, Steps, perform
from ecostat.run.pending import Stage
from ecostat.run.summary import RunSummary
from ecostat.store.writer import writer_slot


@task(cache_policy=NO_CACHE)
def receive_inbox(run: Run) -> int:
    """Archive and journal every inbox file, then take it out of the inbox."""
    return run.receive()


@task(cache_policy=NO_CACHE)
def check_files(raw: Path, receipts: list[Receipt]) -> list[parallel.Staged]:
    """Read a batch of pending files from the archive and check them, on a Dask worker (no warehouse)."""
    return parallel.check_batch(raw, receipts)


def checking(run: Run) -> AbstractContextManager[Stage | None]:
    """The run's checking machinery: Dask workers running ``check_files`` tasks (``ECOSTAT_DASK_ADDRESS``, unless
    ``workers`` is 1), else the local pool of ``workers`` sandboxed children."""
    return parallel.run_stage(run.workers, check_files, run.raw)


@task(cache_policy=NO_CACHE)
def process(run: Run, work: Path, stage: Stage | None) -> RunSummary:
    """Apply every pending file's check in order (made ahead by ``stage``: sandboxed children or Dask workers),
    load the accepted tables, with feedback and alerts; refresh the figures."""
    return run.process(work, stage)


@task(cache_policy=NO_CACHE)
def audit(run: Run) -> AuditResult | None:
    """Audit the published warehouse, outside the write lock (Data Docs beside it); journal its results, and
    an alert if it fails or crashes."""
    return run.audit()


@task(cache_policy=NO_CACHE)
def deliver(run: Run) -> list[Delivery]:
    """Send the pending alerts that are due (after publishing: never under the write lock)."""
    return run.deliver()


@task(cache_policy=NO_CACHE)
def rebuild_site(run: Run) -> None:
    """Rebuild the status site from the published warehouse, after the deliveries; never fails the run."""
    run.site()


@task(cache_policy=NO_CACHE)
def refresh_lake(run: Run) -> str:
    """Bring the Parquet lake beside the published warehouse up to date with it."""
    return run.lake()


TASKS = Steps(receive=receive_inbox, stage=checking, process=process, audit=audit, deliver=deliver, site=rebuild_site,
              lake=refresh_lake)


@task(cache_policy=NO_CACHE)
def publish_artifacts(summary: RunSummary, audited: AuditResult | None) -> None:
    """The run's Markdown summary and every file's outcome and findings as Prefect artifacts."""
    create_markdown_artifact(key="ingest-summary", markdown=report.run_markdown(summary, audited),
                             description="入库运行摘要 ingest run summary")
    rows = report.findings_table(summary)
    if rows:
        create_table_artifact(key="ingest-findings", table=rows, description="各文件结果与问题 outcomes, findings")


@flow(name="ingest")
def ingest(raw: Path, warehouse: Path, wait_seconds: float = 0.0, workers: int | None = None) -> RunSummary:
    """Ingest every new file under ``raw/inbox`` into the warehouse, in order; ``workers``: the processes
    that check the files (default ``ECOSTAT_WORKERS``, else ``ECOSTAT_CHECK_PROCESSES``): the local sandbox's
    children, or with ``ECOSTAT_DASK_ADDRESS`` that scheduler's workers (``workers`` 1 keeps them local)."""
    run = Run.start(raw, warehouse, wait_seconds, workers, FileProgress("ingest", "log"))
    # the slot outside the lock: held until the lock's block has published the warehouse
    summary, audited = perform(run, TASKS, slot=writer_slot(warehouse, wait_seconds))
    publish_artifacts(summary, audited)
    get_run_logger().info("%s", summary.text())
    return summary
