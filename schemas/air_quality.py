"""Form 4.1 空气质量 (air_quality): one row per unit; the 360100 row is the city-wide figure."""

from ecostat.contract.formspec import Form, count, days_in_period, measure, not_above, not_below, percent, rate

FORM = Form(
    "air_quality", "空气质量", section="4.1",
    fields=(
        measure("pm25", "PM2.5平均浓度", "conc_ug_m3", min=0, min_exclusive=True, max=500),
        measure("pm10", "PM10平均浓度", "conc_ug_m3", required=False, min=0),
        count("good_days", "优良天数", quantity="days", summed=False),
        count("valid_days", "有效监测天数", quantity="days", summed=False, min=1),
        percent("good_day_rate", "优良天数比例"),
    ),
    row_rules=(
        not_below("pm10", "pm25"),
        not_above("good_days", "valid_days"),
        days_in_period("valid_days"),
        rate("good_day_rate", "good_days", "valid_days"),
    ),
)
SCHEMA = FORM.schema
