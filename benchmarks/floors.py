"""The baselines, each run as its own process by :mod:`benchmarks.run`:

* ``calamine DIR DB``: read every sheet of every workbook under DIR with python-calamine and insert
  each file's cells into DuckDB with one Arrow insert, no checks — what the reader and DuckDB allow;
* ``openpyxl DIR DB``: the same with openpyxl in read-only mode;
* ``read_csv CSV DB``: DuckDB's own ``read_csv`` of a file into a table;
* ``empty_flow``: a Prefect flow that does nothing, on a temporary API server as ``ecostat ingest``
  starts one (no ``PREFECT_API_URL``);
* ``check DIR``: ecostat's own checks of every workbook under DIR (``<unit>/<file>``), without a warehouse:
  what a Dask worker does for ``ecostat ingest --workers`` (the rest of a file's cost is the writer's).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

WIDTH = 16  # columns kept per row: the widest form has 10


def _cells_table(file: str, sheets: Iterable[tuple[str, Iterable[Iterable[object]]]]) -> pa.Table:
    """Every cell of a file as text, one row per sheet row: file, sheet, row, c0 … c15."""
    out: dict[str, list[object]] = {"file": [], "sheet": [], "row": [], **{f"c{j}": [] for j in range(WIDTH)}}
    for name, rows in sheets:
        for i, row in enumerate(rows, 1):
            cells = ["" if v is None else str(v) for v in row][:WIDTH]
            out["file"].append(file)
            out["sheet"].append(name)
            out["row"].append(i)
            for j in range(WIDTH):
                out[f"c{j}"].append(cells[j] if j < len(cells) else None)
    return pa.table(out)


def _calamine_sheets(data: bytes) -> list[tuple[str, list[Any]]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return [(name, wb.get_sheet_by_name(name).to_python()) for name in wb.sheet_names]


def _openpyxl_sheets(data: bytes) -> list[tuple[str, list[tuple[object, ...]]]]:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return [(ws.title, list(ws.iter_rows(values_only=True))) for ws in wb.worksheets]
    finally:
        wb.close()


def load_workbooks(folder: Path, db: Path, read: Callable[[bytes], list]) -> int:  # type: ignore[type-arg]
    """Read every xlsx under ``folder`` with ``read`` and insert each file's cells with one Arrow insert."""
    con = duckdb.connect(str(db))
    columns = ", ".join(f"c{j} VARCHAR" for j in range(WIDTH))
    con.execute(f"CREATE TABLE cells (file VARCHAR, sheet VARCHAR, row BIGINT, {columns})")
    files = sorted(folder.rglob("*.xlsx"))
    for path in files:
        con.register("incoming", _cells_table(path.name, read(path.read_bytes())))
        con.execute("INSERT INTO cells SELECT * FROM incoming")
        con.unregister("incoming")
    con.close()
    return len(files)


def read_csv(csv: Path, db: Path) -> int:
    """DuckDB's ``read_csv`` of a file into a table; returns the rows."""
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE big AS SELECT * FROM read_csv(?)", [str(csv)])
    row = con.execute("SELECT count(*) FROM big").fetchone()
    con.close()
    return int(row[0]) if row else 0


def empty_flow() -> None:
    """Run a Prefect flow with no task, with the settings ``ecostat ingest`` applies."""
    from ecostat.common import environment

    environment.apply()
    from prefect import flow

    @flow(name="empty")
    def empty() -> None:
        return None

    empty()


def check_only(folder: Path) -> int:
    """Read and check every xlsx under ``folder`` as a worker does (:func:`ecostat.check.files.checked`), each as
    received by its unit folder; returns the files checked."""
    import datetime as dt

    from ecostat.check.files import checked
    from ecostat.intake.archive import Receipt

    files = sorted(folder.rglob("*.xlsx"))
    now = dt.datetime.now(dt.UTC)
    for path in files:
        data = path.read_bytes()
        unit = path.parent.name
        checked(Receipt("", "", f"{unit}/{path.name}", unit, len(data), now, now), data)
    return len(files)


def main(argv: list[str]) -> int:
    """``python -m benchmarks.floors NAME [ARGS]``."""
    name, args = argv[0], [Path(a) for a in argv[1:]]
    if name == "calamine":
        load_workbooks(args[0], args[1], _calamine_sheets)
    elif name == "openpyxl":
        load_workbooks(args[0], args[1], _openpyxl_sheets)
    elif name == "read_csv":
        read_csv(args[0], args[1])
    elif name == "empty_flow":
        empty_flow()
    elif name == "check":
        check_only(args[0])
    else:
        raise SystemExit(f"unknown baseline {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
