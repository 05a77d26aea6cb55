"""`ecostat serve` against a real `prefect server start` on 127.0.0.1: the deployment and its cron schedule
exist, and a run triggered after a bad file is dropped rejects it, alerts a local webhook and leaves its
Markdown summary as an artifact."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import prefect_env as _env
from tests.conftest import stop_group as _stop
from tests.conftest import write_csv
from tests.forms_data import header, row
from tests.webhook import webhook

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent
SCHEDULE = "0 3 1 1 *"  # far from now, so that no scheduled run races the triggered one


async def _deployment_and_run(url: str, bad_file: Path, rows: list[list[object]]) -> tuple[object, object, list]:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with PrefectClient(api=url) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                deployment = await client.read_deployment_by_name("ingest/ecostat-ingest")
                break
            except Exception:
                assert time.monotonic() < deadline, "deployment not registered within 60 s"
                await asyncio.sleep(0.5)
        write_csv(bad_file, rows)
        run = await client.create_flow_run_from_deployment(deployment.id)
        deadline = time.monotonic() + 150
        while True:
            run = await client.read_flow_run(run.id)
            if run.state is not None and run.state.is_final():
                break
            assert time.monotonic() < deadline, f"run not finished within 150 s: {run.state}"
            await asyncio.sleep(1)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
        return deployment, run, artifacts


def test_served_deployment_runs_on_demand_and_reports(prefect_server: str, tmp_path: Path):
    server = prefect_server
    raw, db = tmp_path / "raw", tmp_path / "warehouse" / "ecostat.duckdb"
    (raw / "inbox").mkdir(parents=True)
    with webhook() as hook:
        env = _env(tmp_path / "prefect", PREFECT_API_URL=server, ECOSTAT_ALERT_URLS=hook.url("ops"),
                   ECOSTAT_SCHEDULE=SCHEDULE)
        log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
        serve = subprocess.Popen([sys.executable, "-m", "ecostat.cli", "serve", "--raw", str(raw),
                                  "--warehouse", str(db)], cwd=ROOT, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        try:
            bad = [header("outfall_remediation"), row("outfall_remediation", unit="360121", completed=99)]
            deployment, run, artifacts = asyncio.run(
                _deployment_and_run(server, raw / "inbox" / "360121" / "排污口_有误.csv", bad))
        finally:
            _stop(serve)
            log.close()
        served = (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
        assert [s.schedule.cron for s in deployment.schedules] == [SCHEDULE], served  # type: ignore[attr-defined]
        assert run.state.is_completed(), (run.state, served)  # type: ignore[attr-defined]
        assert [p for p, _ in hook.received] == ["/ops"]
        assert "南昌县（360121）" in hook.received[0][1]["message"]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT file, status FROM submission_log").fetchall() == [
            ("360121/排污口_有误.csv", "rejected")]
        assert con.execute("SELECT kind, status FROM alerts").fetchall() == [("rejected", "pending")]
    delivered = [json.loads(line) for line in db.with_name(db.name + ".deliveries.jsonl").read_text().splitlines()]
    assert [d["delivered"] for d in delivered] == [True]  # after publishing; the next run records it in alerts
    feedback = raw / "outbox" / "360121" / "排污口_有误.csv.feedback.xlsx"
    assert feedback.is_file() and not (raw / "inbox" / "360121" / "排污口_有误.csv").exists()
    summary = next(a for a in artifacts if a.key == "ingest-summary")  # type: ignore[attr-defined]
    assert "| 退回表 tables rejected | 1 |" in summary.data
    findings = next(a for a in artifacts if a.key == "ingest-findings")  # type: ignore[attr-defined]
    assert [(r["file"], r["severity"], r["message_zh"]) for r in json.loads(findings.data)] == [
        ("360121/排污口_有误.csv", "error", "已完成整治数(99)大于需整治排口数(10)")]
