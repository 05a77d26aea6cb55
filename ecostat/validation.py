"""Checking one raw table against the contract, in stages: structure (header rows, form,
columns, footer; the layout in ecostat.layout) → cells (each parse failure its own finding) →
row rules and table rules (pandera, lazy) → totals rows. Cross-period rules, which need the
warehouse, are in ecostat.crossperiod.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd
import pandera.pandas as pa
from openpyxl.utils import column_index_from_string

from ecostat.catalogue import Finding, SeverityCounts, finding, format_number
from ecostat.forms import COMMON_HEADERS, FORMS
from ecostat.formspec import INTEGER, PERCENT, PERIOD, REGISTRY, ROW_COLUMNS, TEXT, UNIT_CODE, UNIT_NAME, Field, Form
from ecostat.layout import (
    FooterPair,
    Layout,
    header_keys,
    header_text,
    is_ignored_header,
    known_count,
    lay_out,
)
from ecostat.normalize import (
    Number,
    Period,
    column_letter,
    header_key,
    is_missing,
    is_whole,
    parse_number,
    parse_period,
    shown,
    split_unit,
    text_key,
)
from ecostat.readers import RawTable
from ecostat.registry import CITY, header_units, registry

TOTALS_WORDS = frozenset({"合计", "总计", "全市"})
INSTRUCTIONS_SHEET = "填报说明"  # the templates' instructions: not a table unless it holds a header row
UNIT_FIELD = Field(UNIT_CODE, "区县代码", TEXT)
PERIOD_FIELD = Field(PERIOD, "报告期", TEXT)


@dataclass
class Column:
    """A column of the submitter's table mapped to a field."""

    index: int
    header: str
    field: str
    factor: float = 1.0

    @property
    def letter(self) -> str:
        """Its spreadsheet letter."""
        return column_letter(self.index)


@dataclass
class CheckedTable(SeverityCounts):
    """A table after checking: its form, its normalised rows and everything found wrong."""

    sheet: str | None
    form: Form | None
    frame: pd.DataFrame | None
    findings: list[Finding] = field(default_factory=list)
    columns: dict[str, Column] = field(default_factory=dict)
    header_row: int | None = None
    raw: RawTable | None = field(default=None, repr=False, compare=False)  # the table as submitted
    flagged: set[tuple[int, int]] = field(default_factory=set, repr=False)  # (row, column index) already reported
    footer: list[FooterPair] = field(default_factory=list)  # 填报人：王敏 …: recorded, never a finding

    @property
    def accepted(self) -> bool:
        """Whether the table may be loaded."""
        return self.form is not None and self.frame is not None and self.errors == 0

    def add(self, rule_id: str, row: int | None, code: str | None = None, *, index: int | None = None,
            header: str | None = None, value: object = None, **params: Any) -> Finding:
        """Record a finding at ``row`` and the column of field ``code`` (or column ``index``)."""
        col = self.columns.get(code) if code else None
        if col is not None:
            index, header = col.index, header or col.header
        f = finding(rule_id, row=row, column=column_letter(index) if index is not None else None,
                    header=header, value=value, **params)
        f.sheet = self.sheet
        self.findings.append(f)
        return f

    def is_percent_cell(self, row: int, index: int) -> bool:
        """Whether the reader saw the cell in a percentage number format (``0.921`` shown ``92.1%``)."""
        return self.raw is not None and (row, index) in self.raw.percent

    def shown(self, row: int, index: int, value: object) -> str:
        """A cell as the submitter sees it: a percentage-formatted ``0.921`` is ``92.1%``."""
        if self.is_percent_cell(row, index) and isinstance(value, int | float):
            return f"{format_number(value * 100)}%"
        return shown(value)

    def written(self, row: int, code: str) -> str | None:
        """The cell of field ``code`` in data row ``row`` as the submitter wrote it."""
        col = self.columns.get(code)
        if self.frame is None or col is None:
            return None
        cells = self.frame.at[row, "_cells"]
        return self.shown(row, col.index, cells[col.index]) if col.index < len(cells) else None


def _field_for(key: str, form: Form) -> str | None:
    for common, keys in COMMON_HEADERS.items():
        if key in keys:
            return common
    for f in form.fields:
        if key in f.keys:
            return f.code
    return None


def is_instructions(raw: RawTable) -> bool:
    """Whether a sheet is a template's instructions sheet (named so, and without a header row)."""
    return raw.sheet == INSTRUCTIONS_SHEET and all(known_count(cells) < 2 for _, cells in raw.rows)


NEAREST_KEYS = 64  # headers compared by likeness when no form is named: enough for any real table


@cache
def _fields_by_key() -> dict[str, list[tuple[str, str]]]:
    """Every header key of every form's fields: the (form, field) pairs it names."""
    index: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for form in FORMS.values():
        for f in form.fields:
            for key in f.keys:
                index[key].append((form.code, f.code))
    return dict(index)


def recognise(header: list[object]) -> tuple[Form, int]:
    """The form whose fields the header names best, and how many of its fields it names.

    Linear in the number of headers: each header key is looked up once. Only when the header names
    no field of any form is the nearest form chosen by likeness (difflib), among the forms missing
    the fewest required fields and over the first :data:`NEAREST_KEYS` distinct header keys."""
    keys = list(dict.fromkeys(k for c in header if not is_missing(c) for k in header_keys(c)))
    index = _fields_by_key()
    named: dict[str, set[str]] = {code: set() for code in FORMS}
    for key in keys:
        for form_code, field_code in index.get(key, ()):
            named[form_code].add(field_code)

    def score(form: Form) -> tuple[int, int]:
        missing = sum(1 for f in form.fields if f.required and f.code not in named[form.code])
        return len(named[form.code]), -missing

    best = max(score(f) for f in FORMS.values())
    tied = [f for f in FORMS.values() if score(f) == best]
    if best[0] > 0 or not keys or len(tied) == 1:
        return tied[0], best[0]
    probe = keys[:NEAREST_KEYS]

    def closeness(form: Form) -> float:
        return sum(max(difflib.SequenceMatcher(None, k, fk).ratio() for k in probe for fk in f.keys)
                   for f in form.fields)

    return max(tied, key=closeness), 0


def header_row_index(raw: RawTable) -> tuple[int | None, int]:
    """The index into ``raw.rows`` of the header row (the first naming two known headers), or None;
    and the row to lay the table out from: the header row, else the row naming the most."""
    best, best_count = 0, -1
    for i, (_, cells) in enumerate(raw.rows):
        count = known_count(cells)
        if count >= 2:
            return i, i
        if count > best_count:
            best, best_count = i, count
    return None, best


def check_table(raw: RawTable, submitter: str | None, *, today: dt.date | None = None) -> CheckedTable:
    """Check one table (structure, cells, row and table rules) for ``submitter``."""
    today = today or dt.date.today()
    header_at, probe = header_row_index(raw)
    layout = lay_out(raw, probe)
    header_row = layout.header_rows[0]
    header = [cell for _, cell in layout.header]
    form, named = recognise(header)
    out = CheckedTable(raw.sheet, None, None, header_row=header_row, raw=raw, footer=layout.footer)
    _reader_notes(out, raw)
    if header_at is None or named == 0:
        present = {k for c in header for k in header_keys(c)}
        missing = [f.zh for f in form.fields if f.required and not f.keys & present]
        out.add("TABLE_FORM_UNKNOWN", header_row, form=form.code, form_zh=form.zh, missing="、".join(missing))
        return out
    out.form = form
    _merged_in_data(out, raw, layout)
    _map_columns(out, form, layout)
    by_letter = {c.letter: c.header for c in out.columns.values()}
    for f in out.findings:
        if f.header is None and f.column in by_letter:
            f.header = by_letter[f.column]
    if out.errors:
        return out
    _read_rows(out, form, layout.body, submitter, today)
    if out.frame is not None and not out.frame.empty:
        _run_schema(out, form)
    return out


def _reader_notes(out: CheckedTable, raw: RawTable) -> None:
    """The reader's findings (formulas without a result, hidden sheets and rows) come first; a cell
    they condemn is not checked again."""
    for note in raw.notes:
        out.findings.append(dataclasses.replace(note, sheet=out.sheet))
        if note.severity == "error" and note.row is not None and note.column:
            out.flagged.add((note.row, column_index_from_string(note.column) - 1))


def _merged_in_data(out: CheckedTable, raw: RawTable, layout: Layout) -> None:
    """A merged range reaching below the header rows into the data is one finding; its cells are not
    checked again. Merged cells above the data (banner, header rows), in notes and in the footer are fine."""
    for r1, c1, r2, c2 in sorted(raw.merged):
        if r2 <= layout.last_header_row or all(r in layout.not_data for r in range(r1, r2 + 1)):
            continue
        ref = f"{column_letter(c1 - 1)}{r1}:{column_letter(c2 - 1)}{r2}"
        out.add("TABLE_MERGED_CELLS", r1, index=c1 - 1, value=ref)
        out.flagged.update((r, c - 1) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))


def _map_columns(out: CheckedTable, form: Form, layout: Layout) -> None:
    header_row = layout.header_rows[0]
    for j, (row, cell) in enumerate(layout.header):
        if is_missing(cell):
            continue
        full, name = header_keys(cell)
        code = _field_for(full, form) or _field_for(name, form)
        text = header_text(cell)
        if code is None:
            if not is_ignored_header(cell):
                out.add("COLUMN_UNKNOWN", row, index=j, header=text)
            continue
        if code in out.columns:
            prior = out.columns[code]
            out.add("COLUMN_DUPLICATE", row, index=j, header=text, other_column=prior.letter,
                    field=code, field_zh=prior.header)
            continue
        col = Column(j, text, code)
        spec = next((f for f in form.fields if f.code == code), None)
        unit = header_key(cell)[1] if full != name else None
        if spec is not None and spec.quantity and unit is not None:
            factors = header_units()[spec.quantity]
            if text_key(unit) not in factors:
                out.add("HEADER_UNIT", row, index=j, header=text, value=unit,
                        expected="、".join(factors))
            col.factor = factors.get(text_key(unit), 1.0)
        out.columns[code] = col
    for f in form.fields:
        if f.required and f.code not in out.columns:
            out.add("COLUMN_MISSING", header_row, header=f.zh, form=form.code, form_zh=form.zh)
    if UNIT_CODE not in out.columns and UNIT_NAME not in out.columns:
        out.add("COLUMN_MISSING", header_row, header="区县代码 / 区县", form=form.code, form_zh=form.zh)
    if PERIOD not in out.columns:
        out.add("COLUMN_MISSING", header_row, header="报告期", form=form.code, form_zh=form.zh)


class _RowReader:
    """Parses the cells of one data row, collecting a finding per bad cell."""

    def __init__(self, out: CheckedTable, row: int, cells: list[object]):
        self.out, self.row, self.cells = out, row, cells
        # cells already reported (a formula without a result, a merged range): no further finding
        self.flagged = {code for code, col in out.columns.items() if (row, col.index) in out.flagged}
        self.bad: set[str] = set(self.flagged)
        self.at_least: list[str] = []

    def raw(self, code: str) -> object:
        col = self.out.columns.get(code)
        return self.cells[col.index] if col is not None and col.index < len(self.cells) else None

    def shown(self, code: str) -> str:
        col = self.out.columns.get(code)
        return self.out.shown(self.row, col.index, self.raw(code)) if col is not None else ""

    def report(self, rule_id: str, code: str, **params: Any) -> None:
        self.bad.add(code)
        if code in self.flagged:
            return
        self.out.add(rule_id, self.row, code, value=self.shown(code), **params)

    def value(self, f: Field) -> object:
        if f.code in self.flagged:
            return None
        raw = self.raw(f.code)
        if f.kind == TEXT:
            return None if is_missing(raw) else shown(raw).strip()
        if f.kind == REGISTRY:
            if is_missing(raw):
                return None
            entry = registry(f.registry or "").resolve(raw)
            if entry is None:
                if f.code == "water_class":
                    self.report("CELL_WATER_CLASS", f.code)
                else:
                    self.report("CELL_REGISTRY", f.code, expected=registry(f.registry or "").names())
                return None
            return entry.code
        num, problem = read_number(self.out, self.row, self.out.columns[f.code], f, raw)
        if problem is not None:
            rule_id, params = problem
            self.report(rule_id, f.code, **params)
            return None
        if num.value is None:
            return None
        value = num.value
        if f.kind == INTEGER and not is_whole(value):
            self.report("CELL_INTEGER", f.code)
            return None
        if num.at_least:
            self.at_least.append(f.code)
            self.out.add("CELL_QUALIFIER", self.row, f.code, value=self.shown(f.code), number=value)
        return round(value) if f.kind == INTEGER else value

    def unit(self) -> str | None:
        units = registry("units")
        by_code, by_name = self.raw(UNIT_CODE), self.raw(UNIT_NAME)
        code = units.resolve(by_code) if not is_missing(by_code) else None
        name = units.resolve(by_name) if not is_missing(by_name) else None
        if not is_missing(by_code) and code is None:
            self.report("CELL_UNIT", UNIT_CODE)
        if not is_missing(by_name) and name is None:
            self.report("CELL_UNIT", UNIT_NAME)
        if code and name and code.code != name.code:
            self.report("CELL_UNIT_MISMATCH", UNIT_CODE, other_value=shown(by_name))
        if is_missing(by_code) and is_missing(by_name):
            self.report("CELL_REQUIRED", UNIT_CODE if UNIT_CODE in self.out.columns else UNIT_NAME)
        entry = code or name
        return entry.code if entry else None

    def period(self, today: dt.date) -> Period | None:
        raw = self.raw(PERIOD)
        if is_missing(raw):
            self.report("CELL_REQUIRED", PERIOD)
            return None
        period = parse_period(raw)
        if period is None:
            self.report("CELL_PERIOD", PERIOD)
        elif period.end > today:
            self.report("CELL_PERIOD_FUTURE", PERIOD)
            return None
        return period


def read_number(out: CheckedTable, row: int, col: Column, spec: Field,
                raw: object) -> tuple[Number, tuple[str, dict[str, Any]] | None]:
    """A numeric cell in the contract's unit, or the rule (and its parameters) it breaks.

    The column's header unit converts it, unless the cell writes its own unit or counting word
    (``45个``, ``0.13亿元``: converted as a header's would be); in a % column a cell in a
    percentage number format holds a fraction (``0.921`` shown ``92.1%`` is 92.1)."""
    num, factor = parse_number(raw), col.factor
    if num.error:
        split = split_unit(raw)
        inner = parse_number(split[0]) if split else num
        if split and inner.error is None:
            units = header_units().get(spec.quantity or "", {})
            if text_key(split[1]) not in units:
                return num, ("CELL_UNIT_SUFFIX", {"unit": split[1], "expected": "、".join(units) or "—"})
            num, factor = inner, units[text_key(split[1])]
    if num.error:
        return num, ("CELL_NUMBER", {})
    if num.value is None:
        return num, None
    if num.percent and spec.kind != PERCENT:
        return num, ("CELL_PERCENT", {})
    if spec.kind == PERCENT and out.is_percent_cell(row, col.index):
        return Number(round(num.value * 100, 10), percent=True, at_least=num.at_least), None
    return Number(num.value * factor, num.percent, num.at_least), None


def plain_fraction(out: CheckedTable, row: int, col: Column, raw: object) -> float | None:
    """A number between 0 and 1 written without a percent sign or format in a % column, or None."""
    num = parse_number(raw)
    if num.value is None or num.percent or out.is_percent_cell(row, col.index) or not 0 < num.value < 1:
        return None
    return num.value


def unit_cell_text(out: CheckedTable, cells: list[object]) -> str:
    """The unit cell(s) of a row reduced for matching."""
    parts = []
    for code in (UNIT_CODE, UNIT_NAME):
        col = out.columns.get(code)
        if col is not None and col.index < len(cells) and not is_missing(cells[col.index]):
            parts.append(text_key(shown(cells[col.index])))
    return "".join(parts)


def _read_rows(out: CheckedTable, form: Form, rows: list[tuple[int, list[object]]],
               submitter: str | None, today: dt.date) -> None:
    # a row naming only its unit and period (as a template pre-fills them) is blank
    mapped = [c.index for code, c in out.columns.items() if code not in (UNIT_CODE, UNIT_NAME, PERIOD)]
    records: list[dict[str, object]] = []
    since_total: list[dict[str, object]] = []
    for row, cells in rows:
        values = [cells[i] if i < len(cells) else None for i in mapped]
        if all(is_missing(v) for v in values):
            continue
        if unit_cell_text(out, cells) in TOTALS_WORDS:
            _check_totals(out, form, row, cells, since_total)
            since_total = []
            continue
        reader = _RowReader(out, row, cells)
        rec: dict[str, object] = {f.code: reader.value(f) for f in form.fields if f.code in out.columns}
        unit = reader.unit()
        period = reader.period(today)
        if unit and submitter and submitter != CITY and unit != submitter:
            reader.report("AUTH_ROW_UNIT", UNIT_CODE if UNIT_CODE in out.columns else UNIT_NAME,
                          submitter=submitter)
        rec.update(unit_code=unit, period=period.label if period else None,
                   year=period.year if period else None, month=period.month if period else None,
                   period_days=period.days if period else None, _row=row, _bad=reader.bad, _cells=cells,
                   _at_least=reader.at_least or None)
        records.append(rec)
        since_total.append(rec)
    if not records:
        out.add("TABLE_EMPTY", out.header_row)
        return
    frame = pd.DataFrame.from_records(records, index=[r["_row"] for r in records])
    for f in form.fields:
        if f.code not in frame:
            frame[f.code] = None
        frame[f.code] = frame[f.code].astype(object if f.kind in (REGISTRY, TEXT) else "float64")
    for c in ("year", "month", "period_days"):
        frame[c] = frame[c].astype("Int64")
    out.frame = frame[[f.code for f in form.fields] + [*ROW_COLUMNS, "_bad", "_cells", "_at_least"]]


def _check_totals(out: CheckedTable, form: Form, row: int, cells: list[object],
                  above: list[dict[str, object]]) -> None:
    for f in form.fields:
        col = out.columns.get(f.code)
        if not f.summed or col is None or col.index >= len(cells):
            continue
        num, problem = read_number(out, row, col, f, cells[col.index])
        if num.value is None or problem is not None:
            continue
        stated = num.value
        total = sum(float(v) for r in above if isinstance(v := r.get(f.code), int | float))
        if abs(stated - total) > 1e-6 * max(1.0, abs(total)):
            out.add("TABLE_TOTALS", row, f.code, value=out.shown(row, col.index, cells[col.index]), expected=total)


# pandera's built-in column checks, evaluated directly by :func:`schema_passes`
_COLUMN_CHECKS = {
    "greater_than_or_equal_to": lambda s, st: s >= st["min_value"],
    "greater_than": lambda s, st: s > st["min_value"],
    "less_than_or_equal_to": lambda s, st: s <= st["max_value"],
    "less_than": lambda s, st: s < st["max_value"],
}


def schema_passes(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> bool:
    """Whether ``frame`` certainly passes ``schema``: its dtypes, nullability, built-in column checks,
    frame checks and uniqueness evaluated directly, a whole column at a time, without pandera's cost
    per call and per check. False means "let pandera say": a check it does not know, or a failure."""
    for name, col in schema.columns.items():
        if name not in frame:
            if col.required:
                return False
            continue
        series = frame[name]
        if str(series.dtype) != str(col.dtype) or (not col.nullable and series.isna().any()):
            return False
        given = series.dropna()
        for check in col.checks:
            test = _COLUMN_CHECKS.get(check.name)
            if test is None or not check.ignore_na or not bool(test(given, check.statistics).all()):
                return False
    for check in schema.checks:
        if check.element_wise or not bool(check._check_fn(frame).all()):
            return False
    return not (schema.unique and frame.duplicated(subset=schema.unique).any())


def _run_schema(out: CheckedTable, form: Form) -> None:
    frame = out.frame
    assert frame is not None
    if schema_passes(form.schema, frame):
        return  # pandera would find nothing: it runs (and locates every failure) only when something fails
    try:
        form.schema.validate(frame, lazy=True)
        return
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    seen: set[tuple[str, int, str]] = set()
    for case in cases.itertuples(index=False):
        row = int(case.index) if case.index is not None and case.index == case.index else None
        if row is None:
            raise RuntimeError(f"pandera reported a failure without a row: {case}")
        check, column = str(case.check), str(case.column)
        if check == "multiple_fields_uniqueness":
            rid, target = "TABLE_KEY_DUPLICATE", form.unique_columns[-1]
        elif check == "not_nullable":
            rid, target = "CELL_REQUIRED", column
        elif "|" in check:
            rid, target = check.split("|", 1)
        else:
            raise RuntimeError(f"unexpected pandera check {check!r} on {column}")
        if target.startswith("#"):
            rule = form.row_rules[int(target[1:])]
            target = rule.column
        if (rid, row, target) in seen or target in frame.at[row, "_bad"]:
            continue
        seen.add((rid, row, target))
        _add_schema_finding(out, form, rid, row, target, check)


def _add_schema_finding(out: CheckedTable, form: Form, rid: str, row: int, target: str, check: str) -> None:
    frame = out.frame
    assert frame is not None
    record = frame.loc[row]
    col = out.columns.get(target)
    value = out.written(row, target) if col else _display(record.get(target))
    params: dict[str, Any] = {}
    if rid == "TABLE_KEY_DUPLICATE":
        params.update(period=record["period"], key="、".join(
            [form.field(c).zh for c in form.unique_columns if c not in ROW_COLUMNS] or ["区县"]))
    elif rid.startswith("VALUE_"):
        f = form.field(target)
        params["limit"] = f.min if rid.startswith("VALUE_MIN") else f.max
    elif check.partition("|")[2].startswith("#"):
        rule = form.row_rules[int(check.partition("|")[2][1:])]
        params = rule.params(record)
        for key in ("other", "numerator", "denominator"):
            if key in params:
                params[f"{key}_header"] = _header(out, form, str(params[key]))
        if "parts" in params:
            params["parts"] = "+".join(_header(out, form, p) for p in params["parts"])  # type: ignore[attr-defined]
        if "other_value" in params:
            params["other_value"] = _display(params["other_value"])
        cells = frame.at[row, "_cells"]
        if rid == "ROW_RATE" and col is not None and col.index < len(cells):
            fraction = plain_fraction(out, row, col, cells[col.index])
            if fraction is not None:
                params["suggested"] = f"{format_number(fraction * 100)}%"
    out.add(rid, row, target, header=None if col else form.field(target).zh, value=value, **params)


def _header(out: CheckedTable, form: Form, code: str) -> str:
    col = out.columns.get(code)
    return col.header if col else form.field(code).zh


def _display(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return ""
    if isinstance(v, float):
        return format_number(v)
    return str(v)
