"""The archive: every received file's bytes, content-addressed by sha256, and a journal
(``manifest.jsonl``) of every receipt — where the file came from, who sent it, when, how big.

A file leaves the inbox only after its bytes and its journal line are on disk (fsync'd), so a
receipt is never lost; the warehouse records which receipts it has processed, so a receipt is
processed exactly once even if a run is killed (see ecostat.ingest).
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

from ecostat.durable import atomic_writer, fsync_dir, write_bytes

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

    @property
    def drop(self) -> tuple[str, str, int, dt.datetime]:
        """What identifies one drop of a file into the inbox (a re-drop has a new mtime)."""
        return self.file, self.sha256, self.size, self.modified_at

    def as_json(self) -> str:
        """The journal line."""
        return json.dumps({**self.__dict__, "modified_at": self.modified_at.isoformat(),
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
    with atomic_writer(staging, name, OBJECT_MODE) as out:
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
    path = archive / "manifest.jsonl"
    new = not path.exists()
    if not new:
        _cut_torn_tail(path)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(receipt.as_json() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    if new:
        path.chmod(0o640)
        fsync_dir(archive)


def _cut_torn_tail(path: Path) -> None:
    """Drop a last line that a crash cut short (its file is still in the inbox and is journaled again)."""
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)
            os.fsync(fh.fileno())


def receipts(archive: Path) -> list[Receipt]:
    """Every receipt in the journal, in the order received (a line cut short by a crash is skipped)."""
    path = archive / "manifest.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(Receipt.from_json(line))
        except (ValueError, TypeError, KeyError):
            log.warning("manifest line skipped (cut short by a crash): %.80s", line)
    return out


def note_attempt(archive: Path, receipt_id: str, run_id: str) -> None:
    """Record, durably and outside any warehouse transaction, that a run starts checking a receipt."""
    _mkdir(archive)
    line = json.dumps({"receipt_id": receipt_id, "run_id": run_id, "at": dt.datetime.now(dt.UTC).isoformat()})
    with open(archive / "attempts.jsonl", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def attempts(archive: Path) -> dict[str, int]:
    """How many runs started checking each receipt (a receipt whose check completed is never tried again,
    so two attempts mean two runs died on it)."""
    path = archive / "attempts.jsonl"
    counts: dict[str, int] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rid = json.loads(line)["receipt_id"]
            except (ValueError, KeyError, TypeError):
                continue
            counts[rid] = counts.get(rid, 0) + 1
    return counts
