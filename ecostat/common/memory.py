"""Giving freed memory back to the operating system after a big table's step. A table of millions of rows
frees hundreds of megabytes of short-lived objects between its steps (reading, checking, loading), which
the allocators keep for later: Arrow's memory pool, and glibc's heap, whose free space between live blocks
is returned only by ``malloc_trim``. Without this the process's resident memory is the sum of its steps'
peaks rather than their largest."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import pyarrow as pa

BIG_ROWS = 50_000  # a table this long is worth a release after its steps; a small one frees too little


@functools.cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """glibc's ``malloc_trim``, or None on another C library."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def release() -> None:
    """Return the memory freed so far to the operating system: Arrow's pool's unused memory, then glibc's
    free heap (nothing on another C library)."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
