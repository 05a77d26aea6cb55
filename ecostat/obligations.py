"""Which units must report which forms: ``schemas/registries/report_obligations.csv`` names, per form,
the unit kinds (of ``units.csv``) that submit it, so a new unit of a known kind is obliged by data alone."""

from __future__ import annotations

from ecostat.registry import registry


def units_required(form: str) -> list[str]:
    """The codes of the units that must submit ``form`` (none for a form without an obligation)."""
    entry = next((e for e in registry("report_obligations").entries if e.code == form), None)
    if entry is None:
        return []
    kinds = set(entry.get("kinds").split("|"))
    return [u.code for u in registry("units").entries if u.get("kind") in kinds]


def obligations() -> dict[str, list[str]]:
    """Every form with an obligation and the units that must submit it."""
    return {e.code: units_required(e.code) for e in registry("report_obligations").entries}
