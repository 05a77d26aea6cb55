"""Shared fixtures: files made by the tests themselves, and one Prefect test harness per session."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import duckdb
import openpyxl
import pytest
import xlwt

from ecostat import ingest as steps
from ecostat import settings
from ecostat.ingest import TableOutcome
from ecostat.warehouse import connect

settings.apply()


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """Write a workbook with one sheet per entry."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


Merge = tuple[int, int, int, int]  # first row, first column, last row, last column (1-based)


def write_book(path: Path, rows: list[list[object]], *, merges: list[Merge] | tuple[Merge, ...] = (),
               percent: set[tuple[int, int]] | frozenset[tuple[int, int]] = frozenset(),
               hidden_rows: set[int] | frozenset[int] = frozenset(), sheet: str = "表1") -> Path:
    """Write one sheet as ``.xlsx`` (openpyxl) or ``.xls`` (xlwt), by the path's suffix: ``rows``
    from row 1, ``merges`` merged (the value of a merged range is its top-left cell's), the 1-based
    (row, column) cells of ``percent`` in the number format ``0.0%``, ``hidden_rows`` hidden."""
    covered = {(r, c) for r1, c1, r2, c2 in merges for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
               if (r, c) != (r1, c1)}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xls":
        book = xlwt.Workbook()
        ws = book.add_sheet(sheet)
        pct, date = xlwt.easyxf(num_format_str="0.0%"), xlwt.easyxf(num_format_str="yyyy-mm-dd")
        starts = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in merges}
        for r, cells in enumerate(rows, 1):
            for c, value in enumerate(cells, 1):
                style = pct if (r, c) in percent else date if isinstance(value, dt.date) else xlwt.Style.default_style
                if (r, c) in starts:
                    r2, c2 = starts[(r, c)]
                    ws.write_merge(r - 1, r2 - 1, c - 1, c2 - 1, value, style)
                elif value is not None and (r, c) not in covered:
                    ws.write(r - 1, c - 1, value, style)
        for r in hidden_rows:
            ws.row(r - 1).hidden = True
        book.save(str(path))
        return path
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r, cells in enumerate(rows, 1):
        for c, value in enumerate(cells, 1):
            if value is not None and (r, c) not in covered:
                ws.cell(r, c, value)
    for r, c in percent:
        ws.cell(r, c).number_format = "0.0%"
    for r1, c1, r2, c2 in merges:
        ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
    for r in hidden_rows:
        ws.row_dimensions[r].hidden = True
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    """Write a csv in the given encoding."""
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def ingest_files(raw: Path, db: Path) -> tuple[duckdb.DuckDBPyConnection, str, list[TableOutcome]]:
    """Receive the inbox and process it through the plain steps, leaving the connection open."""
    con = connect(db, create=True)
    steps.receive_inbox(raw)
    run_id = steps.start_run(con)
    tables = [t for rec in steps.pending(con, raw) for t in steps.process_receipt(con, raw, rec, run_id)]
    return con, run_id, tables


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for every flow test (it takes ~20 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
