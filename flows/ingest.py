"""The ``ingest`` flow: receive the inbox into the archive → check and load each pending receipt
(one task and one transaction per file) and write its feedback into ``raw/outbox/<unit>/`` →
refresh the annual figures → publish the warehouse.
The work is in :mod:`ecostat.ingest`; the flow holds the warehouse's write lock throughout."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from ecostat import ingest as steps
from ecostat.archive import Receipt
from ecostat.figures import refresh_figures
from ecostat.warehouse import connect
from ecostat.writer import writing


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
    """Check one file and load its accepted tables, in one transaction."""
    with connect(work) as con:
        return steps.process_receipt(con, raw, rec, run_id)


@task(cache_policy=NO_CACHE, task_run_name="feedback {rec.file}")
def send_feedback(work: Path, outbox: Path, rec: Receipt, outcomes: list[steps.TableOutcome]) -> list[Path]:
    """Write the file's feedback workbook and summary into the unit's outbox folder."""
    with connect(work) as con:
        return steps.send_feedback(con, outbox, rec, outcomes)


@task(cache_policy=NO_CACHE)
def refresh(work: Path, run_id: str) -> int:
    """Log the figures the run changed."""
    with connect(work) as con:
        return refresh_figures(con, run_id)


@task(cache_policy=NO_CACHE)
def finish_run(work: Path, summary: steps.RunSummary) -> None:
    """Record the run's counts."""
    with connect(work) as con:
        steps.finish_run(con, summary)


@flow(name="ingest")
def ingest(raw: Path, warehouse: Path, wait_seconds: float = 0.0) -> steps.RunSummary:
    """Ingest every new file under ``raw/inbox`` into the warehouse, file by file, in order."""
    with writing(warehouse, wait_seconds) as work:
        run_id = start_run(work)
        receive_inbox(raw)
        receipts = pending(work, raw)
        tables = []
        for rec in receipts:
            outcomes = process_receipt(work, raw, rec, run_id)
            send_feedback(work, raw / "outbox", rec, outcomes)
            tables += outcomes
        summary = steps.RunSummary(run_id, len(receipts), tables, refresh(work, run_id))
        finish_run(work, summary)
    return summary
