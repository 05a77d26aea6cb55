"""Issue 20: a killed ingest leaves no Prefect server behind. ``ecostat ingest`` through the flow, with no
PREFECT_API_URL (Prefect's temporary server), is killed with SIGKILL mid-run (the crash tests' fault point
inside the load); every process of its tree, the temporary server included, must be gone soon after."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.conftest import prefect_env, write_csv
from tests.forms_data import header, row


def _tree(pid: int) -> dict[int, psutil.Process]:
    try:
        return {p.pid: p for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return {}


def test_kill_9_of_an_ingest_through_the_flow_leaves_no_process_of_its_tree(tmp_path: Path):
    raw = tmp_path / "raw"
    write_csv(raw / "inbox" / "360102" / "outfalls.csv", [header("outfall_remediation"), row("outfall_remediation")])
    env = prefect_env(tmp_path / "prefect", ECOSTAT_FAULT="mid_load")
    assert "PREFECT_API_URL" not in env  # Prefect starts its temporary server
    proc = subprocess.Popen([sys.executable, "-m", "ecostat.cli", "ingest", "--raw", str(raw), "--warehouse",
                             str(tmp_path / "w" / "ecostat.duckdb")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    seen: dict[int, psutil.Process] = {}
    cmdlines: dict[int, list[str]] = {}
    try:
        while proc.poll() is None:
            for pid, p in _tree(proc.pid).items():
                seen.setdefault(pid, p)
                cmdlines[pid] = cmdlines.get(pid) or _cmdline(p)
            time.sleep(0.05)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")[-3000:]
        servers = [pid for pid, c in cmdlines.items() if "uvicorn" in c]
        assert servers, "the run started no temporary Prefect server: the test would prove nothing"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(p.is_running() for p in seen.values()):
            time.sleep(0.2)
        left = [(p.pid, cmdlines[p.pid][:6]) for p in seen.values() if p.is_running()]
        assert not left, f"processes of the killed run still alive: {left}"
    finally:
        for p in seen.values():  # never leave one behind, even when the test fails
            if p.is_running():
                p.kill()
        if proc.poll() is None:
            proc.kill()


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return []
