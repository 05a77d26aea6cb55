"""Group commit: the pending receipts applied in groups, one warehouse transaction per group, in receipt order.

A group takes files until it holds ``ECOSTAT_GROUP_FILES`` of them, has taken ``ECOSTAT_GROUP_SECONDS``, or
would hold more than :data:`GROUP_BYTES` of received bytes (a bigger file is a group alone). Inside it every
file is applied as if alone (:func:`ecostat.run.receipt.apply_receipt`): slice replacement, the cross-period
and ownership rules against the warehouse as the group's earlier files left it, feedback written, alerts
recorded as pending. The group commits as one, so a run killed at any point leaves the warehouse as it was
before the group or after it; the next run applies the whole group again, rewriting its feedback (written
atomically, the same again) and recording its alerts once (they are delivered only after publishing, from the
committed warehouse).

* A receipt on which a run died (its attempt is in the journal) is committed alone: two deaths quarantine
  the file that kills the writer, not the innocent files of its group.
* A group that fails (an exception, not a kill) is rolled back and its files applied again one per
  transaction, each from its check as it was made (:func:`pristine`): the file at fault fails alone, the
  files before it are committed. A file alone in its group keeps no such copy, which would hold a big table's
  cells until the commit.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ecostat.check.files import Checked
from ecostat.common import environment
from ecostat.common.display import printable
from ecostat.common.environment import MB
from ecostat.common.faults import fault_point
from ecostat.contract.catalogue import Finding
from ecostat.run.receipt import (
    ReceiptWork,
    RunContext,
    apply_receipt,
    journal_verdicts,
    needs_attempt,
    note_attempts,
    take_check,
)
from ecostat.store.outcomes import TableOutcome
from ecostat.store.warehouse import transaction

log = logging.getLogger(__name__)
GROUP_BYTES = 64 * MB  # received bytes in one group at most: its checks are held until it commits
Done = Callable[[ReceiptWork, list[TableOutcome]], None]  # told of each receipt once its transaction committed


@dataclass(frozen=True)
class GroupLimits:
    """When a group of files commits: at this many files, seconds or received bytes, whichever comes first."""

    files: int
    seconds: float
    size: int = GROUP_BYTES

    @classmethod
    def configured(cls) -> GroupLimits:
        """The limits ``ECOSTAT_GROUP_FILES`` and ``ECOSTAT_GROUP_SECONDS`` set."""
        return cls(environment.group_files(), environment.group_seconds())


def pristine(check: Checked | None) -> Checked | None:
    """A copy of a check that applying the original leaves as made (applying adds findings and lets a big
    table's cells go): what a failed group's files are applied again from. Only the lists are copied."""
    if check is None:
        return None
    tables, failure = check
    if isinstance(tables, Finding):
        return check
    return [dataclasses.replace(t, findings=list(t.findings), flagged=set(t.flagged)) for t in tables], failure


def apply_in_groups(run: RunContext, works: list[ReceiptWork], limits: GroupLimits, done: Done) -> int:
    """Apply every receipt of ``works`` in order, in groups (see the module's docstring); ``done`` is told of
    each receipt once its transaction has committed. Returns how many transactions committed them."""
    queue = deque(works)
    transactions = 0
    try:
        while queue:
            transactions += _apply_group(run, queue, limits, done)
    finally:
        run.threads.for_file(run.con, None)  # each file chose its statements' threads
    return transactions


def _apply_group(run: RunContext, queue: deque[ReceiptWork], limits: GroupLimits, done: Done) -> int:
    """Take the next group of receipts off ``queue`` and commit it; the transactions that took."""
    ahead = _note_ahead(run, queue, limits)
    taken: list[tuple[ReceiptWork, Checked | None]] = []
    applied: list[tuple[ReceiptWork, list[TableOutcome]]] = []
    started, size, taking = time.monotonic(), 0, False
    run.group.clear()
    run.group.ask_ahead(run.con, [w.rec.sha256 for w in ahead])
    try:
        with transaction(run.con):
            while queue and not _closes(len(taken), queue[0], size, started, limits):
                work = queue.popleft()
                taking = True
                check = take_check(work)
                taking = False
                size += work.rec.size
                alone = work.tried > 0 or size >= limits.size  # nothing joins it: it never replays
                taken.append((work, None if alone and not taken else pristine(check)))
                applied.append((work, apply_receipt(run, work, check)))
                fault_point("in_group", work.rec.file)
                if work.tried:
                    break  # a receipt a run died on commits alone
            _written(run)
            fault_point("before_commit")
    except Exception:
        if len(taken) < 2 or taking:  # the stage failed to hand a check over: no file is at fault
            raise
        log.warning("a group of %d files failed at %s; applying them one per transaction", len(taken),
                    printable(taken[-1][0].rec.file), exc_info=True)
        _feedback_written(run)  # before the files' feedback is written again
        for work, check in taken:
            _apply_alone(run, work, check, done)
        return len(taken)
    fault_point("loaded")
    journal_verdicts(run, applied)
    for work, outcomes in applied:
        done(work, outcomes)
    return 1


def _closes(files: int, following: ReceiptWork, size: int, started: float, limits: GroupLimits) -> bool:
    """Whether a group of ``files`` files commits before ``following``: it is full, or ``following`` is a
    receipt a run died on."""
    return files > 0 and (following.tried > 0 or files >= limits.files or size + following.rec.size > limits.size
                          or time.monotonic() - started >= limits.seconds)


def _note_ahead(run: RunContext, queue: deque[ReceiptWork], limits: GroupLimits) -> list[ReceiptWork]:
    """Note in the attempts journal, in one durable write, every receipt the next group may take (a run that
    dies in the group has died on each; one it does not reach is noted again by the next group: a run counts
    once); return them."""
    ahead: list[ReceiptWork] = []
    size, now = 0, time.monotonic()
    for work in queue:
        if _closes(len(ahead), work, size, now, limits) or (ahead and ahead[0].tried):
            break
        ahead.append(work)
        size += work.rec.size
    if run.attempts is not None:
        note_attempts(run.attempts, [w.rec.receipt_id for w in ahead if needs_attempt(run, w)], run.run_id)
    return ahead


def _apply_alone(run: RunContext, work: ReceiptWork, check: Checked | None, done: Done) -> None:
    """One receipt of a failed group in its own transaction, from its check as made (its attempt is noted)."""
    run.group.clear()
    with transaction(run.con):
        outcomes = apply_receipt(run, work, check)
        _written(run)
        fault_point("before_commit")
    fault_point("loaded")
    journal_verdicts(run, [(work, outcomes)])
    done(work, outcomes)


def _written(run: RunContext) -> None:
    """Before a transaction commits: write the logs of its files, and wait until their feedback is written."""
    run.group.write(run.con)
    _feedback_written(run)


def _feedback_written(run: RunContext) -> None:
    """Wait until the feedback of every file applied so far is written."""
    if run.feedback is not None:
        run.feedback.wait()
