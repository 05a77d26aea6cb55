"""``ecostat portal``: serve the portal with uvicorn (127.0.0.1 by default); and the demo's portal accounts."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from ecostat.cli.shared import Subparsers, command, raw_option, warehouse_option

# The demo's accounts: a unit account for 东湖区 and one for 西湖区, a reviewer and an admin.
DEMO_ACCOUNTS = (("donghu", "360102", "unit", "东湖区填报员"), ("xihu", "360103", "unit", "西湖区填报员"),
                 ("reviewer", "360100", "reviewer", "市局审核员"), ("admin", "360100", "admin", "系统管理员"))


def register(subparsers: Subparsers) -> None:
    """Add ``portal`` to the ``ecostat`` command."""
    p = command(subparsers, "portal", "serve the units' web portal (log in, check, submit, explain); see "
                "docs/portal.md", "ecostat portal --port 8750 --raw /srv/ecostat/raw "
                "--warehouse /srv/ecostat/warehouse/ecostat.duckdb", cmd_portal)
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8750, help="the port (default 8750)")
    raw_option(p)
    warehouse_option(p)
    p.add_argument("--secure-cookies", action="store_true",
                   help="mark the session cookie Secure (behind TLS, e.g. nginx; see docs/portal.md)")
    p.add_argument("--no-runs", action="store_true", help="do not start an ingest run after a submission "
                   "(the scheduled runs pick it up)")


def cmd_portal(args: argparse.Namespace) -> int:
    """Serve the portal until stopped."""
    import uvicorn

    from ecostat.common import environment
    from ecostat.portal.app import create_app

    environment.apply()
    raw, warehouse = args.raw.resolve(), args.warehouse.resolve()
    (raw / "inbox").mkdir(parents=True, exist_ok=True)
    app = create_app(raw, warehouse, secure_cookies=args.secure_cookies, runs=not args.no_runs)
    print(f"门户 portal: http://{args.host}:{args.port}/ (raw {raw}, warehouse {warehouse})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False,
                proxy_headers=True, forwarded_allow_ips="127.0.0.1")
    return 0


def demo_accounts(warehouse: Path) -> list[tuple[str, str, str, str]]:
    """Create the demo's portal accounts beside ``warehouse`` with fresh random passwords, print them once, and
    return them (login, unit, role, password)."""
    from ecostat.portal import accounts, db

    made = []
    con = db.connect(warehouse)
    try:
        for login, unit, role, name in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(12)
            if accounts.get(con, login) is None:
                accounts.add(con, login, unit, role, name, password)
            else:
                accounts.set_password(con, login, password)
            made.append((login, unit, role, password))
    finally:
        con.close()
    print("\n门户演示账号（密码只显示这一次）/ portal demo accounts (passwords shown once):")
    for login, unit, role, password in made:
        print(f"  {login:9} {unit} {role:9} {password}")
    print(f"启动门户 start the portal: ecostat portal --raw {warehouse.parent.parent / 'raw'} --warehouse {warehouse}")
    return made
