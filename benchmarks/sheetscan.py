"""The sheet XML scan's speed (:mod:`ecostat.read.sheetxml`): on normal workbooks of 50,000 rows (plain, with
percentage formats, with formulas) and on the comment attack of issue 17 (``<c <c <c…`` or ``<f><f><f>…``
inside an XML comment, which calamine skips) at 1, 10 and 100 KB. ``python -m benchmarks.sheetscan`` prints
the best of three times of :func:`~ecostat.read.sheetxml.scan_workbook` for each.
"""

from __future__ import annotations

import io
import sys
import time
import zipfile

import openpyxl

from ecostat.read.sheetxml import scan_workbook

HEADER = ["区县代码", "报告期", "所属水体", "需整治排口数", "已完成整治数"]


def normal_book(rows: int, kind: str) -> bytes:
    """An xlsx made by openpyxl: ``plain`` values, ``percent`` (a percentage format on one column) or
    ``formulas`` (one formula per row, no saved result)."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("表")
    ws.append(HEADER)
    for r in range(2, rows + 2):
        ws.append(["360102", "2024", "赣江", r % 97, f"=D{r}-1" if kind == "formulas" else r % 89])
    data = io.BytesIO()
    wb.save(data)
    if kind == "percent":  # restyle column E as 0% (built-in format 9) through styles.xml's first xf
        return _rewrite(data.getvalue(), lambda n, x: x.replace(b'numFmtId="0"', b'numFmtId="9"', 1)
                        if n == "xl/styles.xml" else x)
    return data.getvalue()


def comment_attack(size: int, piece: bytes) -> bytes:
    """A one-table xlsx whose sheet holds an XML comment of ``size`` bytes of ``piece`` repeated."""
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.active.append(["360102", "2024", "赣江", 10, 5])
    data = io.BytesIO()
    wb.save(data)
    comment = b'<!--"e"' + piece * (size // len(piece)) + b"-->"
    return _rewrite(data.getvalue(), lambda n, x: x.replace(b"<sheetData>", comment + b"<sheetData>")
                    if n.startswith("xl/worksheets/") else x)


def _rewrite(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, change(name, src.read(name)))
    return out.getvalue()


def seconds(data: bytes, repeat: int = 3) -> float:
    """The best of ``repeat`` times of one scan of the workbook."""
    best = float("inf")
    for _ in range(repeat):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            t = time.perf_counter()
            scan_workbook(zf)
            best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    """Print each case's time."""
    for kind in ("plain", "percent", "formulas"):
        print(f"normal 50,000 rows, {kind:8}: {seconds(normal_book(50_000, kind)) * 1000:8.1f} ms")
    for piece in (b"<c ", b"<f>"):
        for size in (1_000, 10_000, 100_000):
            t = seconds(comment_attack(size, piece), repeat=1)
            print(f"comment of {piece.decode()!r} × {size // 1000:3} KB: {t * 1000:10.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
