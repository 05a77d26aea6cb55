"""The DuckDB warehouse: creating it (from ``warehouse/*.sql`` and what :mod:`ecostat.store.formsql` and
:mod:`ecostat.store.figuredefs` derive from the forms and figures), carrying it forward
(:mod:`ecostat.store.migrations`); the loads into it are :mod:`ecostat.store.loading`'s.

Identifiers in SQL built here come only from the form registry; values are always bound.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb

from ecostat.common.faults import fault_point
from ecostat.contract.forms import FORMS
from ecostat.contract.obligations import obligations
from ecostat.contract.registry import registry
from ecostat.contract.version import CONTRACT_VERSION
from ecostat.store import figuredefs, formsql, migrations
from ecostat.store.db import transaction

log = logging.getLogger(__name__)
SQL_DIR = Path(__file__).resolve().parents[2] / "warehouse"
LAYERS = ("meta", "fact", "core", "mart")
NO_DOWNLOADS: dict[str, str | bool | int | float | list[str]] = {"autoinstall_known_extensions": False,
                                                          "autoload_known_extensions": False}


def connect(path: Path, *, read_only: bool = False, create: bool = False,
            memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; with ``create``, also create or carry forward its objects (once per run).

    No connection may download extensions; a read-only one may not touch other files or the network
    either (``ecostat query`` runs whatever SQL it is given, within ``memory_limit``, e.g. ``2GB``), and
    refuses a warehouse at another schema version than this code's: written by newer code, or not yet
    carried forward by ``ecostat upgrade``.
    """
    if read_only:
        config = {**NO_DOWNLOADS, "enable_external_access": False}
        if memory_limit:
            config["memory_limit"] = memory_limit
        con = duckdb.connect(str(path), read_only=True, config=config)
        try:
            migrations.check_current(con)
        except BaseException:
            con.close()
            raise
        return con
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), config=NO_DOWNLOADS)
    if create:
        try:
            create_objects(con)
        except BaseException:
            con.close()
            raise
    return con


def sql_files() -> list[Path]:
    """The warehouse's hand-written SQL files (those naming no form's field)."""
    return sorted(SQL_DIR.glob("*.sql"))


def declared_objects() -> list[tuple[str, str]]:
    """Every table and view as (name, SQL) in layer order (meta, fact, core, mart): the SQL files, and
    what is derived from the forms (fact tables, slices, final values) and the figures (their rows, sql figures)."""
    forms = list(FORMS.values())
    objects = [(p.stem, p.read_text(encoding="utf-8")) for p in sql_files()]
    objects += [(f.table, formsql.fact_table(f)) for f in forms]
    objects += [("core_form_slices", formsql.form_slices(forms)), ("core_final_values", formsql.final_values(forms)),
                ("mart_sql_figures", figuredefs.sql_figures_view(figuredefs.figures())),
                ("mart_figure_rows", figuredefs.figure_rows_view(figuredefs.figures(), FORMS))]
    return sorted(objects, key=lambda o: (LAYERS.index(o[0].split("_")[0]), o[0]))


def _execute_all(con: duckdb.DuckDBPyConnection, statements: list[str]) -> list[str]:
    """Run every statement; one whose inputs come later in the order is retried. Returns the order that
    worked."""
    pending, done = list(statements), []
    while pending:
        failed = []
        for sql in pending:
            try:
                con.execute(sql)
                done.append(sql)
            except duckdb.CatalogException:
                failed.append(sql)
        if len(failed) == len(pending):
            con.execute(failed[0])  # raises the real error
        pending = failed
    return done


@cache
def _built(statements: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, migrations.Table]]:
    """The declared objects built in memory: an order in which they all create, and their tables."""
    with duckdb.connect(":memory:", config=NO_DOWNLOADS) as mem:
        order = _execute_all(mem, list(statements))
        tables = migrations.stored_schema(mem)
        for name, sql in mem.execute("SELECT table_name, sql FROM duckdb_tables()").fetchall():
            tables[name].create = sql
    return tuple(order), tables


def declared_schema() -> dict[str, migrations.Table]:
    """The tables a warehouse created now would have, with their CREATE statements."""
    return _built(tuple(sql for _, sql in declared_objects()))[1]


@dataclass
class Upgrade:
    """What :func:`create_objects` did to the warehouse's schema."""

    found: int | None  # the schema version before (None: a new warehouse)
    version: int  # the schema version now
    steps: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    contract: str | None = None  # the contract version it held before, where one was recorded and it was another

    def text(self) -> str:
        """One line per change, Chinese first."""
        if self.found is None:
            return f"新建数据仓库，结构版本 {self.version} / new warehouse at schema version {self.version}"
        lines = [f"结构版本 {self.found} → {self.version} / schema version {self.found} → {self.version}"
                 if self.steps else f"结构版本 {self.version}，无需迁移 / schema version {self.version}: up to date"]
        lines += [f"  迁移 step {s}" for s in self.steps]
        lines += [f"  派生 derived {d}" for d in self.derived]
        if self.contract is not None:
            lines.append(f"合同版本 {self.contract} → {CONTRACT_VERSION}，已有审核结论不变 / contract version "
                         f"{self.contract} → {CONTRACT_VERSION}: the verdicts on record stand")
        return "\n".join(lines)


def create_objects(con: duckdb.DuckDBPyConnection) -> Upgrade:
    """Create every table and view, or carry an existing warehouse forward (contract §7): refuse a newer
    schema version, apply the pending migration steps, derive what the forms add, then recreate the
    views and comments and reload the figure catalogue and the units. Stored rows are never rewritten."""
    problems = (figuredefs.figure_problems(figuredefs.figures(), FORMS)
                + figuredefs.reference_problems(figuredefs.figures(), FORMS))
    if problems:
        raise ValueError("figure or registry definitions are inconsistent:\n" + "\n".join(problems))
    found = migrations.check_known(con)
    latest = migrations.latest_version()
    upgrade = Upgrade(found, latest)
    objects = _built(tuple(sql for _, sql in declared_objects()))[0]
    if found is None:  # a new warehouse: every object and its version row, or nothing (a kill mid-way)
        with transaction(con):
            con.execute((SQL_DIR / "meta_schema_version.sql").read_text(encoding="utf-8"))
            for sql in objects:
                con.execute(sql)
            fault_point("creating")
            migrations.record(con, latest, migrations.steps()[-1].name, "created")
    else:
        con.execute((SQL_DIR / "meta_schema_version.sql").read_text(encoding="utf-8"))
        held = migrations.held_contract(con)
        if held != CONTRACT_VERSION:  # none recorded (contract v1), or code of another contract wrote it last
            migrations.record(con, found, migrations.steps()[found - 1].name, "found")
            upgrade.contract = held
        upgrade.steps = [f"{s.version:04d}_{s.name}" for s in migrations.apply_steps(con, found)]
        changes = migrations.derive(migrations.stored_schema(con), declared_schema(), FORMS)
        migrations.apply_derived(con, changes, latest)
        upgrade.derived = changes.names
        if upgrade.steps or upgrade.derived or upgrade.contract is not None:
            log.warning("%s", upgrade.text())
        with transaction(con):  # one commit, not one a statement
            for sql in objects:  # views are recreated every run (a new warehouse's were just created)
                con.execute(sql)
    with transaction(con):
        _comment_facts(con)
    with transaction(con):
        con.execute("DELETE FROM meta_figure_catalogue")
        con.executemany("INSERT INTO meta_figure_catalogue VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        figuredefs.catalogue_rows(figuredefs.figures(), FORMS))
        con.execute("DELETE FROM meta_units")
        con.executemany("INSERT INTO meta_units VALUES (?, ?, ?)",
                        [[e.code, e.name, e.get("kind")] for e in registry("units").entries])
        con.execute("DELETE FROM meta_obligations")
        con.executemany("INSERT INTO meta_obligations VALUES (?, ?)",
                        [[form, unit] for form, units in obligations().items() for unit in units])
    return upgrade


def _comment_facts(con: duckdb.DuckDBPyConnection) -> None:
    """Set the fact tables' column comments where they differ from the forms' names and units."""
    stored = {(t, c): comment for t, c, comment in con.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE starts_with(table_name, 'fact_')"
    ).fetchall()}
    for form in FORMS.values():
        if any(stored.get((form.table, c.name)) != c.comment for c in formsql.columns(form)):
            con.execute(formsql.fact_comments(form))


def processed_receipts(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The ids of the receipts the warehouse has processed."""
    return {r for (r,) in con.execute("SELECT receipt_id FROM meta_received_files").fetchall()}
