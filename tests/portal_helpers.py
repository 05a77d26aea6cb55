"""A real portal for the portal tests: a workspace with a published warehouse (2023 reports of two units), four
accounts (two units, a reviewer, an admin) and an ``ecostat portal`` process on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ecostat.portal import accounts, db
from ecostat.run.ingest import run_plain
from tests.conftest import write_book
from tests.forms_data import header, row
from tests.programs import stop

UNIT_A, UNIT_B = "360102", "360103"
PASSWORD = "correct-horse-battery-9"
ACCOUNTS = {"unit_a": (UNIT_A, "unit", "东湖填报"), "unit_b": (UNIT_B, "unit", "西湖填报"),
            "reviewer": ("360100", "reviewer", "市局审核"), "admin": ("360100", "admin", "管理员")}


@dataclass
class Workspace:
    """A portal's folders and its address."""

    home: Path
    raw: Path
    warehouse: Path
    url: str = ""
    log: Path | None = None


def outfall_book(path: Path, unit: str, period: str, **changes: object) -> Path:
    """A one-sheet workbook of ``outfall_remediation`` for ``unit`` and ``period``."""
    return write_book(path, [header("outfall_remediation"), row("outfall_remediation", unit, period, **changes)])


def settle_env(home: Path) -> dict[str, str]:
    """The environment of a workspace's processes: its own settings file (no alerts)."""
    settings = home / "ecostat.toml"
    if not settings.exists():
        settings.write_text("# the portal tests alert nobody\n", encoding="utf-8")
    return {**os.environ, "ECOSTAT_SETTINGS": str(settings), "ECOSTAT_ALERT_URLS": ""}


def make_workspace(home: Path) -> Workspace:
    """A workspace whose warehouse holds both units' 2023 outfall reports (required 10), and the accounts."""
    raw, warehouse = home / "raw", home / "warehouse" / "ecostat.duckdb"
    for unit in (UNIT_A, UNIT_B):
        outfall_book(raw / "inbox" / unit / "2023.xlsx", unit, "2023")
    env = settle_env(home)
    old = dict(os.environ)
    os.environ.update(env)
    os.environ.pop("ECOSTAT_ALERT_URLS", None)
    try:
        run_plain(raw, warehouse)
    finally:
        os.environ.clear()
        os.environ.update(old)
    con = db.connect(warehouse)
    for login, (unit, role, name) in ACCOUNTS.items():
        accounts.add(con, login, unit, role, name, PASSWORD)
    con.close()
    return Workspace(home, raw, warehouse)


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def portal_process(ws: Workspace) -> Iterator[Workspace]:
    """``ecostat portal`` serving the workspace until the block ends."""
    port = free_port()
    ws.url, ws.log = f"http://127.0.0.1:{port}", ws.home / "portal.log"
    with open(ws.log, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ecostat.cli", "portal", "--port", str(port), "--raw",
                                 str(ws.raw), "--warehouse", str(ws.warehouse)], stdout=log, stderr=subprocess.STDOUT,
                                env=settle_env(ws.home))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, ws.log.read_text(errors="replace")
            try:
                if httpx.get(ws.url + "/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the portal did not start"
            time.sleep(0.2)
        yield ws
    finally:
        stop(proc)


def client(ws: Workspace, login: str | None, **headers: str) -> tuple[httpx.Client, str]:
    """An HTTP client logged in as ``login`` through the API (anonymous for None), and its CSRF token."""
    c = httpx.Client(base_url=ws.url, timeout=60, headers=headers)
    if login is None:
        return c, ""
    r = c.post("/api/v1/session", json={"login": login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


def upload(c: httpx.Client, csrf: str, path: str, file: Path, name: str | None = None) -> httpx.Response:
    """POST a file as the multipart field ``file`` with the CSRF header."""
    return c.post(path, headers={"X-CSRF-Token": csrf}, files={"file": (name or file.name, file.read_bytes())})


def wait_final(c: httpx.Client, receipt_id: str, timeout: float = 90) -> dict[str, object]:
    """The submission once its run has processed it."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, object] = c.get(f"/api/v1/submissions/{receipt_id}").json()
        if body["state"] != "received":
            return body
        assert time.monotonic() < deadline, f"{receipt_id} still received after {timeout} s"
        time.sleep(0.5)


def copy_workspace(ws: Workspace, home: Path) -> Workspace:
    """A copy of a settled workspace's raw folder and warehouse (its state now) under ``home``."""
    shutil.copytree(ws.raw, home / "raw", symlinks=True)
    (home / "warehouse").mkdir(parents=True)
    shutil.copy2(ws.warehouse, home / "warehouse" / ws.warehouse.name)
    return Workspace(home, home / "raw", home / "warehouse" / ws.warehouse.name)
