"""Version history of slices: every table that wrote (or tried to write) a (form, unit, period),
with a cell-level diff between consecutive loaded versions and the table's footer (填报人 …)."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from ecostat.contract.catalogue import format_number
from ecostat.contract.forms import FORMS


@dataclass
class Version:
    """One table's version of a slice."""

    submission_id: int
    status: str  # accepted (current), superseded or rejected, as in submission_log (duplicates write no slice)
    file: str
    sheet: str | None
    received_at: object
    errors: int
    warnings: int
    changes: list[str] = field(default_factory=list)  # against the previous loaded version
    footer: list[tuple[str, str]] = field(default_factory=list)  # (label, value): 填报人, 王敏


def history(con: duckdb.DuckDBPyConnection, unit: str, form: str | None = None,
            period: str | None = None) -> dict[tuple[str, str], list[Version]]:
    """Every version of each matching slice, oldest first, keyed by (form, period)."""
    rows = con.execute("""SELECT form, period, submission_id, status, file, sheet, received_at, errors, warnings
                          FROM core_slice_versions
                          WHERE unit_code = ? AND (? IS NULL OR form = ?) AND (? IS NULL OR period = ?)
                          ORDER BY form, period, submission_id""", [unit, form, form, period, period]).fetchall()
    out: dict[tuple[str, str], list[Version]] = {}
    for f, p, sid, status, file, sheet, received_at, errors, warnings in rows:
        out.setdefault((f, p), []).append(Version(sid, status, file, sheet, received_at, errors, warnings))
    footers = _footers(con, [v.submission_id for vs in out.values() for v in vs])
    for (f, p), versions in out.items():
        for v in versions:
            v.footer = footers.get(v.submission_id, [])
        previous: dict[tuple[object, ...], dict[str, object]] | None = None
        for v in versions:
            if v.status == "rejected":
                continue
            rows_now = _rows(con, f, unit, p, v.submission_id)
            v.status = "accepted" if next(iter(rows_now.values()), {}).get("is_current") else "superseded"
            if previous is not None:
                v.changes = diff(f, previous, rows_now)
            previous = rows_now
    return out


def _footers(con: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for sid, label, value in con.execute("""SELECT submission_id, label, value FROM meta_submission_notes
                                            WHERE list_contains(?, submission_id)
                                            ORDER BY submission_id, position""", [ids]).fetchall():
        out.setdefault(sid, []).append((label, value))
    return out


def _rows(con: duckdb.DuckDBPyConnection, form: str, unit: str, period: str,
          submission_id: int) -> dict[tuple[object, ...], dict[str, object]]:
    spec = FORMS[form]
    frame = con.execute(f'SELECT * FROM "{spec.table}" WHERE unit_code = ? AND period = ? AND submission_id = ?',
                        [unit, period, submission_id]).df()
    return {tuple(r[k] for k in spec.key): r for r in frame.to_dict("records")}


def diff(form: str, before: dict[tuple[object, ...], dict[str, object]],
         after: dict[tuple[object, ...], dict[str, object]]) -> list[str]:
    """Cell-level changes between two versions of a slice: ``赣江 需整治排口数: 10 → 12``."""
    spec = FORMS[form]
    out = []
    for key in sorted(before.keys() | after.keys(), key=str):
        label = " ".join(str(k) for k in key)
        if key not in after:
            out.append(f"{label} 行删除 removed")
            continue
        if key not in before:
            out.append(f"{label} 行新增 added")
            continue
        for f in spec.fields:
            old, new = before[key].get(f.code), after[key].get(f.code)
            if _shown(old) != _shown(new):
                out.append(f"{label} {f.zh}: {_shown(old)} → {_shown(new)}".strip())
    return out


def _shown(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    return format_number(float(v)) if isinstance(v, int | float) else str(v)
