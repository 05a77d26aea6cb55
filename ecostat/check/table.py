"""Checking one raw table against the contract, in stages: structure (header row and form,
:mod:`ecostat.check.recognise`; columns, merged cells and footer; the layout in :mod:`ecostat.check.layout`)
→ cells (each parse failure its own finding, :mod:`ecostat.check.cells`) → totals rows → row and table
rules (pandera, lazy; :mod:`ecostat.check.rules`). Cross-period rules, which need the warehouse, are in
:mod:`ecostat.check.crossperiod`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from ecostat.check.cells import DataCells, Pending, read_number, unit_text
from ecostat.check.layout import Layout, header_keys, header_text, is_ignored_header, lay_out
from ecostat.check.recognise import field_for, header_row_index, recognise
from ecostat.check.rules import run_schema
from ecostat.check.types import CheckedTable, Column
from ecostat.common import budget, memory
from ecostat.contract.formspec import NUMERIC, PERIOD, TEXT, TEXT_DTYPE, UNIT_CODE, UNIT_NAME, Form
from ecostat.contract.normalize import column_letter, header_key, is_given, is_missing, text_key
from ecostat.contract.registry import CITY, header_units, may_submit, registry
from ecostat.read.sheetxml import column_index
from ecostat.read.types import RawTable, Rows

TOTALS_WORDS = frozenset({"合计", "总计", "全市"})


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
    big = len(raw.rows) >= memory.BIG_ROWS
    if big:
        memory.release()  # what reading the cells freed, before the rules add their own
    if out.frame is not None and not out.frame.empty:
        run_schema(out, form)
        if big:
            memory.release()
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
        code = field_for(full, form) or field_for(name, form)
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



def _read_rows(out: CheckedTable, form: Form, rows: Rows, submitter: str | None, today: dt.date) -> None:
    # a row naming only its unit and period (as a template pre-fills them) is blank
    mapped = [c.index for code, c in out.columns.items() if code not in (UNIT_CODE, UNIT_NAME, PERIOD)]
    totals: list[tuple[int, int, list[object]]] = []  # (data rows above it, row, cells)
    kept = np.zeros(len(rows), dtype=bool)  # a column at a time: no Python object a row
    for j in mapped:
        kept |= rows.tested(j, is_given)
    # the unit cell(s) of each row reduced for matching: 合计, 总计, 全市 mark a totals row
    texts = [rows.mapped(out.columns[code].index, unit_text)
             for code in (UNIT_CODE, UNIT_NAME) if code in out.columns]
    total = np.fromiter(("".join(parts) in TOTALS_WORDS for parts in zip(*texts, strict=True)), dtype=bool,
                        count=len(rows)) if texts else np.zeros(len(rows), dtype=bool)
    del texts
    budget.check()
    body = np.flatnonzero(kept)  # positions in ``rows`` of the rows kept: data rows and totals rows
    at_total = total[body]
    for t, k in enumerate(np.flatnonzero(at_total).tolist()):  # k − t data rows above the t-th totals row
        totals.append((k - t, *rows[int(body[k])]))
    data = rows.take(body[~at_total])
    reader = DataCells(out, data)
    fields = [f for f in form.fields if f.code in out.columns]
    columns: dict[str, list[object] | pa.Array] = {}  # free text as Arrow strings (DataCells.values)
    for f in fields:
        budget.check()
        columns[f.code] = reader.values(f)
    units = reader.units()
    periods = reader.periods(today)
    if submitter and submitter != CITY:
        owner = UNIT_CODE if UNIT_CODE in out.columns else UNIT_NAME
        for p, unit in enumerate(units):
            if unit and unit != submitter:
                reader.report(p, "AUTH_ROW_UNIT", owner, submitter=submitter)
    start = 0
    for end, row, cells in totals:
        _check_totals(out, form, row, cells, columns, start, end, reader)
        start = end
    at_least = reader.at_least(fields)
    reader.flush()
    if not data:
        out.add("TABLE_EMPTY", out.header_row)
        return
    n = len(data)
    index = pd.Index(reader.rows)
    frame = {f.code: pd.Series(columns.pop(f.code, [None] * n), index=index,  # each list let go once in the frame
                               dtype="float64" if f.kind in NUMERIC else TEXT_DTYPE if f.kind == TEXT else object)
             for f in form.fields}
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
                  start: int, end: int, reader: DataCells) -> None:
    """A totals row (合计) against the sum of the data rows ``start``–``end`` above it, since the last one."""
    for f in form.fields:
        col = out.columns.get(f.code)
        if not f.summed or col is None or col.index >= len(cells):
            continue
        num, problem = read_number(col, f, cells[col.index], out.is_percent_cell(row, col.index))
        if num.value is None or problem is not None:
            continue
        stated = num.value
        total = sum(float(v) for v in columns.get(f.code, [])[start:end] if isinstance(v, int | float))
        if abs(stated - total) > 1e-6 * max(1.0, abs(total)):
            reader.pending.append(Pending(row, "TABLE_TOTALS", f.code, {"expected": total}, cells))

