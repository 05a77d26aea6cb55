"""The ``ingest`` flow: discover new files → check each (read, normalise, validate) and load its
accepted tables → refresh the annual figures → alert → audit → record the run and publish its
artifacts. The work is in :mod:`ecostat.ingest`, :mod:`ecostat.alerts`, :mod:`ecostat.audit` and
:mod:`ecostat.report`; a run that fails is alerted by a hook."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ecostat import alerts, report
from ecostat import audit as checks
from ecostat import ingest as steps
from ecostat.config import load_settings
from ecostat.figures import refresh_figures
from ecostat.warehouse import Received, connect


@task(cache_policy=NO_CACHE)
def start_run(warehouse: Path) -> str:
    """Create or update the warehouse and register the run."""
    with connect(warehouse) as con:
        return steps.start_run(con)


@task(cache_policy=NO_CACHE)
def discover(inbox: Path) -> list[Received]:
    """Files in the inbox, in processing order."""
    return steps.discover(inbox)


@task(cache_policy=NO_CACHE, task_run_name="process {rec.file}")
def process_file(warehouse: Path, rec: Received, run_id: str) -> list[steps.TableOutcome]:
    """Check one file and load its accepted tables."""
    with connect(warehouse) as con:
        return steps.process_file(con, rec, run_id)


@task(cache_policy=NO_CACHE)
def refresh(warehouse: Path, run_id: str) -> int:
    """Log the figures the run changed."""
    with connect(warehouse) as con:
        return refresh_figures(con, run_id)


@task(cache_policy=NO_CACHE)
def send_alerts(raw: Path, warehouse: Path, summary: steps.RunSummary) -> list[alerts.Delivery]:
    """Alert the rejections (and whatever else the settings ask for); never fails the run."""
    with connect(warehouse) as con:
        return alerts.alert_run(con, summary.tables, summary.run_id, load_settings(raw))


@task(cache_policy=NO_CACHE)
def audit(raw: Path, warehouse: Path, run_id: str) -> tuple[checks.AuditResult | None, list[alerts.Delivery]]:
    """Audit the warehouse (Data Docs beside it); alert a failure; never fails the run."""
    with connect(warehouse) as con:
        return checks.audit_after_run(con, warehouse, load_settings(raw), run_id)


@task(cache_policy=NO_CACHE)
def publish(summary: steps.RunSummary, sent: list[alerts.Delivery], audited: checks.AuditResult | None) -> None:
    """The run's Markdown summary and its findings as Prefect artifacts."""
    create_markdown_artifact(key="ingest-summary", markdown=report.run_markdown(summary, sent, audited),
                             description="入库运行摘要 ingest run summary")
    rows = report.findings_table(summary)
    if rows:
        create_table_artifact(key="ingest-findings", table=rows, description="校验问题 findings")


@task(cache_policy=NO_CACHE)
def finish_run(warehouse: Path, summary: steps.RunSummary) -> None:
    """Record the run's counts."""
    with connect(warehouse) as con:
        steps.finish_run(con, summary)


def alert_failure(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]
    """Flow hook: alert the operator that a run failed."""
    params = flow_run.parameters
    alerts.alert_failed_run(Path(params["raw"]), Path(params["warehouse"]), flow_run.name, str(state.message))


@flow(name="ingest", on_failure=[alert_failure])
def ingest(raw: Path, warehouse: Path) -> steps.RunSummary:
    """Ingest every new file under ``raw/inbox`` into the warehouse, file by file, in order."""
    run_id = start_run(warehouse)
    files = discover(raw / "inbox")
    per_file = [process_file(warehouse, rec, run_id) for rec in files]
    tables = [t for outcomes in per_file for t in outcomes]
    summary = steps.RunSummary(run_id, sum(1 for o in per_file if o), tables, refresh(warehouse, run_id))
    sent = send_alerts(raw, warehouse, summary)
    audited, audit_sent = audit(raw, warehouse, run_id)
    finish_run(warehouse, summary)
    publish(summary, sent + audit_sent, audited)
    return summary
