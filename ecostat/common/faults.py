"""Fault injection for the crash tests: ``ECOSTAT_FAULT=<point>`` kills the process (SIGKILL) when it
reaches that point; ``ECOSTAT_FAULT=<point>:<text>`` only where the point's subject (a file's name under
the inbox) ends with ``<text>``. Unset in normal use, where a fault point costs one lookup."""

from __future__ import annotations

import os
import signal

POINTS = ("creating", "archived", "journaled", "mid_load", "before_commit", "loaded", "before_refresh",
          "before_publish", "published")


def fault_point(name: str, subject: str = "") -> None:
    """Die here, as ``kill -9`` would, if the environment asks for it."""
    wanted = os.environ.get("ECOSTAT_FAULT")
    if wanted and (wanted == name or (wanted.startswith(name + ":") and subject.endswith(wanted[len(name) + 1:]))):
        os.kill(os.getpid(), signal.SIGKILL)
