"""The baselines, each run as its own process by :mod:`benchmarks.run`:

* ``calamine DIR DB``: read every sheet of every workbook under DIR with python-calamine and insert
  each file's cells into DuckDB with one Arrow insert, no checks — what the reader and DuckDB allow;
* ``openpyxl DIR DB``: the same with openpyxl in read-only mode;
* ``read_csv CSV DB``: DuckDB's own ``read_csv`` of a file into a table;
* ``empty_flow``: a Prefect flow that does nothing, on a temporary API server as ``ecostat ingest``
  starts one (no ``PREFECT_API_URL``);
* ``sandbox DIR PROCESSES OUT``: every workbook under DIR (``<unit>/<file>``) received into an archive, then
  checked by ecostat's sandbox pool of PROCESSES children (:class:`ecostat.run.sandbox.Sandbox`), the results
  taken in receipt order as the writer takes them; writes to OUT (JSON) the seconds of the checking alone
  (the receiving, the pool's start and a warm-up of :data:`WARMUP` files are not timed).
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
WARMUP = 4  # files checked before the sandbox is timed: every child has started and checked one


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


def sandbox_checks(folder: Path, processes: int, out: Path) -> int:
    """Receive every file under ``folder`` into a new archive, then check the receipts in ecostat's sandbox pool
    of ``processes`` children, taking the results in order; writes the checking's seconds to ``out`` (JSON) and
    returns the files checked. The children are started and each checks a file of :data:`WARMUP` first
    (untimed): what is timed is the pool's throughput, not its start."""
    import json
    import resource
    import shutil
    import tempfile
    import time

    from ecostat.common import environment
    from ecostat.intake.archive import receipts
    from ecostat.intake.inbox import receive_inbox
    from ecostat.run.sandbox import Sandbox

    environment.apply()
    with tempfile.TemporaryDirectory(prefix="ecostat-sandbox-") as tmp:
        raw = Path(tmp) / "raw"
        shutil.copytree(folder, raw / "inbox")
        receive_inbox(raw)
        received = receipts(raw / "archive")
        warm, timed = received[:WARMUP], received[WARMUP:]
        pool = Sandbox(raw, processes)
        try:
            begun = time.perf_counter()
            for _ in pool.checks(warm):
                pass
            warmed = time.perf_counter()
            checked = sum(1 for _ in pool.checks(timed))
            seconds = time.perf_counter() - warmed
        finally:
            pool.close()
    mine, theirs = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    out.write_text(json.dumps({"seconds": seconds, "files": checked, "warmup_seconds": warmed - begun,
                               "processes": processes, "cpu_seconds_writer": mine.ru_utime + mine.ru_stime,
                               "cpu_seconds_children": theirs.ru_utime + theirs.ru_stime}), encoding="utf-8")
    return checked


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
    elif name == "sandbox":
        sandbox_checks(args[0], int(argv[2]), args[2])
    else:
        raise SystemExit(f"unknown baseline {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
