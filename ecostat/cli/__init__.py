"""The ``ecostat`` command: demo, ingest, figures, validate, query, history, rebuild, export, certify,
amendments, template, audit, serve, deploy, upgrade, report, site.

One grammar: ``--raw`` and ``--warehouse`` on every command that reads or writes them, ``--year`` for a
year, ``--format table|csv|json`` on every command that prints rows (``figures`` also ``text``), a unit by
code or name wherever one is asked for. Text from submissions is printed with its control characters escaped.

The commands come in groups, one module each, by what they do for their users (each module's ``register`` adds
its own; a new group is one new module and one line in :data:`GROUPS`): :mod:`~ecostat.cli.demo` (a first try),
:mod:`~ecostat.cli.ingest` (filling and keeping the warehouse), :mod:`~ecostat.cli.figures` (reading it: rows,
histories, the annual figures and what is published from them), :mod:`~ecostat.cli.check` (a unit's file before
it is submitted) and :mod:`~ecostat.cli.operations` (running unattended and watching). Imports of the stages
below stay inside the commands, so that ``ecostat --help`` starts quickly.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata

from ecostat.cli import accounts, check, demo, figures, ingest, operations, portal, review
from ecostat.cli.shared import NoWarehouse, Usage
from ecostat.common.environment import SettingsError

# the order of the commands in ``ecostat --help``
GROUPS = (demo, ingest, figures, review, check, operations, portal, accounts)


def parser() -> argparse.ArgumentParser:
    """The command-line parser; every command's ``--help`` ends with an example."""
    ap = argparse.ArgumentParser(prog="ecostat", description="生态环境统计数据报送与年度指标 / "
                                 "ecostat: district submissions → DuckDB → annual figures",
                                 epilog="example: ecostat demo   (then: ecostat figures --year 2024 "
                                        "--warehouse demo/warehouse/ecostat.duckdb)")
    ap.add_argument("--version", action="version", version=f"ecostat {_version()}")
    sub = ap.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return ap


def _version() -> str:
    try:
        return metadata.version("ecostat")
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    from ecostat.store.migrations import SchemaMismatch, SchemaTooNew, SchemaTooOld
    from ecostat.store.writer import WarehouseBusy

    try:
        return args.run(args)
    except NoWarehouse as exc:
        print(f"no warehouse at {exc}: run `ecostat ingest` first / 数据仓库不存在，请先运行 ecostat ingest",
              file=sys.stderr)
        return 2
    except (Usage, SettingsError, SchemaTooNew, SchemaTooOld, SchemaMismatch) as exc:
        print(exc, file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"另一个任务正在写入数据仓库（{exc}），本次未运行；稍后重试（导入可用 --wait 秒数）。\n"
              f"another process is writing the warehouse ({exc}); nothing was done: retry later "
              "(ingest: pass --wait)", file=sys.stderr)
        return 3


def main_exit() -> None:
    """Console-script entry point. Output piped into ``head`` ends the command quietly, with SIGPIPE's status
    (141), where Python's own handling would print a traceback; SIGPIPE itself stays ignored, so that a write
    to a pipe whose reader is gone (a checking child that died, a client that left) is an error where it
    happens, never the end of a run. After a completed command the exit handlers run (Prefect's, logging's,
    multiprocessing's), the output is flushed and the process ends at once with the command's code: native
    libraries' teardown (pyarrow's exit-time abort) cannot change it."""
    import atexit
    import os
    import signal

    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # stdout's reader is gone: what is left to print goes nowhere
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 128 + signal.SIGPIPE
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
