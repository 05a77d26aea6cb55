"""Form 4.3 入河排污口整治 (outfall_remediation): one row per unit and water body."""

from ecostat.contract.formspec import Form, choice, count, no_fall, not_above

FORM = Form(
    "outfall_remediation", "入河排污口整治", section="4.3",
    fields=(
        choice("water_body", "所属水体", "water_bodies", aliases=("所在水体",)),
        count("required", "需整治排口数"),
        count("completed", "已完成整治数"),
    ),
    key=("water_body",),
    row_rules=(not_above("completed", "required"),),
    period_rules=(no_fall("completed"), no_fall("required", warning=True)),
)
SCHEMA = FORM.schema
