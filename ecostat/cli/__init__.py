"""The ``ecostat`` command: demo, ingest, figures, validate, query, history, rebuild, export, certify,
amendments, template, audit, serve, deploy, upgrade, report, site.

One grammar: ``--raw`` and ``--warehouse`` on every command that reads or writes them, ``--year`` for a
year, ``--format table|csv|json`` on every command that prints rows (``figures`` also ``text``), a unit by
code or name wherever one is asked for. Text from submissions is printed with its control characters escaped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

from ecostat.common import environment
from ecostat.common.display import printable
from ecostat.common.environment import SettingsError
from ecostat.contract.catalogue import Finding
from ecostat.contract.registry import CITY, registry

FORMATS = ("table", "csv", "json")
DEMO_MARKER = ".ecostat-demo"


class Usage(Exception):
    """A command was given something it cannot use (an unknown unit, a missing file…): exit 2."""


class NoWarehouse(Exception):
    """A command that reads the warehouse was pointed at a file that does not exist."""


def _raw(p: argparse.ArgumentParser) -> None:
    p.add_argument("--raw", type=Path, default=Path("raw"), help="the raw folder holding inbox/ (default ./raw)")


def _warehouse(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warehouse", type=Path, default=Path("warehouse/ecostat.duckdb"),
                   help="the DuckDB file (default ./warehouse/ecostat.duckdb)")


def _format(p: argparse.ArgumentParser, *extra: str) -> None:
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


def parser() -> argparse.ArgumentParser:
    """The command-line parser; every command's ``--help`` ends with an example."""
    ap = argparse.ArgumentParser(prog="ecostat", description="生态环境统计数据报送与年度指标 / "
                                 "ecostat: district submissions → DuckDB → annual figures",
                                 epilog="example: ecostat demo   (then: ecostat figures --year 2024 "
                                        "--warehouse demo/warehouse/ecostat.duckdb)")
    ap.add_argument("--version", action="version", version=f"ecostat {_version()}")
    sub = ap.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, epilog=f"example:\n  {example}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("demo", "try ecostat on the shipped samples in a workspace of its own (./demo)",
                "ecostat demo --dir /tmp/ecostat-demo --no-prefect")
    p.add_argument("--dir", type=Path, default=Path("demo"), help="the demo workspace (default ./demo; recreated)")
    p.add_argument("--year", type=int, default=2024, help="the year whose figures are printed (default 2024)")
    p.add_argument("--no-prefect", action="store_true", help="run the steps without Prefect (faster, no audit)")
    p = command("ingest", "run the ingest flow once over raw/inbox/",
                "ecostat ingest --raw /srv/ecostat/raw --warehouse /srv/ecostat/warehouse/ecostat.duckdb")
    _raw(p)
    _warehouse(p)
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="if another ingest holds the warehouse, wait this long for it (default: exit 3 at once)")
    p.add_argument("--no-prefect", action="store_true",
                   help="receive, check, load, write feedback, alert and refresh the figures without Prefect "
                        "(no audit, no run history in its UI)")
    p.add_argument("--workers", type=_positive, metavar="N",
                   help="check the files on N local Dask worker processes while one writer loads them in order "
                        "(default ECOSTAT_WORKERS, else 1: checked by the writer); with ECOSTAT_DASK_ADDRESS, on "
                        "that scheduler's workers (--workers 1 keeps them here)")
    p = command("rebuild", "recreate a warehouse from the archive alone, replaying in received order",
                "ecostat rebuild --raw raw --to /tmp/rebuilt.duckdb")
    _raw(p)
    _warehouse(p)
    p.add_argument("--to", type=Path, required=True, metavar="NEW_FILE",
                   help="the new warehouse file (must not exist, and may not be the live --warehouse)")
    p.add_argument("--lake", type=Path, metavar="DIR",
                   help="start from this Parquet lake, then replay only the archive's receipts it does not hold")
    p = command("export", "write the warehouse's record as a Parquet lake into a new folder",
                "ecostat export --to /srv/share/ecostat-lake")
    _warehouse(p)
    p.add_argument("--to", type=Path, required=True, metavar="DIR", help="a folder that does not exist (or is empty)")
    p = command("upgrade", "carry the warehouse forward to this code's schema version (what the next run does "
                "first), and journal its receipts' verdicts into the archive",
                "ecostat upgrade --raw /srv/ecostat/raw --warehouse /srv/ecostat/warehouse/ecostat.duckdb")
    _raw(p)
    _warehouse(p)
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="if an ingest holds the warehouse, wait this long for it (default: exit 3 at once)")
    p = command("query", "run one read-only SQL statement against the warehouse",
                "ecostat query \"SELECT file, status FROM submission_log WHERE status = 'rejected'\" --format csv")
    _warehouse(p)
    p.add_argument("sql")
    _format(p)
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="stop the query after this long "
                   "(default 60)")
    p.add_argument("--limit", type=int, default=1000, metavar="ROWS",
                   help="rows shown in the table format (default 1000; csv and json stream every row)")
    p.add_argument("--memory", default="2GB", help="DuckDB memory limit of the query (default 2GB)")
    p = command("history", "every version of a unit's slices, with cell-level differences and footer notes",
                "ecostat history --unit 东湖区 --form outfall_remediation --period 2024")
    _warehouse(p)
    p.add_argument("--unit", required=True, help="a unit code or name")
    p.add_argument("--form", help="a form code, e.g. outfall_remediation")
    p.add_argument("--period", help="2024 or 2024-06")
    _format(p)
    p = command("certify", "freeze a year's annual figures (or amend them)",
                "ecostat certify --year 2024 --by 王敏   (later: --amend --reason \"…\")")
    _warehouse(p)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--by", required=True, help="who certifies")
    p.add_argument("--amend", action="store_true", help="replace the certified figures with the live ones")
    p.add_argument("--reason", help="why (required with --amend)")
    p = command("amendments", "certified figures that later submissions would change",
                "ecostat amendments --year 2024 --format csv")
    _warehouse(p)
    p.add_argument("--year", type=int)
    _format(p)
    p = command("figures", "the annual figures of a year (the city's, or a unit's)",
                "ecostat figures --year 2024 --scope 新建区 --format csv")
    _warehouse(p)
    p.add_argument("--year", type=int, required=True)
    _format(p, "text")
    p.add_argument("--scope", default=CITY, help=f"a unit code or name (default {CITY}, the city)")
    p = command("report", "the year's data report for the annual work summary: .docx, PDF and charts",
                "ecostat report --year 2024 --out /srv/share/年报数据")
    _warehouse(p)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--out", type=Path, help="the folder to write (default: reports/ beside the warehouse)")
    p.add_argument("--live", action="store_true", help="the live figures, also for a certified year")
    p = command("site", "rebuild the status site (site/ beside the warehouse; every ingest run does too)",
                "ecostat site --warehouse /srv/ecostat/warehouse/ecostat.duckdb")
    _raw(p)
    _warehouse(p)
    p = command("validate", "check one file as a dry run (nothing is written)",
                "ecostat validate 东湖区2024年报.xlsx --unit 东湖区 --feedback out.xlsx")
    _warehouse(p)
    p.add_argument("file", type=Path)
    p.add_argument("--unit", required=True, help="the submitting unit, by code or name")
    p.add_argument("--feedback", type=Path, metavar="OUT.xlsx",
                   help="also write the feedback workbook (the one ingest puts in raw/outbox/<unit>/)")
    p = command("template", "write an xlsx fill-in template for a reporting unit (reads no warehouse)",
                "ecostat template all --unit 360112 --year 2024 --month 6")
    p.add_argument("form", nargs="?", default="all", help="a form code or Chinese name, or all (default)")
    p.add_argument("--unit", required=True, help="the reporting unit, by code or name")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--month", type=int, choices=range(1, 13), metavar="M", help="for a monthly report")
    p.add_argument("--out", type=Path, help="the xlsx to write (default: <unit>_<period>_<form>_template.xlsx)")
    p = command("audit", "Great Expectations audit of a year; Data Docs beside the warehouse",
                "ecostat audit --year 2024")
    _raw(p)
    _warehouse(p)
    p.add_argument("--year", type=int, required=True)
    p = command("serve", "serve the ingest flow as a scheduled deployment (needs PREFECT_API_URL)",
                "PREFECT_API_URL=http://127.0.0.1:4200/api ecostat serve --cron '0 * * * *'")
    _raw(p)
    _warehouse(p)
    p.add_argument("--cron", help="the schedule (default: ECOSTAT_SCHEDULE, the settings file, or */30 * * * *)")
    p.add_argument("--name", default="ecostat-ingest", help="the deployment's name (default ecostat-ingest)")
    p = command("deploy", "register the ingest deployment on a process work pool (needs PREFECT_API_URL)",
                "PREFECT_API_URL=http://127.0.0.1:4200/api ecostat deploy --pool ecostat   "
                "(then: prefect worker start --pool ecostat)")
    _raw(p)
    _warehouse(p)
    p.add_argument("--pool", default="ecostat", help="the work pool, created as type process if missing")
    p.add_argument("--cron", help="the schedule (default: ECOSTAT_SCHEDULE, the settings file, or */30 * * * *)")
    p.add_argument("--name", default="ecostat-ingest", help="the deployment's name (default ecostat-ingest)")
    return ap


def _version() -> str:
    try:
        return metadata.version("ecostat")
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    commands = {"demo": cmd_demo, "ingest": cmd_ingest, "figures": cmd_figures, "validate": cmd_validate,
                "rebuild": cmd_rebuild, "query": cmd_query, "history": cmd_history, "certify": cmd_certify,
                "amendments": cmd_amendments, "template": cmd_template, "audit": cmd_audit, "serve": cmd_serve,
                "upgrade": cmd_upgrade, "report": cmd_report, "site": cmd_site, "export": cmd_export,
                "deploy": cmd_deploy}
    from ecostat.store.migrations import SchemaMismatch, SchemaTooNew, SchemaTooOld
    from ecostat.store.writer import WarehouseBusy

    try:
        return commands[args.command](args)
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


def existing(warehouse: Path) -> Path:
    """The warehouse path, if the file exists (else :class:`NoWarehouse`)."""
    if not warehouse.exists():
        raise NoWarehouse(warehouse)
    return warehouse


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse type)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: at least 1")
    return value


def _run_ingest(raw: Path, warehouse: Path, *, prefect: bool, wait: float = 0.0, workers: int | None = None) -> int:
    """One ingest run (the flow, or its steps without Prefect); prints the summary."""
    from ecostat.contract.operator_settings import load_settings

    environment.apply()
    load_settings(raw)  # a settings error stops here, with its key and file named
    if not (raw / "inbox").is_dir():
        raise Usage(f"no inbox at {raw / 'inbox'}: create {raw / 'inbox'}/<unit code>/ for the units' files "
                    "(to try ecostat on the shipped samples: ecostat demo) / 收件目录不存在")
    if prefect:
        from flows.ingest import ingest  # imports Prefect: only after the settings

        summary = ingest(raw=raw, warehouse=warehouse, wait_seconds=wait, workers=workers)
    else:
        from ecostat.common.progress import FileProgress
        from ecostat.run.ingest import run_plain

        summary = run_plain(raw, warehouse, wait, FileProgress.auto("ingest"))
    print(summary.text())
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Run the flow once and print its summary; 0 when the run completed, whatever it rejected."""
    if args.no_prefect and (args.workers or 1) > 1:
        raise Usage("--workers needs the Prefect flow (its Dask task runner): leave out --no-prefect / "
                    "并行检查需要 Prefect 流程，请去掉 --no-prefect")
    return _run_ingest(args.raw.resolve(), args.warehouse.resolve(), prefect=not args.no_prefect, wait=args.wait,
                       workers=args.workers)


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
    os.environ["ECOSTAT_SETTINGS"] = str(home / "ecostat.toml")
    os.environ.pop("ECOSTAT_ALERT_URLS", None)
    warehouse = home / "warehouse" / "ecostat.duckdb"
    print(f"演示工作区 demo workspace: {home}（示例报表 samples: {samples}）")
    _run_ingest(home / "raw", warehouse, prefect=not args.no_prefect)
    print()
    return cmd_figures(argparse.Namespace(warehouse=warehouse, year=args.year, scope=CITY, format="table"))


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Replay the archive into a new warehouse file."""
    from ecostat.common.progress import FileProgress
    from ecostat.intake import verdicts
    from ecostat.run.pending import pending, replay
    from ecostat.run.receipt import attempts_path
    from ecostat.store.migrations import CONTRACT_VERSION
    from ecostat.store.warehouse import connect
    from ecostat.store.writer import work_path, writing

    target: Path = args.to.resolve()
    if target == args.warehouse.resolve():
        raise Usage(f"{target} is the live warehouse: rebuild into a new file / 不能重建到正在使用的数据仓库")
    if target.exists() or work_path(target).exists():
        raise Usage(f"{target} already exists: rebuild writes a new file / 目标文件已存在")
    archive = args.raw.resolve() / "archive"
    if args.lake:
        from ecostat.store.lake import check_restorable, restore

        try:
            check_restorable(args.lake.resolve())
        except ValueError as exc:
            raise Usage(f"{exc} / 湖仓不可用于重建") from None
    with writing(target) as work, connect(work, create=True) as con:
        if args.lake:
            print(f"从湖仓恢复 restored from the lake: {restore(con, args.lake.resolve())} receipts")
        judged = verdicts.read(archive)
        unjudged = sum(r.receipt_id not in judged for r in pending(con, args.raw.resolve()))
        summary = replay(con, args.raw.resolve(), progress=FileProgress.auto("rebuild"),
                         attempts=attempts_path(target))
    print(summary.text())
    if unjudged:
        print(f"{unjudged} 个文件没有记录审核结论，已按现行合同第 {CONTRACT_VERSION} 版审核 / "
              f"{unjudged} receipts had no recorded verdict and were judged under contract v{CONTRACT_VERSION} "
              "(run `ecostat upgrade --raw` against the warehouse that processed them to record theirs)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the published warehouse's record as a Parquet lake into a new folder."""
    from ecostat.store.lake import export

    try:
        manifest = export(existing(args.warehouse).resolve(), args.to.resolve())
    except FileExistsError as exc:
        raise Usage(f"{exc} / 目标文件夹已存在且非空") from None
    tables: dict[str, dict[str, int]] = manifest["tables"]  # type: ignore[assignment]
    print(f"湖仓已导出 lake written to {args.to}: " + ", ".join(f"{k} {v['rows']}" for k, v in tables.items()))
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    """Apply the pending migration steps and derived changes, under the write lock, journal the verdicts the
    archive lacks, and publish."""
    from ecostat.intake import verdicts
    from ecostat.store.warehouse import connect, create_objects
    from ecostat.store.writer import writing

    with writing(existing(args.warehouse).resolve(), args.wait) as work, connect(work) as con:
        upgrade = create_objects(con)
        journaled = verdicts.backfill(con, args.raw.resolve() / "archive")
    print(upgrade.text())
    if journaled:
        print(f"已将 {journaled} 个已处理文件的审核结论写入 {args.raw / 'archive' / verdicts.JOURNAL} / "
              f"journaled the verdicts of {journaled} processed receipts")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    """Run one SQL statement on a read-only, sandboxed connection with a time and memory limit."""
    import threading

    import duckdb

    from ecostat.store.warehouse import connect

    try:
        statements = duckdb.extract_statements(args.sql)
    except duckdb.Error as exc:
        print(f"query failed / 查询失败: {_first_line(exc)}", file=sys.stderr)
        return 1
    if len(statements) != 1:
        raise Usage("give exactly one SQL statement / 请只给一条 SQL 语句")
    try:
        con = connect(existing(args.warehouse), read_only=True, memory_limit=args.memory)
    except duckdb.Error as exc:  # not a warehouse, or a --memory DuckDB does not understand
        print(f"query failed / 查询失败: {_first_line(exc)}", file=sys.stderr)
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
                _print_frame(pd.DataFrame(rows[:args.limit], columns=[d[0] for d in result.description]), "table")
                if more:
                    print(f"…（仅显示前 {args.limit} 行 first {args.limit} rows shown; --limit or --format csv "
                          "for more）", file=sys.stderr)
            else:
                _stream(result, args.format)
        except duckdb.InterruptException:
            print(f"query stopped after {args.timeout:g} s / 查询超时（--timeout）", file=sys.stderr)
            return 1
        except duckdb.Error as exc:
            print(f"query failed / 查询失败: {_first_line(exc)}", file=sys.stderr)
            return 1
        finally:
            timer.cancel()
    return 0


def _first_line(exc: BaseException) -> str:
    return printable(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


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
        _print_frame(pd.DataFrame(rows), args.format)
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
            version, changed = certify(con, args.year, args.by, amend=args.amend, reason=args.reason)
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
    _print_frame(frame, args.format)
    return 0


def _print_frame(frame, fmt: str) -> None:  # type: ignore[no-untyped-def]
    if fmt == "csv":
        from ecostat.common.safecell import csv_value

        tty = sys.stdout.isatty()
        frame.map(lambda v: printable(v) if tty and isinstance(v, str) else csv_value(v)).to_csv(sys.stdout,
                                                                                                   index=False)
    elif fmt == "json":  # json escapes C0 controls; on a terminal C1 and bidi ones are escaped too
        tty = sys.stdout.isatty()
        records = json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
        print(json.dumps(_printable_json(records) if tty else records, ensure_ascii=False, indent=1))
    else:
        print(frame.map(lambda v: printable(v) if isinstance(v, str) else v).to_string(index=False))


def _printable_json(value: object) -> object:
    """Every string inside a JSON value shown escaped (:func:`printable`)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _printable_json(v) for k, v in value.items()}
    return value


def cmd_figures(args: argparse.Namespace) -> int:
    """Print the annual figures of a year."""
    from ecostat.publish.annual.phrasing import dimension_name, rounded, sentences
    from ecostat.store.figures import annual_figures
    from ecostat.store.warehouse import connect

    scope = unit_code(args.scope)
    with connect(existing(args.warehouse), read_only=True) as con:
        frame = annual_figures(con, args.year, scope)
    if frame.empty:
        print(f"no figures for {args.year} / {args.year} 年暂无指标", file=sys.stderr)
        return 1
    if args.format == "text":
        print("\n".join(s.text for s in sentences(frame)))
        return 0
    frame.insert(4, "dimension_zh", [dimension_name(d) for d in frame["dimension"]])
    if args.format == "table":
        _print_table(rounded(frame))
    else:
        _print_frame(frame, args.format)
    return 0


def _print_table(frame) -> None:  # type: ignore[no-untyped-def]
    rows = [("指标 figure", "维度", "数值 value", "单位", "上年 previous", "变化 change", "")]
    for r in frame.itertuples(index=False):
        rows.append((f"{r.name_zh} {r.figure}", r.dimension_zh, r.value, r.unit, r.previous_value,
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
    from ecostat.publish.annual.build import NoFigures, write_report
    from ecostat.publish.annual.charts import FontMissing
    from ecostat.store.warehouse import connect

    out: Path = args.out or args.warehouse.resolve().parent / "reports"
    try:
        with connect(existing(args.warehouse), read_only=True) as con:
            paths = write_report(con, args.year, out, live=args.live, progress=FileProgress.auto("report"))
    except NoFigures:
        print(f"no figures for {args.year} / {args.year} 年暂无指标", file=sys.stderr)
        return 1
    except FontMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    print("\n".join(str(p) for p in paths))
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    """Rebuild the status site from the warehouse as it is."""
    from ecostat.publish.site import rebuild

    print(rebuild(existing(args.warehouse).resolve(), args.raw.resolve()))
    return 0


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
                  f"skipped: {_first_line(exc)}）", file=sys.stderr)
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


def cmd_audit(args: argparse.Namespace) -> int:
    """Audit a year, store the results, build Data Docs, alert a failure; 1 when an error-level check failed."""
    environment.apply()
    from ecostat.contract.operator_settings import load_settings
    from ecostat.notify.audit import audit_and_alert, docs_dir
    from ecostat.notify.delivery import deliver_pending
    from ecostat.store.warehouse import connect
    from ecostat.store.writer import writing

    options = load_settings(args.raw)
    warehouse = existing(args.warehouse).resolve()
    with writing(warehouse) as work, connect(work, create=True) as con:
        result = audit_and_alert(con, args.year, docs_dir(warehouse), options)
    deliver_pending(warehouse, options)
    print(result.text())
    return 1 if result.failed_errors else 0


def _needs_api() -> None:
    """A Prefect server must be configured (else :class:`Usage`, saying how)."""
    import os

    environment.apply()
    if not os.environ.get("PREFECT_API_URL"):
        raise Usage("PREFECT_API_URL is not set: start `prefect server start` and set "
                    "PREFECT_API_URL=http://127.0.0.1:4200/api (see README) / "
                    "请先启动 Prefect 服务并设置 PREFECT_API_URL")


def cmd_deploy(args: argparse.Namespace) -> int:
    """Register the ingest deployment with its cron schedule on a process work pool."""
    _needs_api()
    from ecostat.contract.operator_settings import load_settings
    from ecostat.run.deployment import deploy

    cron = args.cron or load_settings(args.raw).schedule
    deploy(args.raw.resolve(), args.warehouse.resolve(), pool=args.pool, name=args.name, cron=cron)
    print(f"deployment ingest/{args.name} on pool {args.pool}, '{cron}' (raw {args.raw.resolve()}, warehouse "
          f"{args.warehouse.resolve()}); run its flow runs with: prefect worker start --pool {args.pool}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Register the ingest flow as a deployment with a cron schedule and run its flow runs until stopped."""
    _needs_api()
    from prefect import serve
    from prefect.deployments.runner import RunnerDeployment

    from ecostat.contract.operator_settings import load_settings
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

