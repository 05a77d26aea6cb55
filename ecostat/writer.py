"""One writer at a time, and readers never blocked: an ingest holds a lock file and writes to a
working copy (``<warehouse>.work``); when it is done, the copy is published by an atomic rename
over the warehouse file, which readers (``ecostat figures``, ``ecostat query``, ``duckdb -readonly``)
open read-only. A reader keeps the version it opened; the next open sees the new one."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ecostat.durable import copy_file, flock
from ecostat.faults import fault_point

FILE_MODE = 0o640


class WarehouseBusy(Exception):
    """Another process holds the warehouse's write lock."""


def work_path(warehouse: Path) -> Path:
    """The writer's working copy of a warehouse file."""
    return warehouse.with_name(warehouse.name + ".work")


@contextmanager
def writing(warehouse: Path, wait_seconds: float = 0.0) -> Iterator[Path]:
    """Hold the write lock and yield the working copy; publish it when the block succeeds.

    Raises :class:`WarehouseBusy` if the lock is still held after ``wait_seconds``.
    """
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    with open(lock_path, "a+", encoding="utf-8") as lock:
        if not flock(lock, wait_seconds):
            lock.seek(0)
            raise WarehouseBusy(lock.read().strip() or "unknown")
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        lock.flush()
        work = work_path(warehouse)
        if not work.exists() and warehouse.exists():
            copy_file(warehouse, work, FILE_MODE)
        yield work
        fault_point("before_publish")
        publish(work, warehouse)
        fault_point("published")


def publish(work: Path, warehouse: Path) -> None:
    """Atomically replace the warehouse file with a durable copy of the working file (if any)."""
    if work.exists():
        work.chmod(FILE_MODE)
        copy_file(work, warehouse, FILE_MODE)
