"""The steps of an ingest run as plain functions; ``flows/ingest.py`` wires them as Prefect tasks.

1. :func:`ecostat.intake.inbox.receive_inbox`: every inbox entry's bytes go to the archive and its receipt to
   the journal (both durable) before it leaves the inbox.
2. :func:`process_receipt` each receipt the warehouse has not processed yet, in the order received,
   in ONE transaction per receipt: check every table, load the accepted ones, log the rest, write the
   file's feedback, record its alerts as pending, and mark the receipt processed. A run killed at any
   point leaves no partial file behind, and the next run completes the work exactly once. A receipt on
   which two runs died is quarantined by the third.
3. :func:`ecostat.store.figures.refresh_figures` notes which annual figures changed (skipped when no file
   was processed).
4. After the warehouse is published and its lock released, :func:`ecostat.notify.delivery.deliver_pending`
   sends the pending alerts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from ecostat.check.codes import check_code_register
from ecostat.check.crossperiod import check_periods
from ecostat.check.validation import CheckedTable, check_table, is_instructions
from ecostat.common import budget
from ecostat.common.display import printable
from ecostat.common.durable import append_lines, read_journal
from ecostat.common.environment import max_file_bytes
from ecostat.common.faults import fault_point
from ecostat.common.progress import FileProgress
from ecostat.contract.catalogue import Finding, finding
from ecostat.contract.operator_settings import Settings, load_settings
from ecostat.intake import archive, verdicts
from ecostat.intake.archive import Receipt
from ecostat.intake.inbox import receive_inbox
from ecostat.notify import alerts
from ecostat.notify.delivery import Delivery, deliver_pending, fold
from ecostat.publish.feedback import reports_from_outcomes, write_feedback
from ecostat.publish.sitestate import site_needs_rebuild
from ecostat.read.readers import RawTable, ReadError, read_tables
from ecostat.store.figures import refresh_figures
from ecostat.store.migrations import CONTRACT_VERSION
from ecostat.store.warehouse import (
    FileLog,
    already_loaded,
    load_accepted,
    next_submission_ids,
    processed_receipts,
    record_receipt,
    slice_labels,
    transaction,
)

log = logging.getLogger(__name__)
QUARANTINE_AFTER = 2  # runs that died while checking the same receipt
UNREAD_KINDS = {"symlink": "FILE_SYMLINK", "special": "FILE_NOT_REGULAR", "linked": "FILE_HARDLINK",
                "oversize": "FILE_TOO_LARGE"}

# A file's check: its checked tables, or the one finding why it cannot be read; and what went wrong in
# ecostat itself (a crash, a quarantine), for the operator.
Checked = tuple[list[CheckedTable] | Finding, str | None]
# Checks made elsewhere (ecostat.run.parallel): given the receipts to check, each one's id and check, in order.
Stage = Callable[[list[Receipt]], Iterable[tuple[str, Checked]]]


@dataclass
class TableOutcome:
    """What happened to one table (or to a file that could not be read)."""

    file: str
    sheet: str | None
    form: str | None
    status: str
    submission_id: int
    errors: int = 0
    warnings: int = 0
    rows_loaded: int = 0
    replaced: list[int] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    raw: RawTable | None = field(default=None, repr=False, compare=False)  # for the feedback workbook
    submitter: str | None = None  # the unit whose inbox folder the file came from
    slices: list[str] = field(default_factory=list)  # unit:period slices an accepted table wrote


def new_run_id() -> str:
    """A run id: UTC time and a random suffix."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def pending(con: duckdb.DuckDBPyConnection, raw: Path) -> list[Receipt]:
    """Journaled receipts the warehouse has not processed, in the order received."""
    done = processed_receipts(con)
    return [r for r in archive.receipts(raw / "archive") if r.receipt_id not in done]


def archived_bytes(raw: Path, rec: Receipt) -> bytes:
    """A receipt's bytes from the archive, checked against their hash."""
    data = archive.object_path(raw / "archive", rec.sha256).read_bytes()
    if hashlib.sha256(data).hexdigest() != rec.sha256:
        raise RuntimeError(f"archive object {rec.sha256} is corrupt")
    return data


def check_file(rec: Receipt, data: bytes, today: dt.date | None = None) -> list[CheckedTable] | Finding:
    """Every table of a file checked on its own, or the one finding that says why the file cannot be
    read. The cross-period rules follow, table by table, with :func:`check_across_periods`."""
    if rec.kind in UNREAD_KINDS:
        return _unread_finding(rec, data)
    if rec.submitter is None:
        detail = rec.file.split("/")[0] if "/" in rec.file else "raw/inbox/"
        return _file_finding("AUTH_FOLDER", rec, detail=detail)
    try:
        with budget.file_budget():
            return _check_tables(rec, data, today)
    except ReadError as exc:
        return _file_finding(exc.rule_id, rec, detail=exc.detail, value=exc.detail, **exc.params)
    except budget.OverBudget as exc:
        return _file_finding("FILE_TIME_BUDGET", rec, limit=f"{exc.limit:g}")


def checked(rec: Receipt, data: bytes) -> Checked:
    """:func:`check_file` of a receipt as of the day it was received, with what went wrong in ecostat itself
    if the check crashed (the file then gets ``FILE_CHECK_FAILED``: a bug must not stop the queue)."""
    try:
        fault_point("checking", rec.file)
        return check_file(rec, data, rec.received_at.date()), None
    except Exception as exc:  # this file is held, the rest go on
        return check_crashed(rec, exc)


def check_crashed(rec: Receipt, exc: BaseException) -> Checked:
    """A receipt whose check crashed in ecostat itself: ``FILE_CHECK_FAILED`` for it, the traceback for the
    operator (a bug must not stop the queue)."""
    log.error("checking %s failed", printable(rec.file), exc_info=exc)
    failure = "".join(traceback.format_exception(exc)[-6:])
    return _file_finding("FILE_CHECK_FAILED", rec, detail=f"{type(exc).__name__}: {exc}"), failure


def check_archived(raw: Path, rec: Receipt) -> Checked:
    """:func:`checked` of a receipt's bytes from the archive under ``raw``; a damaged archive object holds
    this receipt back (``FILE_CHECK_FAILED``, the operator told), never the queue."""
    try:
        data = archived_bytes(raw, rec)
    except Exception:
        log.exception("archive object of %s unreadable", printable(rec.file))
        return (_file_finding("FILE_CHECK_FAILED", rec, detail="archive object missing or corrupt"),
                f"its archived bytes (raw/archive/objects/{rec.sha256[:2]}/{rec.sha256}) are missing or corrupt")
    return checked(rec, data)


def quarantined(rec: Receipt, attempts: int, why: str) -> Checked:
    """A receipt that stopped ecostat ``attempts`` times, held for the operator without another check."""
    return _file_finding("FILE_QUARANTINED", rec, attempts=attempts), why


def kept_verdict(earlier: verdicts.Verdict | None) -> verdicts.Verdict | None:
    """A journaled verdict whose rejections stand: one an earlier contract version gave (contract §7)."""
    return earlier if earlier is not None and earlier.earlier and earlier.any_rejected else None


def to_check(tried: int, kept: verdicts.Verdict | None) -> bool:
    """Whether a pending receipt's bytes are read and checked: not when an earlier contract version rejected
    the whole file, nor when runs died on it :data:`QUARANTINE_AFTER` times."""
    return not (kept is not None and kept.file_rejected) and tried < QUARANTINE_AFTER


def _check_tables(rec: Receipt, data: bytes, today: dt.date | None) -> list[CheckedTable]:
    checked = []
    for raw in read_tables(Path(rec.file), data):
        if is_instructions(raw):
            continue
        table = check_table(raw, rec.submitter, today=today)
        check_code_register(table, rec.submitter)
        if not rec.name_exact:
            table.findings.insert(0, finding("FILE_NAME_ESCAPED", value=rec.file))
        checked.append(table)
    return checked


def _unread_finding(rec: Receipt, data: bytes) -> Finding:
    """The finding for an inbox entry that was recorded but not read (a link, a FIFO, a hard link, too big)."""
    rule = UNREAD_KINDS[rec.kind]
    if rec.kind == "symlink":
        return _file_finding(rule, rec, detail=printable(data.decode(errors="replace")))
    found: dict[str, Any] = json.loads(data)
    name = rec.file.rsplit("/", 1)[-1]
    if rec.kind == "oversize":
        return _file_finding(rule, rec, value=name, size=_mb(int(found["size"])), limit=_mb(max_file_bytes()))
    return _file_finding(rule, rec, value=name, links=found.get("links"),
                         detail=found.get("error") or found.get("mode"))


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def check_across_periods(con: duckdb.DuckDBPyConnection | None, rec: Receipt, table: CheckedTable,
                         earlier: list[CheckedTable] | None = None) -> None:
    """The cross-period and code-ownership rules against the warehouse as it is now (even beside other errors:
    one pass reports everything), then every finding of the table named after its file. ``earlier``: the
    file's accepted tables not loaded into the warehouse (a dry run)."""
    check_periods(con, table, earlier)
    for f in table.findings:
        f.file = rec.file


def _file_finding(rule_id: str, rec: Receipt, **params: Any) -> Finding:
    f = finding(rule_id, **params)
    f.file = rec.file
    return f


def attempts_path(warehouse: Path) -> Path:
    """The journal of the checks begun on a warehouse (beside it): two unfinished ones quarantine a receipt."""
    return warehouse.with_name(warehouse.name + ".attempts.jsonl")


def note_attempt(attempts: Path, receipt_id: str, run_id: str) -> None:
    """Record, durably and outside any warehouse transaction, that a run starts checking a receipt."""
    append_lines(attempts, [json.dumps({"receipt_id": receipt_id, "run_id": run_id,
                                        "at": dt.datetime.now(dt.UTC).isoformat()})])


def tries(attempts: Path) -> Counter[str]:
    """How many checks of each receipt were begun on this warehouse. A receipt whose check completed is
    processed and never checked again, so for a pending receipt each attempt is a run that died on it."""
    return Counter(read_journal(attempts, lambda line: str(json.loads(line)["receipt_id"])))


def process_receipt(con: duckdb.DuckDBPyConnection, raw: Path, rec: Receipt, run_id: str,
                    notify: Settings | None = None, tried: int = 0, earlier: verdicts.Verdict | None = None,
                    journal: bool = True, attempts: Path | None = None,
                    staged: Callable[[], Checked] | None = None) -> list[TableOutcome]:
    """Check a received file and load its accepted tables, all in one transaction.

    With ``notify`` (the alert settings), the file's feedback is written and its alerts are recorded as
    pending in the same transaction: a run killed before the commit does both again, so nobody goes
    unwarned. ``tried`` is how many earlier runs died while checking this receipt: from
    :data:`QUARANTINE_AFTER` on it is not checked again but held for the operator. ``earlier``: the
    receipt's verdict, if one was journaled: what an earlier contract version rejected stays rejected
    (contract §7). With ``journal``, the verdict is journaled once the transaction has committed. Each
    check begun is noted in ``attempts`` (the warehouse's attempts journal, :func:`attempts_path`).
    ``staged``: hands over the file's check, made ahead by a worker (:mod:`ecostat.run.parallel`), once the
    attempt is noted; without it the file is read from the archive and checked here.
    """
    if attempts is not None and tried < QUARANTINE_AFTER:
        note_attempt(attempts, rec.receipt_id, run_id)
    kept = kept_verdict(earlier)
    check = staged() if staged is not None else None
    with transaction(con):
        outcomes, failure = _process(con, raw, rec, run_id, tried, kept, check)
        record_receipt(con, rec, run_id)
        if notify is not None:
            try:
                send_feedback(con, raw / "outbox", rec, outcomes)
            except Exception:  # an unwritable outbox must not hold the data back
                log.exception("feedback for %s not written", printable(rec.file))
            found = [alerts.file_alert(rec, outcomes, run_id, notify, raw / "outbox"),
                     alerts.check_failed_alert(rec, run_id, failure) if failure else None]
            alerts.record(con, [a for a in found if a is not None], notify)
        fault_point("before_commit")
    fault_point("loaded")
    if journal:
        verdicts.write(raw / "archive", verdicts.Verdict(rec.receipt_id, kept.contract if kept else CONTRACT_VERSION,
                                                         tuple((o.sheet, o.form, o.status) for o in outcomes)))
    return outcomes


def _rejected_earlier(rec: Receipt, kept: verdicts.Verdict, what: str, what_en: str) -> Finding:
    return _file_finding("REJECTED_EARLIER", rec, what=what, what_en=what_en, contract=kept.contract,
                         current=CONTRACT_VERSION)


def _process(con: duckdb.DuckDBPyConnection, raw: Path, rec: Receipt, run_id: str, tried: int,
             kept: verdicts.Verdict | None = None, staged: Checked | None = None
             ) -> tuple[list[TableOutcome], str | None]:
    """The file's outcomes, and what went wrong in ecostat itself, if anything (for the operator).
    ``kept``: an earlier contract version's verdict whose rejections stand."""
    entries = FileLog(rec, run_id)
    outcomes, failure = _outcomes(con, raw, rec, entries, tried, kept, staged)
    entries.write(con)
    return outcomes, failure


def _outcomes(con: duckdb.DuckDBPyConnection, raw: Path, rec: Receipt, entries: FileLog, tried: int,
              kept: verdicts.Verdict | None, staged: Checked | None) -> tuple[list[TableOutcome], str | None]:
    if already_loaded(con, rec.sha256, rec.submitter):
        (sid,) = next_submission_ids(con, 1)
        entries.add(sid, sheet=None, form=None, status="duplicate", findings=[])
        return [TableOutcome(rec.file, None, None, "duplicate", sid, submitter=rec.submitter)], None
    failure = None
    if kept is not None and kept.file_rejected:
        result: list[CheckedTable] | Finding = _rejected_earlier(rec, kept, "文件", "file")
    elif tried >= QUARANTINE_AFTER:
        result, failure = quarantined(rec, tried, f"{tried} runs died while checking this file; it is "
                                                  "quarantined and was not checked again")
    else:
        result, failure = staged if staged is not None else check_archived(raw, rec)
    if isinstance(result, Finding):
        (sid,) = next_submission_ids(con, 1)
        entries.add(sid, sheet=None, form=None, status="rejected", findings=[result])
        return [TableOutcome(rec.file, None, None, "rejected", sid, errors=1, findings=[result],
                             submitter=rec.submitter)], failure
    outcomes = []
    for sid, table in zip(next_submission_ids(con, len(result)), result, strict=True):
        if kept is not None and kept.rejected_sheet(table.sheet):
            table.findings.insert(0, _rejected_earlier(rec, kept, "表", "table"))
        check_across_periods(con, rec, table)  # after the file's earlier tables loaded
        form = table.form.code if table.form else None
        if table.accepted:
            assert table.form is not None and table.frame is not None
            replaced = load_accepted(con, entries, sid, form=table.form, frame=table.frame, sheet=table.sheet,
                                     findings=table.findings)
            fault_point("mid_load")
            outcomes.append(TableOutcome(rec.file, table.sheet, form, "accepted", sid, 0, table.warnings,
                                         len(table.frame), replaced, table.findings, table.raw, rec.submitter,
                                         slice_labels(table.frame)))
        else:
            entries.add(sid, sheet=table.sheet, form=form, status="rejected", findings=table.findings,
                    slices=slice_labels(table.frame))
            outcomes.append(TableOutcome(rec.file, table.sheet, form, "rejected", sid, table.errors,
                                         table.warnings, 0, [], table.findings, table.raw, rec.submitter))
        entries.footer(sid, table.footer)
    return outcomes, failure


def send_feedback(con: duckdb.DuckDBPyConnection, outbox: Path, rec: Receipt,
                  outcomes: list[TableOutcome]) -> list[Path]:
    """Write the feedback workbook and Markdown summary of a processed file into the outbox."""
    if not outcomes:
        return []
    return list(write_feedback(outbox, rec.file, rec.submitter, reports_from_outcomes(con, outcomes)))


@dataclass
class RunSummary:
    """The outcome of one ingest run."""

    run_id: str
    files: int  # receipts processed
    tables: list[TableOutcome]
    figures_changed: int | None  # None: not refreshed, because no file was processed
    deliveries: list[Delivery] = field(default_factory=list)  # alert deliveries tried after publishing
    lock_seconds: float | None = None  # how long the run held the warehouse's write lock

    def count(self, status: str) -> int:
        """How many tables (or unreadable files) ended with ``status``."""
        return sum(t.status == status for t in self.tables)

    def text(self) -> str:
        """A short human summary, Chinese first; submitted text is shown escaped."""
        changed = "未重算（无新文件）" if self.figures_changed is None else f"{self.figures_changed} 项"
        lines = [f"本次处理文件 {self.files} 个：接收表 {self.count('accepted')} 张，退回 {self.count('rejected')} 张，"
                 f"重复 {self.count('duplicate')} 个；年度指标变化 {changed}。",
                 f"run {self.run_id}: {self.files} files, {self.count('accepted')} tables accepted, "
                 f"{self.count('rejected')} rejected, {self.count('duplicate')} duplicates, " + (
                     "nothing new: figures, audit and site skipped." if self.figures_changed is None
                     else f"{self.figures_changed} figures changed.")]
        for t in self.tables:
            if t.status == "rejected":
                where = printable(t.file) + (f" [{printable(t.sheet)}]" if t.sheet else "")
                first = next((f for f in t.findings if f.severity == "error"), None)
                reason = f"{first.where()}：{printable(first.message_zh)}" if first else ""
                lines.append(f"  退回 rejected: {where} — {t.errors} 个错误 errors; {reason}")
        if self.deliveries:
            ok = sum(d.delivered for d in self.deliveries)
            gone = sum(d.abandoned for d in self.deliveries)
            lines.append(f"告警 alerts：送达 {ok}，失败待重试 {len(self.deliveries) - ok - gone}，放弃 {gone} / "
                         f"{ok} delivered, {len(self.deliveries) - ok - gone} failed (retried by later runs), "
                         f"{gone} abandoned")
            lines += [f"  放弃 abandoned: {d.key} → {d.recipient}: {d.error}" for d in self.deliveries if d.abandoned]
        if self.lock_seconds is not None:
            lines.append(f"写锁占用 {self.lock_seconds:.1f} 秒 / write lock held {self.lock_seconds:.1f} s")
        return "\n".join(lines)


def start_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Register a new run."""
    con.execute("INSERT INTO meta_ingest_runs (run_id, started_at) VALUES (?, ?)", [run_id, dt.datetime.now(dt.UTC)])


def finish_run(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> None:
    """Record a run's counts."""
    con.execute("""UPDATE meta_ingest_runs SET finished_at = ?, files = ?, tables_accepted = ?,
                   tables_rejected = ?, duplicates = ?, figures_changed = ? WHERE run_id = ?""",
                [dt.datetime.now(dt.UTC), summary.files, summary.count("accepted"), summary.count("rejected"),
                 summary.count("duplicate"), summary.figures_changed or 0, summary.run_id])


def process_pending(con: duckdb.DuckDBPyConnection, raw: Path, run_id: str, settings: Settings | None,
                    progress: FileProgress | None = None, journal: bool = True,
                    attempts: Path | None = None, stage: Stage | None = None) -> RunSummary:
    """Process every pending receipt in order (with ``settings``: feedback and alerts too; with ``journal``,
    each verdict into the archive's journal; with ``attempts``, each check begun noted there, and a receipt
    two runs died on quarantined) and refresh the figures if any was processed.

    With ``stage``, the receipts to check are handed to it first, and their checks, which it yields in
    the same order, are applied here one by one, as if made here: the rules that need the warehouse (across
    periods, code ownership) and the loads run in this one writer, in receipt order."""
    receipts = pending(con, raw)
    tried = tries(attempts) if receipts and attempts is not None else Counter()
    judged = verdicts.read(raw / "archive") if receipts else {}
    checking = {r.receipt_id for r in receipts
                if to_check(tried.get(r.receipt_id, 0), kept_verdict(judged.get(r.receipt_id)))}
    staged = iter(stage([r for r in receipts if r.receipt_id in checking])) if stage and checking else None

    def handed(rec: Receipt) -> Checked:
        assert staged is not None
        receipt_id, check = next(staged)
        if receipt_id != rec.receipt_id:  # never: the stage keeps the order; if it did not, stop before loading
            raise RuntimeError(f"the check of receipt {receipt_id} came for receipt {rec.receipt_id}")
        return check

    progress = progress or FileProgress("files")
    progress.start(len(receipts))
    tables: list[TableOutcome] = []
    try:
        for rec in receipts:
            outcomes = process_receipt(con, raw, rec, run_id, settings, tried[rec.receipt_id],
                                       judged.get(rec.receipt_id), journal=journal, attempts=attempts,
                                       staged=partial(handed, rec) if staged and rec.receipt_id in checking else None)
            progress.step([t.status for t in outcomes])
            tables += outcomes
    finally:
        progress.close()
    return RunSummary(run_id, len(receipts), tables, refresh_figures(con, run_id) if receipts else None)


def write_run(con: duckdb.DuckDBPyConnection, raw: Path, warehouse: Path, run_id: str, settings: Settings,
              progress: FileProgress | None = None, stage: Stage | None = None) -> RunSummary:
    """All an ingest run does under the write lock after receiving: record the last deliveries' outcomes,
    register the run, journal the verdicts the archive lacks, process the pending receipts (checked by
    ``stage``'s workers, if given), record the alerts of reports overdue today."""
    with transaction(con):
        fold(con, warehouse)
        start_run(con, run_id)
    verdicts.backfill(con, raw / "archive")
    summary = process_pending(con, raw, run_id, settings, progress, attempts=attempts_path(warehouse),
                              stage=stage)
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
    summary = process_pending(con, raw, run_id, None, progress, journal=False, attempts=attempts)
    finish_run(con, summary)
    return summary


@dataclass
class WriteLock:
    """The working copy a run writes, and (once published) how long the run held the write lock."""

    work: Path
    seconds: float | None = None


@contextmanager
def locked_run(raw: Path, warehouse: Path, run_id: str, wait_seconds: float = 0.0) -> Iterator[WriteLock]:
    """Hold the warehouse's write lock for a run and publish its working copy at the end, timing it; a run
    that fails (other than finding the warehouse busy) alerts the operator with its ecostat run id."""
    from ecostat.store.writer import WarehouseBusy, writing

    try:
        with writing(warehouse, wait_seconds) as work:
            lock = WriteLock(work)
            started = time.monotonic()
            yield lock
        lock.seconds = time.monotonic() - started
    except WarehouseBusy:
        raise
    except Exception as exc:
        alerts.alert_failed_run(raw, warehouse, run_id, f"{type(exc).__name__}: {exc}")
        raise


def run_plain(raw: Path, warehouse: Path, wait_seconds: float = 0.0,
              progress: FileProgress | None = None) -> RunSummary:
    """A whole ingest run without Prefect: the flow's steps (but the audit) under the same write lock,
    then the alert deliveries, the status site (unless nothing changed) and, when a file was processed, the
    Parquet lake's refresh."""
    from ecostat.publish.site import build_site_after_run
    from ecostat.store import lake
    from ecostat.store.warehouse import connect

    settings = load_settings(raw)
    run_id = new_run_id()
    with locked_run(raw, warehouse, run_id, wait_seconds) as lock:
        receive_inbox(raw)
        with connect(lock.work, create=True) as con:
            summary = write_run(con, raw, warehouse, run_id, settings, progress)
    summary.lock_seconds = lock.seconds
    summary.deliveries = deliver_pending(warehouse, settings)
    if site_needs_rebuild(warehouse, files=summary.files, deliveries=len(summary.deliveries)):
        build_site_after_run(warehouse, raw)
    if summary.files:
        log.info(lake.refresh(warehouse))
    return summary
