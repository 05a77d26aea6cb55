"""What every group of commands shares: the one grammar of options (``--raw``, ``--warehouse``, ``--format``),
units and forms named by code or name, and the two errors :func:`ecostat.cli.main` turns into exit code 2."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from ecostat.common.display import printable
from ecostat.contract.registry import registry

FORMATS = ("table", "csv", "json")

# what ``add_subparsers`` returns: each group of commands registers its own on it
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Usage(Exception):
    """A command was given something it cannot use (an unknown unit, a missing file…): exit 2."""


class NoWarehouse(Exception):
    """A command that reads the warehouse was pointed at a file that does not exist."""


def command(sub: Subparsers, name: str, help_text: str, example: str,
            run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """Add the subcommand ``name``, run by ``run``; its ``--help`` ends with ``example``."""
    p = sub.add_parser(name, help=help_text, description=help_text, epilog=f"example:\n  {example}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)
    return p


def raw_option(p: argparse.ArgumentParser) -> None:
    """``--raw``: the raw folder."""
    p.add_argument("--raw", type=Path, default=Path("raw"), help="the raw folder holding inbox/ (default ./raw)")


def warehouse_option(p: argparse.ArgumentParser) -> None:
    """``--warehouse``: the DuckDB file."""
    p.add_argument("--warehouse", type=Path, default=Path("warehouse/ecostat.duckdb"),
                   help="the DuckDB file (default ./warehouse/ecostat.duckdb)")


def format_option(p: argparse.ArgumentParser, *extra: str) -> None:
    """``--format``: how a command that prints rows prints them."""
    p.add_argument("--format", choices=(*FORMATS, *extra), default="table",
                   help="table (default), " + ", ".join((*FORMATS[1:], *extra)))


def unit_code(text: str) -> str:
    """A unit named by code or name (``360102``, ``东湖区``, ``东湖``) → its code (else :class:`Usage`)."""
    entry = registry("units").resolve(text)
    if entry is None:
        raise Usage(f"unknown unit {text} / 未知单位 {text}（可用代码或名称 a code or a name）")
    return entry.code


def form_code(text: str) -> str:
    """A form named by code or Chinese name (``outfall_remediation``, ``入河排污口整治``) → its code."""
    from ecostat.contract.forms import FORMS
    from ecostat.publish.templates import forms_named

    try:
        (form,) = forms_named(text)
    except (KeyError, ValueError):
        raise Usage(f"unknown form {text} / 未知报表；可选 choose: {', '.join(FORMS)}") from None
    return form.code


def existing(warehouse: Path) -> Path:
    """The warehouse path, if the file exists (else :class:`NoWarehouse`)."""
    if not warehouse.exists():
        raise NoWarehouse(warehouse)
    return warehouse


def first_line(exc: BaseException) -> str:
    """The first line of an error's message, escaped for a terminal."""
    return printable(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


def print_frame(frame, fmt: str) -> None:  # type: ignore[no-untyped-def]
    """Rows printed as a table, CSV or JSON, submitted text escaped on a terminal."""
    if fmt == "csv":
        from ecostat.common.safecell import csv_value

        tty = sys.stdout.isatty()
        frame.map(lambda v: printable(v) if tty and isinstance(v, str) else csv_value(v)).to_csv(sys.stdout,
                                                                                                   index=False)
    elif fmt == "json":  # json escapes C0 controls; on a terminal C1 and bidi ones are escaped too
        tty = sys.stdout.isatty()
        records = json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
        print(json.dumps(printable_json(records) if tty else records, ensure_ascii=False, indent=1))
    else:
        print(frame.map(lambda v: printable(v) if isinstance(v, str) else v).to_string(index=False))


def printable_json(value: object) -> object:
    """Every string inside a JSON value shown escaped (:func:`printable`)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [printable_json(v) for v in value]
    if isinstance(value, dict):
        return {k: printable_json(v) for k, v in value.items()}
    return value
