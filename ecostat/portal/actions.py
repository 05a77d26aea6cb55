"""The portal's actions, shared by the pages and the API: check, submit, list and show submissions, explain.
Each checks who may do it, and audits it."""

from __future__ import annotations

import sqlite3

from fastapi import HTTPException

from ecostat.common.display import printable
from ecostat.intake.archive import Receipt
from ecostat.intake.decisions import Decision, DecisionRefused, record_decision
from ecostat.portal import pool, reports, uploads
from ecostat.portal.checking import DryRun
from ecostat.portal.reports import Submission
from ecostat.portal.security import Session, audit
from ecostat.portal.uploads import Upload
from ecostat.portal.web import Portal

NOT_FOUND = "未找到 / not found"


async def check(p: Portal, sess: Session, where: str, name: str, data: bytes) -> tuple[DryRun, Upload]:
    """Dry-run an upload for the account's unit (in a checking process) and keep it (with its feedback
    workbook) for submitting."""
    result = await pool.checked(data, name, sess.account.unit, p.warehouse)
    with p.db() as con:
        return result, _keep(p, con, sess, where, name, data, result)


def _keep(p: Portal, con: sqlite3.Connection, sess: Session, where: str, name: str, data: bytes,
          result: DryRun) -> Upload:
    upload = uploads.keep(con, p.warehouse, sess.account, name, data)
    (uploads.staging(p.warehouse) / f"{upload.token}.feedback").write_bytes(result.feedback)
    audit(con, sess.account.login, where, "check", f"{upload.sha256[:12]} {printable(name)[:100]}",
          f"{result.errors} errors")
    return upload


def checked_feedback(p: Portal, con: sqlite3.Connection, sess: Session, token: str) -> tuple[Upload, bytes]:
    """The feedback workbook of the account's own checked upload."""
    upload = uploads.kept(con, sess.account, token)
    path = uploads.staging(p.warehouse) / f"{token}.feedback"
    if upload is None or not path.is_file():
        raise HTTPException(404, NOT_FOUND)
    return upload, path.read_bytes()


def submit(p: Portal, con: sqlite3.Connection, sess: Session, where: str, name: str, data: bytes) -> Receipt:
    """Submit a file for the account's unit into the inbox, then start an ingest run."""
    receipt = uploads.submit(con, p.raw, sess.account, name, data)
    audit(con, sess.account.login, where, "submit", f"{receipt.receipt_id} {printable(name)[:100]}", "received")
    if p.runner is not None:
        p.runner.request()
    return receipt


def submit_checked(p: Portal, con: sqlite3.Connection, sess: Session, where: str, token: str) -> Receipt:
    """Submit the account's own checked upload."""
    upload = uploads.kept(con, sess.account, token)
    if upload is None:
        raise HTTPException(404, NOT_FOUND)
    return submit(p, con, sess, where, upload.name, uploads.kept_bytes(p.warehouse, upload))


def listed(p: Portal, con: sqlite3.Connection, sess: Session) -> list[Submission]:
    """Every submission the account may see, newest first, with its state."""
    with reports.warehouse_reader(p.warehouse) as wh:
        return reports.submissions(wh, reports.visible_receipts(p.raw, sess.account), uploads.original_names(con))


def shown(p: Portal, con: sqlite3.Connection, sess: Session, receipt_id: str) -> Submission:
    """One submission the account may see (404 for any other id: another unit's is not told apart from none),
    with its findings, its warnings needing explanations and its review states."""
    receipt = next((r for r in reports.visible_receipts(p.raw, sess.account) if r.receipt_id == receipt_id), None)
    if receipt is None:
        raise HTTPException(404, NOT_FOUND)
    with reports.warehouse_reader(p.warehouse) as wh:
        (sub,) = reports.submissions(wh, [receipt], uploads.original_names(con), with_issues=True)
    reports.recorded_explanations(p.raw, sub)
    return sub


def feedback(p: Portal, sess: Session, receipt_id: str) -> tuple[Receipt, bytes]:
    """The feedback workbook the run wrote for a submission the account may see."""
    receipt = next((r for r in reports.visible_receipts(p.raw, sess.account) if r.receipt_id == receipt_id), None)
    data = reports.feedback_bytes(p.raw, receipt) if receipt else None
    if receipt is None or data is None:
        raise HTTPException(404, NOT_FOUND)
    return receipt, data


def explain(p: Portal, con: sqlite3.Connection, sess: Session, where: str, receipt_id: str, finding_key: str,
            text: str) -> Decision:
    """Record the unit's explanation of a warning of its own submission's current version in the archive's
    decision journal (as ``ecostat review explain`` does), then start a run that applies it. 422 for a text
    that says nothing, 404 for a warning it may not explain."""
    if sess.account.role != "unit":
        raise HTTPException(403, "只有填报单位可以填写说明 / only a unit account explains")
    sub = shown(p, con, sess, receipt_id)
    warning = next((w for w in sub.warnings if w.finding_key == finding_key and w.is_current), None)
    if warning is None:
        raise HTTPException(404, NOT_FOUND)
    try:
        entry = record_decision(p.raw, Decision("explanation", warning.form, warning.unit_code, warning.period,
                                                receipt_id, sess.account.login, text, finding_key))
    except DecisionRefused as exc:
        audit(con, sess.account.login, where, "explain", f"{receipt_id} {printable(finding_key)[:100]}", "refused")
        raise HTTPException(422, str(exc)) from None
    audit(con, sess.account.login, where, "explain", f"{receipt_id} {printable(finding_key)[:100]}", "recorded")
    if p.runner is not None:
        p.runner.request()
    return entry
