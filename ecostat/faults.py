"""Fault injection for the crash tests: ``ECOSTAT_FAULT=<point>`` kills the process (SIGKILL)
when it reaches that point. Unset in normal use, where a fault point costs one dict lookup."""

from __future__ import annotations

import os
import signal

POINTS = ("archived", "journaled", "mid_load", "before_commit", "loaded", "before_refresh", "before_publish")


def fault_point(name: str) -> None:
    """Die here, as ``kill -9`` would, if the environment asks for it."""
    if os.environ.get("ECOSTAT_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
