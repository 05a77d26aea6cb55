"""Delivering alerts: after a run has published the warehouse and released its write lock, never under it.

A run records each alert as *pending* in the ``alerts`` table, in the transaction of what caused it
(:func:`ecostat.notify.alerts.record`). After publishing, :func:`deliver_pending` reads the pending alerts of
the published warehouse, sends those that are due through apprise and appends every outcome to a
journal beside the warehouse (``<warehouse>.deliveries.jsonl``); the next writing run folds the journal
into ``alerts`` (:func:`fold`). A process that does not write the warehouse (the audit after a run) records
its alerts as pending lines of the journal instead (:func:`pending_lines`), folded in the same way. A
delivery that failed is tried again by later runs after ``retry_after_minutes``, then at doubling intervals,
until it is ``max_age_hours`` old: then it is abandoned and the run summary says so. One delivery pass runs
at a time (a lock file beside the journal); an alert is sent again only if a process died between sending it
and journaling the outcome.
Nothing here raises into a run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

import duckdb

from ecostat.common.display import printable
from ecostat.common.durable import append_lines, flock, read_journal, write_bytes
from ecostat.contract.operator_settings import Settings
from ecostat.notify.redaction import recipient_id, redact_text, redact_url, redacted_logs

log = logging.getLogger(__name__)
MAX_RETRY_PAUSE = dt.timedelta(hours=6)
PARALLEL = 4


@dataclass
class Delivery:
    """The outcome of one delivery pass for one alert and recipient."""

    key: str
    kind: str
    recipient: str  # redacted
    delivered: bool
    attempts: int  # all attempts so far, over every pass
    error: str | None
    abandoned: bool = False


def journal_path(warehouse: Path) -> Path:
    """The delivery journal beside a warehouse file."""
    return warehouse.with_name(warehouse.name + ".deliveries.jsonl")


def _with_timeouts(url: str, seconds: float) -> str:
    query = dict(parse_qsl(urlsplit(url).query))
    extra = [f"{k}={seconds:g}" for k in ("cto", "rto") if k not in query]
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(extra)


def deliver(url: str, title: str, body: str, settings: Settings) -> tuple[bool, int, str | None]:
    """Send one message now, with ``settings.attempts`` quick tries; (delivered, tries, redacted error).

    The text is declared plain (apprise escapes it for each target's markup: Slack's ``<!channel>``,
    Markdown, HTML), its control characters are shown escaped, and ``@`` becomes ``＠`` so that no text
    can mention ``@all`` in a chat group. Never raises.
    """
    import apprise

    title = printable(title).replace("@", "＠")
    body = "\n".join(printable(line) for line in body.split("\n")).replace("@", "＠")
    error: str | None = None
    tries = 0
    with redacted_logs([url]):
        for tries in range(1, settings.attempts + 1):
            try:
                sender = apprise.Apprise()
                if not sender.add(_with_timeouts(url, settings.timeout_seconds)):
                    return False, tries, f"apprise does not accept this URL: {redact_url(url)}"
                with apprise.LogCapture(level=logging.WARNING) as captured:
                    ok = bool(sender.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT))
                if ok:
                    return True, tries, None
                error = captured.getvalue().strip() or "delivery failed"  # type: ignore[union-attr]
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if tries < settings.attempts:
                time.sleep(settings.backoff_seconds * tries)
    return False, tries, redact_text(error or "delivery failed", [url])[-500:]


# ---------------------------------------------------------------- the journal

def _read_journal(path: Path) -> dict[tuple[str, str], dict[str, object]]:
    """The latest line per (alert key, recipient id); a line cut short by a crash is skipped, a damaged
    one set aside."""
    def parse(line: str) -> tuple[tuple[str, str], dict[str, object]]:
        rec = json.loads(line)
        return (str(rec["key"]), str(rec["rid"])), rec

    state: dict[tuple[str, str], dict[str, object]] = {}
    for key, rec in read_journal(path, parse):
        state[key] = {**state.get(key, {}), **rec}
    return state


def _append(path: Path, lines: list[dict[str, object]]) -> None:
    append_lines(path, [json.dumps(rec, ensure_ascii=False, default=str) for rec in lines])


def _rewrite(path: Path, keep: list[dict[str, object]]) -> None:
    data = "".join(json.dumps(rec, ensure_ascii=False, default=str) + "\n" for rec in keep).encode("utf-8")
    write_bytes(path.parent, path.name, data)


class _PassLock:
    """One writer of the journal at a time per warehouse; ``wait`` seconds for it (0: a second pass skips)."""

    def __init__(self, warehouse: Path, wait: float = 0.0):
        self.path = warehouse.with_name(warehouse.name + ".deliveries.lock")
        self.wait = wait
        self.fh: TextIO | None = None

    def __enter__(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "a+")
        return flock(self.fh, self.wait)

    def __exit__(self, *exc: object) -> None:
        assert self.fh is not None
        self.fh.close()


# ---------------------------------------------------------------- passes

@dataclass
class _Pending:
    key: str
    rid: str
    kind: str
    recipient: str
    title: str
    body: str
    created_at: dt.datetime
    attempts: int
    last_attempt_at: dt.datetime | None


def _pending_rows(warehouse: Path) -> tuple[list[_Pending], set[tuple[str, str]]]:
    """Pending alerts of the published warehouse, and the (key, recipient) pairs it already holds."""
    from ecostat.store.warehouse import connect

    if not warehouse.exists():
        return [], set()
    with connect(warehouse, read_only=True) as con:
        rows = con.execute("""SELECT alert_key, recipient_id, kind, recipient, title, coalesce(body, title),
                                     created_at, attempts, last_attempt_at, status
                              FROM alerts""").fetchall()
    pending = [_Pending(*r[:9]) for r in rows if r[9] in ("pending", "retrying")]
    return pending, {(r[0], r[1]) for r in rows if r[9] not in ("pending", "retrying")}


def _due(p: _Pending, settings: Settings, now: dt.datetime) -> bool:
    """Whether a failed alert is due again: ``retry_after_minutes`` after its first failed pass, doubling
    with each further pass (a pass makes up to ``attempts`` quick tries)."""
    if p.attempts == 0 or p.last_attempt_at is None:
        return True
    passes = -(-p.attempts // settings.attempts)
    pause = dt.timedelta(minutes=settings.retry_after_minutes) * 2 ** (passes - 1)
    return now >= p.last_attempt_at + min(pause, MAX_RETRY_PAUSE)


def deliver_pending(warehouse: Path, settings: Settings, now: dt.datetime | None = None) -> list[Delivery]:
    """Send every pending alert that is due, journal each outcome, abandon those too old; returns the
    outcomes of this pass (none if another pass is running). Never raises."""
    try:
        with _PassLock(warehouse) as mine:
            if not mine:
                log.info("another process is delivering alerts; this pass is skipped")
                return []
            return _deliver_pending(warehouse, settings, now or dt.datetime.now(dt.UTC))
    except Exception as exc:
        log.warning("alert delivery pass failed: %s: %s", type(exc).__name__,
                    redact_text(str(exc), settings.all_urls()))
        return []


def _deliver_pending(warehouse: Path, settings: Settings, now: dt.datetime) -> list[Delivery]:
    path = journal_path(warehouse)
    journal = _read_journal(path)
    pending, settled = _pending_rows(warehouse)
    # lines the published warehouse already reflects are dropped; the rest wait for the next fold
    if any(k in settled for k in journal):
        _rewrite(path, [rec for k, rec in journal.items() if k not in settled])
    known = {(p.key, p.rid) for p in pending}
    for (key, rid), rec in journal.items():
        alert = rec.get("alert")
        if (key, rid) not in known and (key, rid) not in settled and isinstance(alert, dict):
            pending.append(_Pending(key, rid, str(alert["kind"]), str(alert["recipient"]), str(alert["title"]),
                                    str(alert["body"]), dt.datetime.fromisoformat(str(alert["created_at"])), 0, None))
    urls = {recipient_id(u): u for u in settings.all_urls()}
    out: list[Delivery] = []
    lines: list[dict[str, object]] = []
    todo: list[_Pending] = []
    for p in pending:
        seen = journal.get((p.key, p.rid), {})
        if seen.get("delivered") or seen.get("abandoned"):
            continue
        p.attempts = max(p.attempts, int(seen.get("attempts", 0)))  # type: ignore[call-overload]
        if seen.get("at"):
            p.last_attempt_at = dt.datetime.fromisoformat(str(seen["at"]))
        if now - p.created_at > dt.timedelta(hours=settings.max_age_hours):
            reason = f"older than {settings.max_age_hours:g} h / 超过最长重试时间"
            lines.append({"key": p.key, "rid": p.rid, "at": now.isoformat(), "attempts": p.attempts,
                          "delivered": False, "abandoned": True, "error": reason})
            out.append(Delivery(p.key, p.kind, p.recipient, False, p.attempts, reason, abandoned=True))
        elif p.rid not in urls:  # this process's settings lack the recipient (another one may have it)
            log.info("alert %s to %s left pending: its URL is not in these settings", p.key, p.recipient)
        elif _due(p, settings, now):
            todo.append(p)
    _append(path, lines)

    def send(p: _Pending) -> tuple[_Pending, tuple[bool, int, str | None]]:
        return p, deliver(urls[p.rid], p.title, p.body, settings)

    with ThreadPoolExecutor(PARALLEL) as pool:
        for done in as_completed([pool.submit(send, p) for p in todo]):
            p, (ok, tries, error) = done.result()
            attempts = p.attempts + tries
            _append(path, [{"key": p.key, "rid": p.rid, "at": dt.datetime.now(dt.UTC).isoformat(),
                            "attempts": attempts, "delivered": ok, "abandoned": False, "error": error}])
            out.append(Delivery(p.key, p.kind, p.recipient, ok, attempts, error))  # journaled as each one ends
            if not ok:
                log.warning("alert %s to %s not delivered (%d attempts): %s", p.key, p.recipient, attempts, error)
    return out


def send_unrecorded(alerts: list[Any], warehouse: Path, settings: Settings) -> list[Delivery]:
    """Deliver alerts at once without a warehouse transaction (a run that failed): each is journaled
    with its text, so that the next run records it in ``alerts`` and retries it if it failed."""
    now = dt.datetime.now(dt.UTC)
    lines: list[dict[str, object]] = []
    out = []
    for alert in alerts:
        for url in settings.recipients(alert.unit, operator_only=alert.operator_only):
            ok, tries, error = deliver(url, alert.title, alert.body, settings)
            line = _pending_line(alert, url, now)
            lines.append({**line, "at": dt.datetime.now(dt.UTC).isoformat(), "attempts": tries, "delivered": ok,
                          "abandoned": False, "error": error})
            out.append(Delivery(alert.key, alert.kind, redact_url(url), ok, tries, error))
    try:
        journal_lines(warehouse, lines)
    except OSError as exc:
        log.warning("alert outcomes not journaled (they will not be retried): %s", exc)
    return out


def _pending_line(alert: Any, url: str, now: dt.datetime) -> dict[str, object]:
    """The journal line of an alert to one recipient, not tried yet: its text, to be recorded in ``alerts``."""
    return {"key": alert.key, "rid": recipient_id(url),
            "alert": {"kind": alert.kind, "recipient": redact_url(url), "unit": alert.unit, "run_id": alert.run_id,
                      "title": alert.title, "body": alert.body, "created_at": now.isoformat()}}


def journal_lines(warehouse: Path, lines: list[dict[str, object]]) -> None:
    """Append lines to the delivery journal beside ``warehouse``, waiting for a delivery pass to end; raises
    :class:`OSError` if it stays locked."""
    with _PassLock(warehouse, wait=120) as mine:
        if not mine:
            raise OSError("the delivery journal stayed locked")
        _append(journal_path(warehouse), lines)


def recorded(con: duckdb.DuckDBPyConnection, warehouse: Path) -> set[tuple[str, str]]:
    """The (alert key, recipient id) pairs already recorded: in ``alerts`` of ``con`` (the published warehouse)
    or in the delivery journal beside it."""
    return {(str(k), str(r)) for k, r in con.execute("SELECT alert_key, recipient_id FROM alerts").fetchall()} | set(
        _read_journal(journal_path(warehouse)))


def pending_lines(alerts: list[Any], settings: Settings, known: set[tuple[str, str]]) -> list[dict[str, object]]:
    """What :func:`ecostat.notify.alerts.record` would record, for a process that does not write the warehouse:
    a pending line per alert and recipient, except the (key, recipient) pairs ``known`` (see :func:`recorded`).
    Appended to the journal (:func:`journal_lines`), they are sent by the next delivery pass and recorded in
    ``alerts`` by the next writer (:func:`fold`)."""
    now = dt.datetime.now(dt.UTC)
    return [_pending_line(a, url, now) for a in alerts
            for url in settings.recipients(a.unit, operator_only=a.operator_only)
            if (a.key, recipient_id(url)) not in known]


def _status(rec: dict[str, object]) -> str:
    if not rec.get("at"):  # a pending line (:func:`pending_lines`), not tried yet
        return "pending"
    return "delivered" if rec.get("delivered") else "abandoned" if rec.get("abandoned") else "retrying"


def journal_outcomes(warehouse: Path) -> dict[tuple[str, str], str]:
    """The outcomes journaled beside ``warehouse`` that its ``alerts`` table may not show yet (the next
    writing run folds them in): (alert key, recipient id) → delivered, retrying or abandoned."""
    return {k: _status(rec) for k, rec in _read_journal(journal_path(warehouse)).items()}


def fold(con: duckdb.DuckDBPyConnection, warehouse: Path) -> int:
    """Record the journal's outcomes in ``alerts`` (in the caller's transaction); returns how many.
    Idempotent: the journal is trimmed only by a delivery pass, once the published warehouse shows them."""
    journal = _read_journal(journal_path(warehouse))
    for (key, rid), rec in journal.items():
        record_line(con, {**rec, "key": key, "rid": rid})
        if not rec.get("at"):
            continue  # pending: nothing tried yet
        status = _status(rec)
        con.execute("""UPDATE alerts SET attempts = greatest(attempts, ?), delivered = ?, status = ?, last_error = ?,
                              last_attempt_at = ?, sent_at = CASE WHEN ? THEN ? ELSE sent_at END
                       WHERE alert_key = ? AND recipient_id = ? AND status IS DISTINCT FROM 'delivered'""",
                    [rec.get("attempts", 0), bool(rec.get("delivered")), status, rec.get("error"), rec.get("at"),
                     bool(rec.get("delivered")), rec.get("at"), key, rid])
    return len(journal)


def record_line(con: duckdb.DuckDBPyConnection, line: dict[str, object]) -> None:
    """Record the alert a journal line carries (if any) as pending in ``alerts``, unless its (key, recipient)
    is there already (in the caller's transaction)."""
    alert, key, rid = line.get("alert"), line["key"], line["rid"]
    if isinstance(alert, dict):
        con.execute("""INSERT INTO alerts (alert_key, recipient_id, kind, recipient, unit_code, run_id, title,
                                           body, attempts, delivered, created_at, status)
                       SELECT ?, ?, ?, ?, ?, ?, ?, ?, 0, false, ?, 'pending'
                       WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE alert_key = ? AND recipient_id = ?)""",
                    [key, rid, alert["kind"], alert["recipient"], alert.get("unit"), alert.get("run_id"),
                     alert["title"], alert["body"], alert["created_at"], key, rid])
