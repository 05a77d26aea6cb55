"""Named accounts (contract v3 §2.1): a login, its unit, its role and its name, with an argon2id password
hash. Nobody registers themselves and there is no default account: accounts are made with ``ecostat user``."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ecostat.contract.registry import registry

ROLES = ("unit", "reviewer", "admin")
ROLE_LABELS = {"unit": "填报 unit", "reviewer": "审核 reviewer", "admin": "管理 admin"}
MIN_LENGTH = 12
COMMON_FILE = Path(__file__).with_name("common_passwords.txt")
_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Verified against when the login is unknown, so that a wrong login costs what a wrong password does.
_DUMMY = _hasher.hash("not a password of anyone")


class AccountError(ValueError):
    """An account cannot be made or changed as asked (the message says why, Chinese first)."""


@dataclass(frozen=True)
class Account:
    """One account as the portal uses it."""

    login: str
    unit: str
    role: str
    name: str
    disabled: bool = False

    def sees(self, unit: str | None) -> bool:
        """Whether this account may see a unit's submissions, findings, feedback and explanations."""
        return self.role == "reviewer" or (self.role == "unit" and unit is not None and unit == self.unit)


@cache
def common_passwords() -> frozenset[str]:
    """The refused passwords (lower case)."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


def check_password(password: str, login: str = "") -> None:
    """Refuse a password that is too short, common, or the login itself (:class:`AccountError`)."""
    if len(password) < MIN_LENGTH:
        raise AccountError(f"密码至少 {MIN_LENGTH} 个字符 / a password has at least {MIN_LENGTH} characters")
    if password.lower() in common_passwords() or (login and login.lower() in password.lower()):
        raise AccountError("密码过于常见或包含登录名 / this password is too common or contains the login")


def _unit(code: str) -> str:
    entry = registry("units").resolve(code)
    if entry is None:
        raise AccountError(f"未知单位 unknown unit: {code}")
    return entry.code


def add(con: sqlite3.Connection, login: str, unit: str, role: str, name: str, password: str) -> Account:
    """Create an account (its login must be new)."""
    if not login or len(login) > 64 or not login.isprintable() or any(c.isspace() for c in login):
        raise AccountError("登录名须为 1–64 个可见字符 / a login is 1–64 visible characters")
    if role not in ROLES:
        raise AccountError(f"unknown role {role}: one of {', '.join(ROLES)}")
    code = _unit(unit)
    check_password(password, login)
    try:
        con.execute("INSERT INTO accounts (login, unit, role, name, password_hash, created_at) VALUES (?,?,?,?,?,?)",
                    [login, code, role, name, _hasher.hash(password), dt.datetime.now(dt.UTC).isoformat()])
    except sqlite3.IntegrityError:
        raise AccountError(f"账号已存在 / the account {login} exists") from None
    return Account(login, code, role, name)


def get(con: sqlite3.Connection, login: str) -> Account | None:
    """The account with this login, if any."""
    row = con.execute("SELECT login, unit, role, name, disabled FROM accounts WHERE login = ?", [login]).fetchone()
    return Account(row[0], row[1], row[2], row[3], bool(row[4])) if row else None


def _existing(con: sqlite3.Connection, login: str) -> Account:
    account = get(con, login)
    if account is None:
        raise AccountError(f"账号不存在 / no account {login}")
    return account


def disable(con: sqlite3.Connection, login: str) -> None:
    """Disable an account and end its sessions."""
    _existing(con, login)
    con.execute("UPDATE accounts SET disabled = 1 WHERE login = ?", [login])
    con.execute("DELETE FROM sessions WHERE login = ?", [login])


def set_password(con: sqlite3.Connection, login: str, password: str) -> None:
    """Give an account a new password and end its sessions."""
    _existing(con, login)
    check_password(password, login)
    con.execute("UPDATE accounts SET password_hash = ? WHERE login = ?", [_hasher.hash(password), login])
    con.execute("DELETE FROM sessions WHERE login = ?", [login])


def verify(con: sqlite3.Connection, login: str, password: str) -> Account | None:
    """The account if the login exists, is enabled and the password is right; else None (in the same time)."""
    row = con.execute("SELECT password_hash, disabled FROM accounts WHERE login = ?", [login]).fetchone()
    try:
        _hasher.verify(row[0] if row else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row[1]:
        return None
    if _hasher.check_needs_rehash(row[0]):
        con.execute("UPDATE accounts SET password_hash = ? WHERE login = ?", [_hasher.hash(password), login])
    return get(con, login)


def listed(con: sqlite3.Connection) -> list[Account]:
    """Every account, by login."""
    return [Account(r[0], r[1], r[2], r[3], bool(r[4])) for r in
            con.execute("SELECT login, unit, role, name, disabled FROM accounts ORDER BY login")]
