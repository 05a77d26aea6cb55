"""The ``ingest`` flow: receive the inbox into the archive → check and load every pending receipt in
order (one transaction per file, which also writes its feedback and records its alerts) and refresh the
annual figures → audit (skipped when no file was processed) → publish the warehouse → deliver the
pending alerts, outside the write lock → rebuild the status site (unless nothing changed) → refresh the
Parquet lake beside the warehouse (when a file was processed) → the run's artifacts (every file's outcome
is in them).

The work is in :mod:`ecostat.ingest`, :mod:`ecostat.delivery`, :mod:`ecostat.audit`, :mod:`ecostat.report`,
:mod:`ecostat.site` and :mod:`ecostat.lake`; tasks are per step, not per file. The flow holds the
warehouse's write lock from receiving to publishing, and a run that fails alerts the operator with its
ecostat run id."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ecostat import audit as checks
from ecostat import ingest as steps
from ecostat import lake, report
from ecostat.config import Settings, load_settings
from ecostat.delivery import Delivery, deliver_pending
from ecostat.progress import FileProgress
from ecostat.sitestate import site_needs_rebuild
from ecostat.warehouse import connect


@task(cache_policy=NO_CACHE)
def receive_inbox(raw: Path) -> int:
    """Archive and journal every inbox file, then take it out of the inbox."""
    return steps.receive_inbox(raw)


@task(cache_policy=NO_CACHE)
def process(work: Path, raw: Path, warehouse: Path, run_id: str, settings: Settings) -> steps.RunSummary:
    """Check and load every pending file in order, with its feedback and alerts; refresh the figures."""
    with connect(work, create=True) as con:
        return steps.write_run(con, raw, warehouse, run_id, settings, FileProgress("ingest", "log"))


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
    from ecostat.site import build_site_after_run

    build_site_after_run(warehouse, raw)


@flow(name="ingest")
def ingest(raw: Path, warehouse: Path, wait_seconds: float = 0.0) -> steps.RunSummary:
    """Ingest every new file under ``raw/inbox`` into the warehouse, in order."""
    run_id = steps.new_run_id()
    settings = load_settings(raw)
    with steps.locked_run(raw, warehouse, run_id, wait_seconds) as lock:
        receive_inbox(raw)
        summary = process(lock.work, raw, warehouse, run_id, settings)
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
