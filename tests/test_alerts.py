"""Alerts through the production path (``run_plain``; the flow in test_flow.py): real deliveries to a
JSON webhook on 127.0.0.1, a dead endpoint that never holds the write lock, retries by later runs,
abandonment, one alert per file, redaction, escaping, deadlines, settings validation."""

from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path

import apprise
import duckdb
import pytest

from ecostat.check import files as checking
from ecostat.common.environment import SettingsError
from ecostat.contract.operator_settings import Deadline, load_settings
from ecostat.notify.delivery import journal_path
from ecostat.notify.redaction import redact_url
from ecostat.run import ingest as steps
from tests.conftest import write_csv, write_xlsx
from tests.forms_data import column_of, header, row
from tests.webhook import closed_port, webhook

TOKEN = "s3cretT0ken9f8e7d"


def configure(tmp: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """Settings for the run, in a file named by ECOSTAT_SETTINGS (quick retries)."""
    path = tmp / "ecostat.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ECOSTAT_SETTINGS", str(path))
    monkeypatch.delenv("ECOSTAT_ALERT_URLS", raising=False)


def alerts_section(*urls: str, units: str = "", extra: str = "") -> str:
    listed = ", ".join(f'"{u}"' for u in urls)
    return (f"[alerts]\noperator_urls = [{listed}]\nbackoff_seconds = 0.01\ntimeout_seconds = 2\n"
            f"retry_after_minutes = 0\n{extra}\n" + (f"[alerts.units]\n{units}\n" if units else ""))


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_file_with_two_rejected_tables_alerts_operator_and_unit_once_each(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_xlsx(raw / "inbox" / "360102" / "bad.xlsx", {
        "一": [header("outfall_remediation"), row("outfall_remediation", completed=99)],
        "二": [header("outfall_remediation"), row("outfall_remediation", period="2024-06", completed=99)]})
    write_csv(raw / "inbox" / "360102" / "good.csv", [header("outfall_remediation"), row("outfall_remediation")])
    with webhook() as hook:
        configure(tmp_path, monkeypatch, alerts_section(hook.url("operator"),
                                                         units=f'360102 = ["{hook.url("unit/" + TOKEN)}"]'))
        summary = steps.run_plain(raw, db)
        assert [(d.kind, d.delivered, d.attempts) for d in summary.deliveries] == [("rejected", True, 1)] * 2
        assert sorted(p for p, _ in hook.received) == ["/operator", f"/unit/{TOKEN}"]
        payload = hook.received[0][1]
        assert payload["title"].startswith("【ecostat】报送数据被退回：东湖区（360102） 「360102/bad.xlsx」")
        msg = payload["message"]
        assert msg.index("单位：东湖区（360102）") < msg.index("Rejected")  # Chinese first
        cell = f"{column_of('outfall_remediation', 'completed')}2"
        for part in ("文件：「360102/bad.xlsx」", "[「一」] 入河排污口整治（outfall_remediation）：错误 1 个",
                     "[「二」] 入河排污口整治（outfall_remediation）：错误 1 个",
                     f"[「一」] {cell} 「已完成整治数」 = 「99」",
                     f"反馈文件：{raw / 'outbox' / '360102'}/"):  # the real outbox, from --raw
            assert part in msg, msg.splitlines()
        steps.run_plain(raw, db)  # nothing new: nothing sent again
        assert len(hook.received) == 2
    assert sorted(rows(db, "SELECT kind, recipient, unit_code, delivered, status, attempts FROM alerts")) == [
        ("rejected", f"json://127.0.0.1:{hook.port}", "360102", True, "delivered", 1)] * 2
    assert TOKEN not in repr(rows(db, "SELECT * FROM alerts"))


def test_a_dead_endpoint_never_holds_the_lock_and_a_later_run_delivers_once(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    lock = db.with_name(db.name + ".lock")
    port = closed_port()
    configure(tmp_path, monkeypatch, alerts_section(f"json://127.0.0.1:{port}/ops", extra="attempts = 1"))
    write_csv(raw / "inbox" / "360102" / "bad.csv",
              [header("outfall_remediation"), row("outfall_remediation", completed=99)])
    first = steps.run_plain(raw, db)
    assert [(d.delivered, d.attempts) for d in first.deliveries] == [(False, 1)]
    assert "1 failed (retried by later runs)" in first.text()
    tried = [json.loads(line) for line in journal_path(db).read_text(encoding="utf-8").splitlines()]
    (finished,) = rows(db, "SELECT finished_at FROM meta_ingest_runs")[0]
    assert tried[0]["delivered"] is False and tried[0]["at"] > finished.isoformat()  # after the run was done

    lock_free: list[bool] = []

    def lock_is_free() -> None:  # the delivery happens while nobody holds the write lock
        with open(lock) as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                lock_free.append(True)
            except BlockingIOError:
                lock_free.append(False)

    with webhook(port, on_request=lock_is_free) as hook:  # the endpoint is back
        second = steps.run_plain(raw, db)
        assert [(d.delivered, d.attempts) for d in second.deliveries] == [(True, 2)]
        third = steps.run_plain(raw, db)
        assert third.deliveries == [] and len(hook.received) == 1 and lock_free == [True]
    assert rows(db, "SELECT status, delivered, attempts FROM alerts") == [("delivered", True, 2)]


def test_an_alert_too_old_is_abandoned_and_the_summary_says_so(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    port = closed_port()
    configure(tmp_path, monkeypatch, alerts_section(f"json://127.0.0.1:{port}/ops",
                                                    extra="attempts = 1\nmax_age_hours = 0.0003"))
    write_csv(raw / "inbox" / "360102" / "bad.csv",
              [header("outfall_remediation"), row("outfall_remediation", completed=99)])
    steps.run_plain(raw, db)
    time.sleep(1.2)
    later = steps.run_plain(raw, db)
    assert [(d.abandoned, d.delivered) for d in later.deliveries] == [(True, False)]
    assert "1 abandoned" in later.text() and "超过最长重试时间" in later.text()
    steps.run_plain(raw, db)  # folds the outcome into the warehouse
    assert rows(db, "SELECT status FROM alerts") == [("abandoned",)]


def test_a_check_that_crashes_alerts_the_operator_and_tells_the_unit_the_bureau_is_on_it(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "a.csv", [header("outfall_remediation"), row("outfall_remediation")])

    def broken(*args, **kw):  # a stand-in for a bug in ecostat's checks
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(checking, "check_table", broken)
    monkeypatch.setenv("ECOSTAT_CHECK_PROCESSES", "0")  # checked in this process, where the stand-in is
    with webhook() as hook:
        configure(tmp_path, monkeypatch, alerts_section(hook.url("ops"), units=f'360102 = ["{hook.url("unit")}"]'))
        summary = steps.run_plain(raw, db)
        assert summary.tables[0].findings[0].rule_id == "FILE_CHECK_FAILED"
        got = {path: payload for path, payload in hook.received if path == "/unit"}
        ops = [payload for path, payload in hook.received if path == "/ops"]
    assert "市局正在核查" in got["/unit"]["title"] and "OverflowError" not in got["/unit"]["message"]
    assert "请改正" not in got["/unit"]["message"]
    check = next(p for p in ops if "check failed" in p["title"])
    assert "OverflowError: cannot convert float infinity to integer" in check["message"]
    assert sorted(k for (k,) in rows(db, "SELECT kind FROM alerts")) == ["check_failed", "rejected", "rejected"]


def test_submitted_text_reaches_alerts_escaped(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    evil = "<!channel> @all \x1b[31m[x](http://evil.example)"
    write_csv(raw / "inbox" / "360102" / f"bad\n伪造行{evil[:10]}.csv",
              [header("outfall_remediation"), row("outfall_remediation", completed=evil)])
    with webhook() as hook:
        configure(tmp_path, monkeypatch, alerts_section(hook.url("plain"),
                                                         f"rocket://127.0.0.1:{hook.port}/%23ops?webhook=tok"))
        steps.run_plain(raw, db)
        by_path = dict(hook.received)
    plain = by_path["/plain"]
    assert "\x1b" not in plain["message"] + plain["title"] and "\\x1b[31m" in plain["message"]
    assert "\n" not in plain["title"] and "bad\\n伪造行" in plain["title"]
    markdown = by_path["/hooks/tok"]["text"]  # Rocket.Chat renders Markdown: apprise escaped it
    assert "<!channel>" not in markdown and "](http" not in markdown and "@all" not in markdown


def test_missing_report_after_deadline_alerts_each_missing_unit_once(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "p.csv", [header("petitions"), row("petitions")])
    with webhook() as hook:
        configure(tmp_path, monkeypatch, alerts_section(
            hook.url("ops"), extra='[[alerts.deadlines]]\nform = "petitions"\nperiod = "2024"\ndue = 2025-01-31'))
        steps.run_plain(raw, db)
        units = sorted(p["message"].split("\n")[0] for _, p in hook.received)
        assert len(units) == 9 and not any("360102" in u for u in units)  # every obliged unit but the one
        assert "截止日期 2025-01-31 已过" in hook.received[0][1]["message"]
        steps.run_plain(raw, db)
        assert len(hook.received) == 9


def test_warnings_alert_only_when_configured(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "w.csv",
              [header("outfall_remediation"), row("outfall_remediation", completed="8以上")])
    write_csv(raw / "inbox" / "360103" / "w.csv",
              [header("outfall_remediation"), row("outfall_remediation", unit="360103", completed="8以上")])
    with webhook() as hook:
        configure(tmp_path, monkeypatch, alerts_section(hook.url()))
        summary = steps.run_plain(raw, db)
        assert [t.warnings for t in summary.tables] == [1, 1] and hook.received == []
        write_csv(raw / "inbox" / "360104" / "w.csv",
                  [header("outfall_remediation"), row("outfall_remediation", unit="360104", completed="8以上")])
        configure(tmp_path, monkeypatch, alerts_section(hook.url(), extra="on_warnings = true"))
        assert [d.kind for d in steps.run_plain(raw, db).deliveries] == ["warnings"]
        assert "报送数据有警告" in hook.received[0][1]["title"]


def test_a_failed_run_alerts_the_operator_with_its_run_id(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "inbox").mkdir(parents=True)
    folder = tmp_path / "not-a-file.duckdb"
    folder.mkdir()  # the warehouse cannot be opened
    with webhook() as hook:
        configure(tmp_path, monkeypatch, alerts_section(hook.url("ops")))
        with pytest.raises(Exception) as failed:
            steps.run_plain(raw, folder)
        assert len(hook.received) == 1
    message = hook.received[0][1]["message"]
    run_id = message.split("入库运行 ", 1)[1].split(" ", 1)[0]
    assert run_id[:8].isdigit() and "run_failed" not in run_id and type(failed.value).__name__ in message
    assert hook.received[0][1]["title"] == f"【ecostat】入库运行失败 ingest run failed：{run_id}"
    lines = journal_path(folder).read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["alert"]["run_id"] == run_id  # the next working run records it


@pytest.mark.parametrize(("url", "shown"), [
    (f"dingtalk://{TOKEN}/", "dingtalk://***"),
    (f"wecombot://{TOKEN}", "wecombot://***"),
    (f"mailto://ops:{TOKEN}@mail.example.gov.cn?to=ops@example.gov.cn", "mailto://mail.example.gov.cn"),
    (f"slack://{TOKEN}/B0/C0", "slack://***"),
    (f"json://hooks.example.gov.cn/{TOKEN}", "json://hooks.example.gov.cn"),
])
def test_every_kind_of_url_is_accepted_by_apprise_and_redacted(url: str, shown: str):
    assert apprise.Apprise().add(url), url
    assert redact_url(url) == shown and TOKEN not in redact_url(url)


def test_settings_file_and_environment(tmp_path: Path, monkeypatch):
    (tmp_path / "raw").mkdir()
    (tmp_path / "ecostat.toml").write_text(f"""
[schedule]
cron = "0 * * * *"
[alerts]
operator_urls = ["json://ops.example.org/a"]
on_warnings = true
[alerts.units]
"东湖区" = ["dingtalk://{TOKEN}/"]
[[alerts.deadlines]]
form = "petitions"
period = "2024"
due = 2025-01-20
""", encoding="utf-8")
    monkeypatch.delenv("ECOSTAT_SETTINGS", raising=False)
    monkeypatch.setenv("ECOSTAT_ALERT_URLS", "json://a.example.org/x  json://b.example.org/y")
    s = load_settings(tmp_path / "raw")
    assert s.schedule == "0 * * * *" and s.on_warnings and s.on_failed_run
    assert s.recipients("360102") == ["json://ops.example.org/a", "json://a.example.org/x",
                                      "json://b.example.org/y", f"dingtalk://{TOKEN}/"]
    assert s.recipients("360102", operator_only=True) == s.operator_urls
    assert s.deadlines == [Deadline("petitions", "2024", __import__("datetime").date(2025, 1, 20))]
    monkeypatch.setenv("ECOSTAT_SCHEDULE", "*/5 * * * *")
    assert load_settings(tmp_path / "raw").schedule == "*/5 * * * *"
    monkeypatch.setenv("ECOSTAT_SETTINGS", str(tmp_path / "none.toml"))
    with pytest.raises(SettingsError, match=r"ECOSTAT_SETTINGS names .*none\.toml, which is not a file"):
        load_settings(tmp_path / "raw")


@pytest.mark.parametrize(("text", "named"), [
    ("[alerts]\non_rejections = false\n", "unknown key 'alerts.on_rejections'"),
    ("[alert]\non_rejection = false\n", "unknown key 'alert'"),
    ("[alerts]\nattempts = \"many\"\n", "'alerts.attempts'"),
    ("[alerts.units]\n360199 = [\"json://x.example.org/a\"]\n", "'alerts.units.360199' is not a unit code"),
    ("[schedule]\ncron = 5\n", "'schedule.cron'"),
    ('[[alerts.deadlines]]\nform = "outfal_remediation"\nperiod = "2024"\ndue = 2025-01-20\n',
     "'alerts.deadlines[0].form' 'outfal_remediation' is not a form"),
    ('[[alerts.deadlines]]\nform = "petitions"\nperiod = "2024-6"\ndue = 2025-01-20\n',
     "'alerts.deadlines[0].period' '2024-6' is not a period like 2024 or 2024-06 (write '2024-06')"),
])
def test_a_typo_in_the_settings_is_an_error_naming_key_and_file(tmp_path, monkeypatch, text, named):
    path = tmp_path / "ecostat.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.delenv("ECOSTAT_SETTINGS", raising=False)
    with pytest.raises(SettingsError) as err:
        load_settings(path=path)
    assert named in str(err.value) and str(path) in str(err.value)


def test_a_settings_error_never_shows_an_alert_url(tmp_path, monkeypatch):
    path = tmp_path / "ecostat.toml"
    path.write_text(f'[alerts.units.360102]\nurl = "wecombot://{TOKEN}"\n[alerts]\nattempts = "x"\n',
                    encoding="utf-8")
    monkeypatch.delenv("ECOSTAT_SETTINGS", raising=False)
    with pytest.raises(SettingsError) as err:
        load_settings(path=path)
    assert "'alerts.units.360102'" in str(err.value) and TOKEN not in str(err.value)


def test_an_alert_whose_url_this_process_lacks_stays_pending(tmp_path, monkeypatch):
    """`ecostat ingest` run from a shell without the worker's ECOSTAT_ALERT_URLS leaves its alerts alone."""
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "bad.csv",
              [header("outfall_remediation"), row("outfall_remediation", completed=99)])
    configure(tmp_path, monkeypatch, alerts_section())
    monkeypatch.setenv("ECOSTAT_ALERT_URLS", f"json://127.0.0.1:{closed_port()}/ops")
    assert [d.delivered for d in steps.run_plain(raw, db).deliveries] == [False]
    monkeypatch.delenv("ECOSTAT_ALERT_URLS")
    assert steps.run_plain(raw, db).deliveries == []
    steps.run_plain(raw, db)
    assert rows(db, "SELECT status FROM alerts") == [("retrying",)]


def test_an_unknown_or_malformed_environment_variable_is_an_error(tmp_path, monkeypatch, capsys):
    from ecostat.cli import main

    monkeypatch.setenv("ECOSTAT_MAX_FILE_MBS", "50")
    assert main(["ingest", "--no-prefect", "--raw", str(tmp_path / "raw")]) == 2
    assert "unknown environment variable ECOSTAT_MAX_FILE_MBS" in capsys.readouterr().err
    monkeypatch.delenv("ECOSTAT_MAX_FILE_MBS")
    monkeypatch.setenv("ECOSTAT_MAX_FILE_MB", "lots")
    assert main(["ingest", "--no-prefect", "--raw", str(tmp_path / "raw")]) == 2
    assert "ECOSTAT_MAX_FILE_MB" in capsys.readouterr().err


def test_the_shipped_example_settings_parse_and_hold_no_urls(monkeypatch):
    monkeypatch.delenv("ECOSTAT_ALERT_URLS", raising=False)
    monkeypatch.delenv("ECOSTAT_SCHEDULE", raising=False)
    s = load_settings(path=Path(__file__).resolve().parent.parent / "ecostat.example.toml")
    assert (s.schedule, s.operator_urls, s.unit_urls, s.deadlines) == ("*/30 * * * *", [], {}, [])


def test_a_delivery_pass_killed_midway_never_resends_what_it_delivered(tmp_path, monkeypatch):
    import os
    import signal
    import socket
    import subprocess
    import sys

    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "bad.csv",
              [header("outfall_remediation"), row("outfall_remediation", completed=99)])
    with webhook() as hook, socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts, never answers: its delivery hangs until the timeout
        hanging = f"json://127.0.0.1:{silent.getsockname()[1]}/hang"
        configure(tmp_path, monkeypatch, f'[alerts]\noperator_urls = ["{hook.url("live")}", "{hanging}"]\n'
                                         "attempts = 1\ntimeout_seconds = 60\n")
        proc = subprocess.Popen([sys.executable, "-m", "ecostat.cli", "ingest", "--no-prefect", "--raw", str(raw),
                                 "--warehouse", str(db)], env=dict(os.environ), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not hook.received:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
            time.sleep(0.1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)  # while the other delivery hangs
        proc.wait()
        configure(tmp_path, monkeypatch, alerts_section(hook.url("live")))
        steps.run_plain(raw, db)
        steps.run_plain(raw, db)
        assert len(hook.received) == 1  # journaled as it was delivered, not at the end of the pass
    assert dict(rows(db, "SELECT recipient, status FROM alerts")) == {
        f"json://127.0.0.1:{hook.port}": "delivered", redact_url(hanging): "pending"}
