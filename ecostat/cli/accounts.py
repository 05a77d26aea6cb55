"""``ecostat user add|disable|password|list``: the portal's named accounts (contract v3 §2.1), and
``ecostat audit-log``: the portal's audit trail. A password is read from standard input, never an argument."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from ecostat.cli.shared import Subparsers, Usage, command
from ecostat.common.display import printable


def _warehouse(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warehouse", type=Path, default=Path("warehouse/ecostat.duckdb"),
                   help="the DuckDB file whose portal accounts these are (default ./warehouse/ecostat.duckdb); "
                        "the accounts live beside it in <warehouse>.accounts.sqlite")


def register(subparsers: Subparsers) -> None:
    """Add ``user`` and ``audit-log`` to the ``ecostat`` command."""
    user = command(subparsers, "user", "the portal's named accounts (no self-registration, no default account)",
                   "ecostat user add wangmin --unit 东湖区 --role unit --name 王敏 < password.txt   "
                   "(the password on standard input)", cmd_user)
    sub = user.add_subparsers(dest="user_command", required=True)
    p = sub.add_parser("add", help="add an account; its password is read from standard input")
    p.add_argument("login")
    p.add_argument("--unit", required=True, help="the unit, by code or name")
    p.add_argument("--role", required=True, choices=("unit", "reviewer", "admin"))
    p.add_argument("--name", required=True, help="the person's name (姓名)")
    _warehouse(p)
    p = sub.add_parser("disable", help="disable an account and end its sessions")
    p.add_argument("login")
    _warehouse(p)
    p = sub.add_parser("password", help="set an account's password (read from standard input)")
    p.add_argument("login")
    _warehouse(p)
    p = sub.add_parser("list", help="list the accounts")
    _warehouse(p)
    p = command(subparsers, "audit-log", "the portal's audit trail: who, when, from where, what (logins, failed "
                "too; checks, submissions, explanations)", "ecostat audit-log --since 2026-12-01", cmd_audit_log)
    _warehouse(p)
    p.add_argument("--since", help="from this ISO date or time")


def read_password(prompt: str = "密码 password: ") -> str:
    """A password from standard input: asked twice on a terminal, else its first line."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("再输一次 again: ") != first:
            raise Usage("两次输入的密码不一致 / the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user(args: argparse.Namespace) -> int:
    """Add, disable, re-password or list accounts; 2 when refused (the reason printed)."""
    from ecostat.portal import accounts, db

    con = db.connect(args.warehouse.resolve())
    try:
        if args.user_command == "add":
            account = accounts.add(con, args.login, args.unit, args.role, args.name, read_password())
            print(f"账号已创建 account added: {account.login} ({account.unit}, {account.role})")
        elif args.user_command == "disable":
            accounts.disable(con, args.login)
            print(f"账号已停用 account disabled: {args.login}")
        elif args.user_command == "password":
            accounts.set_password(con, args.login, read_password("新密码 new password: "))
            print(f"密码已更新 password changed: {args.login}")
        else:
            for a in accounts.listed(con):
                state = "disabled" if a.disabled else ""
                print(f"{printable(a.login)}\t{a.unit}\t{a.role}\t{printable(a.name)}\t{state}")
    except accounts.AccountError as exc:
        raise Usage(str(exc)) from None
    finally:
        con.close()
    return 0


def cmd_audit_log(args: argparse.Namespace) -> int:
    """Print the audit trail, oldest first, tab-separated (submitted text shown escaped)."""
    from ecostat.portal import db, security

    if not db.db_path(args.warehouse.resolve()).exists():
        print("（尚无审计记录 no audit trail yet）", file=sys.stderr)
        return 0
    con = db.connect(args.warehouse.resolve())
    try:
        print("时间 at\t账号 login\t地址 address\t操作 action\t对象 target\t结果 outcome")
        for line in security.audit_lines(con, args.since):
            print("\t".join(printable(v) for v in line))
    finally:
        con.close()
    return 0
