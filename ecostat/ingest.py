"""The steps of an ingest run as plain functions; ``flows/ingest.py`` wires them as Prefect tasks.

1. :func:`receive` each inbox file: its bytes go to the archive and its receipt to the journal
   (both durable) before it leaves the inbox.
2. :func:`process_receipt` each receipt the warehouse has not processed yet, in the order received,
   in ONE transaction per receipt: check every table, load the accepted ones, log the rest, and
   mark the receipt processed. A run killed at any point leaves no partial file behind, and the
   next run completes the work exactly once.
3. :func:`refresh_figures` notes which annual figures changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import stat
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ecostat import alerts, archive
from ecostat.archive import Receipt
from ecostat.catalogue import Finding, finding
from ecostat.config import Settings, load_settings
from ecostat.crossperiod import check_periods
from ecostat.faults import fault_point
from ecostat.feedback import reports_from_outcomes, write_feedback
from ecostat.figures import refresh_figures
from ecostat.readers import RawTable, ReadError, read_tables
from ecostat.registry import registry
from ecostat.validation import CheckedTable, check_table, is_instructions
from ecostat.warehouse import (
    already_loaded,
    load_accepted,
    log_submission,
    processed_receipts,
    record_receipt,
    slice_labels,
)

# Left in the inbox: Excel's lock files, desktop litter, and uploads still in progress.
log = logging.getLogger(__name__)
IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
IGNORED_PREFIXES = ("~$",)
IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload")


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


@dataclass(frozen=True)
class InboxFile:
    """A file (or a symbolic link) found in the inbox."""

    path: Path
    file: str  # path under the inbox, with forward slashes
    submitter: str | None
    modified_at: dt.datetime
    is_link: bool = False


def new_run_id() -> str:
    """A run id: UTC time and a random suffix."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def submitter_of(inbox: Path, path: Path) -> tuple[str, str | None]:
    """The file's name under the inbox and the unit whose top folder holds it (None if no unit's).

    Only the top folder counts: ``360102/360103/x.csv`` is 360102's file.
    """
    rel = path.relative_to(inbox)
    folder = rel.parts[0] if len(rel.parts) > 1 else None
    entry = registry("units").resolve(folder) if folder else None
    return rel.as_posix(), entry.code if entry and entry.code == folder else None


def seed_inbox(raw: Path) -> bool:
    """On a fresh checkout (no ``raw/inbox`` yet), fill the inbox with the shipped ``raw/samples``."""
    inbox, samples = raw / "inbox", raw / "samples"
    if inbox.exists() or not samples.is_dir():
        return False
    shutil.copytree(samples, inbox)  # copy2: the samples' modification times set the order
    return True


def discover(inbox: Path) -> list[InboxFile]:
    """Every file under the inbox, in processing order (modification time, then name).

    Symbolic links (to files or folders) are listed, never followed.
    """
    found = []
    for dirpath, dirnames, filenames in os.walk(inbox):
        links = [d for d in dirnames if (Path(dirpath) / d).is_symlink()]
        for name in [*filenames, *links]:
            path = Path(dirpath) / name
            if name in IGNORED_NAMES or name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES):
                continue
            st = path.lstat()
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                continue
            rel, unit = submitter_of(inbox, path)
            found.append(InboxFile(path, rel, unit, dt.datetime.fromtimestamp(st.st_mtime, dt.UTC),
                                   stat.S_ISLNK(st.st_mode)))
    return sorted(found, key=lambda f: (f.modified_at, f.file))


def receive(raw: Path, item: InboxFile, journaled: set[tuple[str, str, int, dt.datetime]]) -> Receipt:
    """Archive a file's bytes and journal its receipt, durably; only then take it out of the inbox.

    ``journaled`` holds the drops already in the journal: a file whose receipt was journaled by a
    run killed before the file left the inbox is not journaled twice.
    """
    data = (b"symlink -> " + os.fsencode(os.readlink(item.path))) if item.is_link else item.path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    archive_dir = raw / "archive"
    archive.store(archive_dir, sha, data)
    fault_point("archived")
    receipt = Receipt(uuid.uuid4().hex, sha, item.file, item.submitter, len(data), item.modified_at,
                      dt.datetime.now(dt.UTC), "symlink" if item.is_link else "file")
    if receipt.drop not in journaled:
        archive.journal(archive_dir, receipt)
        journaled.add(receipt.drop)
    fault_point("journaled")
    item.path.unlink()
    return receipt


def receive_inbox(raw: Path) -> int:
    """Receive every file in the inbox; returns how many."""
    journaled = {r.drop for r in archive.receipts(raw / "archive")}
    items = discover(raw / "inbox")
    for item in items:
        receive(raw, item, journaled)
    return len(items)


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
    if rec.kind == "symlink":
        return _file_finding("FILE_SYMLINK", rec, detail=data.decode(errors="replace"))
    if rec.submitter is None:
        detail = rec.file.split("/")[0] if "/" in rec.file else "raw/inbox/"
        return _file_finding("AUTH_FOLDER", rec, detail=detail)
    try:
        raws = read_tables(Path(rec.file), data)
    except ReadError as exc:
        return _file_finding(exc.rule_id, rec, detail=exc.detail, value=exc.detail, **exc.params)
    checked = []
    for raw in raws:
        if is_instructions(raw):
            continue
        checked.append(check_table(raw, rec.submitter, today=today))
    return checked


def check_across_periods(con: duckdb.DuckDBPyConnection | None, rec: Receipt, table: CheckedTable) -> None:
    """The cross-period rules against the warehouse as it is now (even beside other errors: one pass
    reports everything), then every finding of the table named after its file."""
    check_periods(con, table)
    for f in table.findings:
        f.file = rec.file


def _file_finding(rule_id: str, rec: Receipt, **params: Any) -> Finding:
    f = finding(rule_id, **params)
    f.file = rec.file
    return f


def process_receipt(con: duckdb.DuckDBPyConnection, raw: Path, rec: Receipt, run_id: str,
                    notify: Settings | None = None) -> list[TableOutcome]:
    """Check a received file and load its accepted tables, all in one transaction.

    With ``notify`` (the alert settings), the file's feedback is written and its tables alerted
    before the commit: a run killed before the commit does both again, so nobody goes unwarned.
    """
    data = archived_bytes(raw, rec)
    con.execute("BEGIN")
    try:
        outcomes = _process(con, rec, data, run_id)
        record_receipt(con, rec, run_id)
        if notify is not None:
            try:
                send_feedback(con, raw / "outbox", rec, outcomes)
            except Exception:  # an unwritable outbox must not hold the data back
                log.exception("feedback for %s not written", rec.file)
            alerts.send(con, alerts.run_alerts(outcomes, run_id, notify), notify)
        fault_point("before_commit")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    fault_point("loaded")
    return outcomes


def _process(con: duckdb.DuckDBPyConnection, rec: Receipt, data: bytes, run_id: str) -> list[TableOutcome]:
    if already_loaded(con, rec.sha256, rec.submitter):
        sid = log_submission(con, rec, run_id, sheet=None, form=None, status="duplicate", findings=[])
        return [TableOutcome(rec.file, None, None, "duplicate", sid, submitter=rec.submitter)]
    try:
        result = check_file(rec, data, rec.received_at.date())
    except Exception as exc:  # a bug must not stop the queue: this file is rejected, the rest go on
        log.exception("checking %s failed", rec.file)
        result = _file_finding("FILE_CHECK_FAILED", rec, detail=f"{type(exc).__name__}: {exc}")
    if isinstance(result, Finding):
        sid = log_submission(con, rec, run_id, sheet=None, form=None, status="rejected", findings=[result])
        return [TableOutcome(rec.file, None, None, "rejected", sid, errors=1, findings=[result],
                             submitter=rec.submitter)]
    outcomes = []
    for table in result:
        check_across_periods(con, rec, table)  # after the file's earlier tables loaded
        form = table.form.code if table.form else None
        if table.accepted:
            assert table.form is not None and table.frame is not None
            sid, replaced = load_accepted(con, rec, run_id, form=table.form, frame=table.frame,
                                          sheet=table.sheet, findings=table.findings)
            fault_point("mid_load")
            outcomes.append(TableOutcome(rec.file, table.sheet, form, "accepted", sid, 0, table.warnings,
                                         len(table.frame), replaced, table.findings, table.raw, rec.submitter))
        else:
            sid = log_submission(con, rec, run_id, sheet=table.sheet, form=form, status="rejected",
                                 findings=table.findings, slices=slice_labels(table.frame))
            outcomes.append(TableOutcome(rec.file, table.sheet, form, "rejected", sid, table.errors,
                                         table.warnings, 0, [], table.findings, table.raw, rec.submitter))
    return outcomes


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
    files: int
    tables: list[TableOutcome]
    figures_changed: int

    def count(self, status: str) -> int:
        """How many tables (or unreadable files) ended with ``status``."""
        return sum(t.status == status for t in self.tables)

    def text(self) -> str:
        """A short human summary, Chinese first."""
        lines = [f"本次处理文件 {self.files} 个：接收表 {self.count('accepted')} 张，退回 {self.count('rejected')} 张，"
                 f"重复 {self.count('duplicate')} 个；年度指标变化 {self.figures_changed} 项。",
                 f"run {self.run_id}: {self.files} files, {self.count('accepted')} tables accepted, "
                 f"{self.count('rejected')} rejected, {self.count('duplicate')} duplicates, "
                 f"{self.figures_changed} figures changed."]
        for t in self.tables:
            if t.status == "rejected":
                where = f"{t.file}" + (f" [{t.sheet}]" if t.sheet else "")
                first = next((f for f in t.findings if f.severity == "error"), None)
                reason = f"{first.where()}：{first.message_zh}" if first else ""
                lines.append(f"  退回 rejected: {where} — {t.errors} 个错误 errors; {reason}")
        return "\n".join(lines)


def start_run(con: duckdb.DuckDBPyConnection) -> str:
    """Register a new run; returns its id."""
    run_id = new_run_id()
    con.execute("INSERT INTO meta_ingest_runs (run_id, started_at) VALUES (?, ?)", [run_id, dt.datetime.now(dt.UTC)])
    return run_id


def finish_run(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> None:
    """Record a run's counts."""
    con.execute("""UPDATE meta_ingest_runs SET finished_at = ?, files = ?, tables_accepted = ?,
                   tables_rejected = ?, duplicates = ?, figures_changed = ? WHERE run_id = ?""",
                [dt.datetime.now(dt.UTC), summary.files, summary.count("accepted"), summary.count("rejected"),
                 summary.count("duplicate"), summary.figures_changed, summary.run_id])


def replay(con: duckdb.DuckDBPyConnection, raw: Path, *, notify: bool = True) -> RunSummary:
    """Process every pending receipt in order and refresh the figures, without Prefect: what the
    flow does after receiving the inbox, and all that ``ecostat rebuild`` does (without ``notify``:
    no feedback, no alerts)."""
    run_id = start_run(con)
    receipts = pending(con, raw)
    settings = load_settings(raw) if notify else None
    tables = [t for rec in receipts for t in process_receipt(con, raw, rec, run_id, settings)]
    summary = RunSummary(run_id, len(receipts), tables, refresh_figures(con, run_id))
    finish_run(con, summary)
    return summary


def run_plain(raw: Path, warehouse: Path, wait_seconds: float = 0.0) -> RunSummary:
    """A whole ingest run without Prefect: the flow's steps under the same write lock, then the
    Parquet lake refreshed from the published warehouse."""
    from ecostat import lake
    from ecostat.warehouse import connect
    from ecostat.writer import writing

    with writing(warehouse, wait_seconds) as work, connect(work, create=True) as con:
        receive_inbox(raw)
        summary = replay(con, raw)
    log.info(lake.refresh(warehouse))
    return summary
