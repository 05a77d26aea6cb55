"""Checking one raw table against the contract, in stages: structure (header rows, form,
columns, footer; the layout in ecostat.check.layout) → cells (each parse failure its own finding) →
row rules and table rules (pandera, lazy) → totals rows. Cross-period rules, which need the
warehouse, are in ecostat.check.crossperiod.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ecostat.check.layout import (
    FooterPair,
    Layout,
    header_keys,
    header_text,
    is_ignored_header,
    known_count,
    lay_out,
)
from ecostat.common import budget
from ecostat.contract.catalogue import Finding, SeverityCounts, finding, format_number
from ecostat.contract.forms import COMMON_HEADERS, FORMS
from ecostat.contract.formspec import (
    INTEGER,
    NUMERIC,
    PERCENT,
    PERIOD,
    REGISTRY,
    ROW_COLUMNS,
    TEXT,
    UNIT_CODE,
    UNIT_NAME,
    YESNO,
    Field,
    Form,
)
from ecostat.contract.normalize import (
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
from ecostat.contract.registry import CITY, header_units, may_submit, registry, yes_no
from ecostat.read.readers import RawTable, Rows, TableRows, row_numbers, take
from ecostat.read.sheetxml import column_index

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
        cells = self.raw.cells(row) if self.raw is not None else []
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


def _fields_by_key() -> dict[str, list[tuple[str, str]]]:
    """Every header key of every form's fields: the (form, field) pairs it names (made again when the
    registry of forms changes)."""
    return _index_of(tuple(FORMS.values()))


@lru_cache(maxsize=4)
def _index_of(forms: tuple[Form, ...]) -> dict[str, list[tuple[str, str]]]:
    index: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for form in forms:
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
    if submitter is not None and not may_submit(submitter, form.submitters):
        allowed = [e for e in registry("units").entries if may_submit(e.code, form.submitters)]
        out.add("AUTH_FORM", header_row, form=form.code, form_zh=form.zh, submitter=submitter,
                submitters="、".join(f"{e.name}（{e.code}）" for e in allowed),
                submitters_en=", ".join(e.code for e in allowed))
        return out
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
            out.flagged.add((note.row, column_index(note.column)))


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
    for f in form.fields:  # a field added later may be missing from tables of earlier periods
        if f.required and f.since is None and f.code not in out.columns:
            out.add("COLUMN_MISSING", header_row, header=f.zh, form=form.code, form_zh=form.zh)
    if UNIT_CODE not in out.columns and UNIT_NAME not in out.columns:
        out.add("COLUMN_MISSING", header_row, header="区县代码 / 区县", form=form.code, form_zh=form.zh)
    if PERIOD not in out.columns:
        out.add("COLUMN_MISSING", header_row, header="报告期", form=form.code, form_zh=form.zh)


class _Cell(NamedTuple):
    """What one distinct cell of a column means: its value, the rule it breaks (with its parameters), and
    the number it was written as "at least" (``60%以上``), if it was."""

    value: object
    problem: tuple[str, dict[str, Any]] | None = None
    at_least: float | None = None


_NOTHING = _Cell(None)
_TEXT_TYPES = frozenset({str, type(None)})
_Report = tuple[str, str, dict[str, Any]]  # rule, field, parameters
_CLEAN: frozenset[str] = frozenset()  # the ``_bad`` of every row without a bad cell (one shared object)
_UNIT_SEQ, _PERIOD_SEQ, _AUTH_SEQ = 1000, 2000, 3000  # a row's findings: fields, then unit, period, owner


def _parse_cell(f: Field, col: Column, raw: object, percent: bool) -> _Cell:
    """One cell of field ``f`` (``percent``: shown in a percentage number format)."""
    if f.kind == TEXT:
        return _Cell(_text_value(raw))
    if f.kind == YESNO:  # 是/否, 已完成/未完成, √/×, Y/N, 1/0 (yes_no.csv)
        if is_missing(raw):
            return _NOTHING
        answer = yes_no(raw)
        return _Cell(answer) if answer is not None else _Cell(None, ("CELL_YES_NO", {}))
    if f.kind == REGISTRY:
        if is_missing(raw):
            return _NOTHING
        entry = registry(f.registry or "").resolve(raw)
        if entry is not None:
            return _Cell(entry.code)
        if f.code == "water_class":
            return _Cell(None, ("CELL_WATER_CLASS", {}))
        return _Cell(None, ("CELL_REGISTRY", {"expected": registry(f.registry or "").names()}))
    num, problem = read_number(col, f, raw, percent)
    if problem is not None:
        return _Cell(None, problem)
    if num.value is None:
        return _NOTHING
    if f.kind == INTEGER and not is_whole(num.value):
        return _Cell(None, ("CELL_INTEGER", {}))
    return _Cell(round(num.value) if f.kind == INTEGER else num.value, at_least=num.value if num.at_least else None)


def _memo_map(values: list[object], parse: Any) -> list[Any]:
    """``parse`` of each value, computed once per distinct value (and type: 1, 1.0 and "1" differ)."""
    if set(map(type, values)) <= _TEXT_TYPES:  # text and blanks (a csv): keys cannot collide across types
        parsed = {v: parse(v) for v in dict.fromkeys(values)}
        return list(map(parsed.__getitem__, values))
    memo: dict[tuple[type, object], Any] = {}
    out = []
    for v in values:
        try:
            key = (v.__class__, v)
            found = memo.get(key)
            if found is None:
                found = memo[key] = parse(v)
        except TypeError:  # an unhashable cell (a list from json): parsed on its own
            found = parse(v)
        out.append(found)
    return out


def read_number(col: Column, spec: Field, raw: object,
                percent: bool) -> tuple[Number, tuple[str, dict[str, Any]] | None]:
    """A numeric cell in the contract's unit, or the rule (and its parameters) it breaks.

    The column's header unit converts it, unless the cell writes its own unit or counting word
    (``45个``, ``0.13亿元``: converted as a header's would be); in a % column a cell in a
    percentage number format (``percent``) holds a fraction (``0.921`` shown ``92.1%`` is 92.1)."""
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
    if spec.kind == PERCENT and percent:
        return Number(round(num.value * 100, 10), percent=True, at_least=num.at_least), None
    return Number(num.value * factor, num.percent, num.at_least), None


def plain_fraction(out: CheckedTable, row: int, col: Column, raw: object) -> float | None:
    """A number between 0 and 1 written without a percent sign or format in a % column, or None."""
    num = parse_number(raw)
    if num.value is None or num.percent or out.is_percent_cell(row, col.index) or not 0 < num.value < 1:
        return None
    return num.value


def _column(rows: TableRows, j: int) -> list[object]:
    """Column ``j`` of some rows (None where a row is shorter)."""
    if isinstance(rows, Rows):
        return rows.column(j)
    return [cells[j] if j < len(cells) else None for _, cells in rows]


def _mapped(rows: TableRows, j: int, parse: Any) -> list[Any]:
    """``parse`` of each cell of column ``j`` of some rows, computed once per distinct cell."""
    return rows.mapped(j, parse) if isinstance(rows, Rows) else _memo_map(_column(rows, j), parse)


def _text_value(cell: object) -> str | None:
    """A free-text cell's value: as written, stripped; None when empty."""
    return None if is_missing(cell) else (cell if isinstance(cell, str) else shown(cell)).strip()


def _is_given(cell: object) -> bool:
    return not is_missing(cell)


def _unit_text(cell: object) -> str:
    """A unit cell reduced for matching ("" when empty)."""
    return "" if is_missing(cell) else text_key(shown(cell))


class _Positions:
    """Each data row's position by its row number (the numbers ascend), found by bisection: no dict of
    every row of a big table."""

    def __init__(self, rows: list[int]):
        self.rows = rows

    def get(self, row: int) -> int | None:
        """The position of row number ``row``, or None."""
        k = bisect.bisect_left(self.rows, row)
        return k if k < len(self.rows) and self.rows[k] == row else None

    def __getitem__(self, row: int) -> int:
        k = self.get(row)
        if k is None:
            raise KeyError(row)
        return k

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int) and self.get(row) is not None


class _Cells:
    """The data rows of a table read a column at a time: each column's cells parsed once per distinct
    value, findings only for the cells that fail, located (and ordered) as a row-by-row reading would:
    by row, then the form's fields, then unit, period and owner."""

    def __init__(self, out: CheckedTable, data: TableRows):
        self.out, self.data = out, data
        self.rows = row_numbers(data)
        self.position = _Positions(self.rows)
        self.bad: list[set[str] | frozenset[str]] = [_CLEAN] * len(data)
        self.pending: list[tuple[int, int, str, str, dict[str, Any]]] = []  # (row, order, rule, field, params)
        # cells already reported (a formula without a result, a merged range): no further finding
        self.flagged: dict[str, set[int]] = {}
        for code, col in out.columns.items():
            at = {self.position[r] for r, j in out.flagged if j == col.index and r in self.position}
            if at:
                self.flagged[code] = at
                for p in at:
                    self._mark(p, code)

    def column(self, code: str) -> list[object]:
        """The raw cells of field ``code`` (None where the row is shorter, or the column is unmapped)."""
        col = self.out.columns.get(code)
        return [None] * len(self.data) if col is None else _column(self.data, col.index)

    def mapped(self, code: str, parse: Any) -> list[Any]:
        """``parse`` of each raw cell of field ``code``, computed once per distinct cell."""
        col = self.out.columns.get(code)
        return [parse(None)] * len(self.data) if col is None else _mapped(self.data, col.index, parse)

    def _mark(self, p: int, code: str) -> None:
        if not self.bad[p]:
            self.bad[p] = set()
        self.bad[p].add(code)  # type: ignore[union-attr]

    def report(self, p: int, order: int, rule_id: str, code: str, **params: Any) -> None:
        """The cell of field ``code`` in data row ``p`` breaks ``rule_id`` (silently if already reported)."""
        self._mark(p, code)
        if p not in self.flagged.get(code, ()):
            self.pending.append((self.rows[p], order, rule_id, code, params))

    def values(self, k: int, f: Field) -> list[object]:
        """The values of field ``f`` (the ``k``-th of its form), reporting each cell that fails."""
        col = self.out.columns[f.code]
        if f.kind == TEXT:  # free text breaks no rule: its value is the cell as written, stripped
            text = self.mapped(f.code, _text_value)
            for p in self.flagged.get(f.code, ()):
                text[p] = None
            return text
        percent = {self.position[r] for r, j in (self.out.raw.percent if self.out.raw else ())
                   if j == col.index and r in self.position}
        cells = self.mapped(f.code, lambda v: _parse_cell(f, col, v, False))
        if percent:
            raw = self.column(f.code)
            for p in percent:
                cells[p] = _parse_cell(f, col, raw[p], True)
        flagged = self.flagged.get(f.code, set())
        values = [c.value for c in cells]
        for p, c in enumerate(cells):
            if c.problem is None and c.at_least is None:
                continue
            if p in flagged:
                values[p] = None
            elif c.problem is not None:
                self.report(p, k, c.problem[0], f.code, **c.problem[1])
            else:
                self.pending.append((self.rows[p], k, "CELL_QUALIFIER", f.code, {"number": c.at_least}))
        for p in flagged:
            values[p] = None
        return values

    def at_least(self, fields: list[Field], columns: dict[str, list[object]]) -> list[list[str] | None]:
        """Per row, the fields written as "at least" (None for most rows)."""
        out: list[list[str] | None] = [None] * len(self.data)
        for row, _, rule_id, code, _ in self.pending:
            if rule_id == "CELL_QUALIFIER":
                p = self.position[row]
                out[p] = (out[p] or []) + [code]
        order = {f.code: k for k, f in enumerate(fields)}
        return [sorted(codes, key=order.__getitem__) if codes else None for codes in out]

    def units(self) -> list[str | None]:
        """Each row's unit from its code and/or name cell, reporting unknown, mismatched and missing ones."""
        units = registry("units")
        target = UNIT_CODE if UNIT_CODE in self.out.columns else UNIT_NAME

        def resolve(pair: tuple[type, object, type, object]) -> tuple[str | None, list[_Report]]:
            _, by_code, _, by_name = pair
            code = units.resolve(by_code) if not is_missing(by_code) else None
            name = units.resolve(by_name) if not is_missing(by_name) else None
            found: list[_Report] = []
            if not is_missing(by_code) and code is None:
                found.append(("CELL_UNIT", UNIT_CODE, {}))
            if not is_missing(by_name) and name is None:
                found.append(("CELL_UNIT", UNIT_NAME, {}))
            if code and name and code.code != name.code:
                found.append(("CELL_UNIT_MISMATCH", UNIT_CODE, {"other_value": shown(by_name)}))
            if is_missing(by_code) and is_missing(by_name):
                found.append(("CELL_REQUIRED", target, {}))
            entry = code or name
            return (entry.code if entry else None), found

        nothing = type(None)
        if UNIT_NAME not in self.out.columns:  # a column at a time: once per distinct cell
            resolved = self.mapped(UNIT_CODE, lambda v: resolve((v.__class__, v, nothing, None)))
        elif UNIT_CODE not in self.out.columns:
            resolved = self.mapped(UNIT_NAME, lambda v: resolve((nothing, None, v.__class__, v)))
        else:  # with their types: True and 1 are equal as keys, not as cells
            resolved = _memo_map([(a.__class__, a, b.__class__, b) for a, b in zip(
                self.column(UNIT_CODE), self.column(UNIT_NAME), strict=True)], resolve)
        out = []
        for p, (unit, found) in enumerate(resolved):
            for n, (rule_id, code, params) in enumerate(found):
                self.report(p, _UNIT_SEQ + n, rule_id, code, **params)
            out.append(unit)
        return out

    def periods(self, today: dt.date) -> list[Period | None]:
        """Each row's period, reporting missing, unreadable and unfinished ones."""
        def parse(raw: object) -> tuple[Period | None, str | None]:
            if is_missing(raw):
                return None, "CELL_REQUIRED"
            period = parse_period(raw)
            if period is None:
                return None, "CELL_PERIOD"
            if period.end > today:
                return None, "CELL_PERIOD_FUTURE"
            return period, None

        out = []
        for p, (period, rule_id) in enumerate(self.mapped(PERIOD, parse)):
            if rule_id is not None:
                self.report(p, _PERIOD_SEQ, rule_id, PERIOD)
            out.append(period)
        return out

    def flush(self) -> None:
        """Add the collected findings to the table, in reading order."""
        self.pending.sort(key=lambda t: (t[0], t[1]))
        for row, _, rule_id, code, params in self.pending:
            col = self.out.columns.get(code)
            cells = params.pop("_cells", None)  # a totals row brings its own
            if cells is None:
                cells = self.data[self.position[row]][1]
            value = "" if col is None else self.out.shown(row, col.index, cells[col.index]
                                                           if col.index < len(cells) else None)
            self.out.add(rule_id, row, code, value=value, **params)
        self.pending = []


def _read_rows(out: CheckedTable, form: Form, rows: TableRows, submitter: str | None, today: dt.date) -> None:
    # a row naming only its unit and period (as a template pre-fills them) is blank
    mapped = [c.index for code, c in out.columns.items() if code not in (UNIT_CODE, UNIT_NAME, PERIOD)]
    data_at: list[int] = []  # positions in ``rows`` of the data rows
    totals: list[tuple[int, int, list[object]]] = []  # (data rows above it, row, cells)
    given = [_mapped(rows, j, _is_given) for j in mapped]
    kept = list(map(any, zip(*given, strict=True))) if given else []
    # the unit cell(s) of each row reduced for matching: 合计, 总计, 全市 mark a totals row
    texts = [_mapped(rows, out.columns[code].index, _unit_text)
             for code in (UNIT_CODE, UNIT_NAME) if code in out.columns]
    total = [("".join(parts) in TOTALS_WORDS) for parts in zip(*texts, strict=True)] if texts else [False] * len(rows)
    budget.check()
    for n, keep in enumerate(kept):
        if keep:
            if total[n]:
                totals.append((len(data_at), *rows[n]))
            else:
                data_at.append(n)
    data = take(rows, data_at)
    reader = _Cells(out, data)
    fields = [f for f in form.fields if f.code in out.columns]
    columns: dict[str, list[object]] = {}
    for k, f in enumerate(fields):
        budget.check()
        columns[f.code] = reader.values(k, f)
    units = reader.units()
    periods = reader.periods(today)
    if submitter and submitter != CITY:
        owner = UNIT_CODE if UNIT_CODE in out.columns else UNIT_NAME
        for p, unit in enumerate(units):
            if unit and unit != submitter:
                reader.report(p, _AUTH_SEQ, "AUTH_ROW_UNIT", owner, submitter=submitter)
    start = 0
    for end, row, cells in totals:
        _check_totals(out, form, row, cells, columns, start, end, reader)
        start = end
    at_least = reader.at_least(fields, columns)
    reader.flush()
    if not data:
        out.add("TABLE_EMPTY", out.header_row)
        return
    n = len(data)
    index = pd.Index(reader.rows)
    frame = {f.code: pd.Series(columns.get(f.code, [None] * n), index=index,
                               dtype="float64" if f.kind in NUMERIC else object) for f in form.fields}
    about = {p: (p.label, p.year, p.month, p.days) for p in set(periods) if p is not None}  # once per period
    parts = [about.get(p, (None, None, None, None)) if p is not None else (None, None, None, None) for p in periods]
    frame["unit_code"] = pd.Series(units, index=index)
    frame["period"] = pd.Series([t[0] for t in parts], index=index)
    for k, c in enumerate(("year", "month", "period_days"), 1):
        frame[c] = pd.Series([t[k] for t in parts], index=index, dtype="Int64")
    frame.update(_bad=pd.Series(reader.bad, index=index, dtype=object),
                 _at_least=pd.Series(at_least, index=index, dtype=object))
    out.frame = pd.DataFrame(frame)


def _check_totals(out: CheckedTable, form: Form, row: int, cells: list[object], columns: dict[str, list[object]],
                  start: int, end: int, reader: _Cells) -> None:
    """A totals row (合计) against the sum of the data rows ``start``–``end`` above it, since the last one."""
    for k, f in enumerate(form.fields):
        col = out.columns.get(f.code)
        if not f.summed or col is None or col.index >= len(cells):
            continue
        num, problem = read_number(col, f, cells[col.index], out.is_percent_cell(row, col.index))
        if num.value is None or problem is not None:
            continue
        stated = num.value
        total = sum(float(v) for v in columns.get(f.code, [])[start:end] if isinstance(v, int | float))
        if abs(stated - total) > 1e-6 * max(1.0, abs(total)):
            reader.pending.append((row, k, "TABLE_TOTALS", f.code, {"expected": total, "_cells": cells}))


# pandera's built-in column checks, evaluated directly by :func:`schema_passes`
_COLUMN_CHECKS = {
    "greater_than_or_equal_to": lambda s, st: s >= st["min_value"],
    "greater_than": lambda s, st: s > st["min_value"],
    "less_than_or_equal_to": lambda s, st: s <= st["max_value"],
    "less_than": lambda s, st: s < st["max_value"],
}


def schema_passes(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> bool:
    """Whether ``frame`` certainly passes ``schema``: its dtypes, nullability, built-in column checks,
    frame checks and uniqueness evaluated directly, a whole column at a time (numpy), without pandera's
    cost per call and per check. False means "let pandera say": a check it does not know, or a failure."""
    for name, col in schema.columns.items():
        if name not in frame:
            if col.required:
                return False
            continue
        series = frame[name]
        if str(series.dtype) != str(col.dtype):
            return False
        values = series.to_numpy()
        missing = np.isnan(values) if values.dtype.kind == "f" else pd.isna(values)
        if not col.nullable and missing.any():
            return False
        given = values[~missing] if missing.any() else values
        for check in col.checks:
            test = _COLUMN_CHECKS.get(check.name)
            if test is None or not check.ignore_na or not bool(np.all(test(given, check.statistics))):
                return False
    for check in schema.checks:
        if check.element_wise or not bool(check._check_fn(frame).all()):
            return False
    if not schema.unique:
        return True
    keys = list(zip(*(frame[c].tolist() for c in schema.unique), strict=True))
    if any(_is_na(v) for key in keys for v in key):
        return not frame.duplicated(subset=schema.unique).any()  # pandas' idea of equal missing values
    return len(set(keys)) == len(keys)


def _is_na(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


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
    elif rid == "CELL_REQUIRED_SINCE":
        params.update(since=form.field(target).since, period=record["period"])
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
        cells = out.raw.cells(row) if out.raw is not None else []
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
