"""Where one big file's memory goes: ``python -m benchmarks.memory_steps FILE [UNIT] [--registry-dir DIR]``.

Copies FILE into a fresh inbox under a temporary folder (as unit UNIT, default the city), runs one
``ecostat ingest --no-prefect`` of it in this process, and prints, after each step (read, check, load,
feedback, figures, audit, site, lake), how long it took, the resident memory then, and the highest resident memory
seen so far (sampled every 20 ms) with the step it was seen in. A diagnostic beside the benchmark's peak RSS
(``big_csv_no_prefect``): it names the step, not a ratio. ``ECOSTAT_MAX_FILE_MB`` is raised to fit the file.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEPS = {"ecostat.check.files": ("read_tables", "check_table", "check_code_register", "without_untouched"),
         "ecostat.run.receipt": ("check_across_periods", "load_accepted", "send_feedback"),
         "ecostat.run.pending": ("refresh_figures",),
         "ecostat.run.ingest": ("build_site_after_run",),
         "ecostat.store.lake": ("refresh",)}


def rss_mb() -> int:
    """This process's resident memory in MB."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


class Sampler:
    """The highest resident memory seen, and in which step."""

    def __init__(self) -> None:
        self.step, self.peak, self.peak_step = "start", 0, "start"
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            now = rss_mb()
            if now > self.peak:
                self.peak, self.peak_step = now, self.step
            time.sleep(0.02)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn``, reporting its time and memory when it returns."""
        @functools.wraps(fn)
        def step(*args: Any, **kwargs: Any) -> Any:
            outer, self.step, started = self.step, name, time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                print(f"{name:24} {time.monotonic() - started:6.1f} s   now {rss_mb():6} MB   "
                      f"peak so far {self.peak:6} MB ({self.peak_step})", flush=True)
                self.step = outer
        return step


def main(argv: list[str] | None = None) -> int:
    """Run one ingest of the file and print each step's time and memory."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.memory_steps", description=__doc__.split("\n\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("unit", nargs="?", default="360100")
    ap.add_argument("--registry-dir", help="ECOSTAT_REGISTRY_DIR, for a province load's units")
    args = ap.parse_args(argv)
    os.environ["ECOSTAT_MAX_FILE_MB"] = str(max(20, 2 * args.file.stat().st_size // 2**20))
    if args.registry_dir:
        os.environ["ECOSTAT_REGISTRY_DIR"] = args.registry_dir
    import importlib

    sampler = Sampler()
    for module_name, names in STEPS.items():
        module = importlib.import_module(module_name)
        for name in names:
            setattr(module, name, sampler.wrap(name, getattr(module, name)))
    from ecostat.run.ingest import run_plain

    with tempfile.TemporaryDirectory(prefix="ecostat-memory-") as tmp:
        inbox = Path(tmp) / "raw" / "inbox" / args.unit
        inbox.mkdir(parents=True)
        shutil.copyfile(args.file, inbox / args.file.name)
        run_plain(Path(tmp) / "raw", Path(tmp) / "warehouse" / "ecostat.duckdb")
    print(f"peak {sampler.peak} MB, in {sampler.peak_step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
