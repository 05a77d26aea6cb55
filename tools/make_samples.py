#!/usr/bin/env python3
"""Regenerate the shipped sample submissions under ``raw/samples/``.

Running ``python tools/make_samples.py`` deletes ``raw/samples/`` (and nothing else) and writes:

* 2023 and 2024 submissions from all eleven reporting units of the submission contract (§1):
  360100 (city monitoring centre) sends ``air_quality`` (one row per unit, its own row being the
  city-wide figure) and ``water_sections`` (all 33 sections, each naming the unit that contains
  it); each of the ten districts/counties/Wanli sends ``outfall_remediation``,
  ``inspection_problems``, ``petitions``, ``enforcement`` and ``rural_soil``.
* The contract's mix of formats (§2–3): xlsx with banner/note rows above the header, multi-sheet
  xlsx, CSV in GBK / UTF-8 with BOM / UTF-8, JSON arrays, parquet with English column codes,
  units in (full-width) brackets, money in 元, percent strings, full-width digits, thousands
  separators, unit names instead of codes, several period spellings.
* Final-report cases (§5): 360105's 2024 outfall report and 360123's 2024 enforcement report are
  monthly only (they count); 360112 (outfall) and 360121 (petitions) send a June monthly report
  *and* the annual one (the annual counts); 360121's 2024 outfall table ends in a correct 合计 row.
* Five bad files, named 错误_*/bad_*/stray.csv, that must be rejected and change no figure.
* Tables as offices fill them in (§3.1), in 2024 files only: 360102's 2024 workbook has two-row
  headers (group cells above merged-down headers), 序号 and 备注 columns, counts written with their
  counting word (``62个``), rates as Excel percentage cells and a signature footer; 360105's 2024
  report is an ``.xls`` (Excel 97–2003, written with xlwt) with the same and money written in 万元.

Every accepted row passes every §4 rule, no two accepted tables share a (form, unit, period)
slice, and the 2024 city figures of §6 come out as the seed document states them. The script
ends with a self-check that recomputes the §6 figures for 2023 and 2024 from the data
structures below (not from the files) and asserts them at the stated precision.

Output is deterministic: no randomness, fixed xlsx zip timestamps and document properties, and
fixed file mtimes (os.utime) in submission order (git does not keep mtimes; nothing depends on
them because no two accepted tables hold the same slice).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import xlwt
from openpyxl.styles import Alignment, Font

ROOT = Path(__file__).resolve().parent.parent
INBOX = ROOT / "raw" / "samples"
CST = timezone(timedelta(hours=8))

# --------------------------------------------------------------------------------------------
# Registry (contract §1, §4.2, §4.4)
# --------------------------------------------------------------------------------------------
CITY = "360100"
DISTRICTS = ["360102", "360103", "360104", "360111", "360112",
             "360113", "360121", "360123", "360124", "360105"]
UNITS = [CITY] + DISTRICTS
NAME = {"360100": "南昌市", "360102": "东湖区", "360103": "西湖区", "360104": "青云谱区",
        "360111": "青山湖区", "360112": "新建区", "360113": "红谷滩区", "360121": "南昌县",
        "360123": "安义县", "360124": "进贤县", "360105": "湾里管理局"}
SHORT = {"360100": "市本级", "360102": "东湖", "360103": "西湖", "360104": "青云谱",
         "360111": "青山湖", "360112": "新建", "360113": "红谷滩", "360121": "南昌县",
         "360123": "安义", "360124": "进贤", "360105": "湾里"}
BODY_ZH = {"ganjiang": "赣江", "fuhe": "抚河", "liaohe": "潦河", "jinjiang": "锦江",
           "poyang_nanchang": "鄱阳湖南昌湖区", "junshan": "军山湖", "qinglan": "青岚湖",
           "yaohu": "瑶湖"}
LAKES = {"poyang_nanchang", "junshan", "qinglan", "yaohu"}
TP_LIMITS = {"河流": (0.02, 0.1, 0.2, 0.3, 0.4), "湖库": (0.01, 0.025, 0.05, 0.1, 0.2)}

# --------------------------------------------------------------------------------------------
# The §6 figures as stated in the seed document: (figure, dimension) -> (2024 value, digits,
# stated change, change digits). A None change is not stated. Ranges are for "以上" figures.
# --------------------------------------------------------------------------------------------
STATED = {
    ("air.pm25_mean", None): (32, 0, -3, 0),
    ("air.good_day_rate", None): (92.1, 1, -0.2, 1),
    ("water.surface_good_rate", None): (84.85, 2, 0.0, 2),
    ("water.national_good_rate", None): (90.9, 1, None, None),
    ("water.class2_share", None): (72.73, 2, 6.06, 2),
    ("water.tp_mean", "poyang_nanchang"): (0.068, 3, -4.23, 2),
    ("outfall.required", None): (1072, 0, None, None),
    ("outfall.completed", None): (1045, 0, None, None),
    ("inspection.problems_due", "historic"): (283, 0, None, None),
    ("inspection.problems_done", "historic"): (256, 0, None, None),
    ("petition.assigned", "historic"): (3329, 0, None, None),
    ("petition.concluded", "historic"): (3320, 0, None, None),
    ("petition.closed", "historic"): (3296, 0, None, None),
    ("petition.assigned", "central_r3b2"): (791, 0, None, None),
    ("petition.difficult", "central_r3b2"): (2, 0, None, None),
    ("petition.key_cases", "central_r3b2"): (240, 0, None, None),
    ("petition.general", "central_r3b2"): (549, 0, None, None),
    ("petition.concluded", "central_r3b2"): (714, 0, None, None),
    ("petition.closed", "central_r3b2"): (475, 0, None, None),
    ("enforcement.penalty_cases", None): (95, 0, None, None),
    ("enforcement.fines", None): (1300.47, 2, -5.92, 2),
    ("enforcement.exempt_cases", None): (19, 0, None, None),
    ("enforcement.exempt_amount", None): (2418.9, 2, 473.86, 2),
    ("enforcement.scattered_found", None): (518, 0, None, None),
    ("enforcement.scattered_fixed", None): (492, 0, None, None),
    ("rural.villages_new", None): (156, 0, None, None),
    ("rural.villages_cumulative", None): (664, 0, None, None),
    # §6.1
    ("drinking.county_compliance_rate", None): (100, 1, None, None),
    ("drinking.rural_sources", None): (39, 0, None, None),
    ("drinking.rural_sources_marked", None): (39, 0, None, None),
    ("projects.count", "water"): (7, 0, None, None),
    ("projects.count", "air"): (4, 0, None, None),
    ("projects.count", "soil"): (1, 0, None, None),
    ("projects.central_funds", "water"): (11500, 0, None, None),
    ("projects.central_funds", "air"): (2440, 0, None, None),
    ("projects.central_funds", "soil"): (650, 0, None, None),
    ("eia.pledge_approvals", None): (40, 0, None, None),
    ("eia.investment", None): (84.28, 2, None, None),
    ("damage.leads", None): (151, 0, None, None),
    ("damage.compensation", None): (113.72, 2, None, None),
    ("soil.parcels_reviewed", None): (68, 0, None, None),
    ("soil.parcels_exceeding", None): (0, 0, None, None),
    ("soil.key_units_monitored", None): (49, 0, None, None),
    ("waste.zero_waste_cells", None): (60, 0, None, None),
    ("soil.heavy_metal_reduction", None): (5.3, 1, None, None),
    ("radiation.reports_submitted", None): (119, 0, None, None),
    ("radiation.sources_collected", None): (8, 0, None, None),
    ("radiation.collecting_units", None): (5, 0, None, None),
}
STATED_RANGES = {("rural.sewage_rate", None): (60, 61), ("soil.farmland_safe_rate", None): (93, 94)}
CHANGE_UNIT = {"air.pm25_mean": "%", "water.tp_mean": "%", "enforcement.fines": "%",
               "enforcement.exempt_amount": "%", "projects.central_funds": "%", "eia.investment": "%",
               "damage.compensation": "%"}  # the rest of the ratios below are pp
PP_FIGURES = {"air.good_day_rate", "water.surface_good_rate", "water.national_good_rate",
              "water.class2_share", "outfall.completion_rate", "rural.sewage_rate",
              "soil.farmland_safe_rate", "drinking.county_compliance_rate", "soil.heavy_metal_reduction"}


def rel_change(v: float, prev: float) -> float:
    return (v - prev) / prev * 100


# --------------------------------------------------------------------------------------------
# Small searches for the 2023 values the stated changes pin down
# --------------------------------------------------------------------------------------------
def search_good_days() -> tuple[tuple[int, int], tuple[int, int]]:
    """(good, valid) for 2024 (366 days) and 2023 (365) giving 92.1 % and a −0.2 pp change."""
    def first(max_valid: int, ok: Callable[[float], bool]) -> tuple[int, int]:
        for valid in range(max_valid, max_valid - 15, -1):
            for good in range(valid, 0, -1):
                if ok(good / valid * 100):
                    return good, valid
        raise AssertionError("no good/valid days found")
    g24 = first(366, lambda r: round(r, 1) == 92.1)
    r24 = g24[0] / g24[1] * 100
    g23 = first(365, lambda r: round(r24 - r, 1) == -0.2)
    return g24, g23


def search_previous(value: float, change: float, digits: int, places: int) -> Decimal:
    """The previous-year value nearest to value/(1+change/100), written with as few decimals
    (up to ``places``) as possible, whose relative change rounds to ``change``."""
    target = value / (1 + change / 100)
    for d in range(0, places + 1):
        step = Decimal(1).scaleb(-d)
        centre = Decimal(repr(round(target, d)))
        for cand in sorted((centre + k * step for k in range(-20, 21)), key=lambda c: abs(float(c) - target)):
            if cand > 0 and round(rel_change(value, float(cand)), digits) == change:
                return cand
    raise AssertionError(f"no previous value for {value} {change}")


(GOOD24, VALID24), (GOOD23, VALID23) = search_good_days()
FINES23 = search_previous(1300.47, -5.92, 2, 2)          # 万元, two decimals
EXEMPT23 = search_previous(2418.9, 473.86, 2, 4)         # 万元, as few decimals as will do
TP_POYANG23 = search_previous(0.068, -4.23, 2, 3)        # mg/L, the 2023 mean of 4 sections

# --------------------------------------------------------------------------------------------
# Canonical data. Money in 万元, water bodies and batches by code, periods 'YYYY' / 'YYYY-MM'.
# --------------------------------------------------------------------------------------------
# air_quality: unit -> (pm25, pm10, good_days, valid_days)
AIR = {
    "2024": {CITY: (32, 53, GOOD24, VALID24),
             "360102": (33, 55, 333, 366), "360103": (32, 54, 335, 365), "360104": (34, 57, 330, 366),
             "360111": (33, 56, 332, 366), "360112": (31, 52, 338, 366), "360113": (31, 51, 339, 366),
             "360121": (32, 54, 336, 366), "360123": (29, 48, 345, 366), "360124": (30, 50, 342, 364),
             "360105": (27, 45, 349, 366)},
}
AIR["2023"] = {u: (p25 + 1, p10 + 2, min(g + 1, min(v, 365)), min(v, 365))
               for u, (p25, p10, g, v) in AIR["2024"].items() if u != CITY}
AIR["2023"][CITY] = (33, 56, GOOD23, VALID23)

# water_sections: code, body, unit, level, class 2024, TP 2024, class 2023, TP 2023
_SECTIONS = [
    ("GJ01", "ganjiang", "360112", "国考", 2, 0.046, 2, 0.049),
    ("GJ02", "ganjiang", "360112", "省考", 2, 0.052, 2, 0.055),
    ("GJ03", "ganjiang", "360113", "国考", 2, 0.048, 2, 0.051),
    ("GJ04", "ganjiang", "360103", "市考", 2, 0.057, 2, 0.060),
    ("GJ05", "ganjiang", "360102", "国考", 2, 0.055, 2, 0.058),
    ("GJ06", "ganjiang", "360111", "省考", 2, 0.061, 2, 0.066),
    ("GJ07", "ganjiang", "360112", "市考", 2, 0.063, 2, 0.064),
    ("GJ08", "ganjiang", "360121", "国考", 2, 0.058, 2, 0.062),
    ("GJ09", "ganjiang", "360105", "市考", 2, 0.039, 2, 0.041),
    ("GJ10", "ganjiang", "360112", "国考", 2, 0.066, 2, 0.070),
    ("FH01", "fuhe", "360121", "国考", 2, 0.072, 2, 0.075),
    ("FH02", "fuhe", "360121", "省考", 2, 0.068, 2, 0.071),
    ("FH03", "fuhe", "360124", "国考", 2, 0.077, 2, 0.080),
    ("FH04", "fuhe", "360124", "市考", 2, 0.081, 2, 0.085),
    ("FH05", "fuhe", "360104", "国考", 2, 0.074, 2, 0.079),
    ("LH01", "liaohe", "360123", "国考", 2, 0.035, 2, 0.038),
    ("LH02", "liaohe", "360123", "省考", 2, 0.041, 2, 0.043),
    ("LH03", "liaohe", "360112", "市考", 2, 0.044, 2, 0.047),
    ("JJ01", "jinjiang", "360112", "国考", 2, 0.050, 2, 0.054),
    ("JJ02", "jinjiang", "360112", "市考", 2, 0.053, 2, 0.056),
    ("PY01", "poyang_nanchang", "360112", "国考", 4, None, 4, None),
    ("PY02", "poyang_nanchang", "360121", "省考", 4, None, 4, None),
    ("PY03", "poyang_nanchang", "360124", "市考", 4, None, 4, None),
    ("PY04", "poyang_nanchang", "360124", "市考", 4, None, 4, None),
    ("JS01", "junshan", "360124", "省考", 3, 0.032, 3, 0.036),
    ("JS02", "junshan", "360124", "市考", 2, 0.022, 3, 0.029),
    ("JS03", "junshan", "360124", "市考", 2, 0.021, 2, 0.024),
    ("QL01", "qinglan", "360121", "省考", 3, 0.038, 3, 0.041),
    ("QL02", "qinglan", "360124", "市考", 2, 0.024, 3, 0.031),
    ("QL03", "qinglan", "360121", "市考", 2, 0.019, 2, 0.023),
    ("YH01", "yaohu", "360111", "省考", 4, 0.072, 4, 0.078),
    ("YH02", "yaohu", "360111", "市考", 3, 0.044, 3, 0.047),
    ("YH03", "yaohu", "360111", "市考", 3, 0.046, 3, 0.049),
]
# Poyang (lake) sections: 2024 mean 0.068 (class IV at best), 2023 mean from the search.
_PY24 = [60, 65, 71, 76]                                   # µg/L → mean 68
_s23 = int(TP_POYANG23 * 4000)                              # sum of the 2023 values in µg/L
assert TP_POYANG23 * 4000 == _s23, "2023 Poyang mean must be a multiple of 0.00025"
_PY23 = [_s23 // 4 - 8, _s23 // 4 - 3, _s23 // 4 + 3, _s23 // 4 + 8 + _s23 % 4]
WATER: dict[str, list[dict]] = {"2024": [], "2023": []}
for code, body, unit, level, c24, tp24, c23, tp23 in _SECTIONS:
    if body == "poyang_nanchang":
        i = int(code[-1]) - 1
        tp24, tp23 = _PY24[i] / 1000, _PY23[i] / 1000
    for year, cls, tp in (("2024", c24, tp24), ("2023", c23, tp23)):
        WATER[year].append({"unit": unit, "section_code": code,
                            "section_name": f"{BODY_ZH[body]}{code[-2:]}号断面",
                            "water_body": body, "water_type": "湖库" if body in LAKES else "河流",
                            "level": level, "water_class": cls, "total_phosphorus": tp})

# outfall_remediation: period -> unit -> {water body: (required, completed)}
OUTFALL = {
    "2023": {"360102": {"ganjiang": (62, 55)}, "360103": {"ganjiang": (70, 61)},
             "360104": {"fuhe": (43, 38)}, "360111": {"ganjiang": (56, 49), "fuhe": (36, 30)},
             "360112": {"ganjiang": (140, 118), "poyang_nanchang": (85, 71)},
             "360113": {"ganjiang": (84, 72)},
             "360121": {"ganjiang": (110, 95), "fuhe": (102, 88), "poyang_nanchang": (64, 52)},
             "360123": {"ganjiang": (18, 15)},
             "360124": {"fuhe": (90, 77), "poyang_nanchang": (78, 63)},
             "360105": {"ganjiang": (16, 14)}},
    "2024": {"360102": {"ganjiang": (62, 62)}, "360103": {"ganjiang": (71, 70)},
             "360104": {"fuhe": (43, 43)}, "360111": {"ganjiang": (58, 57), "fuhe": (36, 35)},
             "360112": {"ganjiang": (142, 139), "poyang_nanchang": (88, 84)},
             "360113": {"ganjiang": (84, 83)},
             "360121": {"ganjiang": (112, 110), "fuhe": (104, 102), "poyang_nanchang": (66, 63)},
             "360123": {"ganjiang": (18, 18)},
             "360124": {"fuhe": (91, 88), "poyang_nanchang": (79, 74)}},
    # 360112: June year-to-date report beside its annual one (the annual counts)
    "2024-06": {"360112": {"ganjiang": (141, 127), "poyang_nanchang": (86, 77)}},
    # 360105: no annual 2024 outfall report; the November report is its final one
    "2024-11": {"360105": {"ganjiang": (18, 17)}},
}

# inspection_problems (historic batch only): period -> unit -> (problems_due, problems_done)
INSPECTION = {
    "2023": {"360102": (18, 14), "360103": (20, 16), "360104": (15, 12), "360111": (26, 19),
             "360112": (42, 31), "360113": (24, 19), "360121": (56, 40), "360123": (21, 15),
             "360124": (38, 28), "360105": (13, 11)},
    "2024": {"360102": (18, 17), "360103": (21, 20), "360104": (15, 14), "360111": (27, 24),
             "360112": (44, 39), "360113": (25, 23), "360121": (58, 51), "360123": (22, 19),
             "360124": (39, 35), "360105": (14, 14)},
}

# petitions: period -> unit -> {batch: (assigned, concluded, closed) for historic,
#                               (assigned, difficult, key_cases, concluded, closed) for central_r3b2}
PETITIONS = {
    "2023": {"360102": {"historic": (250, 246, 240)}, "360103": {"historic": (288, 283, 276)},
             "360104": {"historic": (190, 188, 183)}, "360111": {"historic": (341, 335, 326)},
             "360112": {"historic": (452, 444, 431)}, "360113": {"historic": (277, 273, 266)},
             "360121": {"historic": (598, 587, 570)}, "360123": {"historic": (180, 177, 172)},
             "360124": {"historic": (386, 379, 368)}, "360105": {"historic": (231, 228, 222)}},
    "2024": {
        "360102": {"historic": (262, 262, 261), "central_r3b2": (58, 0, 17, 54, 36)},
        "360103": {"historic": (301, 300, 298), "central_r3b2": (66, 0, 20, 60, 40)},
        "360104": {"historic": (198, 198, 197), "central_r3b2": (41, 0, 12, 38, 25)},
        "360111": {"historic": (356, 355, 352), "central_r3b2": (87, 0, 26, 78, 52)},
        "360112": {"historic": (471, 469, 465), "central_r3b2": (112, 1, 34, 100, 67)},
        "360113": {"historic": (289, 289, 287), "central_r3b2": (73, 0, 22, 66, 44)},
        "360121": {"historic": (623, 620, 614), "central_r3b2": (139, 1, 43, 124, 83)},
        "360123": {"historic": (187, 187, 186), "central_r3b2": (44, 0, 13, 40, 27)},
        "360124": {"historic": (402, 400, 397), "central_r3b2": (103, 0, 31, 92, 62)},
        "360105": {"historic": (240, 240, 239), "central_r3b2": (68, 0, 22, 62, 39)}},
    # 360121: June year-to-date report beside its annual one (the annual counts)
    "2024-06": {"360121": {"historic": (610, 598, 580)}},
}

# enforcement: period -> unit -> (penalty_cases, fines 万元, exempt_cases, exempt_amount 万元,
#                                 scattered_found, scattered_fixed)
D = Decimal
ENFORCEMENT = {
    "2023": {"360102": (6, D("52.40"), 0, D(0), 20, 19), "360103": (7, D("66.80"), 0, D(0), 24, 22),
             "360104": (8, D("79.55"), 0, D(0), 38, 35), "360111": (13, D("176.30"), 1, D("120.3"), 60, 55),
             "360112": (15, D("230.12"), 1, D("150.2"), 80, 74), "360113": (7, D("74.60"), 0, D(0), 18, 17),
             "360121": None,  # balancing unit, filled in below from the searched 2023 totals
             "360123": (9, D("98.45"), 0, D(0), 35, 32), "360124": (14, D("214.27"), 1, D("50"), 70, 64),
             "360105": (6, D("87.10"), 0, D(0), 23, 21)},
    "2024": {"360102": (5, D("48.60"), 1, D("35.2"), 22, 22), "360103": (6, D("61.35"), 1, D("88"), 26, 25),
             "360104": (7, D("73.10"), 2, D("120.5"), 41, 39), "360111": (12, D("168.42"), 3, D("356.8"), 63, 60),
             "360112": (14, D("215.66"), 3, D("512.3"), 88, 83), "360113": (6, D("70.25"), 1, D("96.4"), 19, 19),
             "360121": (18, D("286.93"), 4, D("702.1"), 121, 114),
             "360124": (13, D("201.34"), 2, D("389"), 76, 71), "360105": (6, D("82.05"), 1, D("50"), 25, 24)},
    # 360123: no annual 2024 enforcement report; January–November is its final one
    "2024-11": {"360123": (8, D("92.77"), 1, D("68.6"), 37, 35)},
}
_rest = [v for u, v in ENFORCEMENT["2023"].items() if v is not None]
ENFORCEMENT["2023"]["360121"] = (19, FINES23 - sum(v[1] for v in _rest), 2,
                                 EXEMPT23 - sum(v[3] for v in _rest), 115, 106)

# rural_soil: period -> unit -> (villages_new, villages_cumulative, villages_total,
#                               villages_sewage_treated, farmland_polluted, farmland_safe)
RURAL = {
    "2023": {"360102": (0, 4, 4, 4, 0, 0), "360103": (1, 5, 6, 5, 0, 0),
             "360104": (1, 6, 9, 6, 120, 115), "360111": (5, 24, 38, 27, 1850, 1700),
             "360112": (30, 114, 235, 132, 12600, 11350), "360113": (6, 26, 41, 25, 860, 780),
             "360121": (40, 136, 280, 150, 18450, 16800), "360123": (16, 55, 112, 58, 5230, 4700),
             "360124": (30, 122, 265, 130, 16300, 14900), "360105": (5, 16, 30, 16, 420, 390)},
    "2024": {"360102": (0, 4, 10, 4, 0, 0), "360103": (1, 6, 12, 5, 0, 0),
             "360104": (2, 8, 9, 7, 120, 120), "360111": (6, 30, 38, 30, 1850, 1760),
             "360112": (34, 148, 235, 148, 12600, 11720), "360113": (7, 33, 41, 28, 860, 810),
             "360121": (45, 181, 268, 168, 18450, 17210), "360123": (19, 74, 112, 64, 5230, 4880),
             "360124": (36, 158, 265, 145, 16300, 15380), "360105": (6, 22, 30, 18, 420, 400)},
}

# Contract v3 §8: two year-over-year jumps of villages_total (beyond 50% and 5 villages), the city's total kept
# (360121's falls by their sum). 东湖区 explains its jump in the row's 备注 cell; 西湖区's is left unexplained,
# to be explained in the portal before its report can be approved.
JUMPS = {("rural_soil", "360102", "2024"): "2024年行政区划调整，新划入6个行政村，行政村总数由4个增至10个",
         ("rural_soil", "360103", "2024"): None}


# ---- contract v2 forms (§4.8–§4.13), 2023 and 2024 -----------------------------------------
# drinking_water: period -> unit -> [(code, name, level, samples, compliant, marked)]. 2024: every
# county-level-and-above sample compliant, 39 rural sources all marked; 2023: one sample short, 30 marked.
def _sources(unit: str, prefix: str, county: int, rural: int, township: int, marked23: int,
             short23: bool) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {"2023": [], "2024": []}
    name = NAME[unit]
    for year in ("2023", "2024"):
        for i in range(county):
            ok = 11 if (year == "2023" and short23 and i == 0) else 12
            out[year].append((f"{prefix}-C{i + 1:02d}", f"{name}城区集中式水源地{i + 1}号", "county_plus", 12, ok, True))
        for i in range(rural):
            marked = year == "2024" or i < marked23
            out[year].append((f"{prefix}-R{i + 1:02d}", f"{name}农村集中式水源地{i + 1:02d}", "rural", 4,
                              4 if i % 5 else 3, marked))
        for i in range(township):
            out[year].append((f"{prefix}-T{i + 1:02d}", f"{name}乡镇水源地{i + 1}号", "township", 4, 4, False))
    return out


_DW = {"360100": _sources("360100", "NC", 3, 0, 0, 0, False),
       "360112": _sources("360112", "XJ", 1, 4, 0, 3, False),
       "360121": _sources("360121", "NCX", 1, 15, 0, 12, True),
       "360123": _sources("360123", "AY", 1, 8, 0, 6, False),
       "360124": _sources("360124", "JX", 1, 12, 2, 9, False)}
DRINKING = {y: {u: v[y] for u, v in _DW.items()} for y in ("2023", "2024")}
DRINKING_UNITS = ["360112", "360121", "360123", "360124"]  # districts and counties with sources

# pollution_projects (360100): period -> [(project name, field, central funds 万元)]
PROJECTS = {
    "2024": [("赣江南昌段水生态保护修复项目", "water", 3000), ("抚河下游水环境综合治理项目", "water", 2500),
             ("鄱阳湖南昌湖区总磷削减项目", "water", 2000), ("青岚湖流域农业面源污染治理项目", "water", 1500),
             ("军山湖水环境治理项目", "water", 1200), ("潦河流域生态修复项目", "water", 800),
             ("瑶湖水质提升项目", "water", 500),
             ("工业炉窑深度治理项目", "air", 900), ("挥发性有机物综合治理项目", "air", 700),
             ("燃气锅炉低氮燃烧改造项目", "air", 500), ("移动源污染防治能力建设项目", "air", 340),
             ("重点行业企业用地土壤污染风险管控项目", "soil", 650)],
    "2023": [("赣江干流水环境综合治理项目", "water", 2500), ("抚河水生态修复项目", "water", 2000),
             ("鄱阳湖南昌湖区入湖河流整治项目", "water", 1500), ("城镇污水管网排查整治项目", "water", 1200),
             ("饮用水水源地规范化建设项目", "water", 1000),
             ("重点企业超低排放改造项目", "air", 800), ("餐饮油烟综合治理项目", "air", 600),
             ("扬尘污染防治能力建设项目", "air", 400),
             ("受污染耕地安全利用项目", "soil", 500), ("土壤污染重点监管单位隐患排查项目", "soil", 400)],
}
# eia_approvals (360100): period -> (pledge approvals, investment 万元, average days)
EIA = {"2024": (40, 842800, D("15.5")), "2023": (35, 715600, 22)}
# eco_damage: period -> unit -> (leads, compensation 万元)
DAMAGE = {
    "2024": {"360102": (6, D("2.15")), "360103": (5, D("1.8")), "360104": (7, D("3.42")), "360111": (14, D("9.86")),
             "360112": (25, D("21.37")), "360113": (9, D("5.6")), "360121": (38, D("32.45")),
             "360123": (15, D("10.28")), "360124": (24, D("20.14")), "360105": (8, D("6.65"))},
    "2023": {"360102": (5, D("1.2")), "360103": (4, D("0.9")), "360104": (6, D("2.5")), "360111": (11, D("7.3")),
             "360112": (21, D("15.6")), "360113": (8, D("4.1")), "360121": (31, D("25.8")),
             "360123": (12, D("8.4")), "360124": (20, D("16.2")), "360105": (6, D("4.35"))},
}
# soil_waste: period -> unit -> (parcels reviewed, exceeding, key units monitored, zero-waste cells,
#                                heavy metals base kg, heavy metals kg)
SOIL = {
    "2024": {"360102": (3, 0, 1, 5, 0, 0), "360103": (4, 0, 2, 6, 0, 0), "360104": (5, 0, 3, 4, 800, 760),
             "360111": (8, 0, 6, 7, 1500, 1420), "360112": (12, 0, 9, 8, 2600, 2470),
             "360113": (6, 0, 2, 9, 0, 0), "360121": (14, 0, 12, 7, 3900, 3700),
             "360123": (5, 0, 5, 5, 1200, 1130), "360124": (9, 0, 7, 6, 1600, 1510),
             "360105": (2, 0, 2, 3, 400, 374)},
    "2023": {"360102": (2, 0, 1, 3, 0, 0), "360103": (3, 0, 2, 4, 0, 0), "360104": (4, 0, 3, 2, 800, 780),
             "360111": (7, 0, 5, 5, 1500, 1465), "360112": (10, 1, 8, 6, 2600, 2530),
             "360113": (5, 0, 2, 6, 0, 0), "360121": (11, 0, 11, 5, 3900, 3800),
             "360123": (4, 0, 5, 3, 1200, 1170), "360124": (7, 0, 6, 4, 1600, 1555),
             "360105": (2, 0, 2, 2, 400, 390)},
}
# radiation (360100): period -> (licensed units, reports submitted, sources collected, collecting units)
RADIATION = {"2024": (124, 119, 8, 5), "2023": (118, 110, 3, 2)}


def rows(form: str, unit: str, period: str) -> list[dict]:
    """The canonical rows of one slice (form, unit, period)."""
    base = {"unit": unit, "period": period}
    if form == "air_quality":
        p25, p10, g, v = AIR[period][unit]
        return [dict(base, pm25=p25, pm10=p10, good_days=g, valid_days=v)]
    if form == "water_sections":
        return [dict(r, period=period) for r in WATER[period] if unit in (CITY, r["unit"])]
    if form == "outfall_remediation":
        return [dict(base, water_body=b, required=r, completed=c)
                for b, (r, c) in OUTFALL[period][unit].items()]
    if form == "inspection_problems":
        due, done = INSPECTION[period][unit]
        return [dict(base, batch="historic", problems_due=due, problems_done=done)]
    if form == "petitions":
        out = []
        for batch, t in PETITIONS[period][unit].items():
            if batch == "historic":
                a, con, clo = t
                out.append(dict(base, batch=batch, assigned=a, difficult=None, key_cases=None,
                                general=None, concluded=con, closed=clo))
            else:
                a, dif, key, con, clo = t
                out.append(dict(base, batch=batch, assigned=a, difficult=dif, key_cases=key,
                                general=a - dif - key, concluded=con, closed=clo))
        return out
    if form == "enforcement":
        pc, f, ec, ea, sf, sx = ENFORCEMENT[period][unit]
        return [dict(base, penalty_cases=pc, fines=f, exempt_cases=ec, exempt_amount=ea,
                     scattered_found=sf, scattered_fixed=sx)]
    if form == "rural_soil":
        new, cum, tot, tre, pol, safe = RURAL[period][unit]
        return [dict(base, villages_new=new, villages_cumulative=cum, villages_total=tot,
                     villages_sewage_treated=tre, farmland_polluted=pol, farmland_safe=safe)]
    if form == "drinking_water":
        return [dict(base, source_code=c, source_name=n, source_level=lv, samples=sm, compliant_samples=ok,
                     boundary_marked=mk) for c, n, lv, sm, ok, mk in DRINKING[period][unit]]
    if form == "pollution_projects":
        assert unit == CITY
        return [dict(base, project_name=n, field=f, central_funds=v) for n, f, v in PROJECTS[period]]
    if form == "eia_approvals":
        assert unit == CITY
        n, inv, days = EIA[period]
        return [dict(base, pledge_approvals=n, investment=inv, avg_days=days)]
    if form == "eco_damage":
        leads, comp = DAMAGE[period][unit]
        return [dict(base, leads=leads, compensation=comp)]
    if form == "soil_waste":
        rev, exc, key, cells, hb, hc = SOIL[period][unit]
        return [dict(base, parcels_reviewed=rev, parcels_exceeding=exc, key_units_monitored=key,
                     zero_waste_cells=cells, heavy_metal_base=hb, heavy_metal_current=hc)]
    if form == "radiation":
        assert unit == CITY
        lic, rep, src, col = RADIATION[period]
        return [dict(base, licensed_units=lic, reports_submitted=rep, sources_collected=src, collecting_units=col)]
    raise KeyError(form)


# --------------------------------------------------------------------------------------------
# Forms: (code, Chinese header, unit written in brackets) in column order (contract §4)
# --------------------------------------------------------------------------------------------
FORMS = {
    "air_quality": [("pm25", "PM2.5平均浓度", "μg/m³"), ("pm10", "PM10平均浓度", "μg/m³"),
                    ("good_days", "优良天数", "天"), ("valid_days", "有效监测天数", "天"),
                    ("good_day_rate", "优良天数比例", "%")],
    "water_sections": [("section_code", "断面编码", None), ("section_name", "断面名称", None),
                       ("water_body", "所在水体", None), ("water_type", "水体类型", None),
                       ("level", "断面级别", None), ("water_class", "水质类别", None),
                       ("total_phosphorus", "总磷", "mg/L")],
    "outfall_remediation": [("water_body", "所属水体", None), ("required", "需整治排口数", "个"),
                            ("completed", "已完成整治数", "个")],
    "inspection_problems": [("batch", "批次", None), ("problems_due", "有整改时限问题数", "个"),
                            ("problems_done", "已完成整改数", "个")],
    "petitions": [("batch", "批次", None), ("assigned", "交办件数", "件"),
                  ("difficult", "疑难复杂件数", "件"), ("key_cases", "重点件数", "件"),
                  ("general", "一般件数", "件"), ("concluded", "已办结件数", "件"),
                  ("closed", "已销号件数", "件")],
    "enforcement": [("penalty_cases", "行政处罚案件数", "件"), ("fines", "罚款金额", "万元"),
                    ("exempt_cases", "免罚案件数", "件"), ("exempt_amount", "免罚金额", "万元"),
                    ("scattered_found", "排查散乱污企业数", "家"),
                    ("scattered_fixed", "完成整治散乱污企业数", "家")],
    "rural_soil": [("villages_new", "新增完成环境整治行政村数", "个"),
                   ("villages_cumulative", "累计完成环境整治行政村数", "个"),
                   ("villages_total", "行政村总数", "个"),
                   ("villages_sewage_treated", "生活污水治理行政村数", "个"),
                   ("sewage_rate", "农村生活污水治理率", "%"),
                   ("farmland_polluted", "受污染耕地面积", "亩"),
                   ("farmland_safe", "受污染耕地安全利用面积", "亩"),
                   ("farmland_safe_rate", "受污染耕地安全利用率", "%")],
    "drinking_water": [("source_code", "水源地编码", None), ("source_name", "水源地名称", None),
                       ("source_level", "水源地级别", None), ("samples", "监测次数", "次"),
                       ("compliant_samples", "达标次数", "次"), ("boundary_marked", "保护区定界立标", None)],
    "pollution_projects": [("project_name", "项目名称", None), ("field", "领域", None),
                           ("central_funds", "中央资金", "万元")],
    "eia_approvals": [("pledge_approvals", "承诺制审批项目数", "个"), ("investment", "涉及投资", "万元"),
                      ("avg_days", "平均审批用时", "天")],
    "eco_damage": [("leads", "损害赔偿线索数", "件"), ("compensation", "落实赔偿金额", "万元")],
    "soil_waste": [("parcels_reviewed", "地块调查报告评审数", "宗"), ("parcels_exceeding", "超标地块数", "宗"),
                   ("key_units_monitored", "重点监管单位周边监测数", "家"),
                   ("zero_waste_cells", "通过评估的无废细胞数", "个"),
                   ("heavy_metal_base", "重点行业重金属排放量基准值", "kg"),
                   ("heavy_metal_current", "重点行业重金属排放量", "kg")],
    "radiation": [("licensed_units", "核技术利用单位数", "家"), ("reports_submitted", "提交年度评估报告单位数", "家"),
                  ("sources_collected", "收贮废旧放射源枚数", "枚"), ("collecting_units", "完成收贮单位数", "家")],
}
SHEET_NAME = {"air_quality": "空气质量", "water_sections": "水质断面", "outfall_remediation": "入河排污口整治",
              "inspection_problems": "督察整改", "petitions": "信访件办理", "enforcement": "环境执法",
              "rural_soil": "农村环境与土壤", "drinking_water": "饮用水水源地",
              "pollution_projects": "污染防治申报项目", "eia_approvals": "环评审批", "eco_damage": "生态环境损害赔偿",
              "soil_waste": "土壤重金属与无废城市", "radiation": "核与辐射"}
RATES = {"good_day_rate": ("good_days", "valid_days"),
         "sewage_rate": ("villages_sewage_treated", "villages_total"),
         "farmland_safe_rate": ("farmland_safe", "farmland_polluted")}
MONEY = {"fines", "exempt_amount", "central_funds", "investment", "compensation"}
MASS = {"heavy_metal_base", "heavy_metal_current"}
V2_DISTRICT_FORMS = ["eco_damage", "soil_waste"]  # contract v2: every district, county and Wanli
DISTRICT_FORMS = ["outfall_remediation", "inspection_problems", "petitions", "enforcement", "rural_soil",
                  *V2_DISTRICT_FORMS]
CITY_FORMS = ["drinking_water", "pollution_projects", "eia_approvals", "radiation"]  # 360100's own rows
LEVEL_ZH = {"county_plus": "县级及以上", "township": "乡镇级", "rural": "农村集中式"}
LEVEL_SHORT = {"county_plus": "县级", "township": "乡镇", "rural": "农村"}
FIELD_ZH = {"water": "水污染防治", "air": "大气污染物减排", "soil": "土壤污染防治"}

BATCH_ZH = {"historic": "历次督察", "central_r3b2": "第三轮第二批"}
BATCH_LONG = {"historic": "历次中央和省督察及警示片", "central_r3b2": "第三轮第二批中央生态环境保护督察"}
BATCH_SHORT = {"historic": "历次", "central_r3b2": "第三轮第二批中央督察"}
BATCH_EN = {"historic": "historic", "central_r3b2": "central_r3b2"}
CLASS_ROMAN = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ", 5: "Ⅴ", 6: "劣Ⅴ"}
CLASS_ASCII = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "劣V"}
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


# Period spellings (contract §3)
def per_plain(p: str) -> str:          # 2024 / 2024-06
    return p


def per_nian(p: str) -> str:           # 2024年 / 2024年6月
    y, _, m = p.partition("-")
    return f"{y}年{int(m)}月" if m else f"{y}年"


def per_nian0(p: str) -> str:          # 2024年06月
    y, _, m = p.partition("-")
    return f"{y}年{m}月" if m else f"{y}年"


def per_int(p: str) -> int | str:      # 2024 as a number cell
    return int(p) if "-" not in p else p


def per_slash(p: str) -> str:          # 2024/07
    return p.replace("-", "/")


def per_compact(p: str) -> str:        # 202405
    return p.replace("-", "")


@dataclass
class Style:
    """How one table writes its canonical rows."""
    unit_col: str = "区县代码"            # 区县代码 / district_code → code; 区县 / 单位 / district → name
    names: dict = field(default_factory=lambda: NAME)
    code_type: type = str                 # int: code cells are numbers (xlsx, json)
    period: Callable = per_plain
    en: bool = False                      # English column codes
    brackets: str = "half"                # half / full / none: the unit after a Chinese header
    money: str = "万元"                   # 万元 or 元
    omit: frozenset = frozenset()         # optional columns left out
    fullwidth: frozenset = frozenset()    # columns written with full-width digits
    thousands: frozenset = frozenset()    # columns written with thousands separators
    percent: bool = False                 # rates written as "92.1%"
    body_code: bool = False               # water bodies by code instead of Chinese name
    batch: dict = field(default_factory=lambda: BATCH_ZH)
    wclass: dict = field(default_factory=lambda: CLASS_ROMAN)
    missing: object = None                # how an empty optional cell is written
    alias: dict = field(default_factory=dict)  # code -> alternative Chinese header
    # §3.1 layouts (xlsx/xls only)
    rate_format: bool = False             # rates as fractions in a percentage number format (Pct)
    counted: frozenset = frozenset()      # columns written with their unit or counting word: "62个"
    serial: bool = False                  # a leading 序号 column (1, 2, ...)
    remarks: bool = False                 # a trailing 备注 column (empty)
    # contract v2 forms
    mass: str = "kg"                      # kg or 吨: heavy metals
    yes: tuple = ("是", "否")             # how boundary_marked writes yes and no
    level: dict = field(default_factory=lambda: LEVEL_ZH)


class Pct(float):
    """A rate written as a fraction in a cell with a percentage number format (0.921 shows 92.1%)."""


def rate(num: float, den: float) -> float | None:
    """A percentage written to 1 decimal (2 where 1 would land near the 0.05 tolerance)."""
    if not den:
        return None
    exact = num / den * 100
    r = round(exact, 1)
    return r if abs(r - exact) < 0.04 else round(exact, 2)


def fmt_num(v) -> str:
    if isinstance(v, Decimal):
        v = float(v)
    if isinstance(v, float):
        return f"{v:.6f}".rstrip("0").rstrip(".")
    return str(v)


def render(form: str, data: list[dict], st: Style, totals: str | None = None) -> tuple[list, list]:
    """Headers and cell rows of one table. totals='ok'/'bad' appends a 合计 row."""
    cols = [c for c in FORMS[form] if c[0] not in st.omit]
    if st.en:
        headers = [st.unit_col, "period"] + [c[0] for c in cols]
    else:
        headers = [st.unit_col, "报告期"]
        for code, zh, unit in cols:
            zh = st.alias.get(code, zh)
            if code in MONEY:
                unit = st.money
            if code in MASS:
                unit = st.mass
            if unit and st.brackets == "half":
                zh = f"{zh}({unit})"
            elif unit and st.brackets == "full":
                zh = f"{zh}（{unit}）"
            headers.append(zh)
    by_code = st.unit_col in ("区县代码", "district_code")
    units = {code: unit for code, _, unit in cols}

    def cell(code: str, row: dict):
        v = row.get(code)
        if code in RATES:
            num, den = RATES[code]
            v = rate(row[num], row[den])
            if v is not None:
                exact = row[num] / row[den] * 100
                assert abs(v - exact) < 0.05, (code, row)
                if st.percent:
                    return f"{fmt_num(v)}%"
                if st.rate_format:
                    return Pct(round(v / 100, 6))
        if v is None:
            return st.missing
        if code == "water_body":
            return v if st.body_code else BODY_ZH[v]
        if code == "batch":
            return st.batch[v]
        if code == "water_class":
            return st.wclass[v]
        if code == "boundary_marked":
            return st.yes[0] if v else st.yes[1]
        if code in ("source_level", "field"):
            return v if st.body_code else st.level[v] if code == "source_level" else FIELD_ZH[v]
        if code in MONEY:
            v = v * 10000 if st.money == "元" else D(v) / 10000 if st.money == "亿元" else v
            v = int(v) if v == int(v) else float(v)
        if code in MASS and st.mass == "吨":
            v = D(v) / 1000
            v = int(v) if v == int(v) else float(v)
        if isinstance(v, Decimal):
            v = float(v)
        if code in st.thousands:
            return f"{v:,}"
        if code in st.fullwidth:
            return fmt_num(v).translate(FULLWIDTH)
        if code in st.counted:
            return f"{fmt_num(v)}{st.money if code in MONEY else st.mass if code in MASS else units[code]}"
        return v

    out = []
    for row in data:
        unit = st.code_type(row["unit"]) if by_code else st.names[row["unit"]]
        out.append([unit, st.period(row["period"])] + [cell(c[0], row) for c in cols])
    if st.serial:
        headers = ["序号", *headers]
        out = [[i, *line] for i, line in enumerate(out, 1)]
    if st.remarks:
        headers = [*headers, "备注"]
        out = [[*line, JUMPS.get((form, row["unit"], row["period"]))] for line, row in zip(out, data, strict=True)]
    if totals:
        summed = [c[0] for c in cols if c[0] in ("required", "completed")]
        tot = ["合计", st.period(data[-1]["period"])]
        for code, _, _ in cols:
            if code in summed:
                s = sum(r[code] for r in data)
                tot.append(s + (2 if totals == "bad" and code == "completed" else 0))
            else:
                tot.append(None)
        out.append(tot)
    return headers, out


# --------------------------------------------------------------------------------------------
# The shipped files
# --------------------------------------------------------------------------------------------
@dataclass
class Sheet:
    form: str | None                      # None: headers match no form
    data: list[dict]
    style: Style = field(default_factory=Style)
    name: str | None = None
    banner: str | None = None             # merged title row above the header
    note: str | None = None               # note row between banner and header
    totals: str | None = None             # 'ok' / 'bad': a 合计 row at the bottom
    raw: tuple | None = None              # (headers, rows) written as is (form None)
    groups: tuple = ()                    # two-row header: (group label, first header, last header), §3.1
    footer: tuple = ()                    # rows below the data, after a blank row: tuples of cells


@dataclass
class File:
    path: str                             # relative to raw/samples
    sheets: list[Sheet]
    when: str                             # file mtime, Asia/Shanghai, "YYYY-MM-DD HH:MM"
    encoding: str = "utf-8"               # CSV only
    bad: str | None = None                # why the file must be rejected

    @property
    def fmt(self) -> str:
        return self.path.rsplit(".", 1)[1]


def slices(form: str, units: list[str], period: str) -> list[dict]:
    return [r for u in units for r in rows(form, u, period)]


def district_sheets(unit: str, period: str, st: Style, forms=DISTRICT_FORMS,
                    note: str | None = None, footer: tuple = (), two_row: bool = False) -> list[Sheet]:
    """One sheet per form for a district's report of one period; with a note, every sheet gets
    a merged banner title and the note row above its header row; ``footer`` rows go below the
    data; ``two_row`` groups the columns of GROUPS under a merged cell above their headers."""
    return [Sheet(form, rows(form, unit, period), st, SHEET_NAME[form],
                  banner=f"{NAME[unit]}{per_nian(period)}{SHEET_NAME[form]}情况表" if note else None,
                  note=note, footer=footer, groups=GROUPS.get(form, ()) if two_row else ())
            for form in forms]


# Two-row headers (§3.1): a group cell above the headers of these fields (first, last).
GROUPS = {
    "outfall_remediation": (("整治情况", "required", "completed"),),
    "inspection_problems": (("整改情况", "problems_due", "problems_done"),),
    "petitions": (("其中", "difficult", "general"), ("办理情况", "concluded", "closed")),
    "enforcement": (("行政处罚", "penalty_cases", "fines"), ("免罚", "exempt_cases", "exempt_amount"),
                    ("散乱污企业", "scattered_found", "scattered_fixed")),
    "rural_soil": (("农村环境整治", "villages_new", "villages_total"),
                   ("生活污水治理", "villages_sewage_treated", "sewage_rate"),
                   ("受污染耕地", "farmland_polluted", "farmland_safe_rate")),
    "eco_damage": (("生态环境损害赔偿", "leads", "compensation"),),
    "soil_waste": (("建设用地地块", "parcels_reviewed", "parcels_exceeding"),
                   ("重点行业重金属排放量", "heavy_metal_base", "heavy_metal_current")),
}


def signature(who: str, reviewer: str, head: str, phone: str, date: str) -> tuple:
    """A signature footer as offices add it: one row with three pairs, one across cells, a note."""
    return ((f"填报人：{who}    审核人：{reviewer}    联系电话：{phone}",),
            ("填报日期：", date, "单位负责人：", head),
            ("注：本表数据截至报告期末。",))


def build_files() -> list[File]:
    F: list[File] = []
    # ---- 360100: city monitoring centre -----------------------------------------------------
    F.append(File("360100/air_quality_2023.csv",
                  [Sheet("air_quality", slices("air_quality", UNITS, "2023"),
                         Style(unit_col="district_code", en=True))],
                  "2024-01-10 09:00", encoding="utf-8-sig"))
    F.append(File("360100/water_sections_2023.parquet",
                  [Sheet("water_sections", slices("water_sections", [CITY], "2023"),
                         Style(unit_col="district_code", en=True, body_code=True, wclass=CLASS_ASCII))],
                  "2024-01-10 09:30"))
    F.append(File("360100/南昌市2024年环境空气质量年报.xlsx",
                  [Sheet("air_quality", slices("air_quality", UNITS, "2024"),
                         Style(unit_col="单位", period=per_nian, percent=True), "空气质量",
                         banner="南昌市2024年环境空气质量统计表",
                         note="填报单位：南昌市生态环境监测中心　　统计时段：2024年1月1日—12月31日")],
                  "2025-01-08 10:00"))
    F.append(File("360100/南昌市2024年地表水断面水质.xlsx",
                  [Sheet("water_sections", slices("water_sections", [CITY], "2024"),
                         Style(unit_col="区县", period=per_int), "断面水质",
                         banner="南昌市2024年地表水监测断面水质类别及总磷年均值")],
                  "2025-01-08 10:30"))

    # contract v2 (§4.8–§4.13): the centre's own rows (市本级) of the forms the city submits
    F.append(File("360100/南昌市2023年饮用水水源地.csv",
                  [Sheet("drinking_water", rows("drinking_water", CITY, "2023"),
                         Style(unit_col="单位", names=SHORT, period=per_nian))],
                  "2024-01-10 10:00", encoding="utf-8-sig"))
    F.append(File("360100/pollution_projects_2023.parquet",
                  [Sheet("pollution_projects", rows("pollution_projects", CITY, "2023"),
                         Style(unit_col="district_code", en=True, body_code=True))],
                  "2024-01-10 10:10"))
    F.append(File("360100/南昌市2023年环评审批.json",
                  [Sheet("eia_approvals", rows("eia_approvals", CITY, "2023"),
                         Style(unit_col="单位", names=SHORT, period=per_nian, money="元"))],
                  "2024-01-10 10:20"))
    F.append(File("360100/南昌市2023年核与辐射.xls",
                  [Sheet("radiation", rows("radiation", CITY, "2023"), Style(unit_col="区县代码"), "核与辐射",
                         banner="南昌市2023年核与辐射安全监管情况")],
                  "2024-01-10 10:30"))
    note = "填报单位：南昌市生态环境局　　统计时段：2024年1月1日—12月31日"
    special = Style(unit_col="单位", names=SHORT, period=per_nian)
    F.append(File("360100/南昌市2024年生态环境专项工作报表.xlsx", [
        Sheet("drinking_water", rows("drinking_water", CITY, "2024"), special, "饮用水水源地",
              banner="南昌市2024年市级集中式饮用水水源地情况表", note=note),
        Sheet("pollution_projects", rows("pollution_projects", CITY, "2024"),
              replace(special, counted=frozenset({"central_funds"})), "污染防治申报项目",
              banner="南昌市2024年污染防治中央资金申报项目表", note=note),
        Sheet("eia_approvals", rows("eia_approvals", CITY, "2024"), replace(special, money="亿元"), "环评审批",
              banner="南昌市2024年环评承诺制审批情况", note=note),
        Sheet("radiation", rows("radiation", CITY, "2024"),
              replace(special, counted=frozenset({"licensed_units", "reports_submitted", "sources_collected",
                                                 "collecting_units"})), "核与辐射",
              banner="南昌市2024年核与辐射安全监管情况", note=note,
              footer=signature("赵琳", "孙伟", "李强", "0791-83881234", "2025年1月8日"))],
        "2025-01-08 11:00"))

    # ---- 360102 东湖区: multi-sheet xlsx per year, codes as numbers ---------------------------
    st = Style(code_type=int, period=per_nian, missing="—")
    F.append(File("360102/东湖区2023年度生态环境报表.xlsx", district_sheets("360102", "2023", st),
                  "2024-01-12 15:00"))
    # 2024: as offices fill the forms in (§3.1): two-row headers, 序号 and 备注, "62个", percent cells
    v2 = replace(st, serial=True, remarks=True, rate_format=True,
                 counted=frozenset({"required", "completed", "problems_due", "problems_done"}))
    F.append(File("360102/东湖区2024年度生态环境报表.xlsx",
                  district_sheets("360102", "2024", v2, two_row=True,
                                  footer=signature("王敏", "刘强", "陈志远", "0791-86120102", "2025年1月12日")),
                  "2025-01-12 15:00"))

    # ---- 360103 西湖区: GBK CSV, one per form holding both years, names, money in 元 ----------
    st = Style(unit_col="区县", names=SHORT, batch=BATCH_LONG, missing="", percent=True)
    for form, label in (("outfall_remediation", "入河排污口整治"), ("inspection_problems", "督察整改"),
                        ("petitions", "信访件办理"), ("rural_soil", "农村环境与土壤"),
                        ("eco_damage", "生态环境损害赔偿"), ("soil_waste", "土壤重金属与无废城市")):
        F.append(File(f"360103/西湖区_{label}_2023-2024.csv",
                      [Sheet(form, slices(form, ["360103"], "2023") + slices(form, ["360103"], "2024"), st)],
                      "2025-01-13 11:00", encoding="gbk"))
    F.append(File("360103/西湖区_环境执法_2023-2024_金额单位元.csv",
                  [Sheet("enforcement", slices("enforcement", ["360103"], "2023")
                         + slices("enforcement", ["360103"], "2024"),
                         Style(unit_col="区县", names=SHORT, money="元",
                               thousands=frozenset({"fines", "exempt_amount"})))],
                  "2025-01-13 11:05", encoding="gbk"))

    # ---- 360104 青云谱区: 2023 multi-sheet xlsx; 2024 one JSON per form ------------------------
    F.append(File("360104/青云谱区2023年度报表.xlsx",
                  district_sheets("360104", "2023", Style(unit_col="单位", period=per_int, brackets="none",
                                                          batch=BATCH_SHORT)),
                  "2024-01-15 16:20"))
    json_st = {"outfall_remediation": Style(brackets="full", period=per_nian),
               "inspection_problems": Style(brackets="full", period=per_nian),
               "petitions": Style(brackets="full", period=per_nian),
               "enforcement": Style(unit_col="单位", brackets="full", period=per_nian),
               "rural_soil": Style(unit_col="单位", brackets="full", period=per_nian),
               "eco_damage": Style(unit_col="单位", brackets="full", period=per_nian, money="元"),
               "soil_waste": Style(brackets="full", period=per_nian, mass="吨",
                                   counted=frozenset({"parcels_reviewed", "zero_waste_cells"}))}
    for i, form in enumerate(DISTRICT_FORMS):
        F.append(File(f"360104/青云谱区2024年_{SHEET_NAME[form]}.json",
                      [Sheet(form, rows(form, "360104", "2024"), json_st[form])],
                      f"2025-01-14 09:0{i}"))

    # ---- 360111 青山湖区: UTF-8-BOM CSV with English codes, both years per form ---------------
    st = Style(unit_col="district_code", en=True, body_code=True, batch=BATCH_EN, missing="NA")
    for form in DISTRICT_FORMS:
        F.append(File(f"360111/qingshanhu_{form}_2023_2024.csv",
                      [Sheet(form, slices(form, ["360111"], "2023") + slices(form, ["360111"], "2024"), st)],
                      "2025-01-15 14:00", encoding="utf-8-sig"))

    # ---- 360112 新建区: banner on every sheet, full-width brackets and digits; June + annual --
    note = "填报单位：新建区生态环境局（盖章）　　金额单位：万元"
    st = Style(brackets="full", period=per_nian, batch=BATCH_LONG, missing="/")
    F.append(File("360112/新建区2023年度报表.xlsx", district_sheets("360112", "2023", st, note=note,
                                                             forms=[*DISTRICT_FORMS, "drinking_water"]),
                  "2024-01-16 10:00"))
    F.append(File("360112/新建区2024年6月入河排污口整治进度.xlsx",
                  [Sheet("outfall_remediation", rows("outfall_remediation", "360112", "2024-06"),
                         Style(brackets="full"), "排污口整治",
                         banner="新建区2024年1—6月入河排污口整治进度表", note=note)],
                  "2024-07-05 09:00"))
    fw = Style(brackets="full", period=per_plain, batch=BATCH_LONG, missing="/",
               fullwidth=frozenset({"required", "completed", "problems_due", "problems_done"}),
               alias={"concluded": "已完成整改件数"})
    F.append(File("360112/新建区2024年度报表.xlsx", district_sheets("360112", "2024", fw, note=note,
                                                             forms=[*DISTRICT_FORMS, "drinking_water"]),
                  "2025-01-16 10:00"))

    # ---- 360113 红谷滩区: parquet, English codes, unit by name, both years per form ----------
    st = Style(unit_col="district", en=True, body_code=True, batch=BATCH_EN)
    for form in DISTRICT_FORMS:
        F.append(File(f"360113/honggutan_{form}.parquet",
                      [Sheet(form, slices(form, ["360113"], "2023") + slices(form, ["360113"], "2024"), st)],
                      "2025-01-17 11:00"))

    # ---- 360121 南昌县: 2024 outfall with a 合计 row; June petitions beside the annual --------
    F.append(File("360121/南昌县2023年度报表.xlsx",
                  district_sheets("360121", "2023", Style(unit_col="区县", period=per_nian, missing="-",
                                                          thousands=frozenset({"farmland_polluted",
                                                                               "farmland_safe"}),
                                                          yes=("√", "×")),
                                  forms=[*DISTRICT_FORMS, "drinking_water"]),
                  "2024-01-18 17:00"))
    F.append(File("360121/南昌县2024年6月信访件办理情况.xlsx",
                  [Sheet("petitions", rows("petitions", "360121", "2024-06"),
                         Style(unit_col="区县", period=per_nian0, missing="-"), "信访件",
                         banner="南昌县2024年1—6月信访件办理情况")],
                  "2024-07-08 16:00"))
    F.append(File("360121/南昌县2024年入河排污口整治.xlsx",
                  [Sheet("outfall_remediation", rows("outfall_remediation", "360121", "2024"),
                         Style(unit_col="区县", period=per_nian, brackets="full"), "排污口",
                         banner="南昌县2024年入河排污口整治情况汇总表",
                         note="填报单位：南昌县生态环境局　　截至2024年12月31日", totals="ok")],
                  "2025-01-18 09:00"))
    F.append(File("360121/南昌县2024年度报表.xlsx",
                  district_sheets("360121", "2024",
                                  Style(unit_col="区县", period=per_nian, percent=True, missing="-",
                                        thousands=frozenset({"farmland_polluted", "farmland_safe"}),
                                        mass="吨", yes=("√", "×")),
                                  forms=[*DISTRICT_FORMS[1:], "drinking_water"]),
                  "2025-01-18 09:30"))

    # ---- 360123 安义县: annual xlsx without enforcement; enforcement Jan–Nov as UTF-8 CSV -----
    F.append(File("360123/安义县2023年度报表.xlsx",
                  district_sheets("360123", "2023", Style(unit_col="单位", period=per_int, yes=("已完成", "未完成")),
                                  forms=[*DISTRICT_FORMS, "drinking_water"]),
                  "2024-01-19 10:00"))
    F.append(File("360123/安义县2024年1-11月环境执法.csv",
                  [Sheet("enforcement", rows("enforcement", "360123", "2024-11"), Style(period=per_nian))],
                  "2024-12-06 10:00"))
    F.append(File("360123/安义县2024年度报表.xlsx",
                  district_sheets("360123", "2024", Style(unit_col="单位", names=SHORT, period=per_nian,
                                                          yes=("已完成", "未完成")),
                                  forms=[*(f for f in DISTRICT_FORMS if f != "enforcement"), "drinking_water"]),
                  "2025-01-19 10:00"))

    # ---- 360124 进贤县: banner on every sheet, names, thousands separators ------------------
    note = "填报单位：进贤县生态环境局"
    F.append(File("360124/进贤县2023年度报表.xlsx",
                  district_sheets("360124", "2023", Style(code_type=int, period=per_nian, yes=("Y", "N")), note=note,
                                  forms=[*DISTRICT_FORMS, "drinking_water"]),
                  "2024-01-20 15:00"))
    F.append(File("360124/进贤县2024年度报表.xlsx",
                  district_sheets("360124", "2024",
                                  Style(unit_col="区县", period=per_nian, percent=True,
                                        fullwidth=frozenset({"assigned", "concluded", "closed"}),
                                        thousands=frozenset({"farmland_polluted", "farmland_safe"}),
                                        yes=("Y", "N"), level=LEVEL_SHORT),
                                  note=note, forms=[*DISTRICT_FORMS, "drinking_water"]),
                  "2025-01-20 15:00"))

    # ---- 360105 湾里管理局: 2024 outfall only as a November JSON ------------------------------
    F.append(File("360105/湾里管理局2023年度报表.xlsx",
                  district_sheets("360105", "2023", Style(unit_col="单位")),
                  "2024-01-22 09:00"))
    F.append(File("360105/湾里管理局2024年11月入河排污口整治.json",
                  [Sheet("outfall_remediation", rows("outfall_remediation", "360105", "2024-11"),
                         Style(unit_col="district", en=True))],
                  "2024-12-05 09:00"))
    # 2024 as WPS saves by default: an .xls, laid out as offices fill it in (§3.1)
    F.append(File("360105/湾里管理局2024年度报表.xls",
                  district_sheets("360105", "2024",
                                  Style(unit_col="单位", names=SHORT, period=per_nian, serial=True, rate_format=True,
                                        counted=frozenset({"problems_due", "problems_done", "assigned", "concluded",
                                                           "closed", "penalty_cases", "fines", "exempt_cases",
                                                           "exempt_amount", "scattered_found", "scattered_fixed",
                                                           "farmland_polluted", "farmland_safe", "leads",
                                                           "compensation", "parcels_reviewed",
                                                           "key_units_monitored", "zero_waste_cells"})),
                                  forms=DISTRICT_FORMS[1:], two_row=True,
                                  footer=signature("刘芳", "黄建国", "周明", "0791-83760105", "2025年1月22日")),
                  "2025-01-22 09:00"))

    # ---- bad files: each must be rejected and change no figure -------------------------------
    stray = dict(rows("enforcement", "360102", "2024")[0], period="2024-05")
    F.append(File("stray.csv", [Sheet("enforcement", [stray], Style(period=per_compact))],
                  "2024-06-03 08:00", bad="file outside any unit folder"))
    other = [dict(r, period="2024-07") for r in rows("enforcement", "360103", "2024")
             + rows("enforcement", "360104", "2024")]
    F.append(File("360103/错误_含其他区县数据_2024年7月环境执法.csv",
                  [Sheet("enforcement", other, Style(period=per_slash))],
                  "2024-08-05 10:00", encoding="gbk", bad="row for another unit (360104)"))
    over = [{"unit": "360124", "period": "2024-09", "water_body": "fuhe", "required": 91, "completed": 93},
            {"unit": "360124", "period": "2024-09", "water_body": "poyang_nanchang", "required": 79,
             "completed": 72}]
    F.append(File("360124/错误_2024-09排污口月报_已完成数大于需整治数.csv",
                  [Sheet("outfall_remediation", over, Style())],
                  "2024-10-08 10:00", bad="completed > required"))
    tot = [{"unit": "360111", "period": "2024-10", "water_body": "ganjiang", "required": 58, "completed": 56},
           {"unit": "360111", "period": "2024-10", "water_body": "fuhe", "required": 36, "completed": 34}]
    F.append(File("360111/错误_合计行与分项不符_2024-10排污口.csv",
                  [Sheet("outfall_remediation", tot, Style(unit_col="区县", brackets="none"), totals="bad")],
                  "2024-11-06 10:00", encoding="utf-8-sig", bad="合计 row is not the sum of the rows above"))
    F.append(File("360113/bad_无法识别的表头.xlsx",
                  [Sheet(None, [], name="Sheet1",
                         raw=(["名称", "数量", "备注"],
                              [["环保宣传活动", 12, "全年"], ["培训班", 3, None], ["新闻稿", 27, "含网络"]]))],
                  "2025-01-21 08:00", bad="headers match no form"))
    return F


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------
def stamp(when: str) -> datetime:
    return datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=CST)


def table_of(sh: Sheet) -> tuple[list, list]:
    return sh.raw if sh.raw is not None else render(sh.form, sh.data, sh.style, sh.totals)


def write_xlsx(f: File) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for i, sh in enumerate(f.sheets):
        ws = wb.create_sheet(sh.name or f"Sheet{i + 1}")
        headers, body = table_of(sh)
        r = 1
        for text, bold in ((sh.banner, True), (sh.note, False)):
            if text:
                ws.cell(r, 1, text).font = Font(bold=bold, size=14 if bold else 10)
                ws.cell(r, 1).alignment = Alignment(horizontal="center" if bold else "left")
                ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(headers))
                r += 1
        cells = header_cells(sh, headers)
        for hr, c, h, hr2, c2 in cells:
            ws.cell(r + hr, c + 1, h).font = Font(bold=True)
            if (hr2, c2) != (hr, c):
                ws.merge_cells(start_row=r + hr, start_column=c + 1, end_row=r + hr2, end_column=c2 + 1)
        for c, h in enumerate(headers, 1):
            ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width = max(10, 2 * len(str(h)) + 2)
        r += max(hr2 for *_, hr2, _ in cells)
        for line in body:
            r += 1
            for c, v in enumerate(line, 1):
                ws.cell(r, c, v)
                if isinstance(v, Pct):
                    ws.cell(r, c).number_format = "0.00%"
        r += 1  # a blank row between the data and the footer
        for line in sh.footer:
            r += 1
            for c, v in enumerate(line, 1):
                ws.cell(r, c, v)
            if len(line) == 1:
                ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(headers))
    wb.properties.creator = "ecostat tools/make_samples.py"
    buf = io.BytesIO()
    wb.save(buf)
    return stable_zip(buf.getvalue(), stamp(f.when))


def header_cells(sh: Sheet, headers: list) -> list[tuple[int, int, object, int, int]]:
    """(row, column, text, last row, last column) of each header cell, 0-based within the header:
    one row; with groups two, each group cell merged across its columns above their headers and
    every other header merged down over both rows (§3.1)."""
    if not sh.groups:
        return [(0, c, h, 0, c) for c, h in enumerate(headers)]
    st = sh.style
    codes = (["#"] if st.serial else []) + ["unit", "period"] + [
        c[0] for c in FORMS[sh.form] if c[0] not in st.omit] + (["remarks"] if st.remarks else [])
    assert len(codes) == len(headers), (codes, headers)
    out, grouped = [], set()
    for label, first, last in sh.groups:
        a, b = codes.index(first), codes.index(last)
        out += [(0, a, label, 0, b)] + [(1, c, headers[c], 1, c) for c in range(a, b + 1)]
        grouped.update(range(a, b + 1))
    out += [(0, c, h, 1, c) for c, h in enumerate(headers) if c not in grouped]
    return sorted(out, key=lambda t: (t[0], t[1]))


def write_xls(f: File) -> bytes:
    """An Excel 97–2003 workbook laid out as write_xlsx lays out its sheets (xlwt writes no
    timestamps: same input, same bytes)."""
    book = xlwt.Workbook(encoding="utf-8")
    bold, pct = xlwt.easyxf("font: bold on"), xlwt.easyxf(num_format_str="0.00%")
    title = xlwt.easyxf("font: bold on, height 280; align: horiz center")
    for i, sh in enumerate(f.sheets):
        ws = book.add_sheet(sh.name or f"Sheet{i + 1}")
        headers, body = table_of(sh)
        r = 0
        for text, style in ((sh.banner, title), (sh.note, xlwt.Style.default_style)):
            if text:
                ws.write_merge(r, r, 0, len(headers) - 1, text, style)
                r += 1
        cells = header_cells(sh, headers)
        for hr, c, h, hr2, c2 in cells:
            if (hr2, c2) != (hr, c):
                ws.write_merge(r + hr, r + hr2, c, c2, h, bold)
            else:
                ws.write(r + hr, c, h, bold)
        for c, h in enumerate(headers):
            ws.col(c).width = 256 * max(10, 2 * len(str(h)) + 2)
        r += max(hr2 for *_, hr2, _ in cells) + 1
        for line in body:
            for c, v in enumerate(line):
                if v is not None:
                    ws.write(r, c, v, pct if isinstance(v, Pct) else xlwt.Style.default_style)
            r += 1
        r += 1  # a blank row between the data and the footer
        for line in sh.footer:
            if len(line) == 1:
                ws.write_merge(r, r, 0, len(headers) - 1, line[0])
            else:
                for c, v in enumerate(line):
                    ws.write(r, c, v)
            r += 1
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def stable_zip(data: bytes, when: datetime) -> bytes:
    """Rewrite an xlsx with fixed entry timestamps and document dates: same input, same bytes."""
    iso = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", lambda m: m.group(1) + iso, body)
            zi = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def write_csv(f: File) -> bytes:
    (sh,) = f.sheets
    headers, body = table_of(sh)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(headers)
    for line in body:
        w.writerow(["" if v is None else fmt_num(v) if isinstance(v, (int, float)) else v for v in line])
    return buf.getvalue().encode(f.encoding)


def write_json(f: File) -> bytes:
    (sh,) = f.sheets
    headers, body = table_of(sh)
    objs = [dict(zip(headers, line)) for line in body]
    return (json.dumps(objs, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_parquet(f: File) -> bytes:
    (sh,) = f.sheets
    headers, body = table_of(sh)
    cols = {}
    for i, h in enumerate(headers):
        vals = [line[i] for line in body]
        kinds = {type(v) for v in vals if v is not None}
        typ = pa.float64() if float in kinds else pa.int64() if kinds == {int} else pa.string()
        cols[h] = pa.array([None if v is None else (str(v) if typ == pa.string() else v) for v in vals], typ)
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf)
    return buf.getvalue()


WRITERS = {"xlsx": write_xlsx, "xls": write_xls, "csv": write_csv, "json": write_json, "parquet": write_parquet}


def generate(files: list[File]) -> None:
    if INBOX.exists():
        shutil.rmtree(INBOX)
    INBOX.mkdir(parents=True)
    for f in files:
        path = INBOX / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(WRITERS[f.fmt](f))
        ts = stamp(f.when).timestamp()
        os.utime(path, (ts, ts))


# --------------------------------------------------------------------------------------------
# Self-check: contract rules and §6 figures recomputed from the data above, not from the files
# --------------------------------------------------------------------------------------------
def days_in(period: str) -> int:
    y = int(period[:4])
    return 366 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 365


def tp_class(tp: float, wtype: str) -> int:
    return next((i + 1 for i, lim in enumerate(TP_LIMITS[wtype]) if tp <= lim), 6)


def row_errors(form: str, r: dict) -> list[str]:
    """§4 row rules (error severity) for one canonical row."""
    e = []
    if form == "air_quality":
        e += [] if 0 < r["pm25"] <= 500 else ["pm25"]
        e += [] if r["pm10"] >= r["pm25"] else ["pm10 < pm25"]
        e += [] if 0 <= r["good_days"] <= r["valid_days"] else ["good_days > valid_days"]
        e += [] if 1 <= r["valid_days"] <= days_in(r["period"]) else ["valid_days"]
    elif form == "water_sections":
        e += [] if 0 <= r["total_phosphorus"] < 10 else ["tp range"]
        e += [] if r["water_class"] >= tp_class(r["total_phosphorus"], r["water_type"]) else ["class vs tp"]
        e += [] if (r["water_type"] == "湖库") == (r["water_body"] in LAKES) else ["water type"]
    elif form == "outfall_remediation":
        e += [] if 0 <= r["completed"] <= r["required"] else ["completed > required"]
    elif form == "inspection_problems":
        e += [] if 0 <= r["problems_done"] <= r["problems_due"] else ["done > due"]
    elif form == "petitions":
        parts = [r["difficult"], r["key_cases"], r["general"]]
        e += [] if None in parts or sum(parts) == r["assigned"] else ["parts != assigned"]
        e += [] if r["concluded"] <= r["assigned"] else ["concluded > assigned"]
        e += [] if r["closed"] <= r["concluded"] else ["closed > concluded"]
    elif form == "enforcement":
        e += [] if r["fines"] == 0 or r["penalty_cases"] >= 1 else ["fines without cases"]
        e += [] if r["exempt_amount"] == 0 or r["exempt_cases"] >= 1 else ["exempt without cases"]
        e += [] if r["scattered_fixed"] <= r["scattered_found"] else ["fixed > found"]
        e += [] if min(r["fines"], r["exempt_amount"]) >= 0 else ["negative money"]
    elif form == "rural_soil":
        e += [] if r["villages_new"] <= r["villages_cumulative"] <= r["villages_total"] else ["villages"]
        e += [] if r["villages_total"] >= 1 else ["villages_total"]
        e += [] if r["villages_sewage_treated"] <= r["villages_total"] else ["treated > total"]
        e += [] if r["farmland_safe"] <= r["farmland_polluted"] else ["safe > polluted"]
    elif form == "drinking_water":
        e += [] if r["samples"] >= 1 and r["compliant_samples"] <= r["samples"] else ["samples"]
        e += [] if isinstance(r["boundary_marked"], bool) else ["yes/no"]
    elif form == "pollution_projects":
        e += [] if r["central_funds"] >= 0 and r["field"] in FIELD_ZH else ["project"]
    elif form in ("eia_approvals", "eco_damage"):
        n, amount = (r["pledge_approvals"], r["investment"]) if form == "eia_approvals" else (r["leads"],
                                                                                              r["compensation"])
        e += [] if n >= 0 and amount >= 0 and (amount == 0 or n >= 1) else ["amount without cases"]
        e += [] if form == "eco_damage" or r["avg_days"] is None or r["avg_days"] > 0 else ["avg_days"]
    elif form == "soil_waste":
        e += [] if r["parcels_exceeding"] <= r["parcels_reviewed"] else ["exceeding > reviewed"]
        e += [] if min(r["heavy_metal_base"], r["heavy_metal_current"], r["key_units_monitored"],
                       r["zero_waste_cells"]) >= 0 else ["negative"]
    elif form == "radiation":
        e += [] if r["reports_submitted"] <= r["licensed_units"] else ["reports > licensed"]
        e += [] if r["collecting_units"] <= r["licensed_units"] else ["collecting > licensed"]
        e += [] if (r["collecting_units"] > 0) == (r["sources_collected"] > 0) else ["collecting vs sources"]
    return e


def file_errors(f: File) -> list[str]:
    """Why a file would be rejected (location, structure, rows, totals)."""
    folder = f.path.split("/")[0] if "/" in f.path else None
    if folder not in UNITS:
        return ["outside a unit folder"]
    errs = []
    for sh in f.sheets:
        if sh.form is None:
            errs.append("no form")
            continue
        if sh.totals == "bad":
            errs.append("totals")
        for r in sh.data:
            if folder != CITY and r["unit"] != folder:
                errs.append(f"row for {r['unit']} in {folder}")
            errs += row_errors(sh.form, r)
        if sh.form == "water_sections" and folder != CITY:
            errs.append("water sections from a district")
        for form, code in (("water_sections", "section_code"), ("drinking_water", "source_code"),
                           ("pollution_projects", "project_name")):
            if sh.form == form:
                keys = [(r["period"], r[code]) for r in sh.data]
                errs += [] if len(keys) == len(set(keys)) else [f"{code} not unique"]
    return errs


def period_order(p: str) -> tuple[int, int]:
    return (int(p[:4]), int(p[5:]) if "-" in p else 13)


def accepted_slices(files: list[File]) -> dict[tuple[str, str, str], list[dict]]:
    out: dict = {}
    for f in files:
        if f.bad:
            continue
        for sh in f.sheets:
            seen = set()
            for r in sh.data:
                key = (sh.form, r["unit"], r["period"])
                assert key in seen or key not in out, f"two accepted tables hold slice {key}"
                seen.add(key)
                out.setdefault(key, []).append(r)
    return out


def final_rows(sl: dict, year: int) -> dict[str, list[dict]]:
    """form -> rows of each unit's final report of the year (§5)."""
    best: dict = {}
    for (form, unit, period) in sl:
        if int(period[:4]) == year:
            k = (form, unit)
            if k not in best or period_order(period) > period_order(best[k]):
                best[k] = period
    out: dict = {}
    for (form, unit), period in sorted(best.items()):
        out.setdefault(form, []).extend(sl[(form, unit, period)])
    return out


def figures(fr: dict[str, list[dict]]) -> dict[tuple[str, str | None], float]:
    fig: dict = {}
    (city,) = [r for r in fr["air_quality"] if r["unit"] == CITY]
    fig[("air.pm25_mean", None)] = city["pm25"]
    fig[("air.good_day_rate", None)] = city["good_days"] / city["valid_days"] * 100
    ws = fr["water_sections"]
    nat = [r for r in ws if r["level"] == "国考"]
    fig[("water.surface_good_rate", None)] = sum(r["water_class"] <= 3 for r in ws) / len(ws) * 100
    fig[("water.national_good_rate", None)] = sum(r["water_class"] <= 3 for r in nat) / len(nat) * 100
    fig[("water.class2_share", None)] = sum(r["water_class"] <= 2 for r in ws) / len(ws) * 100
    for body in BODY_ZH:
        tps = [r["total_phosphorus"] for r in ws if r["water_body"] == body]
        fig[("water.tp_mean", body)] = math.fsum(tps) / len(tps)
    of = fr["outfall_remediation"]
    fig[("outfall.required", None)] = sum(r["required"] for r in of)
    fig[("outfall.completed", None)] = sum(r["completed"] for r in of)
    fig[("outfall.completion_rate", None)] = fig[("outfall.completed", None)] / fig[("outfall.required", None)] * 100
    for r in fr["inspection_problems"]:
        for k in ("problems_due", "problems_done"):
            fig[(f"inspection.{k}", r["batch"])] = fig.get((f"inspection.{k}", r["batch"]), 0) + r[k]
    for r in fr["petitions"]:
        for k in ("assigned", "difficult", "key_cases", "general", "concluded", "closed"):
            if r[k] is not None:
                fig[(f"petition.{k}", r["batch"])] = fig.get((f"petition.{k}", r["batch"]), 0) + r[k]
    en = fr["enforcement"]
    for k in ("penalty_cases", "fines", "exempt_cases", "exempt_amount", "scattered_found", "scattered_fixed"):
        fig[(f"enforcement.{k}", None)] = math.fsum(float(r[k]) for r in en)
    ru = fr["rural_soil"]
    s = {k: sum(r[k] for r in ru) for k in ("villages_new", "villages_cumulative", "villages_total",
                                             "villages_sewage_treated", "farmland_polluted", "farmland_safe")}
    fig[("rural.villages_new", None)] = s["villages_new"]
    fig[("rural.villages_cumulative", None)] = s["villages_cumulative"]
    fig[("rural.sewage_rate", None)] = s["villages_sewage_treated"] / s["villages_total"] * 100
    fig[("soil.farmland_safe_rate", None)] = s["farmland_safe"] / s["farmland_polluted"] * 100
    # §6.1
    dw = fr["drinking_water"]
    county = [r for r in dw if r["source_level"] == "county_plus"]
    fig[("drinking.county_compliance_rate", None)] = (sum(r["compliant_samples"] for r in county)
                                                      / sum(r["samples"] for r in county) * 100)
    rural = [r for r in dw if r["source_level"] == "rural"]
    fig[("drinking.rural_sources", None)] = len(rural)
    fig[("drinking.rural_sources_marked", None)] = sum(r["boundary_marked"] for r in rural)
    for r in fr["pollution_projects"]:
        fig[("projects.count", r["field"])] = fig.get(("projects.count", r["field"]), 0) + 1
        fig[("projects.central_funds", r["field"])] = fig.get(("projects.central_funds", r["field"]), 0) \
            + r["central_funds"]
    (eia,) = fr["eia_approvals"]
    fig[("eia.pledge_approvals", None)] = eia["pledge_approvals"]
    fig[("eia.investment", None)] = eia["investment"] / 10000
    fig[("damage.leads", None)] = sum(r["leads"] for r in fr["eco_damage"])
    fig[("damage.compensation", None)] = math.fsum(float(r["compensation"]) for r in fr["eco_damage"])
    sw = {k: sum(r[k] for r in fr["soil_waste"]) for k in (
        "parcels_reviewed", "parcels_exceeding", "key_units_monitored", "zero_waste_cells", "heavy_metal_base",
        "heavy_metal_current")}
    fig[("soil.parcels_reviewed", None)] = sw["parcels_reviewed"]
    fig[("soil.parcels_exceeding", None)] = sw["parcels_exceeding"]
    fig[("soil.key_units_monitored", None)] = sw["key_units_monitored"]
    fig[("waste.zero_waste_cells", None)] = sw["zero_waste_cells"]
    fig[("soil.heavy_metal_reduction", None)] = (1 - sw["heavy_metal_current"] / sw["heavy_metal_base"]) * 100
    (rad,) = fr["radiation"]
    for k in ("reports_submitted", "sources_collected", "collecting_units"):
        fig[(f"radiation.{k}", None)] = rad[k]
    return fig


def change(key, v, prev):
    if prev is None:
        return None, ""
    if key[0] in CHANGE_UNIT:
        return rel_change(v, prev), "%"
    return v - prev, "pp" if key[0] in PP_FIGURES else ""


def self_check(files: list[File]) -> None:
    # every accepted file passes every row rule; every bad file fails at least one check
    for f in files:
        errs = file_errors(f)
        assert bool(errs) == bool(f.bad), (f.path, errs, f.bad)
    sl = accepted_slices(files)
    assert {u for (_, u, _) in sl} == set(UNITS)
    for y in ("2023", "2024"):
        for u in DISTRICTS:
            for form in DISTRICT_FORMS:
                assert any(k[0] == form and k[1] == u and k[2][:4] == y for k in sl), (form, u, y)
        for form in CITY_FORMS:  # report_obligations.csv: the city; drinking water: the counties too
            assert (form, CITY, y) in sl, (form, y)
        for u in DRINKING_UNITS:
            assert ("drinking_water", u, y) in sl, u
        # a source code is current for one unit only in a period (§4.8)
        codes = [r["source_code"] for (f, _, p), rs in sl.items() if f == "drinking_water" and p == y for r in rs]
        assert len(codes) == len(set(codes)), y
    # cross-period: outfall completed/required never fall; rural cumulative chain
    seq: dict = {}
    for (form, unit, period), rs in sl.items():
        if form == "outfall_remediation":
            for r in rs:
                seq.setdefault((unit, r["water_body"]), []).append((period_order(period), r))
    for key, s in seq.items():
        s.sort(key=lambda t: t[0])
        for (_, a), (_, b) in zip(s, s[1:]):
            assert a["completed"] <= b["completed"] and a["required"] <= b["required"], (key, a, b)
    for u in DISTRICTS:
        (a,) = sl[("rural_soil", u, "2023")]
        (b,) = sl[("rural_soil", u, "2024")]
        assert b["villages_cumulative"] == a["villages_cumulative"] + b["villages_new"], u
        assert a["villages_total"] == b["villages_total"] or ("rural_soil", u, "2024") in JUMPS or u == "360121", u
    # the monthly-beside-annual slices differ from the annual (using them would change figures)
    assert sl[("outfall_remediation", "360112", "2024-06")] != sl[("outfall_remediation", "360112", "2024")]
    assert sl[("petitions", "360121", "2024-06")][0]["assigned"] != sl[("petitions", "360121", "2024")][0]["assigned"]
    ws = [r for (f, _, p), rs in sl.items() if f == "water_sections" for r in rs]
    for y in ("2023", "2024"):
        assert sum(r["period"] == y for r in ws) == 33

    f23, f24 = figures(final_rows(sl, 2023)), figures(final_rows(sl, 2024))
    print(f"{'figure':28} {'dimension':16} {'2023':>10} {'2024':>10} {'change':>9}  stated 2024")
    for key in sorted(f24, key=lambda k: (k[0], k[1] or "")):
        v, prev = f24[key], f23.get(key)
        ch, cu = change(key, v, prev)
        stated = ""
        if key in STATED:
            val, dv, sch, dc = STATED[key]
            assert round(v, dv) == val, (key, v, val)
            if sch is not None:
                assert round(ch, dc) == sch, (key, ch, sch)
            stated = f"{val}" + (f", {sch:+}{CHANGE_UNIT.get(key[0], 'pp')}" if sch is not None else "")
        if key in STATED_RANGES:
            lo, hi = STATED_RANGES[key]
            assert lo <= v < hi, (key, v)
            stated = f"{lo}以上"
        p = "" if prev is None else f"{prev:10.4f}".rstrip("0").rstrip(".")
        c = "" if ch is None else f"{ch:+.4f}".rstrip("0").rstrip(".") + cu
        print(f"{key[0]:28} {key[1] or '':16} {p:>10} {f'{v:.4f}'.rstrip('0').rstrip('.'):>10} {c:>9}  {stated}")
    missing = set(STATED) - set(f24)
    assert not missing, missing
    print(f"self-check passed: {sum(not f.bad for f in files)} accepted files, "
          f"{sum(bool(f.bad) for f in files)} bad files, {len(sl)} slices")


LEVEL_CODES = {"国考": "national", "省考": "provincial", "市考": "municipal"}


def write_code_registers(first_year: int = 2023) -> None:
    """The bureau's registers of the samples' section and source codes (断面登记, 水源地登记; contract v3
    §4.2, §4.8): each code with its owner unit from ``first_year`` on, as CSV in schemas/registries/."""
    folder = ROOT / "schemas" / "registries"
    sections = [[code, f"{BODY_ZH[body]}{code[-2:]}号断面", body, LEVEL_CODES[level], unit, first_year, ""]
                for code, body, unit, level, *_ in _SECTIONS]
    sources = [[code, name, level, unit, first_year, ""]
               for unit, years in _DW.items() for code, name, level, *_ in years[str(first_year)]]
    for name, head, rows in (("section_register", ["water_body", "level"], sections),
                             ("source_register", ["level"], sources)):
        with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(["code", "name", *head, "owner", "from_year", "to_year"])
            out.writerows(sorted(rows))


def main() -> None:
    write_code_registers()
    files = build_files()
    generate(files)
    for f in files:
        print(f"{'BAD ' if f.bad else '    '}{f.path:58} {f.when}  "
              + ", ".join(sh.form or "?" for sh in f.sheets) + (f"  [{f.bad}]" if f.bad else ""))
    self_check(files)


if __name__ == "__main__":
    main()
