"""One writer at a time, and readers never blocked: a writer holds a lock file and writes to a working
copy (``<warehouse>.work``); when it is done, the copy is published by renaming it over the warehouse file,
which readers (``ecostat figures``, ``ecostat query``, ``duckdb -readonly``, the portal) open read-only. A
reader keeps the version (the inode) it opened; the next open sees the new one. DuckDB refuses a read-only
open of a file another process holds read-write (one process per file: docs/2.0 connect/concurrency), so
readers never open the file being written: that is what the working copy is for.

Publishing does not grow with the warehouse (issue 21): :func:`publish` fsyncs the working file, renames it
over the warehouse and fsyncs the folder, O(1) under the write lock. The former file, whose blocks take time in
proportion to its size to free, keeps a second name until the lock is released and is removed then. The
working file leaves with the publish: no copy stays beside the warehouse at rest. The next writer makes one
from the published file before it takes the write lock (:func:`prepare_work`; the ingest run while its
files are checked, in a thread: :func:`preparing_work`), or under the lock if another writer took it or
published meanwhile (:func:`writing`). The copy is a reflink (``FICLONE``) where the filesystem has them
(btrfs, XFS), else a kernel copy (``copy_file_range``), made under a temporary name, fsync'd and renamed to
``.work`` beside a sidecar (``.work.base``) naming the published file it derives from (device, inode, size,
mtime). ``benchmarks/publish.py`` measures it against the former publish (a durable copy of the whole file):
``docs/benchmark.md``.

A working copy found under the lock is reused when it derives from the published file: a fresh copy, or the
continuation of a run killed before publishing, which holds that run's committed per-file transactions (the
attempts journal beside the warehouse counts runs that died on a file: redoing them would count false
deaths). One without a sidecar is a continuation too (it is left by a run creating the warehouse, or by an
ecostat before issue 21, whose working copy stayed at rest). One whose sidecar names another file (the
warehouse was replaced, restored from a backup) is discarded with its WAL and copied again. ``kill -9``
anywhere leaves the published file whole: a copy is only ever renamed into place, and a temporary copy (or a
former file's second name) left by a killed process is removed by the next writer.

Across machines (flow runs on several Prefect workers, whose lock files may not see each other's), a flow
run also holds the one slot of Prefect's global concurrency limit ``ecostat-writer`` while it writes
(:func:`writer_slot`)."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import partial
from pathlib import Path
from uuid import UUID

from ecostat.common.background import meanwhile
from ecostat.common.durable import clone_file, flock, fsync_dir, write_bytes
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
    """Hold the write lock and yield the working copy; publish it when the block succeeds, and remove the
    former file once the lock is released. The working copy is made before the lock is taken
    (:func:`prepare_work`: nothing to do when one that derives from the published file is there), or under it
    when that could not be done (another writer held the lock or published meanwhile).

    Raises :class:`WarehouseBusy` if the lock is still held after ``wait_seconds``.
    """
    prepare_work(warehouse)
    with locked(warehouse, wait_seconds):
        work = work_path(warehouse)
        _remove_leftovers(warehouse)
        if warehouse.exists() and not _reusable(warehouse):
            _install(warehouse, *_copy(warehouse))
        yield work
        fault_point("before_publish")
        former = publish(work, warehouse)
        fault_point("published")
    if former is not None:
        former.unlink(missing_ok=True)


def publish(work: Path, warehouse: Path) -> Path | None:
    """Atomically replace the warehouse file with the working file (if any), durably: the working file is
    fsync'd, renamed over the warehouse, and the folder fsync'd. O(1) whatever the warehouse's size; a reader
    that opened the former file keeps reading it.

    Returns a second name of the former file, made before the rename, for the caller to remove once it has
    released the write lock: the filesystem frees a file's blocks when its last name goes, which takes time
    in proportion to its size (0.3 s a GB on ext4 here), and the rename would otherwise do it under the lock.
    None when there was no former file (or no second name could be made: the rename frees it then)."""
    if not work.exists():
        return None
    fd = os.open(work, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchmod(fd, FILE_MODE)
        os.fsync(fd)
    finally:
        os.close(fd)
    former = warehouse.with_name(_temp_name(warehouse, "former"))
    try:
        os.link(warehouse, former)
    except OSError:  # no warehouse yet, or a filesystem without hard links
        kept = None
    else:
        kept = former
    os.replace(work, warehouse)
    fsync_dir(warehouse.parent)
    base_path(warehouse).unlink(missing_ok=True)  # a stale one would name a file that is gone: harmless
    return kept


def base_path(warehouse: Path) -> Path:
    """The sidecar naming the published file the working copy was made from."""
    return warehouse.with_name(warehouse.name + ".work.base")


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def _reusable(warehouse: Path) -> bool:
    """Whether the working copy beside ``warehouse`` derives from the published file (see the module)."""
    work, base = work_path(warehouse), base_path(warehouse)
    if not work.exists():
        return False
    try:
        if not base.exists():
            return True
        return bool(json.loads(base.read_text(encoding="utf-8")) == _identity(warehouse.stat()))
    except (OSError, ValueError):
        return False


def _temp_name(warehouse: Path, kind: str = "work-copy") -> str:
    return f".{warehouse.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex}.tmp"


def _remove_leftovers(warehouse: Path) -> None:
    """Remove the temporary copies, and the second names of former files (:func:`publish`), left by processes
    that are gone (killed while copying or publishing)."""
    pattern = re.compile(rf"\.{re.escape(warehouse.name)}\.(?:work-copy|former)-(\d+)-[0-9a-f]{{32}}\.tmp")
    for entry in os.scandir(warehouse.parent):
        found = pattern.fullmatch(entry.name)
        if found and not _alive(int(found.group(1))):
            log.info("removing %s, left by a process that is gone", entry.name)
            with suppress(FileNotFoundError):
                os.unlink(entry.path)


def _copy(warehouse: Path) -> tuple[Path, list[int]]:
    """A durable copy of the published warehouse under a temporary name, and the identity of the file copied
    (a published file is never written in place: the copy is of that one version whatever is published
    meanwhile)."""
    tmp = warehouse.with_name(_temp_name(warehouse))
    src = os.open(warehouse, os.O_RDONLY | os.O_CLOEXEC)
    try:
        identity = _identity(os.fstat(src))
        dst = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
        try:
            clone_file(src, dst)
            os.fsync(dst)
        except BaseException:
            os.close(dst)
            tmp.unlink(missing_ok=True)
            raise
        os.close(dst)
    finally:
        os.close(src)
    return tmp, identity


def _install(warehouse: Path, tmp: Path, identity: list[int]) -> None:
    """Under the write lock: make the copy ``tmp`` the working copy, discarding any other (and its WAL). The
    old copy goes first and the sidecar before the rename, so a sidecar never names a copy it does not
    describe, whenever the process is killed."""
    work = work_path(warehouse)
    base_path(warehouse).unlink(missing_ok=True)
    work.unlink(missing_ok=True)
    work.with_name(work.name + ".wal").unlink(missing_ok=True)
    fsync_dir(warehouse.parent)
    write_bytes(warehouse.parent, base_path(warehouse).name, json.dumps(identity).encode(), FILE_MODE)
    os.replace(tmp, work)
    fsync_dir(warehouse.parent)


def prepare_work(warehouse: Path) -> bool:
    """Make the working copy of the published ``warehouse`` before the write lock is taken, so that copying
    does not count in the time other writers wait; whether a working copy that derives from the published
    file is there now. The copy is made without the lock and put in place under it (a moment), unless the lock
    is busy then or another writer published meanwhile: :func:`writing` copies under the lock instead. A
    working copy that derives from the published file (a killed run's) is kept; temporary copies of killed
    processes are removed."""
    if not warehouse.exists():
        return False
    _remove_leftovers(warehouse)
    if _reusable(warehouse):
        return True
    tmp, identity = _copy(warehouse)
    try:
        fault_point("work_copied")
        with locked(warehouse):
            if _reusable(warehouse):
                return True
            if warehouse.exists() and _identity(warehouse.stat()) == identity:
                _install(warehouse, tmp, identity)
                return True
            return False
    except WarehouseBusy:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def preparing_work(warehouse: Path) -> AbstractContextManager[None]:
    """Run :func:`prepare_work` in a thread while the block runs (the ingest's check of its files ahead of
    the write lock), and wait for it at the end. It never fails the block: a copy that could not be made is
    made under the lock by :func:`writing`."""
    return meanwhile(partial(prepare_work, warehouse), "the working copy could not be made ahead of the write lock")


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
