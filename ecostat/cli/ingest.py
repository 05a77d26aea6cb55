"""Commands that fill and keep the warehouse, for its operator: ``ingest`` (one run over raw/inbox/),
``rebuild`` (a new warehouse from the archive), ``export`` (a Parquet lake) and ``upgrade`` (this code's schema)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecostat.cli.shared import Subparsers, Usage, command, existing, raw_option, warehouse_option
from ecostat.common import environment


def register(sub: Subparsers) -> None:
    """Add ingest, rebuild, export and upgrade."""
    p = command(sub, "ingest", "run the ingest flow once over raw/inbox/",
                "ecostat ingest --raw /srv/ecostat/raw --warehouse /srv/ecostat/warehouse/ecostat.duckdb", cmd_ingest)
    raw_option(p)
    warehouse_option(p)
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="if another ingest holds the warehouse, wait this long for it (default: exit 3 at once)")
    p.add_argument("--no-prefect", action="store_true",
                   help="receive, check, load, write feedback, alert and refresh the figures without Prefect "
                        "(no audit, no run history in its UI)")
    p.add_argument("--workers", type=_positive, metavar="N",
                   help="check the files in N processes while one writer loads them in order: N sandboxed "
                        "child processes on this machine (default ECOSTAT_WORKERS, else ECOSTAT_CHECK_PROCESSES: "
                        "2, or 1 on a one-core machine); with ECOSTAT_DASK_ADDRESS, on that Dask scheduler's "
                        "workers (--workers 1 keeps them local)")
    p = command(sub, "rebuild", "recreate a warehouse from the archive alone, replaying in received order",
                "ecostat rebuild --raw raw --to /tmp/rebuilt.duckdb", cmd_rebuild)
    raw_option(p)
    warehouse_option(p)
    p.add_argument("--to", type=Path, required=True, metavar="NEW_FILE",
                   help="the new warehouse file (must not exist, and may not be the live --warehouse)")
    p.add_argument("--lake", type=Path, metavar="DIR",
                   help="start from this Parquet lake, then replay only the archive's receipts it does not hold")
    p = command(sub, "export", "write the warehouse's record as a Parquet lake into a new folder",
                "ecostat export --to /srv/share/ecostat-lake", cmd_export)
    warehouse_option(p)
    p.add_argument("--to", type=Path, required=True, metavar="DIR", help="a folder that does not exist (or is empty)")
    p = command(sub, "upgrade", "carry the warehouse forward to this code's schema version (what the next run does "
                "first), and journal its receipts' verdicts into the archive",
                "ecostat upgrade --raw /srv/ecostat/raw --warehouse /srv/ecostat/warehouse/ecostat.duckdb", cmd_upgrade)
    raw_option(p)
    warehouse_option(p)
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="if an ingest holds the warehouse, wait this long for it (default: exit 3 at once)")


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse type)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: at least 1")
    return value


def run_ingest(raw: Path, warehouse: Path, *, prefect: bool, wait: float = 0.0, workers: int | None = None) -> int:
    """One ingest run (the flow, or its steps without Prefect); prints the summary."""
    environment.apply()
    if prefect:
        return _run_ingest(raw, warehouse, prefect=True, wait=wait, workers=workers)
    from ecostat.run import checkserver

    checkserver.start_early()  # the checking children's imports, beside this process's own
    try:
        return _run_ingest(raw, warehouse, prefect=False, wait=wait, workers=workers)
    finally:
        checkserver.discard()  # one left by a run that checked nothing (a run that checked stopped it)


def _run_ingest(raw: Path, warehouse: Path, *, prefect: bool, wait: float, workers: int | None) -> int:
    from ecostat.contract.operator_settings import load_settings

    load_settings(raw)  # a settings error stops here, with its key and file named
    if not (raw / "inbox").is_dir():
        raise Usage(f"no inbox at {raw / 'inbox'}: create {raw / 'inbox'}/<unit code>/ for the units' files "
                    "(to try ecostat on the shipped samples: ecostat demo) / 收件目录不存在")
    if prefect:
        from ecostat.run.tempserver import guard_temporary_server
        from flows.ingest import ingest  # imports Prefect: only after the settings

        guard_temporary_server()  # a temporary Prefect server dies with this process, even on kill -9
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
        raise Usage("--workers needs the Prefect flow: leave out --no-prefect, or set ECOSTAT_CHECK_PROCESSES for "
                    "a run without Prefect / 并行检查需要 Prefect 流程，请去掉 --no-prefect"
                    "（或设置 ECOSTAT_CHECK_PROCESSES）")
    return run_ingest(args.raw.resolve(), args.warehouse.resolve(), prefect=not args.no_prefect, wait=args.wait,
                       workers=args.workers)


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Replay the archive into a new warehouse file."""
    from ecostat.common.progress import FileProgress
    from ecostat.contract.version import CONTRACT_VERSION
    from ecostat.intake import verdicts
    from ecostat.run.pending import pending, replay
    from ecostat.run.receipt import attempts_path
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
