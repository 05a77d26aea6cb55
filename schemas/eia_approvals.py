"""Form 4.10 环评审批 (eia_approvals): one row per unit; investment in 万元."""

from ecostat.contract.formspec import Form, amount_needs_cases, count, measure

FORM = Form(
    "eia_approvals", "环评审批", section="4.10",
    fields=(
        count("pledge_approvals", "承诺制审批项目数"),
        measure("investment", "涉及投资", "money_wan_yuan", min=0, summed=True),
        measure("avg_days", "平均审批用时", "days", required=False, min=0, min_exclusive=True),
    ),
    row_rules=(amount_needs_cases("investment", "pledge_approvals"),),
)
SCHEMA = FORM.schema
