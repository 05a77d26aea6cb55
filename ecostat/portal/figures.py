"""The city's published annual figures as the portal shows them, computed once per published version of the
warehouse. While a new version's are computed (in the background, once), the previous version's are served: a
page never waits for them but the very first time."""

from __future__ import annotations

import threading
from pathlib import Path

from ecostat.portal.reports import warehouse_reader
from ecostat.store.figures import annual_figures

Rows = list[dict[str, object]]
Key = tuple[Path, int]
Version = tuple[int, int]

_lock = threading.Lock()
_done: dict[Key, tuple[Version, Rows]] = {}
_computing: set[Key] = set()
_first = threading.Lock()


def _compute(warehouse: Path, year: int) -> Rows:
    with warehouse_reader(warehouse) as con:
        if con is None:
            return []
        frame = annual_figures(con, year)
    return [{k: (None if v != v else v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def _refresh(key: Key, version: Version) -> None:
    try:
        rows = _compute(*key)
        with _lock:
            _done[key] = (version, rows)
    finally:
        with _lock:
            _computing.discard(key)


def figures(warehouse: Path, year: int) -> Rows:
    """The figures of ``year`` of the latest version computed (computed now when there are none yet)."""
    try:
        st = warehouse.stat()
    except FileNotFoundError:
        return []
    version, key = (st.st_ino, st.st_mtime_ns), (warehouse, year)
    with _lock:
        known = _done.get(key)
        start = known is not None and known[0] != version and key not in _computing
        if start:
            _computing.add(key)
    if known is None:
        with _first:  # the very first request computes them; the others wait for its result
            with _lock:
                known = _done.get(key)
            if known is None:
                known = (version, _compute(warehouse, year))
                with _lock:
                    _done[key] = known
        return known[1]
    if start:
        threading.Thread(target=_refresh, args=(key, version), daemon=True).start()
    return known[1]
