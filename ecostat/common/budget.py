"""The time budget for checking one file (``ECOSTAT_MAX_FILE_SECONDS``): :func:`ecostat.check.files.check_file`
starts it, and the loops of the readers and of validation look at the clock as they go, so that no file
holds the queue (and the warehouse's write lock) for longer. A single call into a parser cannot be
interrupted; what can be known before it (sizes, rows × columns) is checked before it instead."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ecostat.common import environment


class _Budget(threading.local):
    """The current file's deadline, per thread (a Dask worker may check files on several threads)."""

    deadline: float | None = None
    limit: float = 0.0


_now = _Budget()


class OverBudget(Exception):
    """Checking the current file took longer than its budget."""

    def __init__(self, limit: float):
        super().__init__(f"over the time budget of {limit:g} s")
        self.limit = limit


@contextmanager
def file_budget() -> Iterator[None]:
    """Check one file within ``ECOSTAT_MAX_FILE_SECONDS`` (budgets do not nest: the outer one holds)."""
    if _now.deadline is not None:
        yield
        return
    _now.limit = environment.max_file_seconds()
    _now.deadline = time.monotonic() + _now.limit
    try:
        yield
    finally:
        _now.deadline = None


def check() -> None:
    """Raise :class:`OverBudget` when the current file's time is up (nothing to do outside a budget)."""
    deadline = _now.deadline
    if deadline is not None and time.monotonic() > deadline:
        raise OverBudget(_now.limit)
