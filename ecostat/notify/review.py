"""The run's review step (contract v3 §9–§10): load the due dates, apply the decision journal's new records,
and tell the unit at once of each return — an alert through the outbox of alerts, and a note beside its
feedback in ``raw/outbox/<unit>/`` — and the reviewer of each decision that was refused."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb

from ecostat.common.display import printable
from ecostat.common.durable import open_folder, write_bytes
from ecostat.common.environment import SettingsError
from ecostat.contract.labels import form_label, unit_label
from ecostat.contract.operator_settings import Deadline, Settings, load_settings
from ecostat.notify.alerts import Alert, record
from ecostat.store.db import transaction
from ecostat.store.review import Applied, apply_decisions, load_deadlines

log = logging.getLogger(__name__)
NOTE_PREFIX = "审核退回"


def return_alert(a: Applied, run_id: str) -> Alert:
    """The unit's alert that a reviewer returned its report, with the reason."""
    d = a.decision
    what = f"{form_label(d.form)} {d.period}"
    return Alert(f"review:{d.decision_id}", "returned",
                 f"【ecostat】报表被退回 report returned：{unit_label(d.unit_code)} {what}",
                 f"{unit_label(d.unit_code)} 报送的 {what} 已被市局退回，请修改后重新报送。\n退回理由："
                 f"「{printable(d.text)}」\n审核人：{printable(d.login)}\n\n"
                 f"Your report {d.slice} was returned by the bureau; correct it and submit it again.\n"
                 f"Reason: 「{printable(d.text)}」", d.unit_code, None, run_id)


def refused_alert(a: Applied, run_id: str) -> Alert:
    """The operator's alert that a recorded decision could not be applied."""
    d = a.decision
    return Alert(f"review_refused:{d.decision_id}", "review_refused", f"【ecostat】审核决定未生效 decision refused："
                 f"{d.slice}", f"{printable(d.login)} 对 {d.slice} 的{d.kind}未生效：{a.refusal}",
                 None, None, run_id, operator_only=True)


def write_return_note(outbox: Path, a: Applied) -> None:
    """A Markdown note of the return beside the unit's feedback workbooks."""
    d = a.decision
    text = (f"# 报表被退回 Report returned\n\n- 报表 form：{form_label(d.form)}\n- 报告期 period：{d.period}\n"
            f"- 版本 version：{d.receipt_id}\n- 审核人 reviewer：{printable(d.login)}\n"
            f"- 时间 when：{d.at.isoformat() if d.at else ''}\n\n退回理由 reason：\n\n> {printable(d.text)}\n\n"
            "请修改后重新报送；重新报送的版本将重新进入待审核。 Correct it and submit again: the new version is "
            "pending review.\n")
    fd = open_folder(outbox, [d.unit_code], create=True)
    try:
        write_bytes(fd, f"{NOTE_PREFIX}_{d.form}_{d.period}_{d.decision_id[:8]}.md", text.encode("utf-8"))
    finally:
        os.close(fd)


def review_step(con: duckdb.DuckDBPyConnection, raw: Path, settings: Settings | None, run_id: str) -> list[Applied]:
    """Load the due dates and apply the new decisions; with ``settings`` (a run, not a rebuild), tell the unit
    of each return and the operator of each refused decision. Returns the decisions applied."""
    deadlines = settings.deadlines if settings is not None else _deadlines(raw)
    load_deadlines(con, deadlines)
    applied = apply_decisions(con, raw, run_id)
    if settings is None or not applied:
        return applied
    alerts = [return_alert(a, run_id) for a in applied if a.refusal is None and a.decision.kind == "return"]
    alerts += [refused_alert(a, run_id) for a in applied if a.refusal is not None]
    with transaction(con):
        record(con, alerts, settings)
    for a in applied:
        if a.refusal is None and a.decision.kind == "return":
            try:
                write_return_note(raw / "outbox", a)
            except OSError:  # an unwritable outbox must not hold the review back
                log.exception("return note for %s not written", a.decision.slice)
    return applied


def _deadlines(raw: Path) -> list[Deadline]:
    try:
        return list(load_settings(raw).deadlines)
    except (SettingsError, OSError):
        return []
