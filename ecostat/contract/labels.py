"""How units and forms are named to people: ``东湖区（360102）``, ``入河排污口整治（outfall_remediation）``; and
where a unit's feedback goes in the outbox."""

from __future__ import annotations

from pathlib import Path

from ecostat.contract.forms import FORMS
from ecostat.contract.registry import registry

UNASSIGNED = "_unassigned"  # the outbox folder for a file that came from no unit's folder


def unit_label(code: str | None) -> str:
    """``东湖区（360102）``, or the code alone when it is not in the registry."""
    if not code:
        return "未知单位 unknown unit"
    entry = registry("units").resolve(code)
    return f"{entry.name}（{code}）" if entry else code


def form_label(code: str | None) -> str:
    """``入河排污口整治（outfall_remediation）``."""
    if not code:
        return "未识别 not recognised"
    form = FORMS.get(code)
    return f"{form.zh}（{code}）" if form else code


def unit_outbox(outbox: Path, unit: str | None) -> Path:
    """Where a unit's feedback files are written under ``outbox`` (a file from no unit: ``_unassigned``)."""
    return outbox / (unit or UNASSIGNED)
