"""What a run shows in the Prefect UI: a Markdown summary and a table of every file's outcome and findings.
Submitted text (file names, sheets, cells) is escaped for Markdown."""

from __future__ import annotations

from ecostat.common.display import markdown_text, printable
from ecostat.contract.labels import form_label, unit_label
from ecostat.notify.audit import AuditResult
from ecostat.run.summary import RunSummary

FINDINGS_SHOWN = 500


def run_markdown(summary: RunSummary, audit: AuditResult | None) -> str:
    """The run summary: tables accepted and rejected, alerts sent, figures changed, the audit's outcome."""
    deliveries = summary.deliveries
    sent = sum(d.delivered for d in deliveries)
    abandoned = sum(d.abandoned for d in deliveries)
    changed = "—（无新文件，未重算 nothing new）" if summary.figures_changed is None else summary.figures_changed
    lines = [f"# 入库运行 ingest run `{summary.run_id}`", "",
             "| 项目 item | 数量 count |", "|---|---|",
             f"| 处理文件 files | {summary.files} |",
             f"| 接收表 tables accepted | {summary.count('accepted')} |",
             f"| 退回表 tables rejected | {summary.count('rejected')} |",
             f"| 重复文件 duplicates | {summary.count('duplicate')} |",
             f"| 年度指标变化 figures changed | {changed} |",
             f"| 告警已送达 alerts delivered | {sent} |",
             f"| 告警发送失败（稍后重试）alerts failed, retried later | {len(deliveries) - sent - abandoned} |",
             f"| 告警已放弃 alerts abandoned | {abandoned} |", ""]
    if summary.tables:
        lines += ["## 表 tables", "",
                  "| 状态 status | 单位 unit | 文件 file | 表单 form | 错误 errors | 警告 warnings | 行 rows |",
                  "|---|---|---|---|---|---|---|"]
        for t in summary.tables:
            where = markdown_text(t.file) + (f" \\[{markdown_text(t.sheet)}\\]" if t.sheet else "")
            lines.append(f"| {t.status} | {unit_label(t.submitter)} | {where} | {form_label(t.form)} "
                         f"| {t.errors} | {t.warnings} | {t.rows_loaded} |")
        lines.append("")
    if deliveries:
        lines += ["## 告警 alerts", "",
                  "| 类型 kind | 接收方 recipient | 送达 delivered | 尝试 attempts | 错误 error |",
                  "|---|---|---|---|---|"]
        lines += [f"| {d.kind} | {markdown_text(d.recipient)} | "
                  f"{'是 yes' if d.delivered else '已放弃 abandoned' if d.abandoned else '否 no'} | {d.attempts} "
                  f"| {markdown_text(d.error or '')} |" for d in deliveries]
        lines.append("")
    if audit is not None:
        lines += ["## 审计 audit", "", "```", printable_block(audit.text()), "```"]
    elif summary.figures_changed is None:
        lines += ["## 审计 audit", "", "无新文件，未审计 / nothing new: the audit was skipped"]
    return "\n".join(lines)


def printable_block(text: str) -> str:
    """Multi-line text for a code block: each line escaped, no fence can be closed from inside."""
    return "\n".join(printable(line).replace("```", "ˋˋˋ") for line in text.split("\n"))


def findings_table(summary: RunSummary) -> list[dict[str, object]]:
    """Every table's outcome (one row when it has no finding) and every finding (the first
    :data:`FINDINGS_SHOWN` rows in all)."""
    rows: list[dict[str, object]] = []
    for t in summary.tables:
        base = {"status": t.status, "unit": t.submitter or "", "file": printable(t.file),
                "sheet": printable(t.sheet or ""), "form": t.form or "", "rows_loaded": t.rows_loaded}
        if not t.findings:
            rows.append({**base, "cell": "", "header": "", "value": "", "rule": "", "severity": "",
                         "message_zh": "", "message_en": ""})
        for f in t.findings:
            rows.append({**base, "sheet": printable(f.sheet or t.sheet or ""),
                         "cell": f"{f.column or ''}{f.row or ''}", "header": printable(f.header or ""),
                         "value": printable(f.value or ""), "rule": f.rule_id, "severity": f.severity,
                         "message_zh": printable(f.message_zh), "message_en": printable(f.message_en)})
    return rows[:FINDINGS_SHOWN]
