"""The feedback written by its own process (``ecostat.run.feedback_writer``) for a run of many files: the same
files as the writer writes itself, and written by the writer when the process is gone."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import openpyxl

from ecostat.publish.feedback import TableReport
from ecostat.run import feedback_writer
from ecostat.run import ingest as steps
from tests.conftest import write_csv
from tests.forms_data import header, row

FORM = "outfall_remediation"


def submit(raw: Path, n: int) -> None:
    """``n`` files of 360102, one year each, some with an error, received in the order of their names."""
    for i in range(n):
        path = raw / "inbox" / "360102" / f"f{i:02}.csv"
        write_csv(path, [header(FORM), row(FORM, period=str(2000 + i), required=10,
                                           completed=99 if i % 5 == 4 else 5 + i % 3)])
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))


def outbox(raw: Path) -> dict[str, object]:
    """Every feedback file: a summary's text, a workbook's cell values sheet by sheet."""
    out: dict[str, object] = {}
    for path in sorted((raw / "outbox").rglob("*.feedback.*")):
        name = str(path.relative_to(raw / "outbox"))
        if path.suffix == ".md":
            out[name] = path.read_text(encoding="utf-8")
        else:
            wb = openpyxl.load_workbook(path)
            out[name] = {ws.title: [[c.value for c in r] for r in ws.iter_rows()] for ws in wb.worksheets}
    return out


def test_the_process_writes_what_the_writer_writes(tmp_path, monkeypatch):
    n = feedback_writer.FROM_FILES
    submit(tmp_path / "a" / "raw", n)
    submit(tmp_path / "b" / "raw", n)
    steps.run_plain(tmp_path / "a" / "raw", tmp_path / "a" / "w.duckdb")  # its own process: n files
    monkeypatch.setattr(feedback_writer, "FROM_FILES", n + 1)
    steps.run_plain(tmp_path / "b" / "raw", tmp_path / "b" / "w.duckdb")  # written by the writer
    written = outbox(tmp_path / "a" / "raw")
    assert len(written) == 2 * n
    assert written == outbox(tmp_path / "b" / "raw")


def test_what_a_dead_process_was_handed_is_written_by_the_writer(tmp_path):
    reports = [TableReport("表1", FORM, "accepted", [])]
    writer = feedback_writer.FeedbackWriter(feedback_writer.FROM_FILES)
    writer.submit(tmp_path, "360102/a.csv", "360102", reports)
    writer.wait()
    assert (tmp_path / "360102" / "a.csv.feedback.xlsx").is_file()
    os.kill(writer._process.pid, signal.SIGKILL)
    writer._process.join()
    writer.submit(tmp_path, "360102/b.csv", "360102", reports)  # handed to a dead process, or written here
    writer.close()
    assert (tmp_path / "360102" / "b.csv.feedback.xlsx").is_file()
    assert (tmp_path / "360102" / "b.csv.feedback.md").is_file()
