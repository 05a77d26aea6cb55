"""Form 4.11 生态环境损害赔偿 (eco_damage): one row per unit; compensation in 万元."""

from ecostat.contract.formspec import Form, amount_needs_cases, count, measure

FORM = Form(
    "eco_damage", "生态环境损害赔偿", section="4.11",
    fields=(
        count("leads", "损害赔偿线索数"),
        measure("compensation", "落实赔偿金额", "money_wan_yuan", min=0, summed=True),
    ),
    row_rules=(amount_needs_cases("compensation", "leads"),),
)
SCHEMA = FORM.schema
