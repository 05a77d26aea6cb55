"""Form 4.8 饮用水水源地 (drinking_water): one row per drinking-water source; a source code is current for
one unit only in a period."""

from ecostat.contract.formspec import Form, choice, count, not_above, text, yes_no

FORM = Form(
    "drinking_water", "饮用水水源地", section="4.8",
    fields=(
        text("source_code", "水源地编码", required=True),
        text("source_name", "水源地名称"),
        choice("source_level", "水源地级别", "source_levels"),
        count("samples", "监测次数", min=1),
        count("compliant_samples", "达标次数", min=None),
        yes_no("boundary_marked", "保护区定界立标"),
    ),
    key=("source_code",),
    row_rules=(not_above("compliant_samples", "samples"),),
    unique_per_period=("source_code",),
    owned_code="source_code",
    code_register="source_register",
)
SCHEMA = FORM.schema
