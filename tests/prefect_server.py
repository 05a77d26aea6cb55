"""Helpers for the tests that start real Prefect servers and workers as processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path


def prefect_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a Prefect process: no outside Prefect or ecostat settings, its own home,
    telemetry off, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ECOSTAT_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               GX_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING", **extra)
    return env


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started with ``start_new_session=True`` and everything it started."""
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
