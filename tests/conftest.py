"""Shared fixtures: files made by the tests themselves, and one Prefect test harness per session."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import openpyxl
import pytest
import xlwt

from ecostat.common import environment
from ecostat.intake.inbox import receive_inbox
from ecostat.run import ingest as steps
from ecostat.run.pending import replay
from ecostat.store.outcomes import TableOutcome
from ecostat.store.warehouse import connect

environment.apply()
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


Merge = tuple[int, int, int, int]  # first row, first column, last row, last column (1-based)


def write_book(path: Path, rows: list[list[object]], *, merges: list[Merge] | tuple[Merge, ...] = (),
               percent: set[tuple[int, int]] | frozenset[tuple[int, int]] = frozenset(),
               hidden_rows: set[int] | frozenset[int] = frozenset(), sheet: str = "表1") -> Path:
    """Write one sheet as ``.xlsx`` (openpyxl) or ``.xls`` (xlwt), by the path's suffix: ``rows``
    from row 1, ``merges`` merged (the value of a merged range is its top-left cell's), the 1-based
    (row, column) cells of ``percent`` in the number format ``0.0%``, ``hidden_rows`` hidden."""
    covered = {(r, c) for r1, c1, r2, c2 in merges for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
               if (r, c) != (r1, c1)}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xls":
        book = xlwt.Workbook()
        ws = book.add_sheet(sheet)
        pct, date = xlwt.easyxf(num_format_str="0.0%"), xlwt.easyxf(num_format_str="yyyy-mm-dd")
        starts = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in merges}
        for r, cells in enumerate(rows, 1):
            for c, value in enumerate(cells, 1):
                style = pct if (r, c) in percent else date if isinstance(value, dt.date) else xlwt.Style.default_style
                if (r, c) in starts:
                    r2, c2 = starts[(r, c)]
                    ws.write_merge(r - 1, r2 - 1, c - 1, c2 - 1, value, style)
                elif value is not None and (r, c) not in covered:
                    ws.write(r - 1, c - 1, value, style)
        for r in hidden_rows:
            ws.row(r - 1).hidden = True
        book.save(str(path))
        return path
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r, cells in enumerate(rows, 1):
        for c, value in enumerate(cells, 1):
            if value is not None and (r, c) not in covered:
                ws.cell(r, c, value)
    for r, c in percent:
        ws.cell(r, c).number_format = "0.0%"
    for r1, c1, r2, c2 in merges:
        ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
    for r in hidden_rows:
        ws.row_dimensions[r].hidden = True
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
    """Receive the inbox and process it through the plain steps (no feedback, no alerts), leaving the
    connection open."""
    con = connect(db, create=True)
    receive_inbox(raw)
    summary = replay(con, raw)
    return con, summary.run_id, summary.tables


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for every flow test (it takes ~20 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def prefect_env(home: Path, **extra: str) -> dict[str, str]:
    """A child's environment with its own Prefect home and no ecostat or Prefect settings of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ECOSTAT_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               GX_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING", **extra)
    return env


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a child started in its own session, and everything it started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait until the Prefect API at ``url`` answers its health check."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "prefect server exited"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"prefect server not healthy within {seconds} s")


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real ``prefect server start`` (SQLite, its own PREFECT_HOME) for the tests that need a server;
    its API URL. Killed at the end whatever happens."""
    from tests.webhook import closed_port

    home = tmp_path_factory.mktemp("prefect-server")
    port = closed_port()
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=prefect_env(home), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_healthy(url, proc, 120)
        yield url
    finally:
        stop_group(proc)
        log.close()


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The shipped samples ingested once without Prefect, status site included: (raw folder, warehouse file).
    Shared by every test that reads it; a test that writes works on a copy."""
    tmp = tmp_path_factory.mktemp("samples_plain")
    raw, warehouse = tmp / "raw", tmp / "warehouse" / "ecostat.duckdb"
    shutil.copytree(SAMPLES, raw / "inbox")
    steps.run_plain(raw, warehouse)
    return raw, warehouse


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On CI (``CI=true``, as ``.ci/run`` runs), which installs every program the tests need, a skipped test
    is a failure: the whole suite runs there or CI is red."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and os.environ.get("CI") == "true" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped on CI, where no test may skip (.ci/run installs every program): {reason}"
