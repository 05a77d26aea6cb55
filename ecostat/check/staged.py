"""A file's check made ready for a trip to the writer from another process (a sandboxed child,
:mod:`ecostat.run.sandbox`, or a Dask worker, :mod:`ecostat.run.parallel`): each table as checked, its form named
by its code."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ecostat.check.files import Checked
from ecostat.check.types import CheckedTable
from ecostat.contract.catalogue import Finding
from ecostat.contract.forms import FORMS
from ecostat.intake.archive import Receipt


@dataclass
class Staged:
    """What a worker hands back for one file: its check, each table's form named by its code for the trip (a
    form carries its pandera schema, and the writer compares forms by identity). A table's rows travel as the
    writer reads and loads them, as Arrow (:meth:`~ecostat.check.types.CheckedTable.values`), made here beside
    the other checks, and its frame stays behind: a table of a workbook unpickles in about a third of a frame's
    time, and the writer no longer converts it."""

    receipt_id: str
    result: list[CheckedTable] | Finding
    failure: str | None
    forms: list[str | None]

    @classmethod
    def of(cls, rec: Receipt, check: Checked) -> Staged:
        """A check made here, made ready for the trip."""
        result, failure = check
        if isinstance(result, Finding):
            return cls(rec.receipt_id, result, failure, [])
        return cls(rec.receipt_id, [dataclasses.replace(t, form=None, rows=t.values(), frame=None) for t in result],
                   failure,
                   [t.form.code if t.form else None for t in result])

    def rows(self) -> int:
        """How many rows its tables hold (as they crossed: their Arrow rows)."""
        return 0 if isinstance(self.result, Finding) else sum(t.rows.num_rows for t in self.result
                                                               if t.rows is not None)

    def checked(self) -> Checked:
        """The check as the writer uses it, with this process's forms."""
        if isinstance(self.result, Finding):
            return self.result, self.failure
        return [dataclasses.replace(t, form=FORMS[code] if code else None)
                for t, code in zip(self.result, self.forms, strict=True)], self.failure
