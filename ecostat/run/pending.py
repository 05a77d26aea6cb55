"""The pending receipts processed in order, under the write lock: every receipt the warehouse has not
processed yet, in the order received, in groups of files that each commit as one transaction
(:mod:`ecostat.run.groups`),
then the annual figures refreshed (:func:`ecostat.store.figures.refresh_figures`, skipped when no file was
processed). The files are read and checked in sandboxed children (:mod:`ecostat.run.sandbox`) or on Dask
workers (:mod:`ecostat.run.parallel`), never here: the first group's before the lock is taken, the others ahead
of the writer while it applies (:func:`check_ahead`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path

import duckdb

from ecostat.check.files import Checked
from ecostat.common.progress import FileProgress
from ecostat.contract.operator_settings import Settings
from ecostat.intake import archive, verdicts
from ecostat.intake.archive import Receipt
from ecostat.notify import alerts
from ecostat.notify.audit_journal import fold_audits
from ecostat.notify.delivery import fold
from ecostat.notify.review import review_step
from ecostat.run.feedback_writer import FeedbackWriter
from ecostat.run.groups import GroupLimits, apply_in_groups
from ecostat.run.receipt import (
    ReceiptWork,
    RunContext,
    StagedChecks,
    attempts_path,
    kept_verdict,
    to_check,
    tries,
)
from ecostat.run.sandbox import sandbox_stage
from ecostat.run.summary import RunSummary, finish_run, new_run_id, start_run
from ecostat.store.figures import refresh_figures
from ecostat.store.outcomes import TableOutcome
from ecostat.store.warehouse import connect, processed_receipts, transaction

log = logging.getLogger(__name__)
# Checks made elsewhere (ecostat.run.sandbox, ecostat.run.parallel): given the receipts to check, each one's id
# and check, in order.
Stage = Callable[[list[Receipt]], Iterable[tuple[str, Checked]]]


def pending(con: duckdb.DuckDBPyConnection, raw: Path) -> list[Receipt]:
    """Journaled receipts the warehouse has not processed, in the order received."""
    done = processed_receipts(con)
    return [r for r in archive.receipts(raw / "archive") if r.receipt_id not in done]


def process_pending(run: RunContext, progress: FileProgress | None = None, stage: Stage | None = None) -> RunSummary:
    """Process every pending receipt in order (with the run's settings: feedback and alerts too; with its
    ``journal``, each verdict into the archive's journal; with its ``attempts``, each check begun noted there,
    and a receipt two runs died on quarantined) and refresh the figures if any was processed.

    With ``stage``, the receipts to check are handed to it first, and their checks, which it yields in
    the same order, are applied here one by one, as if made here: the rules that need the warehouse (across
    periods, code ownership) and the loads run in this one writer, in receipt order, a group of files per
    transaction (:mod:`ecostat.run.groups`)."""
    receipts = pending(run.con, run.raw)
    tried = tries(run.attempts) if receipts and run.attempts is not None else Counter()
    judged = verdicts.read(run.raw / "archive") if receipts else {}
    checking = _checking(receipts, tried, judged)
    staged = StagedChecks(stage([r for r in receipts if r.receipt_id in checking])) if stage and checking else None
    progress = progress or FileProgress("files")
    progress.start(len(receipts))
    tables: list[TableOutcome] = []

    def done(work: ReceiptWork, outcomes: list[TableOutcome]) -> None:
        progress.step([t.status for t in outcomes])
        tables.extend(outcomes)

    works = [ReceiptWork(rec, tried[rec.receipt_id], judged.get(rec.receipt_id),
                         staged if rec.receipt_id in checking else None) for rec in receipts]
    if run.settings is not None:
        run = dataclasses.replace(run, feedback=FeedbackWriter(len(receipts)))
    try:
        transactions = apply_in_groups(run, works, GroupLimits.configured(), done)
    finally:
        progress.close()
        if run.feedback is not None:
            run.feedback.close()
    return RunSummary(run.run_id, len(receipts), tables, refresh_figures(run.con, run.run_id) if receipts else None,
                      transactions=transactions)


def _checking(receipts: list[Receipt], tried: Counter[str], judged: dict[str, verdicts.Verdict]) -> set[str]:
    """The ids of the receipts whose bytes are read and checked (:func:`ecostat.run.receipt.to_check`)."""
    return {r.receipt_id for r in receipts
            if to_check(tried.get(r.receipt_id, 0), kept_verdict(judged.get(r.receipt_id)))}


def check_ahead(stage: Stage, raw: Path, warehouse: Path) -> Stage:
    """Begin checking, before the write lock is taken, the receipts the published ``warehouse`` has not processed,
    in order, with ``stage``, and wait for the first group's checks (:class:`GroupLimits`: its files and bytes):
    the writer starts with a group ready and the stage goes on checking ahead of it. The
    stage returned hands those checks over and checks with ``stage`` any other receipt the writer then finds
    pending (one received meanwhile, say)."""
    try:
        if warehouse.exists():
            with connect(warehouse, read_only=True) as con:
                receipts = pending(con, raw)
        else:
            receipts = archive.receipts(raw / "archive")
        tried = tries(attempts_path(warehouse)) if receipts else Counter()
        checking = _checking(receipts, tried, verdicts.read(raw / "archive") if receipts else {})
    except Exception:  # an unreadable or older warehouse: everything is checked under the lock instead
        log.warning("the pending files could not be listed before the write lock", exc_info=True)
        return stage
    picked = [r for r in receipts if r.receipt_id in checking]
    return _Ahead(stage, picked, GroupLimits.configured()) if picked else stage


class _Ahead:
    """A stage (:data:`Stage`) whose checks of the receipts ``picked`` began before the write lock (see
    :func:`check_ahead`)."""

    def __init__(self, stage: Stage, picked: list[Receipt], limits: GroupLimits):
        self.stage, self.ahead = stage, {r.receipt_id for r in picked}
        self.begun = iter(stage(picked))
        self.held: deque[tuple[str, Checked]] = deque()
        size = 0
        for rec in picked[:limits.files]:  # the first group's checks, waited for
            if self.held and size + rec.size > limits.size:
                break
            self.held.append(next(self.begun))
            size += rec.size

    def __call__(self, receipts: list[Receipt]) -> Iterator[tuple[str, Checked]]:
        listed = [r for r in receipts if r.receipt_id in self.ahead]
        if receipts[:len(listed)] != listed:  # a new receipt among the listed ones (never seen): all checked now
            self.held.extend(self.begun)
        others: Iterator[tuple[str, Checked]] | None = None
        rest = [r for r in receipts if r.receipt_id not in self.ahead]
        for rec in receipts:
            if rec.receipt_id in self.ahead:  # a check not asked for is of a receipt another writer processed
                while (taken := self.held.popleft() if self.held else next(self.begun))[0] != rec.receipt_id:
                    pass
                yield taken
                continue
            if others is None:
                if isinstance(self.begun, Generator):
                    self.begun.close()  # nothing more is asked of it: its children go on to the others
                others = iter(self.stage(rest))
            yield next(others)

    def __reduce__(self) -> tuple[Callable[[], Stage], tuple[()]]:
        # Prefect pickles the parameters of a running task (this stage is the process task's) with every task it
        # submits from it to Dask; a stage, whose checks are in flight in this process, is never used elsewhere
        return _elsewhere, ()


def _elsewhere() -> Stage:
    """What a stage pickled into another process is there: nothing that can check."""
    def stage(receipts: list[Receipt]) -> Iterable[tuple[str, Checked]]:
        raise RuntimeError("a stage checks only in the process that began it")
    return stage


def write_run(con: duckdb.DuckDBPyConnection, raw: Path, warehouse: Path, run_id: str, settings: Settings,
              progress: FileProgress | None = None, stage: Stage | None = None) -> RunSummary:
    """All an ingest run does under the write lock after receiving: record the last deliveries' outcomes and
    the audits journaled since (:func:`fold_audits`), register the run, journal the verdicts the archive lacks,
    process the pending receipts (checked by ``stage``'s workers, if given), record the alerts of reports
    overdue today."""
    with transaction(con):
        fold(con, warehouse)
        fold_audits(con, warehouse)
        start_run(con, run_id)
    verdicts.backfill(con, raw / "archive")
    summary = process_pending(RunContext(con, raw, run_id, settings, attempts=attempts_path(warehouse)),
                              progress, stage)
    review_step(con, raw, settings, run_id)  # the decision journal's new records (contract v3 §9)
    with transaction(con):
        alerts.record(con, alerts.missing_report_alerts(con, settings, dt.date.today(), run_id), settings)
        finish_run(con, summary)
    return summary


def replay(con: duckdb.DuckDBPyConnection, raw: Path, *, progress: FileProgress | None = None,
           attempts: Path | None = None) -> RunSummary:
    """Process every pending receipt in order and refresh the figures, with no feedback, no alerts and
    nothing journaled in the archive (its verdicts are read: an earlier contract version's rejections
    stand): all that ``ecostat rebuild`` does. ``attempts``: the new warehouse's attempts journal."""
    run_id = new_run_id()
    start_run(con, run_id)
    with sandbox_stage(raw) as stage:
        summary = process_pending(RunContext(con, raw, run_id, journal=False, attempts=attempts), progress, stage)
    review_step(con, raw, None, run_id)  # decisions replayed in journal order, no alerts
    finish_run(con, summary)
    return summary
