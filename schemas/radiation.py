"""Form 4.13 核与辐射 (radiation): one row per unit."""

from ecostat.contract.formspec import Form, count, not_above, positive_together

FORM = Form(
    "radiation", "核与辐射", section="4.13",
    fields=(
        count("licensed_units", "核技术利用单位数"),
        count("reports_submitted", "提交年度评估报告单位数", min=None),
        count("sources_collected", "收贮废旧放射源枚数"),
        count("collecting_units", "完成收贮单位数", min=None),
    ),
    row_rules=(
        not_above("reports_submitted", "licensed_units"),
        not_above("collecting_units", "licensed_units"),
        positive_together("collecting_units", "sources_collected"),
    ),
)
SCHEMA = FORM.schema
