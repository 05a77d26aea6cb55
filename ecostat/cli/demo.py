"""``ecostat demo``: ecostat tried on the shipped samples, in a workspace of its own, for a first-time user."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecostat.cli.figures import cmd_figures
from ecostat.cli.ingest import run_ingest
from ecostat.cli.shared import Subparsers, Usage, command
from ecostat.contract.registry import CITY

DEMO_MARKER = ".ecostat-demo"


def register(sub: Subparsers) -> None:
    """Add demo."""
    p = command(sub, "demo", "try ecostat on the shipped samples in a workspace of its own (./demo)",
                "ecostat demo --dir /tmp/ecostat-demo --no-prefect", cmd_demo)
    p.add_argument("--dir", type=Path, default=Path("demo"), help="the demo workspace (default ./demo; recreated)")
    p.add_argument("--year", type=int, default=2024, help="the year whose figures are printed (default 2024)")
    p.add_argument("--no-prefect", action="store_true", help="run the steps without Prefect (faster, no audit)")
    p.add_argument("--portal", action="store_true", help="also make portal accounts (passwords printed once)")


def cmd_demo(args: argparse.Namespace) -> int:
    """Ingest the shipped samples into a fresh workspace of their own and print a year's figures.

    The workspace has no settings file and ignores ``ECOSTAT_ALERT_URLS``: the samples' bad files never
    alert anyone. It is recreated on every run; a folder that is not a demo workspace is never touched.
    """
    import os
    import shutil

    samples = Path(__file__).resolve().parents[2] / "raw" / "samples"
    if not samples.is_dir():
        raise Usage(f"the samples are not here ({samples}): run the demo from a checkout of ecostat")
    home: Path = args.dir.resolve()
    if home.exists():
        if not (home / DEMO_MARKER).is_file():
            raise Usage(f"{home} exists and is not an ecostat demo workspace: choose another --dir / 目录已存在")
        shutil.rmtree(home)
    (home / "raw").mkdir(parents=True)
    (home / DEMO_MARKER).write_text("created by `ecostat demo`; deleted and recreated by it\n", encoding="utf-8")
    shutil.copytree(samples, home / "raw" / "inbox")  # copy2: the samples' modification times set the order
    (home / "ecostat.toml").write_text("# the demo alerts nobody\n", encoding="utf-8")
    warehouse = home / "warehouse" / "ecostat.duckdb"
    print(f"演示工作区 demo workspace: {home}（示例报表 samples: {samples}）")
    kept = {k: os.environ.get(k) for k in ("ECOSTAT_SETTINGS", "ECOSTAT_ALERT_URLS")}
    os.environ["ECOSTAT_SETTINGS"] = str(home / "ecostat.toml")
    os.environ.pop("ECOSTAT_ALERT_URLS", None)
    try:
        run_ingest(home / "raw", warehouse, prefect=not args.no_prefect)
    finally:  # the caller's environment as it was (a test, or a program calling main())
        for key, value in kept.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    print()
    shown = cmd_figures(argparse.Namespace(warehouse=warehouse, year=args.year, scope=CITY, format="table"))
    if args.portal:
        from ecostat.cli.portal import demo_accounts

        demo_accounts(warehouse)
    return shown
