"""What a worker process (a checking child, the feedback process, a portal's checking worker) reads from the pipe
to the process that started it."""

from __future__ import annotations

from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any


def jobs(conn: Connection) -> Iterator[Any]:
    """Each job sent on ``conn``, in order, until the sender says stop (None) or is gone. A job is handed over
    and not kept here, so that the worker alone decides how long it is held (an upload's bytes, say)."""
    while True:
        try:
            held = [conn.recv()]
        except (EOFError, OSError):
            return
        if held[0] is None:
            return
        yield held.pop()
