"""The benchmark's loads, generated deterministically (seeded) into a folder: valid per the contract
except for the bad cells put in on purpose.

* ``many/<unit>/…xlsx``: every unit's monthly report for every month of the years (districts:
  outfall, inspection, petitions and enforcement; the city: air quality and water sections), each
  sheet under a merged banner and a note row; every unit's annual report (districts add rural_soil);
  a few corrections (the same month sent again later, one value changed: its slices are replaced);
  a few workbooks with one bad sheet (a bad cell: that table is rejected, its siblings load).
* ``big/360100/…csv``: one ``water_sections`` table of ``csv_rows`` rows.
* ``validate.xlsx``: a 1,000-row ``water_sections`` table for ``ecostat validate``.
* ``registries/``: a copy of the registries, with the extra units of the ``province`` scale.

The expected outcome (tables accepted, rejected, superseded) is returned with the paths.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import openpyxl
from openpyxl.styles import Alignment, Font

from ecostat.contract.forms import FORMS
from ecostat.contract.registry import REGISTRY_DIR

CITY = "360100"
DISTRICT_FORMS = ("outfall_remediation", "inspection_problems", "petitions", "enforcement")
CITY_FORMS = ("air_quality", "water_sections")
BODIES = {"赣江": "河流", "抚河": "河流", "潦河": "河流", "锦江": "河流",
          "鄱阳湖南昌湖区": "湖库", "军山湖": "湖库", "青岚湖": "湖库", "瑶湖": "湖库"}
TP_LIMITS = {"河流": (0.02, 0.1, 0.2, 0.3, 0.4), "湖库": (0.01, 0.025, 0.05, 0.1, 0.2)}
CLASSES = ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ")
LEVELS = ("国考", "省考", "市考")
SHEETS = {"air_quality": "空气质量", "water_sections": "水质断面", "outfall_remediation": "入河排污口整治",
          "inspection_problems": "督察整改", "petitions": "信访件办理", "enforcement": "环境执法",
          "rural_soil": "农村环境与土壤"}
BAD_CELLS = {  # form -> (field, value): one cell that makes the table fail (contract §3/§4)
    "outfall_remediation": ("completed", 10_000),   # more completed than required
    "inspection_problems": ("problems_due", "十二"),  # not a number
    "petitions": ("closed", 99_999),                 # more closed than concluded
    "enforcement": ("scattered_found", "abc"),       # not a number
}

Sheet = tuple[str, int, int | None, list[list[object]]]  # form, year, month, data rows


@dataclass(frozen=True)
class Scale:
    """How big a load is."""

    name: str
    districts: int   # reporting units besides the city (the city has 10)
    years: tuple[int, ...]
    months: tuple[int, ...]
    csv_rows: int
    every_nth_bad: int = 40         # one workbook in so many gets a bad sheet
    every_nth_corrected: int = 45   # one workbook in so many is sent again, corrected


SCALES = {
    "small": Scale("small", 2, (2024,), (1, 2, 3), 2_000, every_nth_bad=4, every_nth_corrected=5),
    "city": Scale("city", 10, (2022, 2023, 2024, 2025), tuple(range(1, 13)), 200_000),
    "province": Scale("province", 109, (2022, 2023, 2024, 2025), tuple(range(1, 13)), 2_000_000),
}


@dataclass
class Load:
    """The generated files and what ingesting them must give."""

    root: Path
    many: Path          # holds <unit>/<file>, to be copied into raw/inbox
    big: Path           # holds 360100/<big csv>
    office: Path        # holds 360100/<the big csv's rows as Excel on Windows saves them: GBK, CRLF, units>
    validate_xlsx: Path
    registries: Path
    units: list[str]
    workbooks: int = 0
    tables: int = 0
    rejected: int = 0
    superseded: int = 0
    csv_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        """Tables that end current (accepted and not replaced)."""
        return self.tables - self.rejected - self.superseded


def district_codes(scale: Scale) -> list[tuple[str, str]]:
    """(code, name) of the districts: the registry's own, then made-up ones for a province."""
    with open(REGISTRY_DIR / "units.csv", encoding="utf-8", newline="") as fh:
        known = [(r["code"], r["name"]) for r in csv.DictReader(fh) if r["code"] != CITY]
    extra = [(f"36{9000 + i:04d}", f"测试县{i:03d}") for i in range(max(0, scale.districts - len(known)))]
    return (known + extra)[:scale.districts]


def write_registries(target: Path, districts: list[tuple[str, str]]) -> Path:
    """The registries, with every benchmark district in ``units.csv``."""
    shutil.copytree(REGISTRY_DIR, target)
    with open(target / "units.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    known = {r["code"] for r in rows}
    rows += [{"code": c, "name": n, "aliases": "", "kind": "county"} for c, n in districts if c not in known]
    with open(target / "units.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["code", "name", "aliases", "kind"])
        w.writeheader()
        w.writerows(rows)
    return target


def register_sections(registries: Path, sections: list[tuple[str, str, str, str, float]], districts: list[str],
                      rows: int, first_year: int) -> None:
    """Register every section code the load sends in the copied ``section_register.csv`` (contract v3 §4.2: an
    unregistered code loads with a warning that needs an explanation, which a real city's codes do not get):
    the monthly workbooks' ``S…`` codes and the big tables' ``W…`` codes, each owned by the unit its rows name."""
    path = registries / "section_register.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        fields = next(csv.reader(fh))
    with open(path, "a", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        for code, body, unit, level, _ in sections:
            w.writerow({"code": code, "name": f"{body}{code[1:]}号断面", "water_body": body, "level": level,
                        "owner": unit, "from_year": first_year, "to_year": ""})
        for i in range(rows):
            w.writerow({"code": f"W{i:07d}", "name": f"W{i:07d}", "water_body": "", "level": LEVELS[i % 3],
                        "owner": districts[i % len(districts)], "from_year": first_year, "to_year": ""})


def header(form: str) -> list[str]:
    """The Chinese header row of a form."""
    return ["区县代码", "报告期", *(f.zh for f in FORMS[form].fields)]


def period_label(year: int, month: int | None) -> str:
    """How the sheet spells its period (mixing the contract's spellings)."""
    return f"{year}年" if month is None else f"{year}年{month}月"


def days_to(year: int, month: int | None) -> int:
    """Days from 1 January to the end of the period."""
    end = dt.date(year, 12, 31) if month is None else (
        dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1))
    return (end - dt.date(year, 1, 1)).days + 1


class Values:
    """Each unit's values, cumulative where the contract says so, from one seeded generator."""

    def __init__(self, seed: int, districts: list[str], years: tuple[int, ...]):
        rnd = random.Random(seed)
        self.rnd = rnd
        self.bodies = {u: rnd.sample(list(BODIES), rnd.choice((1, 2))) for u in districts}
        self.outfall_base = {(u, b): rnd.randint(40, 160) for u in districts for b in self.bodies[u]}
        self.size = {u: rnd.randint(5, 40) for u in districts}
        self.villages = {u: rnd.randint(30, 300) for u in districts}
        self.first_year = years[0]
        self.sections = [(f"S{i:03d}", b, rnd.choice(districts), LEVELS[i % 3], rnd.uniform(0.2, 0.9))
                         for i, b in enumerate(rnd.choice(list(BODIES)) for _ in range(33))]

    @staticmethod
    def _months(year: int, month: int | None, first_year: int) -> int:
        """Months elapsed since the first January (the annual report counts as December)."""
        return (year - first_year) * 12 + (month or 12)

    def rows(self, form: str, unit: str, year: int, month: int | None, units: list[str]) -> list[dict]:
        """The rows of one slice, as field code -> value."""
        n = self._months(year, month, self.first_year)
        ytd = month or 12
        s = self.size.get(unit, 10)
        if form == "outfall_remediation":  # cumulative over the years: never falls
            out = []
            for b in self.bodies[unit]:
                base = self.outfall_base[(unit, b)]
                required = base + n // 6
                out.append({"water_body": b, "required": required, "completed": min(required, base // 2 + n)})
            return out
        if form == "inspection_problems":
            due = s + ytd
            return [{"batch": "历次", "problems_due": due, "problems_done": due - 1 - ytd // 4}]
        if form == "petitions":
            assigned = 3 * s + 2 * ytd
            return [{"batch": "历次", "assigned": assigned, "concluded": assigned - 1, "closed": assigned - 3}]
        if form == "enforcement":
            cases = 1 + ytd // 2 + s // 10
            return [{"penalty_cases": cases, "fines": round(cases * 7.35, 2), "exempt_cases": ytd // 6,
                     "exempt_amount": round(ytd // 6 * 4.5, 1), "scattered_found": s + ytd,
                     "scattered_fixed": s + ytd - 2}]
        if form == "rural_soil":
            total = self.villages[unit]
            new = total // 20
            cumulative = total // 4 + new * (year - self.first_year + 1)
            treated = total // 3
            polluted = 40 * total
            safe = polluted - total
            return [{"villages_new": new, "villages_cumulative": cumulative, "villages_total": total,
                     "villages_sewage_treated": treated, "sewage_rate": round(treated / total * 100, 2),
                     "farmland_polluted": polluted, "farmland_safe": safe,
                     "farmland_safe_rate": round(safe / polluted * 100, 2)}]
        if form == "air_quality":
            valid = days_to(year, month) - (1 if ytd > 6 else 0)
            out = []
            for i, u in enumerate(units):
                pm25 = 25 + (i * 7 + year) % 15
                good = valid - valid // (8 + i % 5)
                out.append({"_unit": u, "pm25": pm25, "pm10": pm25 + 18, "good_days": good, "valid_days": valid,
                            "good_day_rate": round(good / valid * 100, 2)})
            return out
        if form == "water_sections":
            out = []
            for code, body, u, level, f in self.sections:
                wtype = BODIES[body]
                limits = TP_LIMITS[wtype]
                tp = round(limits[2] * f, 3)
                implied = next(i for i, lim in enumerate(limits) if tp <= lim)
                out.append({"_unit": u, "section_code": code, "section_name": f"{body}{code[1:]}号断面",
                            "water_body": body, "water_type": wtype, "level": level,
                            "water_class": CLASSES[min(implied + (ytd % 2), 5)], "total_phosphorus": tp})
            return out
        raise KeyError(form)


def table_rows(form: str, unit: str, year: int, month: int | None, rows: list[dict]) -> list[list[object]]:
    """The data rows of a sheet in header order."""
    codes = [f.code for f in FORMS[form].fields]
    return [[r.get("_unit", unit), period_label(year, month), *(r.get(c) for c in codes)] for r in rows]


def write_workbook(path: Path, unit_name: str, sheets: list[Sheet],
                   mtime: dt.datetime) -> None:
    """A workbook of one sheet per form, each under a merged banner and a note row."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for form, year, month, body in sheets:
        ws = wb.create_sheet(SHEETS[form])
        head = header(form)
        ws.cell(1, 1, f"{unit_name}{period_label(year, month)}{SHEETS[form]}情况表").font = Font(bold=True, size=14)
        ws.cell(1, 1).alignment = Alignment(horizontal="center")
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(head))
        ws.cell(2, 1, f"填报单位：{unit_name}生态环境局（盖章）")
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(head))
        ws.append(head)
        for line in body:
            ws.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))


def generate(root: Path, scale: Scale, seed: int = 13, *, workbooks: bool = True) -> Load:
    """Write every file of the load under ``root``; returns what ingesting it must give. ``workbooks`` False:
    the big CSVs alone (and the registries they need)."""
    districts = district_codes(scale)
    names = {CITY: "南昌市", **dict(districts)}
    codes = [c for c, _ in districts]
    units = [CITY, *codes]
    values = Values(seed, codes, scale.years)
    load = Load(root, root / "many", root / "big", root / "office", root / "validate.xlsx",
                write_registries(root / "registries", districts), units)
    count = 0
    for year in scale.years if workbooks else ():
        for month in (*scale.months, None):
            # a month's report arrives on the 10th of the next month; the annual one on 20 January
            sent = (dt.datetime(year + 1, 1, 20, 9, tzinfo=dt.UTC) if month is None else
                    dt.datetime(year + (month == 12), month % 12 + 1, 10, 9, tzinfo=dt.UTC))
            for k, unit in enumerate(units):
                forms = CITY_FORMS if unit == CITY else (
                    DISTRICT_FORMS if month is not None else (*DISTRICT_FORMS, "rural_soil"))
                sheets = [(form, year, month, table_rows(form, unit, year, month,
                                                         values.rows(form, unit, year, month, units)))
                          for form in forms]
                count += 1
                label = "年度报表" if month is None else f"{month}月报表"
                path = load.many / unit / f"{names[unit]}{year}年{label}.xlsx"
                when = sent + dt.timedelta(minutes=k)
                if month is not None and unit != CITY and count % scale.every_nth_bad == 0:
                    form = DISTRICT_FORMS[count // scale.every_nth_bad % len(DISTRICT_FORMS)]
                    column, bad = BAD_CELLS[form]
                    i = forms.index(form)
                    body = [list(r) for r in sheets[i][3]]
                    body[0][2 + [f.code for f in FORMS[form].fields].index(column)] = bad
                    sheets[i] = (form, year, month, body)
                    load.rejected += 1
                elif count % scale.every_nth_corrected == 0:
                    write_workbook(path.with_name(f"{path.stem}（更正）.xlsx"), names[unit],
                                   _corrected(sheets), when + dt.timedelta(days=3))
                    load.workbooks += 1
                    load.tables += len(sheets)
                    load.superseded += len(sheets)  # the first version's tables are replaced
                write_workbook(path, names[unit], sheets, when)
                load.workbooks += 1
                load.tables += len(sheets)
    load.csv_rows = scale.csv_rows
    register_sections(load.registries, values.sections, codes, max(scale.csv_rows, 1000), scale.years[0])
    write_big_csv(load.big / CITY / f"南昌市{scale.years[-1]}年断面水质监测明细.csv", scale.csv_rows,
                  codes, scale.years[-1], random.Random(seed + 1))
    write_office_csv(load.office / CITY / f"南昌市{scale.years[-1]}年断面水质监测明细（Excel另存）.csv", scale.csv_rows,
                     codes, scale.years[-1], random.Random(seed + 1))
    if workbooks:
        write_validate_xlsx(load.validate_xlsx, codes, scale.years[-1], random.Random(seed + 2))
    return load


def _corrected(sheets: list[Sheet]) -> list[Sheet]:
    """The same sheets with one value changed in each (a count that no rule ties to another period)."""
    out = []
    for form, year, month, body in sheets:
        body = [list(r) for r in body]
        if form == "enforcement":
            body[0][2 + 4] = cast(int, body[0][2 + 4]) + 1  # scattered_found, still ≥ scattered_fixed
        elif form == "air_quality":
            body[0][2] = cast(int, body[0][2]) + 1            # pm25, still ≤ pm10
        out.append((form, year, month, body))
    return out


def section_rows(n: int, units: list[str], rnd: random.Random) -> list[list[object]]:
    """``n`` water_sections rows with distinct section codes, class consistent with total phosphorus."""
    rows = []
    bodies = list(BODIES)
    for i in range(n):
        body = bodies[i % len(bodies)]
        wtype = BODIES[body]
        limits = TP_LIMITS[wtype]
        tp = round(rnd.uniform(0.005, limits[4]), 3)
        implied = next((k for k, lim in enumerate(limits) if tp <= lim), 5)
        rows.append([units[i % len(units)], f"W{i:07d}", f"{body}{i}号断面", body, wtype,
                     LEVELS[i % 3], CLASSES[min(5, implied + rnd.randint(0, 1))], tp])
    return rows


def write_big_csv(path: Path, n: int, units: list[str], year: int, rnd: random.Random) -> None:
    """One ``water_sections`` CSV (UTF-8) of ``n`` rows, as the city monitoring centre would send it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header("water_sections"))
        for r in section_rows(n, units, rnd):
            w.writerow([r[0], str(year), *r[1:]])


def write_office_csv(path: Path, n: int, units: list[str], year: int, rnd: random.Random) -> None:
    """The rows :func:`write_big_csv` writes with the same ``rnd``, as Excel on a Chinese Windows saves a csv:
    GBK, CRLF line ends, the unit in the header cell (``总磷（mg/L）``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = [f"{h}（mg/L）" if h == "总磷" else h for h in header("water_sections")]
    with open(path, "w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(head)
        for r in section_rows(n, units, rnd):
            w.writerow([r[0], str(year), *r[1:]])


def write_validate_xlsx(path: Path, units: list[str], year: int, rnd: random.Random) -> None:
    """A 1,000-row ``water_sections`` workbook."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEETS["water_sections"]
    ws.append(header("water_sections"))
    for r in section_rows(1000, units, rnd):
        ws.append([r[0], f"{year}年", *r[1:]])
    wb.save(path)
