"""What a run shows in the Prefect UI: a Markdown summary and a table of its findings."""

from __future__ import annotations

from ecostat.alerts import Delivery, feedback_path, form_label, unit_label
from ecostat.audit import AuditResult
from ecostat.ingest import RunSummary

FINDINGS_SHOWN = 500


def _cell(text: object) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def run_markdown(summary: RunSummary, deliveries: list[Delivery], audit: AuditResult | None) -> str:
    """The run summary: tables accepted and rejected, alerts sent, figures changed, the audit's outcome."""
    sent = sum(d.delivered for d in deliveries)
    lines = [f"# 入库运行 ingest run `{summary.run_id}`", "",
             "| 项目 item | 数量 count |", "|---|---|",
             f"| 处理文件 files | {summary.files} |",
             f"| 接收表 tables accepted | {summary.count('accepted')} |",
             f"| 退回表 tables rejected | {summary.count('rejected')} |",
             f"| 重复文件 duplicates | {summary.count('duplicate')} |",
             f"| 年度指标变化 figures changed | {summary.figures_changed} |",
             f"| 告警已送达 alerts delivered | {sent} |",
             f"| 告警发送失败 alerts failed | {len(deliveries) - sent} |", ""]
    if summary.tables:
        lines += ["## 表 tables", "",
                  "| 状态 status | 单位 unit | 文件 file | 表单 form | 错误 errors | 警告 warnings | 行 rows |",
                  "|---|---|---|---|---|---|---|"]
        for t in summary.tables:
            unit = t.submitter
            where = t.file + (f" [{t.sheet}]" if t.sheet else "")
            lines.append(f"| {t.status} | {_cell(unit_label(unit))} | {_cell(where)} | {_cell(form_label(t.form))} "
                         f"| {t.errors} | {t.warnings} | {t.rows_loaded} |")
        rejected_units = sorted({t.submitter for t in summary.tables if t.status == "rejected" and t.submitter})
        if rejected_units:
            lines += ["", "反馈 feedback: " + ", ".join(f"`{feedback_path(u)}`" for u in rejected_units)]
        lines.append("")
    if deliveries:
        lines += ["## 告警 alerts", "",
                  "| 类型 kind | 接收方 recipient | 送达 delivered | 尝试 attempts | 错误 error |",
                  "|---|---|---|---|---|"]
        lines += [f"| {d.kind} | {_cell(d.recipient)} | {'是 yes' if d.delivered else '否 no'} | {d.attempts} "
                  f"| {_cell(d.error)} |" for d in deliveries]
        lines.append("")
    if audit is not None:
        lines += ["## 审计 audit", "", "```", audit.text(), "```"]
    return "\n".join(lines)


def findings_table(summary: RunSummary) -> list[dict[str, object]]:
    """Every finding of the run's tables as rows (the first :data:`FINDINGS_SHOWN`)."""
    rows: list[dict[str, object]] = []
    for t in summary.tables:
        for f in t.findings:
            rows.append({"status": t.status, "file": t.file, "sheet": f.sheet or t.sheet or "", "form": t.form or "",
                         "cell": f"{f.column or ''}{f.row or ''}", "header": f.header or "", "value": f.value or "",
                         "rule": f.rule_id, "severity": f.severity, "message_zh": f.message_zh,
                         "message_en": f.message_en})
    return rows[:FINDINGS_SHOWN]
