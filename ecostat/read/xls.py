"""An OLE2 file: an Excel 97–2003 workbook read by xlrd (every non-empty sheet a table), or an encrypted
workbook (an encrypted OOXML package, or an .xls with a FILEPASS record), refused before any parser sees it."""

from __future__ import annotations

import io
import struct

import olefile
import xlrd

from ecostat.read import sniff
from ecostat.read.extent import check_biff
from ecostat.read.sheetnotes import note_hidden
from ecostat.read.sheetxml import is_percent_format
from ecostat.read.types import RawTable, ReadError, Row, Rows

CFB_SIGNATURE = sniff.CFB_SIGNATURE  # OLE2: an .xls, or an encrypted .xlsx
XLS_STREAMS = ("workbook", "book")  # BIFF8 (Excel 97–2003), BIFF5 (Excel 5/95)
ENCRYPTED_OOXML_STREAMS = ("encryptioninfo", "encryptedpackage")
BIFF_FILEPASS, BIFF_EOF = 0x002F, 0x000A


def read_ole(data: bytes) -> list[RawTable]:
    """The tables of an OLE2 file (``data`` starts with :data:`CFB_SIGNATURE`)."""
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        streams = {"/".join(p).lower() for p in ole.listdir(streams=True, storages=False)}
        if all(name in streams for name in ENCRYPTED_OOXML_STREAMS):
            raise ReadError("FILE_ENCRYPTED", "encrypted OOXML package / 加密的 xlsx")
        name = next((n for n in XLS_STREAMS if n in streams), None)
        if name is None:
            raise ReadError("FILE_UNREADABLE", "an OLE2 file without a workbook / 不是 Excel 工作簿")
        stream = ole.openstream(name).read()
        if _xls_encrypted(stream):
            raise ReadError("FILE_ENCRYPTED", "encrypted .xls (FILEPASS) / 加密的 xls")
        check_biff(stream)  # every sheet's extent, before xlrd allocates it
    return _read_xls(data)


def _xls_encrypted(stream: bytes) -> bool:
    """Whether the workbook globals hold a FILEPASS record: everything after it is encrypted."""
    pos = 0
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        if kind == BIFF_FILEPASS:
            return True
        if kind == BIFF_EOF:
            return False
        pos += 4 + size
    return False


def _read_xls(data: bytes) -> list[RawTable]:
    # formatting_info: merged ranges, hidden rows and number formats; xlrd's warnings go nowhere
    book = xlrd.open_workbook(file_contents=data, formatting_info=True, logfile=io.StringIO())
    tables = []
    for sh in book.sheets():
        rows: list[Row] = []
        percent: set[tuple[int, int]] = set()
        for r in range(sh.nrows):
            cells = sh.row(r)
            rows.append((r + 1, [_xls_value(c, book.datemode) for c in cells]
                               + [None] * (sh.ncols - len(cells))))
            percent.update((r + 1, j) for j, c in enumerate(cells) if c.ctype == xlrd.XL_CELL_NUMBER
                           and is_percent_format(_xls_format(book, c.xf_index)))
        table = RawTable(sh.name, Rows.of_list(rows), percent=percent,
                         merged=[(r1 + 1, c1 + 1, r2, c2) for r1, r2, c1, c2 in sh.merged_cells])
        hidden_rows = {r + 1 for r, info in sh.rowinfo_map.items() if info.hidden}
        note_hidden(table, sh.visibility != 0, hidden_rows)
        tables.append(table)
    return tables


def _xls_format(book: xlrd.Book, xf_index: int) -> str | None:
    fmt = book.format_map.get(book.xf_list[xf_index].format_key) if xf_index < len(book.xf_list) else None
    return fmt.format_str if fmt is not None else None


def _xls_value(cell: xlrd.sheet.Cell, datemode: int) -> object:
    """A cell as openpyxl would give it: whole numbers as int, dates as datetime, errors as text."""
    kind, value = cell.ctype, cell.value
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if kind == xlrd.XL_CELL_NUMBER:
        return int(value) if float(value).is_integer() else value
    if kind == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(value, datemode)
        except (xlrd.xldate.XLDateError, OverflowError, ValueError):
            return value
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value, "#ERROR!")
    return value
