"""Which units must report which forms: ``schemas/registries/report_obligations.csv`` names, per form,
the unit kinds (of ``units.csv``) that submit it, so a new unit of a known kind is obliged by data alone."""

from __future__ import annotations

import datetime as dt

import duckdb

from ecostat.contract.forms import FORMS
from ecostat.contract.operator_settings import Deadline
from ecostat.contract.registry import may_submit, registry


def units_required(form: str) -> list[str]:
    """The codes of the units that must submit ``form`` (none for a form without an obligation)."""
    entry = next((e for e in registry("report_obligations").entries if e.code == form), None)
    if entry is None:
        return []
    kinds = set(entry.get("kinds").split("|"))
    return [u.code for u in registry("units").entries if u.get("kind") in kinds]


def forms_owed_or_allowed(unit: str) -> list[str]:
    """The forms a unit fills in: those it must submit, and those no obligation names that it may submit."""
    named = {e.code for e in registry("report_obligations").entries}
    return [code for code, form in FORMS.items()
            if unit in units_required(code) or (code not in named and may_submit(unit, form.submitters))]


def obligations() -> dict[str, list[str]]:
    """Every form with an obligation and the units that must submit it."""
    return {e.code: units_required(e.code) for e in registry("report_obligations").entries}


def overdue(con: duckdb.DuckDBPyConnection, deadlines: list[Deadline], today: dt.date) -> list[tuple[Deadline, str]]:
    """Each (deadline, unit) where the deadline has passed and the unit, obliged to submit its form, has no
    current report of its period: no current row for it, nor from a file it submitted (the city reports
    the sections of every district)."""
    out: list[tuple[Deadline, str]] = []
    for d in deadlines:
        if today <= d.due or d.form not in FORMS:
            continue
        have = {u for pair in con.execute(f"""SELECT DISTINCT unit_code, split_part(file, '/', 1)
                                              FROM "{FORMS[d.form].table}" WHERE is_current AND period = ?""",
                                          [d.period]).fetchall() for u in pair}
        out.extend((d, unit) for unit in units_required(d.form) if unit not in have)
    return out
