"""Form 4.7 农村环境与土壤 (rural_soil): one row per unit; farmland in 亩."""

from ecostat.contract.formspec import Form, count, cumulative_chain, measure, not_above, not_below, percent, rate

FORM = Form(
    "rural_soil", "农村环境与土壤", section="4.7",
    fields=(
        count("villages_new", "新增完成环境整治行政村数"),
        count("villages_cumulative", "累计完成环境整治行政村数", min=None),
        count("villages_total", "行政村总数", min=1),
        count("villages_sewage_treated", "生活污水治理行政村数", min=None),
        percent("sewage_rate", "农村生活污水治理率"),
        measure("farmland_polluted", "受污染耕地面积", "area_mu", min=0, summed=True),
        measure("farmland_safe", "受污染耕地安全利用面积", "area_mu", summed=True),
        percent("farmland_safe_rate", "受污染耕地安全利用率"),
    ),
    row_rules=(
        not_below("villages_cumulative", "villages_new"),
        not_above("villages_cumulative", "villages_total"),
        not_above("villages_sewage_treated", "villages_total"),
        rate("sewage_rate", "villages_sewage_treated", "villages_total"),
        not_above("farmland_safe", "farmland_polluted"),
        rate("farmland_safe_rate", "farmland_safe", "farmland_polluted"),
    ),
    period_rules=(cumulative_chain("villages_cumulative", "villages_new"),),
)
SCHEMA = FORM.schema
