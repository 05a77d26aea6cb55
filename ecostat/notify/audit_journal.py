"""The audit at the end of an ingest run: on the published warehouse, after the write lock is released.

The run's audit (:func:`audit_published`) opens the published warehouse read-only (the frames come through
Arrow, :mod:`ecostat.notify.audit`) and writes its Data Docs beside it, as ``ecostat audit`` does. What an
audit inside a writer records in the warehouse, it journals beside it instead, in ONE durable line of
``<warehouse>.audits.jsonl`` (its commit point): every expectation's outcome, and the pending lines of its
failure alert (one per recipient, :func:`ecostat.notify.delivery.pending_lines`). Those lines are then
appended to the delivery journal too, where the run's delivery step (after this one) finds and sends them.
The next writer folds the audit journal into ``meta_audit_results`` and ``alerts`` (:func:`fold_audits`,
idempotent); until then the status site reads the run's audit from the journal (:func:`journaled_audits`).

A run killed during the audit has journaled nothing (its Data Docs may be half rewritten; the next audit
rewrites them); killed between the two appends, its alert is recorded by the next writer and sent by the
delivery that follows. An alert already recorded (in ``alerts``, the delivery journal or the audit
journal) is not journaled again, so an unchanged failure is alerted once. A crash of the audit itself
journals only the operator's alert. One audit of a warehouse at a time (:func:`audit_lock`, which
``ecostat audit`` takes too); each drops the journal's lines the published warehouse already holds.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb

from ecostat.common.durable import append_lines, flock, read_journal, write_bytes
from ecostat.common.faults import fault_point
from ecostat.contract.operator_settings import Settings
from ecostat.notify.audit import (
    AuditResult,
    Check,
    audit_year,
    crash_alert,
    docs_dir,
    failure_alert,
    run_audit,
    store_results,
)
from ecostat.notify.delivery import journal_lines, pending_lines, record_line, recorded
from ecostat.store.warehouse import connect

log = logging.getLogger(__name__)
LOCK_WAIT_SECONDS = 600  # an audit takes ~15 s here; ``ecostat audit`` of a big year longer


def audits_path(warehouse: Path) -> Path:
    """The audit journal beside a warehouse file."""
    return warehouse.with_name(warehouse.name + ".audits.jsonl")


@contextmanager
def audit_lock(warehouse: Path, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[bool]:
    """Hold the lock of the audits of ``warehouse`` (its Data Docs and audit journal); whether it was taken
    within ``wait_seconds``."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with open(warehouse.with_name(warehouse.name + ".audit.lock"), "a+", encoding="utf-8") as fh:
        yield flock(fh, wait_seconds)


def _parse(text: str) -> dict[str, Any]:
    line = json.loads(text)
    if not isinstance(line, dict) or not isinstance(line["audit_id"], str) or not isinstance(line["checks"], list):
        raise ValueError("not an audit line")
    return line


def read_audits(warehouse: Path) -> list[dict[str, Any]]:
    """The audit journal's lines, in order (a damaged line is set aside, :func:`read_journal`)."""
    return read_journal(audits_path(warehouse), _parse)


def _result(line: dict[str, Any]) -> AuditResult:
    return AuditResult(line["audit_id"], int(line["year"]), [Check(**c) for c in line["checks"]])


def audit_published(warehouse: Path, options: Settings, run_id: str) -> AuditResult | None:
    """Audit the published warehouse's :func:`audit_year` (None: nothing to audit, or the audit failed),
    journal its results and alert as the module says; never raises. A crash of the audit is logged with
    its traceback and alerted to the operator."""
    try:
        with audit_lock(warehouse) as mine:
            if not mine:
                log.warning("another audit of %s kept its lock: this run's audit is skipped", warehouse)
                return None
            return _audit(warehouse, options, run_id)
    except Exception:
        log.exception("audit of the published warehouse %s failed", warehouse)
        return None


def _audit(warehouse: Path, options: Settings, run_id: str) -> AuditResult | None:
    lines = read_audits(warehouse)
    result: AuditResult | None = None
    with connect(warehouse, read_only=True) as con:
        year = audit_year(con)
        if year is None:
            return None
        try:
            result = run_audit(con, year, docs_dir(warehouse))
            alert = failure_alert(result, run_id)
        except Exception as exc:
            log.exception("audit of %s crashed", year)
            alert = crash_alert(year, run_id, "".join(traceback.format_exception(exc)[-6:]))
        known = recorded(con, warehouse) | {(p["key"], p["rid"]) for line in lines for p in line.get("pending", [])}
        pending = pending_lines([alert] if alert and options.on_audit_failure else [], options, known)
        folded = _folded(con, [line["audit_id"] for line in lines])
    if result is not None:
        new = {"audit_id": result.audit_id, "run_id": run_id, "year": result.year,
               "audited_at": dt.datetime.now(dt.UTC).isoformat(), "checks": [asdict(c) for c in result.checks],
               "pending": pending}
        if folded:  # the lines the published warehouse holds are dropped, in the same atomic write
            keep = [line for line in lines if line["audit_id"] not in folded] + [new]
            data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in keep).encode("utf-8")
            write_bytes(warehouse.parent, audits_path(warehouse).name, data)
        else:
            append_lines(audits_path(warehouse), [json.dumps(new, ensure_ascii=False)])
        fault_point("audited")
    if pending:
        try:
            journal_lines(warehouse, pending)
        except OSError as exc:  # the results' line holds them: the next writer records them, its delivery sends
            log.warning("audit alert not journaled for delivery%s: %s",
                        "" if result else " (it is lost)", exc)
    return result


def _folded(con: duckdb.DuckDBPyConnection, audit_ids: list[str]) -> set[str]:
    """Which of ``audit_ids`` the warehouse of ``con`` holds."""
    if not audit_ids:
        return set()
    return {r[0] for r in con.execute("SELECT DISTINCT audit_id FROM meta_audit_results "
                                      "WHERE list_contains(?, audit_id)", [audit_ids]).fetchall()}


def fold_audits(con: duckdb.DuckDBPyConnection, warehouse: Path) -> int:
    """Record the audit journal's results in ``meta_audit_results`` and its alerts in ``alerts`` (in the
    caller's transaction), those not there yet; returns how many audits the journal holds."""
    lines = read_audits(warehouse)
    folded = _folded(con, [line["audit_id"] for line in lines])
    for line in lines:
        if line["audit_id"] not in folded:
            store_results(con, _result(line), line.get("run_id"), dt.datetime.fromisoformat(line["audited_at"]))
        for pending in line.get("pending", []):
            record_line(con, pending)
    return len(lines)


def journaled_audits(warehouse: Path) -> dict[str, dict[str, Any]]:
    """Per ingest run id, the outcome of its audit as journaled (the next writer folds it into
    ``meta_audit_results``): the columns of ``mart_run_overview`` that describe it."""
    out = {}
    for line in read_audits(warehouse):
        result = _result(line)
        if line.get("run_id"):
            out[str(line["run_id"])] = {"audit_year": result.year, "expectations": len(result.checks),
                                        "failed_errors": len(result.failed_errors),
                                        "failed_warnings": len(result.failed_warnings)}
    return out
