"""Form 4.2 水质断面 (water_sections): one row per monitoring section, submitted by the city monitoring centre
only, each row naming the unit that contains the section; a section code is current for one unit only in a
period."""

from ecostat.contract.formspec import Form, choice, class_vs_tp, measure, text

FORM = Form(
    "water_sections", "水质断面", section="4.2",
    fields=(
        text("section_code", "断面编码", required=True),
        text("section_name", "断面名称"),
        choice("water_body", "所在水体", "water_bodies", aliases=("所属水体",)),
        choice("water_type", "水体类型", "water_types"),
        choice("level", "断面级别", "section_levels"),
        choice("water_class", "水质类别", "water_classes"),
        measure("total_phosphorus", "总磷", "conc_mg_l", min=0, max=10, max_exclusive=True),
    ),
    key=("section_code",),
    row_rules=(class_vs_tp("water_class", "total_phosphorus", "water_type"),),
    unique_per_period=("section_code",),
    submitters=("city",),
    owned_code="section_code",
    code_register="section_register",
)
SCHEMA = FORM.schema
