"""How far a workbook's sheets reach, known before any library is asked for their grid: python-calamine,
openpyxl and xlrd each allocate every position from A1 to the farthest cell, so one cell at ``XFD1048576``
would cost gigabytes. An xlsx sheet's extent is the larger of its ``<dimension ref>`` and the farthest cell or
row reference (``r="…"``) found in one linear pass over its XML (a lying or missing ``<dimension>`` changes
nothing); an ``.xls`` sheet's, the larger of its BIFF ``DIMENSIONS`` record and its farthest cell record."""

from __future__ import annotations

import re
import struct

from ecostat.read.limits import check_size

_REFERENCE = re.compile(rb'\br\s*=\s*["\']([A-Za-z]{0,3})(\d{1,7})["\']')  # fixed length per try: linear
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s[^<>]{0,200}?ref\s*=\s*["\'](?:[A-Za-z]*\d*:)?([A-Za-z]{1,3})(\d{1,7})')
BOF, EOF, DIMENSIONS, ROW = 0x0809, 0x000A, 0x0200, 0x0208
# cell records: each starts with its row and column (2 bytes each); MULRK and MULBLANK end with their last column
CELLS = {0x0006, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x00D6, 0x0406}
MULTI = {0x00BD, 0x00BE}


def column_number(letters: bytes) -> int:
    """1-based number of a column's letters: A → 1, XFD → 16384."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def sheet_xml_extent(xml: bytes) -> tuple[int, int]:
    """Rows × columns an xlsx sheet reaches from A1: its ``<dimension>`` or its farthest reference."""
    rows = columns = 0
    head = _DIMENSION.search(xml, 0, 8192)
    if head:
        rows, columns = int(head[2]), column_number(head[1])
    for m in _REFERENCE.finditer(xml):
        rows = max(rows, int(m[2]))
        if m[1]:
            columns = max(columns, column_number(m[1]))
    return rows, columns


WORKBOOK = "全部工作表 all sheets"


def check_extents(extents: dict[str, tuple[int, int]]) -> None:
    """Refuse (``TABLE_TOO_LARGE``) a workbook one of whose sheets reaches beyond the table limits, or whose
    sheets together do (their rows added, as wide as the widest): each would be allocated in full."""
    for name, (rows, columns) in extents.items():
        check_size(name, rows, columns)
    if len(extents) > 1:
        check_size(WORKBOOK, sum(r for r, _ in extents.values()), max(c for _, c in extents.values()))


def biff_extents(stream: bytes) -> list[tuple[int, int]]:
    """Rows × columns each worksheet substream of a BIFF workbook stream reaches (its DIMENSIONS record or its
    farthest cell record, whichever is larger), in order; the workbook globals are left out."""
    out: list[tuple[int, int]] = []
    rows = columns = 0
    pos = 0
    depth = 0
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4:pos + 4 + size]
        pos += 4 + size
        if kind == BOF:
            depth += 1
            rows = columns = 0
        elif kind == EOF:
            if depth > 1 or out or rows or columns:
                out.append((rows, columns))
            depth = max(0, depth - 1)
        elif kind == DIMENSIONS and len(body) >= 14:  # BIFF8: first row, last row + 1 (4 bytes each), columns
            last_row, last_col = struct.unpack_from("<I", body, 4)[0], struct.unpack_from("<H", body, 10)[0]
            rows, columns = max(rows, last_row), max(columns, last_col)
        elif kind == DIMENSIONS and len(body) >= 8:  # BIFF5: 2-byte rows
            last_row, last_col = struct.unpack_from("<H", body, 2)[0], struct.unpack_from("<H", body, 6)[0]
            rows, columns = max(rows, last_row), max(columns, last_col)
        elif (kind in CELLS or kind == ROW) and len(body) >= 4:
            row, col = struct.unpack_from("<HH", body)
            rows, columns = max(rows, row + 1), max(columns, col + 1 if kind != ROW else columns)
        elif kind in MULTI and len(body) >= 6:
            row, = struct.unpack_from("<H", body)
            rows, columns = max(rows, row + 1), max(columns, struct.unpack_from("<H", body, len(body) - 2)[0] + 1)
    return out


def check_biff(stream: bytes) -> None:
    """Refuse (``TABLE_TOO_LARGE``) an ``.xls`` whose sheets reach beyond the table limits (:func:`check_extents`;
    sheets named by their place, ``#1``)."""
    check_extents({f"#{k}": extent for k, extent in enumerate(biff_extents(stream), 1)})
