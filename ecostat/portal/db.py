"""The portal's own small database (SQLite, beside the warehouse, never the warehouse): accounts, sessions,
login failures, checked uploads waiting to be submitted, the portal's submissions and the audit trail."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    login TEXT PRIMARY KEY, unit TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('unit', 'reviewer', 'admin')),
    name TEXT NOT NULL, password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY, login TEXT NOT NULL, csrf TEXT NOT NULL, created_at REAL NOT NULL,
    seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at);
CREATE TABLE IF NOT EXISTS uploads (
    token TEXT PRIMARY KEY, login TEXT NOT NULL, unit TEXT NOT NULL, name TEXT NOT NULL, suffix TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    receipt_id TEXT PRIMARY KEY, login TEXT NOT NULL, unit TEXT NOT NULL, name TEXT NOT NULL,
    inbox_file TEXT NOT NULL, submitted_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    at TEXT NOT NULL, login TEXT, address TEXT, action TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL);
"""


def db_path(warehouse: Path) -> Path:
    """Where the portal's database of a warehouse lives: ``<warehouse>.accounts.sqlite`` beside it."""
    return warehouse.with_name(warehouse.name + ".accounts.sqlite")


def connect(warehouse: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open the portal's database of ``warehouse`` (autocommit); with ``create``, create it (0600) and its
    tables if needed."""
    path = db_path(warehouse)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.touch(mode=0o600)
    con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA busy_timeout=30000")
    if create:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(SCHEMA)
    return con
