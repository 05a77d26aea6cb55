"""Form 4.6 环境执法 (enforcement): one row per unit; money in 万元."""

from ecostat.contract.formspec import Form, amount_needs_cases, count, measure, not_above

FORM = Form(
    "enforcement", "环境执法", section="4.6",
    fields=(
        count("penalty_cases", "行政处罚案件数"),
        measure("fines", "罚款金额", "money_wan_yuan", min=0, summed=True),
        count("exempt_cases", "免罚案件数"),
        measure("exempt_amount", "免罚金额", "money_wan_yuan", min=0, summed=True),
        count("scattered_found", "排查散乱污企业数"),
        count("scattered_fixed", "完成整治散乱污企业数", min=None),
    ),
    row_rules=(
        amount_needs_cases("fines", "penalty_cases"),
        amount_needs_cases("exempt_amount", "exempt_cases"),
        not_above("scattered_fixed", "scattered_found"),
    ),
)
SCHEMA = FORM.schema
