"""Fill-in templates generated from the form definitions (``schemas/<form>.py``), the registries
and the rule catalogue, so that they cannot drift from what validation checks: one sheet per form
with the unit and period pre-filled, Chinese headers with units, drop-down lists for the registry
columns, whole-number and range validation, and an instructions sheet."""

from __future__ import annotations

import re

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ecostat.check.recognise import INSTRUCTIONS_SHEET
from ecostat.common.safecell import put
from ecostat.contract.catalogue import rules
from ecostat.contract.forms import FORMS
from ecostat.contract.formspec import INTEGER, NUMBER, PERCENT, PERIOD, REGISTRY, TEXT, UNIT_CODE, YESNO, Field, Form
from ecostat.contract.normalize import Period, column_letter
from ecostat.contract.obligations import forms_owed_or_allowed
from ecostat.contract.registry import Entry, may_submit, registry

HEADER_ROW = 2
FIRST_ROW = HEADER_ROW + 1
VALIDATED_ROWS = 300  # rows below the header that carry the drop-downs and range checks
SECTION_ROWS = 30  # pre-filled rows of a form keyed by something other than a registry
KIND_ZH = {INTEGER: "整数", NUMBER: "数值", PERCENT: "百分数（0–100，不带 % 亦可）", REGISTRY: "从下拉列表选择",
           TEXT: "文本", YESNO: "是 或 否（也可写 已完成/未完成、√/×、Y/N、1/0）"}
LISTS_COLUMN = 8  # the drop-down lists sit on the instructions sheet from column H
HEADER_FILL = PatternFill(fill_type="solid", start_color="FFDDEBF7", end_color="FFDDEBF7")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def column_headers(form: Form) -> list[str]:
    """The template's header row: unit code, period, then each field's Chinese header with its unit."""
    return ["区县代码", "报告期", *(f.header for f in form.fields)]


def prefilled_rows(form: Form) -> int:
    """How many rows get the unit and period: one per unit, or one per entry of the key's registry."""
    if not form.key:
        return 1
    key = form.field(form.key[0])
    return len(registry(key.registry).entries) if key.registry else SECTION_ROWS


def _number_validation(f: Field, ref: str) -> DataValidation | None:
    kind = "whole" if f.kind == INTEGER else "decimal"
    if f.kind == INTEGER and f.min is None and f.max is None:
        return DataValidation(type="whole", operator="between", formula1="-2147483648", formula2="2147483647")
    if f.min is None and f.max is None:
        return None
    if f.min_exclusive or f.max_exclusive:  # Excel's operators cannot mix bounds: a formula can
        parts = [f"ISNUMBER({ref})"]
        if f.min is not None:
            parts.append(f"{ref}{'>' if f.min_exclusive else '>='}{f.min:g}")
        if f.max is not None:
            parts.append(f"{ref}{'<' if f.max_exclusive else '<='}{f.max:g}")
        if f.kind == INTEGER:
            parts.append(f"{ref}=INT({ref})")
        return DataValidation(type="custom", formula1=f"AND({','.join(parts)})")
    if f.min is not None and f.max is not None:
        return DataValidation(type=kind, operator="between", formula1=f"{f.min:g}", formula2=f"{f.max:g}")
    if f.min is not None:
        return DataValidation(type=kind, operator="greaterThanOrEqual", formula1=f"{f.min:g}")
    return DataValidation(type=kind, operator="lessThanOrEqual", formula1=f"{f.max:g}")


class _Lists:
    """The registries' names written once on the instructions sheet, as drop-down sources."""

    def __init__(self, ws: Worksheet):
        self.ws, self.where = ws, {}  # type: ignore[var-annotated]

    def ref(self, name: str) -> str:
        if name not in self.where:
            col = LISTS_COLUMN + len(self.where)
            put(self.ws, 1, col, f"可选值：{name}").font = Font(bold=True)
            entries: list[Entry] = registry(name).entries
            for i, e in enumerate(entries, 2):
                put(self.ws, i, col, e.name)
            letter = column_letter(col - 1)
            self.where[name] = f"'{INSTRUCTIONS_SHEET}'!${letter}$2:${letter}${len(entries) + 1}"
        return self.where[name]


def _form_sheet(ws: Worksheet, form: Form, unit: Entry, period: Period, lists: _Lists) -> None:
    put(ws, 1, 1, f"{form.zh}（{form.code}） 填报单位：{unit.name} {unit.code}  报告期：{period.label}").font = Font(
        bold=True, size=13)
    fields = [Field(UNIT_CODE, "区县代码", TEXT), Field(PERIOD, "报告期", TEXT), *form.fields]
    last = HEADER_ROW + VALIDATED_ROWS
    for j, (f, head) in enumerate(zip(fields, column_headers(form), strict=True), 1):
        cell = put(ws, HEADER_ROW, j, head)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        letter = column_letter(j - 1)
        ws.column_dimensions[letter].width = max(12, min(30, 2 * len(head) + 2))
        if f.kind == TEXT:
            for r in range(FIRST_ROW, last + 1):
                ws.cell(row=r, column=j).number_format = "@"
        dv = None
        if f.registry:  # a registry's names, or 是/否
            dv = DataValidation(type="list", formula1=lists.ref(f.registry))
        elif f.kind in (INTEGER, NUMBER, PERCENT):
            dv = _number_validation(f, f"{letter}{FIRST_ROW}")
        if dv is None:
            continue
        dv.allow_blank = True
        dv.showErrorMessage = dv.showInputMessage = True
        dv.errorTitle, dv.promptTitle = "填写有误", f.zh[:32]
        dv.error = f"“{f.zh}”应为{KIND_ZH[f.kind]}" + (f"，{f.range_text}" if f.range_text else "")
        dv.prompt = (KIND_ZH[f.kind] + (f"，{f.range_text}" if f.range_text else ""))[:255]
        dv.add(f"{letter}{FIRST_ROW}:{letter}{last}")
        ws.add_data_validation(dv)
    for r in range(FIRST_ROW, FIRST_ROW + prefilled_rows(form)):
        put(ws, r, 1, unit.code)
        put(ws, r, 2, period.label)
    ws.freeze_panes = f"A{FIRST_ROW}"


def _instructions(ws: Worksheet, forms: list[Form], unit: Entry, period: Period) -> None:
    """Every line is one cell of text (never two headers in a row), so validation never takes the
    sheet for a table."""
    lines: list[tuple[str, bool]] = [
        (f"填报说明（由 ecostat 根据报表定义自动生成）— {unit.name}（{unit.code}），报告期 {period.label}", True),
        ("1. 每个工作表是一张报表；请勿修改表头（第 2 行），从第 3 行起每行填写一条记录，可增加行。", False),
        ("2. 区县代码和报告期已预填；未填写任何数值的预填行视为空行，不会上报。", False),
        ("3. 报告期写作 2024 或 2024年（年报），2024-06 或 2024年6月（月报，为年初至当月累计）。", False),
        ("4. 空白、—、/、无、NA 表示缺失；必填项不能缺失。数值按表头括号中的单位填写。", False),
        ("5. 请保存为 .xlsx 提交；不要设置密码，不要合并数据区单元格，不要使用未计算的公式。", False),
        ("", False),
    ]
    for form in forms:
        lines.append((f"报表：{form.zh}（{form.code}）", True))
        lines.append(("  区县代码：必填，文本；报告期：必填，文本", False))
        for f in form.fields:
            allowed = f"；可选：{registry(f.registry).names()}" if f.registry else ""
            rng = f"；{f.range_text}" if f.range_text else ""
            lines.append((f"  {f.header}：{f.required_text}，{KIND_ZH[f.kind]}{rng}{allowed}", False))
        lines += [(f"  {label} {rule_id}：{text}", False) for label, rule_id, text in form.rule_texts()]
        lines.append(("", False))
    lines.append(("校验规则与提示（错误：退回；警告：接收并提示）", True))
    for entry in rules().values():
        severity = "错误" if entry.severity == "error" else "警告"
        lines.append((f"  {entry.id}（{severity}）：{_PLACEHOLDER.sub('…', entry.zh)}", False))
    for i, (text, bold) in enumerate(lines, 1):
        if text:
            put(ws, i, 1, text).font = Font(bold=bold)
    ws.column_dimensions["A"].width = 110


def build_template(forms: list[Form], unit: str, year: int, month: int | None = None) -> openpyxl.Workbook:
    """A template workbook for ``unit`` and the period (``year``, ``month``): one sheet per form, then
    the instructions sheet holding the drop-down lists."""
    entry = registry("units").resolve(unit)
    if entry is None:
        raise ValueError(f"unknown unit {unit}")
    period = Period(year, month)
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    sheets = [wb.create_sheet(form.zh) for form in forms]
    info = wb.create_sheet(INSTRUCTIONS_SHEET)
    lists = _Lists(info)
    for ws, form in zip(sheets, forms, strict=True):
        _form_sheet(ws, form, entry, period, lists)
    _instructions(info, forms, entry, period)
    return wb


class NotSubmitter(ValueError):
    """The unit may not submit the form (contract §4.2: water sections come from the city only)."""


def forms_named(name: str, unit: str | None = None) -> list[Form]:
    """The forms a template is asked for: ``all`` (every form; for a ``unit``, those it owes or may send per
    ``report_obligations.csv``), a form code or its Chinese name (:class:`NotSubmitter` when ``unit`` may not
    submit it)."""
    if name == "all":
        return list(FORMS.values()) if unit is None else [FORMS[c] for c in forms_owed_or_allowed(unit)]
    for form in FORMS.values():
        if name in (form.code, form.zh):
            if unit is not None and not may_submit(unit, form.submitters):
                allowed = [e.code for e in registry("units").entries if may_submit(e.code, form.submitters)]
                raise NotSubmitter(f"{form.code} is submitted by {', '.join(allowed)} only / "
                                   f"报表“{form.zh}”仅由 {'、'.join(allowed)} 报送")
            return [form]
    raise KeyError(name)
