"""The steps of an ingest run as plain functions: find new files in the inbox, check each of
their tables, load the accepted ones, refresh the figures. ``flows/ingest.py`` wires them."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ecostat.catalogue import Finding, finding
from ecostat.crossperiod import check_periods
from ecostat.feedback import reports_from_outcomes, write_feedback
from ecostat.readers import RawTable, ReadError, read_tables
from ecostat.registry import registry
from ecostat.validation import CheckedTable, check_table, is_instructions
from ecostat.warehouse import Received, load_accepted, log_submission, record_file, seen

IGNORED_PREFIXES = (".", "~$")


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


def new_run_id() -> str:
    """A run id: UTC time and a random suffix."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def submitter_of(inbox: Path, path: Path) -> tuple[str, str | None]:
    """The file's name under the inbox and the unit whose folder holds it (None if no unit's)."""
    rel = path.relative_to(inbox)
    folder = rel.parts[0] if len(rel.parts) > 1 else None
    entry = registry("units").resolve(folder) if folder else None
    return rel.as_posix(), entry.code if entry and entry.code == folder else None


def discover(inbox: Path) -> list[Received]:
    """Every file under the inbox, in processing order (modification time, then name).

    Bytes are read (and hashed) only when the file is processed, by :func:`take`.
    """
    now = dt.datetime.now(dt.UTC)
    found = []
    for path in inbox.rglob("*"):
        if not path.is_file() or path.name.startswith(IGNORED_PREFIXES):
            continue
        rel, unit = submitter_of(inbox, path)
        found.append(Received(path, rel, unit, "", 0,
                              dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC), now))
    return sorted(found, key=lambda r: (r.modified_at, r.file))


def take(rec: Received) -> bytes:
    """Read a file's bytes once, noting their sha256 and size: what is parsed is what is hashed."""
    data = rec.path.read_bytes()
    rec.sha256, rec.size = hashlib.sha256(data).hexdigest(), len(data)
    return data


def check_file(rec: Received, data: bytes, con: duckdb.DuckDBPyConnection | None,
               today: dt.date | None = None) -> list[CheckedTable] | Finding:
    """Every table of a file checked, or the one finding that says why the file cannot be read.

    With a connection, each table is also checked across periods (even with other errors: one pass
    reports everything; cells that failed their own checks are left out of those rules).
    """
    if rec.submitter is None:
        detail = rec.file.split("/")[0] if "/" in rec.file else "raw/inbox/"
        return _file_finding("AUTH_FOLDER", rec, detail=detail)
    try:
        raws = read_tables(rec.path, data)
    except ReadError as exc:
        return _file_finding(exc.rule_id, rec, detail=exc.detail, value=exc.detail, **exc.params)
    checked = []
    for raw in raws:
        if is_instructions(raw):
            continue
        table = check_table(raw, rec.submitter, today=today)
        check_periods(con, table)
        checked.append(table)
    return checked


def _file_finding(rule_id: str, rec: Received, **params: Any) -> Finding:
    f = finding(rule_id, **params)
    f.file = rec.file
    return f


def process_file(con: duckdb.DuckDBPyConnection, rec: Received, run_id: str,
                 today: dt.date | None = None) -> list[TableOutcome]:
    """Check a received file and load each accepted table; a rejected table changes nothing else."""
    data = take(rec)
    state = seen(con, rec)
    if state == "same":
        return []
    outcomes = _process(con, rec, data, run_id, state, today)
    record_file(con, rec, run_id)  # last, so that a file whose processing broke off is taken again
    return outcomes


def _process(con: duckdb.DuckDBPyConnection, rec: Received, data: bytes, run_id: str, state: str | None,
             today: dt.date | None) -> list[TableOutcome]:
    if state == "duplicate":
        sid = log_submission(con, rec, run_id, sheet=None, form=None, status="duplicate", findings=[])
        return [TableOutcome(rec.file, None, None, "duplicate", sid)]
    result = check_file(rec, data, None, today)
    if isinstance(result, Finding):
        sid = log_submission(con, rec, run_id, sheet=None, form=None, status="rejected", findings=[result])
        return [TableOutcome(rec.file, None, None, "rejected", sid, errors=1, findings=[result])]
    outcomes = []
    for table in result:
        check_periods(con, table)  # against the warehouse as it is now, after the earlier tables loaded
        for f in table.findings:
            f.file = rec.file
        form = table.form.code if table.form else None
        if table.accepted:
            assert table.form is not None and table.frame is not None
            sid, replaced = load_accepted(con, rec, run_id, form=table.form, frame=table.frame,
                                          sheet=table.sheet, findings=table.findings)
            outcomes.append(TableOutcome(rec.file, table.sheet, form, "accepted", sid, 0, table.warnings,
                                         len(table.frame), replaced, table.findings, table.raw))
        else:
            sid = log_submission(con, rec, run_id, sheet=table.sheet, form=form, status="rejected",
                                 findings=table.findings)
            outcomes.append(TableOutcome(rec.file, table.sheet, form, "rejected", sid, table.errors,
                                         table.warnings, 0, [], table.findings, table.raw))
    return outcomes


def send_feedback(con: duckdb.DuckDBPyConnection, outbox: Path, rec: Received,
                  outcomes: list[TableOutcome]) -> list[Path]:
    """Write the feedback workbook and Markdown summary of a processed file into the outbox
    (nothing for a file skipped as already received)."""
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
