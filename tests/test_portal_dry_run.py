"""The portal's dry run ("upload and check") under the sandbox's hard limits, through its real pool of checking
processes (:func:`ecostat.portal.pool.checked`): an upload that needs too much memory, one that takes too long and
one that kills its checking process each get their one finding as a normal dry run, and the next upload is checked
as if nothing had happened (a broken pool would refuse every later upload until the portal restarts)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.hostile import far_cell_xls
from ecostat.portal import pool
from ecostat.portal.checking import DryRun
from ecostat.run.sandbox import GRACE_SECONDS
from ecostat.store.warehouse import connect
from tests.conftest import write_csv
from tests.forms_data import header, row

UNIT = "360102"


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set the ``ECOSTAT_*`` variables before the pool starts (its workers take them); the pool stopped after."""
    pool.stop()
    yield monkeypatch
    pool.stop()
    assert not [p for p in multiprocessing.active_children() if p.name == "ecostat-dry-run"]


def outfall(path: Path) -> Path:
    return write_csv(path, [header("outfall_remediation"), row("outfall_remediation", unit=UNIT, period="2024")])


def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    connect(path, create=True).close()
    return path


def check(*files: Path, warehouse: Path) -> list[DryRun]:
    """The files' dry runs, all at once (each in a checking process of the portal's pool)."""
    async def checks() -> list[DryRun]:
        return list(await asyncio.wait_for(asyncio.gather(
            *(pool.checked(f.read_bytes(), f.name, UNIT, warehouse) for f in files)), 120))

    return asyncio.run(checks())


def refused(result: DryRun) -> str:
    """The rule of a dry run's one finding about the whole file, its feedback workbook made all the same."""
    assert result.tables == [] and result.errors == 1 and result.file_finding is not None and result.cross_period
    assert result.feedback[:2] == b"PK"
    said = result.file_finding.message_zh + result.file_finding.message_en
    assert "存档" not in said and "archived" not in said  # a dry run keeps nothing
    found = result.as_json()["file_finding"]
    assert isinstance(found, dict) and found["file"] == result.file
    return str(found["rule_id"])


def passed(result: DryRun) -> bool:
    return result.file_finding is None and [t.status for t in result.tables] == ["passed"] and result.cross_period


def test_an_upload_over_the_memory_limit_gets_its_finding_and_the_next_upload_is_checked(limits, tmp_path):
    limits.setenv("ECOSTAT_CHECK_MEMORY_MB", "2000")  # a worker takes 1.7 GB of address space to check a csv
    limits.setenv("ECOSTAT_MAX_CELLS", str(10**12))  # lifted: xlrd allocates every row of every sheet
    limits.setenv("ECOSTAT_MAX_ROWS", str(10**9))
    far = far_cell_xls(tmp_path / "far.xls", sheets=8)  # 8 × 16.7 M cells: over 3 GB, and minutes, unlimited
    ok, wh = outfall(tmp_path / "ok.csv"), warehouse(tmp_path)
    (bomb,) = check(far, warehouse=wh)
    assert refused(bomb) == "FILE_MEMORY_LIMIT" and "2000.0 MB" in bomb.file_finding.message_en  # type: ignore
    after = check(ok, ok, warehouse=wh)
    assert all(passed(r) for r in after), [r.as_json() for r in after]  # both workers, the replaced one too


def test_an_upload_over_its_time_budget_gets_its_finding_in_its_budget_and_the_next_upload_is_checked(limits,
                                                                                                     tmp_path):
    budget = 2.0
    limits.setenv("ECOSTAT_FAULT", "stalling:slow.csv")  # the sandbox's hook: its check hangs, as a parser's loop
    limits.setenv("ECOSTAT_MAX_FILE_SECONDS", str(budget))
    slow, ok, wh = outfall(tmp_path / "slow.csv"), outfall(tmp_path / "ok.csv"), warehouse(tmp_path)
    assert all(passed(r) for r in check(ok, ok, warehouse=wh))  # the workers started
    began = time.monotonic()
    (stalled,) = check(slow, warehouse=wh)
    took = time.monotonic() - began
    assert refused(stalled) == "FILE_TIME_BUDGET" and f"{budget:g} s" in stalled.file_finding.message_en  # type: ignore
    assert budget < took < budget + GRACE_SECONDS + 3, f"the answer took {took:.1f} s"
    assert all(passed(r) for r in check(ok, ok, warehouse=wh))


def test_an_upload_that_kills_its_checking_process_is_held_and_the_other_uploads_go_on(limits, tmp_path):
    limits.setenv("ECOSTAT_FAULT", "checking:poison.csv")  # the sandbox's hook: SIGKILL mid-check, every time
    poison, ok, wh = outfall(tmp_path / "poison.csv"), outfall(tmp_path / "ok.csv"), warehouse(tmp_path)
    held, beside = check(poison, ok, warehouse=wh)  # at the same time, in the other worker
    assert refused(held) == "FILE_QUARANTINED" and passed(beside)
    assert all(passed(r) for r in check(ok, ok, warehouse=wh))
    workers = [p for p in multiprocessing.active_children() if p.name == "ecostat-dry-run"]
    assert workers
    for worker in workers:  # killed from outside while idle (the kernel's OOM killer, an operator)
        os.kill(worker.pid, signal.SIGKILL)  # type: ignore[arg-type]
        worker.join()
    assert all(passed(r) for r in check(ok, ok, ok, warehouse=wh))
