"""The command line: one grammar, an example in every --help, the demo workspace, ingest never inventing
input, a progress bar only on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from ecostat.cli import main, parser
from ecostat.run import ingest as steps
from tests.conftest import write_csv
from tests.forms_data import header, row
from tests.webhook import webhook

OUTFALL = header("outfall_remediation")


def test_version_and_an_example_in_every_help(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("ecostat ")
    commands = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        assert "example:\n  ecostat " in sub.format_help() or "example:\n  PREFECT" in sub.format_help(), name


def test_ingest_never_invents_input(tmp_path, capsys):
    raw = tmp_path / "raw"
    assert main(["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert "ecostat demo" in capsys.readouterr().err
    assert not raw.exists() and not (tmp_path / "w.duckdb").exists()


def test_demo_works_in_its_own_workspace_and_alerts_nobody(tmp_path, monkeypatch, capsys):
    home = tmp_path / "demo"
    with webhook() as hook:
        monkeypatch.setenv("ECOSTAT_ALERT_URLS", hook.url("ops"))  # an operator's real setting
        assert main(["demo", "--dir", str(home), "--no-prefect"]) == 0
        assert hook.received == []
    out = capsys.readouterr().out
    assert "罚款金额 enforcement.fines" in out and "1300.47" in out
    assert (home / "warehouse" / "ecostat.duckdb").is_file() and (home / ".ecostat-demo").is_file()
    assert main(["demo", "--dir", str(home), "--no-prefect", "--year", "2023"]) == 0  # recreated
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    assert main(["demo", "--dir", str(other)]) == 2 and (other / "keep.txt").exists()


def test_readers_take_a_format_and_units_by_name(tmp_path, capsys):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "a.csv", [OUTFALL, row("outfall_remediation")])
    steps.run_plain(raw, db)
    wh = ["--warehouse", str(db)]
    capsys.readouterr()
    assert main(["history", "--unit", "东湖", "--format", "json", *wh]) == 0
    assert '"status": "accepted"' in capsys.readouterr().out
    assert main(["figures", "--year", "2024", "--scope", "东湖区", "--format", "csv", *wh]) == 0
    assert "outfall.required" in capsys.readouterr().out
    assert main(["amendments", "--format", "csv", *wh]) == 0
    assert main(["certify", "--year", "2024", "--by", "王敏", *wh]) == 2  # contract v3 §9: nothing approved yet
    assert main(["certify", "--year", "2024", "--by", "王敏", "--with-pending", *wh]) == 0
    assert main(["history", "--unit", "不存在区", *wh]) == 2
    assert main(["history", "--unit", "东湖区", "--form", "入河排污口整治", *wh]) == 0  # a form by name
    assert main(["query", "SELECT 1", "--memory", "lots", *wh]) == 1
    not_duckdb = tmp_path / "not.duckdb"
    not_duckdb.write_text("hello")
    assert main(["query", "SELECT 1", "--warehouse", str(not_duckdb)]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_validate_says_when_the_cross_period_rules_were_skipped(tmp_path, capsys):
    path = write_csv(tmp_path / "a.csv", [OUTFALL, row("outfall_remediation")])
    assert main(["validate", str(path), "--unit", "360102", "--warehouse", str(tmp_path / "none.duckdb")]) == 0
    assert "the cross-period rules were skipped; give --warehouse" in capsys.readouterr().err


def _ingest(raw: Path, db: Path, tty: bool) -> str:
    cmd = [sys.executable, "-m", "ecostat.cli", "ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(db)]
    if not tty:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, cmd)
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_progress_bar_on_a_terminal_only(tmp_path):
    for i in range(3):
        write_csv(tmp_path / "a" / "inbox" / "360102" / f"{i}.csv",
                  [OUTFALL, row("outfall_remediation", period=f"202{i + 2}")])
        write_csv(tmp_path / "b" / "inbox" / "360102" / f"{i}.csv",
                  [OUTFALL, row("outfall_remediation", period=f"202{i + 2}")])
    on_tty = _ingest(tmp_path / "a", tmp_path / "a.duckdb", tty=True)
    piped = _ingest(tmp_path / "b", tmp_path / "b.duckdb", tty=False)
    assert "接收 accepted" in on_tty and "3 tables accepted" in on_tty
    assert "接收 accepted" not in piped and "3 tables accepted" in piped
