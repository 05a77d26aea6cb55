"""Commands about a reporting unit's files before they are submitted: ``validate`` (a dry run of the checks on
one file, with its feedback workbook) and ``template`` (the fill-in xlsx). Neither writes the warehouse."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
from pathlib import Path

from ecostat.cli.shared import Subparsers, Usage, command, first_line, unit_code, warehouse_option
from ecostat.common.display import printable
from ecostat.contract.catalogue import Finding


def register(sub: Subparsers) -> None:
    """Add validate and template."""
    p = command(sub, "validate", "check one file as a dry run (nothing is written)",
                "ecostat validate 东湖区2024年报.xlsx --unit 东湖区 --feedback out.xlsx", cmd_validate)
    warehouse_option(p)
    p.add_argument("file", type=Path)
    p.add_argument("--unit", required=True, help="the submitting unit, by code or name")
    p.add_argument("--feedback", type=Path, metavar="OUT.xlsx",
                   help="also write the feedback workbook (the one ingest puts in raw/outbox/<unit>/)")
    p = command(sub, "template", "write an xlsx fill-in template for a reporting unit (reads no warehouse)",
                "ecostat template all --unit 360112 --year 2024 --month 6", cmd_template)
    p.add_argument("form", nargs="?", default="all", help="a form code or Chinese name, or all (default)")
    p.add_argument("--unit", required=True, help="the reporting unit, by code or name")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--month", type=int, choices=range(1, 13), metavar="M", help="for a monthly report")
    p.add_argument("--out", type=Path, help="the xlsx to write (default: <unit>_<period>_<form>_template.xlsx)")


def cmd_validate(args: argparse.Namespace) -> int:
    """Dry run: print every finding with its cell; 1 when there is any error."""
    from ecostat.check.files import check_across_periods, check_file
    from ecostat.intake.archive import Receipt
    from ecostat.store.warehouse import connect

    unit = unit_code(args.unit)
    path: Path = args.file
    if not path.is_file():
        raise Usage(f"no such file: {path} / 文件不存在")
    data = path.read_bytes()
    now = dt.datetime.now(dt.UTC)
    rec = Receipt("dry-run", hashlib.sha256(data).hexdigest(), path.name, unit, len(data), now, now)
    con = None
    if not args.warehouse.exists():
        print(f"（未找到数据仓库 {args.warehouse}，跨期规则未检查 / no warehouse at {args.warehouse}: the "
              "cross-period rules were skipped; give --warehouse to check them）", file=sys.stderr)
    else:
        try:
            con = connect(args.warehouse, read_only=True)
        except Exception as exc:
            print(f"（数据仓库无法读取，跨期规则未检查 / the warehouse cannot be read, the cross-period rules were "
                  f"skipped: {first_line(exc)}）", file=sys.stderr)
    try:
        result = check_file(rec, data, now.date())
        tables = [] if isinstance(result, Finding) else result
        for i, table in enumerate(tables):  # as if the file's earlier accepted tables were loaded
            check_across_periods(con, rec, table, [t for t in tables[:i] if t.accepted])
    finally:
        if con is not None:
            con.close()
    findings: list[Finding] = [result] if isinstance(result, Finding) else [
        f for t in result for f in t.findings]
    for f in findings:
        print(f"{f.severity.upper():7} {f.rule_id:22} {f.where()}  {printable(f.header)} = {printable(f.value)}\n"
              f"        {f.message_zh}\n        {f.message_en}")
    if not isinstance(result, Finding):
        for t in result:
            status = "通过 accepted" if t.accepted else "退回 rejected"
            form = t.form.code if t.form else "?"
            print(printable(path.name) + (f" [{printable(t.sheet)}]" if t.sheet else "") +
                  f": {form} — {status}, {t.errors} errors, {t.warnings} warnings")
    if args.feedback:
        from ecostat.publish.feedback import build_workbook, reports_from_check

        args.feedback.parent.mkdir(parents=True, exist_ok=True)
        args.feedback.write_bytes(build_workbook(path.name, reports_from_check(result)))
        print(f"feedback: {args.feedback}")
    return 1 if any(f.severity == "error" for f in findings) else 0


def cmd_template(args: argparse.Namespace) -> int:
    """Write a fill-in template; 2 for an unknown unit or form."""
    from ecostat.contract.normalize import Period
    from ecostat.publish.templates import NotSubmitter, build_template, forms_named

    unit = unit_code(args.unit)
    try:
        forms = forms_named(args.form, unit)
    except NotSubmitter as exc:
        raise Usage(str(exc)) from None
    except KeyError:
        from ecostat.contract.forms import FORMS

        raise Usage(f"unknown form {args.form} / 未知报表；可选 choose: all, {', '.join(FORMS)}") from None
    label = Period(args.year, args.month).label
    out: Path = args.out or Path(f"{unit}_{label}_{args.form}_template.xlsx")
    out.parent.mkdir(parents=True, exist_ok=True)
    build_template(forms, unit, args.year, args.month).save(out)
    print(f"template: {out}")
    return 0
