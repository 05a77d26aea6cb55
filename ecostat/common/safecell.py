"""Writing submitted text into generated workbooks and CSV files so that it can never run as a
formula (CSV/formula injection): a text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return is neutralised. Every generated workbook and CSV writes its cells through this module:
openpyxl worksheets with :func:`put`, xlsxwriter worksheets (the feedback workbooks) with :func:`write`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ecostat.common.xmltext import xml_text

if TYPE_CHECKING:  # annotations only: a process that writes no workbook does not import their libraries
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet
    from xlsxwriter.format import Format
    from xlsxwriter.worksheet import Worksheet as XlsxWorksheet

# Number formats of date and time cells, as openpyxl gives them.
DATE_FORMATS = ((dt.datetime, "yyyy-mm-dd h:mm:ss"), (dt.date, "yyyy-mm-dd"), (dt.time, "h:mm:ss"))

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    """Whether ``value`` is text that a spreadsheet could take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_value(value: object) -> object:
    """A value for a CSV cell: formula-like text gets a leading single quote, anything else is unchanged."""
    return "'" + value if is_formula_like(value) else value  # type: ignore[operator]


def safe_text(text: str) -> str:
    """Text without the characters a workbook cannot hold (each shown as U+FFFD): :func:`xml_text`."""
    return xml_text(text)


def _cell_value(value: object) -> object:
    if value is not None and not isinstance(value, str | int | float | dt.date | dt.datetime | dt.time):
        return str(value)  # e.g. a Decimal, list or dict read from parquet or json
    return value


def put(ws: Worksheet, row: int, column: int, value: object) -> Cell:
    """Write ``value`` into a worksheet cell; formula-like text is stored as a string cell with Excel's
    quote prefix (as if typed with a leading ``'``), so it shows as typed and never evaluates."""
    cell = ws.cell(row=row, column=column)
    value = _cell_value(value)
    if isinstance(value, str):
        cell.value = safe_text(value)
        if is_formula_like(value):
            cell.data_type = "s"
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell


def write(ws: XlsxWorksheet, row: int, column: int, value: object, formats: Callable[..., Format | None],
          **props: Any) -> None:
    """Write ``value`` into an xlsxwriter worksheet (0-based ``row`` and ``column``) in the format made
    of ``props`` by ``formats``, as :func:`put` would: text always as a string, formula-like text with
    the quote prefix; an empty cell (or empty text) only when it has a format."""
    value = _cell_value(value)
    if isinstance(value, str) and value:
        if is_formula_like(value):
            props["quote_prefix"] = True
        ws.write_string(row, column, safe_text(value), formats(**props))
    elif value is None or value == "":  # openpyxl keeps no empty text either
        if props:
            ws.write_blank(row, column, None, formats(**props))
    elif isinstance(value, bool):
        ws.write_boolean(row, column, value, formats(**props))
    elif isinstance(value, int | float):
        ws.write_number(row, column, value, formats(**props))
    else:
        shown = next(f for kind, f in DATE_FORMATS if isinstance(value, kind))
        ws.write_datetime(row, column, value, formats(**{"num_format": shown, **props}))  # type: ignore[arg-type]
