"""The ingest flow as a Prefect deployment on a work pool: a Prefect server (backed by PostgreSQL in
production), a work pool of type ``process``, and ``prefect worker start --pool …`` on a machine
that has the project and its ``raw/`` and ``warehouse/`` folders. ``ecostat serve`` remains the
one-machine way (one process that both schedules and runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from uuid import UUID

from ecostat.common import environment

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = "flows/ingest.py:ingest"


def ensure_pool(name: str) -> bool:
    """Create the ``process`` work pool ``name`` unless it exists; True if it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=name, type="process", base_job_template=ProcessWorker.get_default_base_job_template(),
                description="ecostat: runs the ingest flow (one run at a time)"))
            return True
    if pool.type != "process":
        raise ValueError(f"work pool {name} is of type {pool.type}, not process")
    return False


def deploy(raw: Path, warehouse: Path, *, pool: str, name: str, cron: str) -> UUID:
    """Register the ingest flow as the deployment ``ingest/<name>`` on ``pool`` with a cron schedule.

    The flow's code is this project's checkout (the worker's runs start in it); the runs get the
    telemetry-off settings of :mod:`ecostat.common.environment`, and at most one runs at a time (a later one
    waits: the warehouse has one writer).
    """
    from prefect.flows import Flow

    ensure_pool(pool)
    flow = cast(Flow[..., Any], Flow.from_source(source=str(ROOT), entrypoint=ENTRYPOINT))  # sync here
    return cast(UUID, flow.deploy(
        name=name, work_pool_name=pool, cron=cron, build=False, push=False, concurrency_limit=1,
        parameters={"raw": str(raw), "warehouse": str(warehouse)},
        job_variables={"env": dict(environment.DEFAULTS)}, print_next_steps=False))


def run_and_wait(name: str, timeout: float, api: str | None = None) -> str:
    """Start a flow run of the deployment ``name`` (``ingest/<deployment>``) on the Prefect server (``api``, else
    ``PREFECT_API_URL``) and wait up to ``timeout`` seconds for a worker to finish it; its final state's name
    (``Completed``, ``Failed`` …), or the state it was in when the time ran out."""
    import time

    from prefect.client.orchestration import SyncPrefectClient, get_client

    with (SyncPrefectClient(api=api) if api else get_client(sync_client=True)) as client:
        deployment = client.read_deployment_by_name(name)
        run = client.create_flow_run_from_deployment(deployment.id)
        deadline = time.monotonic() + timeout
        while (run.state is None or not run.state.is_final()) and time.monotonic() < deadline:
            time.sleep(2)
            run = client.read_flow_run(run.id)
    return str(run.state.name) if run.state else "Scheduled"
