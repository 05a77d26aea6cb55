"""Processing one received file inside a warehouse transaction (its group's, :mod:`ecostat.run.groups`):
check every table (or take the check a worker made ahead), load the accepted ones, log the rest, write the
file's feedback, record its alerts as pending, and mark the receipt processed. A run killed at any point
leaves no partial file behind, and the next run completes the work exactly once; each check begun is noted
outside the transaction, and a receipt on which two runs died is quarantined by the third."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ecostat.check.files import Checked, check_across_periods, check_archived, file_finding, quarantined
from ecostat.check.types import CheckedTable
from ecostat.common.display import printable
from ecostat.common.durable import append_lines, read_journal
from ecostat.common.faults import fault_point
from ecostat.contract.catalogue import Finding
from ecostat.contract.operator_settings import Settings
from ecostat.intake import verdicts
from ecostat.intake.archive import Receipt
from ecostat.notify import alerts
from ecostat.publish.feedback import reports_from_outcomes, write_feedback
from ecostat.run.feedback_writer import FeedbackWriter
from ecostat.store.loading import (
    FileLog,
    GroupWrites,
    StatementThreads,
    load_accepted,
    next_submission_ids,
    slice_labels,
)
from ecostat.store.migrations import CONTRACT_VERSION
from ecostat.store.outcomes import TableOutcome

log = logging.getLogger(__name__)
QUARANTINE_AFTER = 2  # runs that died while checking the same receipt


@dataclass(frozen=True)
class RunContext:
    """What every receipt of a run is processed with."""

    con: duckdb.DuckDBPyConnection
    raw: Path
    run_id: str
    settings: Settings | None = None  # the alert settings: with them, feedback written and alerts recorded
    journal: bool = True  # each verdict journaled in the archive once its transaction has committed
    attempts: Path | None = None  # the warehouse's attempts journal (:func:`attempts_path`)
    feedback: FeedbackWriter | None = None  # writes the feedback (with ``settings``); None: written here
    group: GroupWrites = field(default_factory=GroupWrites)  # the transaction's, cleared as each one begins
    threads: StatementThreads = field(default_factory=StatementThreads)

    @property
    def outbox(self) -> Path:
        """Where the files' feedback goes."""
        return self.raw / "outbox"


class StagedChecks:
    """Checks made ahead by workers (:mod:`ecostat.run.parallel`), handed over one by one in receipt order."""

    def __init__(self, checks: Iterable[tuple[str, Checked]]):
        self._checks = iter(checks)

    def take(self, rec: Receipt) -> Checked:
        """The next check, which must be ``rec``'s: if the stage lost the order, stop before loading."""
        receipt_id, check = next(self._checks)
        if receipt_id != rec.receipt_id:
            raise RuntimeError(f"the check of receipt {receipt_id} came for receipt {rec.receipt_id}")
        return check


@dataclass(frozen=True)
class ReceiptWork:
    """One pending receipt and what is known of it before its check."""

    rec: Receipt
    tried: int = 0  # earlier runs that died while checking it: from QUARANTINE_AFTER on, it is held
    earlier: verdicts.Verdict | None = None  # its journaled verdict: an earlier contract's rejections stand
    staged: StagedChecks | None = None  # its check made ahead; None: read from the archive and checked here


def attempts_path(warehouse: Path) -> Path:
    """The journal of the checks begun on a warehouse (beside it): two unfinished ones quarantine a receipt."""
    return warehouse.with_name(warehouse.name + ".attempts.jsonl")


def note_attempts(attempts: Path, receipt_ids: list[str], run_id: str) -> None:
    """Record, durably and outside any warehouse transaction, that a run starts checking these receipts."""
    at = dt.datetime.now(dt.UTC).isoformat()
    append_lines(attempts, [json.dumps({"receipt_id": r, "run_id": run_id, "at": at}) for r in receipt_ids])


def tries(attempts: Path) -> Counter[str]:
    """How many runs began checking each receipt on this warehouse (a run that notes a receipt twice counts
    once). A receipt whose check completed is processed and never checked again, so for a pending receipt each
    is a run that died on it, or on a file of its group (:mod:`ecostat.run.groups`)."""
    def parse(line: str) -> tuple[str, str]:
        d = json.loads(line)
        return str(d["receipt_id"]), str(d["run_id"])

    return Counter(receipt_id for receipt_id, _ in set(read_journal(attempts, parse)))


def kept_verdict(earlier: verdicts.Verdict | None) -> verdicts.Verdict | None:
    """A journaled verdict whose rejections stand: one an earlier contract version gave (contract §7)."""
    return earlier if earlier is not None and earlier.earlier and earlier.any_rejected else None


def to_check(tried: int, kept: verdicts.Verdict | None) -> bool:
    """Whether a pending receipt's bytes are read and checked: not when an earlier contract version rejected
    the whole file, nor when runs died on it :data:`QUARANTINE_AFTER` times."""
    return not (kept is not None and kept.file_rejected) and tried < QUARANTINE_AFTER


def needs_attempt(run: RunContext, work: ReceiptWork) -> bool:
    """Whether the receipt's check is noted in the run's attempts journal before it begins."""
    return run.attempts is not None and work.tried < QUARANTINE_AFTER


def take_check(work: ReceiptWork) -> Checked | None:
    """The receipt's check made ahead, if any (None: checked by :func:`apply_receipt`, or not checked at all)."""
    return work.staged.take(work.rec) if work.staged is not None else None


def apply_receipt(run: RunContext, work: ReceiptWork, check: Checked | None) -> list[TableOutcome]:
    """In the caller's transaction: a received file's tables checked across periods (``check``: its check
    made ahead; None: checked here, if at all) and loaded or logged, the receipt marked processed.

    With the run's alert settings, the file's feedback is written and its alerts are recorded as pending in
    the same transaction: a run killed before the commit does both again, so nobody goes unwarned.
    """
    rec = work.rec
    run.threads.for_file(run.con, rec.size)
    entries = FileLog(rec, run.run_id)
    outcomes, failure = _outcomes(run, work, entries, kept_verdict(work.earlier), check)
    run.group.logs.append(entries)  # written with the group's (GroupWrites.write)
    if run.settings is not None:
        send_feedback(run, rec, outcomes)
        found = [alerts.file_alert(rec, outcomes, run.run_id, run.settings, run.outbox),
                 alerts.check_failed_alert(rec, run.run_id, failure) if failure else None]
        alerts.record(run.con, [a for a in found if a is not None], run.settings)
    return outcomes


def journal_verdicts(run: RunContext, applied: list[tuple[ReceiptWork, list[TableOutcome]]]) -> None:
    """Once the receipts' transaction has committed: their verdicts into the archive's journal (if the run
    journals)."""
    if run.journal and applied:
        verdicts.write(run.raw / "archive", *(verdicts.Verdict(
            work.rec.receipt_id, kept.contract if (kept := kept_verdict(work.earlier)) else CONTRACT_VERSION,
            tuple((o.sheet, o.form, o.status) for o in outcomes)) for work, outcomes in applied))


def send_feedback(run: RunContext, rec: Receipt, outcomes: list[TableOutcome]) -> None:
    """Have the feedback workbook and Markdown summary of a processed file written into the outbox (by the
    run's feedback writer, before its transaction commits); a failure is logged: an unwritable outbox must not
    hold the data back."""
    if not outcomes:
        return
    try:
        reports = reports_from_outcomes(run.con, outcomes, run.group.files())
        if run.feedback is not None:
            run.feedback.submit(run.outbox, rec.file, rec.submitter, reports)
        else:
            write_feedback(run.outbox, rec.file, rec.submitter, reports)
    except Exception:
        log.exception("feedback for %s not written", printable(rec.file))


def _rejected_earlier(rec: Receipt, kept: verdicts.Verdict, what: str, what_en: str) -> Finding:
    return file_finding("REJECTED_EARLIER", rec, what=what, what_en=what_en, contract=kept.contract,
                        current=CONTRACT_VERSION)


def _outcomes(run: RunContext, work: ReceiptWork, entries: FileLog, kept: verdicts.Verdict | None,
              staged: Checked | None) -> tuple[list[TableOutcome], str | None]:
    """The file's outcomes, and what went wrong in ecostat itself, if anything (for the operator).
    ``kept``: an earlier contract version's verdict whose rejections stand."""
    con, rec, tried = run.con, work.rec, work.tried
    if run.group.loaded(con, rec.sha256, rec.submitter):
        (sid,) = next_submission_ids(con, 1)
        entries.add(sid, sheet=None, form=None, status="duplicate", findings=[])
        return [TableOutcome(file=rec.file, sheet=None, form=None, status="duplicate", submission_id=sid,
                             submitter=rec.submitter)], None
    failure = None
    if kept is not None and kept.file_rejected:
        result: list[CheckedTable] | Finding = _rejected_earlier(rec, kept, "文件", "file")
    elif tried >= QUARANTINE_AFTER:
        result, failure = quarantined(rec, tried, f"{tried} runs died while checking this file; it is "
                                                  "quarantined and was not checked again")
    else:
        result, failure = staged if staged is not None else check_archived(run.raw, rec)
    if isinstance(result, Finding):
        (sid,) = next_submission_ids(con, 1)
        entries.add(sid, sheet=None, form=None, status="rejected", findings=[result])
        return [TableOutcome(file=rec.file, sheet=None, form=None, status="rejected", submission_id=sid, errors=1,
                             findings=[result], submitter=rec.submitter)], failure
    return [_table_outcome(run, rec, entries, kept, sid, table)
            for sid, table in zip(next_submission_ids(con, len(result)), result, strict=True)], failure


def _table_outcome(run: RunContext, rec: Receipt, entries: FileLog, kept: verdicts.Verdict | None, sid: int,
                   table: CheckedTable) -> TableOutcome:
    """One table of the file checked across periods (after the file's earlier tables loaded), then loaded or
    logged as rejected."""
    if kept is not None and kept.rejected_sheet(table.sheet):
        table.findings.insert(0, _rejected_earlier(rec, kept, "表", "table"))
    rows = table.values()
    if table.form is not None and rows is not None:  # what the rules across periods read of its form
        run.group.reading(run.con, table.form.table, rows["unit_code"].to_pylist())
    check_across_periods(run.con, rec, table)
    form = table.form.code if table.form else None
    labels = slice_labels(rows)
    if table.accepted:
        assert table.form is not None and rows is not None
        replaced = load_accepted(run.con, entries, sid, form=table.form, rows=rows, sheet=table.sheet,
                                 findings=table.findings, labels=labels, group=run.group)
        fault_point("mid_load")
        outcome = TableOutcome(file=rec.file, sheet=table.sheet, form=form, status="accepted", submission_id=sid,
                               warnings=table.warnings, rows_loaded=rows.num_rows, replaced=replaced,
                               findings=table.findings, raw=table.raw, submitter=rec.submitter, slices=labels)
    else:
        entries.add(sid, sheet=table.sheet, form=form, status="rejected", findings=table.findings, slices=labels)
        outcome = TableOutcome(file=rec.file, sheet=table.sheet, form=form, status="rejected", submission_id=sid,
                               errors=table.errors, warnings=table.warnings, findings=table.findings, raw=table.raw,
                               submitter=rec.submitter)
    entries.footer(sid, table.footer)
    return outcome
