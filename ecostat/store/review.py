"""The review desk in the warehouse (contract v3 §8–§10): the one writer applies the decision journal's new
records in order (:func:`apply_decisions`), each applied or refused with why, into
``meta_review_decisions``; ``review_states``, ``explanations`` and ``reporting_rates`` are views over them.

The rules of §9, judged against the warehouse when a decision is applied (and by the CLI before it records
one, :func:`decision_problem`): a decision names the slice's current version; a slice with a warning that
needs an explanation and has none cannot be approved; nobody approves what they submitted (where the
receipt names the submitting account); an explanation names a warning of that version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ecostat.contract.operator_settings import Deadline
from ecostat.intake.decisions import Decision, accounts, problem, read_decisions
from ecostat.store.db import transaction

STATES = ("pending", "approved", "returned")


@dataclass(frozen=True)
class Applied:
    """A decision as the writer applied it: ``refusal`` says why it was not."""

    decision: Decision
    refusal: str | None


def load_deadlines(con: duckdb.DuckDBPyConnection, deadlines: Sequence[Deadline]) -> None:
    """Replace ``meta_deadlines`` with the operator's due dates (what units owe, for ``reporting_rates``)."""
    with transaction(con):
        con.execute("DELETE FROM meta_deadlines")
        rows = {(d.form, d.period): d.due for d in deadlines}
        if rows:
            con.executemany("INSERT INTO meta_deadlines VALUES (?, ?, ?)",
                            [[f, p, due] for (f, p), due in rows.items()])


def current_version(con: duckdb.DuckDBPyConnection, form: str, unit: str, period: str) -> dict[str, Any] | None:
    """The review state of a current slice (a row of ``review_states``), or None."""
    frame = con.execute("SELECT * FROM review_states WHERE form = ? AND unit_code = ? AND period = ?",
                        [form, unit, period]).df()
    return None if frame.empty else frame.iloc[0].to_dict()


def decision_problem(con: duckdb.DuckDBPyConnection, d: Decision, submitted_by: str | None) -> str | None:
    """Why ``d`` cannot be applied to the warehouse as it is now (Chinese / English), or None.
    ``submitted_by``: the account that submitted the version, if a portal account did."""
    why = problem(d)
    if why is not None:
        return why
    if d.kind == "explanation":
        hit = con.execute("""SELECT count(*) FROM meta_review_warnings w
                             JOIN core_submission_receipts l USING (submission_id)
                             WHERE l.receipt_id = ? AND w.form = ? AND w.unit_code = ? AND w.period = ?
                               AND w.finding_key = ?""",
                          [d.receipt_id, d.form, d.unit_code, d.period, d.finding_key]).fetchone()
        if hit == (0,):
            return (f"{d.slice} 的版本 {d.receipt_id} 没有需说明的问题“{d.finding_key}” / version {d.receipt_id} of "
                    f"{d.slice} has no warning {d.finding_key!r} to explain")
        return None
    state = current_version(con, d.form, d.unit_code, d.period)
    if state is None:
        return f"{d.slice} 没有现行数据 / {d.slice} has no current report"
    if state["receipt_id"] != d.receipt_id:
        return (f"{d.slice} 已有新版本 {state['receipt_id']}，待审核 / {d.slice} has a newer version "
                f"{state['receipt_id']} (pending): decide on that one")
    if d.kind == "approval":
        if int(state["unexplained"]) > 0:
            return (f"{d.slice} 有 {state['unexplained']} 项需说明的警告尚未说明，不能通过 / {d.slice} has "
                    f"{state['unexplained']} warning(s) needing an explanation without one: it cannot be approved")
        if submitted_by is not None and submitted_by == d.login:
            return (f"{d.login} 报送了 {d.slice}，不能审核通过本人报送的数据 / {d.login} submitted {d.slice}: "
                    "nobody approves what they submitted")
    return None


def apply_decisions(con: duckdb.DuckDBPyConnection, raw: Path, run_id: str) -> list[Applied]:
    """Apply, in journal order and one transaction, every decision of ``raw``'s archive not applied yet:
    each goes to ``meta_review_decisions``, applied or refused with why. Returns them."""
    known = {i for (i,) in con.execute("SELECT decision_id FROM meta_review_decisions").fetchall()}
    new = [(k, d) for k, d in enumerate(read_decisions(raw)) if d.decision_id not in known]
    if not new:
        return []
    submitted = accounts(raw)
    done = []
    with transaction(con):
        for position, d in new:
            refusal = decision_problem(con, d, submitted.get(d.receipt_id))
            con.execute("INSERT INTO meta_review_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [d.decision_id, position, d.kind, d.form, d.unit_code, d.period, d.receipt_id,
                         d.finding_key, d.text, d.login, d.at or dt.datetime.now(dt.UTC), refusal is None,
                         refusal, run_id])
            known.add(d.decision_id)
            done.append(Applied(d, refusal))
    return done


def review_list(con: duckdb.DuckDBPyConnection, state: str | None = None, year: int | None = None) -> pd.DataFrame:
    """The review queue: every current slice (of ``state`` and ``year``, if given) by unit, form and period."""
    return con.execute("""SELECT form, unit_code, period, state, state_zh, receipt_id, submitter, received_at,
                                 warnings, unexplained, decided_by, decided_at, reason
                          FROM review_states WHERE (? IS NULL OR state = ?) AND (? IS NULL OR year = ?)
                          ORDER BY unit_code, form, period""", [state, state, year, year]).df()


def unapproved_inputs(con: duckdb.DuckDBPyConnection, year: int) -> pd.DataFrame:
    """Every slice feeding a figure of ``year`` that is not approved, with its state."""
    return con.execute("""SELECT DISTINCT form, unit_code, period, state FROM core_figure_inputs
                          WHERE year = ? AND state <> 'approved' ORDER BY unit_code, form, period""", [year]).df()


def figures_approved(con: duckdb.DuckDBPyConnection, year: int, scope: str) -> dict[tuple[str, str | None], bool]:
    """Per (figure, dimension) of ``year`` and ``scope``: whether every report it rests on is approved."""
    return {(f, d): bool(a) for f, d, a in con.execute(
        "SELECT figure, dimension, inputs_approved FROM annual_figures WHERE year = ? AND scope = ? "
        "AND inputs_approved IS NOT NULL", [year, scope]).fetchall()}
