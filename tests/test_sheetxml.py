"""The scan of an xlsx's XML for what python-calamine does not report, on workbooks made here: each
thing it finds reaches the raw table as openpyxl's reading did, and what it cannot vouch for sends the
workbook to openpyxl."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from ecostat.read import excel as readers
from ecostat.read.sheetxml import percent_styles, scan_sheet, scan_workbook
from ecostat.read.tables import read_tables


def _book(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    ws.append(["区县代码", "报告期", "比例", "小数", "错误"])
    ws.append(["360102", "2024", 0.5, 0.25, "#DIV/0!"])  # openpyxl writes "#DIV/0!" as an error cell
    ws["C2"].number_format = "0%"  # built in (id 9): never listed in styles.xml
    ws["D2"].number_format = '0.0"%"'  # a literal % sign: not a percentage
    ws.row_dimensions[2].hidden = True
    wb.save(path)
    return path


def test_scan_finds_builtin_percent_formats_error_cells_and_hidden_rows(tmp_path: Path) -> None:
    path = _book(tmp_path / "a.xlsx")
    with zipfile.ZipFile(path) as zf:
        assert percent_styles(zf)
        (scan,) = scan_workbook(zf).values()
    assert (scan.percent, scan.errors, scan.hidden_rows, scan.unsure) == ({(2, 2)}, {(2, 4): "#DIV/0!"}, {2}, False)
    assert scan.dimension == (2, 5)
    (table,) = read_tables(path)
    assert table.rows[1] == (2, ["360102", "2024", 0.5, 0.25, "#DIV/0!"])
    assert table.percent == {(2, 2)} and [n.rule_id for n in table.notes] == ["ROWS_HIDDEN"]


def test_a_shared_formula_without_result_is_left_to_openpyxl(tmp_path: Path, monkeypatch) -> None:
    """A shared formula's dependent cells hold no text of their own: openpyxl translates it per cell."""
    path = _book(tmp_path / "b.xlsx")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    sheet = next(n for n in members if n.startswith("xl/worksheets/"))
    members[sheet] = members[sheet].replace(b"</sheetData>", b'<row r="3"><c r="C3"><f t="shared" ref="C3:C4" si="0">'
                                            b'A2+1</f></c></row><row r="4"><c r="C4"><f t="shared" si="0"/></c></row>'
                                            b"</sheetData>")
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    used = []
    monkeypatch.setattr(readers, "_read_xlsx_openpyxl", lambda data, f=readers._read_xlsx_openpyxl: used.append(1)
                        or f(data))
    (table,) = read_tables(path)
    assert used == [1]
    assert [(n.rule_id, n.column, n.row, n.value) for n in table.notes if n.rule_id == "CELL_FORMULA_NO_VALUE"] == [
        ("CELL_FORMULA_NO_VALUE", "C", 3, "=A2+1"), ("CELL_FORMULA_NO_VALUE", "C", 4, "=A3+1")]


def _with_comment(path: Path, piece: bytes, size: int) -> Path:
    """The test's book with an XML comment of ``size`` bytes of ``piece`` before the sheet's data."""
    with zipfile.ZipFile(_book(path)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    sheet = next(n for n in members if n.startswith("xl/worksheets/"))
    comment = b'<!--"e"' + piece * (size // len(piece)) + b"-->"
    members[sheet] = members[sheet].replace(b"<sheetData>", comment + b"<sheetData>")
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    return path


def _best_seconds(path: Path) -> float:
    best = float("inf")
    for _ in range(5):
        with zipfile.ZipFile(path) as zf:
            start = time.perf_counter()
            scan_workbook(zf)
            best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("piece", [b"<c ", b"<f><f>", b'<row hidden="1">', b"<c t=\"e\" r=\"A9\"><v>#N/A</v></c>"])
def test_the_scan_is_linear_and_skips_comments(tmp_path: Path, piece: bytes) -> None:
    """Issue 17: markup inside an XML comment (which calamine skips) made the old regular expressions
    fail at every start, quadratic in the comment's size. Linear: ten times the bytes, about ten times
    the time (allowed: 30 times, and a millisecond of noise); and the comment changes nothing found."""
    seconds = {}
    for size in (1_000, 10_000, 100_000):
        path = _with_comment(tmp_path / f"{size}.xlsx", piece, size)
        seconds[size] = _best_seconds(path)
        with zipfile.ZipFile(path) as zf:
            (scan,) = scan_workbook(zf).values()
        assert (scan.percent, scan.errors, scan.hidden_rows, scan.unsure) == ({(2, 2)}, {(2, 4): "#DIV/0!"}, {2}, False)
    assert seconds[100_000] < 30 * max(seconds[10_000], 0.001), seconds
    (table,) = read_tables(path)
    assert table.rows[1] == (2, ["360102", "2024", 0.5, 0.25, "#DIV/0!"])


@pytest.mark.parametrize("xml", [
    b'<!DOCTYPE w [<!ENTITY a "aaaa">]><worksheet><sheetData><row r="1"><c r="A1"><f>&a;</f></c></row></sheetData>'
    b"</worksheet>",
    b'<worksheet><sheetData><row r="1"><c r="A1"><f>1</f></c></row>',  # cut short
    b'<worksheet><sheetData><row r="1"><c r="A1"><f>&undefined;</f></c></row></sheetData></worksheet>',
])
def test_a_document_type_or_broken_xml_is_not_vouched_for(xml: bytes) -> None:
    """No DTD and no entity is read; XML that does not parse sends the workbook to openpyxl."""
    assert scan_sheet(xml, set()).unsure
