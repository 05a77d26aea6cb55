"""Reading a received file into raw tables of cells, exactly as the submitter laid them out.

xlsx: every non-empty sheet is a table (cached formula values); csv: UTF-8, UTF-8 with BOM,
GBK or GB18030, decoded in Python; json: an array of objects keyed by header; parquet.
A json or parquet file becomes one table whose row 1 is the header, like a csv.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import openpyxl
import pyarrow.parquet as pq

from ecostat.normalize import is_missing

SUFFIXES = (".xlsx", ".csv", ".json", ".parquet")


@dataclass
class RawTable:
    """One table: its sheet (None for csv/json/parquet) and its rows as (row number, cells)."""

    sheet: str | None
    rows: list[tuple[int, list[object]]]


class ReadError(Exception):
    """A file that cannot be read at all; ``rule_id`` says why (FILE_TYPE, FILE_UNREADABLE, ...)."""

    def __init__(self, rule_id: str, detail: str):
        super().__init__(detail)
        self.rule_id = rule_id
        self.detail = detail


def read_tables(path: Path, data: bytes | None = None) -> list[RawTable]:
    """The tables of a file; raises :class:`ReadError` if the file cannot be read."""
    data = path.read_bytes() if data is None else data
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ReadError("FILE_TYPE", suffix or path.name)
    if not data:
        raise ReadError("FILE_UNREADABLE", "empty file / 空文件")
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
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ReadError("FILE_UNREADABLE", "not an xlsx (zip) file / 不是有效的 xlsx 文件")
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        tables = []
        for ws in wb.worksheets:
            rows = [(i, list(r)) for i, r in enumerate(ws.iter_rows(min_row=1, min_col=1, values_only=True), 1)]
            tables.append(RawTable(ws.title, rows))
        return tables
    finally:
        wb.close()


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
