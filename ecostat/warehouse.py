"""The DuckDB warehouse: creating it from ``warehouse/*.sql`` and writing to it.

Identifiers in SQL built here come only from the form registry; values are always bound.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from ecostat.catalogue import Finding
from ecostat.formspec import Form

SQL_DIR = Path(__file__).resolve().parent.parent / "warehouse"
FIGURES_FILE = Path(__file__).resolve().parent.parent / "schemas" / "figures.csv"
LAYERS = ("meta", "fact", "core", "mart")
ISSUE_COLUMNS = ("submission_id", "file", "sheet", "row_number", "column_letter", "header", "value",
                 "rule_id", "severity", "message_zh", "message_en")


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a writable connection also creates or updates its objects."""
    if read_only:
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    create_objects(con)
    return con


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
    con.execute("BEGIN")
    con.execute("DELETE FROM meta_figure_catalogue")
    con.executemany("INSERT INTO meta_figure_catalogue VALUES (?, ?, ?, ?)", rows)
    con.execute("COMMIT")


@dataclass
class Received:
    """A file taken from the inbox."""

    path: Path
    file: str  # path under raw/inbox/, with forward slashes
    submitter: str | None
    sha256: str
    size: int
    modified_at: dt.datetime
    received_at: dt.datetime


def record_file(con: duckdb.DuckDBPyConnection, rec: Received, run_id: str) -> None:
    """Note that a file was received (once per distinct path and bytes)."""
    con.execute("INSERT OR IGNORE INTO meta_received_files VALUES (?, ?, ?, ?, ?, ?, ?)",
                [rec.sha256, rec.file, rec.submitter, rec.size, rec.modified_at, rec.received_at, run_id])


def seen(con: duckdb.DuckDBPyConnection, rec: Received) -> str | None:
    """'same' if this path with these bytes was received before, 'duplicate' if the bytes were, else None."""
    row = con.execute("SELECT bool_or(file = ?) FROM meta_received_files WHERE sha256 = ?",
                      [rec.file, rec.sha256]).fetchone()
    if row is None or row[0] is None:
        return None
    return "same" if row[0] else "duplicate"


def log_submission(con: duckdb.DuckDBPyConnection, rec: Received, run_id: str, *, sheet: str | None,
                   form: str | None, status: str, findings: list[Finding],
                   rows_loaded: int = 0, slices: list[str] | None = None,
                   replaced: list[int] | None = None, submission_id: int | None = None) -> int:
    """Write one submission_log row and its findings; returns the submission id."""
    if submission_id is None:
        submission_id = next_submission_id(con)
    errors = sum(f.severity == "error" for f in findings)
    con.execute("INSERT INTO submission_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [submission_id, run_id, rec.file, sheet, form, rec.submitter, status, errors,
                 len(findings) - errors, rows_loaded, slices or [], replaced or [], rec.sha256,
                 rec.received_at])
    if findings:
        issues = pd.DataFrame([(submission_id, rec.file, f.sheet, f.row, f.column, f.header, f.value,
                                f.rule_id, f.severity, f.message_zh, f.message_en) for f in findings],
                              columns=list(ISSUE_COLUMNS))
        issues["row_number"] = issues["row_number"].astype("Int64")
        insert_frame(con, "validation_issues", issues)
    return submission_id


def next_submission_id(con: duckdb.DuckDBPyConnection) -> int:
    """The next submission id."""
    row = con.execute("SELECT nextval('meta_submission_seq')").fetchone()
    assert row is not None
    return int(row[0])


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert a frame by column name through Arrow (``table`` is a trusted identifier)."""
    con.register("incoming_frame", pa.Table.from_pandas(frame, preserve_index=False))
    try:
        con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM incoming_frame')
    finally:
        con.unregister("incoming_frame")


def load_accepted(con: duckdb.DuckDBPyConnection, rec: Received, run_id: str, *, form: Form,
                  frame: pd.DataFrame, sheet: str | None, findings: list[Finding]) -> tuple[int, list[int]]:
    """Load an accepted table in one transaction, replacing the slices it holds (contract §5).

    Returns the new submission id and the ids of the submissions it replaced.
    """
    con.execute("BEGIN")
    try:
        sid = next_submission_id(con)
        slices = sorted({(u, p) for u, p in zip(frame["unit_code"], frame["period"], strict=True)})
        replaced: set[int] = set()
        for unit, period in slices:
            ids = con.execute(f'SELECT DISTINCT submission_id FROM "{form.table}" '
                              "WHERE is_current AND unit_code = ? AND period = ?", [unit, period]).fetchall()
            replaced.update(i for (i,) in ids)
            con.execute(f'UPDATE "{form.table}" SET is_current = false, superseded_by = ? '
                        "WHERE is_current AND unit_code = ? AND period = ?", [sid, unit, period])
        rows = frame.reset_index(names="source_row")
        rows = rows.drop(columns=[c for c in rows.columns if c.startswith("_") and c != "_at_least"])
        rows = rows.rename(columns={"_at_least": "at_least"}).drop(columns=["period_days"])
        rows = rows.assign(submission_id=sid, sha256=rec.sha256, file=rec.file, sheet=sheet,
                           received_at=rec.received_at, is_current=True, superseded_by=None)
        insert_frame(con, form.table, rows)
        if replaced:
            con.execute(f"""UPDATE submission_log SET status = 'superseded'
                            WHERE status = 'accepted' AND list_contains(?, submission_id)
                              AND submission_id NOT IN (SELECT submission_id FROM "{form.table}" WHERE is_current)""",
                        [sorted(replaced)])
        log_submission(con, rec, run_id, sheet=sheet, form=form.code, status="accepted", findings=findings,
                       rows_loaded=len(rows), slices=[f"{u}:{p}" for u, p in slices],
                       replaced=sorted(replaced), submission_id=sid)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return sid, sorted(replaced)
