"""Alerts through apprise: who hears about a rejected table, warnings, a missing report, a failed run
or a failed audit, and a record of every delivery in the ``alerts`` table.

Any apprise URL works (``dingtalk://``, ``wecombot://``, ``mailto://``, ``slack://``, ``json://``…).
URLs carry tokens: only :func:`redact_url` forms of them are logged or stored, and apprise's and
urllib3's log records are redacted while a message is being sent. Sending never raises: a failed
delivery is retried a few times and then recorded as failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import duckdb

from ecostat.catalogue import Finding
from ecostat.config import Settings
from ecostat.forms import FORMS
from ecostat.registry import registry

log = logging.getLogger(__name__)
FIRST_FINDINGS = 5
OUTBOX = "raw/outbox"
SENDING_LOGGERS = ("apprise", "urllib3.connectionpool", "requests")


# ---------------------------------------------------------------- redaction

def _hostlike(host: str) -> bool:
    """True for a real host name or address; False for a token standing where the host would be."""
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        labels = host.split(".")
        return len(labels) >= 2 and all(labels) and labels[-1].isalpha()


def redact_url(url: str) -> str:
    """A URL as it may be shown: scheme and host (with port) only, the host hidden too when it is a token
    (``dingtalk://<token>``, ``slack://<tokens>``)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "***"
    scheme = parts.scheme or "?"
    if not _hostlike(host):
        return f"{scheme}://***"
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def secret_parts(url: str) -> list[str]:
    """The pieces of a URL that may be secret: user, password, a token-like host, path segments and
    query values (longest first, so that a longer secret is replaced before its prefix)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return [url]
    found = [parts.username or "", parts.password or "", *parts.path.split("/"),
             *(v for _, v in parse_qsl(parts.query))]
    if not _hostlike(host):
        found += [host, parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0]]
    found = [p for s in found for p in (s, unquote(s)) if len(p) >= 4]
    return sorted(set(found), key=len, reverse=True)


def redact_text(text: str, urls: list[str]) -> str:
    """``text`` with every URL of ``urls`` and every secret part of them replaced by ``***``."""
    for url in sorted(urls, key=len, reverse=True):
        text = text.replace(url, redact_url(url))
    for url in urls:
        for part in secret_parts(url):
            text = text.replace(part, "***")
    return text


class _Redacting(logging.Filter):
    def __init__(self, urls: list[str]):
        super().__init__()
        self.urls = urls

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage(), self.urls)
        record.args = ()
        return True


@contextmanager
def redacted_logs(urls: list[str]) -> Iterator[None]:
    """While inside, log records of apprise, urllib3 and requests have these URLs' secrets removed."""
    flt = _Redacting(urls)
    loggers = [logging.getLogger(name) for name in SENDING_LOGGERS]
    for lg in loggers:
        lg.addFilter(flt)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(flt)


def recipient_id(url: str) -> str:
    """A stable id of a recipient URL that does not reveal it (sha256 prefix)."""
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------- delivery

@dataclass
class Alert:
    """One message to send to every recipient of its unit."""

    key: str  # the same key is never sent twice to the same recipient
    kind: str  # rejected | warnings | missing | run_failed | audit_failed
    title: str
    body: str
    unit: str | None = None
    submission_id: int | None = None
    run_id: str | None = None


@dataclass
class Delivery:
    """The outcome of sending one alert to one recipient."""

    key: str
    kind: str
    recipient: str  # redacted
    delivered: bool
    attempts: int
    error: str | None


def _with_timeouts(url: str, seconds: float) -> str:
    query = dict(parse_qsl(urlsplit(url).query))
    extra = [f"{k}={seconds:g}" for k in ("cto", "rto") if k not in query]
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(extra)


def deliver(url: str, title: str, body: str, settings: Settings) -> tuple[bool, int, str | None]:
    """Send one message, retrying with a growing pause; (delivered, attempts, redacted last error).

    Never raises: the run that sends an alert must not fail because of it.
    """
    import apprise

    error: str | None = None
    attempts = 0
    with redacted_logs([url]):
        for attempts in range(1, settings.attempts + 1):
            try:
                sender = apprise.Apprise()
                if not sender.add(_with_timeouts(url, settings.timeout_seconds)):
                    return False, attempts, f"apprise does not accept this URL: {redact_url(url)}"
                with apprise.LogCapture(level=logging.WARNING) as captured:
                    ok = bool(sender.notify(body=body, title=title))
                if ok:
                    return True, attempts, None
                error = captured.getvalue().strip() or "delivery failed"  # type: ignore[union-attr]
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if attempts < settings.attempts:
                time.sleep(settings.backoff_seconds * attempts)
    return False, attempts, redact_text(error or "delivery failed", [url])[-500:]


def send(con: duckdb.DuckDBPyConnection | None, alerts: list[Alert], settings: Settings) -> list[Delivery]:
    """Send each alert to its recipients once: an (alert key, recipient) already in ``alerts`` is skipped.

    Every outcome is recorded; without a warehouse (it could not be opened) alerts are sent unrecorded.
    Nothing here raises.
    """
    out = []
    for alert in alerts:
        for url in settings.recipients(alert.unit):
            try:
                out.extend(_send_one(con, alert, url, settings))
            except Exception as exc:  # the warehouse write failed: the run goes on
                log.warning("alert %s to %s not recorded: %s", alert.key, redact_url(url),
                            redact_text(str(exc), [url]))
    return out


def _send_one(con: duckdb.DuckDBPyConnection | None, alert: Alert, url: str, settings: Settings) -> list[Delivery]:
    rid, shown = recipient_id(url), redact_url(url)
    if con is None:
        return [Delivery(alert.key, alert.kind, shown, *deliver(url, alert.title, alert.body, settings))]
    known = con.execute("SELECT 1 FROM alerts WHERE alert_key = ? AND recipient_id = ?", [alert.key, rid]).fetchone()
    if known:
        return []
    con.execute("""INSERT INTO alerts (alert_key, recipient_id, kind, recipient, unit_code, submission_id, run_id,
                                       title, attempts, delivered, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, false, ?)""",
                [alert.key, rid, alert.kind, shown, alert.unit, alert.submission_id, alert.run_id, alert.title,
                 dt.datetime.now(dt.UTC)])
    delivered, attempts, error = deliver(url, alert.title, alert.body, settings)
    con.execute("""UPDATE alerts SET attempts = ?, delivered = ?, last_error = ?, sent_at = ?
                   WHERE alert_key = ? AND recipient_id = ?""",
                [attempts, delivered, error, dt.datetime.now(dt.UTC) if delivered else None, alert.key, rid])
    if not delivered:
        log.warning("alert %s to %s not delivered after %d attempts: %s", alert.key, shown, attempts, error)
    return [Delivery(alert.key, alert.kind, shown, delivered, attempts, error)]


# ---------------------------------------------------------------- messages

def unit_label(code: str | None) -> str:
    """``东湖区（360102）``, or the code alone when it is not in the registry."""
    if not code:
        return "未知单位 unknown unit"
    entry = registry("units").resolve(code)
    return f"{entry.name}（{code}）" if entry else code


def form_label(code: str | None) -> str:
    """``入河排污口整治（outfall_remediation）``."""
    if not code:
        return "未识别 not recognised"
    form = FORMS.get(code)
    return f"{form.zh}（{code}）" if form else code


def feedback_path(unit: str | None) -> str:
    """Where a unit's feedback files are written."""
    return f"{OUTBOX}/{unit}/" if unit else f"{OUTBOX}/"


def _finding_line(i: int, f: Finding) -> str:
    cell = f.where()
    shown = f" {f.header} = {f.value}" if f.header or f.value else ""
    return f"{i}. {cell}{shown}：{f.message_zh}（{f.message_en}）"


def table_alert(*, kind: str, unit: str | None, file: str, sheet: str | None, form: str | None,
                submission_id: int, run_id: str, errors: int, warnings: int, findings: list[Finding]) -> Alert:
    """The alert for a rejected table (``kind='rejected'``) or an accepted one with warnings."""
    rejected = kind == "rejected"
    head = "报送数据被退回" if rejected else "报送数据有警告"
    severity = "error" if rejected else "warning"
    first = [f for f in findings if f.severity == severity][:FIRST_FINDINGS] or findings[:FIRST_FINDINGS]
    lines = [f"单位：{unit_label(unit)}",
             f"文件：{file}" + (f"  工作表：{sheet}" if sheet else ""),
             f"报表：{form_label(form)}",
             f"错误 {errors} 个，警告 {warnings} 个；" + ("本表未入库，请改正后重新报送。" if rejected
                                                  else "本表已入库，请核实。"),
             f"前 {len(first)} 条问题：", *(_finding_line(i, f) for i, f in enumerate(first, 1)),
             f"反馈文件：{feedback_path(unit)}",
             "",
             f"{'Rejected' if rejected else 'Accepted with warnings'}: {file}"
             + (f" [{sheet}]" if sheet else "") + f", form {form or '?'}, unit {unit or '?'}: "
             f"{errors} errors, {warnings} warnings. Feedback: {feedback_path(unit)} (submission {submission_id})."]
    title = f"【ecostat】{head}：{unit_label(unit)} {file}"
    return Alert(f"{kind}:{submission_id}", kind, title, "\n".join(lines), unit, submission_id, run_id)


def run_alerts(tables: list, run_id: str, settings: Settings) -> list[Alert]:  # type: ignore[type-arg]
    """Alerts for the tables of a run (``ecostat.ingest.TableOutcome``): rejections, and warnings if asked."""
    out = []
    for t in tables:
        unit = t.submitter
        if t.status == "rejected" and settings.on_rejection:
            kind = "rejected"
        elif t.status == "accepted" and t.warnings and settings.on_warnings:
            kind = "warnings"
        else:
            continue
        out.append(table_alert(kind=kind, unit=unit, file=t.file, sheet=t.sheet, form=t.form,
                               submission_id=t.submission_id, run_id=run_id, errors=t.errors,
                               warnings=t.warnings, findings=t.findings))
    return out


def missing_report_alerts(con: duckdb.DuckDBPyConnection, settings: Settings, today: dt.date,
                          run_id: str | None = None) -> list[Alert]:
    """For each deadline passed: one alert per unit that must submit the form and has no current report
    of that period (the key makes it once only)."""
    from ecostat.obligations import overdue

    out = []
    for d, unit in overdue(con, settings.deadlines, today):
        body = (f"单位：{unit_label(unit)}\n报表：{form_label(d.form)}\n报告期：{d.period}\n"
                f"截止日期 {d.due.isoformat()} 已过，尚未收到该期报表，请尽快报送至 raw/inbox/{unit}/。\n\n"
                f"Missing report: unit {unit} has not submitted form {d.form} for {d.period}, "
                f"due {d.due.isoformat()}.")
        out.append(Alert(f"missing:{d.form}:{unit}:{d.period}", "missing",
                         f"【ecostat】报表逾期未报：{unit_label(unit)} {form_label(d.form)} {d.period}",
                         body, unit, None, run_id))
    return out


def failed_run_alert(run_id: str, error: str) -> Alert:
    """The alert for an ingest run that broke off."""
    return Alert(f"run_failed:{run_id}", "run_failed", f"【ecostat】入库运行失败 ingest run failed：{run_id}",
                 f"入库运行 {run_id} 异常中止：{error[:1000]}\n"
                 "已入库的表保持不变，下一次运行会重新处理未完成的文件。\n\n"
                 f"Ingest run {run_id} failed: {error[:1000]}", None, None, run_id)


def alert_run(con: duckdb.DuckDBPyConnection, tables: list, run_id: str,  # type: ignore[type-arg]
              settings: Settings, today: dt.date | None = None) -> list[Delivery]:
    """Send the alerts a run calls for: its rejected tables (and warnings if asked) and the reports
    overdue today. Returns the deliveries tried now."""
    alerts = run_alerts(tables, run_id, settings)
    alerts += missing_report_alerts(con, settings, today or dt.date.today(), run_id)
    return send(con, alerts, settings)


def alert_failed_run(raw: Path, warehouse: Path, run_name: str, error: str) -> list[Delivery]:
    """Alert the operator that a run failed (if configured); never raises."""
    from ecostat.config import load_settings
    from ecostat.warehouse import connect
    from ecostat.writer import writing

    try:
        settings = load_settings(raw)
    except Exception as exc:
        log.warning("failed-run alert not sent, settings unreadable: %s", type(exc).__name__)
        return []
    if not settings.on_failed_run:
        return []
    alert = [failed_run_alert(run_name, error)]
    sent: list[Delivery] | None = None
    try:
        with writing(warehouse, wait_seconds=5) as work, connect(work, create=True) as con:
            sent = send(con, alert, settings)
    except Exception as exc:  # the warehouse may be why the run failed: alert without recording
        log.warning("failed-run alert not recorded: %s", type(exc).__name__)
    return sent if sent is not None else send(None, alert, settings)
