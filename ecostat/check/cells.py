"""Cell parsing: what each cell of the data rows means (its value, or the rule it breaks), read a column
at a time (each distinct cell parsed once) and reported as a row-by-row reading would."""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecostat.check.types import CheckedTable, Column
from ecostat.contract.formspec import INTEGER, PERCENT, PERIOD, REGISTRY, TEXT, UNIT_CODE, UNIT_NAME, YESNO, Field
from ecostat.contract.normalize import (
    Number,
    Period,
    is_given,
    is_missing,
    is_whole,
    parse_number,
    parse_period,
    shown,
    split_unit,
    text_key,
)
from ecostat.contract.registry import header_units, registry, yes_no
from ecostat.read.types import Rows, distinct_map


class ParsedCell(NamedTuple):
    """What one distinct cell of a column means: its value, the rule it breaks (with its parameters), and
    the number it was written as "at least" (``60%以上``), if it was."""

    value: object
    problem: tuple[str, dict[str, Any]] | None = None
    at_least: float | None = None


_NOTHING = ParsedCell(None)
_Report = tuple[str, str, dict[str, Any]]  # rule, field, parameters
_CLEAN: frozenset[str] = frozenset()  # the ``bad`` of every row without a bad cell (one shared object)


def parse_cell(f: Field, col: Column, raw: object, percent: bool) -> ParsedCell:
    """One cell of field ``f`` (``percent``: shown in a percentage number format)."""
    if f.kind == TEXT:
        return ParsedCell(text_value(raw))
    if f.kind == YESNO:  # 是/否, 已完成/未完成, √/×, Y/N, 1/0 (yes_no.csv)
        if is_missing(raw):
            return _NOTHING
        answer = yes_no(raw)
        return ParsedCell(answer) if answer is not None else ParsedCell(None, ("CELL_YES_NO", {}))
    if f.kind == REGISTRY:
        if is_missing(raw):
            return _NOTHING
        entry = registry(f.registry or "").resolve(raw)
        if entry is not None:
            return ParsedCell(entry.code)
        if f.code == "water_class":
            return ParsedCell(None, ("CELL_WATER_CLASS", {}))
        return ParsedCell(None, ("CELL_REGISTRY", {"expected": registry(f.registry or "").names()}))
    num, problem = read_number(col, f, raw, percent)
    if problem is not None:
        return ParsedCell(None, problem)
    if num.value is None:
        return _NOTHING
    if f.kind == INTEGER and not is_whole(num.value):
        return ParsedCell(None, ("CELL_INTEGER", {}))
    value = round(num.value) if f.kind == INTEGER else num.value
    return ParsedCell(value, at_least=num.value if num.at_least else None)


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

def text_value(cell: object) -> str | None:
    """A free-text cell's value: as written, stripped; None when empty."""
    return None if is_missing(cell) else (cell if isinstance(cell, str) else shown(cell)).strip()


def unit_text(cell: object) -> str:
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



class Pending(NamedTuple):
    """A finding waiting for its place in reading order: the cell of field ``code`` in row ``row`` breaks
    ``rule_id``. ``cells`` are the cells of a row that is not a data row (a totals row): a data row's are
    looked up when the finding is added."""

    row: int
    rule_id: str
    code: str
    params: dict[str, Any]
    cells: list[object] | None = None


class DataCells:
    """The data rows of a table read a column at a time: each column's cells parsed once per distinct
    value, findings only for the cells that fail. Findings are collected step by step (the form's fields
    in order, then each row's unit, period and owner, then totals rows) and :meth:`flush` sorts them by row
    alone, stably: within a row they keep that order, as a row-by-row reading would give them."""

    def __init__(self, out: CheckedTable, data: Rows):
        self.out, self.data = out, data
        self.rows = data.numbers()
        self.position = _Positions(self.rows)
        self.bad: list[set[str] | frozenset[str]] = [_CLEAN] * len(data)  # per row, the fields of its bad cells
        self.pending: list[Pending] = []
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
        return [None] * len(self.data) if col is None else self.data.column(col.index)

    def mapped(self, code: str, parse: Any) -> list[Any]:
        """``parse`` of each raw cell of field ``code``, computed once per distinct cell."""
        col = self.out.columns.get(code)
        return [parse(None)] * len(self.data) if col is None else self.data.mapped(col.index, parse)

    def _mark(self, p: int, code: str) -> None:
        if not self.bad[p]:
            self.bad[p] = set()
        self.bad[p].add(code)  # type: ignore[union-attr]

    def report(self, p: int, rule_id: str, code: str, **params: Any) -> None:
        """The cell of field ``code`` in data row ``p`` breaks ``rule_id`` (silently if already reported)."""
        self._mark(p, code)
        if p not in self.flagged.get(code, ()):
            self.pending.append(Pending(self.rows[p], rule_id, code, params))

    def values(self, f: Field) -> list[object] | pa.Array:
        """The values of field ``f``, reporting each cell that fails (free text as an Arrow string array)."""
        col = self.out.columns[f.code]
        if f.kind == TEXT:  # free text breaks no rule: its value is the cell as written, stripped
            text = self.data.mapped_text(col.index, text_value, is_given)
            flagged = self.flagged.get(f.code)
            if flagged:
                mask = np.zeros(len(text), dtype=bool)
                mask[sorted(flagged)] = True
                text = pc.if_else(pa.array(mask), pa.nulls(len(text), pa.string()), text)
            return text
        percent = {self.position[r] for r, j in (self.out.raw.percent if self.out.raw else ())
                   if j == col.index and r in self.position}
        cells = self.mapped(f.code, lambda v: parse_cell(f, col, v, False))
        if percent:
            raw = self.column(f.code)
            for p in percent:
                cells[p] = parse_cell(f, col, raw[p], True)
        flagged = self.flagged.get(f.code, set())
        values = [c.value for c in cells]
        for p, c in enumerate(cells):
            if c.problem is None and c.at_least is None:
                continue
            if p in flagged:
                values[p] = None
            elif c.problem is not None:
                self.report(p, c.problem[0], f.code, **c.problem[1])
            else:
                self.pending.append(Pending(self.rows[p], "CELL_QUALIFIER", f.code, {"number": c.at_least}))
        for p in flagged:
            values[p] = None
        return values

    def at_least(self, fields: list[Field]) -> list[list[str] | None]:
        """Per row, the fields written as "at least" (None for most rows)."""
        out: list[list[str] | None] = [None] * len(self.data)
        for found in self.pending:
            if found.rule_id == "CELL_QUALIFIER":
                p = self.position[found.row]
                out[p] = (out[p] or []) + [found.code]
        order = {f.code: k for k, f in enumerate(fields)}
        return [sorted(codes, key=order.__getitem__) if codes else None for codes in out]

    def units(self) -> list[str | None]:
        """Each row's unit from its code and/or name cell, reporting unknown, mismatched and missing ones."""
        units = registry("units")
        target = UNIT_CODE if UNIT_CODE in self.out.columns else UNIT_NAME

        def resolve(by_code: object, by_name: object) -> tuple[str | None, list[_Report]]:
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

        if UNIT_NAME not in self.out.columns:  # a column at a time: once per distinct cell
            resolved = self.mapped(UNIT_CODE, lambda v: resolve(v, None))
        elif UNIT_CODE not in self.out.columns:
            resolved = self.mapped(UNIT_NAME, lambda v: resolve(None, v))
        else:  # once per distinct pair; with the cells' types, as True and 1 are equal but not the same cell
            pairs = [(a.__class__, a, b.__class__, b)
                     for a, b in zip(self.column(UNIT_CODE), self.column(UNIT_NAME), strict=True)]
            resolved = distinct_map(pairs, lambda pair: resolve(pair[1], pair[3]))  # type: ignore[index]
        out = []
        for p, (unit, found) in enumerate(resolved):
            for rule_id, code, params in found:
                self.report(p, rule_id, code, **params)
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
                self.report(p, rule_id, PERIOD)
            out.append(period)
        return out

    def flush(self) -> None:
        """Add the collected findings to the table, in reading order."""
        self.pending.sort(key=lambda found: found.row)
        for row, rule_id, code, params, cells in self.pending:
            col = self.out.columns.get(code)
            if cells is None:
                cells = self.data[self.position[row]][1]
            value = "" if col is None else self.out.shown(row, col.index, cells[col.index]
                                                           if col.index < len(cells) else None)
            self.out.add(rule_id, row, code, value=value, **params)
        self.pending = []
