"""Group commit (``ecostat.run.groups``): files applied in groups, one transaction per group, with the same
outcome as one transaction per file; kill -9 inside a group leaves the warehouse before or after the whole
group, sends no alert twice and loses no feedback; a group that fails is applied again one file per
transaction, from each file's check as made."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from ecostat.intake import archive
from ecostat.run import groups
from ecostat.run import ingest as steps
from ecostat.store.writer import work_path
from tests.conftest import write_csv
from tests.forms_data import header, row
from tests.test_alerts import alerts_section, configure
from tests.test_safety import cli, state
from tests.webhook import webhook

FORM = "outfall_remediation"
# in receipt order: a2 falls below a1 (a warning), a3 below a2 (an error), a4 another year, a5 a bad cell
FILES = {"a1.csv": row(FORM, period="2023", required=10, completed=8),
         "a2.csv": row(FORM, period="2024", required=9, completed=8),
         "a3.csv": row(FORM, period="2025", required=9, completed=5),
         "a4.csv": row(FORM, period="2022", required=10, completed=7),
         "a5.csv": row(FORM, period="2021", completed=99)}


def submit(raw: Path) -> None:
    """The five files in the inbox of 360102, received in the order of their names."""
    for i, (name, values) in enumerate(FILES.items()):
        path = raw / "inbox" / "360102" / name
        write_csv(path, [header(FORM), values])
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))


def issues(db: Path) -> list[tuple[str, str]]:
    """Every finding's file and rule, in order."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT file, rule_id FROM validation_issues ORDER BY ALL").fetchall()


def processed(db: Path) -> list[str]:
    """The files a warehouse (or working copy) has processed."""
    with duckdb.connect(str(db), read_only=True) as con:
        return [f for (f,) in con.execute("SELECT file FROM meta_received_files ORDER BY file").fetchall()]


@pytest.fixture(scope="module")
def one_by_one(tmp_path_factory):
    """The five files, each committed alone: what every grouping must give."""
    raw = tmp_path_factory.mktemp("alone") / "raw"
    submit(raw)
    db = raw.parent / "w.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("ECOSTAT_GROUP_FILES", "1")
    try:
        summary = steps.run_plain(raw, db)
    finally:
        mp.undo()
    assert summary.transactions == 5
    assert [t.status for t in summary.tables] == ["accepted", "accepted", "rejected", "accepted", "rejected"]
    found = issues(db)
    assert ("360102/a2.csv", "PERIOD_FALL_WARNING") in found and ("360102/a3.csv", "PERIOD_FALL") in found
    return {**state(db), "issues": found}


def test_one_group_gives_what_one_transaction_per_file_gives(tmp_path, monkeypatch, one_by_one):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    submit(raw)
    monkeypatch.setenv("ECOSTAT_GROUP_SECONDS", "600")
    summary = steps.run_plain(raw, db)
    assert summary.transactions == 1  # the cross-period rules saw the group's earlier files
    assert {**state(db), "issues": issues(db)} == one_by_one
    assert "committed in 1 transaction" in summary.text()


def test_kill_9_inside_a_group_then_rerun_sends_each_alert_once_and_loses_no_feedback(tmp_path, one_by_one):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    submit(raw)
    with webhook() as hook:
        mp = pytest.MonkeyPatch()
        try:
            configure(tmp_path, mp, alerts_section(hook.url("operator")))
            env = {**os.environ, "ECOSTAT_GROUP_FILES": "2", "ECOSTAT_GROUP_SECONDS": "600"}
        finally:
            mp.undo()
        args = ["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(db)]
        killed = cli(*args, fault="in_group:a4.csv", env=env)  # a4 applied, its group [a3, a4] not committed
        assert killed.returncode == -9, killed.stderr[-2000:]
        assert [r.file for r in archive.receipts(raw / "archive")] == [f"360102/{n}" for n in FILES]
        assert not db.exists()  # nothing published
        assert processed(work_path(db)) == ["360102/a1.csv", "360102/a2.csv"]  # group 1 committed, group 2 not
        assert hook.received == []
        rerun = cli(*args, env=env)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert "committed in 3 transactions" in rerun.stdout  # a3 and a4, on which a run died, alone; then a5
        assert sorted(n for _, body in hook.received for n in FILES if n in body["title"]) == [
            "a3.csv", "a5.csv"]  # each rejected file's alert once
    assert {**state(db), "issues": issues(db)} == one_by_one  # every feedback file there


def test_a_group_that_fails_is_applied_one_file_per_transaction_from_the_checks_as_made(tmp_path, monkeypatch,
                                                                                       one_by_one):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    submit(raw)
    monkeypatch.setenv("ECOSTAT_GROUP_SECONDS", "600")
    applied = groups.apply_receipt

    def failing_at_a3(run, work, check):  # an error of ecostat's own, met by one file
        if work.rec.file.endswith("a3.csv"):
            raise RuntimeError("a fault met by a3")
        return applied(run, work, check)

    monkeypatch.setattr(groups, "apply_receipt", failing_at_a3)
    with pytest.raises(RuntimeError, match="a fault met by a3"):
        steps.run_plain(raw, db)
    work = work_path(db)
    assert processed(work) == ["360102/a1.csv", "360102/a2.csv"]  # committed alone once their group failed
    assert issues(work) == [i for i in one_by_one["issues"] if i[0] in {"360102/a1.csv", "360102/a2.csv"}]
    monkeypatch.setattr(groups, "apply_receipt", applied)
    assert steps.run_plain(raw, db).files == 3
    assert {**state(db), "issues": issues(db)} == one_by_one
