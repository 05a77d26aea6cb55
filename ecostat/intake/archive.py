"""The archive: every received file's bytes, content-addressed by sha256, and a journal
(``manifest.jsonl``) of every receipt — where the file came from, who sent it, when, how big.

A file leaves the inbox only after its bytes and its journal line are on disk (fsync'd), so a
receipt is never lost; the warehouse records which receipts it has processed, so a receipt is
processed exactly once even if a run is killed (see ecostat.run.receipt).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ecostat.common.durable import append_lines, atomic_writer, fsync_dir, read_journal, write_bytes

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024

OBJECT_MODE = 0o444
DIR_MODE = 0o750


@dataclass(frozen=True)
class Receipt:
    """One journal line: a file as received."""

    receipt_id: str
    sha256: str
    file: str  # path under raw/inbox/
    submitter: str | None
    size: int
    modified_at: dt.datetime
    received_at: dt.datetime
    kind: str = "file"  # see KINDS: what was found in the inbox; only a "file" was read
    name_bytes: str | None = None  # the path's original bytes (hex) when ``file`` shows them otherwise
    name_exact: bool = True  # False when ``file`` had to escape or shorten the name
    inode: int | None = None  # the inbox entry's inode and change time (ns) when it was listed
    changed_ns: int | None = None
    account: str | None = None  # the portal account that submitted the file; None (and not journaled) for a drop

    @property
    def drop(self) -> tuple[object, ...]:
        """What identifies one drop of a file into the inbox: a copy put there again is another inode with
        another change time, even when it keeps its name, bytes and modification time (``cp -p``)."""
        return self.file, self.sha256, self.size, self.modified_at, self.inode, self.changed_ns

    def as_json(self) -> str:
        """The journal line."""
        fields = {k: v for k, v in self.__dict__.items() if k != "account" or v is not None}
        return json.dumps({**fields, "modified_at": self.modified_at.isoformat(),
                           "received_at": self.received_at.isoformat()}, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Receipt:
        """Inverse of :meth:`as_json`."""
        d = json.loads(line)
        return cls(**{**d, "modified_at": dt.datetime.fromisoformat(d["modified_at"]),
                      "received_at": dt.datetime.fromisoformat(d["received_at"])})


def object_path(archive: Path, sha256: str) -> Path:
    """Where the bytes with this hash are kept."""
    return archive / "objects" / sha256[:2] / sha256


def _mkdir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)


def store(archive: Path, sha256: str, data: bytes) -> Path:
    """Keep the bytes under their hash (once), durably and read-only; returns the object's path."""
    target = object_path(archive, sha256)
    if target.exists() and target.stat().st_size == len(data):
        return target
    _mkdir(target.parent)
    write_bytes(target.parent, target.name, data, OBJECT_MODE)
    return target


class TooLarge(Exception):
    """The stream held more bytes than the limit allows."""


def store_stream(archive: Path, src: BinaryIO, limit: int) -> tuple[str, int]:
    """Copy a stream into the archive under its hash, never holding it whole in memory; returns
    (sha256, size). Raises :class:`TooLarge` (and keeps nothing) past ``limit`` bytes."""
    staging = archive / "objects" / "staging"
    _mkdir(staging)
    digest, size = hashlib.sha256(), 0
    name = f"{os.getpid()}-{id(src)}"
    with atomic_writer(staging, name, OBJECT_MODE, sync_folder=False) as out:  # durable where it is renamed to
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(size)
            digest.update(chunk)
            out.write(chunk)
    sha = digest.hexdigest()
    target = object_path(archive, sha)
    if target.exists() and target.stat().st_size == size:
        (staging / name).unlink()
    else:
        _mkdir(target.parent)
        os.replace(staging / name, target)
        fsync_dir(target.parent)
    return sha, size


def journal(archive: Path, receipt: Receipt) -> None:
    """Append a receipt to the manifest and make it durable."""
    _mkdir(archive)
    append_lines(archive / "manifest.jsonl", [receipt.as_json()])


def receipts(archive: Path) -> list[Receipt]:
    """Every receipt in the journal, in the order received (a line cut short by a crash is skipped, a
    damaged one set aside)."""
    return read_journal(archive / "manifest.jsonl", Receipt.from_json)
