"""The Parquet lake: the warehouse's record as plain Parquet files beside it, for engines other than
DuckDB (Spark, Trino, pandas, pyarrow) and for rebuilding the warehouse.

Layout (hive partitioning, one dataset per table)::

    lake/fact_<form>/year=2024/part-0.parquet           every accepted row, current and superseded,
                                                        with its lineage (submission, file, sheet, row)
    lake/submission_log/received_year=2025/…            every table received, with its status
    lake/validation_issues/received_year=2025/…         every finding
    lake/meta_received_files/received_year=2025/…       every receipt processed
    lake/annual_figures/year=2024/…                     the figures served (contract §6)
    lake/meta_figure_log/year=2024/…                    every change of a figure
    lake/<other meta table>/part-0.parquet              runs, alerts, audits, certifications
    lake/_lake.json                                     what was written, from which warehouse state

``received_year`` is the UTC year of ``received_at``. The lake beside a warehouse is
``<warehouse folder>/lake``, a symbolic link to the latest complete version: a refresh writes a new
version into a temporary folder and swaps the link with one rename, so a reader sees the old lake or
the new one, never half of one. One writer at a time (``lake.lock``); the previous version is kept
for readers still on it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.dataset as ds

from ecostat.common.durable import flock, fsync_dir
from ecostat.contract.forms import FORMS
from ecostat.store import migrations
from ecostat.store.db import transaction
from ecostat.store.warehouse import connect

FORMAT = "ecostat-lake/1"
MANIFEST = "_lake.json"


@dataclass(frozen=True)
class Dataset:
    """How one table (or view) is written: its partition column, its row order, and a partition column
    derived for the files (not in the warehouse) with the join it needs."""

    partition: str | None  # None: one file
    order: str             # the warehouse's insertion order, kept in the files and by a restore
    derived: str = ""
    join: str = ""
    # rows only ever appended, in ``order``: written as stored, without a sort (a big fact table's sort
    # costs DuckDB more than a gigabyte)
    stored_in_order: bool = False

    def query(self, name: str) -> str:
        """The SELECT that fills the dataset (``name`` is a trusted identifier)."""
        extra = f", {self.derived}" if self.derived else ""
        order = "" if self.stored_in_order else f" ORDER BY {self.order}"
        return f'SELECT t.*{extra} FROM "{name}" t {self.join}{order}'


RECEIVED_YEAR = "year(timezone('UTC', received_at)) AS received_year"  # the UTC year of receipt
OF_SUBMISSION = "JOIN (SELECT submission_id, received_at FROM submission_log) USING (submission_id)"
DATASETS = {
    "submission_log": Dataset("received_year", "submission_id", RECEIVED_YEAR),
    "validation_issues": Dataset("received_year", "submission_id", RECEIVED_YEAR, OF_SUBMISSION),
    "meta_submission_notes": Dataset("received_year", "submission_id, position", RECEIVED_YEAR, OF_SUBMISSION),
    "meta_received_files": Dataset("received_year", "received_at, receipt_id", RECEIVED_YEAR),
    "annual_figures": Dataset("year", "year, scope, figure, dimension"),
    "meta_figure_log": Dataset("year", "changed_at, year, scope, figure, dimension"),
    "meta_figure_snapshot": Dataset(None, "year, scope, figure, dimension"),
    "meta_ingest_runs": Dataset(None, "started_at"),
    "alerts": Dataset(None, "created_at, alert_key"),
    "meta_audit_results": Dataset(None, "audited_at, audit_id"),
    "meta_certified_figures": Dataset(None, "year, version, scope, figure, dimension"),
    "meta_certification_audit": Dataset(None, "acted_at"),
    "meta_review_warnings": Dataset("received_year", "submission_id, finding_key", RECEIVED_YEAR, OF_SUBMISSION),
    "meta_review_decisions": Dataset(None, "position"),
    "meta_certified_pending": Dataset(None, "year, version, unit_code, form, period"),
}
VIEWS = frozenset({"annual_figures"})  # written for readers; a rebuilt warehouse recomputes them
# Written by every connect(create=True) for the code at hand: the figure catalogue, the units and obligations
# (from schemas/), the due dates (from the settings) and the schema version (the lake's manifest records the
# version it was written at).
NOT_EXPORTED = frozenset({"meta_figure_catalogue", "meta_units", "meta_schema_version", "meta_obligations",
                          "meta_deadlines"})
FILE_MODE, DIR_MODE = 0o640, 0o750  # as the warehouse file: the lake holds the same (personal) data
# What changes the record: a new submission, a review decision or a certification act (a run with nothing
# new does not)
FINGERPRINT = """SELECT (SELECT coalesce(max(submission_id), 0) FROM submission_log),
                        (SELECT count(*) FROM meta_review_decisions),
                        (SELECT count(*) FROM meta_certification_audit)"""


def exports() -> dict[str, Dataset]:
    """Every dataset of the lake: the fact tables (by year, in load order: rows are appended a table at a
    time in submission and row order, never deleted or moved, and DuckDB scans in insertion order), then the
    rest."""
    return {**{f.table: Dataset("year", "submission_id, source_row", stored_in_order=True) for f in FORMS.values()},
            **DATASETS}


def lake_dir(warehouse: Path) -> Path:
    """The lake beside a warehouse file: ``lake`` in its folder."""
    return warehouse.resolve().parent / "lake"


def fingerprint(con: duckdb.DuckDBPyConnection) -> list[int]:
    """What identifies the state of the record (see ``FINGERPRINT``)."""
    (row,) = con.execute(FINGERPRINT).fetchall()
    return [int(v) for v in row]


def write(con: duckdb.DuckDBPyConnection, target: Path, source: str) -> dict[str, object]:
    """Write every dataset into ``target`` (which must not exist) and the manifest last; returns it."""
    target.mkdir(parents=True)
    tables: dict[str, object] = {}
    for name, dataset in exports().items():
        written: list[int] = []
        partition = dataset.partition
        ds.write_dataset(con.sql(dataset.query(name)).to_arrow_reader(100_000), target / name, format="parquet",
                         basename_template="part-{i}.parquet", partitioning=[partition] if partition else None,
                         partitioning_flavor="hive", preserve_order=True, existing_data_behavior="error",
                         file_visitor=lambda f, w=written: w.append(f.metadata.num_rows))
        (target / name).mkdir(exist_ok=True)  # an empty table: a folder without files
        tables[name] = {"partitioning": partition, "rows": sum(written)}
    manifest: dict[str, object] = {
        "format": FORMAT, "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "source": source,
        "schema_version": migrations.schema_version(con), "fingerprint": fingerprint(con), "tables": tables}
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    _seal(target)
    return manifest


def export(warehouse: Path, target: Path) -> dict[str, object]:
    """Write the lake of a published warehouse into a new folder ``target`` (``ecostat export --to``),
    through a temporary sibling renamed into place: ``target`` appears complete or not at all."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} exists and is not an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with connect(warehouse, read_only=True) as con:
            manifest = write(con, tmp, warehouse.name)
        if target.exists():
            target.rmdir()
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def read_manifest(lake: Path) -> dict[str, object] | None:
    """A lake's manifest, or None when there is no (complete) lake."""
    try:
        return json.loads((lake / MANIFEST).read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


@contextmanager
def _locked(lake: Path) -> Iterator[None]:
    with open(lake.with_name(lake.name + ".lock"), "a+", encoding="utf-8") as fh:
        flock(fh, float("inf"))
        yield


def refresh(warehouse: Path) -> str:
    """Bring the lake beside a published warehouse up to date with it; says what it did.

    Nothing is written when the lake already holds the warehouse's record (same fingerprint). The
    published file is opened after the lake lock is taken, so a later refresh never leaves an
    earlier state behind.
    """
    lake = lake_dir(warehouse)
    if lake.exists() and not lake.is_symlink():
        raise FileExistsError(f"{lake} is not the link a lake refresh writes: move it away")
    with _locked(lake), connect(warehouse, read_only=True) as con:
        state = fingerprint(con)
        current = read_manifest(lake)
        if current is not None and current.get("fingerprint") == state:
            return "湖仓无变化 lake unchanged: nothing new since its last refresh"
        version = lake.with_name(f".lake-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}")
        try:
            manifest = write(con, version, warehouse.name)
        except BaseException:
            shutil.rmtree(version, ignore_errors=True)
            raise
        link = lake.with_name(f".lake-link-{uuid.uuid4().hex[:8]}")
        os.symlink(version.name, link)
        os.replace(link, lake)
        fsync_dir(lake.parent)
        _prune(lake)
    rows = sum(t["rows"] for t in manifest["tables"].values())  # type: ignore[attr-defined]
    return f"湖仓已更新 lake refreshed: {len(manifest['tables'])} datasets, {rows} rows → {lake}"  # type: ignore[arg-type]


def _prune(lake: Path) -> None:
    """Remove the lake's versions but the newest two: the current one and the one before it, which a
    reader may still be on."""
    versions = sorted(p for p in lake.parent.glob(".lake-*") if p.is_dir() and not p.is_symlink())
    current = Path(os.readlink(lake)).name
    for old in versions[:-2]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def _seal(root: Path) -> None:
    """Make a written lake durable (fsync'd) and as private as the warehouse file."""
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            path.chmod(FILE_MODE)
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        Path(dirpath).chmod(DIR_MODE)
        fsync_dir(Path(dirpath))


def check_restorable(lake: Path) -> None:
    """A complete lake written at this code's warehouse schema version (else ValueError, saying why)."""
    manifest = read_manifest(lake)
    if manifest is None or manifest.get("format") != FORMAT:
        raise ValueError(f"{lake} holds no complete lake ({MANIFEST} missing or of another format)")
    if manifest.get("schema_version") != migrations.latest_version():
        raise ValueError(f"{lake} was written at warehouse schema version {manifest.get('schema_version')}, this "
                         f"code is at {migrations.latest_version()}: rebuild from the archive alone (without --lake)")


def restore(con: duckdb.DuckDBPyConnection, lake: Path) -> int:
    """Fill a new, empty warehouse from a lake: every table the lake holds (views are recomputed) and
    the submission numbering after it. Returns the receipts restored; the archive's later receipts
    are then replayed by :func:`ecostat.run.pending.replay`."""
    check_restorable(lake)
    with transaction(con):
        for name, dataset in exports().items():
            if name in VIEWS or not any((lake / name).rglob("*.parquet")):
                continue
            columns = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                                                 "ORDER BY column_index", [name]).fetchall()]
            quoted = ", ".join(f'"{c}"' for c in columns)
            files, hive = ("**/*.parquet", "true") if dataset.partition else ("*.parquet", "false")
            con.execute(f'INSERT INTO "{name}" ({quoted}) SELECT {quoted} FROM '
                        f"read_parquet(?, hive_partitioning = {hive}) ORDER BY {dataset.order}",
                        [str(lake / name / files)])
        last = con.execute("SELECT coalesce(max(submission_id), 0) FROM submission_log").fetchone()
        con.execute("SELECT count(nextval('meta_submission_seq')) FROM range(?)", [last[0] if last else 0])
        row = con.execute("SELECT count(*) FROM meta_received_files").fetchone()
    return int(row[0]) if row else 0
