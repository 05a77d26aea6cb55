"""Taking files out of the inbox: listing them, reading each one safely, archiving and journaling it.

Every name and byte in the inbox may be hostile. Names are handled as bytes and shown decoded
(:func:`ecostat.common.display.decode_name`). Each file is opened relative to its folder's descriptor with
``O_NOFOLLOW`` (folders too), checked with ``fstat`` on the open descriptor (a regular file with one
link) and read from that descriptor only, in chunks, straight into the archive. A symbolic link is
recorded (its target as text), never followed; anything else that is not a plain file (a FIFO, a
device, a second hard link to a file, a file over the size limit) is moved unread into
``raw/quarantine/`` and recorded, to be rejected with a finding. A file that vanishes or changes
while it is read is left for the next run. Uploads still in progress (known temporary names) are
left alone. Nothing here stops a run because of one file.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import logging
import os
import re
import stat
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ecostat.common import environment
from ecostat.common.display import decode_name
from ecostat.common.durable import flock, open_folder
from ecostat.common.faults import fault_point
from ecostat.contract.registry import registry
from ecostat.intake import archive
from ecostat.intake.archive import Receipt

log = logging.getLogger(__name__)

# Left in the inbox: lock files, desktop litter, and uploads still in progress (browsers, WinSCP,
# rsync's ".name.XXXXXX", pure-ftpd, LibreOffice).
IGNORED_NAMES = frozenset({b".DS_Store", b"Thumbs.db", b"desktop.ini"})
IGNORED_PREFIXES = (b"~$", b".~lock.", b".pureftpd-upload.")
IGNORED_SUFFIXES = (b".tmp", b".part", b".partial", b".crdownload", b".download", b".filepart", b".swp")
RSYNC_TEMP = re.compile(rb"\..+\.[A-Za-z0-9]{6}")
QUARANTINE = "quarantine"
INTAKE_LOCK = ".intake.lock"  # under raw/, beside the inbox
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC

# Called between listing the inbox and reading a file (tests use it to swap a file for a link).
before_read: Callable[[InboxFile], None] = lambda item: None  # noqa: E731


@dataclass(frozen=True)
class InboxFile:
    """A file (or a link, or something stranger) found in the inbox."""

    parts: tuple[bytes, ...]  # its path under the inbox, one name per level, as bytes
    file: str  # that path as shown: decoded, escaped where needed, with forward slashes
    submitter: str | None
    modified_at: dt.datetime
    name_exact: bool = True  # False when ``file`` escapes or shortens the name
    inode: int | None = None  # the entry's inode and change time when listed: a copy put back is another
    changed_ns: int | None = None

    @property
    def name_bytes(self) -> str | None:
        """The original path bytes (hex) when ``file`` shows them otherwise."""
        raw = b"/".join(self.parts)
        return None if raw == self.file.encode("utf-8") else raw.hex()


def ignored(name: bytes) -> bool:
    """Whether a name is litter or an upload in progress, left in the inbox."""
    return (name in IGNORED_NAMES or name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES)
            or RSYNC_TEMP.fullmatch(name) is not None)


def _submitter(folder: str | None) -> str | None:
    entry = registry("units").resolve(folder) if folder else None
    return entry.code if entry and entry.code == folder else None


def discover(inbox: Path) -> list[InboxFile]:
    """Every entry under the inbox in processing order (:func:`fair_order`); links are listed, never
    followed. Only the top folder names the submitter."""
    found = []
    top = os.fsencode(inbox)
    for dirpath, dirnames, filenames in os.walk(top):
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in [*filenames, *links]:
            if ignored(name):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            parts = tuple(os.path.relpath(path, top).split(b"/"))
            shown = [decode_name(p) for p in parts]
            folder = shown[0][0] if len(parts) > 1 else None
            found.append(InboxFile(parts, "/".join(s for s, _ in shown), _submitter(folder),
                                   dt.datetime.fromtimestamp(st.st_mtime, dt.UTC), all(e for _, e in shown),
                                   st.st_ino, st.st_ctime_ns))
    return fair_order(found)


def fair_order(found: list[InboxFile]) -> list[InboxFile]:
    """The order in which entries first seen in the same listing are received (contract v3 §2). They
    arrived together, so no sender can put its files before another unit's: the units take turns, one
    file each per round, and a unit's own files keep their order (modification time, then name: the
    sender's own order among its own files). A hundred files of one unit hold another unit's first file
    back by one file at most. Each unit's turn in a round follows its first file's (time, name)."""
    queues: dict[str | None, list[InboxFile]] = {}
    for f in sorted(found, key=lambda f: (f.modified_at, f.file)):
        queues.setdefault(f.submitter if f.submitter is not None else f.parts[0].decode("utf-8", "replace"),
                          []).append(f)
    rounds = max((len(q) for q in queues.values()), default=0)
    return [q[k] for k in range(rounds) for q in queues.values() if k < len(q)]


def _receipt(item: InboxFile, sha: str, size: int, kind: str, account: str | None = None) -> Receipt:
    return Receipt(uuid.uuid4().hex, sha, item.file, item.submitter, size, item.modified_at,
                   dt.datetime.now(dt.UTC), kind, item.name_bytes, item.name_exact, item.inode, item.changed_ns,
                   account)


def _record(raw: Path, item: InboxFile, kind: str, description: dict[str, object]) -> Receipt:
    """Archive a short description of what was found instead of bytes that must not be read."""
    data = json.dumps({"kind": kind, **description}, ensure_ascii=False, sort_keys=True).encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    archive.store(raw / "archive", sha, data)
    size = description.get("size")
    return _receipt(item, sha, size if isinstance(size, int) else len(data), kind)


def _quarantine_slot(item: InboxFile) -> str:
    """Where an entry that must not be read is kept, under raw/ (the same for the same drop)."""
    slot = hashlib.sha256(b"/".join(item.parts) + item.modified_at.isoformat().encode()).hexdigest()[:16]
    return f"{QUARANTINE}/{slot}"


def _quarantine(raw: Path, folder: int, name: bytes, slot: str) -> None:
    """Move an entry unread from its inbox folder into its quarantine slot."""
    sfd = open_folder(raw, slot.split("/"), create=True, mode=0o700)
    try:
        os.rename(name, name, src_dir_fd=folder, dst_dir_fd=sfd)
        os.fsync(sfd)
    finally:
        os.close(sfd)


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_dev, b.st_ino, b.st_size, b.st_mtime_ns)


def receive(raw: Path, item: InboxFile, journaled: set[tuple[object, ...]],
            account: str | None = None) -> Receipt | None:
    """Archive one inbox entry and journal its receipt, durably; only then take it out of the inbox.
    Returns None when the entry vanished or changed meanwhile (it is left for the next run).

    ``journaled`` holds the drops already in the journal: an entry whose receipt was journaled by a run
    killed before it left the inbox is not journaled twice. ``account``: the portal account that put the
    entry there, recorded in its receipt.
    """
    before_read(item)
    try:
        folder = open_folder(raw / "inbox", [os.fsdecode(p) for p in item.parts[:-1]])
    except OSError as exc:  # a folder vanished or was swapped for a link since the listing
        log.warning("inbox folder of %s changed during intake (%s); left for the next run", item.file, exc.strerror)
        return None
    try:
        return _receive_at(raw, folder, item.parts[-1], item, journaled, account)
    finally:
        os.close(folder)


def _receive_at(raw: Path, folder: int, name: bytes, item: InboxFile,
                journaled: set[tuple[object, ...]], account: str | None = None) -> Receipt | None:
    try:
        fd = os.open(name, OPEN_FLAGS, dir_fd=folder)
    except FileNotFoundError:
        log.warning("%s vanished during intake; nothing to receive", item.file)
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return _receive_link(raw, folder, name, item, journaled)
        return _receive_unread(raw, folder, name, item, journaled, "special", {"error": exc.strerror or str(exc)})
    with os.fdopen(fd, "rb", buffering=0) as fh:
        st = os.fstat(fd)
        limit = environment.max_file_bytes()
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size > limit:
            kind = "special" if not stat.S_ISREG(st.st_mode) else "linked" if st.st_nlink != 1 else "oversize"
            found = {"mode": stat.filemode(st.st_mode), "links": st.st_nlink, "size": st.st_size}
            fh.close()
            return _receive_unread(raw, folder, name, item, journaled, kind, found)
        try:
            sha, size = archive.store_stream(raw / "archive", fh, limit)  # type: ignore[arg-type]
            unchanged = (size == st.st_size and _same(st, os.fstat(fd))
                         and _same(st, os.stat(name, dir_fd=folder, follow_symlinks=False)))
        except (archive.TooLarge, FileNotFoundError):
            unchanged = False
    if not unchanged:
        log.warning("%s changed during intake; left for the next run", item.file)
        return None
    fault_point("archived")
    receipt = _journal(raw, _receipt(item, sha, size, "file", account), journaled)
    if _same(os.stat(name, dir_fd=folder, follow_symlinks=False), st):
        os.unlink(name, dir_fd=folder)
    return receipt


def _receive_link(raw: Path, folder: int, name: bytes, item: InboxFile,
                  journaled: set[tuple[object, ...]]) -> Receipt:
    """A symbolic link is recorded with its target as text, never followed, and removed."""
    target = os.readlink(name, dir_fd=folder)
    data = b"symlink -> " + target
    sha = hashlib.sha256(data).hexdigest()
    archive.store(raw / "archive", sha, data)
    receipt = _journal(raw, _receipt(item, sha, len(data), "symlink"), journaled)
    try:
        if os.readlink(name, dir_fd=folder) == target:
            os.unlink(name, dir_fd=folder)
    except OSError:  # replaced meanwhile: the new entry is received by the next run
        pass
    return receipt


def _receive_unread(raw: Path, folder: int, name: bytes, item: InboxFile,
                    journaled: set[tuple[object, ...]], kind: str,
                    found: dict[str, object]) -> Receipt:
    """An entry that must not be read: its description is archived and journaled, then it is moved into
    quarantine, where it stays (for the operator) but is never read."""
    slot = _quarantine_slot(item)
    receipt = _journal(raw, _record(raw, item, kind, {**found, "quarantined": slot}), journaled)
    _quarantine(raw, folder, name, slot)
    return receipt


def _journal(raw: Path, receipt: Receipt, journaled: set[tuple[object, ...]]) -> Receipt:
    if receipt.drop not in journaled:
        archive.journal(raw / "archive", receipt)
        journaled.add(receipt.drop)
    fault_point("journaled")
    return receipt


@contextmanager
def intake_lock(raw: Path) -> Iterator[None]:
    """Held while entries are taken out of the inbox (short: no checking), so that a run and the portal,
    which receives its own uploads at once, never receive the same entry twice."""
    with open(raw / INTAKE_LOCK, "a+", encoding="utf-8") as lock:
        if not flock(lock, 600.0):
            raise OSError(f"{raw / INTAKE_LOCK} held for 10 minutes")
        yield


def receive_inbox(raw: Path) -> int:
    """Receive every entry of the inbox; returns how many were received (none if there is no inbox)."""
    inbox = raw / "inbox"
    if not inbox.is_dir():
        return 0
    with intake_lock(raw):
        return _receive_all(raw, inbox)


def _receive_all(raw: Path, inbox: Path) -> int:
    journaled = {r.drop for r in archive.receipts(raw / "archive")}
    received = 0
    for item in discover(inbox):
        try:
            received += receive(raw, item, journaled) is not None
        except OSError as exc:  # e.g. an entry the inbox's file system will not let go: the rest go on
            log.warning("%s could not be taken out of the inbox (%s); the next run tries again",
                        item.file, exc.strerror or exc)
    return received
