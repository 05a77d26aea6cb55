"""Registries (units, water bodies, batches, ...) read from the CSV files in ``schemas/registries``
(or the folder named by ``ECOSTAT_REGISTRY_DIR``: a province's own units are a data change)."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ecostat.contract.normalize import text_key

REGISTRY_DIR = Path(os.environ.get("ECOSTAT_REGISTRY_DIR")
                    or Path(__file__).resolve().parents[2] / "schemas" / "registries")


@dataclass(frozen=True)
class Entry:
    """A registry entry: its code, its Chinese name and any extra columns of the file."""

    code: str
    name: str
    extra: tuple[tuple[str, str], ...] = ()
    aliases: tuple[str, ...] = ()  # other spellings accepted in a cell

    def get(self, key: str) -> str:
        """An extra column's value."""
        return dict(self.extra)[key]


class Registry:
    """Entries that can be looked up by code, name or alias (spaces and width ignored)."""

    def __init__(self, name: str, entries: list[Entry], lookup: dict[str, Entry]):
        self.name = name
        self.entries = entries
        self._lookup = lookup

    def resolve(self, raw: object) -> Entry | None:
        """The entry a cell names, or None."""
        if raw is None:
            return None
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        return self._lookup.get(text_key(str(raw)))

    def by_code(self, code: str) -> Entry:
        """The entry with this code (KeyError if none)."""
        for e in self.entries:
            if e.code == code:
                return e
        raise KeyError(code)

    def names(self) -> str:
        """The allowed names, for messages."""
        return "、".join(e.name for e in self.entries)


@cache
def registry(name: str) -> Registry:
    """The registry stored in ``schemas/registries/<name>.csv``."""
    entries: list[Entry] = []
    lookup: dict[str, Entry] = {}
    with open(REGISTRY_DIR / f"{name}.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            code, label = row.pop("code"), row.pop("name")
            aliases = [a for a in row.pop("aliases", "").split("|") if a]
            entry = Entry(code, label, tuple(row.items()), tuple(aliases))
            entries.append(entry)
            for word in (code, label, *aliases):
                lookup.setdefault(text_key(word), entry)
    return Registry(name, entries, lookup)


@cache
def tp_class_limits() -> dict[str, list[tuple[int, float]]]:
    """GB 3838-2002 total-phosphorus upper limits per water type: [(class, limit), ...]."""
    out: dict[str, list[tuple[int, float]]] = {}
    with open(REGISTRY_DIR / "tp_class_limits.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["water_type"], []).append((int(row["class"]), float(row["tp_max_mg_l"])))
    return {k: sorted(v) for k, v in out.items()}


def tp_implied_class(water_type: str, tp: float) -> int:
    """The best class total phosphorus alone allows (6 = worse than V)."""
    for cls, limit in tp_class_limits()[water_type]:
        if tp <= limit:
            return cls
    return 6


@cache
def quantity_unit(quantity: str) -> str:
    """The contract's unit of a quantity, as written: the first of its rows in ``header_units.csv``."""
    with open(REGISTRY_DIR / "header_units.csv", encoding="utf-8", newline="") as fh:
        return next(row["unit"] for row in csv.DictReader(fh) if row["quantity"] == quantity)


@cache
def header_units() -> dict[str, dict[str, float]]:
    """Units a header may carry, per quantity: {quantity: {unit key: factor}}."""
    out: dict[str, dict[str, float]] = {}
    with open(REGISTRY_DIR / "header_units.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["quantity"], {})[text_key(row["unit"])] = float(row["factor"])
    return out


def yes_no(raw: object) -> bool | None:
    """A yes/no cell in any spelling of ``yes_no.csv`` (是/否, 已完成/未完成, √/×, Y/N, 1/0), or None."""
    entry = registry("yes_no").resolve(raw)
    return None if entry is None else entry.code == "true"


def may_submit(unit: str, kinds: tuple[str, ...] | None) -> bool:
    """Whether ``unit`` is of one of the unit ``kinds`` that may submit a form (None: any unit may)."""
    if kinds is None:
        return True
    entry = next((e for e in registry("units").entries if e.code == unit), None)
    return entry is not None and entry.get("kind") in kinds


def city_code() -> str:
    """The code of the city-level unit (the one of kind ``city`` in ``units.csv``)."""
    return next(e.code for e in registry("units").entries if e.get("kind") == "city")


CITY = city_code()


@dataclass(frozen=True)
class CodeRegister:
    """A register of codes with their owner unit per year (断面登记, 水源地登记: contract v3 §4.2, §4.8)."""

    name: str
    owners: dict[str, tuple[tuple[int, int | None, str], ...]]  # code -> (from year, to year or None, owner)

    def owner(self, code: str, year: int) -> str | None:
        """The unit the code is registered to in ``year``; None if it is not registered for that year."""
        for first, last, unit in self.owners.get(code.strip(), ()):
            if first <= year and (last is None or year <= last):
                return unit
        return None


@cache
def code_register(name: str) -> CodeRegister:
    """The register stored in ``schemas/registries/<name>.csv`` (columns code, owner, from_year, to_year,
    the last empty while the registration stands). Read on its own, not as a :func:`registry` (no name lookup):
    a register of a province's codes may hold millions, and most share one (from, to, owner), held once."""
    owners: dict[str, tuple[tuple[int, int | None, str], ...]] = {}
    shared: dict[tuple[int, int | None, str], tuple[tuple[int, int | None, str], ...]] = {}
    with open(REGISTRY_DIR / f"{name}.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            span = (int(row["from_year"]), int(row["to_year"]) if row.get("to_year") else None, row["owner"])
            alone = shared.setdefault(span, (span,))
            code = row["code"].strip()
            owners[code] = owners[code] + alone if code in owners else alone
    return CodeRegister(name, owners)
