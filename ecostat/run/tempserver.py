"""Prefect's temporary API server dies with the ecostat process that started it, even on ``kill -9``.

Without ``PREFECT_API_URL``, Prefect starts a temporary server (``SubprocessASGIServer``: uvicorn in a child
process) and stops it at exit (``atexit``). A process killed outright (``kill -9``, the OOM killer) runs no
``atexit``, and the server lived on as an orphan. :func:`guard_temporary_server` starts that server itself
(Prefect's own, same instance: Prefect then finds it running) and hands its pid to a small watchdog
process that holds the read end of a pipe whose write end only this process has: when this process ends,
however it ends, the kernel closes the pipe, and the watchdog stops the server (SIGTERM, then SIGKILL)
and exits. A pipe rather than ``PR_SET_PDEATHSIG``: that signal follows the thread that forked the
child, and Prefect may start its server from a thread that ends long before the run does."""

from __future__ import annotations

import os
import subprocess
import sys

WATCHDOG = """
import os, signal, sys
import psutil
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C of the terminal is for the run, not for its guard
try:
    server = psutil.Process(int(sys.argv[1]))
except psutil.NoSuchProcess:
    sys.exit(0)
while os.read(0, 1024):  # EOF: the guarded process has ended
    pass
if server.is_running():  # the same process (its start time is checked), not a reused pid
    server.terminate()
    try:
        server.wait(5)
    except psutil.TimeoutExpired:
        server.kill()
"""

_guards: dict[int, tuple[int, subprocess.Popen[bytes]]] = {}  # server pid → (pipe's write end, watchdog)


def temporary_server_pid() -> int | None:
    """The pid of the temporary server this process would use (started now if need be), or None when
    Prefect is given a server (``PREFECT_API_URL``) or may not start one."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the one instance Prefect's clients use for a temporary server
    server.start()
    return server.server_process.pid if server.server_process is not None else None


def guard_temporary_server() -> int | None:
    """Start Prefect's temporary server if this process will use one, and make it die with this process;
    returns its pid (None when there is none)."""
    pid = temporary_server_pid()
    if pid is None or pid in _guards:
        return pid
    read, write = os.pipe()  # both not inherited by other children (PEP 446)
    try:
        watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(pid)], stdin=read,
                                    stdout=subprocess.DEVNULL, close_fds=True)
    finally:
        os.close(read)
    _guards[pid] = (write, watchdog)  # the write end stays open for as long as this process lives
    return pid
