"""The ``ingest`` flow: receive the inbox into the archive → check and load each pending receipt
(one task and one transaction per file, which also writes its feedback into ``raw/outbox/<unit>/``
and alerts its rejections) → refresh the annual figures → alert overdue reports → audit → record
the run → publish the warehouse and the run's artifacts. The work is in :mod:`ecostat.ingest`,
:mod:`ecostat.alerts`, :mod:`ecostat.audit` and :mod:`ecostat.report`; the flow holds the
warehouse's write lock throughout, and a run that fails is alerted by a hook. After publishing, the
Parquet lake beside the warehouse is refreshed (:mod:`ecostat.lake`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ecostat import alerts, lake, report
from ecostat import audit as checks
from ecostat import ingest as steps
from ecostat.archive import Receipt
from ecostat.config import load_settings
from ecostat.figures import refresh_figures
from ecostat.warehouse import connect
from ecostat.writer import WarehouseBusy, writing


@task(cache_policy=NO_CACHE)
def start_run(work: Path) -> str:
    """Create or update the warehouse and register the run."""
    with connect(work, create=True) as con:
        return steps.start_run(con)


@task(cache_policy=NO_CACHE)
def receive_inbox(raw: Path) -> int:
    """Archive and journal every inbox file, then empty the inbox."""
    return steps.receive_inbox(raw)


@task(cache_policy=NO_CACHE)
def pending(work: Path, raw: Path) -> list[Receipt]:
    """Receipts not processed yet, in the order received."""
    with connect(work) as con:
        return steps.pending(con, raw)


@task(cache_policy=NO_CACHE, task_run_name="process {rec.file}")
def process_receipt(work: Path, raw: Path, rec: Receipt, run_id: str) -> list[steps.TableOutcome]:
    """Check one file, load its accepted tables, write its feedback and alert its rejections."""
    with connect(work) as con:
        return steps.process_receipt(con, raw, rec, run_id, load_settings(raw))


@task(cache_policy=NO_CACHE)
def refresh(work: Path, run_id: str) -> int:
    """Log the figures the run changed."""
    with connect(work) as con:
        return refresh_figures(con, run_id)


@task(cache_policy=NO_CACHE)
def send_alerts(raw: Path, work: Path, run_id: str) -> list[alerts.Delivery]:
    """Alert the reports overdue today (the tables were alerted as they were processed)."""
    with connect(work) as con:
        options = load_settings(raw)
        return alerts.send(con, alerts.missing_report_alerts(con, options, dt.date.today(), run_id), options)


@task(cache_policy=NO_CACHE)
def audit(raw: Path, work: Path, run_id: str) -> tuple[checks.AuditResult | None, list[alerts.Delivery]]:
    """Audit the warehouse (Data Docs beside it); alert a failure; never fails the run."""
    with connect(work) as con:
        return checks.audit_after_run(con, work, load_settings(raw), run_id)


@task(cache_policy=NO_CACHE)
def publish_artifacts(summary: steps.RunSummary, sent: list[alerts.Delivery],
                      audited: checks.AuditResult | None) -> None:
    """The run's Markdown summary and its findings as Prefect artifacts."""
    create_markdown_artifact(key="ingest-summary", markdown=report.run_markdown(summary, sent, audited),
                             description="入库运行摘要 ingest run summary")
    rows = report.findings_table(summary)
    if rows:
        create_table_artifact(key="ingest-findings", table=rows, description="校验问题 findings")


@task(cache_policy=NO_CACHE)
def refresh_lake(warehouse: Path) -> str:
    """Bring the Parquet lake beside the published warehouse up to date with it."""
    return lake.refresh(warehouse)


@task(cache_policy=NO_CACHE)
def finish_run(work: Path, summary: steps.RunSummary) -> None:
    """Record the run's counts."""
    with connect(work) as con:
        steps.finish_run(con, summary)


def alert_failure(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]
    """Flow hook: alert the operator that a run failed (not when it only found another run writing)."""
    if isinstance(state.result(raise_on_failure=False), WarehouseBusy):
        return
    params = flow_run.parameters
    alerts.alert_failed_run(Path(params["raw"]), Path(params["warehouse"]), flow_run.name, str(state.message))


@flow(name="ingest", on_failure=[alert_failure])
def ingest(raw: Path, warehouse: Path, wait_seconds: float = 0.0) -> steps.RunSummary:
    """Ingest every new file under ``raw/inbox`` into the warehouse, file by file, in order."""
    with writing(warehouse, wait_seconds) as work:
        run_id = start_run(work)
        receive_inbox(raw)
        receipts = pending(work, raw)
        tables = [t for rec in receipts for t in process_receipt(work, raw, rec, run_id)]
        summary = steps.RunSummary(run_id, len(receipts), tables, refresh(work, run_id))
        sent = send_alerts(raw, work, run_id)
        audited, audit_sent = audit(raw, work, run_id)
        finish_run(work, summary)
    refresh_lake(warehouse)
    publish_artifacts(summary, sent + audit_sent, audited)
    return summary
