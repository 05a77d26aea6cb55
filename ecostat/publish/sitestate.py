"""Where the status site lives, and whether a run should rebuild it: kept apart from :mod:`ecostat.publish.site`,
whose page-making modules (charts, the annual report) a run with nothing new need not load."""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def site_dir(warehouse: Path) -> Path:
    """Where the status site goes: ``site/`` beside the warehouse file."""
    return warehouse.resolve().parent / "site"


def site_needs_rebuild(warehouse: Path, *, files: int, deliveries: int) -> bool:
    """Whether a run should rebuild the site: it processed files or tried deliveries, or the site was last
    built before today (overdue reports depend on the date). A run with nothing new skips it, as it skips
    the audit and the figures: the site of a busy province costs seconds of queries."""
    index = site_dir(warehouse) / "index.html"
    if files or deliveries or not index.is_file():
        return True
    return dt.date.fromtimestamp(index.stat().st_mtime) < dt.date.today()
