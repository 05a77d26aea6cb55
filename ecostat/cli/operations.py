"""Commands that run ecostat unattended and watch it, for its operator: ``audit`` (a year's Great Expectations
audit, alerting on failure), ``serve`` and ``deploy`` (the scheduled ingest on a Prefect server)."""

from __future__ import annotations

import argparse

from ecostat.cli.shared import Subparsers, Usage, command, existing, raw_option, warehouse_option
from ecostat.common import environment


def register(sub: Subparsers) -> None:
    """Add audit, serve and deploy."""
    p = command(sub, "audit", "Great Expectations audit of a year; Data Docs beside the warehouse",
                "ecostat audit --year 2024", cmd_audit)
    raw_option(p)
    warehouse_option(p)
    p.add_argument("--year", type=int, required=True)
    p = command(sub, "serve", "serve the ingest flow as a scheduled deployment (needs PREFECT_API_URL)",
                "PREFECT_API_URL=http://127.0.0.1:4200/api ecostat serve --cron '0 * * * *'", cmd_serve)
    raw_option(p)
    warehouse_option(p)
    p.add_argument("--cron", help="the schedule (default: ECOSTAT_SCHEDULE, the settings file, or */30 * * * *)")
    p.add_argument("--name", default="ecostat-ingest", help="the deployment's name (default ecostat-ingest)")
    p = command(sub, "deploy", "register the ingest deployment on a process work pool (needs PREFECT_API_URL)",
                "PREFECT_API_URL=http://127.0.0.1:4200/api ecostat deploy --pool ecostat   "
                "(then: prefect worker start --pool ecostat)", cmd_deploy)
    raw_option(p)
    warehouse_option(p)
    p.add_argument("--pool", default="ecostat", help="the work pool, created as type process if missing")
    p.add_argument("--cron", help="the schedule (default: ECOSTAT_SCHEDULE, the settings file, or */30 * * * *)")
    p.add_argument("--name", default="ecostat-ingest", help="the deployment's name (default ecostat-ingest)")


def cmd_audit(args: argparse.Namespace) -> int:
    """Audit a year, store the results, build Data Docs, alert a failure; 1 when an error-level check failed."""
    environment.apply()
    from ecostat.contract.operator_settings import load_settings
    from ecostat.notify.audit import audit_and_alert, docs_dir
    from ecostat.notify.audit_journal import audit_lock
    from ecostat.notify.delivery import deliver_pending
    from ecostat.store.warehouse import connect
    from ecostat.store.writer import WarehouseBusy, writing

    options = load_settings(args.raw)
    warehouse = existing(args.warehouse).resolve()
    with audit_lock(warehouse) as mine:  # an ingest run's audit writes the same Data Docs
        if not mine:
            raise WarehouseBusy("another audit of this warehouse is running")
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
