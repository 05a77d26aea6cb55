"""Reading a received file into raw tables of cells, exactly as the submitter laid them out.

xlsx and xls: every non-empty sheet is a table (formulas by their saved result); the bytes, not
the suffix, tell them apart: a zip is an xlsx (python-calamine for the values, a scan of the sheet
XML for the rest, :mod:`ecostat.read.sheetxml`; openpyxl for a workbook the scan cannot vouch for), an
OLE2 file holding a ``Workbook`` or ``Book`` stream an Excel 97–2003 workbook (xlrd). csv: UTF-8,
UTF-8 with BOM, GBK or GB18030 (a plain UTF-8 file split by Arrow, anything else decoded in Python
and split by the csv module); json: an array of objects keyed by header; parquet. A json or parquet
file becomes one table whose row 1 is the header, like a csv.

Hostile or odd files end in one :class:`ReadError` before any parser sees them where possible:
too large (the file; a table's rows or rows × columns, from what can be known first), encrypted
workbooks (an OLE2 container holding an encrypted OOXML package, or an .xls with a FILEPASS record),
zip bombs and parquet files that decompress too far. What the reader notices inside a workbook (a
formula without a saved result, hidden sheets and rows, merged ranges, percentage number formats) is
handed to validation on the :class:`RawTable` as plain data.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import datetime as dt
import io
import json
import struct
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import charset_normalizer
import numpy as np
import olefile
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import xlrd
from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from ecostat.common import budget, environment
from ecostat.contract.catalogue import Finding, finding
from ecostat.contract.normalize import column_letter, is_missing
from ecostat.read import sheetxml
from ecostat.read.sheetxml import is_percent_format

SUFFIXES = (".xlsx", ".xls", ".csv", ".json", ".parquet")
CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: an .xls, or an encrypted .xlsx
XLS_STREAMS = ("workbook", "book")  # BIFF8 (Excel 97–2003), BIFF5 (Excel 5/95)
ENCRYPTED_OOXML_STREAMS = ("encryptioninfo", "encryptedpackage")
BIFF_FILEPASS, BIFF_EOF = 0x002F, 0x000A
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UNICODE_TEXT = "Excel“Unicode 文本”导出（UTF-16，制表符分隔）/ Excel 'Unicode Text' export (UTF-16, tab-separated)"


class Rows(Sequence[tuple[int, list[object]]]):
    """The rows of a table read a column at a time (a csv, json or parquet file), as (row number, cells) like
    a list of rows, without a Python list per row: column ``j`` holds each distinct cell once
    (``distinct[j]``) and, per row, which one it is (``codes[j]``); row number ``p + 1`` is position ``p``.
    A row's cells are made when it is asked for; :meth:`column` reads a column and :meth:`mapped` a function
    of its cells (called once per distinct cell) without making rows; a slice or :meth:`take` is a selection
    of the same columns."""

    def __init__(self, distinct: list[np.ndarray], codes: list[np.ndarray], at: range | np.ndarray | None = None):
        self.distinct, self.codes = distinct, codes
        self.at = range(len(codes[0]) if codes else 0) if at is None else at

    @classmethod
    def of_columns(cls, columns: list[list[object]]) -> Rows:
        """Rows from whole columns of cells (equal cells need not be shared)."""
        distinct, codes = [], []
        for column in columns:
            found: dict[object, int] = {}
            cells: list[object] = []
            at = np.empty(len(column), dtype=np.int32)
            for p, v in enumerate(column):
                try:
                    key: object = (v.__class__, v)  # with its type: True and 1 are equal keys, not cells
                    hash(key)
                except TypeError:  # an unhashable cell (a list from json) is its own
                    key = id(v)
                k = found.setdefault(key, len(cells))
                if k == len(cells):
                    cells.append(v)
                at[p] = k
            distinct.append(_object_array(cells))
            codes.append(at)
        return cls(distinct, codes)

    def __len__(self) -> int:
        return len(self.at)

    @overload
    def __getitem__(self, k: int) -> tuple[int, list[object]]: ...

    @overload
    def __getitem__(self, k: slice) -> Rows: ...

    def __getitem__(self, k: int | slice) -> tuple[int, list[object]] | Rows:
        if isinstance(k, slice):
            return Rows(self.distinct, self.codes, self.at[k])
        p = int(self.at[k])
        return p + 1, self.cells(p + 1)

    def __iter__(self) -> Iterator[tuple[int, list[object]]]:
        for p in self.at:
            yield int(p) + 1, self.cells(int(p) + 1)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rows({len(self)} rows × {len(self.codes)} columns)"

    def take(self, ks: list[int]) -> Rows:
        """The rows at positions ``ks`` (ascending) of this selection."""
        if len(ks) == len(self.at):
            return self
        return Rows(self.distinct, self.codes, np.asarray(self.at)[np.asarray(ks, dtype=np.int64)])

    def _codes(self, j: int) -> np.ndarray:
        at = self.at
        if isinstance(at, range):
            return self.codes[j][at.start:at.stop:at.step]
        return self.codes[j][at]

    def column(self, j: int) -> list[object]:
        """The cells of column ``j`` in these rows (None past the last column)."""
        if j >= len(self.codes):
            return [None] * len(self.at)
        return self.distinct[j][self._codes(j)].tolist()  # type: ignore[no-any-return]

    def mapped(self, j: int, fn: Callable[[object], Any]) -> list[Any]:
        """``fn`` of each cell of column ``j`` in these rows, called once per distinct cell."""
        return self.mapped_array(j, fn, object).tolist()  # type: ignore[no-any-return]

    def mapped_array(self, j: int, fn: Callable[[object], Any], dtype: type) -> np.ndarray:
        """:meth:`mapped` as a numpy array of ``dtype``."""
        if j >= len(self.codes):
            return np.full(len(self.at), fn(None), dtype=dtype)
        out: np.ndarray = np.empty(len(self.distinct[j]), dtype=dtype)
        for k, v in enumerate(self.distinct[j]):
            out[k] = fn(v)
        return out[self._codes(j)]

    def numbers(self) -> list[int]:
        """The row numbers of these rows."""
        return list(range(self.at.start + 1, self.at.stop + 1, self.at.step)) if isinstance(self.at, range) \
            else (self.at + 1).tolist()

    def cells(self, row: int) -> list[object]:
        """The cells of row number ``row`` of the whole table (empty when it has no such row)."""
        if not self.codes or not 1 <= row <= len(self.codes[0]):
            return []
        return [d[c[row - 1]] for d, c in zip(self.distinct, self.codes, strict=True)]


def _object_array(values: list[object]) -> np.ndarray:
    """A numpy array of Python objects, element by element (a tuple or list stays one element)."""
    out = np.empty(len(values), dtype=object)
    for k, v in enumerate(values):
        out[k] = v
    return out


TableRows = list[tuple[int, list[object]]] | Rows


def take(rows: TableRows, ks: list[int]) -> TableRows:
    """The rows at positions ``ks`` (ascending) of a list of rows or of :class:`Rows`."""
    return rows.take(ks) if isinstance(rows, Rows) else [rows[k] for k in ks]


def row_numbers(rows: TableRows) -> list[int]:
    """The row numbers of a list of rows or of :class:`Rows`."""
    return rows.numbers() if isinstance(rows, Rows) else [n for n, _ in rows]


@dataclass
class RawTable:
    """One table: its sheet (None for csv/json/parquet) and its rows as (row number, cells).

    ``notes`` are what the reader found in the sheet (located findings); ``merged`` the merged
    ranges as (first row, first column, last row, last column), 1-based, for validation to judge
    against the header rows; ``percent`` the numeric cells shown in a percentage number format,
    as (row, 0-based column): ``0.921`` shown as ``92.1%``.
    """

    sheet: str | None
    rows: TableRows
    notes: list[Finding] = field(default_factory=list)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    percent: set[tuple[int, int]] = field(default_factory=set)
    _numbers: list[int] | None = field(default=None, init=False, repr=False, compare=False)

    def cells(self, row: int) -> list[object]:
        """The cells of row number ``row`` (empty when the table has no such row)."""
        if isinstance(self.rows, Rows):
            return self.rows.cells(row)
        if self._numbers is None:
            self._numbers = row_numbers(self.rows)
        k = bisect.bisect_left(self._numbers, row)
        return self.rows[k][1] if k < len(self._numbers) and self._numbers[k] == row else []


class ReadError(Exception):
    """A file that cannot be read at all; ``rule_id`` says why (FILE_TYPE, FILE_UNREADABLE, ...);
    ``params`` fill the rule's message beyond ``detail``."""

    def __init__(self, rule_id: str, detail: str, **params: object):
        super().__init__(detail)
        self.rule_id = rule_id
        self.detail = detail
        self.params = params


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def read_tables(path: Path, data: bytes | None = None) -> list[RawTable]:
    """The tables of a file; raises :class:`ReadError` if the file cannot be read."""
    data = path.read_bytes() if data is None else data
    suffix = path.suffix.lower()
    if suffix == ".txt" and data.startswith(UTF16_BOMS) and not data.startswith(b"\xff\xfe\x00\x00"):
        raise ReadError("FILE_ENCODING", UNICODE_TEXT)
    if suffix not in SUFFIXES:
        raise ReadError("FILE_TYPE", suffix or path.name)
    if not data:
        raise ReadError("FILE_UNREADABLE", "empty file / 空文件")
    if len(data) > environment.max_file_bytes():
        raise ReadError("FILE_TOO_LARGE", path.name, size=_mb(len(data)), limit=_mb(environment.max_file_bytes()))
    try:
        tables = _READERS[suffix](data)
    except (ReadError, budget.OverBudget):
        raise
    except Exception as exc:  # any parser failure is the file's fault, reported as such
        raise ReadError("FILE_UNREADABLE", f"{type(exc).__name__}: {exc}") from exc
    tables = [t for t in tables if any(not is_missing(c) for _, row in t.rows for c in row)]
    if not tables:
        raise ReadError("FILE_NO_TABLE", path.name)
    return tables


def _read_workbook(data: bytes) -> list[RawTable]:
    """An .xlsx or .xls file, whichever its bytes are (WPS and users rename them freely)."""
    if data.startswith(CFB_SIGNATURE):
        return _read_ole(data)
    return _read_xlsx(data)


def _read_ole(data: bytes) -> list[RawTable]:
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        streams = {"/".join(p).lower() for p in ole.listdir(streams=True, storages=False)}
        if all(name in streams for name in ENCRYPTED_OOXML_STREAMS):
            raise ReadError("FILE_ENCRYPTED", "encrypted OOXML package / 加密的 xlsx")
        name = next((n for n in XLS_STREAMS if n in streams), None)
        if name is None:
            raise ReadError("FILE_UNREADABLE", "an OLE2 file without a workbook / 不是 Excel 工作簿")
        if _xls_encrypted(ole.openstream(name).read()):
            raise ReadError("FILE_ENCRYPTED", "encrypted .xls (FILEPASS) / 加密的 xls")
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


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _read_xlsx(data: bytes) -> list[RawTable]:
    """An xlsx: values by python-calamine; what calamine does not report (hidden rows, formulas
    without a saved result, percentage number formats, each sheet's size) from a scan of the sheet
    XML (:mod:`ecostat.read.sheetxml`); a workbook whose XML the scan cannot vouch for is read by openpyxl."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ReadError("FILE_UNREADABLE", "not an xlsx (zip) file / 不是有效的 xlsx 文件")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        unpacked = sum(i.file_size for i in zf.infolist())
        if unpacked > environment.max_unzipped_bytes():
            raise ReadError("FILE_ZIP_BOMB", f"{unpacked} bytes", size=_mb(unpacked),
                            limit=_mb(environment.max_unzipped_bytes()))
        scans = sheetxml.scan_workbook(zf)
    for name, scan in scans.items():
        if scan.dimension is not None:
            check_size(name, *scan.dimension)
    if any(scan.unsure for scan in scans.values()):
        return _read_xlsx_openpyxl(data)
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    tables = []
    for meta in book.sheets_metadata:
        if meta.typ != SheetTypeEnum.WorkSheet:
            continue
        sheet = book.get_sheet_by_name(meta.name)
        check_size(meta.name, sheet.total_height, sheet.total_width)
        scan = scans.get(meta.name, sheetxml.SheetScan())
        merged = [(r1 + 1, c1 + 1, r2 + 1, c2 + 1) for (r1, c1), (r2, c2) in sheet.merged_cell_ranges or ()]
        rows: list[tuple[int, list[object]]] = []
        table = RawTable(meta.name, rows, merged=merged)
        for i, cells in enumerate(sheet.to_python(skip_empty_area=False), 1):
            if i % 4096 == 0:
                budget.check()
            rows.append((i, [_calamine_value(v) for v in cells]))
        for (row, j), text in sorted(scan.errors.items()):
            _put(table, row, j, text)
        if scan.percent:
            table.percent = {(r, j) for r, j in scan.percent
                             if r <= len(table.rows) and _is_number(_cell(table.rows[r - 1][1], j))}
        for (row, j), text in sorted(scan.formulas_without_value.items()):
            if row > len(table.rows) or _cell(table.rows[row - 1][1], j) is None:
                _note(table, "CELL_FORMULA_NO_VALUE", row=row, column=column_letter(j), value=text)
        _hidden(table, meta.visible != SheetVisibleEnum.Visible, scan.hidden_rows)
        tables.append(table)
    return tables


def _put(table: RawTable, row: int, j: int, value: object) -> None:
    """Set a cell that calamine left out (an error cell), growing the table (a workbook's: a list) to reach it."""
    rows = table.rows
    assert isinstance(rows, list)
    while len(rows) < row:
        rows.append((len(rows) + 1, []))
    cells = rows[row - 1][1]
    cells += [None] * (j + 1 - len(cells))
    cells[j] = value


def _cell(cells: list[object], j: int) -> object:
    return cells[j] if j < len(cells) else None


def _calamine_value(value: object) -> object:
    """A calamine cell as openpyxl gives it: empty as None, whole numbers as int, dates as datetime."""
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def check_size(sheet: str | None, rows: int, columns: int) -> None:
    """Raise ``TABLE_TOO_LARGE`` for a table of more rows, or more cells, than the settings allow;
    called before a table is read wherever its size is known first."""
    if rows > environment.max_rows() or rows * columns > environment.max_cells():
        raise ReadError("TABLE_TOO_LARGE", f"{rows} × {columns}", sheet=sheet or "—", rows=rows, columns=columns,
                        max_rows=environment.max_rows(), max_cells=environment.max_cells())


def _read_xlsx_openpyxl(data: bytes) -> list[RawTable]:
    """An xlsx read fully by openpyxl (for a workbook whose sheet XML the scan cannot vouch for)."""
    import openpyxl  # only for such workbooks: the common path need not load it

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        has_formulas = any(b"<f>" in (xml := zf.read(n)) or b"<f " in xml
                           for n in zf.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    # not read-only: merged ranges and hidden rows are only known to a fully loaded workbook
    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    formulas = openpyxl.load_workbook(io.BytesIO(data), data_only=False) if has_formulas else None
    tables = []
    for k, ws in enumerate(wb.worksheets):
        check_size(ws.title, ws.max_row, ws.max_column)
        rows: list[tuple[int, list[object]]] = []
        table = RawTable(ws.title, rows, merged=[
            (m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges])
        for i, cells in enumerate(ws.iter_rows(min_row=1, min_col=1), 1):
            rows.append((i, [c.value for c in cells]))
            table.percent.update((i, j) for j, c in enumerate(cells)
                                 if _is_number(c.value) and is_percent_format(c.number_format))
        if formulas is not None:
            _formulas_without_value(table, formulas.worksheets[k])
        _hidden(table, ws.sheet_state != "visible", {r for r, _ in table.rows if ws.row_dimensions[r].hidden})
        tables.append(table)
    return tables


def _read_xls(data: bytes) -> list[RawTable]:
    # formatting_info: merged ranges, hidden rows and number formats; xlrd's warnings go nowhere
    book = xlrd.open_workbook(file_contents=data, formatting_info=True, logfile=io.StringIO())
    tables = []
    for sh in book.sheets():
        rows: list[tuple[int, list[object]]] = []
        table = RawTable(sh.name, rows, merged=[(r1 + 1, c1 + 1, r2, c2) for r1, r2, c1, c2 in sh.merged_cells])
        for r in range(sh.nrows):
            cells = sh.row(r)
            rows.append((r + 1, [_xls_value(c, book.datemode) for c in cells]
                               + [None] * (sh.ncols - len(cells))))
            table.percent.update((r + 1, j) for j, c in enumerate(cells) if c.ctype == xlrd.XL_CELL_NUMBER
                                 and is_percent_format(_xls_format(book, c.xf_index)))
        hidden_rows = {r + 1 for r, info in sh.rowinfo_map.items() if info.hidden}
        _hidden(table, sh.visibility != 0, hidden_rows)
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


def _note(table: RawTable, rule_id: str, *, row: int | None = None, column: str | None = None,
          value: object = None, **params: Any) -> None:
    f = finding(rule_id, row=row, column=column, value=value, sheet=table.sheet, **params)
    f.sheet = table.sheet
    table.notes.append(f)


def _formulas_without_value(table: RawTable, formulas: Any) -> None:
    for row, cells in table.rows:
        for j, value in enumerate(cells):
            if value is not None:
                continue
            cell = formulas.cell(row=row, column=j + 1)
            if cell.data_type == "f":
                text = cell.value if isinstance(cell.value, str) else getattr(cell.value, "text", "") or "="
                _note(table, "CELL_FORMULA_NO_VALUE", row=row, column=column_letter(j), value=text)


def _hidden(table: RawTable, sheet_hidden: bool, hidden_rows: set[int]) -> None:
    if sheet_hidden:
        _note(table, "SHEET_HIDDEN")
    hidden = [row for row, cells in table.rows
              if row in hidden_rows and any(not is_missing(c) for c in cells)]
    if hidden:
        _note(table, "ROWS_HIDDEN", row=hidden[0], value="、".join(map(str, hidden)))


def decode_csv(data: bytes) -> str:
    """Decode csv bytes as UTF-8 (with or without BOM), else GB18030 (a superset of GBK).

    NUL bytes mean UTF-16/32 (Excel's "Unicode text"), which both would otherwise misread.
    """
    for encoding in () if b"\x00" in data else ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    guess = charset_normalizer.from_bytes(data).best()
    if guess and guess.encoding.startswith("utf_16"):
        raise ReadError("FILE_ENCODING", UNICODE_TEXT)
    raise ReadError("FILE_ENCODING", f"looks like {guess.encoding}" if guess else "binary data")


def _read_csv(data: bytes) -> list[RawTable]:
    """A csv: its size checked first (lines × the first line's fields), then read: a plain UTF-8 file
    straight from its bytes by Arrow (:func:`_plain_csv_rows`), anything else decoded
    (:func:`decode_csv`) and split by Python's csv module."""
    rows: TableRows | None = None
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    first = _first_fields(data[start:data.find(b"\n") + 1 or len(data)])
    if first is not None and b"\x00" not in data:
        check_size(None, data.count(b"\n") + 1, len(first))
        rows = _plain_csv_rows(data, start, len(first))
    if rows is None:
        text = decode_csv(data)
        first = _first_fields(text[:text.find("\n") + 1 or len(text)].encode("utf-8")) or []
        check_size(None, text.count("\n") + 1, len(first))
        rows = _csv_rows(text)
    check_size(None, len(rows), len(rows.codes) if isinstance(rows, Rows) else
               max((len(cells) for _, cells in rows), default=0))
    return [RawTable(None, rows)]


def _first_fields(line: bytes) -> list[str] | None:
    """The fields of a csv's first line, or None when it is not UTF-8."""
    try:
        return next(csv.reader(io.StringIO(line.decode("utf-8"), newline="")), [])
    except UnicodeDecodeError:
        return None


def _csv_rows(text: str) -> list[tuple[int, list[object]]]:
    """The rows of a csv by Python's csv module; equal cells share one string (a column of the same unit
    code or period costs one)."""
    same: dict[str, str] = {}
    rows: list[tuple[int, list[object]]] = []
    for i, r in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
        if i % 4096 == 0:
            budget.check()
        rows.append((i, [same.setdefault(c, c) for c in r]))
    return rows


ARROW_MAX_COLUMNS = 1000  # Arrow's reader costs kilobytes a column: a very wide csv goes to the csv module


def _plain_csv_rows(data: bytes, start: int, width: int) -> Rows | None:
    """The rows of a plain UTF-8 csv (from byte ``start``, after a BOM) read from its bytes by Arrow's
    parser — many times faster, and no decoded copy of the text — or None when the file is not plain
    enough for its reading to equal that of :func:`decode_csv` and Python's csv module exactly: not
    UTF-8, any quote, an empty line, rows of different widths, or a field over the csv module's size
    limit all go to :func:`_csv_rows`."""
    if width > ARROW_MAX_COLUMNS or b'"' in data or data[start:start + 1] in (b"\n", b"\r") or any(
            e in data for e in (b"\n\n", b"\r\r", b"\n\r")):  # an empty line, whatever the line ends
        return None
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(start)),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types={f"f{j}": pa.string() for j in range(width)},
                                                  strings_can_be_null=False, check_utf8=True))
    except pa.ArrowInvalid:
        return None
    if table.num_columns != width:
        return None
    if any((pc.max(pc.utf8_length(column)).as_py() or 0) > csv.field_size_limit() for column in table.columns):
        return None
    arrow_columns = table.columns
    del table
    distinct, codes = [], []
    for _ in range(width):  # each Arrow column freed once it is read
        coded = arrow_columns.pop(0).combine_chunks().dictionary_encode()
        distinct.append(_object_array(coded.dictionary.to_pylist()))  # each distinct text once
        codes.append(coded.indices.to_numpy())
        del coded
    pa.default_memory_pool().release_unused()
    budget.check()
    return Rows(distinct, codes)


def _records_table(header: list[str], columns: list[list[object]]) -> RawTable:
    """One table from named columns of equal length: row 1 the header, then a row per record."""
    check_size(None, len(columns[0]) + 1 if columns else 1, len(header))
    return RawTable(None, Rows.of_columns([[name, *column] for name, column in zip(header, columns, strict=True)])
                    if header else [(1, [])])


def _read_json(data: bytes) -> list[RawTable]:
    records = json.loads(decode_csv(data))
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ReadError("FILE_UNREADABLE", "json must be an array of objects / json 应为对象数组")
    header = list(dict.fromkeys(k for rec in records for k in rec))  # keys in order of first appearance
    check_size(None, len(records) + 1, len(header))
    return [_records_table(header, [[rec.get(k) for rec in records] for k in header])]


def _read_parquet(data: bytes) -> list[RawTable]:
    """A parquet file: its metadata first (rows, columns, decompressed size), then its columns."""
    parquet = pq.ParquetFile(io.BytesIO(data))
    meta = parquet.metadata
    check_size(None, meta.num_rows + 1, meta.num_columns)
    unpacked = sum(meta.row_group(g).column(c).total_uncompressed_size
                   for g in range(meta.num_row_groups) for c in range(meta.num_columns))
    if unpacked > environment.max_unzipped_bytes():
        raise ReadError("FILE_UNPACKED_TOO_LARGE", f"{unpacked} bytes", size=_mb(unpacked),
                        limit=_mb(environment.max_unzipped_bytes()))
    table = parquet.read()
    # a name given twice keeps its first place and its last column, as records keyed by name would
    # (and a file without rows has no header, as an empty array of records has none)
    last = {name: j for j, name in enumerate(table.column_names)} if table.num_rows else {}
    header = list(last)
    return [_records_table(header, [table.column(last[name]).to_pylist() for name in header])]


_READERS = {".xlsx": _read_workbook, ".xls": _read_workbook, ".csv": _read_csv, ".json": _read_json,
            ".parquet": _read_parquet}
