"""An xlsx workbook: every non-empty worksheet a table, formulas by their saved result.

Values by python-calamine; what calamine does not report (hidden rows, formulas without a saved result,
percentage number formats, error cells, each sheet's size) from a scan of the sheet XML
(:mod:`ecostat.read.sheetxml`); a workbook whose XML the scan cannot vouch for is read by openpyxl.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from ecostat.common import budget
from ecostat.contract.normalize import column_letter
from ecostat.read import sheetxml
from ecostat.read.extent import check_extents, sheet_xml_extent
from ecostat.read.limits import check_size, check_unpacked
from ecostat.read.sheetnotes import is_number, note, note_hidden
from ecostat.read.sheetxml import is_percent_format
from ecostat.read.types import RawTable, ReadError, Row, Rows


def read_xlsx(data: bytes) -> list[RawTable]:
    """The tables of an xlsx (a zip; its unpacked size and each sheet's size checked before reading)."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ReadError("FILE_UNREADABLE", "not an xlsx (zip) file / 不是有效的 xlsx 文件")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        check_unpacked("FILE_ZIP_BOMB", sum(i.file_size for i in zf.infolist()))
        # bounded before any library allocates a grid
        check_extents({name: sheet_xml_extent(zf.read(member)) for name, member in sheetxml.sheet_parts(zf).items()})
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
        rows: list[Row] = []
        for i, cells in enumerate(sheet.to_python(skip_empty_area=False), 1):
            if i % 4096 == 0:
                budget.check()
            rows.append((i, [_calamine_value(v) for v in cells]))
        for (row, j), text in sorted(scan.errors.items()):
            _put(rows, row, j, text)
        table = RawTable(meta.name, Rows.of_list(rows), merged=merged)
        if scan.percent:
            table.percent = {(r, j) for r, j in scan.percent if r <= len(rows) and is_number(_cell(rows[r - 1][1], j))}
        for (row, j), text in sorted(scan.formulas_without_value.items()):
            if row > len(rows) or _cell(rows[row - 1][1], j) is None:
                note(table, "CELL_FORMULA_NO_VALUE", row=row, column=column_letter(j), value=text)
        note_hidden(table, meta.visible != SheetVisibleEnum.Visible, scan.hidden_rows)
        tables.append(table)
    return tables


def _put(rows: list[Row], row: int, j: int, value: object) -> None:
    """Set a cell that calamine left out (an error cell), growing the rows to reach it."""
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
        rows: list[Row] = []
        percent: set[tuple[int, int]] = set()
        for i, cells in enumerate(ws.iter_rows(min_row=1, min_col=1), 1):
            rows.append((i, [c.value for c in cells]))
            percent.update((i, j) for j, c in enumerate(cells)
                           if is_number(c.value) and is_percent_format(c.number_format))
        table = RawTable(ws.title, Rows.of_list(rows), percent=percent,
                         merged=[(m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges])
        if formulas is not None:
            _formulas_without_value(table, formulas.worksheets[k])
        note_hidden(table, ws.sheet_state != "visible", {r for r, _ in rows if ws.row_dimensions[r].hidden})
        tables.append(table)
    return tables


def _formulas_without_value(table: RawTable, formulas: Any) -> None:
    for row, cells in table.rows:
        for j, value in enumerate(cells):
            if value is not None:
                continue
            cell = formulas.cell(row=row, column=j + 1)
            if cell.data_type == "f":
                text = cell.value if isinstance(cell.value, str) else getattr(cell.value, "text", "") or "="
                note(table, "CELL_FORMULA_NO_VALUE", row=row, column=column_letter(j), value=text)
