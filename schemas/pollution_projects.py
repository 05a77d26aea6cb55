"""Form 4.9 污染防治申报项目 (pollution_projects): one row per project applied for central funding; money in
万元 (元 and 亿元 in headers and cells are converted)."""

from ecostat.contract.formspec import Form, choice, measure, text

FORM = Form(
    "pollution_projects", "污染防治申报项目", section="4.9",
    fields=(
        text("project_name", "项目名称", required=True),
        choice("field", "领域", "project_fields"),
        measure("central_funds", "中央资金", "money_wan_yuan", min=0, summed=True),
    ),
    key=("project_name",),
    unique_per_period=("project_name",),
)
SCHEMA = FORM.schema
