"""The form's row and table rules, run by pandera over the checked frame: each failure located at its row
and the submitter's column, with the rule's parameters in the message."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ecostat.check.cells import plain_fraction
from ecostat.check.types import CheckedTable
from ecostat.contract.catalogue import format_number
from ecostat.contract.formspec import ROW_COLUMNS, Form

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
        if series.dtype != col.dtype.type:
            return False
        missing = series.isna().to_numpy()
        if not col.nullable and missing.any():
            return False
        if not col.checks:
            continue  # a text column's values need not become Python objects
        values = series.to_numpy()
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
    # pandas' idea of equal keys (missing values equal), a column at a time: no tuple of Python objects a row
    return not frame.duplicated(subset=schema.unique).any()


def run_schema(out: CheckedTable, form: Form) -> None:
    """Run the form's pandera schema over the checked frame (only when :func:`schema_passes` cannot vouch for
    it) and add a finding for each failure, at most one per rule, row and field, none for a cell already bad."""
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
