"""Text and columnar formats, each one table whose row 1 is the header: csv (UTF-8, UTF-8 with BOM, GBK or
GB18030: a plain file split by Arrow, a GBK/GB18030 one transcoded to UTF-8 a chunk at a time first; anything
else decoded in Python and split by the csv module),
json (an array of objects keyed by header) and parquet. Big tables of these are held a column at a time
(:class:`ecostat.read.types.ColumnRows`)."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator

import charset_normalizer
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ecostat.common import budget, memory
from ecostat.read.limits import check_size, check_unpacked
from ecostat.read.types import ColumnRows, RawTable, ReadError, Row, Rows

UNICODE_TEXT = "Excel“Unicode 文本”导出（UTF-16，制表符分隔）/ Excel 'Unicode Text' export (UTF-16, tab-separated)"
CHUNK = 1 << 22  # bytes decoded at a time when transcoding or checking a csv's encoding
ARROW_MAX_COLUMNS = 1000  # Arrow's reader costs kilobytes a column: a very wide csv goes to the csv module


SAMPLE_CHARS = 1_000_000  # how much of a transcoded csv is judged as likely Chinese or not


def decode_csv(data: bytes) -> str:
    """Decode csv bytes as UTF-8 (with or without BOM), else GB18030 (a superset of GBK).

    NUL bytes mean UTF-16/32 (Excel's "Unicode text"), which both would otherwise misread.
    """
    for encoding in () if b"\x00" in data else ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig" or not _unlikely_chinese(text):
            return text
        break  # GB18030 decodes almost any bytes: these decode to characters no office writes
    guess = charset_normalizer.from_bytes(data).best()
    if guess and guess.encoding.startswith("utf_16"):
        raise ReadError("FILE_ENCODING", UNICODE_TEXT)
    raise ReadError("FILE_ENCODING", _described(data, guess.encoding if guess else None))


def _unlikely_chinese(text: str) -> bool:
    """Whether text decoded as GB18030 is more likely another encoding misread: most of its non-ASCII characters
    lie outside GB2312, the characters Chinese offices write (a Windows-1252 ``è`` followed by ``r`` reads
    as 鑢)."""
    wide, rare = _wide_and_rare(text)
    return bool(wide) and rare * 2 > wide


def _wide_and_rare(text: str) -> tuple[int, int]:
    """How many characters of ``text`` are not ASCII, and how many are not in GB2312, counted by the codecs (a
    character either encodes or is dropped, and what encodes decodes back one for one), not one at a time."""
    return (len(text) - len(text.encode("ascii", "ignore")),
            len(text) - len(text.encode("gb2312", "ignore").decode("gb2312")))


def _described(data: bytes, guess: str | None) -> str:
    """What the bytes look like, for the message: Windows-1252 / Latin-1 when they read as Western European
    text (whatever the detector's guess), else the detector's guess."""
    try:
        latin = data.decode("cp1252")
        if all(ch.isascii() or (ch.isalpha() and ord(ch) < 0x250) or ch in "€£°±·–—‘’“”«»" for ch in latin):
            return "Windows-1252 / Latin-1 西欧文字 (Western European)"
    except UnicodeDecodeError:
        pass
    return f"looks like {guess}" if guess else "binary data"


def read_csv(data: bytes) -> list[RawTable]:
    """A csv: its size checked first (lines × the first line's fields), then read: a plain file straight
    from its bytes by Arrow (:func:`_arrow_csv_rows`), anything else decoded (:func:`decode_csv`) and split
    by Python's csv module."""
    rows = _arrow_csv_rows(data) if b"\x00" not in data else None
    if rows is None:
        text = decode_csv(data)
        first = _first_fields(text[:text.find("\n") + 1 or len(text)].encode("utf-8")) or []
        check_size(None, text.count("\n") + 1, len(first))
        rows = _csv_rows(text)
    check_size(None, len(rows), rows.width)
    return [RawTable(None, rows)]


def _arrow_csv_rows(data: bytes) -> Rows | None:
    """The rows of a plain csv by Arrow (:func:`_plain_csv_rows`), or None when it is not plain: UTF-8 as it
    is (after a BOM); a file that is not UTF-8 (GBK or GB18030, as Excel saves a csv on a Chinese Windows)
    transcoded from GB18030 as :func:`decode_csv` would decode it, a chunk at a time, with no decoded copy
    of the whole text."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    first = _first_fields(data[start:data.find(b"\n") + 1 or len(data)])
    if first is not None:
        check_size(None, data.count(b"\n") + 1, len(first))
        rows = _plain_csv_rows(data, start, len(first))
        if rows is not None or _is_utf8(data):
            return rows
    utf8 = _gb18030_as_utf8(data)
    if utf8 is None:
        return None
    first = _first_fields(utf8[:utf8.find(b"\n") + 1 or len(utf8)]) or []
    check_size(None, utf8.count(b"\n") + 1, len(first))
    return _plain_csv_rows(utf8, 0, len(first))


def _chunks(data: bytes) -> Iterator[tuple[memoryview, bool]]:
    """``data`` in slices of :data:`CHUNK` bytes, each with whether it is the last."""
    view = memoryview(data)
    for at in range(0, len(data), CHUNK):
        yield view[at:at + CHUNK], at + CHUNK >= len(data)


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is UTF-8 (checked a chunk at a time: no decoded copy of it)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk, last in _chunks(data):
            decoder.decode(chunk, final=last)
    except UnicodeDecodeError:
        return False
    return True


def _gb18030_as_utf8(data: bytes) -> bytes | None:
    """``data`` decoded from GB18030 (a superset of GBK) and encoded as UTF-8, a chunk at a time, or None
    when it is not GB18030, or its first :data:`SAMPLE_CHARS` characters read as GB18030 are unlikely
    Chinese (:func:`_unlikely_chinese`: a Windows-1252 file, say)."""
    decoder = codecs.getincrementaldecoder("gb18030")()
    out: list[bytes] = []
    try:
        for chunk, last in _chunks(data):
            text = decoder.decode(chunk, final=last)
            if not out and _unlikely_chinese(text[:SAMPLE_CHARS]):
                return None  # another encoding misread: decode_csv says which (FILE_ENCODING)
            out.append(text.encode("utf-8"))
    except UnicodeDecodeError:
        return None
    return b"".join(out)


def _first_fields(line: bytes) -> list[str] | None:
    """The fields of a csv's first line, or None when it is not UTF-8."""
    try:
        return next(csv.reader(io.StringIO(line.decode("utf-8"), newline="")), [])
    except UnicodeDecodeError:
        return None


def _csv_rows(text: str) -> Rows:
    """The rows of a csv by Python's csv module; equal cells share one string (a column of the same unit
    code or period costs one)."""
    same: dict[str, str] = {}
    rows: list[Row] = []
    for i, r in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
        if i % 4096 == 0:
            budget.check()
        rows.append((i, [same.setdefault(c, c) for c in r]))
    return Rows.of_list(rows)


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
        distinct.append(coded.dictionary)  # each distinct text once, as Arrow holds it
        codes.append(coded.indices.to_numpy())
        del coded
    memory.release()
    budget.check()
    return ColumnRows(distinct, codes)


def _records_table(header: list[str], columns: list[list[object]]) -> RawTable:
    """One table from named columns of equal length: row 1 the header, then a row per record."""
    check_size(None, len(columns[0]) + 1 if columns else 1, len(header))
    return RawTable(None, Rows.of_columns([[name, *column] for name, column in zip(header, columns, strict=True)])
                    if header else Rows.of_list([(1, [])]))


def read_json(data: bytes) -> list[RawTable]:
    """A json file: an array of objects, keyed by header (keys in order of first appearance)."""
    records = json.loads(decode_csv(data))
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ReadError("FILE_UNREADABLE", "json must be an array of objects / json 应为对象数组")
    header = list(dict.fromkeys(k for rec in records for k in rec))
    check_size(None, len(records) + 1, len(header))
    return [_records_table(header, [[rec.get(k) for rec in records] for k in header])]


def read_parquet(data: bytes) -> list[RawTable]:
    """A parquet file: its metadata first (rows, columns, decompressed size), then its columns."""
    parquet = pq.ParquetFile(io.BytesIO(data))
    meta = parquet.metadata
    check_size(None, meta.num_rows + 1, meta.num_columns)
    check_unpacked("FILE_UNPACKED_TOO_LARGE", sum(meta.row_group(g).column(c).total_uncompressed_size
                                                  for g in range(meta.num_row_groups) for c in range(meta.num_columns)))
    table = parquet.read()
    # a name given twice keeps its first place and its last column, as records keyed by name would
    # (and a file without rows has no header, as an empty array of records has none)
    last = {name: j for j, name in enumerate(table.column_names)} if table.num_rows else {}
    header = list(last)
    return [_records_table(header, [table.column(last[name]).to_pylist() for name in header])]
