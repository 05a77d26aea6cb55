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
