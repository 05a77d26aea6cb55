"""Form 4.4 督察整改问题 (inspection_problems): one row per unit and inspection batch."""

from ecostat.contract.formspec import Form, choice, count, not_above

FORM = Form(
    "inspection_problems", "督察整改问题", section="4.4",
    fields=(
        choice("batch", "批次", "batches"),
        count("problems_due", "有整改时限问题数"),
        count("problems_done", "已完成整改数", min=None),
    ),
    key=("batch",),
    row_rules=(not_above("problems_done", "problems_due"),),
)
SCHEMA = FORM.schema
