"""The forkserver the sandbox's checking children are forked from (:mod:`ecostat.run.sandbox`), started on its
own: a light module, so that a command can start it first thing, and its import of the checks (most of a
second) runs beside the command's own imports on the other core instead of after them, when the run's first
child is asked for."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from contextlib import suppress
from multiprocessing import forkserver

from ecostat.common import environment

log = logging.getLogger(__name__)
# imported once by the forkserver, inherited by every child (and the forkserver's quick end when stopped)
PRELOAD = ["ecostat.run.sandbox", "ecostat.run.checkserver_exit"]


def context() -> multiprocessing.context.ForkServerContext:
    """The ``forkserver`` context the children are started in, its preload set."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def start_early() -> None:
    """Start the forkserver now, unless the files are checked in the writer (``ECOSTAT_CHECK_PROCESSES=0``);
    the sandbox's first child then uses it (the settings a child needs are handed to it when it starts).
    Call it before the caller's own heavy imports, and after the ``ECOSTAT_*`` environment is final (the
    forkserver's imports read it)."""
    if environment.check_processes() == 0:
        return
    context()
    forkserver.ensure_running()


def stop() -> None:
    """Stop the forkserver, if one runs, and wait for it, so that its children's resource use (peak memory
    above all) is counted in this process's ``RUSAGE_CHILDREN``, as a directly started child's would be; the
    next pool starts a new one."""
    stopping = getattr(forkserver._forkserver, "_stop", None)
    if stopping is not None:
        try:
            stopping()
        except OSError:
            log.warning("the checking processes' forkserver did not stop cleanly", exc_info=True)


def discard() -> None:
    """Stop the forkserver at once, if one still runs: one started early (:func:`start_early`) for a run that
    checked nothing, which may still be importing the checks, and would hand a later run in this process
    children of an older environment. A pool that started children stopped it already (:func:`stop`)."""
    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid is not None:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    stop()
