"""Checking one received file: every table of it read and checked on its own, or the one finding why the
file cannot be read; what went wrong in ecostat itself (a crash, a quarantine) kept for the operator.
Nothing here opens the warehouse but :func:`check_across_periods`, so a Dask worker checks files with it
(:mod:`ecostat.run.parallel`) as the writer does."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import traceback
from pathlib import Path
from typing import Any

import duckdb

from ecostat.check.codes import check_code_register
from ecostat.check.crossperiod import check_periods
from ecostat.check.explain import check_explanations
from ecostat.check.recognise import is_instructions
from ecostat.check.table import check_table
from ecostat.check.types import CheckedTable
from ecostat.check.untouched import without_untouched
from ecostat.common import budget
from ecostat.common.display import printable
from ecostat.common.environment import check_memory_bytes, max_file_bytes
from ecostat.common.faults import fault_point, stall_point
from ecostat.contract.catalogue import Finding, finding
from ecostat.intake import archive
from ecostat.intake.archive import Receipt
from ecostat.read.tables import read_tables
from ecostat.read.types import ReadError

log = logging.getLogger(__name__)
UNREAD_KINDS = {"symlink": "FILE_SYMLINK", "special": "FILE_NOT_REGULAR", "linked": "FILE_HARDLINK",
                "oversize": "FILE_TOO_LARGE"}

# A file's check: its checked tables, or the one finding why it cannot be read; and what went wrong in
# ecostat itself (a crash, a quarantine), for the operator.
Checked = tuple[list[CheckedTable] | Finding, str | None]


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
        return file_finding("AUTH_FOLDER", rec, detail=detail)
    try:
        with budget.file_budget():
            return _check_tables(rec, data, today)
    except ReadError as exc:
        return file_finding(exc.rule_id, rec, detail=exc.detail, value=exc.detail, **exc.params)
    except budget.OverBudget as exc:
        return time_finding(rec, exc.limit)


def checked(rec: Receipt, data: bytes) -> Checked:
    """:func:`check_file` of a receipt as of the day it was received, with what went wrong in ecostat itself
    if the check crashed (the file then gets ``FILE_CHECK_FAILED``: a bug must not stop the queue)."""
    try:
        fault_point("checking", rec.file)
        stall_point("stalling", rec.file)
        return check_file(rec, data, rec.received_at.date()), None
    except MemoryError:  # over the sandbox's address-space limit (ecostat.run.sandbox): the finding made below,
        pass  # once the traceback and what it holds are gone
    except Exception as exc:  # this file is held, the rest go on
        return check_crashed(rec, exc)
    return memory_finding(rec), None


def memory_finding(rec: Receipt) -> Finding:
    """``FILE_MEMORY_LIMIT``: checking the file needed more memory than a checking process may have."""
    return file_finding("FILE_MEMORY_LIMIT", rec, limit=_mb(check_memory_bytes()))


def time_finding(rec: Receipt, limit: float) -> Finding:
    """``FILE_TIME_BUDGET``: checking the file took longer than its budget of ``limit`` seconds."""
    return file_finding("FILE_TIME_BUDGET", rec, limit=f"{limit:g}")


def check_crashed(rec: Receipt, exc: BaseException) -> Checked:
    """A receipt whose check crashed in ecostat itself: ``FILE_CHECK_FAILED`` for it, the traceback for the
    operator (a bug must not stop the queue)."""
    log.error("checking %s failed", printable(rec.file), exc_info=exc)
    failure = "".join(traceback.format_exception(exc)[-6:])
    return file_finding("FILE_CHECK_FAILED", rec, detail=f"{type(exc).__name__}: {exc}"), failure


def check_archived(raw: Path, rec: Receipt) -> Checked:
    """:func:`checked` of a receipt's bytes from the archive under ``raw``; a damaged archive object holds
    this receipt back (``FILE_CHECK_FAILED``, the operator told), never the queue."""
    try:
        data = archived_bytes(raw, rec)
    except Exception:
        log.exception("archive object of %s unreadable", printable(rec.file))
        return (file_finding("FILE_CHECK_FAILED", rec, detail="archive object missing or corrupt"),
                f"its archived bytes (raw/archive/objects/{rec.sha256[:2]}/{rec.sha256}) are missing or corrupt")
    return checked(rec, data)


def quarantined(rec: Receipt, attempts: int, why: str) -> Checked:
    """A receipt that stopped ecostat ``attempts`` times, held for the operator without another check."""
    return file_finding("FILE_QUARANTINED", rec, attempts=attempts), why


def check_across_periods(con: duckdb.DuckDBPyConnection | None, rec: Receipt, table: CheckedTable,
                         earlier: list[CheckedTable] | None = None) -> None:
    """The cross-period and code-ownership rules against the warehouse as it is now (even beside other errors:
    one pass reports everything), then every finding of the table named after its file. ``earlier``: the
    file's accepted tables not loaded into the warehouse (a dry run)."""
    check_periods(con, table, earlier)
    check_explanations(con, table)  # warnings that need an explanation (contract v3 §8)
    for f in table.findings:
        f.file = rec.file
    table.drop_cells()  # the findings are final: a big table keeps only the cells its feedback quotes


def file_finding(rule_id: str, rec: Receipt, **params: Any) -> Finding:
    """The finding ``rule_id`` about a whole file, named after it."""
    f = finding(rule_id, **params)
    f.file = rec.file
    return f


def _check_tables(rec: Receipt, data: bytes, today: dt.date | None) -> list[CheckedTable]:
    checked = []
    for raw in (raws := read_tables(Path(rec.file), data)):
        if is_instructions(raw):
            continue
        table = check_table(raw, rec.submitter, today=today)
        check_code_register(table, rec.submitter)
        if not rec.name_exact:
            table.findings.insert(0, finding("FILE_NAME_ESCAPED", value=rec.file))
        checked.append(table)
    return without_untouched(rec.file, raws, checked)  # untouched template sheets skipped (§3.1)


def _unread_finding(rec: Receipt, data: bytes) -> Finding:
    """The finding for an inbox entry that was recorded but not read (a link, a FIFO, a hard link, too big)."""
    rule = UNREAD_KINDS[rec.kind]
    if rec.kind == "symlink":
        return file_finding(rule, rec, detail=printable(data.decode(errors="replace")))
    found: dict[str, Any] = json.loads(data)
    name = rec.file.rsplit("/", 1)[-1]
    if rec.kind == "oversize":
        return file_finding(rule, rec, value=name, size=_mb(int(found["size"])), limit=_mb(max_file_bytes()))
    return file_finding(rule, rec, value=name, links=found.get("links"),
                        detail=found.get("error") or found.get("mode"))


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
