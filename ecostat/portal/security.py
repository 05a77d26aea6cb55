"""Sessions, CSRF tokens, login throttling and the audit trail (OWASP's session management, CSRF and
authentication cheat sheets).

A session id is 256 random bits, sent only in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` behind
TLS) and stored only as its SHA-256, so a copy of the database opens no session. A new id is issued at every
login; a session idle for :data:`IDLE_SECONDS` is gone. Each session has its own CSRF token, required on every
state-changing request (a form field, or the ``X-CSRF-Token`` header). Failed logins are counted per login
and per address: :data:`MAX_FAILURES` within :data:`LOCK_SECONDS` lock further attempts until they age out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import sqlite3
import time
from dataclasses import dataclass

from ecostat.portal import accounts
from ecostat.portal.accounts import Account

COOKIE = "ecostat_session"
IDLE_SECONDS = 30 * 60
MAX_FAILURES = 10
LOCK_SECONDS = 15 * 60
LOGIN_FAILED = "登录名或密码错误，或尝试过多已暂时锁定 / wrong login or password, or too many attempts"


@dataclass(frozen=True)
class Session:
    """A signed-in account and its CSRF token."""

    account: Account
    csrf: str


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def throttled(con: sqlite3.Connection, login: str, address: str) -> bool:
    """Whether logins for this account or from this address are locked by recent failures."""
    since = time.time() - LOCK_SECONDS
    for key in (f"login:{login}", f"addr:{address}"):
        (n,) = con.execute("SELECT count(*) FROM login_failures WHERE key = ? AND at > ?", [key, since]).fetchone()
        if n >= MAX_FAILURES:
            return True
    return False


def log_in(con: sqlite3.Connection, login: str, password: str, address: str) -> tuple[str, Session] | None:
    """A new session (its id and contents) for right credentials, unless throttled; None otherwise, with the
    failure counted and audited. The caller shows :data:`LOGIN_FAILED` whatever the reason."""
    login = login[:200]
    locked = throttled(con, login, address)
    account = None if locked else accounts.verify(con, login, password)
    if account is None:
        now = time.time()
        con.executemany("INSERT INTO login_failures (key, at) VALUES (?, ?)",
                        [(f"login:{login}", now), (f"addr:{address}", now)])
        con.execute("DELETE FROM login_failures WHERE at < ?", [now - LOCK_SECONDS])
        audit(con, login, address, "login", None, "locked" if locked else "failed")
        return None
    session_id, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.time()
    con.execute("INSERT INTO sessions (session_hash, login, csrf, created_at, seen_at) VALUES (?,?,?,?,?)",
                [_hash(session_id), account.login, csrf, now, now])
    con.execute("DELETE FROM sessions WHERE seen_at < ?", [now - IDLE_SECONDS])
    audit(con, account.login, address, "login", None, "ok")
    return session_id, Session(account, csrf)


def session(con: sqlite3.Connection, session_id: str | None) -> Session | None:
    """The live session of this id (its idle clock restarted), or None: unknown, idle too long, or its
    account disabled."""
    if not session_id:
        return None
    key, now = _hash(session_id), time.time()
    row = con.execute("SELECT login, csrf, seen_at FROM sessions WHERE session_hash = ?", [key]).fetchone()
    if row is None:
        return None
    if row[2] < now - IDLE_SECONDS:
        con.execute("DELETE FROM sessions WHERE session_hash = ?", [key])
        return None
    account = accounts.get(con, row[0])
    if account is None or account.disabled:
        return None
    if now - row[2] > 30:  # the idle clock is restarted at most twice a minute: fewer writes
        con.execute("UPDATE sessions SET seen_at = ? WHERE session_hash = ?", [now, key])
    return Session(account, row[1])


def log_out(con: sqlite3.Connection, session_id: str | None) -> None:
    """End a session."""
    if session_id:
        con.execute("DELETE FROM sessions WHERE session_hash = ?", [_hash(session_id)])


def csrf_ok(sess: Session, token: str | None) -> bool:
    """Whether a request's CSRF token is its session's (compared in constant time)."""
    return bool(token) and hmac.compare_digest(sess.csrf.encode(), (token or "").encode())


def audit(con: sqlite3.Connection, login: str | None, address: str | None, action: str, target: str | None,
          outcome: str) -> None:
    """Append one line to the audit trail: who, when, from where, what, on what, with what outcome."""
    con.execute("INSERT INTO audit (at, login, address, action, target, outcome) VALUES (?,?,?,?,?,?)",
                [dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), login, address, action, target, outcome])


def audit_lines(con: sqlite3.Connection, since: str | None = None) -> list[tuple[str, ...]]:
    """The audit trail, oldest first (from ``since``, an ISO time, if given)."""
    return [tuple("" if v is None else str(v) for v in r) for r in con.execute(
        "SELECT at, login, address, action, target, outcome FROM audit WHERE at >= ? ORDER BY rowid",
        [since or ""])]
