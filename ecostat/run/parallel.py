"""Parallel checking, one writer: the pending files are read and checked (reader → normalise → validate:
everything that does not need the warehouse) on Dask workers through prefect-dask's ``DaskTaskRunner``,
and the one writer (:func:`ecostat.run.pending.process_pending`) applies their checks in receipt order.

* **Workers never touch the warehouse.** A worker is handed receipts (a few hundred bytes each), reads
  their bytes from the archive itself (by sha256: ``raw/`` must be the same folder on every worker), and
  hands back :class:`Staged` results: the checked tables (normalised rows as Arrow tables, the cells as submitted,
  findings) or the finding why a file cannot be read.
* **Order.** Files go out in batches of consecutive receipts (:data:`BATCH_FILES`, :data:`BATCH_BYTES`),
  at most :data:`LOOKAHEAD` batches per worker thread ahead of the writer, which takes them back in
  receipt order. The cross-period rules and code ownership, which need the warehouse and the files before
  them in the same run, and the loads (slice replacement) stay in the writer, in order, exactly as in a
  serial run: the warehouse ends the same.
* **Poisoned files.** A file whose check kills its worker process (out of memory, say) does not stop the
  run. The scheduler fails the batch at once (``allowed-failures`` 0); each file of a failed batch is sent
  again on its own, and a file whose check has killed :data:`DEATHS` workers is held as ``FILE_QUARANTINED``
  (the operator is alerted) while the rest go on — the parallel counterpart of the serial quarantine, where
  a file on which two runs died is held by the third.

Dask is used when ``ECOSTAT_DASK_ADDRESS`` names a scheduler (other machines' cores); ``--workers N`` without it
checks in the local sandbox of N children (:func:`run_stage`).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ecostat.check.files import Checked, check_archived, check_crashed, quarantined
from ecostat.check.staged import Staged
from ecostat.common import environment
from ecostat.intake.archive import Receipt
from ecostat.run.pending import Stage
from ecostat.run.sandbox import sandbox_stage

if TYPE_CHECKING:
    from prefect.tasks import Task

log = logging.getLogger(__name__)
BATCH_FILES = 16  # files per worker task: one Prefect task run costs ≈ 0.1 s here, a file ≈ 0.03 s
BATCH_BYTES = 8 * environment.MB  # a batch's archived bytes at most (a big file goes alone)
LOOKAHEAD = 2  # batches per worker thread sent ahead of the writer (bounds the results held in memory)
DEATHS = 2  # worker processes a file's check may kill before it is held
DASK_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,  # a killed worker fails its task: we retry file by file
    "distributed.scheduler.worker-saturation": 1.0,  # one task per thread: a death blames one batch
}


def check_batch(raw: Path, receipts: list[Receipt]) -> list[Staged]:
    """Read each receipt's bytes from the archive under ``raw`` and check them, as the writer would
    (:func:`ecostat.check.files.checked`); what a Dask worker runs. Nothing here opens the warehouse."""
    out = []
    for rec in receipts:
        try:
            out.append(Staged.of(rec, check_archived(raw, rec)))
        except Exception as exc:  # readying it for the trip failed: this file is held, the batch goes on
            out.append(Staged.of(rec, check_crashed(rec, exc)))
    return out


def batches(receipts: list[Receipt]) -> list[list[Receipt]]:
    """Consecutive receipts, in order, grouped into batches of at most :data:`BATCH_FILES` files and
    :data:`BATCH_BYTES` bytes (a larger file alone)."""
    out: list[list[Receipt]] = []
    size = 0
    for rec in receipts:
        if not out or len(out[-1]) >= BATCH_FILES or size + rec.size > BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(rec)
        size += rec.size
    return out


class Handle(Protocol):
    """A batch sent to a worker (a Prefect future)."""

    def result(self) -> list[Staged]:
        """The batch's checks; raises ``distributed.KilledWorker`` if checking it killed its worker."""


def staged_checks(receipts: list[Receipt], submit: Callable[[list[Receipt]], Handle], capacity: Callable[[], int],
                  here: Callable[[Receipt], Checked]) -> Iterator[tuple[str, Checked]]:
    """Every receipt's id and check, in order, made by ``submit``'s workers ahead of the caller: at most
    :data:`LOOKAHEAD` × ``capacity()`` (the cluster's threads) batches are out at a time. A batch whose check
    killed its worker is sent again file by file; a file that killed :data:`DEATHS` workers is quarantined.
    A batch that fails otherwise (the cluster lost, a result that cannot be read) is checked ``here``."""
    from distributed import KilledWorker

    waiting = deque(batches(receipts))
    out: deque[tuple[list[Receipt], Handle | None]] = deque()  # None: a file held without another try
    deaths: Counter[str] = Counter()

    def send(window: int) -> None:
        while waiting and len(out) < window:
            batch = waiting.popleft()
            out.append((batch, submit(batch)))

    send(1)  # the first batch starts the cluster, which then says how many threads it has
    window = LOOKAHEAD * max(1, capacity())
    while out:
        send(window)
        batch, handle = out.popleft()
        if handle is None:
            (rec,) = batch
            yield rec.receipt_id, quarantined(rec, deaths[rec.receipt_id], f"checking this file killed "
                                              f"{deaths[rec.receipt_id]} Dask worker processes (out of memory?); "
                                              "it is held")
            continue
        try:
            staged = handle.result()
            checks = [one.checked() for one in staged]
            if [one.receipt_id for one in staged] != [rec.receipt_id for rec in batch]:
                raise RuntimeError("a batch's checks came back for other receipts")
        except KilledWorker as exc:
            log.warning("a Dask worker died checking %d file(s); each is checked again on its own", len(batch))
            _crashed(handle, exc)
            deaths.update(r.receipt_id for r in batch)
            out.extendleft(reversed([([r], None if deaths[r.receipt_id] >= DEATHS else submit([r])) for r in batch]))
            continue
        except Exception:
            log.exception("a batch of %d file(s) failed on the Dask workers; they are checked by the writer",
                          len(batch))
            checks = [here(rec) for rec in batch]
        yield from zip([rec.receipt_id for rec in batch], checks, strict=True)


def _crashed(handle: Handle, exc: BaseException) -> None:
    """Mark the Prefect task run of a batch whose worker died as crashed (it cannot say so itself)."""
    task_run_id = getattr(handle, "task_run_id", None)
    if task_run_id is None:
        return
    try:
        from prefect.client.orchestration import get_client
        from prefect.states import Crashed

        with get_client(sync_client=True) as client:
            client.set_task_run_state(task_run_id, Crashed(message=f"worker died: {exc!r}"), force=True)
    except Exception:  # the UI's state only; the files' outcomes are in the run's artifacts
        log.warning("could not mark task run %s crashed", task_run_id, exc_info=True)


@contextmanager
def run_stage(workers: int | None, check_task: Task[..., list[Staged]], raw: Path) -> Iterator[Stage | None]:
    """The flow's checking machinery for ``workers`` checking processes (default ``ECOSTAT_WORKERS``): the
    workers of the Dask scheduler ``ECOSTAT_DASK_ADDRESS`` names (:func:`dask_stage`; ``workers`` 1 keeps the
    checks here), else the local sandbox (:func:`ecostat.run.sandbox.sandbox_stage`) of ``workers`` children
    (default ``ECOSTAT_CHECK_PROCESSES``).

    Locally, N sandboxed children check as N Dask worker processes would, with the sandbox's hard limits and
    none of a cluster's costs (its start, a Prefect task run per batch, each result's trip through the
    scheduler's process): a local cluster made a run slower than the sandbox on the same cores, never faster."""
    env = environment.environment()
    n = workers if workers is not None else env.workers
    if env.dask_address and n != 1:
        with dask_stage(env.dask_address, check_task, raw) as stage:
            yield stage
        return
    with sandbox_stage(raw, n) as local:
        yield local


@contextmanager
def dask_stage(address: str, check_task: Task[..., list[Staged]], raw: Path) -> Iterator[Stage]:
    """While the block runs, the checks of pending receipts made by ``check_task`` (which runs
    :func:`check_batch`) on the workers of the Dask scheduler at ``address``, for
    :func:`ecostat.run.pending.process_pending`. The workers must see the same ``raw/`` folder and ``ECOSTAT_*``
    settings; the scheduler should fail a task at its first killed worker (:data:`DASK_CONFIG`, its own
    configuration)."""
    import dask
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner(address=address)

    def submit(batch: list[Receipt]) -> Handle:
        future: Any = runner.submit(check_task, {"raw": raw, "receipts": batch})
        return future  # type: ignore[no-any-return]

    def capacity() -> int:
        return sum(runner.client.nthreads().values())

    # a batch the cluster cannot check is checked in the local sandbox (its children start only if needed)
    with dask.config.set(DASK_CONFIG), runner, sandbox_stage(raw) as local:
        here = partial(check_archived, raw) if local is None else partial(_one, local)
        yield lambda receipts: staged_checks(receipts, submit, capacity, here)


def _one(stage: Stage, rec: Receipt) -> Checked:
    """One receipt's check by ``stage``."""
    ((_, check),) = stage([rec])
    return check
