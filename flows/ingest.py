"""The ``ingest`` flow: discover new files → check each (read, normalise, validate), load its
accepted tables and write its feedback into ``raw/outbox/<unit>/`` → refresh the annual figures.
The work is in :mod:`ecostat.ingest`."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from ecostat import ingest as steps
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


@task(cache_policy=NO_CACHE, task_run_name="feedback {rec.file}")
def send_feedback(warehouse: Path, outbox: Path, rec: Received, outcomes: list[steps.TableOutcome]) -> list[Path]:
    """Write the file's feedback workbook and summary into the unit's outbox folder."""
    with connect(warehouse) as con:
        return steps.send_feedback(con, outbox, rec, outcomes)


@task(cache_policy=NO_CACHE)
def refresh(warehouse: Path, run_id: str) -> int:
    """Log the figures the run changed."""
    with connect(warehouse) as con:
        return refresh_figures(con, run_id)


@task(cache_policy=NO_CACHE)
def finish_run(warehouse: Path, summary: steps.RunSummary) -> None:
    """Record the run's counts."""
    with connect(warehouse) as con:
        steps.finish_run(con, summary)


@flow(name="ingest")
def ingest(raw: Path, warehouse: Path) -> steps.RunSummary:
    """Ingest every new file under ``raw/inbox`` into the warehouse, file by file, in order."""
    run_id = start_run(warehouse)
    files = discover(raw / "inbox")
    per_file = []
    for rec in files:
        outcomes = process_file(warehouse, rec, run_id)
        send_feedback(warehouse, raw / "outbox", rec, outcomes)
        per_file.append(outcomes)
    tables = [t for outcomes in per_file for t in outcomes]
    summary = steps.RunSummary(run_id, sum(1 for o in per_file if o), tables, refresh(warehouse, run_id))
    finish_run(warehouse, summary)
    return summary
