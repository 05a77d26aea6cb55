"""Checks begun before the write lock (``ecostat.run.pending.check_ahead``): the run waits for the first group's
checks only, and the stage goes on checking while the writer applies; a receipt received after the listing is
checked too, and the check of a receipt another writer processed meanwhile is not applied."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ecostat.check.files import check_archived
from ecostat.contract.operator_settings import load_settings
from ecostat.intake import archive
from ecostat.intake.inbox import receive_inbox
from ecostat.run.pending import check_ahead, write_run
from ecostat.run.summary import new_run_id
from ecostat.store.loading import FileLog, GroupWrites
from ecostat.store.warehouse import connect, transaction
from tests.conftest import write_csv
from tests.forms_data import header, row
from tests.test_group_commit import FILES, FORM, submit


def recording(raw: Path):  # type: ignore[no-untyped-def]
    """A stage that checks here (as the sandbox's children do, :func:`check_archived`) and records each file
    whose check it has handed over, in order."""
    handed: list[str] = []

    def stage(receipts):  # type: ignore[no-untyped-def]
        for rec in receipts:
            check = check_archived(raw, rec)
            handed.append(rec.file)
            yield rec.receipt_id, check

    return stage, handed


def statuses(db: Path) -> list[tuple[str, str]]:
    """Each file's tables' statuses, by file."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT file, status FROM submission_log ORDER BY file").fetchall()


def begun(tmp_path: Path, group_files: int, monkeypatch):  # type: ignore[no-untyped-def]
    """The five files received, their checks begun with groups of ``group_files``: raw, the warehouse, the stage
    returned and the files it has checked so far."""
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    submit(raw)
    receive_inbox(raw)
    monkeypatch.setenv("ECOSTAT_GROUP_FILES", str(group_files))
    stage, handed = recording(raw)
    return raw, db, check_ahead(stage, raw, db), handed


def test_the_run_waits_for_the_first_group_and_the_stage_goes_on_under_the_lock(tmp_path, monkeypatch):
    raw, db, ahead, handed = begun(tmp_path, 2, monkeypatch)
    assert handed == ["360102/a1.csv", "360102/a2.csv"]  # the first group's, before the lock
    with connect(db, create=True) as con:
        summary = write_run(con, raw, db, new_run_id(), load_settings(raw), stage=ahead)
    assert handed == [f"360102/{name}" for name in FILES]  # each checked once, in order
    assert summary.transactions == 3
    assert statuses(db) == [("360102/a1.csv", "accepted"), ("360102/a2.csv", "accepted"),
                            ("360102/a3.csv", "rejected"), ("360102/a4.csv", "accepted"),
                            ("360102/a5.csv", "rejected")]


def test_receipts_processed_or_received_after_the_listing(tmp_path, monkeypatch):
    raw, db, ahead, handed = begun(tmp_path, 1, monkeypatch)
    assert handed == ["360102/a1.csv"]
    first = archive.receipts(raw / "archive")[0]
    with connect(db, create=True) as con, transaction(con):  # another writer processed a1 meanwhile
        GroupWrites([FileLog(first, "another-run")]).write(con)
    late = raw / "inbox" / "360102" / "a6.csv"  # and a file arrived after the listing
    write_csv(late, [header(FORM), row(FORM, period="2020", required=10, completed=6)])
    os.utime(late, (1_800_000_000, 1_800_000_000))
    receive_inbox(raw)
    with connect(db) as con:
        summary = write_run(con, raw, db, new_run_id(), load_settings(raw), stage=ahead)
    assert summary.files == 5
    assert handed == [f"360102/{name}" for name in (*FILES, "a6.csv")]  # a1's check made ahead, not applied
    assert [f for f, _ in statuses(db)] == [f"360102/a{i}.csv" for i in range(2, 7)]
