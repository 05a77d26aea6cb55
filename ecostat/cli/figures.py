"""Commands that read the warehouse for the bureau's statisticians: ``query`` (one read-only SQL statement),
``history`` (a unit's versions), the annual ``figures`` with their ``certify`` and ``amendments``, the year's
``report`` and the status ``site``. Text from submissions is printed with its control characters escaped."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ecostat.cli.shared import (
    Subparsers,
    Usage,
    command,
    existing,
    first_line,
    form_code,
    format_option,
    print_frame,
    raw_option,
    unit_code,
    warehouse_option,
)
from ecostat.common.display import printable
from ecostat.contract.registry import CITY


def register(sub: Subparsers) -> None:
    """Add query, history, certify, amendments, figures, report and site."""
    p = command(sub, "query", "run one read-only SQL statement against the warehouse",
                "ecostat query \"SELECT file, status FROM submission_log WHERE status = 'rejected'\" --format csv",
                cmd_query)
    warehouse_option(p)
    p.add_argument("sql")
    format_option(p)
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="stop the query after this long "
                   "(default 60)")
    p.add_argument("--limit", type=int, default=1000, metavar="ROWS",
                   help="rows shown in the table format (default 1000; csv and json stream every row)")
    p.add_argument("--memory", default="2GB", help="DuckDB memory limit of the query (default 2GB)")
    p = command(sub, "history", "every version of a unit's slices, with cell-level differences and footer notes",
                "ecostat history --unit 东湖区 --form outfall_remediation --period 2024", cmd_history)
    warehouse_option(p)
    p.add_argument("--unit", required=True, help="a unit code or name")
    p.add_argument("--form", help="a form code, e.g. outfall_remediation")
    p.add_argument("--period", help="2024 or 2024-06")
    format_option(p)
    p = command(sub, "certify", "freeze a year's annual figures (or amend them)",
                "ecostat certify --year 2024 --by 王敏   (later: --amend --reason \"…\")", cmd_certify)
    warehouse_option(p)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--by", required=True, help="who certifies")
    p.add_argument("--amend", action="store_true", help="replace the certified figures with the live ones")
    p.add_argument("--reason", help="why (required with --amend)")
    p.add_argument("--with-pending", action="store_true",
                   help="certify although reports feeding the figures are not approved (recorded and named)")
    p = command(sub, "amendments", "certified figures that later submissions would change",
                "ecostat amendments --year 2024 --format csv", cmd_amendments)
    warehouse_option(p)
    p.add_argument("--year", type=int)
    format_option(p)
    p = command(sub, "figures", "the annual figures of a year (the city's, or a unit's)",
                "ecostat figures --year 2024 --scope 新建区 --format csv", cmd_figures)
    warehouse_option(p)
    p.add_argument("--year", type=int, required=True)
    format_option(p, "text")
    p.add_argument("--scope", default=CITY, help=f"a unit code or name (default {CITY}, the city)")
    p = command(sub, "report", "the year's data report for the annual work summary: .docx, PDF and charts",
                "ecostat report --year 2024 --out /srv/share/年报数据", cmd_report)
    warehouse_option(p)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--out", type=Path, help="the folder to write (default: reports/ beside the warehouse)")
    p.add_argument("--live", action="store_true", help="the live figures, also for a certified year")
    p = command(sub, "site", "rebuild the status site (site/ beside the warehouse; every ingest run does too)",
                "ecostat site --warehouse /srv/ecostat/warehouse/ecostat.duckdb", cmd_site)
    raw_option(p)
    warehouse_option(p)


def cmd_query(args: argparse.Namespace) -> int:
    """Run one SQL statement on a read-only, sandboxed connection with a time and memory limit."""
    import threading

    import duckdb

    from ecostat.store.warehouse import connect

    try:
        statements = duckdb.extract_statements(args.sql)
    except duckdb.Error as exc:
        print(f"query failed / 查询失败: {first_line(exc)}", file=sys.stderr)
        return 1
    if len(statements) != 1:
        raise Usage("give exactly one SQL statement / 请只给一条 SQL 语句")
    try:
        con = connect(existing(args.warehouse), read_only=True, memory_limit=args.memory)
    except duckdb.Error as exc:  # not a warehouse, or a --memory DuckDB does not understand
        print(f"query failed / 查询失败: {first_line(exc)}", file=sys.stderr)
        return 1
    with con:
        timer = threading.Timer(args.timeout, con.interrupt)
        timer.start()
        try:
            result = con.execute(args.sql)
            if args.format == "table":
                import pandas as pd

                rows = result.fetchmany(args.limit + 1)
                more = len(rows) > args.limit
                print_frame(pd.DataFrame(rows[:args.limit], columns=[d[0] for d in result.description]), "table")
                if more:
                    print(f"…（仅显示前 {args.limit} 行 first {args.limit} rows shown; --limit or --format csv "
                          "for more）", file=sys.stderr)
            else:
                _stream(result, args.format)
        except duckdb.InterruptException:
            print(f"query stopped after {args.timeout:g} s / 查询超时（--timeout）", file=sys.stderr)
            return 1
        except duckdb.Error as exc:
            print(f"query failed / 查询失败: {first_line(exc)}", file=sys.stderr)
            return 1
        finally:
            timer.cancel()
    return 0


def _stream(result, fmt: str) -> None:  # type: ignore[no-untyped-def]
    """Every row of a query as csv or json, in batches (never the whole result in memory)."""
    import csv

    from ecostat.common.safecell import csv_value

    columns = [d[0] for d in result.description]
    tty = sys.stdout.isatty()
    writer = csv.writer(sys.stdout) if fmt == "csv" else None
    if writer:
        writer.writerow(columns)
    else:
        print("[", end="")
    first = True
    while rows := result.fetchmany(10_000):
        for row in rows:
            if writer:
                writer.writerow([printable(v) if tty and isinstance(v, str) else csv_value(v) for v in row])
            else:
                record = {c: printable(v) if tty and isinstance(v, str) else v for c, v in zip(columns, row,
                                                                                               strict=True)}
                print(("" if first else ",") + "\n " + json.dumps(record, ensure_ascii=False, default=str), end="")
                first = False
    if not writer:
        print("\n]")


def cmd_history(args: argparse.Namespace) -> int:
    """Print every version of the matching slices."""
    from ecostat.contract.forms import FORMS
    from ecostat.store.history import history
    from ecostat.store.warehouse import connect

    unit = unit_code(args.unit)
    form = form_code(args.form) if args.form is not None else None
    with connect(existing(args.warehouse), read_only=True) as con:
        slices = history(con, unit, form, args.period)
    if not slices:
        print(f"no submissions for {unit} / 没有该单位的报送记录", file=sys.stderr)
        return 1
    if args.format != "table":
        import pandas as pd

        rows = [{"form": form, "unit": unit, "period": period, "submission_id": v.submission_id, "status": v.status,
                 "file": v.file, "sheet": v.sheet, "received_at": v.received_at, "errors": v.errors,
                 "warnings": v.warnings, "changes": v.changes, "footer": dict(v.footer)}
                for (form, period), vs in slices.items() for v in vs]
        print_frame(pd.DataFrame(rows), args.format)
        return 0
    for (form, period), versions in slices.items():
        print(f"{FORMS[form].zh} {form} · {unit} · {period}")
        for v in versions:
            where = printable(v.file) + (f" [{printable(v.sheet)}]" if v.sheet else "")
            print(f"  #{v.submission_id} {v.status:10} {v.received_at:%Y-%m-%d %H:%M} {where}"  # type: ignore[str-format]
                  + (f"  ({v.errors} errors)" if v.status == "rejected" else ""))
            if v.footer:
                print("      " + " · ".join(f"{printable(label)}：{printable(value)}" for label, value in v.footer))
            for change in v.changes:
                print(f"      {printable(change)}")
    return 0


def cmd_certify(args: argparse.Namespace) -> int:
    """Certify (or amend) a year's figures."""
    from ecostat.store.certify import CertificationError, certify
    from ecostat.store.warehouse import connect
    from ecostat.store.writer import writing

    try:
        with writing(existing(args.warehouse).resolve()) as work, connect(work, create=True) as con:
            version, changed = certify(con, args.year, args.by, amend=args.amend, reason=args.reason,
                                       with_pending=args.with_pending)
    except CertificationError as exc:
        print(exc, file=sys.stderr)
        return 2
    from ecostat.store.lake import refresh

    refresh(args.warehouse.resolve())
    print(f"{args.year} 年指标已认证（第 {version} 版，变更 {changed} 项）/ {args.year} certified, "
          f"version {version}, {changed} figures changed")
    return 0


def cmd_amendments(args: argparse.Namespace) -> int:
    """List pending amendments to certified figures."""
    from ecostat.store.certify import pending_amendments
    from ecostat.store.warehouse import connect

    with connect(existing(args.warehouse), read_only=True) as con:
        frame = pending_amendments(con, args.year)
    if frame.empty and args.format == "table":
        print("没有待认证的修订 / no pending amendments")
        return 0
    print_frame(frame, args.format)
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    """Print the annual figures of a year."""
    from ecostat.publish.annual.phrasing import dimension_name, rounded, sentences
    from ecostat.store.figures import annual_figures
    from ecostat.store.review import figures_approved
    from ecostat.store.warehouse import connect

    scope = unit_code(args.scope)
    with connect(existing(args.warehouse), read_only=True) as con:
        frame = annual_figures(con, args.year, scope)
        approved = figures_approved(con, args.year, scope)
    if frame.empty:
        print(f"no figures for {args.year} / {args.year} 年暂无指标", file=sys.stderr)
        return 1
    if args.format == "text":
        print("\n".join(s.text for s in sentences(frame)))
        return 0
    if args.format == "table":
        frame["inputs_approved"] = [approved.get((f, d if isinstance(d, str) else None))
                                    for f, d in zip(frame["figure"], frame["dimension"], strict=True)]
        _note_unapproved(frame)
    frame.insert(4, "dimension_zh", [dimension_name(d) for d in frame["dimension"]])
    if args.format == "table":
        _print_table(rounded(frame))
    else:
        print_frame(frame, args.format)
    return 0


def _note_unapproved(frame) -> None:  # type: ignore[no-untyped-def]
    """Say which figures rest on reports not yet approved (contract v3 §9)."""
    unapproved = [v for v in frame["inputs_approved"] if v is False]
    if unapproved:
        print(f"注：{len(unapproved)} 项指标所依据的报表尚未全部审核通过（标 *）/ {len(unapproved)} figures rest on "
              "reports not yet approved (marked *): see `ecostat review list --state pending`")


def _print_table(frame) -> None:  # type: ignore[no-untyped-def]
    rows = [("指标 figure", "维度", "数值 value", "单位", "上年 previous", "变化 change", "")]
    for r in frame.itertuples(index=False):
        mark = "*" if getattr(r, "inputs_approved", None) is False else ""  # rests on unapproved reports
        rows.append((f"{r.name_zh} {r.figure}{mark}", r.dimension_zh, r.value, r.unit, r.previous_value,
                     r.change, r.change_unit if r.change else ""))
    widths = [max(_width(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c) + " " * (w - _width(str(c))) for c, w in zip(row, widths, strict=True)).rstrip())


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the year's report (.docx, PDF, chart PNGs); 1 when the year has no figures."""
    from ecostat.common.progress import FileProgress
    from ecostat.publish.annual.build import write_report
    from ecostat.publish.annual.context import NoFigures
    from ecostat.store.warehouse import connect

    out: Path = args.out or args.warehouse.resolve().parent / "reports"
    problems: list[str] = []  # what could not be made (the .docx always is): said, and still exit 0
    try:
        with connect(existing(args.warehouse), read_only=True) as con:
            paths = write_report(con, args.year, out, live=args.live, progress=FileProgress.auto("report"),
                                 problems=problems)
    except NoFigures:
        print(f"no figures for {args.year} / {args.year} 年暂无指标", file=sys.stderr)
        return 1
    if problems:
        print("\n".join(problems), file=sys.stderr)
    print("\n".join(str(p) for p in paths))
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    """Rebuild the status site from the warehouse as it is."""
    from ecostat.publish.site import rebuild

    print(rebuild(existing(args.warehouse).resolve(), args.raw.resolve()))
    return 0
