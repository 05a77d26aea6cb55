"""The ``ecostat`` command: ingest, figures, validate, audit, serve."""

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
    p = sub.add_parser("figures", help="the city's annual figures of a year")
    _common(p)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--scope", default="360100", help="unit code (default 360100, the city)")
    p = sub.add_parser("validate", help="check one file as a dry run (nothing is written)")
    _common(p)
    p.add_argument("file", type=Path)
    p.add_argument("--unit", required=True, help="the submitting unit's code")
    p = sub.add_parser("audit", help="Great Expectations audit of a year; Data Docs beside the warehouse")
    _common(p)
    p.add_argument("--year", type=int, required=True)
    p = sub.add_parser("serve", help="serve the ingest flow as a scheduled deployment (needs PREFECT_API_URL)")
    _common(p)
    p.add_argument("--cron", help="the schedule (default: ECOSTAT_SCHEDULE, the settings file, or */30 * * * *)")
    p.add_argument("--name", default="ecostat-ingest", help="the deployment's name (default ecostat-ingest)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    return {"ingest": cmd_ingest, "figures": cmd_figures, "validate": cmd_validate,
            "audit": cmd_audit, "serve": cmd_serve}[args.command](args)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Run the flow once and print its summary; 0 when the run completed, whatever it rejected."""
    settings.apply()
    from flows.ingest import ingest  # imports Prefect: only after the settings

    summary = ingest(raw=args.raw.resolve(), warehouse=args.warehouse.resolve())
    print(summary.text())
    return 0


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

    if not args.warehouse.exists():
        print(f"no warehouse at {args.warehouse}: run `ecostat ingest` first / 数据仓库不存在，请先运行 ecostat ingest",
              file=sys.stderr)
        return 2
    with connect(args.warehouse, read_only=True) as con:
        frame = annual_figures(con, args.year, args.scope)
    if frame.empty:
        print(f"no figures for {args.year} / {args.year} 年暂无指标", file=sys.stderr)
        return 1
    frame.insert(4, "dimension_zh", [_dimension_name(d) for d in frame["dimension"]])
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(json.dumps(json.loads(frame.to_json(orient="records", force_ascii=False)), ensure_ascii=False,
                         indent=1))
    else:
        _print_table(frame)
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
    from ecostat.ingest import check_file
    from ecostat.warehouse import Received, connect

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
    rec = Received(path, path.name, unit.code, hashlib.sha256(data).hexdigest(), len(data), now, now)
    con = None
    if args.warehouse.exists():
        try:
            con = connect(args.warehouse, read_only=True)
        except Exception as exc:  # the warehouse is busy: check without the cross-period rules
            print(f"(warehouse not readable, cross-period rules skipped: {exc})", file=sys.stderr)
    try:
        result = check_file(rec, data, con)
    finally:
        if con is not None:
            con.close()
    findings: list[Finding] = [result] if isinstance(result, Finding) else [
        f for t in result for f in t.findings]
    for f in findings:
        f.file = path.name
        print(f"{f.severity.upper():7} {f.rule_id:22} {f.where()}  {f.header or ''} = {f.value or ''!s}\n"
              f"        {f.message_zh}\n        {f.message_en}")
    if not isinstance(result, Finding):
        for t in result:
            status = "通过 accepted" if t.accepted else "退回 rejected"
            form = t.form.code if t.form else "?"
            print(f"{path.name}" + (f" [{t.sheet}]" if t.sheet else "") +
                  f": {form} — {status}, {t.errors} errors, {t.warnings} warnings")
    return 1 if any(f.severity == "error" for f in findings) else 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Audit a year, store the results, build Data Docs, alert a failure; 1 when an error-level check failed."""
    settings.apply()
    from ecostat.audit import audit_and_alert, docs_dir
    from ecostat.config import load_settings
    from ecostat.warehouse import connect

    if not args.warehouse.exists():
        print(f"no warehouse at {args.warehouse}: run `ecostat ingest` first / 数据仓库不存在，请先运行 ecostat ingest",
              file=sys.stderr)
        return 2
    with connect(args.warehouse) as con:
        result, _ = audit_and_alert(con, args.year, docs_dir(args.warehouse), load_settings(args.raw))
    print(result.text())
    return 1 if result.failed_errors else 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Register the ingest flow as a deployment with a cron schedule and run its flow runs until stopped."""
    import os

    settings.apply()
    if not os.environ.get("PREFECT_API_URL"):
        print("PREFECT_API_URL is not set: start `prefect server start` and set "
              "PREFECT_API_URL=http://127.0.0.1:4200/api (see README) / 请先启动 Prefect 服务并设置 PREFECT_API_URL",
              file=sys.stderr)
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
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
