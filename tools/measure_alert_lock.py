"""How long an ingest holds the warehouse's write lock with no alert endpoint, a dead one (connection
refused) and a silent one (accepts, never answers: every attempt runs into its timeout), on the shipped
samples through `ecostat ingest --no-prefect` in a child process each. Prints one line per case.

    python tools/measure_alert_lock.py
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(case: str, urls: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        shutil.copytree(ROOT / "raw" / "samples", raw / "inbox")
        settings = Path(tmp) / "ecostat.toml"
        listed = ", ".join(f'"{u}"' for u in urls)
        settings.write_text(f"[alerts]\noperator_urls = [{listed}]\nunits = {{ 360111 = [{listed}] }}\n"
                            "timeout_seconds = 5\nattempts = 2\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ECOSTAT_")}
        env["ECOSTAT_SETTINGS"] = str(settings)
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "ecostat.cli", "ingest", "--no-prefect", "--raw", str(raw),
                              "--warehouse", str(Path(tmp) / "w.duckdb")], capture_output=True, text=True,
                             env=env, check=True).stdout
        wall = time.monotonic() - started
        held = re.search(r"write lock held ([\d.]+) s", out)
        alerts = re.search(r"告警 alerts：(.*?) /", out)
        print(f"{case:28} lock held {held.group(1) if held else '?':>6} s   whole run {wall:6.1f} s   "
              f"alerts: {alerts.group(1) if alerts else 'none'}")


def main() -> None:
    """Measure the three cases."""
    run("no alert endpoint", [])
    run("dead endpoint (refused)", [f"json://127.0.0.1:{free_port()}/ops"])
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # accepts connections, never answers
        run("silent endpoint (timeouts)", [f"json://127.0.0.1:{silent.getsockname()[1]}/ops"])


if __name__ == "__main__":
    main()
