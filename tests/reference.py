"""What an ingest run leaves behind, as plain JSON, for comparing two versions of ecostat: findings
(file, sheet, row, column, value, rule), table statuses, figures, the lineage of every fact row and
the cells of every feedback workbook (value, fill, comment, link, number format).

``python tests/reference.py RAW WAREHOUSE OUT.json.gz`` ingests ``RAW/inbox`` with whatever ``ecostat``
is importable (``ecostat ingest --no-prefect``'s steps) and writes the dump; ``tools/make_reference.py``
runs it with the code of a fixed commit, ``tests/test_reference.py`` with the code under test. It uses
only what every version has: ``ecostat.run.ingest.run_plain``, SQL over the warehouse and openpyxl.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

import duckdb
import openpyxl

# The one feedback cell that changes with the clock.
GENERATED = re.compile(r"生成时间 generated \d{4}-\d\d-\d\d \d\d:\d\d")
LINEAGE_SKIP = {"received_at"}  # the time of the run


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[list[object]]:
    return [[_plain(v) for v in r] for r in con.execute(sql).fetchall()]


def _plain(v: object) -> object:
    if isinstance(v, float):
        return round(v, 9)
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, bool | int | str):
        return v
    return str(v)


def warehouse_dump(db: Path) -> dict[str, object]:
    """Statuses, findings, figures and fact lineage of a warehouse, in a stable order."""
    with duckdb.connect(str(db), read_only=True) as con:
        facts = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_name LIKE 'fact_%' AND table_type = 'BASE TABLE' "
                                           "ORDER BY 1").fetchall()]
        lineage = {}
        for table in facts:
            cols = [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()
                    if c not in LINEAGE_SKIP]
            quoted = ", ".join(f'"{c}"' for c in cols)
            lineage[table] = {"columns": cols,
                              "rows": _rows(con, f'SELECT {quoted} FROM "{table}" ORDER BY file, sheet, '
                                                 'source_row, submission_id')}
        return {
            "submissions": _rows(con, "SELECT submission_id, file, sheet, form, submitter, status, errors, warnings, "
                                      "rows_loaded, slices, replaced, sha256 FROM submission_log "
                                      "ORDER BY submission_id"),
            "findings": _rows(con, "SELECT submission_id, file, sheet, row_number, column_letter, header, value, "
                                   "rule_id, severity, message_zh, message_en FROM validation_issues "
                                   "ORDER BY submission_id, file, sheet, row_number, column_letter, rule_id, value"),
            "footers": _rows(con, "SELECT * FROM meta_submission_notes ORDER BY ALL"),
            "figures": _rows(con, "SELECT * FROM annual_figures ORDER BY ALL"),
            "lineage": lineage,
        }


def workbook_dump(path: Path) -> dict[str, object]:
    """Every non-empty or marked cell of a workbook: value, fill colour, comment, link, number format."""
    wb = openpyxl.load_workbook(path)
    sheets: dict[str, object] = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                fill = c.fill.start_color.rgb if c.fill is not None and c.fill.fill_type else None
                if c.value is None and fill is None and c.comment is None:
                    continue
                value = GENERATED.sub("生成时间 generated <time>", c.value) if isinstance(c.value, str) else c.value
                cells[c.coordinate] = [_plain(value), fill, c.comment.text if c.comment else None,
                                       c.hyperlink.location if c.hyperlink is not None else None,
                                       c.number_format if c.number_format != "General" else None,
                                       bool(c.quotePrefix) or None]
        sheets[ws.title] = cells
    return {"sheets": wb.sheetnames, "cells": sheets}


def dump(raw: Path, db: Path) -> dict[str, object]:
    """Ingest ``raw/inbox`` into ``db`` (feedback written, no Prefect) and dump what it left. The inbox's
    modification times are the scenario's arrival order: the files arrive one at a time in that order
    (contract v3 §2: arrival is when ecostat first sees a file), then one run processes them."""
    from ecostat.intake.inbox import receive_inbox
    from ecostat.run.ingest import run_plain

    held = raw / "arriving"
    (raw / "inbox").rename(held)
    for path in sorted((p for p in held.rglob("*") if p.is_file()),
                       key=lambda p: (p.stat().st_mtime, p.relative_to(held).as_posix())):
        dest = raw / "inbox" / path.relative_to(held)
        dest.parent.mkdir(parents=True, exist_ok=True)
        path.rename(dest)  # keeps its modification time
        receive_inbox(raw)
    run_plain(raw, db)
    out = warehouse_dump(db)
    outbox = raw / "outbox"
    out["feedback"] = {str(p.relative_to(outbox)): workbook_dump(p) for p in sorted(outbox.rglob("*.feedback.xlsx"))}
    out["feedback_md"] = {str(p.relative_to(outbox)): p.read_text(encoding="utf-8")
                          for p in sorted(outbox.rglob("*.feedback.md"))}
    return out


def read_dump(path: Path) -> dict[str, object]:
    """A dump written by this script (gzip'd JSON)."""
    return json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))


if __name__ == "__main__":
    raw_dir, warehouse, target = map(Path, sys.argv[1:4])
    text = json.dumps(dump(raw_dir, warehouse), ensure_ascii=False, indent=0, sort_keys=True) + "\n"
    target.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
