"""The files' feedback written by a process beside the writer, so that the writer goes on loading the next
files of its group while a workbook is built (≈ 6 ms of Python a file, the writer's largest step after its
statements). Every feedback handed over is written before the group commits (:meth:`FeedbackWriter.wait`), as
if the writer had written it itself: a run killed before the commit writes it again, atomically, the same.

A run of few files writes its feedback itself (:data:`FROM_FILES`): the process's start would cost more than
it saves. Feedback the process fails to write (its process gone, say) is written by the writer itself."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ecostat.common.display import printable
from ecostat.common.worker import jobs
from ecostat.publish.feedback import TableReport, write_feedback

log = logging.getLogger(__name__)
FROM_FILES = 16  # pending files from which a run's feedback is written by its own process
Job = tuple[Path, str, str | None, list[TableReport]]  # write_feedback's arguments


class FeedbackWriter:
    """Writes feedback files (:func:`ecostat.publish.feedback.write_feedback`) in its own process, or here."""

    def __init__(self, files: int):
        self._process: Any = None
        self._conn: Connection | None = None
        self._pending: list[Job] = []
        if files >= FROM_FILES:
            ctx = multiprocessing.get_context("forkserver")
            self._conn, theirs = ctx.Pipe()
            self._process = ctx.Process(target=_writer_main, args=(theirs,), daemon=True, name="ecostat-feedback")
            self._process.start()
            theirs.close()  # the child sees the end of the pipe when this process ends, killed or not

    def submit(self, outbox: Path, file: str, submitter: str | None, reports: list[TableReport]) -> None:
        """Write the feedback of ``file`` (its path under the inbox) into ``outbox``: handed to the process, or
        written now when there is none."""
        job: Job = (outbox, file, submitter, reports)
        if self._conn is not None:
            try:
                self._conn.send(job)
                self._pending.append(job)
                return
            except OSError:
                self._gone()
        _write_here(job)

    def wait(self) -> None:
        """Return once every feedback handed over is written (what the process failed to write is written here;
        what cannot be written is logged: an unwritable outbox must not hold the data back)."""
        pending, self._pending = self._pending, []
        for job in pending:
            failed: str | None = "its process is gone"
            if self._conn is not None:
                try:
                    failed = self._conn.recv()
                except (EOFError, OSError):
                    self._gone()
            if failed is not None:
                log.warning("feedback for %s not written by its process (%s): written here", printable(job[1]),
                            failed)
                _write_here(job)

    def close(self) -> None:
        """Wait for what was handed over, then stop the process."""
        try:
            self.wait()
        finally:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.send(None)
                self._gone()

    def _gone(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._process = None


def _writer_main(conn: Connection) -> None:
    """The feedback process: write each job it is sent and answer None (or why it failed), until told to stop
    or its writer is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the writer decides when it stops
    job: Job
    for job in jobs(conn):
        try:
            write_feedback(*job)
            conn.send(None)
        except Exception as exc:
            conn.send(f"{type(exc).__name__}: {exc}")


def _write_here(job: Job) -> None:
    try:
        write_feedback(*job)
    except Exception:
        log.exception("feedback for %s not written", printable(job[1]))
