"""An ingest run, in the one order both runners take: :func:`run_plain` executes it directly, the
``ingest`` flow (``flows/ingest.py``) with each step as a Prefect task.

An ingest run holds its own lock (:data:`RUN_LOCK`) throughout: one run at a time. Other writers (a review
decision, a certification) wait only while it holds the write lock:

1. :meth:`Run.receive`, under the write lock (receipts are journaled by one process at a time, in order):
   every inbox entry's bytes go to the archive and its receipt to the journal (both durable) before it
   leaves the inbox (:func:`ecostat.intake.inbox.receive_inbox`).
2. Without the lock: the pending files' checks begun by the run's stage (:attr:`Steps.stage`: sandboxed
   children, :mod:`ecostat.run.sandbox`, or Dask workers) and the first group's waited for, the others made
   ahead of the writer in step 3 (:func:`ecostat.run.pending.check_ahead`); meanwhile
   the working copy of the warehouse is made (:func:`ecostat.store.writer.preparing_work`), and its objects built
   in memory (:func:`ecostat.store.warehouse.declared_schema`, the first step of creating or carrying it forward).

Under the warehouse's write lock again (:func:`locked_run`):

3. :meth:`Run.process`: each receipt the warehouse has not processed yet, in the order received, its check
   taken from the stage (:mod:`ecostat.run.receipt`), the files committed in groups, one transaction per
   group (:mod:`ecostat.run.groups`), then the annual figures refreshed (:mod:`ecostat.run.pending`).

Then the warehouse is published and its lock released (the run's lock time, :attr:`RunSummary.lock_seconds`,
is receiving, processing and publishing, for both runners), and:

4. :meth:`Run.audit` audits the published warehouse, read-only, its results and alert journaled beside it
   (:mod:`ecostat.notify.audit_journal`; skipped when no file was processed; the plain runner leaves it to
   ``ecostat audit``);
5. :meth:`Run.deliver` sends the pending alerts (the audit's among them);
6. :meth:`Run.site` rebuilds the status site (unless nothing changed), while, in a thread,
7. :meth:`Run.lake` brings the Parquet lake up to date (when a file was processed).
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from ecostat.common.background import meanwhile
from ecostat.common.progress import FileProgress
from ecostat.contract.operator_settings import Settings, load_settings
from ecostat.intake.inbox import receive_inbox
from ecostat.notify import alerts
from ecostat.notify.audit import AuditResult
from ecostat.notify.audit_journal import audit_published
from ecostat.notify.delivery import Delivery, deliver_pending
from ecostat.publish.site import build_site_after_run
from ecostat.publish.sitestate import site_needs_rebuild
from ecostat.run.pending import Stage, check_ahead, write_run
from ecostat.run.sandbox import sandbox_stage
from ecostat.run.summary import RunSummary, new_run_id
from ecostat.store import lake
from ecostat.store.warehouse import connect, declared_schema
from ecostat.store.writer import WarehouseBusy, locked, preparing_work, writing

log = logging.getLogger(__name__)
RUN_LOCK = ".ingest.lock"  # held by an ingest run from start to end: one run at a time, other writers between


@dataclass
class WriteLock:
    """The working copy a run writes, and (once published) how long the run held the write lock."""

    work: Path
    seconds: float | None = None


@contextmanager
def alerting(raw: Path, warehouse: Path, run_id: str) -> Iterator[None]:
    """A block of a run that, if it fails (other than finding the warehouse busy), alerts the operator with
    the ecostat run id."""
    try:
        yield
    except WarehouseBusy:
        raise
    except Exception as exc:
        alerts.alert_failed_run(raw, warehouse, run_id, f"{type(exc).__name__}: {exc}")
        raise


@contextmanager
def locked_run(raw: Path, warehouse: Path, run_id: str, wait_seconds: float = 0.0) -> Iterator[WriteLock]:
    """Hold the warehouse's write lock for a run and publish its working copy at the end, timing it; a run
    that fails (other than finding the warehouse busy) alerts the operator with its ecostat run id."""
    with alerting(raw, warehouse, run_id), writing(warehouse, wait_seconds) as work:
        lock = WriteLock(work)
        started = time.monotonic()
        yield lock
    lock.seconds = time.monotonic() - started


@dataclass(frozen=True)
class Run:
    """One ingest run: what it works on, and each of its steps (taken in order by :func:`perform`)."""

    raw: Path
    warehouse: Path
    run_id: str
    settings: Settings
    wait_seconds: float = 0.0  # how long to wait for the write lock
    workers: int | None = None  # Dask worker processes checking the files (the flow's process task)
    progress: FileProgress | None = None

    @classmethod
    def start(cls, raw: Path, warehouse: Path, wait_seconds: float = 0.0, workers: int | None = None,
              progress: FileProgress | None = None) -> Run:
        """A new run with a fresh run id and the operator's settings under ``raw``."""
        return cls(raw, warehouse, new_run_id(), load_settings(raw), wait_seconds, workers, progress)

    def receive(self) -> int:
        """Archive and journal every inbox file, then take it out of the inbox."""
        return receive_inbox(self.raw)

    def stage(self) -> AbstractContextManager[Stage | None]:
        """The run's checking machinery: a pool of sandboxed children (:mod:`ecostat.run.sandbox`)."""
        return sandbox_stage(self.raw)

    def process(self, work: Path, stage: Stage | None = None) -> RunSummary:
        """Check and load every pending file of the working copy ``work`` in order, with its feedback and
        alerts; refresh the figures. With ``stage``, its workers check the files ahead."""
        with connect(work, create=True) as con:
            return write_run(con, self.raw, self.warehouse, self.run_id, self.settings, self.progress, stage)

    def audit(self) -> AuditResult | None:
        """Audit the published warehouse, outside the write lock (Data Docs beside it); journal its results,
        and an alert if it fails or crashes, for the delivery after it and the next writer."""
        return audit_published(self.warehouse, self.settings, self.run_id)

    def deliver(self) -> list[Delivery]:
        """Send the pending alerts that are due (after publishing: never under the write lock)."""
        return deliver_pending(self.warehouse, self.settings)

    def site(self) -> None:
        """Rebuild the status site from the published warehouse, after the deliveries; never fails the run."""
        build_site_after_run(self.warehouse, self.raw)

    def lake(self) -> str:
        """Bring the Parquet lake beside the published warehouse up to date with it."""
        refreshed = lake.refresh(self.warehouse)
        log.info(refreshed)
        return refreshed


@dataclass(frozen=True)
class Steps:
    """How each step of a run is executed: by the run itself (:data:`PLAIN`) or by a Prefect task that calls
    it (``flows/ingest.py``)."""

    receive: Callable[[Run], int]
    stage: Callable[[Run], AbstractContextManager[Stage | None]]  # entered for the whole run
    process: Callable[[Run, Path, Stage | None], RunSummary]
    audit: Callable[[Run], AuditResult | None]
    deliver: Callable[[Run], list[Delivery]]
    site: Callable[[Run], None]
    lake: Callable[[Run], str]


def audit_apart(run: Run) -> None:
    """The plain runner's audit step: none. The Great Expectations audit costs ~15 s a run here, more than a
    small plain run itself; the flow runs it, and so does ``ecostat audit`` for a plain run's warehouse."""
    return None


PLAIN = Steps(receive=Run.receive, stage=Run.stage, process=Run.process, audit=audit_apart, deliver=Run.deliver,
              site=Run.site, lake=Run.lake)


def perform(run: Run, steps: Steps = PLAIN,
            slot: AbstractContextManager[object] | None = None) -> tuple[RunSummary, AuditResult | None]:
    """A whole ingest run, its steps in their one order (see the module's docstring), and the audit's result
    (None when skipped). ``slot``: held with the write lock, entered before it (the flow's writer slot)."""
    with slot or nullcontext(), locked(run.warehouse, run.wait_seconds, RUN_LOCK), steps.stage(run) as stage:
        started = time.monotonic()
        with alerting(run.raw, run.warehouse, run.run_id), locked(run.warehouse, run.wait_seconds):
            steps.receive(run)
        receiving = time.monotonic() - started
        # the working copy made meanwhile, out of the write lock, and the warehouse's objects built in memory
        with preparing_work(run.warehouse), meanwhile(
                declared_schema, "the warehouse's objects could not be built ahead of the write lock"):
            ahead = check_ahead(stage, run.raw, run.warehouse) if stage is not None else None
        with locked_run(run.raw, run.warehouse, run.run_id, run.wait_seconds) as lock:
            summary = steps.process(run, lock.work, ahead)
    summary.lock_seconds = receiving + (lock.seconds or 0.0)
    audited = steps.audit(run) if summary.files else None
    summary.deliveries = steps.deliver(run)
    rebuild = site_needs_rebuild(run.warehouse, files=summary.files, deliveries=len(summary.deliveries))
    with ThreadPoolExecutor(1) as pool:  # the lake written while the site is built (both read the warehouse)
        lake = pool.submit(contextvars.copy_context().run, steps.lake, run) if summary.files else None
        if rebuild:
            steps.site(run)
        if lake is not None:
            lake.result()
    return summary, audited


def run_plain(raw: Path, warehouse: Path, wait_seconds: float = 0.0,
              progress: FileProgress | None = None) -> RunSummary:
    """A whole ingest run without Prefect: the flow's steps, in the same order (:func:`perform`)."""
    summary, _ = perform(Run.start(raw, warehouse, wait_seconds, progress=progress))
    return summary
