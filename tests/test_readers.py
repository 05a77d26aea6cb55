"""read_tables on real files written into tmp_path (contract section 2)."""

from __future__ import annotations

import datetime as dt
import json
import random
import struct
import zipfile
from pathlib import Path

import olefile
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlwt

from ecostat.read.tables import read_tables
from ecostat.read.text import decode_csv
from ecostat.read.types import RawTable, ReadError
from ecostat.read.xls import CFB_SIGNATURE
from tests.conftest import write_book, write_csv, write_xlsx

HEADER = ["区县代码", "报告期", "水体名称", "需整治排口数（个）", "已完成整治数（个）"]
DATA = [
    ["360102", "2024", "赣江", "10", "8"],
    ["360103", "2024年6月", "抚河", "1,072", "—"],
    ["360105", "202406", "湾里 乌沙河", "３２", "92.1%"],
]


def rule_of(path: Path, data: bytes | None = None) -> str:
    with pytest.raises(ReadError) as info:
        read_tables(path, data)
    return info.value.rule_id


# --------------------------------------------------------------------------- xlsx

def _two_sheet_workbook(tmp_path: Path) -> Path:
    path = write_xlsx(tmp_path / "报表.xlsx", {
        "排口整治": [["南昌市入河排口整治情况表"], [], HEADER, *([r[0], r[1], r[2], 10, 8] for r in DATA)],
        "空表": [],
        "空气质量": [["区县代码", "报告期", "PM2.5"], ["360102", "2024", 32], ["360103", "2024", 31.5]],
    })
    wb = openpyxl.load_workbook(path)
    wb["排口整治"].merge_cells("A1:E1")
    wb.save(path)
    return path


def test_xlsx_two_sheets_banner_and_empty_sheet(tmp_path: Path) -> None:
    path = _two_sheet_workbook(tmp_path)
    assert openpyxl.load_workbook(path).sheetnames == ["排口整治", "空表", "空气质量"]
    assert "A1:E1" in {str(r) for r in openpyxl.load_workbook(path)["排口整治"].merged_cells.ranges}

    tables = read_tables(path)

    assert [t.sheet for t in tables] == ["排口整治", "空气质量"]
    outfalls, air = tables
    numbers = [n for n, _ in outfalls.rows]
    assert numbers == [1, 2, 3, 4, 5, 6]
    by_number = dict(outfalls.rows)
    assert by_number[1][0] == "南昌市入河排口整治情况表"
    assert all(c is None for c in by_number[1][1:])
    assert all(c is None for c in by_number[2])
    assert by_number[3] == HEADER
    assert by_number[4] == ["360102", "2024", "赣江", 10, 8]  # first data row is Excel row 4
    assert by_number[6] == ["360105", "202406", "湾里 乌沙河", 10, 8]

    assert air.rows == [(1, ["区县代码", "报告期", "PM2.5"]),
                        (2, ["360102", "2024", 32]),
                        (3, ["360103", "2024", 31.5])]


def test_xlsx_header_not_in_column_a(tmp_path: Path) -> None:
    """A table starting at C3 keeps Excel's row numbers and columns A, B as empty cells."""
    path = tmp_path / "offset.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表1"
    ws["C3"], ws["D3"] = "区县代码", "报告期"
    ws["C4"], ws["D4"] = "360102", 2024
    wb.save(path)
    (table,) = read_tables(path)
    assert table.sheet == "表1"
    rows = dict(table.rows)
    assert max(rows) == 4
    assert rows[3] == [None, None, "区县代码", "报告期"]
    assert rows[4] == [None, None, "360102", 2024]


def test_xlsx_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "A.XLSX", {"S": [["区县代码", "报告期"], ["360102", "2024"]]})
    assert read_tables(path) == [RawTable("S", [(1, ["区县代码", "报告期"]), (2, ["360102", "2024"])])]


def test_xlsx_only_empty_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "empty.xlsx", {"Sheet1": [], "Sheet2": [[None, ""], [" "]]})
    # " " and "" are missing markers, so nothing here is data
    assert rule_of(path) == "FILE_NO_TABLE"


def test_xlsx_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(random.Random(1).randbytes(4096))
    assert rule_of(path) == "FILE_UNREADABLE"


def test_xlsx_truncated(tmp_path: Path) -> None:
    path = _two_sheet_workbook(tmp_path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 100):
        truncated = tmp_path / f"truncated{cut}.xlsx"
        truncated.write_bytes(data[:cut])
        assert rule_of(truncated) == "FILE_UNREADABLE", cut


def test_xlsx_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "notbook.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    assert rule_of(path) == "FILE_UNREADABLE"


def test_empty_file(tmp_path: Path) -> None:
    for suffix in (".xlsx", ".xls", ".csv", ".json", ".parquet"):
        path = tmp_path / f"empty{suffix}"
        path.write_bytes(b"")
        assert rule_of(path) == "FILE_UNREADABLE", suffix


@pytest.mark.parametrize("name", ["a.txt", "a.xlsm", "a.tsv", "noext", "a.csv.bak"])
def test_unsupported_suffix(tmp_path: Path, name: str) -> None:
    path = write_csv(tmp_path / name, [HEADER, *DATA])
    assert rule_of(path) == "FILE_TYPE"


def test_workbook_bytes_decide_not_the_suffix(tmp_path: Path) -> None:
    """v2: an xlsx named .xls (v1: FILE_XLS) and an .xls named .xlsx are read for what they are."""
    xlsx = write_xlsx(tmp_path / "renamed.xls", {"S": [HEADER, DATA[0]]})
    xls = write_book(tmp_path / "book.xls", [HEADER, DATA[0]], sheet="S").rename(tmp_path / "renamed.xlsx")
    assert xls.read_bytes().startswith(CFB_SIGNATURE) and zipfile.is_zipfile(xlsx)
    expected = [RawTable("S", [(1, HEADER), (2, DATA[0])])]
    assert read_tables(xlsx) == read_tables(xls) == expected


# --------------------------------------------------------------------------- xls

def test_xls_reads_like_xlsx(tmp_path: Path) -> None:
    """The same sheet through xlwt and openpyxl: whole numbers as int, dates as datetime, merged
    ranges, percentage formats and hidden rows reported alike."""
    rows: list[list[object]] = [["区县代码", "报告期", "日期", "比例", "说明"],
                                ["360102", 2024, dt.datetime(2024, 6, 30), 0.921, None],
                                [360103, "2024-06", None, 92.5, "合并"],
                                [None, None, None, None, None],
                                ["360105", 2024.5, True, "#N/A", "隐藏"]]
    kw: dict = {"merges": [(3, 5, 4, 5)], "percent": {(2, 4)}, "hidden_rows": {5, 4}}
    xlsx = read_tables(write_book(tmp_path / "a.xlsx", rows, **kw))
    xls = read_tables(write_book(tmp_path / "a.xls", rows, **kw))
    assert xls == xlsx
    (table,) = xls
    assert dict(table.rows)[2] == ["360102", 2024, dt.datetime(2024, 6, 30), 0.921, None]
    assert table.merged == [(3, 5, 4, 5)] and table.percent == {(2, 3)}
    assert [(n.rule_id, n.row, n.value) for n in table.notes] == [("ROWS_HIDDEN", 5, "5")]


def _biff_records(stream: bytes) -> list[tuple[int, int, int]]:
    """(offset, record type, size) of every BIFF record of a workbook stream."""
    out, pos = [], 0
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        out.append((pos, kind, size))
        pos += 4 + size
    return out


def test_xls_formula_is_read_by_its_saved_result(tmp_path: Path) -> None:
    path = tmp_path / "formula.xls"
    book = xlwt.Workbook()
    ws = book.add_sheet("S")
    ws.write(0, 0, "a")
    ws.write(0, 1, xlwt.Formula("2*21"))
    book.save(str(path))
    with olefile.OleFileIO(str(path), write_mode=True) as ole:  # xlwt saves no result: put one in
        stream = bytearray(ole.openstream("Workbook").read())
        (offset,) = [pos for pos, kind, _ in _biff_records(bytes(stream)) if kind == 0x0006]  # FORMULA
        stream[offset + 4 + 6: offset + 4 + 14] = struct.pack("<d", 42.0)
        ole.write_stream("Workbook", bytes(stream))
    assert read_tables(path) == [RawTable("S", [(1, ["a", 42])])]


def test_xls_hidden_sheet_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "hidden.xls"
    book = xlwt.Workbook()
    book.add_sheet("可见").write(0, 0, "区县代码")
    hidden = book.add_sheet("隐藏")
    hidden.write(0, 0, "区县代码")
    hidden.visibility = 1
    book.save(str(path))
    assert [(t.sheet, [n.rule_id for n in t.notes]) for t in read_tables(path)] == [
        ("可见", []), ("隐藏", ["SHEET_HIDDEN"])]


def test_ole2_file_without_a_workbook(tmp_path: Path) -> None:
    data = write_book(tmp_path / "a.xls", [HEADER]).read_bytes()
    renamed = data.replace("Workbook".encode("utf-16-le"), "Document".encode("utf-16-le"))
    assert renamed != data
    assert rule_of(tmp_path / "doc.xls", renamed) == "FILE_UNREADABLE"
    assert rule_of(tmp_path / "corrupt.xls", CFB_SIGNATURE + random.Random(5).randbytes(3000)) == "FILE_UNREADABLE"


# --------------------------------------------------------------------------- csv

CSV_EXPECTED = [(1, HEADER), *((i, r) for i, r in enumerate(DATA, 2))]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / f"{encoding}.csv", [HEADER, *DATA], encoding=encoding)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    if encoding in ("gbk", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    assert read_tables(path) == [RawTable(None, CSV_EXPECTED)]


def test_csv_gb18030_only_characters(tmp_path: Path) -> None:
    """Characters outside GBK (here 𠮷 and €) survive a GB18030 file."""
    rows = [["区县代码", "备注"], ["360102", "𠮷野家 €"]]
    path = write_csv(tmp_path / "gb18030.csv", rows, encoding="gb18030")
    assert read_tables(path) == [RawTable(None, [(1, rows[0]), (2, rows[1])])]


def test_csv_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("表头说明\n\n区县代码,报告期\n360102,2024\n", encoding="utf-8")
    (table,) = read_tables(path)
    assert table.rows == [(1, ["表头说明"]), (2, []), (3, ["区县代码", "报告期"]), (4, ["360102", "2024"])]


# bytes verified below to be invalid UTF-8 and invalid GB18030
INVALID_GB18030 = b"\x80\xff\xfe\x00\x81\x30\x81"


def test_invalid_bytes_really_are_invalid() -> None:
    for encoding in ("utf-8", "utf-8-sig", "gb18030", "gbk"):
        with pytest.raises(UnicodeDecodeError):
            INVALID_GB18030.decode(encoding)


def test_csv_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes("区县代码,报告期\n".encode("gbk") + INVALID_GB18030 + b"\n")
    assert rule_of(path) == "FILE_ENCODING"
    with pytest.raises(ReadError) as info:
        decode_csv(path.read_bytes())
    assert info.value.rule_id == "FILE_ENCODING"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_csv_utf16_with_bom(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / f"{encoding}.csv", [HEADER, *DATA], encoding=encoding)
    assert rule_of(path) == "FILE_ENCODING"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("rows", [[["区县代码", "报告期"], ["360102", "2024"]],
                                  [["district_code", "period"], ["360102", "2024"]]],
                         ids=["chinese", "ascii"])
def test_csv_utf16_without_bom(tmp_path: Path, encoding: str, rows: list[list[object]]) -> None:
    path = write_csv(tmp_path / f"{encoding}.csv", rows, encoding=encoding)
    assert not path.read_bytes().startswith((b"\xff\xfe", b"\xfe\xff"))
    assert rule_of(path) == "FILE_ENCODING"


# --------------------------------------------------------------------------- json

RECORDS = [
    {"区县代码": "360102", "报告期": "2024", "需整治排口数（个）": 10},
    {"报告期": "2024-06", "区县代码": "360103", "已完成整治数（个）": 8.5, "备注": None},
    {"区县代码": "360105", "备注": "湾里"},
]
RECORDS_EXPECTED = [
    (1, ["区县代码", "报告期", "需整治排口数（个）", "已完成整治数（个）", "备注"]),
    (2, ["360102", "2024", 10, None, None]),
    (3, ["360103", "2024-06", None, 8.5, None]),
    (4, ["360105", None, None, None, "湾里"]),
]


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_json_array_of_objects(tmp_path: Path, ensure_ascii: bool) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(RECORDS, ensure_ascii=ensure_ascii, indent=1), encoding="utf-8")
    assert read_tables(path) == [RawTable(None, RECORDS_EXPECTED)]


def test_json_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(json.dumps(RECORDS, ensure_ascii=False).encode("utf-8-sig"))
    assert read_tables(path) == [RawTable(None, RECORDS_EXPECTED)]


@pytest.mark.parametrize("content", [
    {"区县代码": "360102", "报告期": "2024"},
    {"data": RECORDS},
    [["区县代码", "报告期"], ["360102", "2024"]],
    [RECORDS[0], "360102"],
    "360102",
    42,
])
def test_json_not_array_of_objects(tmp_path: Path, content: object) -> None:
    path = tmp_path / "obj.json"
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    assert rule_of(path) == "FILE_UNREADABLE"


def test_json_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"区县代码": "360102",', encoding="utf-8")
    assert rule_of(path) == "FILE_UNREADABLE"


def test_json_empty_array(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    path.write_text("[]", encoding="utf-8")
    assert rule_of(path) == "FILE_NO_TABLE"


# --------------------------------------------------------------------------- parquet

def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    table = pa.table({
        "区县代码": ["360102", "360103", "360105"],
        "报告期": ["2024", "2024-06", None],
        "需整治排口数（个）": pa.array([10, None, 3], type=pa.int64()),
        "罚款金额（万元）": [12.5, 0.0, None],
    })
    pq.write_table(table, path)
    assert read_tables(path) == [RawTable(None, [
        (1, ["区县代码", "报告期", "需整治排口数（个）", "罚款金额（万元）"]),
        (2, ["360102", "2024", 10, 12.5]),
        (3, ["360103", "2024-06", None, 0.0]),
        (4, ["360105", None, 3, None]),
    ])]


def test_parquet_from_records_matches_json(tmp_path: Path) -> None:
    """The same records as json and parquet give the same table (column order from the file)."""
    full = [{k: r.get(k) for k in RECORDS_EXPECTED[0][1]} for r in RECORDS]
    pq.write_table(pa.Table.from_pylist(full), tmp_path / "r.parquet")
    (tmp_path / "r.json").write_text(json.dumps(full, ensure_ascii=False), encoding="utf-8")
    assert read_tables(tmp_path / "r.parquet") == read_tables(tmp_path / "r.json") == [RawTable(None, RECORDS_EXPECTED)]


def test_parquet_corrupt(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"区县代码": ["360102"]}), good)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(good.read_bytes()[:-20])
    assert rule_of(bad) == "FILE_UNREADABLE"
    bad.write_bytes(b"PAR1" + random.Random(2).randbytes(200))
    assert rule_of(bad) == "FILE_UNREADABLE"


def test_parquet_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "norows.parquet"
    pq.write_table(pa.table({"区县代码": pa.array([], type=pa.string())}), path)
    assert rule_of(path) == "FILE_NO_TABLE"


def test_data_argument_overrides_file(tmp_path: Path) -> None:
    """read_tables(path, data) reads the bytes given, using the path only for its suffix."""
    data = "区县代码,报告期\n360102,2024\n".encode("gbk")
    assert read_tables(tmp_path / "absent.csv", data) == [
        RawTable(None, [(1, ["区县代码", "报告期"]), (2, ["360102", "2024"])])]
