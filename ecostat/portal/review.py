"""The reviewer's desk (contract v3 §9–§10), shared by the pages and the API: the queue of current slices by
state, one slice with its figures beside last year's, its warnings and explanations and its history, the
decision (approve, or return with a reason) and the reporting rates. Only a reviewer sees the queue and
decides (an admin manages accounts, a unit explains); the rules are the warehouse's own
(:func:`ecostat.store.review.decision_problem`), the decision a record in the archive's journal
(:func:`ecostat.intake.decisions.record_decision`), applied by the run the portal then starts."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd
from fastapi import HTTPException

from ecostat.common.display import printable
from ecostat.contract.forms import FORMS
from ecostat.contract.labels import unit_label
from ecostat.contract.registry import registry
from ecostat.intake.decisions import Decision, DecisionRefused, accounts, read_decisions, record_decision
from ecostat.portal import reports
from ecostat.portal.actions import NOT_FOUND
from ecostat.portal.security import Session, audit
from ecostat.portal.web import Portal
from ecostat.store.figures import annual_figures
from ecostat.store.review import STATES, current_version, decision_problem, review_list

KINDS = {"approve": "approval", "return": "return"}
_SLICE = re.compile(r"^([a-z_]{1,40}):([0-9A-Za-z_.@-]{1,64}):(\d{4}(?:-\d{2})?)$")
Row = dict[str, Any]


@dataclass
class SliceView:
    """One current slice as the reviewer sees it."""

    state: Row
    figures: list[Row] = field(default_factory=list)  # the unit's figures it feeds, with last year's value
    warnings: list[reports.ToExplain] = field(default_factory=list)
    versions: list[Row] = field(default_factory=list)  # every table that wrote it, newest first
    decisions: list[Row] = field(default_factory=list)  # every decision recorded on it, newest first

    @property
    def slice(self) -> str:
        """``form:unit:period``."""
        return f"{self.state['form']}:{self.state['unit_code']}:{self.state['period']}"

    def as_json(self) -> Row:
        """The slice for the API."""
        return {**_plain(self.state), "slice": self.slice, "figures": [_plain(f) for f in self.figures],
                "warnings": [w.as_json() for w in self.warnings], "versions": [_plain(v) for v in self.versions],
                "decisions": [_plain(d) for d in self.decisions]}


def _plain(row: Row) -> Row:
    """A row with JSON values (times as ISO text, NaN as None)."""
    out: Row = {}
    for k, v in row.items():
        if v is pd.NaT or (isinstance(v, float) and v != v):
            v = None
        elif hasattr(v, "isoformat"):
            v = v.isoformat()
        elif hasattr(v, "item"):  # numpy scalars
            v = v.item()
        out[k] = v
    return out


def _form_zh(form: str) -> str:
    return FORMS[form].zh if form in FORMS else form


def reviewer(sess: Session) -> None:
    """403 unless the account reviews."""
    if sess.account.role != "reviewer":
        raise HTTPException(403, "只有审核账号可以审核 / only a reviewer account reviews")


def parse_slice(text: str) -> tuple[str, str, str]:
    """``form:unit:period`` (the unit by code or name) → form, unit code, period; 404 for anything else."""
    parts = (text or "").split(":")
    unit = registry("units").resolve(parts[1].strip()) if len(parts) == 3 and len(parts[1]) <= 64 else None
    m = _SLICE.match(f"{parts[0]}:{unit.code}:{parts[2]}" if unit is not None else "")
    if m is None:
        raise HTTPException(404, NOT_FOUND)
    return m.group(1), m.group(2), m.group(3)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, args: list[object]) -> list[Row]:
    cur = con.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def queue(p: Portal, sess: Session, state: str | None, year: int | None = None) -> list[Row]:
    """The current slices of ``state`` (every state for None) and ``year`` (every year for None) by unit, form
    and period, each with the decision recorded on its version and not applied yet, if any (``recorded``)."""
    reviewer(sess)
    if state is not None and state not in STATES:
        raise HTTPException(400, f"状态应为 {'、'.join(STATES)} / state is one of {', '.join(STATES)}")
    with reports.warehouse_reader(p.warehouse) as con:
        if con is None:
            return []
        rows = [_plain(r) for r in review_list(con, state, year).to_dict("records")]
        applied = {i for (i,) in con.execute("SELECT decision_id FROM meta_review_decisions").fetchall()}
    waiting = {(d.form, d.unit_code, d.period, d.receipt_id): d.kind for d in read_decisions(p.raw)
               if d.kind != "explanation" and d.decision_id not in applied}
    for r in rows:
        r["slice"] = f"{r['form']}:{r['unit_code']}:{r['period']}"
        r["form_zh"], r["unit_zh"] = _form_zh(r["form"]), unit_label(r["unit_code"])
        r["recorded"] = waiting.get((r["form"], r["unit_code"], r["period"], r["receipt_id"]))
    return rows


def shown(p: Portal, sess: Session, text: str) -> SliceView:
    """One current slice with its figures beside last year's, warnings, explanations and history (404 for a
    slice with no current version)."""
    reviewer(sess)
    form, unit, period = parse_slice(text)
    with reports.warehouse_reader(p.warehouse) as con:
        state = current_version(con, form, unit, period) if con is not None else None
        if con is None or state is None:
            raise HTTPException(404, NOT_FOUND)
        view = SliceView(_plain(state))
        fed = {f for (f,) in con.execute("SELECT DISTINCT figure FROM core_figure_inputs WHERE scope = ? AND form = ? "
                                         "AND unit_code = ? AND period = ?", [unit, form, unit, period]).fetchall()}
        frame = annual_figures(con, int(period[:4]), unit, live=True)
        view.figures = [_plain(r) for r in frame.to_dict("records") if r["figure"] in fed]
        receipt = next((r for r in reports.visible_receipts(p.raw, sess.account)
                        if r.receipt_id == state["receipt_id"]), None)
        if receipt is not None:
            sub = reports.Submission(receipt, "")
            reports.review_details(con, [sub])
            view.warnings = [w for w in sub.warnings if (w.form, w.unit_code, w.period) == (form, unit, period)]
        view.versions = _rows(con, """SELECT v.submission_id, r.receipt_id, v.status, v.file, v.sheet, v.submitter,
                                             v.errors, v.warnings, v.rows_loaded, v.received_at
                                      FROM core_slice_versions v LEFT JOIN core_submission_receipts r
                                        USING (submission_id)
                                      WHERE v.form = ? AND v.unit_code = ? AND v.period = ?
                                      ORDER BY v.submission_id DESC""", [form, unit, period])
        view.decisions = _rows(con, """SELECT kind, receipt_id, login, decided_at, text, finding_key, applied,
                                              refusal FROM meta_review_decisions
                                       WHERE form = ? AND unit_code = ? AND period = ? ORDER BY position DESC""",
                               [form, unit, period])
    return view


def decide(p: Portal, con: sqlite3.Connection, sess: Session, where: str, text: str, kind: str, reason: str,
           version: str | None = None) -> Decision:
    """Approve (``approve``) or return (``return``, with ``reason``) a slice's current version — ``version``,
    when given, must still be it — as a decision record; then start a run that applies it. 422 with why for
    a decision the rules refuse (an unexplained warning, one's own submission, a reason too short)."""
    reviewer(sess)
    if kind not in KINDS:
        raise HTTPException(422, "决定应为 approve 或 return / the decision is approve or return")
    form, unit, period = parse_slice(text)
    target = f"{form}:{unit}:{period}"
    with reports.warehouse_reader(p.warehouse) as wh:
        state = current_version(wh, form, unit, period) if wh is not None else None
        if wh is None or state is None:
            raise HTTPException(404, NOT_FOUND)
        decision = Decision(KINDS[kind], form, unit, period, str(state["receipt_id"]), sess.account.login,
                            text=reason if kind == "return" else "")
        why = decision_problem(wh, decision, accounts(p.raw).get(decision.receipt_id))
    if why is None and version and version != decision.receipt_id:
        why = (f"{target} 已有新版本 {decision.receipt_id}，请重新审核 / {target} has a newer version "
               f"{decision.receipt_id}: review that one")
    try:
        if why is not None:
            raise DecisionRefused(why)
        entry = record_decision(p.raw, decision)
    except DecisionRefused as exc:
        audit(con, sess.account.login, where, kind, f"{target} {printable(reason)[:60]}", "refused")
        raise HTTPException(422, str(exc)) from None
    audit(con, sess.account.login, where, kind, f"{target} {printable(reason)[:60]}", "recorded")
    if p.runner is not None:
        p.runner.request()
    return entry


def rates(p: Portal, sess: Session) -> list[Row]:
    """Reporting rates (contract §10): a unit's own rows; a reviewer's, the city's (none for an admin)."""
    if sess.account.role not in ("unit", "reviewer"):
        return []
    city = sess.account.role == "reviewer"
    with reports.warehouse_reader(p.warehouse) as con:
        if con is None:
            return []
        rows = _rows(con, """SELECT form, period, due, scope, expected, received, accepted, approved, on_time, late,
                                    missing, on_time_rate FROM reporting_rates
                             WHERE (? AND is_city) OR (NOT ? AND scope = ?) ORDER BY form, period""",
                     [city, city, sess.account.unit])
    return [{**_plain(r), "form_zh": _form_zh(r["form"])} for r in rows]


def returned(p: Portal, sess: Session) -> list[Row]:
    """The unit's current slices that a reviewer returned, with the reason (all units' for a reviewer)."""
    with reports.warehouse_reader(p.warehouse) as con:
        if con is None:
            return []
        rows = _rows(con, """SELECT form, unit_code, period, receipt_id, decided_by, decided_at, reason
                             FROM review_states WHERE state = 'returned' ORDER BY unit_code, form, period""", [])
    return [{**_plain(r), "form_zh": _form_zh(r["form"])} for r in rows if sess.account.sees(r["unit_code"])]
