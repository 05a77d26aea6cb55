"""The processes that check uploads: a dry run (:func:`ecostat.portal.checking.dry_run`) is CPU work, so it runs in
worker processes (as many as the machine has cores, at most 4) and never holds the portal's own process, whose
pages stay quick meanwhile.

Every uploaded byte may be hostile, so a worker is held to the sandbox's limits (:mod:`ecostat.run.sandbox`,
with its own helpers): its address space (``ECOSTAT_CHECK_MEMORY_MB``) and, per upload, its CPU seconds
(``ECOSTAT_MAX_FILE_SECONDS``); the portal kills a worker still busy :data:`~ecostat.run.sandbox.GRACE_SECONDS`
past the budget. A breach is the upload's one finding (``FILE_MEMORY_LIMIT``, ``FILE_TIME_BUDGET``), shown as
any dry run is, and its worker is replaced. A worker that dies otherwise is replaced and the upload tried again
in a fresh one; one that killed :data:`~ecostat.run.sandbox.DEATHS` workers is answered ``FILE_QUARANTINED``.
Each worker answers one upload at a time over its own pipe, so a dead one costs its own upload only: the others
go on, and the next upload is checked (where a dead worker of a ``ProcessPoolExecutor`` breaks the whole pool).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from ecostat.check.files import Checked, check_crashed, memory_finding, quarantined, time_finding
from ecostat.common import environment
from ecostat.common.display import printable
from ecostat.common.worker import jobs
from ecostat.contract.catalogue import Finding
from ecostat.intake.archive import Receipt
from ecostat.portal.checking import DryRun, dry_run, receipt, refused
from ecostat.run.sandbox import DEATHS, GRACE_SECONDS, MEMORY_EXIT, allow_seconds, confine, spent

log = logging.getLogger(__name__)
START_SECONDS = 120.0  # for a new worker to import the checks and say it is ready (a busy machine is slow)
READY, MEMORY, LATE, DIED = "ready", "memory", "late", "died"  # what became of a worker

Job = tuple[bytes, str, str, Path, float]  # an upload's bytes, name, unit, the warehouse, its budget in seconds
_pool: Workers | None = None


def worker_main(conn: Connection, memory: int) -> None:
    """A checking worker: limit its address space to ``memory`` bytes, say it is ready, then dry-run each upload
    it is sent (its CPU limited to the budget from the upload's start) and send back the :class:`DryRun`, or
    None when it ran out of memory, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the portal decides when workers stop
    confine(memory)
    conn.send(READY)
    job: Job
    for job in jobs(conn):
        data, name, unit, warehouse, seconds = job
        allow_seconds(seconds)
        result = None
        try:
            result = dry_run(data, name, unit, warehouse)
        except MemoryError:
            pass  # answered below, once the traceback and what it holds are gone
        except Exception as exc:  # a bug past the checks (the grid, the feedback): this upload's finding
            rec = receipt(data, name, unit)
            result = _refused(rec, check_crashed(rec, exc), warehouse.exists())
        del job, data
        try:
            conn.send(result)
        except MemoryError:
            os._exit(MEMORY_EXIT)  # the portal gives the upload its finding


def _refused(rec: Receipt, held: Checked, cross_period: bool) -> DryRun:
    """The dry run of an upload whose check crashed or was given up (:func:`ecostat.check.files.quarantined`)."""
    found, _ = held
    assert isinstance(found, Finding)  # both are one finding about the whole file
    return refused(rec, found, cross_period)


@dataclass(eq=False)  # each worker is itself (kept in a set)
class _Worker:
    """One checking worker; ``ready`` once it has said so."""

    process: Any
    conn: Connection
    ready: bool = False


class Workers:
    """The checking workers and the threads that wait for them (one each): :meth:`submit` queues a dry run."""

    def __init__(self, count: int):
        self._ctx = multiprocessing.get_context("spawn")  # the portal's threads are never forked
        self._idle: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()  # None: a worker to start
        self._live: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._threads = ThreadPoolExecutor(count, thread_name_prefix="ecostat-dry-run")
        for _ in range(count):  # started now: they import the checks before the first upload needs them
            self._renew()

    def _spawn(self) -> _Worker:
        ours, theirs = self._ctx.Pipe()
        process = self._ctx.Process(target=worker_main, args=(theirs, environment.check_memory_bytes()),
                                    daemon=True, name="ecostat-dry-run")
        with self._lock:
            if self._closed:
                raise RuntimeError("the checking processes were stopped")
            process.start()
            worker = _Worker(process, ours)
            self._live.add(worker)
        theirs.close()
        return worker

    def _renew(self) -> None:
        """Start a worker for the idle queue, or (if none can start now) leave its place to the next upload."""
        try:
            self._idle.put(self._spawn())
        except Exception:
            if not self._closed:
                log.exception("a checking process could not start")
            self._idle.put(None)

    def _end(self, worker: _Worker) -> int | None:
        """Kill a worker (if it still runs); its exit code."""
        worker.process.kill()
        worker.process.join()
        worker.conn.close()
        with self._lock:
            self._live.discard(worker)
        return worker.process.exitcode  # type: ignore[no-any-return]

    def submit(self, data: bytes, name: str, unit: str, warehouse: Path) -> Future[DryRun]:
        """The dry run of an upload, when a worker has made it."""
        return self._threads.submit(self.run, data, name, unit, warehouse)

    def run(self, data: bytes, name: str, unit: str, warehouse: Path) -> DryRun:
        """The dry run of an upload in a worker (waiting for it), or the finding of the limit it broke."""
        seconds = environment.max_file_seconds()
        deaths = starts = 0
        while True:
            worker = self._idle.get()
            if worker is None:
                try:
                    worker = self._spawn()
                except Exception:
                    self._idle.put(None)
                    raise
            if worker.ready and not worker.process.is_alive():  # died while idle: not this upload's doing
                self._end(worker)
                self._renew()
                continue
            if not self._ready(worker):  # not this upload's doing, but not to be tried for ever
                self._end(worker)
                self._renew()
                starts += 1
                if starts >= DEATHS:
                    raise RuntimeError(f"{starts} checking processes in a row did not start (see the log)")
                continue
            found = self._attempt(worker, (data, name, unit, warehouse, seconds), seconds)
            if isinstance(found, DryRun):
                self._idle.put(worker)
                return found
            code = self._end(worker)
            self._renew()
            rec = receipt(data, name, unit)
            if found == MEMORY or code == MEMORY_EXIT:
                return refused(rec, memory_finding(rec), warehouse.exists())
            if found == LATE or code == -signal.SIGXCPU:
                log.warning("checking the upload %s passed its time budget: stopped", printable(rec.file))
                return refused(rec, time_finding(rec, seconds), warehouse.exists())
            deaths += 1
            log.warning("the worker checking the upload %s died (exit %s)", printable(rec.file), code)
            if deaths >= DEATHS:
                return _refused(rec, quarantined(rec, deaths, ""), warehouse.exists())

    def _attempt(self, worker: _Worker, job: Job, seconds: float) -> DryRun | str:
        """Send a worker the upload and wait for its dry run: the :class:`DryRun`, :data:`MEMORY` when it ran out
        of memory (it keeps the address space it took: replaced), :data:`LATE` when it passed its deadline,
        :data:`DIED` when it died."""
        try:
            worker.conn.send(job)
            if not wait([worker.conn, worker.process.sentinel], seconds + GRACE_SECONDS):
                return LATE
            if not worker.conn.poll():
                return DIED
            sent: DryRun | None = worker.conn.recv()
        except (EOFError, OSError):  # it died
            return DIED
        return MEMORY if sent is None or spent(sent.file_finding) else sent

    @staticmethod
    def _ready(worker: _Worker) -> bool:
        """Whether the worker has started (waiting for a new one to say so)."""
        if not worker.ready:
            try:
                worker.ready = bool(wait([worker.conn, worker.process.sentinel], START_SECONDS)) and (
                    worker.conn.poll() and worker.conn.recv() == READY)
            except (EOFError, OSError):
                return False
        return worker.ready

    def close(self) -> None:
        """Stop every worker (a busy one is killed) and the threads (a queued dry run is cancelled)."""
        with self._lock:
            self._closed = True
            live = list(self._live)
        self._threads.shutdown(wait=False, cancel_futures=True)
        for worker in live:
            with suppress(OSError):
                worker.conn.send(None)
        deadline = time.monotonic() + 2
        for worker in live:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            self._end(worker)


def start() -> Workers:
    """The checking processes (started once)."""
    global _pool
    if _pool is None:
        _pool = Workers(max(1, min(4, os.cpu_count() or 1)))
    return _pool


async def checked(data: bytes, name: str, unit: str, warehouse: Path) -> DryRun:
    """:func:`ecostat.portal.checking.dry_run` in a checking process, or the finding of the limit it broke."""
    return await asyncio.wrap_future(start().submit(data, name, unit, warehouse))


def stop() -> None:
    """Stop the checking processes."""
    global _pool
    if _pool is not None:
        _pool.close()
        _pool = None
