"""The warnings that need an explanation (contract v3 §8) and the explanations a table gives itself.

- ``VALUE_IMPLAUSIBLE``: a value outside the plausible range the bureau publishes (``plausibility.csv``:
  min, max; the city's own row is not held to a district's range, as in the audit);
- ``PERIOD_JUMP``: an annual value against the same key's value in the unit's final report of the year
  before, beyond the column's ``max_jump_pct`` and its smallest meaningful amount ``min_jump``;
- ``PERIOD_OUTLIER``: an annual value more than 3 standard deviations from the mean of the unit's final
  reports of at least 3 earlier years (and further from it than ``min_jump``), computed from the warehouse;
- ``PERIOD_DECEMBER_YTD``: an annual value that differs from the same unit's December year-to-date report.

Jumps and outliers are judged on annual reports only: a monthly report is year-to-date, so June against a
whole year is no jump. The columns judged are those ``plausibility.csv`` names.

Every finding that needs an explanation is given, in its parameters, the slice it belongs to and its
``finding_key`` (rule, field, row key): an explanation stands for that key and value. The text of the row's
``说明``/``备注`` cell is its explanation when it says why (:mod:`ecostat.contract.explanation`); when it
does not, an ``EXPLANATION_REFUSED`` warning says why not.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import Any

import duckdb
import pyarrow as pa

from ecostat.check.types import CheckedTable
from ecostat.contract.catalogue import format_number, needs_explanation
from ecostat.contract.explanation import explanation_problem
from ecostat.contract.normalize import is_missing, shown, text_key
from ecostat.contract.registry import CITY, registry

REMARK_HEADERS = frozenset(text_key(w) for w in ("备注", "说明"))
MIN_YEARS = 3
SIGMAS = 3.0


@dataclass(frozen=True)
class Bound:
    """A column's published plausibility: range, largest yearly change and smallest meaningful amount."""

    field: str
    low: float
    high: float
    jump_pct: float | None
    min_jump: float


@cache
def bounds() -> dict[str, tuple[Bound, ...]]:
    """Per form, the columns ``plausibility.csv`` names."""
    out: dict[str, list[Bound]] = defaultdict(list)
    for e in registry("plausibility").entries:
        form, fld = e.code.split(".")
        extra = dict(e.extra)
        out[form].append(Bound(fld, float(extra["min"]), float(extra["max"]),
                               float(extra["max_jump_pct"]) if extra.get("max_jump_pct") else None,
                               float(extra.get("min_jump") or 0)))
    return {k: tuple(v) for k, v in out.items()}


def finding_key(rule_id: str, field: str, key: tuple[object, ...]) -> str:
    """What an explanation stands for within a slice: the rule, the field and the row's key codes."""
    return f"{rule_id}:{field}:" + "|".join("" if _na(k) else str(k) for k in key)


def _na(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _number(v: object) -> float | None:
    if _na(v) or isinstance(v, bool):
        return None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def check_explanations(con: duckdb.DuckDBPyConnection | None, table: CheckedTable) -> None:
    """Add the warnings of §8 to ``table`` (those against history only with a warehouse), then mark each
    warning that needs an explanation with its slice and key, and with the row's remark where it counts."""
    form = table.form
    if form is None or (values := table.values()) is None or values.num_rows == 0:
        return
    limits = [b for b in bounds().get(form.code, ()) if b.field in values.column_names]
    rows = values["source_row"].to_pylist()
    keys = _RowKeys(values, form.key)
    units, periods = values["unit_code"].to_pylist(), values["period"].to_pylist()
    for b in limits:
        for row, unit, value in zip(rows, units, values[b.field].to_pylist(), strict=True):
            v = _number(value)
            if v is not None and unit != CITY and not b.low <= v <= b.high:
                table.add("VALUE_IMPLAUSIBLE", int(row), b.field, value=table.written(int(row), b.field),
                          low=b.low, high=b.high)
    if con is not None and limits:
        _against_history(con, table, values, limits, keys)
    _mark(table, rows, keys, units, periods)


class _RowKeys:
    """Each row's key codes (None where missing, as the warehouse's rows have them), made when first asked for:
    a big table without a finding to mark or history to compare makes no tuple per row."""

    def __init__(self, values: pa.Table, key: tuple[str, ...]):
        self.values, self.key = values, key
        self.keys: list[tuple[object, ...]] | None = None

    def __getitem__(self, i: int) -> tuple[object, ...]:
        if self.keys is None:
            self.keys = (list(zip(*(self.values[k].to_pylist() for k in self.key), strict=True)) if self.key
                         else [()] * self.values.num_rows)
        return self.keys[i]


def _history(con: duckdb.DuckDBPyConnection, table: CheckedTable, values: pa.Table,
             fields: list[str]) -> list[dict[str, Any]]:
    """The stored current rows of the table's units (slices the table replaces left out), then the table's own
    ``values`` (with ``_row``), each as a dict (missing values None)."""
    assert table.form is not None
    form = table.form
    cols = list(dict.fromkeys(["unit_code", "period", "year", "month", *form.key, *fields]))
    columns = [values[c].to_pylist() for c in cols]
    own = [{**dict(zip(cols, row, strict=True)), "_row": i}
           for i, *row in zip(values["source_row"].to_pylist(), *columns, strict=True)
           if not _na(row[0]) and not _na(row[1])]
    quoted = ", ".join(f'"{c}"' for c in cols)
    stored = con.execute(f'SELECT {quoted} FROM "{form.table}" WHERE is_current AND list_contains(?, unit_code)',
                         [sorted({r["unit_code"] for r in own})]).fetchall()
    replaced = {(r["unit_code"], r["period"]) for r in own}
    return [{**{c: None if _na(v) else v for c, v in zip(cols, row, strict=True)}, "_row": None}
            for row in stored if (row[0], row[1]) not in replaced] + own


def _against_history(con: duckdb.DuckDBPyConnection, table: CheckedTable, values: pa.Table, limits: list[Bound],
                     keys: _RowKeys) -> None:
    assert table.form is not None
    form = table.form
    if values["month"].null_count == 0:
        return  # only annual rows are compared with history: a monthly table needs none of it
    units, years = values["unit_code"].to_pylist(), values["year"].to_pylist()
    # monthly rows are year to date; a row without unit or year has its own error
    annual = [i for i, (m, u, y) in enumerate(zip(values["month"].to_pylist(), units, years, strict=True))
              if _na(m) and not _na(u) and not _na(y)]
    if not annual:
        return
    known = _history(con, table, values, [b.field for b in limits])
    ranks = [13 if rec["month"] is None else int(rec["month"]) for rec in known]
    # the final report of each unit and year: the annual one, else the latest month (contract §5)
    final_rank: dict[tuple[object, object], int] = {}
    for rec, rank in zip(known, ranks, strict=True):
        if rec["year"] is not None:
            at = (rec["unit_code"], rec["year"])
            final_rank[at] = max(rank, final_rank.get(at, rank))
    by_key: dict[tuple[object, ...], dict[int, dict[str, Any]]] = defaultdict(dict)
    december: dict[tuple[object, ...], dict[str, Any]] = {}
    for rec, rank in zip(known, ranks, strict=True):
        ident = (rec["unit_code"], *(rec[k] for k in form.key))
        if rank == 12:
            december[(rec["year"], *ident)] = rec
        if rec["year"] is not None and rank == final_rank[(rec["unit_code"], rec["year"])]:
            by_key[ident][int(rec["year"])] = rec
    rows = values["source_row"].to_pylist()
    fields = {b.field: values[b.field].to_pylist() for b in limits}
    for i in annual:
        row, year, ident = rows[i], int(years[i]), (units[i], *keys[i])
        years_known = by_key.get(ident, {})
        dec = december.get((year, *ident))
        for b in limits:
            v = _number(fields[b.field][i])
            if v is None:
                continue
            written = table.written(int(row), b.field)
            before = _number(years_known[year - 1][b.field]) if year - 1 in years_known else None
            if b.jump_pct is not None and before is not None and abs(v - before) > b.min_jump:
                pct = math.inf if before == 0 else abs(v - before) / abs(before) * 100
                if pct > b.jump_pct:
                    table.add("PERIOD_JUMP", int(row), b.field, value=written, other_value=before,
                              other_period=years_known[year - 1]["period"], limit=b.jump_pct,
                              jump_pct="∞" if pct == math.inf else format_number(round((v - before) / abs(before)
                                                                                       * 100, 1)))
            history = [x for y, r in years_known.items() if y < year and (x := _number(r[b.field])) is not None]
            if len(history) >= MIN_YEARS:
                mean = sum(history) / len(history)
                sd = math.sqrt(sum((x - mean) ** 2 for x in history) / (len(history) - 1))
                if abs(v - mean) > SIGMAS * sd and abs(v - mean) > b.min_jump:
                    table.add("PERIOD_OUTLIER", int(row), b.field, value=written, years=len(history),
                              mean=round(mean, 2), sd=round(sd, 2))
            ytd = _number(dec[b.field]) if dec is not None else None
            if ytd is not None and abs(v - ytd) > 1e-9:
                table.add("PERIOD_DECEMBER_YTD", int(row), b.field, value=written, other_value=ytd,
                          other_period=dec["period"] if dec else "")


def remark_index(table: CheckedTable) -> int | None:
    """The column of the table's ``说明``/``备注`` header (in its one or two header rows), if any."""
    if table.raw is None or table.header_row is None:
        return None
    for n in (table.header_row, table.header_row + 1):
        for j, cell in enumerate(table.raw.cells(n)):
            if isinstance(cell, str) and text_key(cell.replace("\n", "")) in REMARK_HEADERS:
                return j
    return None


def _mark(table: CheckedTable, rows: list[int], keys: _RowKeys, units: list[object], periods: list[object]) -> None:
    assert table.form is not None
    wanted = [f for f in table.findings
              if needs_explanation(f.rule_id) and f.row is not None and "finding_key" not in f.params]
    data_rows = {row: i for i, row in enumerate(rows)} if wanted else {}
    at = [data_rows.get(f.row, -1) for f in wanted if f.row is not None]  # -1: not a data row
    remark = remark_index(table)
    refused: set[int] = set()
    for f, i in zip(wanted, at, strict=True):
        if i < 0:
            continue
        assert f.row is not None
        field = next((c for c, col in table.columns.items() if col.letter == f.column), f.column or "")
        f.params.update(form=table.form.code, unit_code=units[i], period=periods[i], field=field,
                        finding_key=finding_key(f.rule_id, field, keys[i]))
        cells = table.raw.cells(f.row) if table.raw is not None and remark is not None else []
        text = shown(cells[remark]).strip() if remark is not None and remark < len(cells) \
            and not is_missing(cells[remark]) else ""
        if not text:
            continue
        problem = explanation_problem(text)
        if problem is None:
            f.params["explanation"] = text
        elif f.row not in refused:
            refused.add(f.row)
            table.add("EXPLANATION_REFUSED", f.row, index=remark, header="备注", value=text,
                      reason_zh=problem[0], reason_en=problem[1])
