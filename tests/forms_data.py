"""A valid row of every form, as a submitter would type it, for tests to break one cell at a time."""

from __future__ import annotations

from typing import Any

from ecostat.contract.forms import FORMS
from ecostat.read.types import RawTable

VALID: dict[str, dict[str, object]] = {
    "air_quality": {"pm25": 32, "pm10": 55, "good_days": 337, "valid_days": 366, "good_day_rate": "92.08%"},
    "water_sections": {"section_code": "S01", "section_name": "滁槎", "water_body": "赣江", "water_type": "河流",
                       "level": "国考", "water_class": "Ⅱ", "total_phosphorus": 0.05},
    "outfall_remediation": {"water_body": "赣江", "required": 10, "completed": 8},
    "inspection_problems": {"batch": "历次", "problems_due": 10, "problems_done": 8},
    "petitions": {"batch": "第三轮第二批", "assigned": 10, "difficult": 1, "key_cases": 3, "general": 6,
                  "concluded": 8, "closed": 5},
    "enforcement": {"penalty_cases": 3, "fines": 12.5, "exempt_cases": 1, "exempt_amount": 2.0,
                    "scattered_found": 5, "scattered_fixed": 4},
    "rural_soil": {"villages_new": 5, "villages_cumulative": 50, "villages_total": 100,
                   "villages_sewage_treated": 61, "sewage_rate": 61, "farmland_polluted": 1000,
                   "farmland_safe": 930, "farmland_safe_rate": "93%"},
    "drinking_water": {"source_code": "DW01", "source_name": "青岚水厂", "source_level": "县级", "samples": 12,
                       "compliant_samples": 12, "boundary_marked": "是"},
    "pollution_projects": {"project_name": "赣江支流综合治理", "field": "水污染防治", "central_funds": "1.15亿元"},
    "eia_approvals": {"pledge_approvals": 40, "investment": 842800, "avg_days": 12.5},
    "eco_damage": {"leads": 12, "compensation": 8.5},
    "soil_waste": {"parcels_reviewed": 8, "parcels_exceeding": 0, "key_units_monitored": 5, "zero_waste_cells": 6,
                   "heavy_metal_base": "1.2吨", "heavy_metal_current": 1130},
    "radiation": {"licensed_units": 20, "reports_submitted": 19, "sources_collected": 2, "collecting_units": 1},
}
UNIT_HEADERS = ["区县代码", "报告期"]


def header(form: str) -> list[object]:
    """The Chinese header row of a form (unit code and period first)."""
    return [*UNIT_HEADERS, *(f.zh for f in FORMS[form].fields)]


def row(form: str, unit: object = "360102", period: object = "2024", **changes: object) -> list[object]:
    """A valid row of ``form`` with some cells changed."""
    values = {**VALID[form], **changes}
    return [unit, period, *(values.get(f.code) for f in FORMS[form].fields)]


def column_of(form: str, code: str) -> str:
    """The column letter a field has in :func:`header`."""
    return "ABCDEFGHIJKLMNOP"[2 + [f.code for f in FORMS[form].fields].index(code)]


def raw(rows: list[list[object]], sheet: str | None = "表1") -> RawTable:
    """A raw table whose row 1 is the first of ``rows``."""
    return RawTable(sheet, [(i, r) for i, r in enumerate(rows, 1)])


def register_valid_codes(monkeypatch: Any, owner: str) -> None:
    """For a test that needs its rows free of warnings: the bureau's registers as shipped, plus the valid
    rows' section and source codes (``S01``, ``DW01``) registered to ``owner`` from 2000 on."""
    from ecostat.check import codes
    from ecostat.contract.registry import CodeRegister, code_register

    def with_valid(name: str) -> CodeRegister:
        shipped = code_register(name)
        ours = {str(VALID[f.code][f.owned_code]): ((2000, None, owner),) for f in FORMS.values()
                if f.code_register == name and f.owned_code is not None}
        return CodeRegister(name, {**shipped.owners, **ours})

    monkeypatch.setattr(codes, "code_register", with_valid)
