"""What checking hands on to the warehouse, the feedback and the run: a :class:`CheckedTable` (its form, its
normalised rows as a frame and, for the writer, as Arrow, its findings) and the :class:`Column` mapping of the
submitter's columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from ecostat.check.layout import FooterPair
from ecostat.common import memory
from ecostat.contract.catalogue import Finding, SeverityCounts, finding, format_number
from ecostat.contract.formspec import Form
from ecostat.contract.normalize import column_letter, shown
from ecostat.read.types import RawTable

FULL_COPY_ROWS = 5_000  # the feedback copies a table of more rows in part: its head and the rows with findings
HEAD_ROWS = 20  # rows copied from the top of such a table (banner and header)


@dataclass
class Column:
    """A column of the submitter's table mapped to a field."""

    index: int
    header: str
    field: str
    factor: float = 1.0

    @property
    def letter(self) -> str:
        """Its spreadsheet letter."""
        return column_letter(self.index)


@dataclass
class CheckedTable(SeverityCounts):
    """A table after checking: its form, its normalised rows and everything found wrong."""

    sheet: str | None
    form: Form | None
    frame: pd.DataFrame | None
    findings: list[Finding] = field(default_factory=list)
    columns: dict[str, Column] = field(default_factory=dict)
    header_row: int | None = None
    raw: RawTable | None = field(default=None, repr=False, compare=False)  # the table as submitted
    flagged: set[tuple[int, int]] = field(default_factory=set, repr=False)  # (row, column index) already reported
    footer: list[FooterPair] = field(default_factory=list)  # 填报人：王敏 …: recorded, never a finding
    rows: pa.Table | None = field(default=None, repr=False, compare=False)  # the frame as loaded (:meth:`values`)

    @property
    def accepted(self) -> bool:
        """Whether the table may be loaded."""
        return self.form is not None and self.has_rows and self.errors == 0

    @property
    def has_rows(self) -> bool:
        """Whether its rows were read (as a frame, or as Arrow once it crossed to the writer)."""
        return self.frame is not None or self.rows is not None

    def values(self) -> pa.Table | None:
        """Its rows as the warehouse loads them, made from the frame once: each field's column, ``at_least``
        and ``source_row`` (the sheet's row) as Arrow. The rules against the warehouse and the load read these,
        and a check handed to the writer carries these alone (Arrow crosses cheaper than a frame)."""
        if self.rows is None and self.frame is not None:
            self.rows = loaded_rows(self.frame)
        return self.rows

    def drop_cells(self) -> None:
        """Once its findings are final: of a table over :data:`FULL_COPY_ROWS` rows, keep the cells the
        feedback quotes (its first :data:`HEAD_ROWS` rows and each row with a finding) and let the rest go."""
        if self.raw is None or len(self.raw.rows) <= FULL_COPY_ROWS:
            return
        marked = {f.row for f in self.findings if f.row is not None}
        self.raw = self.raw.keeping(_HeadOr(marked))
        memory.release()

    def add(self, rule_id: str, row: int | None, code: str | None = None, *, index: int | None = None,
            header: str | None = None, value: object = None, **params: Any) -> Finding:
        """Record a finding at ``row`` and the column of field ``code`` (or column ``index``)."""
        col = self.columns.get(code) if code else None
        if col is not None:
            index, header = col.index, header or col.header
        f = finding(rule_id, row=row, column=column_letter(index) if index is not None else None,
                    header=header, value=value, **params)
        f.sheet = self.sheet
        self.findings.append(f)
        return f

    def is_percent_cell(self, row: int, index: int) -> bool:
        """Whether the reader saw the cell in a percentage number format (``0.921`` shown ``92.1%``)."""
        return self.raw is not None and (row, index) in self.raw.percent

    def shown(self, row: int, index: int, value: object) -> str:
        """A cell as the submitter sees it: a percentage-formatted ``0.921`` is ``92.1%``."""
        if self.is_percent_cell(row, index) and isinstance(value, int | float):
            return f"{format_number(value * 100)}%"
        return shown(value)

    def written(self, row: int, code: str) -> str | None:
        """The cell of field ``code`` in data row ``row`` as the submitter wrote it."""
        col = self.columns.get(code)
        if not self.has_rows or col is None:
            return None
        cells = self.raw.cells(row) if self.raw is not None else []
        return self.shown(row, col.index, cells[col.index]) if col.index < len(cells) else None



def loaded_rows(frame: pd.DataFrame) -> pa.Table:
    """A checked frame's columns as loaded: the fields and the unit and period codes (not the working columns,
    ``_…`` and ``period_days``), ``at_least`` (the ``≥`` bounds written) and ``source_row``."""
    columns = {c: pa.array(frame[c], from_pandas=True) for c in frame.columns
               if not c.startswith("_") and c != "period_days"}
    columns["at_least"] = pa.array(frame["_at_least"], type=pa.list_(pa.string()), from_pandas=True)
    columns["source_row"] = pa.array(frame.index, type=pa.int64())
    return pa.table(columns)


class _HeadOr:
    """Row numbers up to :data:`HEAD_ROWS`, or in ``rows``."""

    def __init__(self, rows: set[int]):
        self.rows = rows

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int) and (row <= HEAD_ROWS or row in self.rows)
