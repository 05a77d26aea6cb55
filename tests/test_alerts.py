"""Alerts: real deliveries to a JSON webhook on 127.0.0.1, a dead endpoint, dedupe, redaction, deadlines."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import apprise
import pytest

from ecostat import alerts
from ecostat.config import Deadline, Settings, load_settings
from tests.conftest import ingest_files, write_csv
from tests.forms_data import column_of, header, row
from tests.webhook import closed_port, webhook

TOKEN = "s3cretT0ken9f8e7d"


def fast(**kw: object) -> Settings:
    return Settings(attempts=3, backoff_seconds=0.01, timeout_seconds=2, **kw)  # type: ignore[arg-type]


def bad_and_good(raw: Path) -> None:
    write_csv(raw / "inbox" / "360102" / "good.csv", [header("outfall_remediation"), row("outfall_remediation")])
    write_csv(raw / "inbox" / "360102" / "bad.csv",
              [header("outfall_remediation"), row("outfall_remediation", completed=99)])


def all_text(con) -> str:  # type: ignore[no-untyped-def]
    return repr(con.execute("SELECT * FROM alerts").fetchall())


def test_rejection_reaches_operator_and_unit_webhooks_once(tmp_path: Path):
    bad_and_good(tmp_path / "raw")
    con, run_id, tables = ingest_files(tmp_path / "raw", tmp_path / "w.duckdb")
    with webhook() as hook:
        settings = fast(operator_urls=[hook.url("operator")], unit_urls={"360102": [hook.url(f"unit/{TOKEN}")]})
        sent = alerts.alert_run(con, tables, run_id, settings)
        assert [(d.kind, d.delivered, d.attempts) for d in sent] == [("rejected", True, 1)] * 2
        assert sorted(p for p, _ in hook.received) == ["/operator", f"/unit/{TOKEN}"]
        payload = hook.received[0][1]
        assert payload["title"].startswith("【ecostat】报送数据被退回：东湖区（360102） 360102/bad.csv")
        msg = payload["message"]
        assert msg.index("单位：东湖区（360102）") < msg.index("Rejected")  # Chinese first
        cell = f"{column_of('outfall_remediation', 'completed')}2"
        for part in ("文件：360102/bad.csv", "报表：入河排污口整治（outfall_remediation）", "错误 1 个，警告 0 个",
                     f"360102/bad.csv {cell} 已完成整治数 = 99", "反馈文件：raw/outbox/360102/"):
            assert part in msg, msg.splitlines()
        # the same rejection is never alerted twice
        assert alerts.alert_run(con, tables, run_id, settings) == []
        assert len(hook.received) == 2
    rows = con.execute("SELECT kind, recipient, unit_code, delivered, attempts, last_error FROM alerts "
                       "ORDER BY recipient_id").fetchall()
    assert sorted(rows) == [("rejected", f"json://127.0.0.1:{hook.port}", "360102", True, 1, None)] * 2
    assert TOKEN not in all_text(con)


def test_dead_endpoint_is_a_failed_delivery_and_the_data_still_loads(tmp_path: Path, caplog):
    bad_and_good(tmp_path / "raw")
    con, run_id, tables = ingest_files(tmp_path / "raw", tmp_path / "w.duckdb")
    dead = f"json://127.0.0.1:{closed_port()}/robot/{TOKEN}?access_token={TOKEN}x"
    with caplog.at_level(logging.DEBUG):
        sent = alerts.alert_run(con, tables, run_id, fast(operator_urls=[dead]))
    assert [(d.delivered, d.attempts) for d in sent] == [(False, 3)]
    delivered, attempts, error = con.execute("SELECT delivered, attempts, last_error FROM alerts").fetchone()
    assert (delivered, attempts) == (False, 3) and error
    assert sorted(t.status for t in tables) == ["accepted", "rejected"]
    assert con.execute("SELECT count(*) FROM fact_outfall_remediation WHERE is_current").fetchone() == (1,)
    assert "not delivered after 3 attempts" in caplog.text
    assert TOKEN not in caplog.text and TOKEN not in all_text(con)


@pytest.mark.parametrize("url, shown", [
    (f"dingtalk://{TOKEN}/", "dingtalk://***"),
    (f"wecombot://{TOKEN}", "wecombot://***"),
    (f"mailto://bureau:{TOKEN}@mail.example.com?to=ops@example.com", "mailto://mail.example.com"),
    (f"slack://T1JJ3T3L2/A1BRTD4JD/{TOKEN}", "slack://***"),
    (f"jsons://hooks.example.org:8443/robot/send?access_token={TOKEN}", "jsons://hooks.example.org:8443"),
    (f"json://127.0.0.1:9/{TOKEN}", "json://127.0.0.1:9"),
])
def test_every_kind_of_url_is_accepted_by_apprise_and_redacted(url: str, shown: str):
    assert apprise.Apprise().add(url), url
    assert alerts.redact_url(url) == shown
    assert TOKEN not in alerts.redact_text(f"failed to reach {url} (token {TOKEN})", [url])


def test_missing_report_after_deadline_alerts_each_missing_unit_once(tmp_path: Path):
    bad_and_good(tmp_path / "raw")
    con, run_id, tables = ingest_files(tmp_path / "raw", tmp_path / "w.duckdb")
    with webhook() as hook:
        settings = fast(operator_urls=[hook.url()], on_rejection=False,
                        deadlines=[Deadline("outfall_remediation", "2024", dt.date(2025, 1, 31))])
        assert alerts.alert_run(con, tables, run_id, settings, today=dt.date(2025, 1, 31)) == []
        sent = alerts.alert_run(con, tables, run_id, settings, today=dt.date(2025, 2, 1))
        units = sorted(k.split(":")[2] for k in (d.key for d in sent))
        assert units == ["360103", "360104", "360105", "360111", "360112", "360113", "360121", "360123", "360124"]
        assert all(d.kind == "missing" and d.delivered for d in sent)
        assert "截止日期 2025-01-31 已过" in hook.received[0][1]["message"]
        assert alerts.alert_run(con, tables, run_id, settings, today=dt.date(2025, 2, 2)) == []


def test_warnings_alert_only_when_configured(tmp_path: Path):
    write_csv(tmp_path / "raw" / "inbox" / "360102" / "w.csv",
              [header("outfall_remediation"), row("outfall_remediation", completed="8以上")])
    con, run_id, tables = ingest_files(tmp_path / "raw", tmp_path / "w.duckdb")
    assert tables[0].status == "accepted" and tables[0].warnings == 1
    with webhook() as hook:
        assert alerts.alert_run(con, tables, run_id, fast(operator_urls=[hook.url()])) == []
        sent = alerts.alert_run(con, tables, run_id, fast(operator_urls=[hook.url()], on_warnings=True))
        assert [d.kind for d in sent] == ["warnings"]
        assert "报送数据有警告" in hook.received[0][1]["title"]


def test_failed_run_alerts_the_operator(tmp_path: Path, monkeypatch):
    raw = tmp_path / "raw"
    with webhook() as hook:
        monkeypatch.setenv("ECOSTAT_ALERT_URLS", hook.url("ops"))
        sent = alerts.alert_failed_run(raw, tmp_path / "w.duckdb", "run-1", "ValueError: broken")
        assert [(d.kind, d.delivered) for d in sent] == [("run_failed", True)]
        assert "入库运行 run-1 异常中止：ValueError: broken" in hook.received[0][1]["message"]


def test_settings_file_and_environment(tmp_path: Path, monkeypatch):
    (tmp_path / "raw").mkdir()
    (tmp_path / "ecostat.toml").write_text(f"""
[schedule]
cron = "0 * * * *"
[alerts]
operator_urls = ["json://ops.example.org/a"]
on_warnings = true
[alerts.units]
360102 = ["dingtalk://{TOKEN}/"]
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
    assert s.deadlines == [Deadline("petitions", "2024", dt.date(2025, 1, 20))]
    monkeypatch.setenv("ECOSTAT_SCHEDULE", "*/5 * * * *")
    assert load_settings(tmp_path / "raw").schedule == "*/5 * * * *"
    monkeypatch.setenv("ECOSTAT_SETTINGS", str(tmp_path / "none.toml"))
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "raw")


def test_the_shipped_example_settings_parse_and_hold_no_urls(monkeypatch):
    monkeypatch.delenv("ECOSTAT_ALERT_URLS", raising=False)
    monkeypatch.delenv("ECOSTAT_SCHEDULE", raising=False)
    s = load_settings(path=Path(__file__).resolve().parent.parent / "ecostat.example.toml")
    assert (s.schedule, s.operator_urls, s.unit_urls, s.deadlines) == ("*/30 * * * *", [], {}, [])
