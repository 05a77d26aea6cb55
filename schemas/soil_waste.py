"""Form 4.12 土壤、重金属与无废城市 (soil_waste): one row per unit; heavy metals in kg (吨 converted)."""

from ecostat.contract.formspec import Form, count, measure, not_above

FORM = Form(
    "soil_waste", "土壤、重金属与无废城市", section="4.12",
    fields=(
        count("parcels_reviewed", "地块调查报告评审数"),
        count("parcels_exceeding", "超标地块数", min=None),
        count("key_units_monitored", "重点监管单位周边监测数"),
        count("zero_waste_cells", "通过评估的无废细胞数"),
        measure("heavy_metal_base", "重点行业重金属排放量基准值", "mass_kg", min=0, summed=True),
        measure("heavy_metal_current", "重点行业重金属排放量", "mass_kg", min=0, summed=True),
    ),
    row_rules=(not_above("parcels_exceeding", "parcels_reviewed"),),
)
SCHEMA = FORM.schema
