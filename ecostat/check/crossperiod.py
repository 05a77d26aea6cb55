"""Rules against what the warehouse already holds, as if the table were loaded (its slices replace the
stored ones): the cross-period rules (a unit's rows against its own earlier periods). Code ownership is
the register's since contract v3 (:mod:`ecostat.check.codes`), not the warehouse's."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import duckdb

from ecostat.check.types import CheckedTable
from ecostat.contract.normalize import Period


def _na(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def check_periods(con: duckdb.DuckDBPyConnection | None, table: CheckedTable,
                  unloaded: list[CheckedTable] | None = None) -> None:
    """Add the findings of the form's period rules to ``table`` (nothing to do without a warehouse).
    ``unloaded``: the same file's accepted tables that the warehouse does not hold yet (a dry run); the period
    rules compare a unit with its own rows only, so they do not need them.

    The table's rows and the stored ones are grouped once by unit and key; each row is then compared
    with its own group only."""
    form = table.form
    if con is None or form is None or not form.period_rules or (rows := table.values()) is None:
        return
    units, periods = rows["unit_code"].to_pylist(), rows["period"].to_pylist()
    own_at = [i for i, (u, p) in enumerate(zip(units, periods, strict=True)) if not _na(u) and not _na(p)]
    if not own_at:
        return
    cols = list(dict.fromkeys(["unit_code", "period", "year", "month", *form.key,
                               *(c for r in form.period_rules for c in (r.column, r.other) if c)]))
    quoted = ", ".join(f'"{c}"' for c in cols)
    stored = con.execute(f'SELECT {quoted} FROM "{form.table}" WHERE is_current AND list_contains(?, unit_code)',
                         [sorted({units[i] for i in own_at})]).fetchall()
    replaced = {(units[i], periods[i]) for i in own_at}
    known: list[dict[str, Any]] = [{**dict(zip(cols, r, strict=True)), "_row": None} for r in stored
                                   if (r[0], r[1]) not in replaced]
    values = {c: rows[c].to_pylist() for c in cols}
    source = rows["source_row"].to_pylist()
    own: list[dict[str, Any]] = [{**{c: values[c][i] for c in cols}, "_row": source[i]} for i in own_at]
    known += own
    groups: dict[tuple[object, ...], list[dict[str, Any]]] = defaultdict(list)
    for rec in known:  # in the order the rows were known: stored first, then the table's
        rec["_order"] = Period.from_label(rec["period"]).order
        if not any(_na(rec[k]) for k in form.key):
            groups[(rec["unit_code"], *(rec[k] for k in form.key))].append(rec)
    for rec in own:
        keyed = not any(_na(rec[k]) for k in form.key)
        peers = [p for p in groups[(rec["unit_code"], *(rec[k] for k in form.key))] if p["_row"] != rec["_row"]] \
            if keyed else []
        for rule in form.period_rules:
            value = rec[rule.column]
            if _na(value):
                continue
            row: int = rec["_row"]
            if rule.other is None:  # no fall against the nearest earlier period
                prev = None
                for p in peers:
                    if p["_order"] < rec["_order"] and not _na(p[rule.column]) and (
                            prev is None or p["_order"] > prev["_order"]):
                        prev = p
                if prev is not None and value < prev[rule.column]:
                    table.add(rule.rule_id, row, rule.column, value=table.written(row, rule.column),
                              other_value=prev[rule.column], other_period=prev["period"])
            elif _na(rec["month"]):  # annual chain: cumulative(Y) = cumulative(Y-1) + new(Y)
                prev_year = next((p for p in peers if p["year"] == rec["year"] - 1 and _na(p["month"])), None)
                new = rec[rule.other]
                if prev_year is None or _na(new) or _na(prev_year[rule.column]):
                    continue
                expected = prev_year[rule.column] + new
                if abs(value - expected) > 1e-9:
                    table.add(rule.rule_id, row, rule.column, value=table.written(row, rule.column),
                              other_value=prev_year[rule.column], new_value=new, expected=expected)
