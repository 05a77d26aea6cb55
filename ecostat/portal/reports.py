"""What the portal reads of the published warehouse (read-only, each request the latest published version) and
of the archive's journal: submissions with their states, findings, warnings to explain and review states, and the
obligations due."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ecostat.common.durable import open_folder
from ecostat.contract.catalogue import needs_explanation
from ecostat.contract.obligations import units_required
from ecostat.contract.operator_settings import load_settings
from ecostat.intake import archive
from ecostat.intake.archive import Receipt
from ecostat.intake.decisions import read_decisions
from ecostat.portal.accounts import Account
from ecostat.publish.feedback import feedback_paths
from ecostat.store.warehouse import connect

STATE_LABELS = {"received": "已接收，待处理 received", "accepted": "已接收入库 accepted", "rejected": "退回 rejected",
                "superseded": "已被替代 superseded", "duplicate": "重复 duplicate",
                "partly": "部分接收 partly accepted"}


@dataclass
class Issue:
    """One finding of a processed table, with a stable id that explanations refer to."""

    finding_id: str
    submission_id: int
    sheet: str | None
    row: int | None
    column: str | None
    header: str | None
    value: str | None
    rule_id: str
    severity: str
    message_zh: str
    message_en: str

    @property
    def needs_explanation(self) -> bool:
        """Whether the unit must explain this warning (contract §8)."""
        return needs_explanation(self.rule_id)

    def as_json(self) -> dict[str, object]:
        """The finding for the API."""
        return {**self.__dict__, "needs_explanation": self.needs_explanation}


@dataclass
class Table:
    """One processed table of a submission."""

    submission_id: int
    sheet: str | None
    form: str | None
    status: str
    errors: int
    warnings: int
    rows_loaded: int
    issues: list[Issue] = field(default_factory=list)


@dataclass
class ToExplain:
    """A warning that needs an explanation (contract §8), with the explanation that stands, if any (the
    warehouse's ``explanations`` view), and one recorded but not applied yet by a run."""

    form: str
    unit_code: str
    period: str
    submission_id: int
    finding_key: str
    rule_id: str
    field: str
    value: str | None
    row_number: int | None
    message_zh: str
    message_en: str
    explanation: str | None
    source: str | None
    given_by: str | None
    given_at: object
    explained: bool
    is_current: bool
    recorded: str | None = None  # recorded in the decision journal, applied by the next run

    def as_json(self) -> dict[str, object]:
        """The warning for the API."""
        return {k: (str(v) if k == "given_at" and v is not None else v) for k, v in self.__dict__.items()}


@dataclass
class Submission:
    """A received file as its unit follows it."""

    receipt: Receipt
    name: str  # as sent through the portal, else the name in the inbox
    tables: list[Table] = field(default_factory=list)
    processed: bool = False
    warnings: list[ToExplain] = field(default_factory=list)
    reviews: list[tuple[str, str, str, str, str | None]] = field(default_factory=list)  # slice, state, reason

    @property
    def state(self) -> str:
        """received, accepted, rejected, superseded, duplicate or partly (accepted and rejected tables)."""
        if not self.processed:
            return "received"
        states = {t.status for t in self.tables}
        if "accepted" in states:
            return "partly" if "rejected" in states else "accepted"
        for s in ("superseded", "duplicate"):
            if s in states:
                return s
        return "rejected"

    def as_json(self) -> dict[str, object]:
        """The submission for the API."""
        r = self.receipt
        return {"id": r.receipt_id, "name": self.name, "file": r.file, "unit": r.submitter, "account": r.account,
                "received_at": r.received_at.isoformat(), "sha256": r.sha256, "size": r.size, "state": self.state,
                "tables": [{**{k: v for k, v in t.__dict__.items() if k != "issues"},
                            "findings": [i.as_json() for i in t.issues]} for t in self.tables],
                "warnings": [w.as_json() for w in self.warnings],
                "reviews": [{"form": f, "unit": u, "period": p, "state": s, "reason": r}
                            for f, u, p, s, r in self.reviews]}


def finding_id(submission_id: int, rule_id: str, sheet: str | None, row: object, column: object) -> str:
    """A finding's id: derived from where it is, so the same finding keeps it across rebuilds."""
    key = f"{submission_id}\x1f{rule_id}\x1f{sheet}\x1f{row}\x1f{column}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


_opened: dict[Path, tuple[tuple[int, int], duckdb.DuckDBPyConnection]] = {}
_opening = threading.Lock()


def _published(warehouse: Path) -> duckdb.DuckDBPyConnection | None:
    """One read-only connection per published version of the warehouse (a run publishes by renaming a new
    file over it: a new inode), opened once and shared by the requests.

    DuckDB keeps one database per path in a process: opened by the warehouse's own path, a later connection
    would get the version an earlier one still holds. So each version is opened through a hard link of its
    own name (removed at once: the open file stays), and the older version goes with its last cursor."""
    try:
        st = warehouse.stat()
    except FileNotFoundError:
        return None
    version = (st.st_ino, st.st_mtime_ns)
    with _opening:
        known = _opened.get(warehouse)
        if known is None or known[0] != version:
            link = warehouse.with_name(f".{warehouse.name}.portal-{os.getpid()}-{st.st_ino}-{st.st_mtime_ns}")
            link.unlink(missing_ok=True)
            os.link(warehouse, link)
            try:
                known = (version, connect(link, read_only=True))
            finally:
                link.unlink()
            _opened[warehouse] = known
        return known[1]


@contextmanager
def warehouse_reader(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """The published warehouse, read-only (a cursor of its version's connection, for this thread); None before
    the first run has published one."""
    con = _published(warehouse)
    if con is None:
        yield None
        return
    cursor = con.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


_journal: dict[Path, tuple[tuple[int, int], list[Receipt]]] = {}


def _receipts(raw: Path) -> list[Receipt]:
    """The archive's receipts, read again only when its journal has grown (it is only ever appended to)."""
    manifest = raw / "archive" / "manifest.jsonl"
    try:
        st = manifest.stat()
    except FileNotFoundError:
        return []
    known = _journal.get(manifest)
    if known is None or known[0] != (st.st_size, st.st_mtime_ns):
        known = ((st.st_size, st.st_mtime_ns), archive.receipts(raw / "archive"))
        _journal[manifest] = known
    return known[1]


def visible_receipts(raw: Path, account: Account) -> list[Receipt]:
    """The receipts of the files this account may see (a unit: its own unit's; a reviewer: all), newest first;
    only files (a link or a special file in the inbox has no submitter to show it to but a reviewer)."""
    return [r for r in reversed(_receipts(raw)) if account.sees(r.submitter)]


def submissions(con: duckdb.DuckDBPyConnection | None, receipts: list[Receipt], names: dict[str, tuple[str, str]],
                with_issues: bool = False) -> list[Submission]:
    """The submissions of these receipts with their tables (and findings, with ``with_issues``)."""
    out = [Submission(r, names.get(r.receipt_id, (r.file.rsplit("/", 1)[-1], ""))[0]) for r in receipts]
    if con is None or not out:
        return out
    ids = [s.receipt.receipt_id for s in out]
    processed = {r for (r,) in con.execute("SELECT receipt_id FROM meta_received_files WHERE list_contains(?, "
                                           "receipt_id)", [ids]).fetchall()}
    rows = con.execute("""SELECT f.receipt_id, l.submission_id, l.sheet, l.form, l.status, l.errors, l.warnings,
                                 l.rows_loaded
                          FROM meta_received_files f JOIN submission_log l
                            ON l.file = f.file AND l.sha256 = f.sha256 AND l.received_at = f.received_at
                          WHERE list_contains(?, f.receipt_id) ORDER BY l.submission_id""", [ids]).fetchall()
    tables: dict[str, list[Table]] = {}
    for rid, *cols in rows:
        tables.setdefault(rid, []).append(Table(*cols))
    if with_issues:
        by_sid = {t.submission_id: t for ts in tables.values() for t in ts}
        for sid, sheet, row, col, header, value, rule, sev, zh, en in con.execute(
                """SELECT submission_id, sheet, row_number, column_letter, header, value, rule_id, severity,
                          message_zh, message_en FROM validation_issues WHERE list_contains(?, submission_id)
                   ORDER BY submission_id, row_number NULLS FIRST, column_letter""", [sorted(by_sid)]).fetchall():
            by_sid[sid].issues.append(Issue(finding_id(sid, rule, sheet, row, col), sid, sheet, row, col, header,
                                            value, rule, sev, zh, en))
    for s in out:
        s.processed = s.receipt.receipt_id in processed
        s.tables = tables.get(s.receipt.receipt_id, [])
    if with_issues:
        review_details(con, out)
    return out


def review_details(con: duckdb.DuckDBPyConnection, out: list[Submission]) -> None:
    """The warnings needing explanations of these submissions, and their slices' review states (§8, §9)."""
    by_id = {s.receipt.receipt_id: s for s in out}
    ids = list(by_id)
    for rid, *cols in con.execute(
            """SELECT receipt_id, form, unit_code, period, submission_id, finding_key, rule_id, field, value,
                      row_number, message_zh, message_en, explanation, source, given_by, given_at, explained,
                      is_current
               FROM explanations WHERE list_contains(?, receipt_id) ORDER BY submission_id, row_number, finding_key""",
            [ids]).fetchall():
        by_id[rid].warnings.append(ToExplain(*cols))
    for rid, form, unit, period, state, reason in con.execute(
            """SELECT receipt_id, form, unit_code, period, state, reason FROM review_states
               WHERE list_contains(?, receipt_id) ORDER BY form, unit_code, period""", [ids]).fetchall():
        by_id[rid].reviews.append((form, unit, period, state, reason))


def recorded_explanations(raw: Path, sub: Submission) -> None:
    """Mark the submission's warnings with the explanation last recorded for them in the decision journal, when
    no run has applied it yet."""
    latest = {(d.form, d.unit_code, d.period, d.finding_key): d.text for d in read_decisions(raw)
              if d.kind == "explanation" and d.receipt_id == sub.receipt.receipt_id}
    for w in sub.warnings:
        text = latest.get((w.form, w.unit_code, w.period, w.finding_key))
        if text is not None and text != w.explanation:
            w.recorded = text


def feedback_bytes(raw: Path, rec: Receipt) -> bytes | None:
    """The feedback workbook the run wrote for a receipt, read without following any link; None if none."""
    outbox = raw / "outbox"
    xlsx = feedback_paths(outbox, rec.file, rec.submitter)[0]
    try:
        folder = open_folder(outbox, list(xlsx.relative_to(outbox).parts[:-1]))
    except OSError:
        return None
    try:
        fd = os.open(xlsx.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return None
    finally:
        os.close(folder)
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def obligations(raw: Path, unit: str | None) -> list[tuple[str, str, dt.date]]:
    """The deadlines of the settings that oblige ``unit`` (every deadline for None): (form, period, due)."""
    try:
        deadlines = load_settings(raw).deadlines
    except Exception:  # the settings' errors are the operator's, shown by the runs
        return []
    return [(d.form, d.period, d.due) for d in deadlines if unit is None or unit in units_required(d.form)]
