"""Uploads: checked files kept for their account until submitted, and a submission put into the unit's inbox
atomically and received there at once through the intake, so that its receipt names the account.

The submitted file name is never used as a path: the upload is kept under a random token, and lands in the
inbox as ``portal-<time>-<random><suffix>``; the name as sent is kept (as text) in the portal's database."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ecostat.common.durable import open_folder, write_bytes
from ecostat.intake.archive import Receipt
from ecostat.intake.inbox import InboxFile, intake_lock, receive
from ecostat.portal.accounts import Account
from ecostat.portal.checking import suffix_of

KEEP_SECONDS = 24 * 3600  # a checked upload not submitted within a day is dropped


@dataclass(frozen=True)
class Upload:
    """A checked upload waiting to be submitted."""

    token: str
    login: str
    unit: str
    name: str
    suffix: str
    sha256: str
    size: int


def staging(warehouse: Path) -> Path:
    """Where checked uploads wait (beside the warehouse, readable by the portal only)."""
    return warehouse.with_name(warehouse.name + ".portal-uploads")


def keep(con: sqlite3.Connection, warehouse: Path, account: Account, name: str, data: bytes) -> Upload:
    """Keep a checked upload for its account; returns it with its new random token."""
    token = secrets.token_urlsafe(24)
    folder = staging(warehouse)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_bytes(folder, token, data, 0o600)
    upload = Upload(token, account.login, account.unit, name[:500], suffix_of(name), hashlib.sha256(data).hexdigest(),
                    len(data))
    con.execute("INSERT INTO uploads VALUES (?,?,?,?,?,?,?,?)", [*upload.__dict__.values(), time.time()])
    _expire(con, folder)
    return upload


def _expire(con: sqlite3.Connection, folder: Path) -> None:
    old = [t for (t,) in con.execute("SELECT token FROM uploads WHERE created_at < ?", [time.time() - KEEP_SECONDS])]
    for token in old:
        (folder / token).unlink(missing_ok=True)
        con.execute("DELETE FROM uploads WHERE token = ?", [token])


def kept(con: sqlite3.Connection, account: Account, token: str) -> Upload | None:
    """The account's own kept upload of this token (None for anyone else's, or none)."""
    row = con.execute("SELECT token, login, unit, name, suffix, sha256, size FROM uploads WHERE token = ? AND "
                      "login = ?", [token, account.login]).fetchone()
    return Upload(*row) if row else None


def kept_bytes(warehouse: Path, upload: Upload) -> bytes:
    """A kept upload's bytes (checked against their hash)."""
    data = (staging(warehouse) / upload.token).read_bytes()
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        raise OSError("a kept upload changed on disk")
    return data


def inbox_name(suffix: str) -> str:
    """The name a submission gets in its unit's inbox folder."""
    return f"portal-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(6)}{suffix}"


def submit(con: sqlite3.Connection, raw: Path, account: Account, name: str, data: bytes) -> Receipt:
    """Put a file into the account's unit inbox atomically and receive it there at once: the same archive,
    journal and hostile-file rules as a dropped file, and a receipt that names the account."""
    target = inbox_name(suffix_of(name))
    inbox = raw / "inbox"
    folder = open_folder(inbox, [account.unit], create=True)
    try:
        temp = f".{target}.part"  # a name the intake leaves alone while it is written
        write_bytes(folder, temp, data, 0o640)
        with intake_lock(raw):
            os.rename(temp, target, src_dir_fd=folder, dst_dir_fd=folder)
            os.fsync(folder)
            st = os.stat(target, dir_fd=folder, follow_symlinks=False)
            item = InboxFile((account.unit.encode(), target.encode()), f"{account.unit}/{target}", account.unit,
                             dt.datetime.fromtimestamp(st.st_mtime, dt.UTC), True, st.st_ino, st.st_ctime_ns)
            receipt = receive(raw, item, set(), account=account.login)
    finally:
        os.close(folder)
    if receipt is None:
        raise OSError("the submission changed while it was received")
    con.execute("INSERT INTO submissions VALUES (?,?,?,?,?,?)",
                [receipt.receipt_id, account.login, account.unit, name[:500], receipt.file,
                 receipt.received_at.isoformat()])
    return receipt


def original_names(con: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """Each portal submission's receipt id → (the name as sent, the account)."""
    return {r: (n, a) for r, n, a in con.execute("SELECT receipt_id, name, login FROM submissions")}
