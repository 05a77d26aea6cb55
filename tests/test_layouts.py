"""Contract §3.1: tables laid out as offices fill them in, each layout in a workbook written here
as .xlsx (openpyxl) and as .xls (xlwt), read and checked for real: which values were loaded,
and that there is no finding, or exactly the finding expected."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from ecostat.check.table import check_table
from ecostat.check.types import CheckedTable
from ecostat.cli import main
from ecostat.read.tables import read_tables
from ecostat.run import ingest as steps
from tests.conftest import Merge, write_book
from tests.forms_data import header, row

TODAY = dt.date(2026, 11, 29)
FORMATS = ["xlsx", "xls"]
OUTFALL = header("outfall_remediation")  # 区县代码 报告期 所属水体 需整治排口数 已完成整治数


def checked(tmp_path: Path, fmt: str, rows: list[list[object]], submitter: str = "360102",
            merges: list[Merge] | tuple[Merge, ...] = (), percent: set[tuple[int, int]] | None = None,
            ) -> CheckedTable:
    path = write_book(tmp_path / f"表.{fmt}", rows, merges=merges, percent=percent or set())
    (raw,) = read_tables(path)
    return check_table(raw, submitter, today=TODAY)


def found(table: CheckedTable) -> list[tuple[str, str]]:
    """(rule id, cell) of every finding."""
    return [(f.rule_id, f"{f.column or ''}{f.row or ''}") for f in table.findings]


def loaded(table: CheckedTable, *codes: str) -> list[tuple[object, ...]]:
    """The loaded rows: (source row, values of ``codes``)."""
    assert table.frame is not None
    return [(int(i), *(table.frame.at[i, c] for c in codes)) for i in table.frame.index]


# --------------------------------------------------------------------------- two-row headers

TWO_ROW = [
    ["南昌市东湖区2024年入河排污口整治情况表"],
    ["序号", "区县代码", "报告期", "所属水体", "整治情况", None, "备注"],
    [None, None, None, None, "需整治排口数（个）", "已完成整治数（个）", None],
    [1, "360102", "2024", "赣江", 10, 8, None],
    [2, "360102", "2024", "抚河", 3, 3, "已全部完成"],
]
TWO_ROW_MERGES = [(1, 1, 1, 7), (2, 1, 3, 1), (2, 2, 3, 2), (2, 3, 3, 3), (2, 4, 3, 4), (2, 5, 2, 6), (2, 7, 3, 7)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_row_header_with_group_cell_and_cells_merged_down(tmp_path, fmt):
    table = checked(tmp_path, fmt, TWO_ROW, merges=TWO_ROW_MERGES)
    assert found(table) == []
    assert table.accepted and table.header_row == 2
    assert {c: col.letter for c, col in table.columns.items()} == {
        "district_code": "B", "period": "C", "water_body": "D", "required": "E", "completed": "F"}
    assert loaded(table, "water_body", "required", "completed") == [(4, "ganjiang", 10, 8), (5, "fuhe", 3, 3)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_group_row_above_a_header_row(tmp_path, fmt):
    """Only 区县代码 is merged down from the group row; the other headers stand in the lower row."""
    rows = [["区县代码", "整治情况", None, None, None],
            [None, "需整治排口数", "已完成整治数", "报告期", "所属水体"],
            ["360102", 10, 8, "2024年", "赣江"]]
    table = checked(tmp_path, fmt, rows, merges=[(1, 1, 2, 1), (1, 2, 1, 3)])
    assert found(table) == []
    assert loaded(table, "unit_code", "required", "completed", "water_body") == [(3, "360102", 10, 8, "ganjiang")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_group_cell_in_the_header_row_without_cells_merged_down(tmp_path, fmt):
    rows = [["区县代码", "报告期", "所属水体", "整治情况", None],
            [None, None, None, "需整治排口数", "已完成整治数"],
            ["360102", "2024", "赣江", 10, 8]]
    table = checked(tmp_path, fmt, rows, merges=[(1, 4, 1, 5)])
    assert found(table) == []
    assert loaded(table, "required", "completed") == [(3, 10, 8)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_merged_cells_in_data_rows_stay_an_error(tmp_path, fmt):
    rows = [*TWO_ROW[:3], [1, "360102", "2024", "赣江", 10, 8, None], [2, "360102", "2024", None, 3, 3, None]]
    table = checked(tmp_path, fmt, rows, merges=[*TWO_ROW_MERGES, (4, 4, 5, 4)])
    assert found(table) == [("TABLE_MERGED_CELLS", "D4")]
    assert table.findings[0].value == "D4:D5" and not table.accepted


# --------------------------------------------------------------------------- line breaks

@pytest.mark.parametrize("fmt", FORMATS)
def test_header_cells_broken_over_lines(tmp_path, fmt):
    rows = [["区县\n代码", "报告期", "所属\n水体", "需整治\n排口数", "已完成\r\n整治数（个）"],
            row("outfall_remediation", required=10, completed=8),
            row("outfall_remediation", water_body="抚河", required=3, completed=4)]
    table = checked(tmp_path, fmt, rows)
    assert found(table) == [("ROW_NOT_ABOVE", "E3")]
    (f,) = table.findings
    assert f.header == "已完成整治数（个）"
    assert f.message_zh == "已完成整治数（个）(4)大于需整治排口数(3)"
    assert loaded(table, "required", "completed") == [(2, 10, 8), (3, 3, 4)]


# --------------------------------------------------------------------------- 序号, 备注, 说明

@pytest.mark.parametrize("fmt", FORMATS)
def test_serial_number_and_remarks_columns_are_ignored_silently(tmp_path, fmt):
    rows = [["序号", *OUTFALL, "备注", "说明", "数据来源"],
            [1, *row("outfall_remediation"), "含新建排口", "已核实", "台账"],
            [2, *row("outfall_remediation", water_body="抚河", required=3, completed=3), None, None, None],
            [3, None, None, None, None, None, None, None, None]]  # a numbered empty row is blank
    table = checked(tmp_path, fmt, rows)
    assert found(table) == [("COLUMN_UNKNOWN", "I1")]  # any other unknown column: a warning, as in v1
    assert table.findings[0].severity == "warning" and table.accepted
    assert loaded(table, "water_body", "required") == [(2, "ganjiang", 10), (3, "fuhe", 3)]


# --------------------------------------------------------------------------- footers

FOOTER = [
    ["填报人：王敏  审核人：刘强  联系电话：0791-86123456"],
    ["填表日期：", "2025年1月8日", "单位负责人：", "张伟"],
    ["注：本表数据截至2024年12月31日。"],
    ["360102", "x", "不是数据"],  # after the footer: not data either
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_footer_rows_end_the_table_and_their_pairs_are_kept(tmp_path, fmt):
    rows = [OUTFALL, row("outfall_remediation"), row("outfall_remediation", water_body="抚河", required=3,
                                                     completed=3), *FOOTER]
    table = checked(tmp_path, fmt, rows, merges=[(4, 1, 4, 5), (6, 1, 6, 5)])  # merged footer rows are fine
    assert found(table) == []
    assert loaded(table, "water_body") == [(2, "ganjiang"), (3, "fuhe")]
    assert table.footer == [(4, "填报人", "王敏"), (4, "审核人", "刘强"), (4, "联系电话", "0791-86123456"),
                            (5, "填表日期", "2025年1月8日"), (5, "单位负责人", "张伟"),
                            (6, "注", "本表数据截至2024年12月31日")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_labelled_note_above_the_data_does_not_end_the_table(tmp_path, fmt):
    rows = [OUTFALL, ["注：数据截至12月31日"], row("outfall_remediation"),
            ["注 以下为补报"],  # a one-cell note without a colon: skipped as v1 did
            row("outfall_remediation", water_body="抚河", required=3, completed=3), ["审 核 人 ：刘强"]]
    table = checked(tmp_path, fmt, rows, merges=[(2, 1, 2, 5), (4, 1, 4, 5)])  # merged notes are no data
    assert found(table) == []
    assert loaded(table, "water_body") == [(3, "ganjiang"), (5, "fuhe")]
    assert table.footer == [(2, "注", "数据截至12月31日"), (6, "审核人", "刘强")]


# --------------------------------------------------------------------------- blank rows

@pytest.mark.parametrize("fmt", FORMATS)
def test_blank_rows_between_data_rows_are_skipped(tmp_path, fmt):
    rows = [OUTFALL, [], row("outfall_remediation"), [None, None, None, None], [],
            row("outfall_remediation", water_body="抚河", required=3, completed=3), []]
    table = checked(tmp_path, fmt, rows)
    assert found(table) == []
    assert loaded(table, "water_body", "required") == [(3, "ganjiang", 10), (6, "fuhe", 3)]


# --------------------------------------------------------------------------- percentage cells

AIR = header("air_quality")  # ... 优良天数 有效监测天数 优良天数比例 (column G)


@pytest.mark.parametrize("fmt", FORMATS)
def test_percentage_formatted_cell_holds_a_fraction(tmp_path, fmt):
    rows = [AIR, row("air_quality", good_days=337, valid_days=366, good_day_rate=0.9208)]
    table = checked(tmp_path, fmt, rows, percent={(2, 7), (2, 5)})  # E2 優良天数: a count, format ignored
    assert found(table) == []
    assert loaded(table, "good_days", "good_day_rate") == [(2, 337, 92.08)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_percentage_formatted_cell_that_breaks_the_rate_rule_is_shown_as_a_percentage(tmp_path, fmt):
    table = checked(tmp_path, fmt, [AIR, row("air_quality", good_day_rate=0.95)], percent={(2, 7)})
    assert found(table) == [("ROW_RATE", "G2")]
    (f,) = table.findings
    assert f.value == "95%" and "是否应为" not in f.message_zh


@pytest.mark.parametrize("fmt", FORMATS)
def test_plain_fraction_in_a_percent_column_gets_a_hint(tmp_path, fmt):
    table = checked(tmp_path, fmt, [AIR, row("air_quality", good_days=337, valid_days=366, good_day_rate=0.921)])
    assert found(table) == [("ROW_RATE", "G2")]
    (f,) = table.findings
    assert f.value == "0.921"
    assert f.message_zh.endswith("（允许误差 0.05）。是否应为 92.1%？")
    assert f.message_en.endswith("(tolerance 0.05): did you mean 92.1%?")


def test_plain_fraction_that_satisfies_its_rate_rule_needs_no_hint(tmp_path):
    rows = [header("rural_soil"), row("rural_soil", villages_sewage_treated=0, sewage_rate=0,
                                      farmland_polluted=1000, farmland_safe=5, farmland_safe_rate=0.5)]
    table = checked(tmp_path, "xlsx", rows)
    assert found(table) == []
    assert loaded(table, "farmland_safe_rate") == [(2, 0.5)]


# --------------------------------------------------------------------------- units in cells

@pytest.mark.parametrize("fmt", FORMATS)
def test_units_and_counting_words_in_cells(tmp_path, fmt):
    outfall = checked(tmp_path, fmt, [OUTFALL, row("outfall_remediation", required="45个", completed="１２ 个"),
                                      row("outfall_remediation", water_body="抚河", required="1,072个",
                                          completed="1000多个")])
    assert found(outfall) == [("CELL_QUALIFIER", "E3")]  # "1000多": at least 1000, a warning as in v1
    assert loaded(outfall, "required", "completed") == [(2, 45, 12), (3, 1072, 1000)]

    enforcement = checked(tmp_path, fmt, [
        header("enforcement"),
        row("enforcement", penalty_cases="12件", fines="1300.47万元", exempt_cases="3件",
            exempt_amount="0.13亿元", scattered_found="3家", scattered_fixed="2家"),
        row("enforcement", period="2024-06", fines="13004700元", exempt_amount="20000元")])
    assert found(enforcement) == []
    assert loaded(enforcement, "penalty_cases", "fines", "exempt_cases", "exempt_amount", "scattered_found") == [
        (2, 12, 1300.47, 3, 1300.0, 3), (3, 3, pytest.approx(1300.47), 1, 2.0, 5)]

    inspection = checked(tmp_path, fmt, [header("inspection_problems"),
                                         row("inspection_problems", problems_due="10项", problems_done="8 项")])
    assert found(inspection) == []
    assert loaded(inspection, "problems_due", "problems_done") == [(2, 10, 8)]

    rural = checked(tmp_path, fmt, [header("rural_soil"), row("rural_soil", farmland_polluted="150亩",
                                                              farmland_safe="140亩", farmland_safe_rate="93.33%",
                                                              villages_total="100个")])
    assert found(rural) == []
    assert loaded(rural, "farmland_polluted", "farmland_safe", "villages_total") == [(2, 150, 140, 100)]

    air = checked(tmp_path, fmt, [AIR, row("air_quality", pm25="32微克/立方米", pm10="0.055mg/m3",
                                           good_days="337天")])
    assert found(air) == []
    assert loaded(air, "pm25", "pm10", "good_days") == [(2, 32, 55, 337)]

    water = checked(tmp_path, fmt, [header("water_sections"), row("water_sections", water_body="鄱阳湖南昌湖区",
                                                                  water_type="湖库", water_class="Ⅳ",
                                                                  total_phosphorus="0.068mg/L")], "360100")
    assert found(water) == []
    assert loaded(water, "total_phosphorus") == [(2, 0.068)]


def test_a_money_cell_with_its_own_unit_overrides_the_header_unit(tmp_path):
    rows = [[*header("enforcement")[:3], "罚款金额（元）", *header("enforcement")[4:]],
            row("enforcement", fines="1300.47万元"), row("enforcement", period="2024-06", fines=13004700)]
    table = checked(tmp_path, "xlsx", rows)
    assert found(table) == []
    assert loaded(table, "fines") == [(2, 1300.47), (3, pytest.approx(1300.47))]


@pytest.mark.parametrize("fmt", FORMATS)
def test_any_other_suffix_is_an_error_naming_the_cell(tmp_path, fmt):
    table = checked(tmp_path, fmt, [header("enforcement"),
                                    row("enforcement", penalty_cases="12只", fines="12美元", scattered_found="约5家")])
    assert found(table) == [("CELL_UNIT_SUFFIX", "C2"), ("CELL_UNIT_SUFFIX", "D2"), ("CELL_NUMBER", "G2")]
    cases, fines, _ = table.findings
    assert cases.value == "12只" and "“只”" in cases.message_zh and "个、件、家" in cases.message_zh
    assert fines.message_en == ("'罚款金额' value '12美元' carries the unit '美元', which this column does not take: "
                                "write the number alone, or use one of: 万元、元、亿元、千元、万、亿")
    assert not table.accepted


# --------------------------------------------------------------------------- all together

@pytest.mark.parametrize("fmt", FORMATS)
def test_every_layout_at_once(tmp_path, fmt):
    rows = [["东湖区2024年农村环境与土壤情况表"],
            ["序号", "区县代码", "报告期", "行政村整治", None, "行政村\n总数", "生活污水\n治理行政村数",
             "农村生活污水\n治理率", "耕地安全利用", None, None, "备注"],
            [None, None, None, "新增完成环境整治行政村数", "累计完成环境整治行政村数", None, None, None,
             "受污染耕地面积（亩）", "受污染耕地安全利用面积", "受污染耕地安全利用率", None],
            [1, "360102", "2024", "5个", "50个", "100个", 61, 0.61, "1,000亩", 930, 0.93, "—"],
            [],
            ["填报人：王敏", None, None, "审核人：刘强"]]
    merges = [(1, 1, 1, 12), (2, 1, 3, 1), (2, 2, 3, 2), (2, 3, 3, 3), (2, 4, 2, 5), (2, 6, 3, 6), (2, 7, 3, 7),
              (2, 8, 3, 8), (2, 9, 2, 11), (2, 12, 3, 12), (6, 1, 6, 3)]
    table = checked(tmp_path, fmt, rows, merges=merges, percent={(4, 8), (4, 11)})
    assert found(table) == []
    assert loaded(table, "villages_new", "villages_cumulative", "villages_total", "sewage_rate",
                  "farmland_polluted", "farmland_safe_rate") == [(4, 5, 50, 100, 61.0, 1000, 93.0)]
    assert table.footer == [(6, "填报人", "王敏"), (6, "审核人", "刘强")]


# --------------------------------------------------------------------------- footers in the warehouse

def test_footer_is_recorded_with_the_submission_and_shown_by_history(tmp_path, capsys):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    good = [*TWO_ROW, ["填报人：王敏  审核人：刘强  联系电话：0791-86123456"]]
    write_book(raw / "inbox" / "360102" / "排口.xls", good, merges=TWO_ROW_MERGES)
    os.utime(raw / "inbox" / "360102" / "排口.xls", (1_700_000_000, 1_700_000_000))
    bad = [OUTFALL, row("outfall_remediation", required=10, completed=11), ["填报人：李娜", "联系电话：13800000000"]]
    write_book(raw / "inbox" / "360102" / "排口更正.xlsx", bad)
    summary = steps.run_plain(raw, db)
    assert [(t.file, t.status) for t in summary.tables] == [("360102/排口.xls", "accepted"),
                                                            ("360102/排口更正.xlsx", "rejected")]
    accepted, rejected = summary.tables
    with duckdb.connect(str(db), read_only=True) as con:
        notes = con.execute("SELECT submission_id, position, row_number, label, value FROM meta_submission_notes "
                            "ORDER BY ALL").fetchall()
        issues = con.execute("SELECT string_agg(concat_ws(' ', value, message_zh, message_en), ' ') "
                             "FROM validation_issues").fetchone()
        facts = con.execute("SELECT water_body, required, completed, source_row FROM fact_outfall_remediation "
                            "ORDER BY source_row").fetchall()
    assert facts == [("ganjiang", 10, 8, 4), ("fuhe", 3, 3, 5)]
    assert notes == [(accepted.submission_id, 1, 6, "填报人", "王敏"), (accepted.submission_id, 2, 6, "审核人", "刘强"),
                     (accepted.submission_id, 3, 6, "联系电话", "0791-86123456"),
                     (rejected.submission_id, 1, 3, "填报人", "李娜"),
                     (rejected.submission_id, 2, 3, "联系电话", "13800000000")]
    assert [f.rule_id for f in rejected.findings] == ["ROW_NOT_ABOVE"]
    assert "李娜" not in issues[0] and "1380000" not in issues[0]  # a footer is never a finding
    capsys.readouterr()
    assert main(["history", "--unit", "360102", "--warehouse", str(db)]) == 0
    out = capsys.readouterr().out
    assert "填报人：王敏 · 审核人：刘强 · 联系电话：0791-86123456" in out
    assert "填报人：李娜 · 联系电话：13800000000" in out


# --------------------------------------------------------------------------- the shipped samples

SAMPLES = Path(__file__).resolve().parent.parent / "raw" / "samples"


@pytest.mark.parametrize("name", ["360102/东湖区2024年度生态环境报表.xlsx", "360105/湾里管理局2024年度报表.xls"])
def test_shipped_samples_show_the_layouts_and_load_without_a_finding(name):
    """tools/make_samples.py: a first run shows the §3.1 layouts, and they load cleanly (the figures they
    give are checked by tests/test_samples.py)."""
    raws = read_tables(SAMPLES / name)
    tables = [check_table(raw, name[:6], today=TODAY) for raw in raws]
    assert [found(t) for t in tables] == [[] for _ in tables]
    assert all(t.accepted for t in tables) and len(tables) >= 4
    assert all(len(t.raw.rows) > 1 and t.header_row is not None for t in tables)
    assert all(any(r1 < r2 for r1, _, r2, _ in raw.merged) for raw in raws)  # two-row headers
    assert all([p.label for p in t.footer][:3] == ["填报人", "审核人", "联系电话"] for t in tables)
    assert any(raw.percent for raw in raws)  # rates in Excel percentage cells
    assert any(isinstance(c, str) and c.endswith("个") and c[0].isdigit()
               for raw in raws for _, cells in raw.rows for c in cells)
