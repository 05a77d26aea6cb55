"""Work done in a thread while a block runs, for its result to be ready, or not needed, afterwards."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def meanwhile(work: Callable[[], object], failed: str) -> Iterator[None]:
    """Run ``work`` in a thread while the block runs, and wait for it at the end. It never fails the block:
    a failure is logged as ``failed`` (what it does is done again where it is needed, and fails there)."""
    def run() -> None:
        try:
            work()
        except Exception:
            log.warning("%s", failed, exc_info=True)

    thread = threading.Thread(target=run, name="meanwhile", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
