"""The scan of an xlsx's XML for what python-calamine does not report, on workbooks made here: each
thing it finds reaches the raw table as openpyxl's reading did, and what it cannot vouch for sends the
workbook to openpyxl."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl

from ecostat.read import excel as readers
from ecostat.read.sheetxml import percent_styles, scan_workbook
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
