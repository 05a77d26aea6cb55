"""Writing submitted text into generated workbooks and CSV files so that it can never run as a
formula (CSV/formula injection): a text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return is neutralised. Every generated workbook and CSV writes its cells through this module."""

from __future__ import annotations

import datetime as dt

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    """Whether ``value`` is text that a spreadsheet could take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_value(value: object) -> object:
    """A value for a CSV cell: formula-like text gets a leading single quote, anything else is unchanged."""
    return "'" + value if is_formula_like(value) else value  # type: ignore[operator]


def put(ws: Worksheet, row: int, column: int, value: object) -> Cell:
    """Write ``value`` into a worksheet cell; formula-like text is stored as a string cell with Excel's
    quote prefix (as if typed with a leading ``'``), so it shows as typed and never evaluates."""
    cell = ws.cell(row=row, column=column)
    if value is not None and not isinstance(value, str | int | float | dt.date | dt.datetime | dt.time):
        value = str(value)  # e.g. a Decimal, list or dict read from parquet or json
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if is_formula_like(value):
            cell.data_type = "s"
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell
