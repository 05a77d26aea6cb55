"""Registries (units, water bodies, batches, ...) read from the CSV files in ``schemas/registries``
(or the folder named by ``ECOSTAT_REGISTRY_DIR``: a province's own units are a data change)."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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
Span = tuple[int, int | None, str]  # a registration: from year, to year (None while it stands), owner unit
Columns = tuple[Any, Any, Any, Any, dict[str, tuple[Span, ...]]]  # :attr:`CodeRegister.columns`
NO_END = 10_000  # a year after every registration's last, for one that stands


class CodeRegister:
    """A register of codes with their owner unit per year (断面登记, 水源地登记: contract v3 §4.2, §4.8): given as
    ``owners`` (code -> its registrations, in the file's order), or as columns (:func:`code_register`)."""

    def __init__(self, name: str, owners: dict[str, tuple[Span, ...]] | None = None, *,
                 columns: Columns | None = None):
        self.name = name
        self._owners = owners
        self._cols = columns

    @property
    def owners(self) -> dict[str, tuple[Span, ...]]:
        """Each code's registrations, in the file's order."""
        if self._owners is None:
            index, first, last, unit, several = self.columns
            self._owners = {code: ((f, None if t == NO_END else t, u),) for code, f, t, u in
                            zip(index.tolist(), first.tolist(), last.tolist(), unit.tolist(), strict=True)}
            self._owners.update(several)
        return self._owners

    @property
    def columns(self) -> Columns:
        """The codes registered once as an index, with their first and last years (:data:`NO_END` while it
        stands) and owners as arrays; and the codes registered more than once with their registrations."""
        if self._cols is None:
            import numpy as np
            import pandas as pd

            once = [(code, spans[0]) for code, spans in self.owners.items() if len(spans) == 1]
            self._cols = (pd.Index([code for code, _ in once], dtype=object),
                          np.array([span[0] for _, span in once], dtype=np.int64),
                          np.array([NO_END if span[1] is None else span[1] for _, span in once], dtype=np.int64),
                          np.array([span[2] for _, span in once], dtype=object),
                          {code: spans for code, spans in self.owners.items() if len(spans) > 1})
        return self._cols

    def owner(self, code: str, year: int) -> str | None:
        """The unit the code is registered to in ``year``; None if it is not registered for that year."""
        return self.owners_of([code.strip()], [year])[0]

    def owners_of(self, codes: list[str], years: list[int]) -> list[str | None]:
        """:meth:`owner` of each code (stripped already) in its year, looked up together: the codes registered
        once by index, the few registered more than once each by its first registration that covers the year."""
        import numpy as np

        index, first, last, unit, several = self.columns
        out: list[str | None] = [None] * len(codes)
        if len(index) and codes:
            at = index.get_indexer(codes)
            found = at >= 0
            at = np.where(found, at, 0)
            year = np.asarray(years, dtype=np.int64)
            owned = unit[at]
            owned[~(found & (first[at] <= year) & (year <= last[at]))] = None
            out = owned.tolist()
        for i, code in enumerate(codes) if several else ():
            for first_year, last_year, owner in several.get(code, ()):
                if first_year <= years[i] and (last_year is None or years[i] <= last_year):
                    out[i] = owner
                    break
        return out


@cache
def code_register(name: str) -> CodeRegister:
    """The register stored in ``schemas/registries/<name>.csv`` (columns code, owner, from_year, to_year,
    the last empty while the registration stands), as columns: a register of a province's codes may hold
    millions (read by Arrow's csv reader; by the csv module if that one does not take the file)."""
    import numpy as np
    import pandas as pd

    path = REGISTRY_DIR / f"{name}.csv"
    try:
        codes, first, last, unit = _register_columns(path)
    except ValueError:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = [(row["code"], int(row["from_year"]), int(row["to_year"]) if row.get("to_year") else NO_END,
                     row["owner"]) for row in csv.DictReader(fh)]
        codes = [r[0] for r in rows]
        first, last, unit = (np.array([r[k] for r in rows], dtype=t) for k, t in ((1, np.int64), (2, np.int64),
                                                                                    (3, object)))
    stripped = pd.Index([c.strip() for c in codes], dtype=object)
    repeated = stripped.duplicated(keep=False)
    several: dict[str, tuple[Span, ...]] = {}
    for i in np.flatnonzero(repeated).tolist():
        span = (int(first[i]), None if last[i] == NO_END else int(last[i]), unit[i])
        several[stripped[i]] = (*several.get(stripped[i], ()), span)
    once = ~repeated
    return CodeRegister(name, columns=(stripped[once], first[once], last[once], unit[once], several))


def _register_columns(path: Path) -> tuple[list[str], Any, Any, Any]:
    """A register's codes, first years, last years (:data:`NO_END` while it stands) and owners, read by
    Arrow's csv reader; ValueError if it cannot read them as text and whole numbers."""
    import numpy as np
    import pyarrow as pa
    from pyarrow import csv as pacsv

    types = {"code": pa.string(), "owner": pa.string(), "from_year": pa.int64(), "to_year": pa.int64()}
    try:
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(use_threads=False),
                               convert_options=pacsv.ConvertOptions(
                                   column_types=types, include_columns=list(types), null_values=[""],
                                   strings_can_be_null=False, quoted_strings_can_be_null=False))
    except pa.ArrowException as exc:
        raise ValueError(str(exc)) from exc
    if table.column("from_year").null_count:
        raise ValueError("a registration without its first year")
    owners = table.column("owner").combine_chunks().dictionary_encode()  # a few units: one string each
    return (table.column("code").to_pylist(), table.column("from_year").to_numpy(),
            table.column("to_year").fill_null(NO_END).to_numpy(),
            np.asarray(owners.dictionary.to_pylist(), dtype=object)[owners.indices.to_numpy(zero_copy_only=False)])
