"""Every rule of the contract: a passing and a failing case, asserting rule id, cell and severity."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pandera.pandas as pa
import pytest

from ecostat.check.rules import schema_passes
from ecostat.check.table import check_table
from ecostat.contract.catalogue import rules
from ecostat.contract.forms import FORMS
from ecostat.contract.registry import CITY, may_submit
from tests.forms_data import VALID, column_of, header, raw, row

TODAY = dt.date(2026, 11, 29)


def check(rows: list[list[object]], submitter: str = "360102"):
    return check_table(raw(rows), submitter, today=TODAY)


def submitter_of(form: str) -> str:
    """A unit that may submit ``form``: the city for a form it alone submits (water sections), else 360102,
    whose rows the valid rows name."""
    return CITY if FORMS[form].submitters is not None else "360102"


def by_rule(table, rule_id):
    return [f for f in table.findings if f.rule_id == rule_id]


@pytest.mark.parametrize("form", list(FORMS))
def test_valid_row_of_every_form_has_no_finding(form):
    table = check([header(form), row(form)], submitter_of(form))
    assert table.form is not None and table.form.code == form
    assert table.findings == []
    assert table.accepted


# (form, changed cells, rule id, field whose cell the finding points at)
ROW_CASES = [
    ("air_quality", {"pm25": 0}, "VALUE_MIN_EXCLUSIVE", "pm25"),
    ("air_quality", {"pm25": 501, "pm10": 600}, "VALUE_MAX", "pm25"),
    ("air_quality", {"pm10": 20}, "ROW_NOT_BELOW", "pm10"),
    ("air_quality", {"good_days": 300, "valid_days": 290, "good_day_rate": None}, "ROW_NOT_ABOVE", "good_days"),
    ("air_quality", {"good_days": 0, "valid_days": 0, "good_day_rate": None}, "VALUE_MIN", "valid_days"),
    ("air_quality", {"valid_days": 367, "good_day_rate": None}, "ROW_DAYS_IN_PERIOD", "valid_days"),
    ("air_quality", {"good_day_rate": "95%"}, "ROW_RATE", "good_day_rate"),
    ("air_quality", {"good_day_rate": 101}, "VALUE_MAX", "good_day_rate"),
    ("air_quality", {"good_days": 336.5}, "CELL_INTEGER", "good_days"),
    ("air_quality", {"pm25": "约32"}, "CELL_NUMBER", "pm25"),
    ("air_quality", {"pm25": "1e400"}, "CELL_NUMBER", "pm25"),  # overflows to infinity
    ("air_quality", {"pm25": None}, "CELL_REQUIRED", "pm25"),
    ("water_sections", {"total_phosphorus": 10}, "VALUE_MAX_EXCLUSIVE", "total_phosphorus"),
    ("water_sections", {"total_phosphorus": -0.1}, "VALUE_MIN", "total_phosphorus"),
    ("water_sections", {"water_class": "Ⅰ类"}, "ROW_CLASS_VS_TP", "water_class"),
    ("water_sections", {"water_type": "湖库", "total_phosphorus": 0.06, "water_class": "Ⅲ"},
     "ROW_CLASS_VS_TP", "water_class"),
    ("water_sections", {"water_body": "长江"}, "CELL_REGISTRY", "water_body"),
    ("water_sections", {"level": "县考"}, "CELL_REGISTRY", "level"),
    ("water_sections", {"water_class": "Ⅶ"}, "CELL_WATER_CLASS", "water_class"),
    ("water_sections", {"water_type": "—"}, "CELL_REQUIRED", "water_type"),
    ("water_sections", {"section_code": None}, "CELL_REQUIRED", "section_code"),
    ("outfall_remediation", {"completed": 12}, "ROW_NOT_ABOVE", "completed"),
    ("outfall_remediation", {"required": -1, "completed": None}, "VALUE_MIN", "required"),
    ("outfall_remediation", {"completed": "5%"}, "CELL_PERCENT", "completed"),
    ("inspection_problems", {"problems_done": 11}, "ROW_NOT_ABOVE", "problems_done"),
    ("inspection_problems", {"batch": "第四轮"}, "CELL_REGISTRY", "batch"),
    ("petitions", {"general": 7}, "ROW_PARTS_SUM", "assigned"),
    ("petitions", {"concluded": 11, "closed": 5}, "ROW_NOT_ABOVE", "concluded"),
    ("petitions", {"closed": 9}, "ROW_NOT_ABOVE", "closed"),
    ("petitions", {"assigned": -1, "difficult": None}, "VALUE_MIN", "assigned"),
    ("enforcement", {"penalty_cases": 0}, "ROW_AMOUNT_NEEDS_CASES", "fines"),
    ("enforcement", {"exempt_cases": 0}, "ROW_AMOUNT_NEEDS_CASES", "exempt_amount"),
    ("enforcement", {"scattered_fixed": 6}, "ROW_NOT_ABOVE", "scattered_fixed"),
    ("enforcement", {"fines": -1}, "VALUE_MIN", "fines"),
    ("rural_soil", {"villages_cumulative": 4, "villages_new": 5}, "ROW_NOT_BELOW", "villages_cumulative"),
    ("rural_soil", {"villages_cumulative": 101}, "ROW_NOT_ABOVE", "villages_cumulative"),
    ("rural_soil", {"villages_sewage_treated": 101, "sewage_rate": None}, "ROW_NOT_ABOVE",
     "villages_sewage_treated"),
    ("rural_soil", {"sewage_rate": "70%"}, "ROW_RATE", "sewage_rate"),
    ("rural_soil", {"farmland_safe": 1001, "farmland_safe_rate": None}, "ROW_NOT_ABOVE", "farmland_safe"),
    ("rural_soil", {"farmland_safe_rate": 80}, "ROW_RATE", "farmland_safe_rate"),
    ("rural_soil", {"villages_total": 0, "villages_cumulative": 0, "villages_new": 0,
                    "villages_sewage_treated": 0, "sewage_rate": None}, "VALUE_MIN", "villages_total"),
    # contract v2 §4.8–§4.13
    ("drinking_water", {"source_code": None}, "CELL_REQUIRED", "source_code"),
    ("drinking_water", {"source_level": "省级"}, "CELL_REGISTRY", "source_level"),
    ("drinking_water", {"source_level": None}, "CELL_REQUIRED", "source_level"),
    ("drinking_water", {"samples": 0, "compliant_samples": 0}, "VALUE_MIN", "samples"),
    ("drinking_water", {"samples": None}, "CELL_REQUIRED", "samples"),
    ("drinking_water", {"compliant_samples": 13}, "ROW_NOT_ABOVE", "compliant_samples"),
    ("drinking_water", {"compliant_samples": "11.5"}, "CELL_INTEGER", "compliant_samples"),
    ("drinking_water", {"boundary_marked": "部分"}, "CELL_YES_NO", "boundary_marked"),
    ("drinking_water", {"boundary_marked": 2}, "CELL_YES_NO", "boundary_marked"),
    ("drinking_water", {"boundary_marked": "—"}, "CELL_REQUIRED", "boundary_marked"),
    ("pollution_projects", {"project_name": None}, "CELL_REQUIRED", "project_name"),
    ("pollution_projects", {"field": "噪声"}, "CELL_REGISTRY", "field"),
    ("pollution_projects", {"field": None}, "CELL_REQUIRED", "field"),
    ("pollution_projects", {"central_funds": -5}, "VALUE_MIN", "central_funds"),
    ("pollution_projects", {"central_funds": None}, "CELL_REQUIRED", "central_funds"),
    ("pollution_projects", {"central_funds": "1.15美元"}, "CELL_UNIT_SUFFIX", "central_funds"),
    ("eia_approvals", {"pledge_approvals": -1}, "VALUE_MIN", "pledge_approvals"),
    ("eia_approvals", {"pledge_approvals": 0}, "ROW_AMOUNT_NEEDS_CASES", "investment"),
    ("eia_approvals", {"investment": -1}, "VALUE_MIN", "investment"),
    ("eia_approvals", {"investment": None}, "CELL_REQUIRED", "investment"),
    ("eia_approvals", {"avg_days": 0}, "VALUE_MIN_EXCLUSIVE", "avg_days"),
    ("eco_damage", {"leads": -1, "compensation": 0}, "VALUE_MIN", "leads"),
    ("eco_damage", {"leads": 0}, "ROW_AMOUNT_NEEDS_CASES", "compensation"),
    ("eco_damage", {"compensation": -0.5}, "VALUE_MIN", "compensation"),
    ("eco_damage", {"leads": None}, "CELL_REQUIRED", "leads"),
    ("soil_waste", {"parcels_reviewed": -1, "parcels_exceeding": -2}, "VALUE_MIN", "parcels_reviewed"),
    ("soil_waste", {"parcels_exceeding": 9}, "ROW_NOT_ABOVE", "parcels_exceeding"),
    ("soil_waste", {"key_units_monitored": -1}, "VALUE_MIN", "key_units_monitored"),
    ("soil_waste", {"zero_waste_cells": "6.5"}, "CELL_INTEGER", "zero_waste_cells"),
    ("soil_waste", {"zero_waste_cells": -6}, "VALUE_MIN", "zero_waste_cells"),
    ("soil_waste", {"heavy_metal_base": -1}, "VALUE_MIN", "heavy_metal_base"),
    ("soil_waste", {"heavy_metal_current": "-0.1吨"}, "VALUE_MIN", "heavy_metal_current"),
    ("soil_waste", {"heavy_metal_current": "1.1立方米"}, "CELL_UNIT_SUFFIX", "heavy_metal_current"),
    ("soil_waste", {"heavy_metal_base": None}, "CELL_REQUIRED", "heavy_metal_base"),
    ("radiation", {"licensed_units": -1, "reports_submitted": -1, "collecting_units": 0, "sources_collected": 0},
     "VALUE_MIN", "licensed_units"),
    ("radiation", {"reports_submitted": 21}, "ROW_NOT_ABOVE", "reports_submitted"),
    ("radiation", {"licensed_units": 1, "reports_submitted": 1, "collecting_units": 2}, "ROW_NOT_ABOVE",
     "collecting_units"),
    ("radiation", {"sources_collected": -2, "collecting_units": 0}, "VALUE_MIN", "sources_collected"),
    ("radiation", {"sources_collected": 0}, "ROW_POSITIVE_TOGETHER", "collecting_units"),
    ("radiation", {"collecting_units": 0}, "ROW_POSITIVE_TOGETHER", "collecting_units"),
    ("radiation", {"collecting_units": None}, "CELL_REQUIRED", "collecting_units"),
]


@pytest.mark.parametrize(("form", "changes", "rule_id", "field"), ROW_CASES,
                         ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in ROW_CASES])
def test_row_rule_fails_at_its_cell(form, changes, rule_id, field):
    table = check([header(form), row(form, **changes)], submitter_of(form))
    hits = by_rule(table, rule_id)
    assert hits, [f.message_en for f in table.findings]
    f = hits[0]
    assert (f.row, f.column, f.severity, f.sheet) == (2, column_of(form, field), rules()[rule_id].severity, "表1")
    assert f.header == FORMS[form].field(field).zh
    assert f.message_zh and f.message_en
    assert not table.accepted


def test_message_names_both_values_in_chinese():
    table = check([header("outfall_remediation"), row("outfall_remediation", required=10, completed=12)])
    (f,) = table.findings
    assert f.message_zh == "已完成整治数(12)大于需整治排口数(10)"
    assert f.value == "12"


def test_monthly_period_limits_valid_days():
    ok = check([header("air_quality"), row("air_quality", period="2024-01", good_days=30, valid_days=31,
                                           good_day_rate=None)])
    assert ok.findings == []
    bad = check([header("air_quality"), row("air_quality", period="2024年1月", good_days=30, valid_days=32,
                                            good_day_rate=None)])
    assert [f.rule_id for f in bad.findings] == ["ROW_DAYS_IN_PERIOD"]


def test_parts_sum_applies_only_when_all_three_parts_given():
    table = check([header("petitions"), row("petitions", general=None, difficult=1, key_cases=3)])
    assert table.findings == []


def test_unparseable_cell_does_not_hide_other_checks_of_its_row():
    table = check([header("outfall_remediation"), row("outfall_remediation", required="十个", completed=12),
                   row("outfall_remediation", water_body="抚河", required=3, completed=4)])
    assert {(f.rule_id, f.row, f.column) for f in table.findings} == {
        ("CELL_NUMBER", 2, "D"), ("ROW_NOT_ABOVE", 3, "E")}


# Cases on the unit, the period and the table as a whole: (rows after the header, submitter, rule, row, column)
def _rows(**changes):
    return [row("outfall_remediation", **changes)]


TABLE_CASES = [
    ("other unit", _rows(unit="360103"), "360102", "AUTH_ROW_UNIT", 2, "A"),
    ("unknown unit", _rows(unit="360199"), "360100", "CELL_UNIT", 2, "A"),
    ("missing unit", _rows(unit=None), "360100", "CELL_REQUIRED", 2, "A"),
    ("bad period", _rows(period="2024Q1"), "360102", "CELL_PERIOD", 2, "B"),
    ("future period", _rows(period="2099"), "360102", "CELL_PERIOD_FUTURE", 2, "B"),
    ("missing period", _rows(period="N/A"), "360102", "CELL_REQUIRED", 2, "B"),
    ("duplicate key", _rows() + _rows(required=11), "360102", "TABLE_KEY_DUPLICATE", 3, "C"),
    ("totals row wrong", _rows() + _rows(water_body="抚河") + [["合计", None, None, 21, 16]], "360102",
     "TABLE_TOTALS", 4, "D"),
    ("qualifier", _rows(required="10多"), "360102", "CELL_QUALIFIER", 2, "D"),
]


@pytest.mark.parametrize(("case", "rows", "submitter", "rule_id", "at_row", "at_col"), TABLE_CASES,
                         ids=[c[0] for c in TABLE_CASES])
def test_unit_period_and_table_rules(case, rows, submitter, rule_id, at_row, at_col):
    table = check([header("outfall_remediation"), *rows], submitter)
    f = by_rule(table, rule_id)[0]
    assert (f.row, f.column, f.severity) == (at_row, at_col, rules()[rule_id].severity)
    assert table.accepted == (rules()[rule_id].severity == "warning")


def test_totals_row_that_adds_up_is_not_loaded():
    table = check([header("outfall_remediation"), *_rows(), *_rows(water_body="抚河"),
                   ["合计", None, None, "20", 16]])
    assert table.findings == [] and len(table.frame) == 2


def test_city_may_submit_for_any_unit_and_names_resolve():
    table = check([["区县", "报告期", "所属水体", "需整治排口数（个）", "已完成整治数"],
                   ["湾里", "2024年", "鄱阳湖南昌湖区", "１,０72", "1000"],
                   ["东湖区", "2024/06", "赣江", "5", "5"]], "360100")
    assert table.findings == []
    assert list(table.frame["unit_code"]) == ["360105", "360102"]
    assert list(table.frame["period"]) == ["2024", "2024-06"]
    assert list(table.frame["required"]) == [1072, 5]


def test_code_and_name_must_agree():
    table = check([["区县代码", "区县", "报告期", "所属水体", "需整治排口数", "已完成整治数"],
                   ["360102", "西湖区", "2024", "赣江", 1, 1]])
    assert [(f.rule_id, f.column) for f in table.findings] == [("CELL_UNIT_MISMATCH", "A")]


def test_structure_findings():
    unknown = check([["名称", "数量", "备注"], ["a", 1, ""], ["报告期", "区县", "x"]])
    (f,) = unknown.findings
    assert f.rule_id == "TABLE_FORM_UNKNOWN" and "缺少列" in f.message_zh

    missing = check([["区县代码", "报告期", "所属水体", "需整治排口数"], ["360102", "2024", "赣江", 3]])
    assert [(f.rule_id, f.header) for f in missing.findings] == [("COLUMN_MISSING", "已完成整治数")]

    dup = check([["区县代码", "报告期", "所属水体", "需整治排口数", "required", "已完成整治数"]])
    assert [(f.rule_id, f.column) for f in dup.findings] == [("COLUMN_DUPLICATE", "E")]

    unit = check([[*header("enforcement")[:3], "罚款金额(美元)", *header("enforcement")[4:]]])
    assert [(f.rule_id, f.column, f.value) for f in unit.findings] == [("HEADER_UNIT", "D", "美元")]

    extra = check([[*header("outfall_remediation"), "数据来源"], [*row("outfall_remediation"), "ok"]])
    assert [(f.rule_id, f.column, f.severity) for f in extra.findings] == [("COLUMN_UNKNOWN", "F", "warning")]
    assert extra.accepted

    empty = check([header("outfall_remediation"), [None] * 5])
    assert [f.rule_id for f in empty.findings] == ["TABLE_EMPTY"]


def test_header_row_found_below_banner_and_money_converted():
    table = check([["南昌市2024年环境执法情况表"], [None, "单位：件、元"],
                   ["区县代码", "报告期", "行政处罚案件数（件）", "罚款金额（元）", "免罚案件数", "免罚金额(亿元)",
                    "排查散乱污企业数", "完成整治散乱污企业数"],
                   ["360102", "2024", "3", "1,250,000", 1, 0.0002, 5, 4]])
    assert table.header_row == 3 and table.findings == []
    assert table.frame.loc[4, "fines"] == pytest.approx(125.0)
    assert table.frame.loc[4, "exempt_amount"] == pytest.approx(2.0)


@pytest.mark.parametrize("spelling", ["是", "已完成", "√", "Y", "y", 1, 1.0, "1", True, " 是 "])
def test_yes_spellings(spelling):
    table = check([header("drinking_water"), row("drinking_water", boundary_marked=spelling)])
    assert table.findings == [] and table.frame["boundary_marked"].tolist() == [True]


@pytest.mark.parametrize("spelling", ["否", "未完成", "×", "N", "n", 0, "0", False])
def test_no_spellings(spelling):
    table = check([header("drinking_water"), row("drinking_water", boundary_marked=spelling)])
    assert table.findings == [] and table.frame["boundary_marked"].tolist() == [False]


def test_yes_no_finding_names_the_cell_and_the_spellings():
    table = check([header("drinking_water"), row("drinking_water", boundary_marked="部分完成")])
    (f,) = table.findings
    assert (f.rule_id, f.row, f.column, f.value) == ("CELL_YES_NO", 2, column_of("drinking_water", "boundary_marked"),
                                                     "部分完成")
    assert "是 或 否" in f.message_zh and "√/×" in f.message_zh


def test_v2_passing_cases():
    """The v2 rules' boundaries pass: both zero (radiation), no investment without approvals, an optional
    average left empty, a code shared by two periods, every level and field by alias."""
    cases = [("radiation", {"sources_collected": 0, "collecting_units": 0}),
             ("eia_approvals", {"pledge_approvals": 0, "investment": 0, "avg_days": None}),
             ("eco_damage", {"leads": 0, "compensation": 0}),
             ("soil_waste", {"parcels_exceeding": 8}),
             ("drinking_water", {"source_level": "农村", "compliant_samples": 11}),
             ("drinking_water", {"source_level": "乡镇级", "samples": 1, "compliant_samples": 0}),
             ("pollution_projects", {"field": "大气污染物减排"}),
             ("pollution_projects", {"field": "土壤污染防治"})]
    for form, changes in cases:
        table = check([header(form), row(form, **changes)])
        assert table.findings == [], (form, changes, [f.message_en for f in table.findings])
    two_years = check([header("drinking_water"), row("drinking_water", period="2023"), row("drinking_water")])
    assert two_years.findings == []


def test_money_and_mass_convert_in_headers_and_cells():
    funds = check([["区县代码", "报告期", "项目名称", "领域", "中央资金(元)"],
                   ["360102", "2024", "甲", "水", "115,000,000"], ["360102", "2024", "乙", "大气", "2440万元"],
                   ["360102", "2024", "丙", "土壤", "0.065亿"]])
    assert funds.findings == [] and funds.frame["central_funds"].tolist() == pytest.approx([11500, 2440, 650])
    eia = check([["区县代码", "报告期", "承诺制审批项目数", "涉及投资（亿元）", "平均审批用时（天）"],
                 ["360102", "2024", "40个", "84.28", "12天"]])
    assert eia.findings == [] and eia.frame["investment"].tolist() == pytest.approx([842800])
    soil = check([["区县代码", "报告期", "地块调查报告评审数", "超标地块数", "重点监管单位周边监测数",
                   "通过评估的无废细胞数", "重点行业重金属排放量基准值（吨）", "重点行业重金属排放量(kg)"],
                  ["360102", "2024", "8宗", 0, "5家", "6个", "1.2", "1.13吨"]])
    assert soil.findings == []
    assert soil.frame[["heavy_metal_base", "heavy_metal_current"]].values.tolist()[0] == pytest.approx([1200, 1130])
    bad = check([[*header("soil_waste")[:-1], "重点行业重金属排放量(立方米)"], row("soil_waste")])
    assert [(f.rule_id, f.value) for f in bad.findings] == [("HEADER_UNIT", "立方米")]


def test_a_source_code_is_unique_within_a_table_and_period_whatever_the_unit():
    table = check([header("drinking_water"), row("drinking_water", unit="360103"), row("drinking_water")], CITY)
    assert [(f.rule_id, f.row) for f in table.findings] == [("TABLE_KEY_DUPLICATE", 3)]
    projects = check([header("pollution_projects"), row("pollution_projects"), row("pollution_projects")])
    assert [(f.rule_id, f.row) for f in projects.findings] == [("TABLE_KEY_DUPLICATE", 3)]


def test_only_the_city_submits_water_sections():
    table = check([header("water_sections"), row("water_sections")], "360102")
    (f,) = table.findings
    assert (f.rule_id, f.row, f.severity) == ("AUTH_FORM", 1, "error") and not table.accepted
    assert "南昌市（360100）" in f.message_zh and "360102" in f.message_zh
    assert check([header("water_sections"), row("water_sections", unit="360102")], CITY).accepted


def test_every_rule_of_the_catalogue_has_a_test():
    covered = {c[2] for c in ROW_CASES} | {c[3] for c in TABLE_CASES} | {
        "CELL_UNIT_MISMATCH", "TABLE_FORM_UNKNOWN", "COLUMN_MISSING", "COLUMN_DUPLICATE", "HEADER_UNIT",
        "COLUMN_UNKNOWN", "TABLE_EMPTY", "ROW_DAYS_IN_PERIOD",
        # tested against files and the warehouse in test_readers.py and test_load.py
        "FILE_TYPE", "FILE_UNREADABLE", "FILE_ENCODING", "FILE_NO_TABLE", "AUTH_FOLDER",
        "PERIOD_FALL", "PERIOD_FALL_WARNING", "PERIOD_CUMULATIVE_CHAIN",
        "FILE_SYMLINK", "FILE_CHECK_FAILED", "FILE_QUARANTINED",  # test_safety.py, test_alerts.py
        "FILE_NOT_REGULAR", "FILE_HARDLINK", "FILE_NAME_ESCAPED",  # test_intake.py
        "CELL_REQUIRED_SINCE",  # a field added later, in test_upgrade.py
        # hostile and odd files, in test_hostile.py
        "FILE_ENCRYPTED", "FILE_TOO_LARGE", "FILE_ZIP_BOMB", "CELL_FORMULA_NO_VALUE",
        "TABLE_MERGED_CELLS", "SHEET_HIDDEN", "ROWS_HIDDEN",
        "CELL_UNIT_SUFFIX",  # test_layouts.py
        "CELL_YES_NO", "AUTH_FORM",  # above
        "AUTH_CODE", "CODE_UNREGISTERED", "REJECTED_EARLIER",  # test_ownership.py, test_upgrade.py (verdicts)
        "VALUE_IMPLAUSIBLE", "PERIOD_JUMP", "PERIOD_OUTLIER", "PERIOD_DECEMBER_YTD",  # test_review.py
        "EXPLANATION_REFUSED",  # test_review.py
        "PERIOD_CODE_OWNER",  # v2, replaced by AUTH_CODE: never found now, kept for the findings on record
        "TABLE_TOO_LARGE", "FILE_UNPACKED_TOO_LARGE", "FILE_TIME_BUDGET",  # test_limits.py
        "FILE_MEMORY_LIMIT"}  # test_sandbox.py
    assert set(rules()) == covered
    assert set(VALID) == set(FORMS)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_schema_shortcut_agrees_with_pandera(form: str) -> None:
    """A table that passes its schema skips pandera: the shortcut says "passes" exactly when pandera does,
    for a valid table and for the same table with one value out of range or one key repeated."""
    spec = FORMS[form]
    table = check_table(raw([header(form), row(form)]), "360102" if may_submit("360102", spec.submitters) else CITY)
    assert table.frame is not None and not table.errors
    frames = [table.frame]
    bounded = next(f for f in spec.fields if f.min is not None or f.max is not None)
    broken = table.frame.copy()
    broken.loc[broken.index[0], bounded.code] = (bounded.min - 1) if bounded.min is not None else bounded.max + 1
    repeated = pd.concat([table.frame, table.frame.set_axis([99])])
    frames += [broken, repeated]
    for frame in frames:
        try:
            spec.schema.validate(frame, lazy=True)
            passes = True
        except pa.errors.SchemaErrors:
            passes = False
        assert schema_passes(spec.schema, frame) == passes
    assert [schema_passes(spec.schema, f) for f in frames] == [True, False, False]
