"""Shared fixtures: files made by the tests themselves, and one Prefect test harness per session."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ecostat import ingest as steps
from ecostat import settings
from ecostat.ingest import TableOutcome
from ecostat.warehouse import connect

settings.apply()
SAMPLES = Path(__file__).resolve().parent.parent / "raw" / "samples"


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """Write a workbook with one sheet per entry."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    """Write a csv in the given encoding."""
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def ingest_files(raw: Path, db: Path) -> tuple[duckdb.DuckDBPyConnection, str, list[TableOutcome]]:
    """Receive the inbox and process it through the plain steps, leaving the connection open."""
    con = connect(db, create=True)
    steps.receive_inbox(raw)
    run_id = steps.start_run(con)
    tables = [t for rec in steps.pending(con, raw) for t in steps.process_receipt(con, raw, rec, run_id)]
    return con, run_id, tables


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for every flow test (it takes ~20 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The shipped samples ingested once without Prefect, status site included: (raw folder, warehouse file).
    Shared by every test that reads it; a test that writes works on a copy."""
    tmp = tmp_path_factory.mktemp("samples_plain")
    raw, warehouse = tmp / "raw", tmp / "warehouse" / "ecostat.duckdb"
    shutil.copytree(SAMPLES, raw / "inbox")
    steps.run_plain(raw, warehouse)
    return raw, warehouse
