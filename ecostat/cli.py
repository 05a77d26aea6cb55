"""The ``ecostat`` command: ingest, figures, validate, query, history, rebuild, certify, amendments,
template, audit, serve, deploy, export."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

from ecostat import settings
from ecostat.catalogue import Finding, format_number
from ecostat.registry import registry


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--raw", type=Path, default=Path("raw"), help="the raw folder holding inbox/ (default ./raw)")
    p.add_argument("--warehouse", type=Path, default=Path("warehouse/ecostat.duckdb"),
                   help="the DuckDB file (default ./warehouse/ecostat.duckdb)")


def parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    ap = argparse.ArgumentParser(prog="ecostat", description="生态环境统计数据报送与年度指标 / "
                                 "ecostat: district submissions → DuckDB → annual figures")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="run the ingest flow once over raw/inbox/")
    _common(p)
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="if another ingest holds the warehouse, wait this long for it (default: exit at once)")
    p.add_argument("--no-prefect", action="store_true",
                   help="receive, check, load, write feedback, alert and refresh the figures without Prefect "
                        "(no audit, no missing-report alerts, no run history in its UI)")
    p = sub.add_parser("rebuild", help="recreate a warehouse from the archive alone, replaying in received order")
    _common(p)
    p.add_argument("--lake", type=Path, metavar="DIR",
                   help="start from this Parquet lake, then replay only the archive's receipts it does not hold")
    p = sub.add_parser("export", help="write the warehouse's record as a Parquet lake into a new folder")
    _common(p)
    p.add_argument("--to", type=Path, required=True, metavar="DIR", help="a folder that does not exist (or is empty)")
    p = sub.add_parser("query", help="run one read-only SQL statement against the warehouse")
    _common(p)
    p.add_argument("sql")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p = sub.add_parser("history", help="every version of a unit's slices, with cell-level differences")
    _common(p)
    p.add_argument("--unit", required=True)
    p.add_argument("--form", help="a form code, e.g. outfall_remediation")
    p.add_argument("--period", help="2024 or 2024-06")
    p = sub.add_parser("certify", help="freeze a year's annual figures (or amend them)")
    _common(p)
    p.add_argument("year", type=int)
    p.add_argument("--by", required=True, help="who certifies")
    p.add_argument("--amend", action="store_true", help="replace the certified figures with the live ones")
    p.add_argument("--reason", help="why (required with --amend)")
    p = sub.add_parser("amendments", help="certified figures that later submissions would change")
    _common(p)
    p.add_argument("--year", type=int)
    p = sub.add_parser("figures", help="the city's annual figures of a year")
    _common(p)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--scope", default="360100", help="unit code (default 360100, the city)")
    p = sub.add_parser("validate", help="check one file as a dry run (nothing is written)")
    _common(p)
    p.add_argument("file", type=Path)
    p.add_argument("--unit", required=True, help="the submitting unit's code")
    p.add_argument("--feedback", type=Path, metavar="OUT.xlsx",
                   help="also write the feedback workbook (the one ingest puts in raw/outbox/<unit>/)")
    p = sub.add_parser("template", help="write an xlsx fill-in template for a reporting unit")
    p.add_argument("form", nargs="?", default="all", help="a form code or Chinese name, or all (default)")
    p.add_argument("--unit", required=True, help="the reporting unit's code")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--month", type=int, choices=range(1, 13), metavar="M", help="for a monthly report")
    p.add_argument("--out", type=Path, help="the xlsx to write (default: <unit>_<period>_<form>_template.xlsx)")
    p = sub.add_parser("audit", help="Great Expectations audit of a year; Data Docs beside the warehouse")
    _common(p)
    p.add_argument("--year", type=int, required=True)
    p = sub.add_parser("serve", help="serve the ingest flow as a scheduled deployment (needs PREFECT_API_URL)")
    _common(p)
    p.add_argument("--cron", help="the schedule (default: ECOSTAT_SCHEDULE, the settings file, or */30 * * * *)")
    p.add_argument("--name", default="ecostat-ingest", help="the deployment's name (default ecostat-ingest)")
    p = sub.add_parser("deploy", help="register the ingest deployment on a process work pool (needs PREFECT_API_URL)")
    _common(p)
    p.add_argument("--pool", default="ecostat", help="the work pool, created as type process if missing")
    p.add_argument("--cron", help="the schedule (default: ECOSTAT_SCHEDULE, the settings file, or */30 * * * *)")
    p.add_argument("--name", default="ecostat-ingest", help="the deployment's name (default ecostat-ingest)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    commands = {"ingest": cmd_ingest, "figures": cmd_figures, "validate": cmd_validate, "rebuild": cmd_rebuild,
                "query": cmd_query, "history": cmd_history, "certify": cmd_certify, "amendments": cmd_amendments,
                "template": cmd_template, "audit": cmd_audit, "serve": cmd_serve, "export": cmd_export,
                "deploy": cmd_deploy}
    from ecostat.writer import WarehouseBusy

    try:
        return commands[args.command](args)
    except NoWarehouse as exc:
        print(f"no warehouse at {exc}: run `ecostat ingest` first / 数据仓库不存在，请先运行 ecostat ingest",
              file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"另一个任务正在写入数据仓库（{exc}），本次未运行；稍后重试（导入可用 --wait 秒数）。\n"
              f"another process is writing the warehouse ({exc}); nothing was done: retry later "
              "(ingest: pass --wait)", file=sys.stderr)
        return 3


class NoWarehouse(Exception):
    """A command that reads the warehouse was pointed at a file that does not exist."""


def existing(warehouse: Path) -> Path:
    """The warehouse path, if the file exists (else :class:`NoWarehouse`)."""
    if not warehouse.exists():
        raise NoWarehouse(warehouse)
    return warehouse


def cmd_ingest(args: argparse.Namespace) -> int:
    """Run the flow once and print its summary; 0 when the run completed, whatever it rejected."""
    settings.apply()
    from ecostat.ingest import run_plain, seed_inbox

    raw, warehouse = args.raw.resolve(), args.warehouse.resolve()
    if seed_inbox(raw):
        print("收件箱尚不存在，已放入随附的示例报表（raw/samples）/ no inbox yet: filled it with the shipped samples")
    if args.no_prefect:
        summary = run_plain(raw, warehouse, args.wait)
    else:
        from flows.ingest import ingest  # imports Prefect: only after the settings

        summary = ingest(raw=raw, warehouse=warehouse, wait_seconds=args.wait)
    print(summary.text())
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Replay the archive into a new warehouse file."""
    from ecostat.ingest import replay
    from ecostat.warehouse import connect
    from ecostat.writer import work_path, writing

    target: Path = args.warehouse.resolve()
    if target.exists() or work_path(target).exists():
        print(f"{target} already exists: rebuild writes a new file / 目标文件已存在", file=sys.stderr)
        return 2
    with writing(target) as work, connect(work, create=True) as con:
        if args.lake:
            from ecostat.lake import restore

            print(f"从湖仓恢复 restored from the lake: {restore(con, args.lake.resolve())} receipts")
        summary = replay(con, args.raw.resolve(), notify=False)
    print(summary.text())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the published warehouse's record as a Parquet lake into a new folder."""
    from ecostat.lake import export

    try:
        manifest = export(existing(args.warehouse).resolve(), args.to.resolve())
    except FileExistsError as exc:
        print(f"{exc} / 目标文件夹已存在且非空", file=sys.stderr)
        return 2
    tables: dict[str, dict[str, int]] = manifest["tables"]  # type: ignore[assignment]
    print(f"湖仓已导出 lake written to {args.to}: " + ", ".join(f"{k} {v['rows']}" for k, v in tables.items()))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    """Run one SQL statement on a read-only connection and print the result."""
    import duckdb

    from ecostat.warehouse import connect

    if len(duckdb.extract_statements(args.sql)) != 1:
        print("give exactly one SQL statement / 请只给一条 SQL 语句", file=sys.stderr)
        return 2
    try:
        with connect(existing(args.warehouse), read_only=True) as con:
            frame = con.execute(args.sql).df()
    except duckdb.Error as exc:
        print(f"query failed / 查询失败: {exc}", file=sys.stderr)
        return 1
    _print_frame(frame, args.format)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """Print every version of the matching slices."""
    from ecostat.forms import FORMS
    from ecostat.history import history
    from ecostat.warehouse import connect

    if args.form is not None and args.form not in FORMS:
        print(f"unknown form {args.form} / 未知报表；可选 choose: {', '.join(FORMS)}", file=sys.stderr)
        return 2
    with connect(existing(args.warehouse), read_only=True) as con:
        slices = history(con, args.unit, args.form, args.period)
    if not slices:
        print(f"no submissions for {args.unit} / 没有该单位的报送记录", file=sys.stderr)
        return 1
    for (form, period), versions in slices.items():
        print(f"{FORMS[form].zh} {form} · {args.unit} · {period}")
        for v in versions:
            where = v.file + (f" [{v.sheet}]" if v.sheet else "")
            print(f"  #{v.submission_id} {v.status:10} {v.received_at:%Y-%m-%d %H:%M} {where}"  # type: ignore[str-format]
                  + (f"  ({v.errors} errors)" if v.status == "rejected" else ""))
            for change in v.changes:
                print(f"      {change}")
    return 0


def cmd_certify(args: argparse.Namespace) -> int:
    """Certify (or amend) a year's figures."""
    from ecostat.certify import CertificationError, certify
    from ecostat.warehouse import connect
    from ecostat.writer import writing

    try:
        with writing(args.warehouse.resolve()) as work, connect(work, create=True) as con:
            version, changed = certify(con, args.year, args.by, amend=args.amend, reason=args.reason)
    except CertificationError as exc:
        print(exc, file=sys.stderr)
        return 2
    from ecostat.lake import refresh

    refresh(args.warehouse.resolve())
    print(f"{args.year} 年指标已认证（第 {version} 版，变更 {changed} 项）/ {args.year} certified, "
          f"version {version}, {changed} figures changed")
    return 0


def cmd_amendments(args: argparse.Namespace) -> int:
    """List pending amendments to certified figures."""
    from ecostat.certify import pending_amendments
    from ecostat.warehouse import connect

    with connect(existing(args.warehouse), read_only=True) as con:
        frame = pending_amendments(con, args.year)
    if frame.empty:
        print("没有待认证的修订 / no pending amendments")
        return 0
    print(frame.to_string(index=False))
    return 0


def _print_frame(frame, fmt: str) -> None:  # type: ignore[no-untyped-def]
    if fmt == "csv":
        from ecostat.safecell import csv_value

        frame.map(csv_value).to_csv(sys.stdout, index=False)
    elif fmt == "json":
        print(json.dumps(json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso")),
                         ensure_ascii=False, indent=1))
    else:
        print(frame.to_string(index=False))


def _dimension_name(dim: object) -> str:
    if dim is None or dim != dim:
        return ""
    for name in ("water_bodies", "batches"):
        entry = registry(name).resolve(dim)
        if entry is not None:
            return entry.name
    return str(dim)


def cmd_figures(args: argparse.Namespace) -> int:
    """Print the annual figures of a year."""
    from ecostat.figures import annual_figures
    from ecostat.warehouse import connect

    with connect(existing(args.warehouse), read_only=True) as con:
        frame = annual_figures(con, args.year, args.scope)
    if frame.empty:
        print(f"no figures for {args.year} / {args.year} 年暂无指标", file=sys.stderr)
        return 1
    frame.insert(4, "dimension_zh", [_dimension_name(d) for d in frame["dimension"]])
    if args.format == "table":
        _print_table(frame)
    else:
        _print_frame(frame, args.format)
    return 0


def _print_table(frame) -> None:  # type: ignore[no-untyped-def]
    def num(v: object) -> str:
        return "" if v is None or v != v else format_number(float(v))  # type: ignore[arg-type]

    rows = [("指标 figure", "维度", "数值 value", "单位", "上年 previous", "变化 change", "")]
    for r in frame.itertuples(index=False):
        rows.append((f"{r.name_zh} {r.figure}", r.dimension_zh, num(r.value), r.unit, num(r.previous_value),
                     num(r.change), r.change_unit if r.change == r.change and r.change is not None else ""))
    widths = [max(_width(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c) + " " * (w - _width(str(c))) for c, w in zip(row, widths, strict=True)).rstrip())


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cmd_validate(args: argparse.Namespace) -> int:
    """Dry run: print every finding with its cell; 1 when there is any error."""
    from ecostat.archive import Receipt
    from ecostat.ingest import check_across_periods, check_file
    from ecostat.warehouse import connect

    unit = registry("units").resolve(args.unit)
    if unit is None:
        print(f"unknown unit {args.unit} / 未知单位 {args.unit}", file=sys.stderr)
        return 2
    path: Path = args.file
    if not path.is_file():
        print(f"no such file: {path} / 文件不存在", file=sys.stderr)
        return 2
    data = path.read_bytes()
    now = dt.datetime.now(dt.UTC)
    rec = Receipt("dry-run", hashlib.sha256(data).hexdigest(), path.name, unit.code, len(data), now, now)
    con = None
    if args.warehouse.exists():
        try:
            con = connect(args.warehouse, read_only=True)
        except Exception as exc:  # the warehouse is busy: check without the cross-period rules
            print(f"(warehouse not readable, cross-period rules skipped: {exc})", file=sys.stderr)
    try:
        result = check_file(rec, data, now.date())
        for table in [] if isinstance(result, Finding) else result:
            check_across_periods(con, rec, table)
    finally:
        if con is not None:
            con.close()
    findings: list[Finding] = [result] if isinstance(result, Finding) else [
        f for t in result for f in t.findings]
    for f in findings:
        print(f"{f.severity.upper():7} {f.rule_id:22} {f.where()}  {f.header or ''} = {f.value or ''!s}\n"
              f"        {f.message_zh}\n        {f.message_en}")
    if not isinstance(result, Finding):
        for t in result:
            status = "通过 accepted" if t.accepted else "退回 rejected"
            form = t.form.code if t.form else "?"
            print(f"{path.name}" + (f" [{t.sheet}]" if t.sheet else "") +
                  f": {form} — {status}, {t.errors} errors, {t.warnings} warnings")
    if args.feedback:
        from ecostat.feedback import build_workbook, reports_from_check

        args.feedback.parent.mkdir(parents=True, exist_ok=True)
        build_workbook(path.name, reports_from_check(result)).save(args.feedback)
        print(f"feedback: {args.feedback}")
    return 1 if any(f.severity == "error" for f in findings) else 0


def cmd_template(args: argparse.Namespace) -> int:
    """Write a fill-in template; 2 for an unknown unit or form."""
    from ecostat.normalize import Period
    from ecostat.templates import build_template, forms_named

    unit = registry("units").resolve(args.unit)
    if unit is None:
        print(f"unknown unit {args.unit} / 未知单位 {args.unit}", file=sys.stderr)
        return 2
    try:
        forms = forms_named(args.form)
    except KeyError:
        from ecostat.forms import FORMS

        print(f"unknown form {args.form} / 未知报表；可选 choose: all, {', '.join(FORMS)}", file=sys.stderr)
        return 2
    label = Period(args.year, args.month).label
    out: Path = args.out or Path(f"{unit.code}_{label}_{args.form}_template.xlsx")
    out.parent.mkdir(parents=True, exist_ok=True)
    build_template(forms, unit.code, args.year, args.month).save(out)
    print(f"template: {out}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Audit a year, store the results, build Data Docs, alert a failure; 1 when an error-level check failed."""
    settings.apply()
    from ecostat.audit import audit_and_alert, docs_dir
    from ecostat.config import load_settings
    from ecostat.warehouse import connect
    from ecostat.writer import writing

    with writing(existing(args.warehouse).resolve()) as work, connect(work, create=True) as con:
        result, _ = audit_and_alert(con, args.year, docs_dir(args.warehouse), load_settings(args.raw))
    print(result.text())
    return 1 if result.failed_errors else 0


def _needs_api() -> bool:
    """Whether a Prefect server is configured; says how to configure one if not."""
    import os

    settings.apply()
    if not os.environ.get("PREFECT_API_URL"):
        print("PREFECT_API_URL is not set: start `prefect server start` and set "
              "PREFECT_API_URL=http://127.0.0.1:4200/api (see README) / 请先启动 Prefect 服务并设置 PREFECT_API_URL",
              file=sys.stderr)
        return False
    return True


def cmd_deploy(args: argparse.Namespace) -> int:
    """Register the ingest deployment with its cron schedule on a process work pool."""
    if not _needs_api():
        return 2
    from ecostat.config import load_settings
    from ecostat.deployment import deploy

    cron = args.cron or load_settings(args.raw).schedule
    deploy(args.raw.resolve(), args.warehouse.resolve(), pool=args.pool, name=args.name, cron=cron)
    print(f"deployment ingest/{args.name} on pool {args.pool}, '{cron}' (raw {args.raw.resolve()}, warehouse "
          f"{args.warehouse.resolve()}); run its flow runs with: prefect worker start --pool {args.pool}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Register the ingest flow as a deployment with a cron schedule and run its flow runs until stopped."""
    if not _needs_api():
        return 2
    from prefect import serve
    from prefect.deployments.runner import RunnerDeployment

    from ecostat.config import load_settings
    from flows.ingest import ingest

    cron = args.cron or load_settings(args.raw).schedule
    deployment = ingest.to_deployment(name=args.name, cron=cron, parameters={
        "raw": str(args.raw.resolve()), "warehouse": str(args.warehouse.resolve())})
    print(f"serving ingest/{args.name} on '{cron}' (raw {args.raw.resolve()}, warehouse {args.warehouse.resolve()})",
          flush=True)
    assert isinstance(deployment, RunnerDeployment)
    serve(deployment, print_starting_message=False)
    return 0


def main_exit() -> None:
    """Console-script entry point (quiet when its output is piped into ``head``)."""
    import signal

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
