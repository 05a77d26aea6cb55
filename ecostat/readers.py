"""Reading a received file into raw tables of cells, exactly as the submitter laid them out.

xlsx: every non-empty sheet is a table (cached formula values); csv: UTF-8, UTF-8 with BOM,
GBK or GB18030, decoded in Python; json: an array of objects keyed by header; parquet.
A json or parquet file becomes one table whose row 1 is the header, like a csv.

Hostile or odd files end in one :class:`ReadError` before any parser sees them where possible:
too large, legacy .xls, encrypted xlsx (an OLE2 container), zip bombs. What the reader notices
inside a workbook (a formula without a saved result, hidden sheets and rows, merged ranges) is
handed to validation on the :class:`RawTable`.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import charset_normalizer
import openpyxl
import pyarrow.parquet as pq
from openpyxl.worksheet.worksheet import Worksheet

from ecostat import settings
from ecostat.catalogue import Finding, finding
from ecostat.normalize import column_letter, is_missing

SUFFIXES = (".xlsx", ".csv", ".json", ".parquet")
CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: legacy .xls, or an encrypted .xlsx
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UNICODE_TEXT = "Excel“Unicode 文本”导出（UTF-16，制表符分隔）/ Excel 'Unicode Text' export (UTF-16, tab-separated)"


@dataclass
class RawTable:
    """One table: its sheet (None for csv/json/parquet) and its rows as (row number, cells).

    ``notes`` are what the reader found in the sheet (located findings); ``merged`` the merged
    ranges as (first row, first column, last row, last column), 1-based, for validation to judge
    against the header row.
    """

    sheet: str | None
    rows: list[tuple[int, list[object]]]
    notes: list[Finding] = field(default_factory=list)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)


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
    if suffix == ".xls":
        raise ReadError("FILE_XLS", path.name)
    if suffix == ".txt" and data.startswith(UTF16_BOMS) and not data.startswith(b"\xff\xfe\x00\x00"):
        raise ReadError("FILE_ENCODING", UNICODE_TEXT)
    if suffix not in SUFFIXES:
        raise ReadError("FILE_TYPE", suffix or path.name)
    if not data:
        raise ReadError("FILE_UNREADABLE", "empty file / 空文件")
    if len(data) > settings.max_file_bytes():
        raise ReadError("FILE_TOO_LARGE", path.name, size=_mb(len(data)), limit=_mb(settings.max_file_bytes()))
    try:
        tables = _READERS[suffix](data)
    except ReadError:
        raise
    except Exception as exc:  # any parser failure is the file's fault, reported as such
        raise ReadError("FILE_UNREADABLE", f"{type(exc).__name__}: {exc}") from exc
    tables = [t for t in tables if any(not is_missing(c) for _, row in t.rows for c in row)]
    if not tables:
        raise ReadError("FILE_NO_TABLE", path.name)
    return tables


def _read_xlsx(data: bytes) -> list[RawTable]:
    if data.startswith(CFB_SIGNATURE):
        raise ReadError("FILE_ENCRYPTED", "OLE2/CFB container")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ReadError("FILE_UNREADABLE", "not an xlsx (zip) file / 不是有效的 xlsx 文件")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        unpacked = sum(i.file_size for i in zf.infolist())
        if unpacked > settings.max_unzipped_bytes():
            raise ReadError("FILE_ZIP_BOMB", f"{unpacked} bytes", size=_mb(unpacked),
                            limit=_mb(settings.max_unzipped_bytes()))
        has_formulas = any(b"<f>" in (xml := zf.read(n)) or b"<f " in xml
                           for n in zf.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    # not read-only: merged ranges and hidden rows are only known to a fully loaded workbook
    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    formulas = openpyxl.load_workbook(io.BytesIO(data), data_only=False) if has_formulas else None
    tables = []
    for k, ws in enumerate(wb.worksheets):
        rows = [(i, list(r)) for i, r in enumerate(ws.iter_rows(min_row=1, min_col=1, values_only=True), 1)]
        table = RawTable(ws.title, rows, merged=[
            (m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges])
        if formulas is not None:
            _formulas_without_value(table, formulas.worksheets[k])
        _hidden(table, ws)
        tables.append(table)
    return tables


def _note(table: RawTable, rule_id: str, *, row: int | None = None, column: str | None = None,
          value: object = None, **params: Any) -> None:
    f = finding(rule_id, row=row, column=column, value=value, sheet=table.sheet, **params)
    f.sheet = table.sheet
    table.notes.append(f)


def _formulas_without_value(table: RawTable, formulas: Worksheet) -> None:
    for row, cells in table.rows:
        for j, value in enumerate(cells):
            if value is not None:
                continue
            cell = formulas.cell(row=row, column=j + 1)
            if cell.data_type == "f":
                text = cell.value if isinstance(cell.value, str) else getattr(cell.value, "text", "") or "="
                _note(table, "CELL_FORMULA_NO_VALUE", row=row, column=column_letter(j), value=text)


def _hidden(table: RawTable, ws: Worksheet) -> None:
    if ws.sheet_state != "visible":
        _note(table, "SHEET_HIDDEN")
    hidden = [row for row, cells in table.rows
              if ws.row_dimensions[row].hidden and any(not is_missing(c) for c in cells)]
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
    text = decode_csv(data)
    rows: list[tuple[int, list[object]]] = [
        (i, [*r]) for i, r in enumerate(csv.reader(io.StringIO(text, newline="")), 1)]
    return [RawTable(None, rows)]


def _records_table(records: list[dict[str, object]]) -> RawTable:
    header: list[str] = []
    for rec in records:
        header.extend(k for k in rec if k not in header)
    rows: list[tuple[int, list[object]]] = [(1, list(header))]
    rows += [(i, [rec.get(k) for k in header]) for i, rec in enumerate(records, 2)]
    return RawTable(None, rows)


def _read_json(data: bytes) -> list[RawTable]:
    records = json.loads(decode_csv(data))
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ReadError("FILE_UNREADABLE", "json must be an array of objects / json 应为对象数组")
    return [_records_table(records)]


def _read_parquet(data: bytes) -> list[RawTable]:
    return [_records_table(pq.read_table(io.BytesIO(data)).to_pylist())]


_READERS = {".xlsx": _read_xlsx, ".csv": _read_csv, ".json": _read_json, ".parquet": _read_parquet}
