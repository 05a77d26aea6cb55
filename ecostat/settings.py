"""Process-wide settings that must be in place before Prefect or Great Expectations is imported:
no telemetry, a startup timeout long enough for a first ephemeral Prefect server, and Prefect's
state kept in the project (git-ignored) unless told otherwise."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}


def apply(prefect_home: Path | None = None) -> None:
    """Set the defaults above (an explicit environment variable wins)."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("PREFECT_HOME", str(prefect_home or Path.cwd() / ".prefect"))


def max_file_bytes() -> int:
    """The largest file accepted, from ``ECOSTAT_MAX_FILE_MB`` (default 20 MB)."""
    return int(float(os.environ.get("ECOSTAT_MAX_FILE_MB", "20")) * 1024 * 1024)


def max_unzipped_bytes() -> int:
    """The largest total uncompressed size of an xlsx's members, from ``ECOSTAT_MAX_UNZIPPED_MB``
    (default 200 MB): beyond it the workbook is treated as a zip bomb and not parsed."""
    return int(float(os.environ.get("ECOSTAT_MAX_UNZIPPED_MB", "200")) * 1024 * 1024)
