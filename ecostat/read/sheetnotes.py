"""What a workbook reader notices in a sheet besides its values (a hidden sheet, hidden rows that hold
data, a formula without a saved result), recorded on the :class:`RawTable` as located findings."""

from __future__ import annotations

from typing import Any

from ecostat.contract.catalogue import finding
from ecostat.contract.normalize import is_missing
from ecostat.read.types import RawTable


def is_number(value: object) -> bool:
    """Whether a cell is a number (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def note(table: RawTable, rule_id: str, *, row: int | None = None, column: str | None = None,
         value: object = None, **params: Any) -> None:
    """Record a finding on ``table``, at its sheet."""
    f = finding(rule_id, row=row, column=column, value=value, sheet=table.sheet, **params)
    f.sheet = table.sheet
    table.notes.append(f)


def note_hidden(table: RawTable, sheet_hidden: bool, hidden_rows: set[int]) -> None:
    """A hidden sheet, and the hidden rows (of ``hidden_rows``) that hold something."""
    if sheet_hidden:
        note(table, "SHEET_HIDDEN")
    hidden = [row for row, cells in table.rows
              if row in hidden_rows and any(not is_missing(c) for c in cells)]
    if hidden:
        note(table, "ROWS_HIDDEN", row=hidden[0], value="、".join(map(str, hidden)))
