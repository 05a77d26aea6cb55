"""Form 4.5 信访件办理 (petitions): one row per unit and inspection batch."""

from ecostat.contract.formspec import Form, choice, count, not_above, parts_sum

FORM = Form(
    "petitions", "信访件办理", section="4.5",
    fields=(
        choice("batch", "批次", "batches"),
        count("assigned", "交办件数"),
        count("difficult", "疑难复杂件数", required=False),
        count("key_cases", "重点件数", required=False),
        count("general", "一般件数", required=False),
        count("concluded", "已办结件数", min=None, aliases=("已完成整改件数",)),
        count("closed", "已销号件数", min=None),
    ),
    key=("batch",),
    row_rules=(
        parts_sum("assigned", ("difficult", "key_cases", "general")),
        not_above("concluded", "assigned"),
        not_above("closed", "concluded"),
    ),
)
SCHEMA = FORM.schema
