"""Contract v3 §3.1: a template sheet left untouched is not a submission.

A fill-in template (``ecostat template``) is a workbook with one sheet per form and the instructions sheet
(``填报说明``). A unit fills the sheets it owes and leaves the others as generated: their data rows empty,
or naming only the unit and period the template pre-filled. Such a sheet is skipped with a note, not
rejected with ``TABLE_EMPTY``. A table without data rows that is not a template's sheet (a CSV, a
workbook without the instructions sheet) is still ``TABLE_EMPTY``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ecostat.check.recognise import is_instructions
from ecostat.check.types import CheckedTable
from ecostat.read.types import RawTable

log = logging.getLogger(__name__)


def is_untouched(table: CheckedTable) -> bool:
    """Whether a checked sheet found nothing wrong but that it has no data rows (a blank row, or a row naming
    only its unit and period, is no data row)."""
    errors = [f.rule_id for f in table.findings if f.severity == "error"]
    return errors == ["TABLE_EMPTY"] and table.form is not None


def note(file: str, sheet: str | None) -> str:
    """The note said for a skipped sheet."""
    return (f"{file} [{sheet}]: 未填写的模板工作表，已跳过（合同 §3.1） / an untouched template sheet, skipped "
            "(contract §3.1)")


def without_untouched(file: str, raws: Sequence[RawTable], tables: list[CheckedTable]) -> list[CheckedTable]:
    """``tables`` (checked from ``raws``, a file's tables) less the untouched sheets of a fill-in template,
    each skipped with a logged note."""
    if not any(is_instructions(r) for r in raws):
        return tables
    kept = []
    for table in tables:
        if is_untouched(table):
            log.warning(note(file, table.sheet))
        else:
            kept.append(table)
    return kept
