"""Fault injection for the crash tests: ``ECOSTAT_FAULT=<point>`` kills the process (SIGKILL) when it
reaches that point; ``ECOSTAT_FAULT=<point>:<text>`` only where the point's subject (a file's name under
the inbox) ends with ``<text>``. At a stall point (:func:`stall_point`) the process hangs instead, as a parser
caught in a loop would. Unset in normal use, where a fault point costs one lookup."""

from __future__ import annotations

import os
import signal
import time

POINTS = ("creating", "archived", "journaled", "mid_load", "in_group", "before_commit", "loaded", "before_refresh",
          "before_publish", "published")
COPY_POINTS = ("work_copied",)  # reached only when the warehouse exists before the run (not in a first run)


def _wanted(name: str, subject: str) -> bool:
    wanted = os.environ.get("ECOSTAT_FAULT")
    return bool(wanted) and (wanted == name or (wanted.startswith(name + ":")  # type: ignore[union-attr]
                                                and subject.endswith(wanted[len(name) + 1:])))  # type: ignore[index]


def fault_point(name: str, subject: str = "") -> None:
    """Die here, as ``kill -9`` would, if the environment asks for it."""
    if _wanted(name, subject):
        os.kill(os.getpid(), signal.SIGKILL)


def stall_point(name: str, subject: str = "") -> None:
    """Hang here, burning no CPU and never returning, if the environment asks for it."""
    while _wanted(name, subject):
        time.sleep(3600)
