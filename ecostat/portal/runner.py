"""The ingest run a submission starts: one plain run under the usual write lock, in a child process so that
checking never slows the pages. Runs asked for while one is going are folded into one more run after it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)
WAIT_SECONDS = 300.0  # how long a run started by the portal waits for another writer
NICE = 10  # the run's CPU priority below the portal's pages and checks


def run_ingest(raw: Path, warehouse: Path) -> None:
    """One ingest run: a flow run of the Prefect deployment ``ECOSTAT_DEPLOYMENT`` (``ingest/<name>``, on the
    server of ``PREFECT_API_URL``) when one is configured, its worker doing the work; else a plain run here,
    under the usual write lock."""
    from ecostat.common.environment import environment

    name = environment().deployment
    if name:
        from ecostat.run.deployment import run_and_wait

        state = run_and_wait(name, WAIT_SECONDS)
        if state != "Completed":
            raise RuntimeError(f"the flow run of deployment {name} ended {state}")
        return
    from ecostat.run.ingest import run_plain

    run_plain(raw, warehouse, WAIT_SECONDS)


class Runner:
    """Starts ingest runs in the background, one at a time."""

    def __init__(self, raw: Path, warehouse: Path):
        self.raw, self.warehouse = raw, warehouse
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        threading.Thread(target=self._loop, name="ecostat-portal-runner", daemon=True).start()

    def request(self) -> None:
        """Ask for a run (soon: after the one going, if any)."""
        self._idle.clear()
        self._wanted.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no run is wanted or going; whether that happened within ``timeout`` seconds."""
        return self._idle.wait(timeout)

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                done = subprocess.run([sys.executable, "-m", "ecostat.portal.runner", str(self.raw),
                                       str(self.warehouse)], capture_output=True, text=True, check=False)
                if done.returncode:
                    log.error("the ingest run started by the portal failed: %s", done.stderr[-2000:])
            except OSError:
                log.exception("the ingest run could not be started")
            if not self._wanted.is_set():
                self._idle.set()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    os.nice(NICE)  # a background run yields the processors to the people using the portal
    run_ingest(Path(sys.argv[1]), Path(sys.argv[2]))
