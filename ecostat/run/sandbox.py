"""Checking received files in a sandbox: a pool of child processes (``ECOSTAT_CHECK_PROCESSES``, default 2)
that read and check the files and hand back :class:`~ecostat.check.staged.Staged` results, which the one
writer applies in receipt order (:func:`ecostat.run.pending.process_pending`). The writer never parses a
received byte.

* **Hard limits.** Each child limits its own address space (``RLIMIT_AS``, ``ECOSTAT_CHECK_MEMORY_MB``) and,
  per file, its CPU seconds (``RLIMIT_CPU``, the file's time budget ``ECOSTAT_MAX_FILE_SECONDS`` from its
  start); the parent kills a child still busy with a file :data:`GRACE_SECONDS` past the budget. A file that
  breaks a limit gets one finding (``FILE_TIME_BUDGET``, ``FILE_MEMORY_LIMIT``) and the run goes on, its child
  replaced (a child that ran out of memory keeps the address space it took: it skips the files it was sent
  after, which go to a fresh child, and stops).
* **Deaths.** A child that dies otherwise (a parser's abort, a segfault) is replaced and the file tried again
  in a fresh child; a file that killed :data:`DEATHS` children is held (``FILE_QUARANTINED``).
* **No warehouse.** A child is handed receipts and reads their bytes from the archive itself, by sha256.
* **Cost.** The children are forked from a ``forkserver`` that has imported the checks once (never forked
  from the writer, which may hold DuckDB's threads), and each checks file after file: a run pays their start
  once, not per file. A command may start the forkserver first thing (:mod:`ecostat.run.checkserver`), so
  that its import of the checks overlaps the command's own.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import resource
import shutil
import signal
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from ecostat.check.files import Checked, check_archived, check_crashed, memory_finding, quarantined, time_finding
from ecostat.check.staged import Staged
from ecostat.common import environment
from ecostat.common.display import printable
from ecostat.common.worker import jobs
from ecostat.contract.catalogue import Finding, rules
from ecostat.intake.archive import Receipt
from ecostat.run import checkserver

log = logging.getLogger(__name__)
GRACE_SECONDS = 2.0  # past a file's budget before its child is killed (the checks stop themselves at it)
DEATHS = 2  # children a file's check may kill before it is held
LOOKAHEAD = 4  # files per child checked or sent ahead of the writer (bounds the results held; a big one on disk)
QUEUED = 2  # files sent to a child at a time: it begins the next as soon as it has sent a result
M_ARENA_MAX = -8  # glibc's mallopt parameter
SPOOL_ROWS = 50_000  # a check of more rows is handed over through a file (:class:`Spooled`)
MEMORY_EXIT = 86  # a child's exit status when it ran out of memory even to answer


def spent(result: object) -> bool:
    """Whether a check ran its process out of memory (``FILE_MEMORY_LIMIT``): the process keeps the address space
    it took (its allocator does not give it back), so that a later file in it would fail for want of memory."""
    return isinstance(result, Finding) and result.rule_id == "FILE_MEMORY_LIMIT"


def _limit(kind: int, soft: int) -> None:
    """Lower a resource's soft limit (never above its hard limit)."""
    _, hard = resource.getrlimit(kind)
    resource.setrlimit(kind, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _lean_allocators() -> None:
    """Keep the address space near what is used, since it is what the limit counts: Arrow allocates from the
    system's malloc (its own allocator reserves address space ahead), and malloc keeps two arenas (not one a
    thread, each reserving 64 MB)."""
    import ctypes
    import ctypes.util

    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    with suppress(OSError, AttributeError):  # not glibc: its defaults stand
        ctypes.CDLL(ctypes.util.find_library("c")).mallopt(M_ARENA_MAX, 2)


def confine(memory: int) -> None:
    """Make this process a checking one: the rule catalogue read now (a finding must not need memory once the
    limit is reached), the allocators lean, its address space limited to ``memory`` bytes."""
    rules()
    _lean_allocators()
    _limit(resource.RLIMIT_AS, memory)


def allow_seconds(seconds: float) -> None:
    """Limit this process's CPU to ``seconds`` beyond what it used so far: one file's budget, from its start."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    _limit(resource.RLIMIT_CPU, int(used.ru_utime + used.ru_stime + seconds) + 1)


@dataclass(frozen=True)
class Spooled:
    """A big check handed over through a file of the pool's spool folder, pickled to it and read back only when
    the writer takes it, where a message through the pipe is one bytes object as big as the check, held by both
    processes at once."""

    path: Path

    def load(self) -> Staged:
        """The check, read back (the file removed)."""
        try:
            with open(self.path, "rb") as fh:
                staged: Staged = pickle.load(fh)
        finally:
            self.path.unlink(missing_ok=True)
        return staged


def _spooled(staged: Staged, spool: Path) -> Staged | Spooled:
    """``staged`` itself, or, when its tables hold more than :data:`SPOOL_ROWS` rows, a :class:`Spooled` file."""
    if staged.rows() <= SPOOL_ROWS:
        return staged
    path = spool / f"{os.getpid()}-{staged.receipt_id}.pickle"
    with open(path, "xb") as fh:
        pickle.dump(staged, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return Spooled(path)


def child_main(conn: Connection, raw: Path, memory: int, settings: dict[str, str], spool: Path) -> None:
    """A checking child: take the run's ``ECOSTAT_*`` ``settings`` (the forkserver it comes from may be older
    than the run), limit its address space, then check each receipt it is sent (its CPU limited to the file's
    budget from the file's start) and send back its :class:`Staged` result (a big one through ``spool``), until
    told to stop (none after a file's memory finding)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when children stop
    for name in [k for k in os.environ if k.startswith(environment.PREFIX)]:
        del os.environ[name]
    os.environ.update(settings)
    confine(memory)
    gc.freeze()  # what the forkserver imported is never collected here: a full collection would copy its pages
    exhausted = False  # by a file's memory finding: the parent sends the files after it to a fresh child
    job: tuple[Receipt, float]
    for job in jobs(conn):
        if exhausted:
            continue
        rec, seconds = job
        allow_seconds(seconds)
        staged = None
        try:
            staged = Staged.of(rec, check_archived(raw, rec))
        except MemoryError:
            pass  # answered below, once the traceback and what it holds are gone
        except Exception as exc:  # readying it for the trip failed: this file is held, the rest go on
            staged = Staged.of(rec, check_crashed(rec, exc))
        if staged is None:
            staged = Staged.of(rec, (memory_finding(rec), None))
        try:
            conn.send(_spooled(staged, spool))
        except MemoryError:
            os._exit(MEMORY_EXIT)  # the parent gives the file its finding
        exhausted = spent(staged.result)


Result = Checked | Staged | Spooled  # what the pool holds of a file's check until it is handed over


@dataclass
class _Child:
    """One checking child and the files sent to it, in order (the first is the one it is checking)."""

    process: Any
    conn: Connection
    recs: deque[Receipt] = field(default_factory=deque)
    deadline: float = 0.0  # the first file's
    exhausted: bool = False  # it answered a file with FILE_MEMORY_LIMIT (:func:`spent`)


@dataclass
class Sandbox:
    """A pool of checking children for the receipts under ``raw`` (see the module's docstring)."""

    raw: Path
    processes: int = 2
    children: list[_Child] = field(default_factory=list)
    retired: list[_Child] = field(default_factory=list)  # told to stop once the files were checked
    started: float = 0.0  # seconds spent starting children
    spawned: int = 0

    def __post_init__(self) -> None:
        self.spool = Path(tempfile.mkdtemp(prefix="ecostat-check-"))  # big checks handed over (Spooled)
        self._ctx = checkserver.context()

    def _spawn(self) -> _Child:
        begun = time.monotonic()
        ours, theirs = self._ctx.Pipe()
        settings = {k: v for k, v in os.environ.items() if k.startswith(environment.PREFIX)}
        process = self._ctx.Process(target=child_main, daemon=True, name="ecostat-check",
                                    args=(theirs, self.raw, environment.check_memory_bytes(), settings,
                                          self.spool))
        process.start()
        theirs.close()
        self.started += time.monotonic() - begun
        self.spawned += 1
        return _Child(process, ours)

    def close(self) -> None:
        """Stop every child (a busy one is killed)."""
        for child in self.retired:
            child.process.join(timeout=2)
            if child.process.is_alive():
                child.process.kill()
                child.process.join()
            child.conn.close()
        self.retired.clear()
        for child in self.children:
            try:
                if not child.recs:
                    child.conn.send(None)
            except OSError:
                pass
            child.process.join(timeout=0 if child.recs else 2)
            if child.process.is_alive():
                child.process.kill()
                child.process.join()
            child.conn.close()
        self.children.clear()
        shutil.rmtree(self.spool, ignore_errors=True)
        if self.spawned:
            checkserver.stop()

    def checks(self, receipts: list[Receipt]) -> Iterator[tuple[str, Checked]]:
        """Every receipt's id and check, in order, made by the children ahead of the caller (at most
        :data:`LOOKAHEAD` files per child ahead, sent or done)."""
        seconds = environment.max_file_seconds()
        waiting = deque(receipts)
        done: dict[str, Result] = {}
        deaths: Counter[str] = Counter()
        while len(self.children) < min(self.processes, len(receipts)):
            self.children.append(self._spawn())
        for rec in receipts:
            while rec.receipt_id not in done:
                self._send(waiting, done, seconds, LOOKAHEAD * len(self.children))
                self._collect(waiting, done, deaths, seconds)
            yield rec.receipt_id, _handed(rec, done.pop(rec.receipt_id))
        self._retire()

    def _retire(self) -> None:
        """Tell the children, all idle once every file is checked, to stop: they end while this process goes
        on (:meth:`close` waits for them); a later call of :meth:`checks` starts others from the forkserver."""
        for child in self.children:
            with suppress(OSError):
                child.conn.send(None)
        self.retired += self.children
        self.children = []

    def _send(self, waiting: deque[Receipt], done: dict[str, Result], seconds: float, window: int) -> None:
        """Keep each child's queue :data:`QUEUED` files long, within the window: a child goes on to its next
        file without waiting for this process to take its result and answer (which, on a busy machine, may
        wait for a core)."""
        sent = sum(len(c.recs) for c in self.children)
        for depth in range(1, QUEUED + 1):
            for child in self.children:
                # the file the caller waits for is at the front of ``waiting`` when nothing is out
                if len(child.recs) < depth and waiting and (len(done) + sent < window or not sent):
                    rec = waiting.popleft()
                    if not child.recs:
                        child.deadline = time.monotonic() + seconds + GRACE_SECONDS
                    child.recs.append(rec)
                    sent += 1
                    try:
                        child.conn.send((rec, seconds))
                    except OSError:  # it died before this file: counted as a death when it is collected
                        child.process.join(timeout=1)

    def _collect(self, waiting: deque[Receipt], done: dict[str, Result], deaths: Counter[str],
                 seconds: float) -> None:
        """Wait for a child to finish a file, die, or pass its deadline, and take what it gives."""
        busy = [c for c in self.children if c.recs]
        if not busy:
            return
        timeout = max(0.0, min(c.deadline for c in busy) - time.monotonic())
        wait([c.conn for c in busy] + [c.process.sentinel for c in busy], timeout)
        for i, child in enumerate(self.children):
            if not child.recs or self._take(child, done, seconds):
                if child.exhausted:  # the files sent after its memory finding, not begun, go to a fresh child
                    with suppress(OSError):
                        child.conn.send(None)
                    waiting.extendleft(reversed(child.recs))
                    child.recs.clear()
                    self.retired.append(child)
                    self.children[i] = self._spawn()
                continue
            rec = child.recs.popleft()
            requeue = list(child.recs)  # sent but not begun: tried again, no death counted
            over_time = child.process.is_alive()
            child.process.kill()
            child.process.join()
            code = child.process.exitcode
            child.conn.close()
            self.children[i] = self._spawn()
            if over_time or code == -signal.SIGXCPU:
                log.warning("checking %s passed its time budget: stopped", printable(rec.file))
                done[rec.receipt_id] = time_finding(rec, seconds), None
            elif code == MEMORY_EXIT:
                done[rec.receipt_id] = memory_finding(rec), None
            else:
                deaths[rec.receipt_id] += 1
                log.warning("the child checking %s died (exit %s)", printable(rec.file), code)
                if deaths[rec.receipt_id] >= DEATHS:
                    done[rec.receipt_id] = quarantined(rec, deaths[rec.receipt_id], (
                        f"checking this file killed {deaths[rec.receipt_id]} sandboxed checking processes "
                        f"(last exit code {code}); it is held"))
                else:
                    requeue.insert(0, rec)
            waiting.extendleft(reversed(requeue))

    def _take(self, child: _Child, done: dict[str, Result], seconds: float) -> bool:
        """Take every result ``child`` has sent; True while it is alive and within its current file's deadline
        (or has no file left), False when it must be stopped (dead, or over the deadline)."""
        while child.recs and child.conn.poll():
            try:
                sent: Staged | Spooled = child.conn.recv()
            except (EOFError, OSError):
                break  # it died (maybe while sending): stopped once its exit is seen, or at the deadline
            rec = child.recs.popleft()
            done[rec.receipt_id] = sent
            child.deadline = time.monotonic() + seconds + GRACE_SECONDS  # the next file's, begun just now
            child.exhausted = isinstance(sent, Staged) and spent(sent.result)
            if child.exhausted:
                return True  # it begins no other file
        return not child.recs or (child.process.is_alive() and time.monotonic() < child.deadline)


def _handed(rec: Receipt, result: Result) -> Checked:
    """A result as the writer takes it: a spooled check is read back only now, so that the big checks of the
    files ahead stay on disk meanwhile."""
    if isinstance(result, Spooled):
        try:
            result = result.load()
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            return check_crashed(rec, exc)
    return result.checked() if isinstance(result, Staged) else result


@contextmanager
def sandbox_stage(raw: Path, processes: int | None = None) -> Iterator[Any]:
    """While the block runs, a stage (:data:`ecostat.run.pending.Stage`) that checks receipts in a pool of
    ``processes`` sandboxed children (default ``ECOSTAT_CHECK_PROCESSES``; None when it is 0: checked in the
    writer)."""
    processes = environment.check_processes() if processes is None else processes
    if processes == 0:
        yield None
        return
    pool = Sandbox(raw, processes)
    try:
        yield pool.checks
    finally:
        pool.close()
        if pool.started:
            log.info("sandbox: %d child start(s) took %.2f s", pool.spawned, pool.started)

