"""Writing received files into the warehouse inside a run's transactions: a table's rows loaded with the slices
they replace retired (:func:`load_accepted`), each file's log (:class:`FileLog`), and what a group of files
gathers before it commits (:class:`GroupWrites`: the logs, the fact rows not inserted yet, the slices held).

Identifiers in SQL built here come only from the form registry; values are always bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import duckdb
import pyarrow as pa

from ecostat.contract.catalogue import Finding, needs_explanation
from ecostat.intake.archive import Receipt

if TYPE_CHECKING:
    from ecostat.contract.formspec import Form

ONE_THREAD_BELOW = 4 * 2**20  # received bytes (:class:`StatementThreads`)
INSERT_AT_ONCE = 50_000  # rows of a table inserted when loaded, not held for the group's insert (their memory)
ISSUE_COLUMNS = ("submission_id", "file", "sheet", "row_number", "column_letter", "header", "value",
                 "rule_id", "severity", "message_zh", "message_en")


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
        working in them (a 5-row Arrow insert 1.1 → 0.73 ms, measured; ``docs/benchmark.md``)."""
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

    def add(self, table: str, labels: list[str]) -> None:
        """Note that ``table`` now holds current rows of the slices ``labels`` (after :meth:`any_held` of it)."""
        self.tables[table].update(labels)

    def clear(self) -> None:
        """Forget every table's slices (a transaction begins: the last one may have been rolled back)."""
        self.tables.clear()


@dataclass
class GroupWrites:
    """What the transaction of a group of received files has gathered and not written yet: each file's log and
    the fact rows loaded (inserted with one statement per table, before anything reads them and before the
    commit, :meth:`reading`, :meth:`write`); what it knows of the warehouse as the group's loads left it: the
    slices the fact tables hold (:class:`CurrentSlices`), who loaded the group's bytes before (:meth:`loaded`).
    Cleared as each transaction begins."""

    logs: list[FileLog] = field(default_factory=list)
    slices: CurrentSlices = field(default_factory=CurrentSlices)
    stored: dict[str, set[str | None]] = field(default_factory=dict)  # of the bytes asked ahead: who loaded them
    facts: dict[str, list[pa.Table]] = field(default_factory=dict)  # fact table → rows loaded, not inserted yet
    units: dict[str, set[object]] = field(default_factory=dict)  # fact table → the units of those rows

    def clear(self) -> None:
        """Forget everything (a transaction begins: the last one committed, or was rolled back)."""
        self.logs.clear()
        self.slices.clear()
        self.stored.clear()
        self.facts.clear()
        self.units.clear()

    def load(self, con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, units: Iterable[object]) -> None:
        """Load ``rows`` into the fact table ``table``: held, to be inserted with the group's other rows of it
        before anything reads them (:meth:`reading`), at once when they are many (their memory)."""
        if rows.num_rows >= INSERT_AT_ONCE:
            insert_arrow(con, table, rows)
            return
        self.facts.setdefault(table, []).append(rows)
        self.units.setdefault(table, set()).update(units)

    def reading(self, con: duckdb.DuckDBPyConnection, table: str, units: Iterable[object] | None = None) -> None:
        """Before the current rows of ``table`` are read (of ``units`` only, or all): insert the rows held for it,
        if any of them could be read."""
        held = self.facts.get(table)
        if held and (units is None or not self.units[table].isdisjoint(units)):
            insert_arrow(con, table, pa.concat_tables(held, promote_options="default"))
            del self.facts[table], self.units[table]

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
        """Insert the fact rows held, every log gathered and mark every file's receipt processed, then mark
        superseded the replaced submissions left without a current row."""
        for table in list(self.facts):
            self.reading(con, table)
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


def load_accepted(con: duckdb.DuckDBPyConnection, log: FileLog, sid: int, *, form: Form, rows: pa.Table,
                  sheet: str | None, findings: list[Finding], labels: list[str], group: GroupWrites) -> list[int]:
    """Load an accepted table's ``rows`` (:meth:`ecostat.check.types.CheckedTable.values`) as submission ``sid``,
    replacing the slices it holds (``labels``, :func:`slice_labels`; contract §5).

    Runs inside the caller's transaction: one statement retires the current rows of every slice the table
    holds (none when the ``group`` knows they hold none), and its rows are loaded with the group's others of the
    same form (:meth:`GroupWrites.load`); its submission_log row goes to ``log``. Returns the ids of the
    submissions it replaced.
    """
    retired: list[tuple[int]] = []
    if group.slices.any_held(con, form.table, labels):
        group.reading(con, form.table)  # the rows to retire may be held
        retired = con.execute(f'UPDATE "{form.table}" SET is_current = false, superseded_by = ? '
                              "WHERE is_current AND list_contains(?, unit_code || ':' || period) "
                              "RETURNING submission_id", [sid, labels]).fetchall()
    replaced = sorted({i for (i,) in retired})
    n = rows.num_rows
    rec = log.rec
    columns = dict(zip(rows.column_names, rows.columns, strict=True))
    columns.update({"submission_id": pa.repeat(sid, n), "sha256": pa.repeat(rec.sha256, n),
                    "file": pa.repeat(rec.file, n), "sheet": pa.repeat(pa.scalar(sheet, pa.string()), n),
                    "received_at": pa.repeat(pa.scalar(rec.received_at), n), "is_current": pa.repeat(True, n),
                    "superseded_by": pa.nulls(n, pa.int64())})
    group.slices.add(form.table, labels)
    group.load(con, form.table, pa.table(columns), {label.split(":", 1)[0] for label in labels})
    log.replaced.setdefault(form.table, set()).update(replaced)
    log.add(sid, sheet=sheet, form=form.code, status="accepted", findings=findings, rows_loaded=n, slices=labels,
            replaced=replaced)
    return replaced


def slice_labels(rows: pa.Table | None) -> list[str]:
    """The ``unit:period`` slices a table's rows name (rows with an unreadable unit or period left out)."""
    if rows is None:
        return []
    pairs = set(zip(rows["unit_code"].to_pylist(), rows["period"].to_pylist(), strict=True))
    return sorted(f"{u}:{p}" for u, p in pairs if isinstance(u, str) and isinstance(p, str))
