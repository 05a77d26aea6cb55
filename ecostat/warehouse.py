"""The DuckDB warehouse: creating it from ``warehouse/*.sql`` and writing to it.

Identifiers in SQL built here come only from the form registry; values are always bound.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow as pa

from ecostat.archive import Receipt
from ecostat.catalogue import Finding

if TYPE_CHECKING:
    from ecostat.formspec import Form

SQL_DIR = Path(__file__).resolve().parent.parent / "warehouse"
FIGURES_FILE = Path(__file__).resolve().parent.parent / "schemas" / "figures.csv"
LAYERS = ("meta", "fact", "core", "mart")
NO_DOWNLOADS: dict[str, str | bool | int | float | list[str]] = {"autoinstall_known_extensions": False,
                                                          "autoload_known_extensions": False}
ISSUE_COLUMNS = ("submission_id", "file", "sheet", "row_number", "column_letter", "header", "value",
                 "rule_id", "severity", "message_zh", "message_en")


def connect(path: Path, *, read_only: bool = False, create: bool = False,
            memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; with ``create``, also create or update its objects (once per run).

    No connection may download extensions; a read-only one may not touch other files or the network
    either (``ecostat query`` runs whatever SQL it is given, within ``memory_limit``, e.g. ``2GB``).
    """
    if read_only:
        config = {**NO_DOWNLOADS, "enable_external_access": False}
        if memory_limit:
            config["memory_limit"] = memory_limit
        return duckdb.connect(str(path), read_only=True, config=config)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), config=NO_DOWNLOADS)
    if create:
        create_objects(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back if anything (even a kill signal
    turned exception) escapes it."""
    con.execute("BEGIN")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def sql_files() -> list[Path]:
    """The warehouse's SQL files in layer order (meta, fact, core, mart)."""
    return sorted(SQL_DIR.glob("*.sql"), key=lambda p: (LAYERS.index(p.stem.split("_")[0]), p.name))


def create_objects(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table and view; a view whose inputs come later in the order is retried."""
    pending = sql_files()
    while pending:
        failed = []
        for path in pending:
            try:
                con.execute(path.read_text(encoding="utf-8"))
            except duckdb.CatalogException:
                failed.append(path)
        if len(failed) == len(pending):
            con.execute(failed[0].read_text(encoding="utf-8"))  # raises the real error
        pending = failed
    with open(FIGURES_FILE, encoding="utf-8", newline="") as fh:
        rows = [(r["figure"], r["name_zh"], r["unit"], r["change_unit"]) for r in csv.DictReader(fh)]
    with transaction(con):
        con.execute("DELETE FROM meta_figure_catalogue")
        con.executemany("INSERT INTO meta_figure_catalogue VALUES (?, ?, ?, ?)", rows)


def record_receipt(con: duckdb.DuckDBPyConnection, rec: Receipt, run_id: str) -> None:
    """Note, in the processing transaction, that a receipt has been processed."""
    con.execute("INSERT INTO meta_received_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [rec.receipt_id, rec.sha256, rec.file, rec.submitter, rec.size, rec.modified_at,
                 rec.received_at, run_id])


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
NOTE_TYPES = {"submission_id": pa.int64(), "position": pa.int32(), "row_number": pa.int32(), "label": pa.string(),
              "value": pa.string()}


@dataclass
class FileLog:
    """What the processing of one received file writes to ``submission_log``, ``validation_issues`` and
    ``meta_submission_notes``, gathered table by table and written with one insert each (:meth:`write`),
    inside the file's transaction; then the submissions the file replaced entirely become superseded."""

    rec: Receipt
    run_id: str
    rows: list[dict[str, object]] = field(default_factory=list)
    issues: list[tuple[object, ...]] = field(default_factory=list)
    notes: list[tuple[int, int, int, str, str]] = field(default_factory=list)
    replaced: dict[str, set[int]] = field(default_factory=dict)  # fact table → submissions it replaced

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
        self.issues += [(submission_id, rec.file, f.sheet, f.row, f.column, f.header, f.value, f.rule_id,
                         f.severity, f.message_zh, f.message_en) for f in findings]
        return submission_id

    def footer(self, submission_id: int, pairs: Sequence[tuple[int, str, str]]) -> None:
        """The label–value pairs of a table's footer (row, label, value), recorded with its submission."""
        self.notes += [(submission_id, k, row, label, value) for k, (row, label, value) in enumerate(pairs, 1)]

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        """Insert everything gathered, then mark superseded the replaced submissions left without a current row."""
        if self.rows:
            insert_arrow(con, "submission_log", pa.table(
                {name: pa.array([r[name] for r in self.rows], type=t) for name, t in LOG_TYPES.items()}))
        if self.issues:
            types = {"submission_id": pa.int64(), "row_number": pa.int64()}
            insert_arrow(con, "validation_issues", pa.table(
                {name: pa.array(list(col), type=types.get(name, pa.string()))
                 for name, col in zip(ISSUE_COLUMNS, zip(*self.issues, strict=True), strict=True)}))
        if self.notes:
            insert_arrow(con, "meta_submission_notes", pa.table(
                {name: pa.array(list(col), type=t)
                 for (name, t), col in zip(NOTE_TYPES.items(), zip(*self.notes, strict=True), strict=True)}))
        for table, ids in self.replaced.items():
            if ids:
                con.execute(f"""UPDATE submission_log SET status = 'superseded'
                                WHERE status = 'accepted' AND list_contains(?, submission_id)
                                  AND submission_id NOT IN (SELECT submission_id FROM "{table}" WHERE is_current)""",
                            [sorted(ids)])


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


def load_accepted(con: duckdb.DuckDBPyConnection, log: FileLog, sid: int, *, form: Form, frame: pd.DataFrame,
                  sheet: str | None, findings: list[Finding]) -> list[int]:
    """Load an accepted table as submission ``sid``, replacing the slices it holds (contract §5).

    Runs inside the caller's transaction (one per received file): one statement retires the current
    rows of every slice the table holds, one Arrow insert adds its rows; its submission_log row goes
    to ``log``. Returns the ids of the submissions it replaced.
    """
    labels = slice_labels(frame)
    retired = con.execute(f'UPDATE "{form.table}" SET is_current = false, superseded_by = ? '
                          "WHERE is_current AND list_contains(?, unit_code || ':' || period) RETURNING submission_id",
                          [sid, labels]).fetchall()
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
