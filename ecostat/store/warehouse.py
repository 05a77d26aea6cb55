"""The DuckDB warehouse: creating it (from ``warehouse/*.sql`` and what :mod:`ecostat.store.formsql` and
:mod:`ecostat.store.figuredefs` derive from the forms and figures), carrying it forward
(:mod:`ecostat.store.migrations`) and writing to it.

Identifiers in SQL built here come only from the form registry; values are always bound.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, cast

import duckdb
import pandas as pd
import pyarrow as pa

from ecostat.common.faults import fault_point
from ecostat.contract.catalogue import Finding, needs_explanation
from ecostat.contract.forms import FORMS
from ecostat.contract.obligations import obligations
from ecostat.contract.registry import registry
from ecostat.intake.archive import Receipt
from ecostat.store import figuredefs, formsql, migrations
from ecostat.store.db import transaction

if TYPE_CHECKING:
    from ecostat.contract.formspec import Form

log = logging.getLogger(__name__)
SQL_DIR = Path(__file__).resolve().parents[2] / "warehouse"
LAYERS = ("meta", "fact", "core", "mart")
NO_DOWNLOADS: dict[str, str | bool | int | float | list[str]] = {"autoinstall_known_extensions": False,
                                                          "autoload_known_extensions": False}
ONE_THREAD_BELOW = 4 * 2**20  # received bytes (:class:`StatementThreads`)
ISSUE_COLUMNS = ("submission_id", "file", "sheet", "row_number", "column_letter", "header", "value",
                 "rule_id", "severity", "message_zh", "message_en")


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

    def text(self) -> str:
        """One line per change, Chinese first."""
        if self.found is None:
            return f"新建数据仓库，结构版本 {self.version} / new warehouse at schema version {self.version}"
        lines = [f"结构版本 {self.found} → {self.version} / schema version {self.found} → {self.version}"
                 if self.steps else f"结构版本 {self.version}，无需迁移 / schema version {self.version}: up to date"]
        lines += [f"  迁移 step {s}" for s in self.steps]
        lines += [f"  派生 derived {d}" for d in self.derived]
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
        if con.execute("SELECT count(*) FROM meta_schema_version").fetchone() == (0,):
            migrations.record(con, found, migrations.steps()[found - 1].name, "found")
        upgrade.steps = [f"{s.version:04d}_{s.name}" for s in migrations.apply_steps(con, found)]
        changes = migrations.derive(migrations.stored_schema(con), declared_schema(), FORMS)
        migrations.apply_derived(con, changes, latest)
        upgrade.derived = changes.names
        if upgrade.steps or upgrade.derived:
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


def already_loaded(con: duckdb.DuckDBPyConnection, sha256: str, submitter: str | None) -> bool:
    """Whether the same submitter already sent these exact bytes and a table of them was loaded.

    Bytes that were rejected (from the wrong folder, say, or before their period had ended) are
    checked again when sent again.
    """
    row = con.execute("""SELECT count(*) FROM submission_log WHERE sha256 = ? AND submitter IS NOT DISTINCT FROM ?
                         AND status IN ('accepted', 'superseded')""", [sha256, submitter]).fetchone()
    return row != (0,)


LOG_TYPES = {"submission_id": pa.int64(), "run_id": pa.string(), "file": pa.string(), "sheet": pa.string(),
             "form": pa.string(), "submitter": pa.string(), "status": pa.string(), "errors": pa.int32(),
             "warnings": pa.int32(), "rows_loaded": pa.int32(), "slices": pa.list_(pa.string()),
             "replaced": pa.list_(pa.int64()), "sha256": pa.string(), "received_at": pa.timestamp("us", "UTC")}
WARNING_TYPES = pa.schema({"submission_id": pa.int64(), "form": pa.string(), "unit_code": pa.string(),
                           "period": pa.string(), "finding_key": pa.string(), "rule_id": pa.string(),
                           "field": pa.string(), "value": pa.string(), "row_number": pa.int32(),
                           "message_zh": pa.string(), "message_en": pa.string(), "cell_explanation": pa.string()})


def review_warnings(submission_id: int, findings: list[Finding]) -> list[dict[str, object]]:
    """The rows of ``meta_review_warnings`` for an accepted table's findings that need an explanation (those
    the checks marked with their slice and key, :mod:`ecostat.check.explain`)."""
    return [{"submission_id": submission_id, "form": f.params["form"], "unit_code": f.params["unit_code"],
             "period": f.params["period"], "finding_key": f.params["finding_key"], "rule_id": f.rule_id,
             "field": f.params["field"], "value": f.value, "row_number": f.row, "message_zh": f.message_zh,
             "message_en": f.message_en, "cell_explanation": f.params.get("explanation")}
            for f in findings if needs_explanation(f.rule_id) and "finding_key" in f.params]


RECEIVED_TYPES = pa.schema({"receipt_id": pa.string(), "sha256": pa.string(), "file": pa.string(),
                            "submitter": pa.string(), "size_bytes": pa.int64(),
                            "modified_at": pa.timestamp("us", "UTC"), "received_at": pa.timestamp("us", "UTC"),
                            "run_id": pa.string()})
NOTE_TYPES = {"submission_id": pa.int64(), "position": pa.int32(), "row_number": pa.int32(), "label": pa.string(),
              "value": pa.string()}


@dataclass
class FileLog:
    """What the processing of one received file writes to ``submission_log``, ``validation_issues``,
    ``meta_submission_notes`` and ``meta_review_warnings``, gathered table by table, written with the other files'
    of its transaction (:meth:`GroupWrites.write`)."""

    rec: Receipt
    run_id: str
    rows: list[dict[str, object]] = field(default_factory=list)
    issues: list[tuple[object, ...]] = field(default_factory=list)
    notes: list[tuple[int, int, int, str, str]] = field(default_factory=list)
    replaced: dict[str, set[int]] = field(default_factory=dict)  # fact table → submissions it replaced
    warnings: list[dict[str, object]] = field(default_factory=list)  # of meta_review_warnings

    def add(self, submission_id: int, *, sheet: str | None, form: str | None, status: str,
            findings: list[Finding], rows_loaded: int = 0, slices: list[str] | None = None,
            replaced: list[int] | None = None) -> int:
        """One table's submission_log row and its findings; returns its submission id."""
        errors = sum(f.severity == "error" for f in findings)
        rec = self.rec
        self.rows.append({"submission_id": submission_id, "run_id": self.run_id, "file": rec.file, "sheet": sheet,
                          "form": form, "submitter": rec.submitter, "status": status, "errors": errors,
                          "warnings": len(findings) - errors, "rows_loaded": rows_loaded, "slices": slices or [],
                          "replaced": replaced or [], "sha256": rec.sha256, "received_at": rec.received_at})
        if status == "accepted":
            self.warnings += review_warnings(submission_id, findings)
        self.issues += [(submission_id, rec.file, f.sheet, f.row, f.column, f.header, f.value, f.rule_id,
                         f.severity, f.message_zh, f.message_en) for f in findings]
        return submission_id

    def footer(self, submission_id: int, pairs: Sequence[tuple[int, str, str]]) -> None:
        """The label–value pairs of a table's footer (row, label, value), recorded with its submission."""
        self.notes += [(submission_id, k, row, label, value) for k, (row, label, value) in enumerate(pairs, 1)]


def next_submission_ids(con: duckdb.DuckDBPyConnection, n: int) -> list[int]:
    """The next ``n`` submission ids, in one statement."""
    return sorted(int(i) for (i,) in con.execute("SELECT nextval('meta_submission_seq') FROM range(?)",
                                                  [n]).fetchall())


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert a frame by column name through Arrow (``table`` is a trusted identifier)."""
    insert_arrow(con, table, pa.Table.from_arrays([pa.array(frame[c], from_pandas=True) for c in frame.columns],
                                                  names=[str(c) for c in frame.columns]))


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    """Insert an Arrow table by column name, in one statement (``table`` is a trusted identifier)."""
    incoming_frame = data  # noqa: F841 - DuckDB reads it by its name (a replacement scan of this frame's locals)
    con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM incoming_frame')


@dataclass
class StatementThreads:
    """The threads a connection's statements run on, chosen file by file (:meth:`for_file`)."""

    one: bool | None = None  # on one thread; None: not chosen yet

    def for_file(self, con: duckdb.DuckDBPyConnection, size: int | None) -> None:
        """Run the next statements on one thread for a file under :data:`ONE_THREAD_BELOW` bytes, on all for a
        bigger one or ``size`` None: a small file's statements spend more on starting DuckDB's threads than
        working in them (one thread made a city's monthly workbooks load ≈ 20 % faster, ``benchmarks.run``)."""
        one = size is not None and size < ONE_THREAD_BELOW
        if one != self.one:
            con.execute("SET threads = 1" if one else "RESET threads")
            self.one = one


@dataclass
class CurrentSlices:
    """The ``unit:period`` slices each fact table holds current rows of, as a transaction has left them: read
    once a table per transaction, kept by :func:`load_accepted`, so that a table whose slices are all new
    (most of them) needs no statement to retire what it replaces. Cleared when a transaction begins."""

    tables: dict[str, set[str]] = field(default_factory=dict)

    def any_held(self, con: duckdb.DuckDBPyConnection, table: str, labels: list[str]) -> bool:
        """Whether ``table`` (a trusted identifier) holds current rows of any of the slices ``labels``."""
        if table not in self.tables:
            self.tables[table] = {s for (s,) in con.execute(
                f"""SELECT DISTINCT unit_code || ':' || period FROM "{table}" WHERE is_current""").fetchall()}
        return not self.tables[table].isdisjoint(labels)

    def clear(self) -> None:
        """Forget every table's slices (a transaction begins: the last one may have been rolled back)."""
        self.tables.clear()


@dataclass
class GroupWrites:
    """What the transaction of a group of received files has gathered and not written yet: each file's log,
    written with one insert per table before the commit (:meth:`write`), and the slices the fact tables hold
    current rows of as the group's loads left them (:class:`CurrentSlices`). Cleared as each transaction begins."""

    logs: list[FileLog] = field(default_factory=list)
    slices: CurrentSlices = field(default_factory=CurrentSlices)
    stored: dict[str, set[str | None]] = field(default_factory=dict)  # of the bytes asked ahead: who loaded them

    def clear(self) -> None:
        """Forget everything (a transaction begins: the last one committed, or was rolled back)."""
        self.logs.clear()
        self.slices.clear()
        self.stored.clear()

    def ask_ahead(self, con: duckdb.DuckDBPyConnection, sha256s: list[str]) -> None:
        """Learn in one statement which submitters the warehouse holds loaded tables of these bytes from (what
        :meth:`loaded` then answers for them without a statement each)."""
        self.stored.update({sha: set() for sha in sha256s})
        for sha, submitter in con.execute("""SELECT DISTINCT sha256, submitter FROM submission_log
                                             WHERE status IN ('accepted', 'superseded') AND list_contains(?, sha256)""",
                                          [sorted(set(sha256s))]).fetchall():
            self.stored[sha].add(submitter)

    def loaded(self, con: duckdb.DuckDBPyConnection, sha256: str, submitter: str | None) -> bool:
        """Whether the same submitter already sent these exact bytes and a table of them was loaded, by the
        warehouse (:func:`already_loaded`) or an earlier file of the group."""
        if any(r["status"] == "accepted" and r["sha256"] == sha256 and r["submitter"] == submitter
               for log in self.logs for r in log.rows):
            return True
        return submitter in self.stored[sha256] if sha256 in self.stored else already_loaded(con, sha256, submitter)

    def files(self) -> dict[int, str]:
        """The file of each submission the group has logged."""
        return {cast(int, r["submission_id"]): cast(str, r["file"]) for log in self.logs for r in log.rows}

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        """Insert every log gathered and mark every file's receipt processed, then mark superseded the replaced
        submissions left without a current row."""
        logs, self.logs = self.logs, []
        rows = [r for log in logs for r in log.rows]
        issues = [i for log in logs for i in log.issues]
        notes = [n for log in logs for n in log.notes]
        warnings = [w for log in logs for w in log.warnings]
        if rows:
            insert_arrow(con, "submission_log", pa.table(
                {name: pa.array([r[name] for r in rows], type=t) for name, t in LOG_TYPES.items()}))
        if issues:
            types = {"submission_id": pa.int64(), "row_number": pa.int64()}
            insert_arrow(con, "validation_issues", pa.table(
                {name: pa.array(list(col), type=types.get(name, pa.string()))
                 for name, col in zip(ISSUE_COLUMNS, zip(*issues, strict=True), strict=True)}))
        if notes:
            insert_arrow(con, "meta_submission_notes", pa.table(
                {name: pa.array(list(col), type=t)
                 for (name, t), col in zip(NOTE_TYPES.items(), zip(*notes, strict=True), strict=True)}))
        if warnings:
            insert_arrow(con, "meta_review_warnings", pa.Table.from_pylist(warnings, schema=WARNING_TYPES))
        if logs:
            insert_arrow(con, "meta_received_files", pa.Table.from_pylist(
                [{"receipt_id": log.rec.receipt_id, "sha256": log.rec.sha256, "file": log.rec.file,
                  "submitter": log.rec.submitter, "size_bytes": log.rec.size, "modified_at": log.rec.modified_at,
                  "received_at": log.rec.received_at, "run_id": log.run_id} for log in logs], schema=RECEIVED_TYPES))
        replaced: dict[str, set[int]] = {}
        for log in logs:
            for table, ids in log.replaced.items():
                replaced.setdefault(table, set()).update(ids)
        for table, ids in replaced.items():
            if ids:
                con.execute(f"""UPDATE submission_log SET status = 'superseded'
                                WHERE status = 'accepted' AND list_contains(?, submission_id)
                                  AND submission_id NOT IN (SELECT submission_id FROM "{table}" WHERE is_current)""",
                            [sorted(ids)])


def load_accepted(con: duckdb.DuckDBPyConnection, log: FileLog, sid: int, *, form: Form, frame: pd.DataFrame,
                  sheet: str | None, findings: list[Finding], labels: list[str],
                  current: CurrentSlices | None = None) -> list[int]:
    """Load an accepted table as submission ``sid``, replacing the slices it holds (``labels``,
    :func:`slice_labels`; contract §5).

    Runs inside the caller's transaction: one statement retires the current rows of every slice the table
    holds (none when ``current`` knows they hold none), one Arrow insert adds its rows; its submission_log row
    goes to ``log``. Returns the ids of the submissions it replaced.
    """
    retired = con.execute(f'UPDATE "{form.table}" SET is_current = false, superseded_by = ? '
                          "WHERE is_current AND list_contains(?, unit_code || ':' || period) RETURNING submission_id",
                          [sid, labels]).fetchall() if current is None or current.any_held(con, form.table, labels) \
        else []
    if current is not None:
        current.tables[form.table].update(labels)
    replaced = sorted({i for (i,) in retired})
    values = [c for c in frame.columns if not c.startswith("_") and c != "period_days"]
    n = len(frame)
    rec = log.rec
    columns = {c: pa.array(frame[c], from_pandas=True) for c in values}
    columns["at_least"] = pa.array(frame["_at_least"], type=pa.list_(pa.string()), from_pandas=True)
    columns["source_row"] = pa.array(frame.index, type=pa.int64())
    columns.update({"submission_id": pa.repeat(sid, n), "sha256": pa.repeat(rec.sha256, n),
                    "file": pa.repeat(rec.file, n), "sheet": pa.repeat(pa.scalar(sheet, pa.string()), n),
                    "received_at": pa.repeat(pa.scalar(rec.received_at), n), "is_current": pa.repeat(True, n),
                    "superseded_by": pa.nulls(n, pa.int64())})
    insert_arrow(con, form.table, pa.table(columns))
    log.replaced.setdefault(form.table, set()).update(replaced)
    log.add(sid, sheet=sheet, form=form.code, status="accepted", findings=findings, rows_loaded=n, slices=labels,
            replaced=replaced)
    return replaced


def slice_labels(frame: pd.DataFrame | None) -> list[str]:
    """The ``unit:period`` slices a table's rows name (rows with an unreadable unit or period left out)."""
    if frame is None:
        return []
    pairs = set(zip(frame["unit_code"].tolist(), frame["period"].tolist(), strict=True))
    return sorted(f"{u}:{p}" for u, p in pairs if isinstance(u, str) and isinstance(p, str))
