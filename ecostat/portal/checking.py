"""The dry run behind "upload and check": the same code and words as ``ecostat validate`` (the file's own
rules, then the cross-period rules against the published warehouse, read-only), and what the page shows of
it: each table as a grid of its cells with the bad ones marked, every finding, and the feedback workbook."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ecostat.check.files import check_across_periods, checked
from ecostat.check.types import CheckedTable
from ecostat.common.display import printable
from ecostat.contract.catalogue import Finding
from ecostat.contract.normalize import column_letter
from ecostat.intake.archive import Receipt
from ecostat.publish.feedback import build_workbook, reports_from_check
from ecostat.read.sheetxml import column_index
from ecostat.read.types import RawTable
from ecostat.store.warehouse import connect

SUFFIXES = (".xlsx", ".xls", ".csv", ".json", ".parquet")
GRID_ROWS = 60  # rows of a table shown from its top; further rows are shown only when they have a finding
GRID_COLUMNS = 40


def suffix_of(name: str) -> str:
    """The file type the intake will read an upload as: its name's suffix when it is a known one, else
    ``.unknown`` (rejected with FILE_TYPE, as a dropped file would be)."""
    suffix = Path(name.replace("\\", "/").rsplit("/", 1)[-1]).suffix.lower()
    return suffix if suffix in SUFFIXES else ".unknown"


def shown_name(name: str, suffix: str) -> str:
    """An upload's name as findings and the feedback show it: escaped, no folder, at most 120 characters."""
    text = printable(name).replace("/", "_").replace("\\", "_")[-120:] or "upload"
    return text if text.lower().endswith(suffix) else text + suffix


@dataclass
class Mark:
    """The findings on one cell."""

    severity: str
    messages: list[str]


@dataclass
class Grid:
    """A table as the page draws it: column letters, rows of (row number, cell texts), marked cells."""

    columns: list[str]
    rows: list[tuple[int, list[str]]]
    marks: dict[tuple[int, str], Mark]
    cut: bool = False  # rows were left out (only the top and the rows with findings are shown)


@dataclass
class TableResult:
    """One table of a dry run."""

    sheet: str | None
    form: str | None
    status: str  # passed or rejected
    errors: int
    warnings: int
    findings: list[Finding]
    grid: Grid | None
    footer: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class DryRun:
    """A file's dry run: its tables (or the one finding why it cannot be read) and its feedback workbook."""

    file: str
    tables: list[TableResult]
    file_finding: Finding | None
    feedback: bytes
    cross_period: bool  # whether the warehouse could be read for the cross-period rules

    @property
    def errors(self) -> int:
        """Errors in the whole file."""
        return sum(t.errors for t in self.tables) + (self.file_finding is not None)

    def as_json(self) -> dict[str, object]:
        """The dry run for the API: tables and findings, without the grid."""
        return {"file": self.file, "errors": self.errors, "cross_period_checked": self.cross_period,
                "file_finding": self.file_finding.as_record() if self.file_finding else None,
                "tables": [{"sheet": t.sheet, "form": t.form, "status": t.status, "errors": t.errors,
                            "warnings": t.warnings, "findings": [f.as_record() for f in t.findings]}
                           for t in self.tables]}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return printable(value)[:200]


def grid(raw: RawTable, findings: list[Finding]) -> Grid:
    """The rows of a table to draw, with every finding put on its cell (a finding without a column marks its
    row's first cell)."""
    marked = {f.row for f in findings if f.row is not None}
    numbers = raw.rows.numbers()
    keep = [k for k, n in enumerate(numbers) if k < GRID_ROWS or n in marked]
    rows = [(n, [_cell(c) for c in cells[:GRID_COLUMNS]]) for n, cells in raw.rows.take(keep)]
    width = max((len(cells) for _, cells in rows), default=0)
    letters = [column_letter(i) for i in range(width)]
    marks: dict[tuple[int, str], Mark] = {}
    for f in findings:
        if f.row is None:
            continue
        col = f.column if f.column and column_index(f.column) < GRID_COLUMNS else "A"
        mark = marks.setdefault((f.row, col), Mark(f.severity, []))
        if f.severity == "error":
            mark.severity = "error"
        mark.messages.append(f"{f.rule_id}: {f.message_zh}")
    return Grid(letters, [(n, cells + [""] * (width - len(cells))) for n, cells in rows], marks,
                len(keep) < len(numbers))


def receipt(data: bytes, name: str, unit: str) -> Receipt:
    """An upload as if ``unit`` submitted it now: what its findings name it (:func:`shown_name`)."""
    now = dt.datetime.now(dt.UTC)
    return Receipt("dry-run", hashlib.sha256(data).hexdigest(), shown_name(name, suffix_of(name)), unit, len(data),
                   now, now)


def refused(rec: Receipt, found: Finding, cross_period: bool) -> DryRun:
    """The dry run of a file that has one finding about the whole file (unreadable, or its check stopped);
    ``cross_period``: whether the warehouse is there (the page then does not say there is none)."""
    return DryRun(rec.file, [], found, build_workbook(rec.file, reports_from_check(found)), cross_period)


def dry_run(data: bytes, name: str, unit: str, warehouse: Path | None) -> DryRun:
    """Check an upload as ``ecostat validate`` does, as if ``unit`` submitted it now (a check that crashes or
    runs out of memory gives its finding, as a received file's does: :func:`ecostat.check.files.checked`)."""
    rec = receipt(data, name, unit)
    con = None
    if warehouse is not None and warehouse.exists():
        try:
            con = connect(warehouse, read_only=True)
        except Exception:  # the page says the cross-period rules were not checked
            con = None
    try:
        result, _ = checked(rec, data)
        tables: list[CheckedTable] = [] if isinstance(result, Finding) else result
        for i, table in enumerate(tables):  # as if the file's earlier accepted tables were loaded
            check_across_periods(con, rec, table, [t for t in tables[:i] if t.accepted])
    finally:
        if con is not None:
            con.close()
    if isinstance(result, Finding):
        return refused(rec, result, con is not None)
    out = [TableResult(t.sheet, t.form.code if t.form else None, "passed" if t.accepted else "rejected", t.errors,
                       t.warnings, t.findings, grid(t.raw, t.findings) if t.raw is not None else None,
                       [(p.row, p.label, p.value) for p in t.footer]) for t in tables]
    return DryRun(rec.file, out, None, build_workbook(rec.file, reports_from_check(result)), con is not None)
