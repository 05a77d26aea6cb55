"""Carrying a warehouse forward (contract §7): its schema version, the numbered upgrade steps of
``warehouse/migrations/`` and the additive changes derived from the forms.

- The schema version is the highest version in ``meta_schema_version``; a warehouse of contract v1
  (created before versions were recorded) is at version 1, the baseline.
- The contract version it holds is that of its latest row: each row records the contract of the code that
  wrote it, and code of another contract than the one recorded adds a ``found`` row when it first opens the
  warehouse, so that the version it holds changes with the code even where no step is pending.
- Each step ``NNNN_name.sql`` (statements) or ``NNNN_name.py`` (a ``migrate(con)`` function) is applied
  once, in order, in one transaction with its version row. Steps are append-only; numbers are unique
  and contiguous from 1.
- What the forms add — a new form's fact table, a new field's column (nullable: earlier rows and
  periods before its ``since`` have none) — is derived by comparing the declared schema with
  ``duckdb_columns()`` and applied in one transaction. Anything else that differs (a rename, a type
  change, a dropped column or table, any change to a table that is not a form's) stops with a message
  naming the step to write.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ecostat.contract.version import CONTRACT_VERSION
from ecostat.store.db import transaction

if TYPE_CHECKING:
    from ecostat.contract.formspec import Form

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "warehouse" / "migrations"
STEP_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sql|py)$")
BASELINE_TABLE = "submission_log"  # present in every warehouse since contract v1
UNDECLARED = "added by newer code, then upgrade ecostat; dropped or renamed, then write a step"


class SchemaTooNew(Exception):
    """The warehouse was written by newer code than this (a higher schema version)."""

    def __init__(self, found: int, known: int):
        super().__init__(f"数据仓库的结构版本为 {found}，高于本程序所知的 {known}：请升级 ecostat 后再使用 / "
                         f"the warehouse has schema version {found}, newer than this code knows ({known}): "
                         "upgrade ecostat before using it")
        self.found, self.known = found, known


class SchemaTooOld(Exception):
    """A reader met a warehouse that the next run (or ``ecostat upgrade``) has yet to carry forward."""

    def __init__(self, found: int, known: int):
        super().__init__(f"数据仓库的结构版本为 {found}，本程序需要 {known}：请先运行 ecostat upgrade"
                         f"（或下一次 ecostat ingest）/ the warehouse has schema version {found}, "
                         f"this code needs {known}: run `ecostat upgrade` (or the next `ecostat ingest`) first")
        self.found, self.known = found, known


class SchemaMismatch(Exception):
    """The warehouse differs from the declared schema in a way no additive change can fix."""

    def __init__(self, problems: list[str]):
        step = f"warehouse/migrations/{latest_version() + 1:04d}_<name>.sql"
        super().__init__("数据仓库结构与定义不符，需要一个迁移步骤 / the warehouse differs from the declared schema; "
                         f"write a migration step {step} for:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Step:
    """One upgrade step of ``warehouse/migrations/``."""

    version: int
    name: str
    path: Path

    def apply(self, con: duckdb.DuckDBPyConnection) -> None:
        """Run the step (inside the caller's transaction)."""
        if self.path.suffix == ".sql":
            text = self.path.read_text(encoding="utf-8")
            if duckdb.extract_statements(text):
                con.execute(text)
            return
        spec = importlib.util.spec_from_file_location(f"ecostat_migration_{self.version:04d}", self.path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.migrate(con)


def steps(directory: Path | None = None) -> list[Step]:
    """Every step in order; their numbers must be unique and contiguous from 1."""
    found = []
    for path in sorted((directory or MIGRATIONS_DIR).iterdir()):
        m = STEP_NAME.match(path.name)
        if m:
            found.append(Step(int(m.group(1)), m.group(2), path))
        elif path.suffix in (".sql", ".py"):
            raise ValueError(f"{path.name}: a migration step is named NNNN_name.sql or NNNN_name.py")
    numbers = [s.version for s in found]
    if numbers != list(range(1, len(found) + 1)):
        raise ValueError(f"migration steps must be numbered 1, 2, 3, … once each; found {numbers}")
    return found


def latest_version() -> int:
    """The schema version this code creates and upgrades to."""
    return steps()[-1].version


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                      "AND database_name = current_database()").fetchall()}


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The warehouse's schema version (None for an empty database)."""
    tables = _tables(con)
    if "meta_schema_version" in tables:
        ((version,),) = con.execute("SELECT max(version) FROM meta_schema_version").fetchall()  # result drained
        if version is not None:
            return int(version)
    return 1 if BASELINE_TABLE in tables else None


def held_contract(con: duckdb.DuckDBPyConnection) -> str | None:
    """The contract version the warehouse holds: its latest ``meta_schema_version`` row's (None: no row)."""
    row = con.execute("SELECT contract_version FROM meta_schema_version ORDER BY applied_at DESC, version DESC "
                      "LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def check_known(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version, if this code knows it (else :class:`SchemaTooNew`)."""
    version = schema_version(con)
    if version is not None and version > latest_version():
        raise SchemaTooNew(version, latest_version())
    return version


def check_current(con: duckdb.DuckDBPyConnection) -> None:
    """For readers: the warehouse is at this code's schema version (an empty database passes)."""
    version = check_known(con)
    if version is not None and version < latest_version():
        raise SchemaTooOld(version, latest_version())


def record(con: duckdb.DuckDBPyConnection, version: int, name: str, how: str, statements: str | None = None) -> None:
    """Add a row to ``meta_schema_version``."""
    con.execute("INSERT INTO meta_schema_version VALUES (?, ?, ?, ?, ?, ?)",
                [version, name, how, CONTRACT_VERSION, dt.datetime.now(dt.UTC), statements])


def apply_steps(con: duckdb.DuckDBPyConnection, version: int) -> list[Step]:
    """Apply every step after ``version``, each in one transaction with its version row."""

    applied = []
    for step in steps():
        if step.version > version:
            with transaction(con):
                step.apply(con)
                record(con, step.version, step.name, "migrated")
            applied.append(step)
    return applied


# ---------------------------------------------------------------- declared vs stored


@dataclass
class Table:
    """A table's columns {name: (normalised type, nullable)}, its other constraints (primary key, unique,
    check, as DuckDB prints them) and the statement that creates it."""

    columns: dict[str, tuple[str, bool]]
    constraints: list[str] = field(default_factory=list)
    create: str = ""


def stored_schema(con: duckdb.DuckDBPyConnection) -> dict[str, Table]:
    """The base tables of the connection's database, with their columns' normalised types."""
    out: dict[str, Table] = {}
    rows = con.execute("""SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns()
                          WHERE schema_name = 'main' AND database_name = current_database()
                            AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'
                                               AND database_name = current_database())
                          ORDER BY table_name, column_index""").fetchall()
    for table, column, dtype, nullable in rows:
        out.setdefault(table, Table({})).columns[column] = (dtype, bool(nullable))
    for table, text in con.execute("""SELECT table_name, constraint_text FROM duckdb_constraints()
                                      WHERE schema_name = 'main' AND database_name = current_database()
                                        AND constraint_type <> 'NOT NULL' ORDER BY ALL""").fetchall():
        if table in out:
            out[table].constraints.append(text)
    return out


@dataclass
class Changes:
    """What carrying the warehouse forward derived from the forms."""

    statements: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def derive(stored: dict[str, Table], declared: dict[str, Table], forms: dict[str, Form]) -> Changes:
    """The additive changes that bring ``stored`` to ``declared``; :class:`SchemaMismatch` for the rest."""
    fields = {f.table: {fl.code: fl for fl in f.fields} for f in forms.values()}
    changes, problems = Changes(), []
    for name in sorted(stored.keys() - declared.keys()):
        problems.append(f"table {name} is in the warehouse but declared nowhere ({UNDECLARED})")
    for name, table in declared.items():
        have = stored.get(name)
        if have is None and name in fields:
            changes.statements.append(table.create)
            changes.names.append(f"create {name}")
            continue
        if have is None:
            problems.append(f"table {name} is declared but not in the warehouse: a new table other than a form's "
                            "is a step (its CREATE TABLE)")
            continue
        for column, (dtype, nullable) in table.columns.items():
            if column not in have.columns:
                spec = fields.get(name, {}).get(column)
                former = [w for w in (spec.was if spec else ()) if w in have.columns]
                if former:
                    problems.append(f"{name}.{column} was {former[0]}: a rename is a step "
                                    f"(ALTER TABLE {name} RENAME COLUMN {former[0]} TO {column})")
                elif spec is not None and nullable:
                    changes.statements.append(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {dtype}')
                    changes.names.append(f"add {name}.{column}")
                else:
                    problems.append(f"{name}.{column} is declared but not in the warehouse (a non-field column)")
            elif have.columns[column] != (dtype, nullable):
                problems.append(f"{name}.{column} is {_shown(have.columns[column])} in the warehouse, "
                                f"declared {_shown((dtype, nullable))}")
        if have.constraints != table.constraints:
            problems.append(f"table {name}'s constraints are {have.constraints} in the warehouse, "
                            f"declared {table.constraints}")
        for column in have.columns.keys() - table.columns.keys():
            renamed = next((f.code for f in fields.get(name, {}).values() if column in f.was), None)
            if renamed is None:
                problems.append(f"{name}.{column} is in the warehouse but declared nowhere ({UNDECLARED})")
    if problems:
        raise SchemaMismatch(problems)
    return changes


def _shown(col: tuple[str, bool]) -> str:
    return col[0] + ("" if col[1] else " NOT NULL")


def apply_derived(con: duckdb.DuckDBPyConnection, changes: Changes, version: int) -> None:
    """Apply derived changes in one transaction with their version row."""

    if changes.statements:
        with transaction(con):
            for sql in changes.statements:
                con.execute(sql)
            record(con, version, "; ".join(changes.names), "derived", ";\n".join(changes.statements))
