"""One writer at a time, and readers never blocked: an ingest holds a lock file and writes to a
working copy (``<warehouse>.work``); when it is done, the copy is published by an atomic rename
over the warehouse file, which readers (``ecostat figures``, ``ecostat query``, ``duckdb -readonly``)
open read-only. A reader keeps the version it opened; the next open sees the new one.

Across machines (flow runs on several Prefect workers, whose lock files may not see each other's), a flow
run also holds the one slot of Prefect's global concurrency limit ``ecostat-writer`` while it writes
(:func:`writer_slot`)."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from uuid import UUID

from ecostat.common.durable import copy_file, flock, write_bytes
from ecostat.common.faults import fault_point

log = logging.getLogger(__name__)
FILE_MODE = 0o640
WRITER_LIMIT = "ecostat-writer"  # Prefect's global concurrency limit: one slot, one writer
LEASE_SECONDS = 60  # renewed while the writer lives; a killed writer's slot is free again after it


class WarehouseBusy(Exception):
    """Another process holds the warehouse's write lock."""


def work_path(warehouse: Path) -> Path:
    """The writer's working copy of a warehouse file."""
    return warehouse.with_name(warehouse.name + ".work")


@contextmanager
def locked(warehouse: Path, wait_seconds: float = 0.0, suffix: str = ".lock") -> Iterator[None]:
    """Hold the warehouse's write lock (nothing more: receiving the inbox takes it so, without a working copy);
    with ``suffix`` ``.ingest.lock``, the lock an ingest run holds from start to end, so that two runs never
    interleave while neither holds the write lock (checking files).

    Raises :class:`WarehouseBusy` if the lock is still held after ``wait_seconds``.
    """
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse.with_name(warehouse.name + suffix)
    with open(lock_path, "a+", encoding="utf-8") as lock:
        if not flock(lock, wait_seconds):
            lock.seek(0)
            raise WarehouseBusy(lock.read().strip() or "unknown")
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        lock.flush()
        yield


@contextmanager
def writing(warehouse: Path, wait_seconds: float = 0.0) -> Iterator[Path]:
    """Hold the write lock and yield the working copy; publish it when the block succeeds.

    Raises :class:`WarehouseBusy` if the lock is still held after ``wait_seconds``.
    """
    with locked(warehouse, wait_seconds):
        work = work_path(warehouse)
        if not work.exists() and warehouse.exists():
            copy_file(warehouse, work, FILE_MODE)
        yield work
        fault_point("before_publish")
        publish(work, warehouse)
        fault_point("published")


def publish(work: Path, warehouse: Path) -> None:
    """Atomically replace the warehouse file with a durable copy of the working file (if any)."""
    if work.exists():
        work.chmod(FILE_MODE)
        copy_file(work, warehouse, FILE_MODE)


def _writer_limit_taken() -> bool:
    """Whether the global concurrency limit :data:`WRITER_LIMIT` is held, creating it (one slot) if missing."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(WRITER_LIMIT)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another writer may create it meanwhile
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=WRITER_LIMIT, limit=1))
            return False
    return limit.active_slots >= limit.limit


def lease_path(warehouse: Path) -> Path:
    """Where the writer of a warehouse records the lease it holds on :data:`WRITER_LIMIT`."""
    return warehouse.with_name(warehouse.name + ".lease")


def _release_dead_lease(warehouse: Path) -> None:
    """Release the lease recorded beside the warehouse by a writer process of this host that is gone: it died
    holding the slot (``kill -9``, out of memory), which would otherwise stay taken until the lease expires.
    A writer that is alive (its process exists) keeps its lease."""
    from prefect.client.orchestration import get_client

    try:
        held = json.loads(lease_path(warehouse).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if held.get("host") != socket.gethostname() or _alive(int(held.get("pid", 0))):
        return
    with get_client(sync_client=True) as client, suppress(Exception):  # it may have expired and gone already
        client.release_concurrency_slots_with_lease(lease_id=UUID(held["lease"]))
    lease_path(warehouse).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


@contextmanager
def writer_slot(warehouse: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the one slot of Prefect's global concurrency limit :data:`WRITER_LIMIT` (created if missing)
    while the block runs, when a Prefect server is configured (``PREFECT_API_URL``: a deployment, several
    machines); :class:`WarehouseBusy` if another flow run, on any machine, still holds it after
    ``wait_seconds``. Enter it before the warehouse's write lock (:func:`writing`), so that it is held until
    the working copy is published.

    Prefect's own ``concurrency()`` composed by hand, to know the lease and record it beside the warehouse:
    the next writer of this host releases the lease of one that died (:func:`_release_dead_lease`); a writer
    on another host that died holds the slot until its lease (:data:`LEASE_SECONDS`) expires."""
    import httpx
    from prefect.concurrency._leases import maintain_concurrency_lease
    from prefect.concurrency._sync import acquire_concurrency_slots_with_lease, release_concurrency_slots_with_lease
    from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
    from prefect.settings import get_current_settings

    if get_current_settings().api.url is None:  # a temporary server of this process: no other writer uses it
        yield
        return
    busy = WarehouseBusy(f"Prefect concurrency limit {WRITER_LIMIT} held by another flow run")
    warehouse.parent.mkdir(parents=True, exist_ok=True)  # the lease is recorded beside the warehouse
    _release_dead_lease(warehouse)
    if _writer_limit_taken() and wait_seconds <= 0:
        raise busy  # at once, without a refused request in Prefect's log
    try:
        lease = acquire_concurrency_slots_with_lease(
            [WRITER_LIMIT], 1, timeout_seconds=wait_seconds if wait_seconds > 0 else None,
            max_retries=None if wait_seconds > 0 else 0, lease_duration=LEASE_SECONDS, strict=True).lease_id
    except TimeoutError:
        raise busy from None
    except ConcurrencySlotAcquisitionError as exc:
        cause = exc.__cause__
        if isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code == 423:
            raise busy from None  # 423 Locked: the slot is taken (and no retry was asked for)
        raise
    try:
        write_bytes(warehouse.parent, lease_path(warehouse).name, json.dumps(
            {"host": socket.gethostname(), "pid": os.getpid(), "lease": str(lease)}).encode(), FILE_MODE)
        with maintain_concurrency_lease(lease, LEASE_SECONDS, raise_on_lease_renewal_failure=True):
            yield
    finally:
        lease_path(warehouse).unlink(missing_ok=True)
        try:
            release_concurrency_slots_with_lease(lease)
        except Exception:  # the server is away: the lease expires by itself
            log.warning("could not release the %s lease %s", WRITER_LIMIT, lease, exc_info=True)
