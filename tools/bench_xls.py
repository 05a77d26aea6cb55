#!/usr/bin/env python3
"""How long ecostat takes to read an .xls (xlrd 2 with formatting_info, which gives the merged
ranges, hidden rows and percentage formats that validation needs), against python-calamine reading
the same bytes (values only) when it is installed. Workbooks are made here with xlwt; best of 3.

    .venv/bin/python tools/bench_xls.py
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path

import xlwt

from ecostat.read.tables import read_tables

HEADER = ["区县代码", "报告期", "所属水体", "需整治排口数", "已完成整治数", "比例", "备注"]


def workbook(rows: int) -> bytes:
    """One sheet of ``rows`` data rows, a percentage-formatted column among them."""
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("S")
    pct = xlwt.easyxf(num_format_str="0.0%")
    for c, h in enumerate(HEADER):
        ws.write(0, c, h)
    for r in range(1, rows + 1):
        for c, v in enumerate(["360102", "2024", "赣江", r, r - 1, 0.9, "备注文字"]):
            ws.write(r, c, v, pct if c == 5 else xlwt.Style.default_style)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def best(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        CalamineWorkbook = None
    for rows in (50, 5_000, 60_000):
        data = workbook(rows)
        ours = best(lambda data=data: read_tables(Path("a.xls"), data))
        line = f"{rows:6} rows, {len(data) / 1e6:5.2f} MB: ecostat (xlrd) {ours * 1000:8.1f} ms"
        if CalamineWorkbook is not None:
            theirs = best(lambda data=data: CalamineWorkbook.from_filelike(io.BytesIO(data))
                          .get_sheet_by_index(0).to_python())
            line += f", python-calamine {theirs * 1000:7.1f} ms ({ours / theirs:.1f}× faster, values only)"
        print(line)


if __name__ == "__main__":
    main()
