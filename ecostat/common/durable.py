"""Durable, atomic file writes: a temporary file in the target folder, fsync'd, renamed over the
target, then the folder fsync'd. A reader never sees a half-written file and a crash leaves the old
file or the new one. Folders below a trusted root are opened one level at a time without following
symbolic links, so a link planted in a writable folder cannot redirect a write elsewhere. Also the
append-only journals (a line each, fsync'd, a line cut short by a crash dropped) and the lock files."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def fsync_dir(folder: Path | int) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    fd = folder if isinstance(folder, int) else os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        if fd is not folder:
            os.close(fd)


def open_folder(root: Path, parts: Sequence[str] = (), *, create: bool = False, mode: int = 0o750) -> int:
    """A descriptor of ``root/parts…``; every part is opened with ``O_NOFOLLOW`` (a symbolic link
    raises ``OSError``), and with ``create`` a missing part is made. The caller closes it."""
    if create:
        root.mkdir(parents=True, exist_ok=True, mode=mode)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            if create:
                with suppress(FileExistsError):
                    os.mkdir(part, mode, dir_fd=fd)
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def atomic_writer(folder: Path | int, name: str, mode: int = 0o640, sync_folder: bool = True) -> Iterator[BinaryIO]:
    """Write ``folder/name`` atomically: yields a binary file; on success it is fsync'd, given
    ``mode`` and renamed over ``name`` (a link at ``name`` is replaced, never followed), and the folder
    fsync'd (unless ``sync_folder`` is False: the caller fsyncs it once after several files)."""
    fd = folder if isinstance(folder, int) else os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    tmp = f".{name[:40]}.{uuid.uuid4().hex}.tmp"
    try:
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=fd)
        try:
            with os.fdopen(out, "wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
                os.fchmod(fh.fileno(), mode)
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=fd)
            raise
        if sync_folder:
            os.fsync(fd)
    finally:
        if fd is not folder:
            os.close(fd)


def write_bytes(folder: Path | int, name: str, data: bytes, mode: int = 0o640, sync_folder: bool = True) -> None:
    """Write ``data`` to ``folder/name`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(folder, name, mode, sync_folder) as fh:
        fh.write(data)


FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)


def clone_file(src: int, dst: int) -> None:
    """Copy the open file ``src`` into the empty open file ``dst``: a reflink (``FICLONE``: shared extents,
    O(1)) where the filesystem has them, else the kernel's ``copy_file_range``, else read and write."""
    try:
        fcntl.ioctl(dst, FICLONE, src)
        return
    except OSError:  # ext4, tmpfs, two filesystems: no reflink
        pass
    size = os.fstat(src).st_size
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src, dst, size - done, done, done)
            if n == 0:
                break
            done += n
        return
    except OSError:
        if done:
            raise
    with os.fdopen(os.dup(src), "rb") as fin, os.fdopen(os.dup(dst), "wb") as fout:
        fin.seek(0)
        shutil.copyfileobj(fin, fout, 1024 * 1024)


def append_lines(path: Path, lines: Sequence[str], mode: int = 0o640) -> None:
    """Append text lines to a journal and make them durable. A last line that a crash cut short is cut
    off first (its content is written again by whoever wrote it), so that it never swallows a new line."""
    if not lines:
        return
    new = not path.exists()
    with open(path, "ab+") as fh:
        if not new:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size:
                fh.seek(max(0, size - 1))
                if fh.read(1) != b"\n":
                    fh.seek(0)
                    data = fh.read()
                    fh.truncate(data.rfind(b"\n") + 1)
        fh.seek(0, os.SEEK_END)
        fh.write("".join(line + "\n" for line in lines).encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    if new:
        path.chmod(mode)
        fsync_dir(path.parent)


def read_lines(path: Path) -> list[str]:
    """A journal's complete lines (a last line cut short by a crash is left out); none if it does not
    exist. A line that is not UTF-8 is set aside (:func:`set_aside`) and the others are read."""
    return read_journal(path, lambda line: line)


def read_journal(path: Path, parse: Callable[[str], T]) -> list[T]:
    """Each complete line of a journal, decoded alone and parsed by ``parse``, in order. A line that
    does not decode, or that ``parse`` refuses (``ValueError``, ``KeyError``, ``TypeError``), is set aside
    (:func:`set_aside`) and the rest is used: one damaged line never stops a reader. A last line cut short
    by a crash is left out without a word (whoever wrote it writes it again)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    out = []
    for raw in data[:data.rfind(b"\n") + 1].splitlines():
        try:
            out.append(parse(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError) as e:  # UnicodeDecodeError is a ValueError
            set_aside(path, raw, e)
    return out


def damaged_path(journal: Path) -> Path:
    """Where a journal's damaged lines are kept: ``<journal>.damaged`` beside it."""
    return journal.with_name(journal.name + ".damaged")


def set_aside(journal: Path, raw: bytes, why: BaseException) -> None:
    """Log a damaged journal line and keep a copy in :func:`damaged_path` (once: a line already kept
    there is not copied again by the next reader)."""
    log.warning("%s: damaged line set aside in %s (%s: %.80r)", journal, damaged_path(journal).name,
                type(why).__name__, raw)
    target = damaged_path(journal)
    with suppress(OSError):  # a reader without write access still reads the rest
        if raw not in (target.read_bytes().splitlines() if target.exists() else []):
            with open(target, "ab") as fh:
                fh.write(raw + b"\n")
                fh.flush()
                os.fsync(fh.fileno())


def flock(fh: IO[Any], wait_seconds: float) -> bool:
    """Take an exclusive lock on an open file, trying for up to ``wait_seconds``; whether it was taken."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
