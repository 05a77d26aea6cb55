"""The figures in the bureau's words: the phrasing data, the sentences of the samples' 2024 figures (the
seed's way of writing them), and ``ecostat figures --format text|table``."""

from __future__ import annotations

import csv
import json
import math
import re

import pandas as pd
import pytest

from ecostat.cli import main
from ecostat.contract.forms import FORMS
from ecostat.publish.annual.phrasing import (
    TEXT_FILE,
    change_clause,
    figure_texts,
    format_number,
    missing_texts,
    sentences,
    text_for,
)
from ecostat.store.figuredefs import FIGURES_FILE
from ecostat.store.figures import annual_figures
from ecostat.store.warehouse import connect

# The seed's 2024 statements as the samples reproduce them, in the precision figure_text.csv sets.
SEED_SENTENCES = [
    "PM2.5平均浓度为32微克/立方米，同比改善3%。",
    "优良天数比例为92.1%，同比下降0.2个百分点。",
    "地表水断面水质优良率为84.85%，同比持平。",
    "国考断面水质优良率为90.9%，同比持平。",
    "水质达到或优于Ⅱ类的断面占比为72.73%，同比上升6.06个百分点。",
    "鄱阳湖南昌湖区总磷平均浓度为0.068mg/L，同比改善4.23%。",
    "需整治的入河排污口1072个，已完成整治1045个，整治完成率97.5%，同比上升12.3个百分点。",
    "历次督察反馈问题中有整改时限的283个，已完成整改256个。",
    "历次督察交办信访件3329件，已办结3320件，已销号3296件。",
    "第三轮第二批交办信访件791件（疑难复杂件2件、重点件240件、一般件549件），已办结714件，已销号475件。",
    "行政处罚案件95件，同比减少9件。",
    "罚款金额1300.47万元，同比减少5.92%。",
    "免罚案件19件，同比增加14件。",
    "免罚金额2418.9万元，同比增长473.86%。",
    "“散乱污”企业排查发现518家，已整治492家。",
    "新增完成环境整治的行政村156个，同比增加22个，累计达到664个。",
    "农村生活污水治理率达到60%以上，同比上升6.3个百分点。",
    "受污染耕地安全利用率在93%以上，同比上升2.8个百分点。",
    # §6.1
    "县级及以上集中式饮用水水源地水质达标率为100%，同比上升1.2个百分点。",
    "农村集中式饮用水水源地39个，完成保护区定界立标39个。",
    "水领域污染防治申报项目7个，涉及中央资金1.15亿元。",
    "大气领域污染防治申报项目4个，涉及中央资金2440万元。",
    "土壤领域污染防治申报项目1个，涉及中央资金650万元。",
    "承诺制审批项目40个，涉及投资84.28亿元，同比增长17.78%。",
    "生态环境损害赔偿线索151件，落实赔偿金额113.72万元，同比增长31.7%。",
    "地块土壤污染状况调查报告评审68宗，同比增加13宗。",
    "评审地块均未出现超标。",
    "完成周边土壤环境监测的重点监管单位49家，同比增加4家。",
    "通过评估的“无废细胞”60个，同比增加20个。",
    "重点行业重金属排放量较基准值减少5.3%。",
    "提交辐射年度安全评估报告的核技术利用单位119家，同比增加9家。",
    "5家核技术利用单位完成废旧放射源收贮8枚。",
]


def catalogue() -> list[str]:
    with open(FIGURES_FILE, encoding="utf-8", newline="") as fh:
        return [r["figure"] for r in csv.DictReader(fh)]


def test_every_catalogue_figure_has_phrasing_data():
    assert missing_texts(catalogue()) == [], f"add these figures to {TEXT_FILE.name}"
    assert set(figure_texts()) <= set(catalogue()), "figure_text.csv names a figure the catalogue does not have"


def test_the_phrasing_data_is_consistent():
    texts = figure_texts()
    stated_elsewhere = set().union(*(t.referenced() for t in texts.values()))
    for t in texts.values():
        assert t.section and t.up and t.down and t.flat, t.figure
        assert t.rounding in ("half_up", "floor"), t.figure
        assert t.template or t.figure in stated_elsewhere, f"{t.figure}: no template and no other sentence states it"
        assert t.charts <= {"yoy", "districts", "monthly"}, t.figure
        assert t.form in FORMS, t.figure
        if t.field is not None:
            assert t.field in {f.code for f in FORMS[t.form].fields}, t.figure
        if "monthly" in t.charts:
            assert t.field is not None, f"{t.figure}: a monthly curve needs the summed field"
        for name in re.findall(r"\{(\w+)", t.template + t.zero):
            assert name in ("value", "change", "dimension"), (t.figure, name)
    assert stated_elsewhere <= set(texts)


@pytest.mark.parametrize(("value", "decimals", "rounding", "shown"), [
    (2418.8999999999996, 2, "half_up", "2418.9"),
    (1300.4699999999998, 2, "half_up", "1300.47"),
    (-3.0303030303030303, 1, "half_up", "-3"),
    (92.07650273224044, 1, "half_up", "92.1"),
    (0.0445, 3, "half_up", "0.045"),  # half up, not to even
    (60.49019607843137, 0, "floor", "60"),
    (92.99999999999999, 0, "floor", "93"),  # float noise does not drop a floor by one
    (1072.0, 0, "half_up", "1072"),
    (-0.04, 1, "half_up", "0"),
])
def test_numbers_are_written_at_their_precision(value, decimals, rounding, shown):
    assert format_number(value, decimals, rounding) == shown


def test_change_clauses_follow_the_bureau_conventions():
    pm25, rate, fines, cases = (text_for(f, "", "") for f in (
        "air.pm25_mean", "air.good_day_rate", "enforcement.fines", "enforcement.penalty_cases"))
    assert change_clause(-3.03, "%", pm25, "µg/m³") == "，同比改善3%"
    assert change_clause(4.2, "%", pm25, "µg/m³") == "，同比上升4.2%"
    assert change_clause(-0.23, "pp", rate, "%") == "，同比下降0.2个百分点"
    assert change_clause(0.04, "pp", rate, "%") == "，同比持平"  # unchanged at the precision written
    assert change_clause(473.86, "%", fines, "万元") == "，同比增长473.86%"
    assert change_clause(-9.0, "件", cases, "件") == "，同比减少9件"
    assert change_clause(None, "%", fines, "万元") == change_clause(math.nan, "%", fines, "万元") == ""


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {"dimension": None, "previous_value": None, "change": None, "change_unit": "个", "unit": "个"}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_a_figure_without_phrasing_data_gets_a_generic_sentence():
    got = sentences(frame([{"figure": "noise.complaints", "name_zh": "噪声投诉件数", "value": 39.0,
                            "previous_value": 36.0, "change": 3.0}]))
    assert [(s.section, s.text) for s in got] == [("其他指标", "噪声投诉件数为39个，同比上升3个。")]


def test_large_values_in_a_larger_unit_and_zero_in_words():
    funds = [{"figure": "projects.central_funds", "name_zh": "中央资金", "dimension": d, "value": v, "unit": "万元",
              "change_unit": "%"} for d, v in (("water", 11500.0), ("air", 2440.0))]
    counts = [{"figure": "projects.count", "name_zh": "项目数", "dimension": d, "value": v}
              for d, v in (("water", 7.0), ("air", 4.0))]
    assert [s.text for s in sentences(frame(funds + counts))] == [
        "水领域污染防治申报项目7个，涉及中央资金1.15亿元。", "大气领域污染防治申报项目4个，涉及中央资金2440万元。"]
    parcels = [{"figure": "soil.parcels_exceeding", "name_zh": "超标地块数", "value": v, "unit": "宗",
                "change_unit": "宗"} for v in (0.0, 2.0)]
    assert [s.text for s in sentences(frame(parcels[:1]))] == ["评审地块均未出现超标。"]
    assert [s.text for s in sentences(frame(parcels[1:]))] == ["其中超标地块2宗。"]


def test_a_pair_states_both_figures_and_drops_a_missing_optional_part():
    rows = [{"figure": "petition.assigned", "name_zh": "交办信访件数", "dimension": "historic", "value": 10.0,
             "unit": "件", "change_unit": "件"},
            {"figure": "petition.concluded", "name_zh": "已办结信访件数", "dimension": "historic", "value": 9.0,
             "unit": "件", "change_unit": "件"}]
    [s] = sentences(frame(rows))
    assert s.text == "历次督察交办信访件10件，已办结9件，已销号—。"  # no breakdown; the missing closed shown as —
    assert s.figures[0] == "petition.assigned" and "petition.closed" in s.figures


def test_the_samples_2024_figures_read_as_the_seed_writes_them(samples):
    _, warehouse = samples
    with connect(warehouse, read_only=True) as con:
        text = [s.text for s in sentences(annual_figures(con, 2024))]
    for expected in SEED_SENTENCES:
        assert expected in text, expected
    assert text.index(SEED_SENTENCES[8]) < text.index(SEED_SENTENCES[9])  # the registry's order: 历次 first


def test_figures_text_prints_the_same_sentences(samples, capsys):
    _, warehouse = samples
    assert main(["figures", "--year", "2024", "--format", "text", "--warehouse", str(warehouse)]) == 0
    lines = capsys.readouterr().out.splitlines()
    with connect(warehouse, read_only=True) as con:
        assert lines == [s.text for s in sentences(annual_figures(con, 2024))]


def test_the_table_is_rounded_and_json_keeps_the_unrounded_values(samples, capsys):
    _, warehouse = samples
    assert main(["figures", "--year", "2024", "--warehouse", str(warehouse)]) == 0
    table = capsys.readouterr().out
    rate = next(line for line in table.splitlines() if "air.good_day_rate" in line)
    assert rate.split()[2:7] == ["92.1", "%", "92.3", "-0.2", "pp"]
    assert "92.0765" not in table and "1300.47" in table
    assert main(["figures", "--year", "2024", "--format", "json", "--warehouse", str(warehouse)]) == 0
    rows = {r["figure"]: r for r in json.loads(capsys.readouterr().out) if r["dimension"] is None}
    assert rows["air.good_day_rate"]["value"] == pytest.approx(92.0765027, abs=1e-6)
