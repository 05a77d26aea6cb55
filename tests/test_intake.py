"""Hostile inbox entries and names: nothing outside the inbox is ever read, no name stops a run, nothing
that is not a plain file is read, uploads in progress are left alone, the outbox cannot be redirected."""

from __future__ import annotations

import csv
import io
import logging
import os
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ecostat.intake import archive
from ecostat.intake import inbox as intake
from ecostat.run import ingest as steps
from tests.conftest import write_csv, write_xlsx
from tests.forms_data import header, row

OUTFALL = header("outfall_remediation")


def csv_bytes(*rows: list[object]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def archived(raw: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (raw / "archive" / "objects").rglob("*") if p.is_file())


def test_a_file_swapped_for_a_link_between_listing_and_reading_is_never_followed(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    secret = tmp_path / "secret.csv"
    secret.write_bytes(csv_bytes(OUTFALL, row("outfall_remediation", unit="360104", required=77)))
    inbox = raw / "inbox" / "360104"
    for i in range(3):
        write_csv(inbox / f"{i}.csv", [OUTFALL, row("outfall_remediation", unit="360104", period=f"202{2 + i}")])
    write_csv(inbox / "zz.csv", [OUTFALL, row("outfall_remediation", unit="360104")])

    def swap(item: intake.InboxFile) -> None:  # the attacker's `mv -T link zz.csv`, at the worst moment
        if item.file.endswith("zz.csv"):
            (inbox / "link").symlink_to(secret)
            os.replace(inbox / "link", inbox / "zz.csv")

    monkeypatch.setattr(intake, "before_read", swap)
    summary = steps.run_plain(raw, db)
    by_file = {t.file: t for t in summary.tables}
    assert by_file["360104/zz.csv"].findings[0].rule_id == "FILE_SYMLINK"
    assert [by_file[f"360104/{i}.csv"].status for i in range(3)] == ["accepted"] * 3
    assert secret.read_bytes() not in archived(raw)
    feedback = openpyxl.load_workbook(raw / "outbox" / "360104" / "zz.csv.feedback.xlsx")
    assert "77" not in repr([[c.value for c in r] for ws in feedback.worksheets for r in ws.iter_rows()])


def test_a_unit_folder_swapped_for_a_link_is_not_entered(tmp_path, monkeypatch, caplog):
    raw = tmp_path / "raw"
    outside = tmp_path / "outside"
    write_csv(outside / "a.csv", [OUTFALL, row("outfall_remediation")])
    write_csv(raw / "inbox" / "360102" / "a.csv", [OUTFALL, row("outfall_remediation")])

    def swap(item: intake.InboxFile) -> None:
        os.rename(raw / "inbox" / "360102", tmp_path / "moved")
        (raw / "inbox" / "360102").symlink_to(outside, target_is_directory=True)

    monkeypatch.setattr(intake, "before_read", swap)
    assert intake.receive_inbox(raw) == 0
    assert "changed during intake" in caplog.text and (outside / "a.csv").exists()
    assert archive.receipts(raw / "archive") == []


def test_gbk_undecodable_control_and_overlong_names_never_stop_a_run(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    inbox = os.fsencode(raw / "inbox" / "360102")
    os.makedirs(inbox)
    good = csv_bytes(OUTFALL, row("outfall_remediation"))
    names = {"东湖区2024年报.csv".encode("gbk"): "东湖区2024年报.csv",  # a zip made on Chinese Windows
             b"bad\xff.csv": "bad\\xff.csv",
             "x\n伪造\x1b[2J.csv".encode(): "x\\n伪造\\x1b[2J.csv",
             ("长" * 80 + ".csv").encode(): None}  # 244 bytes
    for i, name in enumerate(names):
        with open(os.path.join(inbox, name), "wb") as fh:
            fh.write(good.replace(b",2024,", f",{2020 + i},".encode()))
    summary = steps.run_plain(raw, db)
    shown = {t.file.split("/", 1)[1]: t for t in summary.tables}
    assert len(shown) == 4 and all(t.status == "accepted" for t in shown.values())
    long = next(n for n in shown if n.startswith("长"))
    assert len(long.encode()) <= 200 and long.endswith(".csv")
    for raw_name, name in names.items():
        name = name or long
        warned = [f.rule_id for f in shown[name].findings]
        assert warned == ([] if name == "东湖区2024年报.csv" else ["FILE_NAME_ESCAPED"]), name
        receipt = next(r for r in archive.receipts(raw / "archive") if r.file == f"360102/{name}")
        assert bytes.fromhex(receipt.name_bytes or "") == b"360102/" + raw_name
        assert (raw / "outbox" / "360102" / f"{name}.feedback.xlsx").is_file()
    assert "\n  " not in summary.text().split("\n", 2)[2]  # no forged summary line
    assert os.listdir(inbox) == []


def test_fifos_hard_links_and_oversized_files_are_quarantined_unread(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    inbox = raw / "inbox" / "360102"
    outside = tmp_path / "outside.csv"
    outside.write_bytes(csv_bytes(OUTFALL, row("outfall_remediation", required=55, completed=54321)))
    inbox.mkdir(parents=True)
    os.mkfifo(inbox / "pipe.csv")
    os.link(outside, inbox / "linked.csv")
    (inbox / "big.csv").write_bytes(csv_bytes(OUTFALL, row("outfall_remediation")) + b"#" * 300_000)
    write_csv(inbox / "ok.csv", [OUTFALL, row("outfall_remediation", period="2023")])
    monkeypatch.setenv("ECOSTAT_MAX_FILE_MB", "0.2")
    summary = steps.run_plain(raw, db)  # a FIFO never blocks the run
    rules = {t.file: (t.status, [f.rule_id for f in t.findings]) for t in summary.tables}
    assert rules == {"360102/pipe.csv": ("rejected", ["FILE_NOT_REGULAR"]),
                     "360102/linked.csv": ("rejected", ["FILE_HARDLINK"]),
                     "360102/big.csv": ("rejected", ["FILE_TOO_LARGE"]),
                     "360102/ok.csv": ("accepted", [])}
    assert b"54321" not in archived(raw) and b"#" * 1000 not in archived(raw)
    kept = sorted(p.name for p in (raw / "quarantine").rglob("*") if not p.is_dir())
    assert kept == ["big.csv", "linked.csv", "pipe.csv"] and os.listdir(inbox) == []
    assert outside.read_bytes().count(b"54321") == 1  # the linked file itself is untouched


def test_uploads_in_progress_are_left_and_a_file_changing_while_read_waits(tmp_path, monkeypatch, caplog):
    raw = tmp_path / "raw"
    inbox = raw / "inbox" / "360102"
    temps = [".东湖.csv.Ab12Cd", "a.csv.filepart", "a.xlsx.part", "~$a.xlsx", ".~lock.a.xlsx#", "b.csv.crdownload"]
    for name in temps:
        write_csv(inbox / name, [OUTFALL])
    write_csv(inbox / "growing.csv", [OUTFALL, row("outfall_remediation")])
    real = archive.store_stream

    def still_uploading(archive_dir, src, limit):  # the uploader appends while ecostat reads
        out = real(archive_dir, src, limit)
        with open(inbox / "growing.csv", "a") as fh:
            fh.write("more\n")
        return out

    monkeypatch.setattr(archive, "store_stream", still_uploading)
    assert intake.receive_inbox(raw) == 0
    assert "growing.csv changed during intake" in caplog.text
    assert sorted(os.listdir(inbox)) == sorted([*temps, "growing.csv"])
    monkeypatch.setattr(archive, "store_stream", real)
    assert intake.receive_inbox(raw) == 1  # the next run takes it


def test_a_vanished_file_is_skipped(tmp_path, monkeypatch, caplog):
    raw = tmp_path / "raw"
    write_csv(raw / "inbox" / "360102" / "a.csv", [OUTFALL, row("outfall_remediation")])
    monkeypatch.setattr(intake, "before_read", lambda item: os.unlink(raw / "inbox" / item.file))
    assert intake.receive_inbox(raw) == 0 and "vanished" in caplog.text


def test_feedback_never_follows_a_link_in_the_outbox(tmp_path, caplog):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (raw / "outbox" / "360103").mkdir(parents=True)
    (raw / "outbox" / "360102").symlink_to(elsewhere, target_is_directory=True)
    (raw / "outbox" / "360103" / "b.csv.feedback.md").symlink_to(victim)
    write_csv(raw / "inbox" / "360102" / "a.csv", [OUTFALL, row("outfall_remediation")])
    write_csv(raw / "inbox" / "360103" / "b.csv", [OUTFALL, row("outfall_remediation", unit="360103")])
    summary = steps.run_plain(raw, db)
    assert summary.count("accepted") == 2
    assert list(elsewhere.iterdir()) == [] and "feedback for 360102/a.csv not written" in caplog.text
    assert victim.read_text() == "keep me"  # the link was replaced, its target never written
    assert not (raw / "outbox" / "360103" / "b.csv.feedback.md").is_symlink()


def test_a_quote_in_a_sheet_name_keeps_the_feedback_link_working(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_xlsx(raw / "inbox" / "360102" / "a.xlsx",
               {"x'y": [OUTFALL, row("outfall_remediation", completed=99)]})
    steps.run_plain(raw, db)
    wb = openpyxl.load_workbook(raw / "outbox" / "360102" / "a.xlsx.feedback.xlsx")
    links = [c.hyperlink.location for r in wb["反馈 Feedback"].iter_rows() for c in r if c.hyperlink]
    assert links and all(loc.startswith("'x''y'!") for loc in links)


def test_query_has_a_timeout_a_row_cap_and_clean_errors(tmp_path, capsys):
    from ecostat.cli import main

    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "a.csv", [OUTFALL, row("outfall_remediation")])
    steps.run_plain(raw, db)
    wh = ["--warehouse", str(db)]
    capsys.readouterr()
    assert main(["query", "SELECT count(*) FROM range(1000000000000)", "--timeout", "1", *wh]) == 1
    assert "query stopped after 1 s" in capsys.readouterr().err
    assert main(["query", "SELEC 1", *wh]) == 1
    err = capsys.readouterr().err
    assert "query failed" in err and "Traceback" not in err
    assert main(["query", "SELECT * FROM range(5000)", "--limit", "10", *wh]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 11 and "first 10 rows" in captured.err
    assert main(["query", "SELECT * FROM range(5000)", "--format", "csv", *wh]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 5001
    assert main(["query", "SELECT list(range) FROM range(30000000)", "--memory", "50MB", *wh]) == 1
    assert "memory" in capsys.readouterr().err.lower()


def test_escape_sequences_from_cells_never_reach_the_terminal(tmp_path, capsys):
    from ecostat.cli import main

    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    evil = "\x1b]0;pwned\x07\x1b[2J"
    path = write_csv(tmp_path / "v.csv", [OUTFALL, row("outfall_remediation", completed=evil)])
    assert main(["validate", str(path), "--unit", "360102", "--warehouse", str(db)]) == 1
    write_csv(raw / "inbox" / "360102" / "a.csv", [OUTFALL, row("outfall_remediation", completed=evil)])
    write_csv(raw / "inbox" / "360102" / f"b{evil}.csv", [OUTFALL, row("outfall_remediation", completed=99)])
    write_csv(raw / "inbox" / "360102" / "c.csv", [OUTFALL, row("outfall_remediation", period="2023"),
                                                   [f"填报人：{evil}王敏"]])  # a footer
    assert main(["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(db)]) == 0
    assert main(["query", "SELECT value, file FROM validation_issues", "--warehouse", str(db)]) == 0
    assert main(["history", "--unit", "东湖区", "--warehouse", str(db)]) == 0
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and "\x07" not in out.out + out.err
    assert "\\x1b]0;pwned\\x07" in out.out
    with duckdb.connect(str(db), read_only=True) as con:  # the data keeps what was written
        assert con.execute("SELECT value FROM validation_issues WHERE rule_id = 'CELL_NUMBER'").fetchone() == (evil,)


def test_a_file_put_back_with_its_old_times_is_received_again(tmp_path):
    """`cp -p` (WinSCP, unzip, rsync -t) keeps name, bytes and modification time: still a new drop."""
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    original = write_csv(tmp_path / "keep" / "a.csv", [OUTFALL, row("outfall_remediation", completed=99)])
    inbox = raw / "inbox" / "360102"
    inbox.mkdir(parents=True)
    for _ in range(2):
        shutil.copy2(original, inbox / "a.csv")
        assert [t.status for t in steps.run_plain(raw, db).tables] == ["rejected"]
    assert len(archive.receipts(raw / "archive")) == 2


def test_an_entry_that_cannot_leave_the_inbox_does_not_stop_the_run(tmp_path, monkeypatch, caplog):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "stuck.csv", [OUTFALL, row("outfall_remediation")])
    write_csv(raw / "inbox" / "360103" / "b.csv", [OUTFALL, row("outfall_remediation", unit="360103")])
    real = os.unlink

    def refused(path, *args, **kw):  # the file system refuses (an immutable file, a busy SMB share)
        if os.fsdecode(path).endswith("stuck.csv"):
            raise PermissionError(1, "Operation not permitted")
        return real(path, *args, **kw)

    monkeypatch.setattr(os, "unlink", refused)
    first = steps.run_plain(raw, db)
    second = steps.run_plain(raw, db)  # the stuck file is journaled once, processed once
    assert sorted(t.file for t in first.tables) == ["360102/stuck.csv", "360103/b.csv"] and second.tables == []
    assert "could not be taken out of the inbox" in caplog.text


def test_a_damaged_archive_object_holds_back_its_file_only(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "a.csv", [OUTFALL, row("outfall_remediation")])
    intake.receive_inbox(raw)
    (rec,) = archive.receipts(raw / "archive")
    obj = archive.object_path(raw / "archive", rec.sha256)
    obj.chmod(0o644)
    obj.write_bytes(b"not what was received")
    write_csv(raw / "inbox" / "360103" / "b.csv", [OUTFALL, row("outfall_remediation", unit="360103")])
    outcomes = {t.file: (t.status, [f.rule_id for f in t.findings]) for t in steps.run_plain(raw, db).tables}
    assert outcomes == {"360102/a.csv": ("rejected", ["FILE_CHECK_FAILED"]), "360103/b.csv": ("accepted", [])}


@pytest.mark.parametrize("journal", ["archive/manifest.jsonl", "archive/verdicts.jsonl", "w.duckdb.attempts.jsonl",
                                     "w.duckdb.deliveries.jsonl"])
def test_a_damaged_journal_line_is_set_aside_and_the_next_file_processed(tmp_path, journal, caplog):
    """Issue 17: one 0xFF byte in a journal stopped every later run (UnicodeDecodeError), and a file that
    had already left the inbox for the archive was never processed. Each line is now decoded alone."""
    raw, warehouse = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "first.csv", [OUTFALL, row("outfall_remediation", "360102", "2024")])
    steps.run_plain(raw, warehouse)
    path = (raw if journal.startswith("archive/") else tmp_path) / journal
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        fh.write(b'{"receipt_id": "\xff"}\n')
    write_csv(raw / "inbox" / "360103" / "second.csv", [OUTFALL, row("outfall_remediation", "360103", "2024")])
    with caplog.at_level(logging.WARNING, logger="ecostat.common.durable"):
        steps.run_plain(raw, warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT file, status FROM submission_log ORDER BY submission_id").fetchall() == [
            ("360102/first.csv", "accepted"), ("360103/second.csv", "accepted")]
    assert not list((raw / "inbox").rglob("*.csv"))
    damaged = path.with_name(path.name + ".damaged")
    assert damaged.read_bytes() == b'{"receipt_id": "\xff"}\n'  # kept once, however often it is read
    assert any("damaged line set aside" in r.getMessage() and path.name in r.getMessage() for r in caplog.records)


def test_arrival_is_when_ecostat_first_sees_a_file_and_units_take_turns(tmp_path):
    """Issue 17 / contract v3 §2: a unit's hundred files with back-dated modification times neither go
    before a file received earlier nor hold another unit's file back by more than one of theirs."""
    raw = tmp_path / "raw"
    write_csv(raw / "inbox" / "360103" / "early.csv", [OUTFALL, row("outfall_remediation", "360103", "2024")])
    assert intake.receive_inbox(raw) == 1
    flood = raw / "inbox" / "360102"
    for i in range(100):
        write_csv(flood / f"f{i:03d}.csv", [OUTFALL, row("outfall_remediation", "360102", "2024")])
        os.utime(flood / f"f{i:03d}.csv", (946684800 + i, 946684800 + i))  # 2000-01-01: "older than anything"
    write_csv(raw / "inbox" / "360104" / "b.csv", [OUTFALL, row("outfall_remediation", "360104", "2024")])
    write_csv(raw / "inbox" / "360104" / "a.csv", [OUTFALL, row("outfall_remediation", "360104", "2024")])
    os.utime(raw / "inbox" / "360104" / "a.csv", (946684900, 946684900))  # its own files: its own order
    assert intake.receive_inbox(raw) == 102
    order = [r.file for r in archive.receipts(raw / "archive")]
    assert order[:6] == ["360103/early.csv", "360102/f000.csv", "360104/a.csv", "360102/f001.csv", "360104/b.csv",
                         "360102/f002.csv"]
    assert order[6:] == [f"360102/f{i:03d}.csv" for i in range(3, 100)]
