"""The ingest flow as a real deployment: a PostgreSQL cluster of its own (Debian's PostgreSQL 15), a
Prefect server on it, `ecostat deploy` registering the deployment with its cron schedule on a process
work pool, and `prefect worker start --pool …` running it on the shipped samples."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from ecostat.store.lake import lake_dir
from tests.conftest import prefect_env, stop_group, wait_healthy
from tests.programs import PG_BIN, postgres_or_skip
from tests.webhook import closed_port

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent
SCHEDULE = "0 3 1 1 *"  # far from now: no scheduled run races the triggered one
POOL = "ecostat-test"


@dataclass
class Stack:
    """A running PostgreSQL, Prefect server and worker, and the deployment's folders."""

    api: str
    pg_port: int
    raw: Path
    warehouse: Path
    deploy_output: str


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its server tools as the ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _psql(port: int, sql: str, **variables: str) -> str:
    """One query through psql (variables bound by psql as :'name'), its rows as text."""
    args = [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "prefect", "-d", "prefect", "-tA",
            "-v", "ON_ERROR_STOP=1", *(a for k, v in variables.items() for a in ("-v", f"{k}={v}"))]
    return subprocess.run(args, input=sql, capture_output=True, text=True, check=True, timeout=30).stdout.strip()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """PostgreSQL in a temporary folder on a free port, a Prefect server on it, the deployment and a
    worker; all stopped at the end whatever happens."""
    postgres_or_skip()
    tmp = tmp_path_factory.mktemp("deploy")
    pg_dir = Path(tempfile.mkdtemp(prefix="ecostat-pg-"))  # outside pytest's 0700 folders: postgres reads it
    if os.geteuid() == 0:
        shutil.chown(pg_dir, "postgres", "postgres")
    pg_port, api_port = closed_port(), closed_port()
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(pg_dir / "data"), "-U", "prefect",
                                     "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]),
                       check=True, capture_output=True, timeout=120)
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pg_dir / "data"), "-l", str(pg_dir / "log"),
                                     "-w", "-t", "60", "-o", f"-p {pg_port} -k {pg_dir} -F "
                                     "-c listen_addresses=127.0.0.1", "start"]), check=True, capture_output=True,
                       timeout=90)
        subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "prefect",
                        "prefect"], check=True, capture_output=True, timeout=30)
        api = f"http://127.0.0.1:{api_port}/api"
        database = f"postgresql+asyncpg://prefect@127.0.0.1:{pg_port}/prefect"

        def start(name: str, argv: list[str], **env: str) -> subprocess.Popen[bytes]:
            log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed below
            logs.append(log)
            proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    env=prefect_env(tmp / name, **env), start_new_session=True)
            procs.append(proc)
            return proc

        server = start("server", ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(api_port)],
                       PREFECT_API_DATABASE_CONNECTION_URL=database)
        wait_healthy(api, server, 180)
        raw, warehouse = tmp / "raw", tmp / "warehouse" / "ecostat.duckdb"
        deployed = subprocess.run([sys.executable, "-m", "ecostat.cli", "deploy", "--pool", POOL, "--cron", SCHEDULE,
                                   "--raw", str(raw), "--warehouse", str(warehouse)], cwd=ROOT, capture_output=True,
                                  text=True, timeout=180, env=prefect_env(tmp / "deploy", PREFECT_API_URL=api))
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        start("worker", ["prefect", "worker", "start", "--pool", POOL], PREFECT_API_URL=api,
              PREFECT_WORKER_QUERY_SECONDS="2")
        yield Stack(api, pg_port, raw, warehouse, deployed.stdout)
    finally:
        for proc in reversed(procs):
            stop_group(proc)
        for log in logs:
            log.close()
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pg_dir / "data"), "-m", "fast", "-w",
                                     "stop"]), capture_output=True, timeout=60, check=False)
        shutil.rmtree(pg_dir, ignore_errors=True)


def _run_deployment(api: str) -> tuple[object, object]:
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(api=api) as client:
        deployment = client.read_deployment_by_name("ingest/ecostat-ingest")
        run = client.create_flow_run_from_deployment(deployment.id)
        deadline = time.monotonic() + 300
        while run.state is None or not run.state.is_final():
            assert time.monotonic() < deadline, f"flow run not finished within 300 s: {run.state}"
            time.sleep(2)
            run = client.read_flow_run(run.id)
    return deployment, run


def test_a_worker_runs_the_deployment_from_a_postgres_backed_server(stack: Stack):
    shutil.copytree(ROOT / "raw" / "samples", stack.raw / "inbox")
    deployment, run = _run_deployment(stack.api)
    assert run.state.is_completed(), run.state  # type: ignore[attr-defined]
    assert deployment.work_pool_name == POOL  # type: ignore[attr-defined]
    assert [s.schedule.cron for s in deployment.schedules] == [SCHEDULE]  # type: ignore[attr-defined]
    assert f"prefect worker start --pool {POOL}" in stack.deploy_output
    # the server keeps its state in PostgreSQL, with the retention of prefect.toml in effect
    run_id = str(run.id)  # type: ignore[attr-defined]
    assert _psql(stack.pg_port, "SELECT state_type FROM flow_run WHERE id = :'id'", id=run_id) == "COMPLETED"
    with urllib.request.urlopen(f"{stack.api}/admin/settings", timeout=10) as resp:
        vacuum = json.load(resp)["server"]["services"]["db_vacuum"]
    assert set(vacuum["enabled"]) >= {"events", "flow_runs"} and vacuum["retention_period"] == "P90D"
    # the run loaded the samples: the 2024 city figures of contract §6, in the warehouse and in the lake
    figures = ("SELECT figure, dimension, value FROM {} WHERE year = 2024 AND scope = '360100' AND figure IN "
               "('outfall.required', 'petition.assigned', 'air.pm25_mean') ORDER BY figure, dimension")
    with duckdb.connect(str(stack.warehouse), read_only=True) as con:
        served = con.execute(figures.format("annual_figures")).fetchall()
        from_lake = con.execute(figures.format("read_parquet(?, hive_partitioning = true)"),
                                [str(lake_dir(stack.warehouse) / "annual_figures" / "**" / "*.parquet")]).fetchall()
    assert served == from_lake == [("air.pm25_mean", None, 32.0), ("outfall.required", None, 1072.0),
                                   ("petition.assigned", "central_r3b2", 791.0),
                                   ("petition.assigned", "historic", 3329.0)]


def test_the_portal_starts_its_runs_on_the_deployment_when_one_is_configured(stack: Stack, tmp_path):
    """The portal's background run (``python -m ecostat.portal.runner``) with ``ECOSTAT_DEPLOYMENT`` set: a flow
    run of the deployment, done by the worker, loads the new file; no plain run in the portal's process."""
    with duckdb.connect(str(stack.warehouse), read_only=True) as con:
        before = con.execute("SELECT count(*) FROM submission_log").fetchone()
    extra = stack.raw / "inbox" / "360102" / "补报.csv"
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text("区县代码,报告期,所属水体,需整治排口数,已完成整治数\n360102,2025,赣江,70,66\n", encoding="utf-8")
    env = prefect_env(tmp_path / "prefect", PREFECT_API_URL=stack.api, ECOSTAT_DEPLOYMENT="ingest/ecostat-ingest")
    done = subprocess.run([sys.executable, "-m", "ecostat.portal.runner", str(stack.raw), str(stack.warehouse)],
                          env=env, capture_output=True, text=True, timeout=400, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _psql(stack.pg_port, "SELECT count(*) FROM flow_run WHERE state_type = 'COMPLETED'") == "2"
    with duckdb.connect(str(stack.warehouse), read_only=True) as con:
        after = con.execute("SELECT count(*) FROM submission_log").fetchone()
        loaded = con.execute("SELECT status FROM submission_log WHERE file = '360102/补报.csv'").fetchall()
    assert after[0] == before[0] + 1 and loaded == [("accepted",)]  # type: ignore[index]
