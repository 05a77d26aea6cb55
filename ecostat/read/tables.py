"""Reading a received file into raw tables of cells, exactly as the submitter laid them out: one reader per
format behind :func:`read_tables`.

xlsx and xls: the bytes, not the suffix, tell them apart (WPS and users rename them freely): a zip is an xlsx
(:mod:`ecostat.read.excel`), an OLE2 file an Excel 97–2003 workbook or an encrypted one
(:mod:`ecostat.read.xls`); any other format the bytes show (an OpenDocument spreadsheet named .xlsx, a
workbook named .csv) is refused naming it (:mod:`ecostat.read.sniff`). csv, json and parquet: :mod:`ecostat.read.text`.

Hostile or odd files end in one :class:`ReadError` before any parser sees them where possible: too large
(the file here; a table's rows or rows × columns and unpacked sizes in the readers, from what can be known
first), encrypted workbooks, zip bombs. What a reader notices inside a workbook (a formula without a saved
result, hidden sheets and rows, merged ranges, percentage number formats) is handed on as plain data on the
:class:`RawTable`.
"""

from __future__ import annotations

from pathlib import Path

from ecostat.common import budget, environment
from ecostat.contract.normalize import is_missing
from ecostat.read.excel import read_xlsx
from ecostat.read.limits import mb
from ecostat.read.sniff import CFB_SIGNATURE, check_kind
from ecostat.read.text import UNICODE_TEXT, read_csv, read_json, read_parquet
from ecostat.read.types import RawTable, ReadError
from ecostat.read.xls import read_ole

SUFFIXES = (".xlsx", ".xls", ".csv", ".json", ".parquet")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


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
        raise ReadError("FILE_TOO_LARGE", path.name, size=mb(len(data)), limit=mb(environment.max_file_bytes()))
    check_kind(suffix, data)  # what the bytes are, whatever the name says
    try:
        tables = _READERS[suffix](data)
    except (ReadError, budget.OverBudget, MemoryError):
        raise
    except Exception as exc:  # any parser failure is the file's fault, reported as such
        raise ReadError("FILE_UNREADABLE", failure(exc)) from exc
    tables = [t for t in tables if any(not is_missing(c) for _, row in t.rows for c in row)]
    if not tables:
        raise ReadError("FILE_NO_TABLE", path.name)
    return tables


def failure(exc: BaseException) -> str:
    """A parser's failure for the message: its kind, its text, and the library it came from (never a bare
    ``AssertionError:``)."""
    tb, library = exc.__traceback__, None
    while tb is not None:
        library = tb.tb_frame.f_globals.get("__name__", "").split(".")[0] or library
        tb = tb.tb_next
    text = str(exc) or "文件结构损坏 / the file's structure is damaged"
    return f"{type(exc).__name__}: {text}" + (f" ({library})" if library and library != "ecostat" else "")


def read_workbook(data: bytes) -> list[RawTable]:
    """An .xlsx or .xls file, whichever its bytes are."""
    return read_ole(data) if data.startswith(CFB_SIGNATURE) else read_xlsx(data)


_READERS = {".xlsx": read_workbook, ".xls": read_workbook, ".csv": read_csv, ".json": read_json,
            ".parquet": read_parquet}
