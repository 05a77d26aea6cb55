"""Rules against what the warehouse already holds, as if the table were loaded (its slices replace the
stored ones): the cross-period rules (a unit's rows against its own earlier periods) and code ownership
(a section or source code is current for one unit only in a period, contract §4.2 and §4.8)."""

from __future__ import annotations

import duckdb
import pandas as pd

from ecostat.normalize import Period
from ecostat.validation import CheckedTable


def check_periods(con: duckdb.DuckDBPyConnection | None, table: CheckedTable,
                  unloaded: list[CheckedTable] | None = None) -> None:
    """Add the findings of the form's period rules and code ownership to ``table`` (nothing to do without a
    warehouse). ``unloaded``: the same file's accepted tables that the warehouse does not hold yet (a dry run)."""
    check_code_owners(con, table, unloaded or [])
    form, frame = table.form, table.frame
    if con is None or form is None or frame is None or not form.period_rules:
        return
    own = frame[frame["unit_code"].notna() & frame["period"].notna()]
    if own.empty:
        return
    cols = ["unit_code", "period", "year", "month", *form.key,
            *{c for r in form.period_rules for c in (r.column, r.other) if c}]
    quoted = ", ".join(f'"{c}"' for c in cols)
    stored = con.execute(f'SELECT {quoted} FROM "{form.table}" WHERE is_current AND list_contains(?, unit_code)',
                         [sorted(own["unit_code"].unique())]).df()
    replaced = set(zip(own["unit_code"], own["period"], strict=True))
    stored = stored[[(u, p) not in replaced for u, p in zip(stored["unit_code"], stored["period"], strict=True)]]
    known = pd.concat([stored.assign(_row=None), own.reset_index(names="_row")[[*cols, "_row"]]],
                      ignore_index=True)
    known["_order"] = [Period.from_label(p).order for p in known["period"]]
    for row, rec in own.iterrows():
        peers = known[(known["unit_code"] == rec["unit_code"]) & (known["_row"] != row)]
        for k in form.key:
            peers = peers[peers[k] == rec[k]]
        order = Period.from_label(rec["period"]).order
        for rule in form.period_rules:
            value = rec[rule.column]
            if pd.isna(value):
                continue
            if rule.other is None:  # no fall against the nearest earlier period
                earlier = peers[(peers["_order"] < order) & peers[rule.column].notna()]
                if earlier.empty:
                    continue
                prev = earlier.loc[earlier["_order"].idxmax()]
                if value < prev[rule.column]:
                    table.add(rule.rule_id, int(row), rule.column, value=table.written(int(row), rule.column),
                              other_value=prev[rule.column], other_period=prev["period"])
            elif pd.isna(rec["month"]):  # annual chain: cumulative(Y) = cumulative(Y-1) + new(Y)
                prev_year = peers[(peers["year"] == rec["year"] - 1) & peers["month"].isna()]
                new = rec[rule.other]
                if prev_year.empty or pd.isna(new):
                    continue
                expected = prev_year.iloc[0][rule.column] + new
                if abs(value - expected) > 1e-9:
                    table.add(rule.rule_id, int(row), rule.column, value=table.written(int(row), rule.column),
                              other_value=prev_year.iloc[0][rule.column], new_value=new, expected=expected)



def check_code_owners(con: duckdb.DuckDBPyConnection | None, table: CheckedTable,
                      unloaded: list[CheckedTable]) -> None:
    """A row whose owned code (section, source) is current under another unit for the same period is an error,
    until that unit's slice is replaced without it: by a later table, or by this one (the city moving a section
    from one unit to another in one table). Within one table the code is unique per period (its own rule)."""
    form, frame = table.form, table.frame
    code = form.owned_code if form is not None else None
    if form is None or frame is None or code is None:
        return
    own = frame[frame["unit_code"].notna() & frame["period"].notna() & frame[code].notna()]
    if own.empty:
        return
    owners: dict[tuple[str, str], str] = {}  # (period, code) -> the unit it is current for
    if con is not None:
        for unit, period, value in con.execute(
                f'SELECT unit_code, period, "{code}" FROM "{form.table}" '
                f'WHERE is_current AND list_contains(?, period) AND list_contains(?, "{code}")',
                [sorted(own["period"].unique()), sorted(own[code].unique())]).fetchall():
            owners[(period, value)] = unit
    for other in unloaded:
        if other.form is form and other.frame is not None:
            owners.update({(p, v): u for u, p, v in zip(other.frame["unit_code"], other.frame["period"],
                                                         other.frame[code], strict=True)})
    replaced = set(zip(own["unit_code"], own["period"], strict=True))
    for row, rec in own.iterrows():
        owner = owners.get((rec["period"], rec[code]))
        if owner is None or owner == rec["unit_code"] or (owner, rec["period"]) in replaced:
            continue
        table.add("PERIOD_CODE_OWNER", int(row), code, value=table.written(int(row), code),
                  period=rec["period"], owner=owner)
