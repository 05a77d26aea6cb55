"""Progress over the files of a long command (``ingest``, ``rebuild``, ``report``): a bar with the counts
of accepted and rejected tables on a terminal, a log line every few files inside a Prefect run, and
nothing at all otherwise."""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger(__name__)
LOG_EVERY = 50


class FileProgress:
    """Counts files as they are done. ``mode`` is ``bar`` (a rich progress bar), ``log`` or ``quiet``;
    :meth:`auto` picks ``bar`` when standard output is a terminal."""

    def __init__(self, label: str, mode: str = "quiet"):
        self.label, self.mode = label, mode
        self.done = self.total = self.accepted = self.rejected = 0
        self._bar: Any = None
        self._task: Any = None

    @classmethod
    def auto(cls, label: str) -> FileProgress:
        """A bar on a terminal, quiet otherwise."""
        return cls(label, "bar" if sys.stdout.isatty() else "quiet")

    def start(self, total: int) -> None:
        """Begin counting ``total`` files."""
        self.total = total
        if self.mode == "bar" and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            counts = "接收 accepted {task.fields[accepted]} · 退回 rejected {task.fields[rejected]}"
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn(counts), TimeRemainingColumn(), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total, accepted=0, rejected=0)

    def step(self, statuses: list[str]) -> None:
        """One file done, with the statuses of its tables."""
        self.done += 1
        self.accepted += statuses.count("accepted")
        self.rejected += statuses.count("rejected")
        if self._bar is not None:
            self._bar.update(self._task, advance=1, accepted=self.accepted, rejected=self.rejected)
        elif self.mode == "log" and (self.done % LOG_EVERY == 0 or self.done == self.total):
            log.info("%s: %d/%d files, %d tables accepted, %d rejected", self.label, self.done, self.total,
                     self.accepted, self.rejected)

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
