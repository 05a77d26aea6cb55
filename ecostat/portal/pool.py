"""The processes that check uploads: a dry run is CPU work, so it runs in worker processes (as many as the
machine has cores, at most 4) and never holds the portal's own process, whose pages stay quick meanwhile."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ecostat.portal.checking import DryRun, dry_run

_pool: ProcessPoolExecutor | None = None


def _warm() -> None:
    """Import the checking stack in a worker before the first upload needs it."""
    import ecostat.check.files  # noqa: F401


def start() -> ProcessPoolExecutor:
    """The checking processes (started once, spawned: the portal's threads are never forked)."""
    global _pool
    if _pool is None:
        workers = max(1, min(4, os.cpu_count() or 1))
        _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(workers):
            _pool.submit(_warm)
    return _pool


async def checked(data: bytes, name: str, unit: str, warehouse: Path) -> DryRun:
    """:func:`ecostat.portal.checking.dry_run` in a checking process."""
    return await asyncio.wrap_future(start().submit(dry_run, data, name, unit, warehouse))


def stop() -> None:
    """Stop the checking processes."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
