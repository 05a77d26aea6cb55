"""Templates: generated from the forms, filled with drop-down values, they validate with no finding."""

from __future__ import annotations

import logging
from pathlib import Path

import openpyxl
import pytest

from ecostat.check.recognise import INSTRUCTIONS_SHEET
from ecostat.cli import main
from ecostat.contract.catalogue import rules
from ecostat.contract.forms import FORMS
from ecostat.contract.formspec import INTEGER, PERCENT
from ecostat.contract.obligations import units_required
from ecostat.contract.registry import CITY, registry
from ecostat.publish.templates import FIRST_ROW, HEADER_ROW, column_headers, prefilled_rows
from tests.forms_data import VALID, register_valid_codes


def dropdowns(wb: openpyxl.Workbook, ws) -> dict[str, object]:
    """{column letter: the validation covering its first data cell}; list validations resolved to their values."""
    out: dict[str, object] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            letter = rng.coord.split(":")[0].rstrip("0123456789")
            assert rng.min_row == FIRST_ROW and rng.max_row >= FIRST_ROW + 100
            if dv.type == "list":
                sheet, cells = dv.formula1.split("!")
                assert sheet == f"'{INSTRUCTIONS_SHEET}'"
                out[letter] = [c.value for row in wb[INSTRUCTIONS_SHEET][cells.replace("$", "")] for c in row]
            else:
                out[letter] = dv
    return out


def fill(wb: openpyxl.Workbook, code: str) -> None:
    """Type the valid row of a form into its sheet, taking registry values from the drop-downs only."""
    form = FORMS[code]
    ws = wb[form.zh]
    lists = dropdowns(wb, ws)
    for j, f in enumerate(form.fields, 3):
        letter = openpyxl.utils.get_column_letter(j)
        value = VALID[code].get(f.code)
        if value is None:
            continue
        if f.registry:  # a registry or yes/no: from the drop-down
            name = registry(f.registry).resolve(value).name
            assert name in lists[letter], (f.code, lists[letter])
            value = name
        elif f.kind == PERCENT and isinstance(value, str):
            value = float(value.rstrip("%"))
        if f.kind == INTEGER:
            assert lists[letter].type == "whole"
        ws.cell(row=FIRST_ROW, column=j).value = value


@pytest.mark.parametrize("code", list(FORMS))
def test_template_round_trip(tmp_path: Path, capsys, code: str, monkeypatch) -> None:
    path = tmp_path / f"{code}.xlsx"
    unit = CITY if FORMS[code].submitters is not None else "360102"
    register_valid_codes(monkeypatch, unit)
    assert main(["template", code, "--unit", unit, "--year", "2024", "--out", str(path)]) == 0
    wb = openpyxl.load_workbook(path)
    form = FORMS[code]
    assert wb.sheetnames == [form.zh, INSTRUCTIONS_SHEET]
    ws = wb[form.zh]
    assert [c.value for c in ws[HEADER_ROW]] == column_headers(form)
    prefilled = [(ws.cell(r, 1).value, ws.cell(r, 2).value) for r in range(FIRST_ROW, FIRST_ROW + 40)]
    assert prefilled == [(unit, "2024")] * prefilled_rows(form) + [(None, None)] * (40 - prefilled_rows(form))
    fill(wb, code)
    wb.save(path)
    capsys.readouterr()
    assert main(["validate", str(path), "--unit", unit, "--warehouse", str(tmp_path / "none.duckdb")]) == 0
    out = capsys.readouterr().out
    assert out == f"{path.name} [{form.zh}]: {code} — 通过 accepted, 0 errors, 0 warnings\n"


def test_all_forms_in_one_template(tmp_path: Path, capsys, monkeypatch) -> None:
    """A unit's template holds the forms it owes (report_obligations.csv); filled, each sheet is accepted."""
    path = tmp_path / "all.xlsx"
    register_valid_codes(monkeypatch, "360100")
    assert main(["template", "all", "--unit", "360100", "--year", "2024", "--month", "6", "--out", str(path)]) == 0
    wb = openpyxl.load_workbook(path)
    forms = [f for f in FORMS.values() if CITY in units_required(f.code)]
    assert wb.sheetnames == [*(f.zh for f in forms), INSTRUCTIONS_SHEET] and "水质断面" in wb.sheetnames
    assert "信访件办理" not in wb.sheetnames  # districts and counties report petitions, not the city
    assert wb["空气质量"]["B3"].value == "2024-06" and wb["空气质量"]["A3"].value == "360100"
    for form in forms:
        fill(wb, form.code)
    wb["空气质量"]["E3"], wb["空气质量"]["F3"], wb["空气质量"]["G3"] = 160, 182, None  # six months only
    wb.save(path)
    capsys.readouterr()
    assert main(["validate", str(path), "--unit", "360100", "--warehouse", str(tmp_path / "none.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "ERROR" not in out and "WARNING" not in out and out.count("通过 accepted") == len(forms)


def test_a_district_gets_the_forms_it_owes_and_untouched_sheets_are_skipped(tmp_path: Path, capsys,
                                                                           caplog) -> None:
    """Issue 20: a district's template has only the district forms; filled in as a district fills it (some
    sheets, the others left as generated or with blank rows), the filled sheets are accepted and the
    untouched ones skipped with a note, not rejected with TABLE_EMPTY (contract v3 §3.1)."""
    path = tmp_path / "district.xlsx"
    assert main(["template", "all", "--unit", "360102", "--year", "2024", "--out", str(path)]) == 0
    wb = openpyxl.load_workbook(path)
    owed = [f for f in FORMS.values() if "360102" in units_required(f.code)]
    assert wb.sheetnames == [*(f.zh for f in owed), INSTRUCTIONS_SHEET]
    assert not {"空气质量", "水质断面", "核与辐射", "环评审批", "污染防治申报项目"} & set(wb.sheetnames)
    filled, untouched = owed[:4], owed[4:]
    for form in filled:
        fill(wb, form.code)
    wb[untouched[0].zh].cell(FIRST_ROW + 1, 3).value = None  # a blank row is still untouched
    wb[untouched[0].zh].cell(FIRST_ROW, 1).value = None  # and so is a row without its pre-filled code
    wb.save(path)
    capsys.readouterr()
    with caplog.at_level(logging.WARNING, logger="ecostat.check.untouched"):
        assert main(["validate", str(path), "--unit", "360102", "--warehouse", str(tmp_path / "none.duckdb")]) == 0
    out, notes = capsys.readouterr().out, caplog.text
    assert "TABLE_EMPTY" not in out and out.count("通过 accepted") == len(filled)
    for form in untouched:
        assert f"[{form.zh}]: 未填写的模板工作表，已跳过" in notes, notes
    for form in filled:
        assert f"[{form.zh}]: 未填写" not in notes
    # a sheet with one cell given is no longer untouched: it is checked (and here rejected)
    wb[untouched[0].zh].cell(FIRST_ROW, 3).value = 5
    wb.save(path)
    assert main(["validate", str(path), "--unit", "360102", "--warehouse", str(tmp_path / "none.duckdb")]) == 1
    # an empty sheet of a workbook that is no template (no instructions sheet) is still TABLE_EMPTY
    del wb[INSTRUCTIONS_SHEET]
    wb[untouched[0].zh].cell(FIRST_ROW, 3).value = None
    wb.save(path)
    capsys.readouterr()
    assert main(["validate", str(path), "--unit", "360102", "--warehouse", str(tmp_path / "none.duckdb")]) == 1
    assert capsys.readouterr().out.count("TABLE_EMPTY") == len(untouched)


def test_instructions_come_from_the_schemas_and_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    assert main(["template", "outfall_remediation", "--unit", "360102", "--year", "2024", "--out", str(path)]) == 0
    text = "\n".join(str(c.value) for row in openpyxl.load_workbook(path)[INSTRUCTIONS_SHEET].iter_rows()
                     for c in row if c.value)
    assert "需整治排口数：必填，整数；≥ 0" in text
    assert "规则 ROW_NOT_ABOVE：已完成整治数 ≤ 需整治排口数" in text
    assert "跨期规则 PERIOD_FALL：已完成整治数不得低于上期已报值" in text
    assert all(rule_id in text for rule_id in rules())


def test_range_validation_matches_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    assert main(["template", "air_quality", "--unit", "360102", "--year", "2024", "--out", str(path)]) == 0
    wb = openpyxl.load_workbook(path)
    v = dropdowns(wb, wb["空气质量"])
    assert (v["C"].type, v["C"].formula1) == ("custom", "AND(ISNUMBER(C3),C3>0,C3<=500)")  # pm25: > 0, ≤ 500
    assert (v["E"].type, v["E"].operator, v["E"].formula1) == ("whole", "greaterThanOrEqual", "0")
    assert (v["G"].type, v["G"].operator, v["G"].formula1, v["G"].formula2) == ("decimal", "between", "0", "100")


def test_unknown_unit_or_form(tmp_path: Path, capsys) -> None:
    assert main(["template", "nope", "--unit", "360102", "--year", "2024", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert main(["template", "--unit", "999999", "--year", "2024", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert main(["template", "water_sections", "--unit", "360102", "--year", "2024",
                 "--out", str(tmp_path / "x.xlsx")]) == 2  # the city alone submits sections (§4.2)
    assert "仅由 360100 报送" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()
