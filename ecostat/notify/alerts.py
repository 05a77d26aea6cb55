"""Alerts: who hears about a rejected file, warnings, a file ecostat failed to check, a missing report,
a failed run or a failed audit — and the text they get.

An alert is recorded as pending, once per recipient, in the transaction of what caused it
(:func:`record`); :mod:`ecostat.notify.delivery` sends it after the run has published. Any apprise URL works
(``dingtalk://``, ``wecombot://``, ``mailto://``, ``slack://``, ``json://``…); URLs carry tokens and
are never stored (:mod:`ecostat.notify.redaction`). A file gets one alert per recipient, whatever the
number of its tables; text from the submission is shown with its control characters escaped, and
apprise escapes it for each target's markup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ecostat.common.display import printable
from ecostat.contract.catalogue import Finding, rules
from ecostat.contract.labels import form_label, unit_label, unit_outbox
from ecostat.contract.operator_settings import Settings
from ecostat.notify.redaction import recipient_id, redact_url

if TYPE_CHECKING:
    from ecostat.intake.archive import Receipt
    from ecostat.store.outcomes import TableOutcome

FIRST_FINDINGS = 5


@dataclass
class Alert:
    """One message to send to every recipient of its unit (or to the operator only)."""

    key: str  # the same key is never recorded twice for the same recipient
    kind: str  # rejected | warnings | check_failed | missing | run_failed | audit_failed
    title: str
    body: str
    unit: str | None = None
    submission_id: int | None = None
    run_id: str | None = None
    operator_only: bool = False


def record(con: duckdb.DuckDBPyConnection, alerts: list[Alert], settings: Settings) -> None:
    """Record each alert as pending for each of its recipients, in the caller's transaction; an (alert key,
    recipient) already recorded is left as it is."""
    now = dt.datetime.now(dt.UTC)
    for a in alerts:
        for url in settings.recipients(a.unit, operator_only=a.operator_only):
            con.execute("""INSERT INTO alerts (alert_key, recipient_id, kind, recipient, unit_code, submission_id,
                                               run_id, title, body, attempts, delivered, created_at, status)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, false, ?, 'pending') ON CONFLICT DO NOTHING""",
                        [a.key, recipient_id(url), a.kind, redact_url(url), a.unit, a.submission_id, a.run_id,
                         a.title, a.body, now])


# ---------------------------------------------------------------- messages

def _quoted(text: object) -> str:
    """Submitted text inside a message: escaped and set off in 「」 so it never reads as ours."""
    return f"「{printable(text)}」"


def _finding_line(i: int, f: Finding) -> str:
    cell = f"{f.column or ''}{f.row or ''}" if f.column else (f"第{f.row}行" if f.row else "")
    where = " ".join(x for x in (f"[{_quoted(f.sheet)}]" if f.sheet else "", cell) if x)
    given = f" {_quoted(f.header)} = {_quoted(f.value)}" if f.header or f.value else ""
    return f"{i}. {where}{given}：{printable(f.message_zh)}（{printable(f.message_en)}）"


def system_side(findings: list[Finding]) -> bool:
    """Whether a file was held back by ecostat itself (a failed check), not by anything the unit did."""
    errors = [f for f in findings if f.severity == "error"]
    return bool(errors) and all(rules()[f.rule_id].stage == "system" for f in errors)


def file_alert(rec: Receipt, outcomes: list[TableOutcome], run_id: str, settings: Settings,
               outbox: Path) -> Alert | None:
    """The one alert about a processed file for its unit and the operator: its rejected tables (or, if the
    settings ask, its tables accepted with warnings), with the first findings and where the feedback is."""
    rejected = [t for t in outcomes if t.status == "rejected"]
    if rejected and settings.on_rejection:
        kind, shown = "rejected", rejected
    elif settings.on_warnings and (warned := [t for t in outcomes if t.status == "accepted" and t.warnings]):
        kind, shown = "warnings", warned
    else:
        return None
    findings = [f for t in shown for f in t.findings]
    held = kind == "rejected" and system_side(findings)
    severity = "error" if kind == "rejected" else "warning"
    first = [f for f in findings if f.severity == severity][:FIRST_FINDINGS]
    if held:
        head, advice = "报送文件暂未处理（系统原因，市局正在核查）", "无需修改或重新报送，市局核查后会处理此文件。"
    elif kind == "rejected":
        head, advice = "报送数据被退回", "退回的表未入库，请改正后重新报送。"
    else:
        head, advice = "报送数据有警告", "已入库，请核实。"
    lines = [f"单位：{unit_label(rec.submitter)}", f"文件：{_quoted(rec.file)}"]
    for t in shown:
        lines.append(f"- {'[' + _quoted(t.sheet) + '] ' if t.sheet else ''}{form_label(t.form)}：错误 {t.errors} 个，"
                     f"警告 {t.warnings} 个")
    lines += [advice, f"前 {len(first)} 条问题：", *(_finding_line(i, f) for i, f in enumerate(first, 1)),
              f"反馈文件：{unit_outbox(outbox, rec.submitter)}/", "",
              f"{'Held back by ecostat (the bureau is looking into it)' if held else kind.capitalize()}: "
              f"{printable(rec.file)}, unit {rec.submitter or '?'}: {len(shown)} of {len(outcomes)} tables, "
              f"{sum(t.errors for t in shown)} errors, {sum(t.warnings for t in shown)} warnings. "
              f"Feedback: {unit_outbox(outbox, rec.submitter)}/"]
    title = f"【ecostat】{head}：{unit_label(rec.submitter)} {_quoted(rec.file)}"
    return Alert(f"file:{rec.receipt_id}:{kind}", kind, title, "\n".join(lines), rec.submitter,
                 shown[0].submission_id, run_id)


def check_failed_alert(rec: Receipt, run_id: str, error: str) -> Alert:
    """The operator's alert that ecostat failed on a file (a bug, or a file that killed the process twice)."""
    body = (f"单位：{unit_label(rec.submitter)}\n文件：{_quoted(rec.file)}\n接收编号 receipt：{rec.receipt_id}\n"
            f"ecostat 处理此文件时出错，文件已存档未入库，填报单位已被告知市局正在核查：\n{printable(error)[:1500]}\n"
            "修复后请把该文件重新放入其收件目录。\n\n"
            f"ecostat failed on this file; it is archived, not loaded, and the unit was told the bureau is looking "
            f"into it. Error: {printable(error)[:500]}. After the fix, drop the file into its inbox folder again.")
    return Alert(f"check_failed:{rec.receipt_id}", "check_failed",
                 f"【ecostat】文件处理出错 check failed：{_quoted(rec.file)}", body, rec.submitter, None, run_id,
                 operator_only=True)


def missing_report_alerts(con: duckdb.DuckDBPyConnection, settings: Settings, today: dt.date,
                          run_id: str | None = None) -> list[Alert]:
    """For each deadline passed: one alert per unit that must submit the form and has no current report
    of that period (the key makes it once only)."""
    from ecostat.contract.obligations import overdue

    out = []
    for d, unit in overdue(con, settings.deadlines, today):
        body = (f"单位：{unit_label(unit)}\n报表：{form_label(d.form)}\n报告期：{d.period}\n"
                f"截止日期 {d.due.isoformat()} 已过，尚未收到该期报表，请尽快报送至收件目录 {unit}/。\n\n"
                f"Missing report: unit {unit} has not submitted form {d.form} for {d.period}, "
                f"due {d.due.isoformat()}.")
        out.append(Alert(f"missing:{d.form}:{unit}:{d.period}", "missing",
                         f"【ecostat】报表逾期未报：{unit_label(unit)} {form_label(d.form)} {d.period}",
                         body, unit, None, run_id))
    return out


def failed_run_alert(run_id: str, error: str) -> Alert:
    """The operator's alert for an ingest run that broke off (``run_id`` is ecostat's run id)."""
    return Alert(f"run_failed:{run_id}", "run_failed", f"【ecostat】入库运行失败 ingest run failed：{run_id}",
                 f"入库运行 {run_id} 异常中止：{printable(error)[:1000]}\n"
                 "已入库的表保持不变，下一次运行会重新处理未完成的文件。\n\n"
                 f"Ingest run {run_id} failed: {printable(error)[:1000]}", None, None, run_id, operator_only=True)


def alert_failed_run(raw: Path, warehouse: Path, run_id: str, error: str) -> list:  # type: ignore[type-arg]
    """Alert the operator at once that a run failed (if configured); never raises. The outcome is
    journaled beside the warehouse, so the next run records it in ``alerts``."""
    import logging

    from ecostat.contract.operator_settings import load_settings
    from ecostat.notify.delivery import send_unrecorded

    try:
        settings = load_settings(raw)
    except Exception as exc:
        logging.getLogger(__name__).warning("failed-run alert not sent, settings unreadable: %s", exc)
        return []
    if not settings.on_failed_run:
        return []
    return send_unrecorded([failed_run_alert(run_id, error)], warehouse, settings)
