"""Decisions are inputs (contract v3 §8–§9): every explanation, approval and return — from the portal or
the CLI — is a record appended to the archive's decision journal (``raw/archive/decisions.jsonl``), one JSON
line each, fsync'd, under a lock so that the portal and the CLI never interleave. The one writer applies
the records it has not applied yet, in journal order (:mod:`ecostat.store.review`); ``ecostat rebuild``
replays the same journal and reaches the same states.

A record names the slice (form, unit, period) and its version: the receipt that brought the slice's
current table (``receipt_id``), so that a decision on a version later replaced stays with that version.
What can be judged without the warehouse is judged here, before anything is written: the kind, the
slice's form, an explanation's words (:func:`ecostat.contract.explanation.explanation_problem`) and a
return's reason. Whether the version is current, explained and not the approver's own is the writer's
business (it records a refused decision with why).

The portal and the CLI call :func:`record_decision`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ecostat.common.durable import append_lines, flock, read_journal, read_lines
from ecostat.contract.explanation import explanation_problem
from ecostat.contract.forms import FORMS

log = logging.getLogger(__name__)
JOURNAL = "decisions.jsonl"
LOCK = "decisions.lock"
KINDS = ("explanation", "approval", "return")
MIN_REASON = 5
_PERIOD = re.compile(r"^\d{4}(-\d{2})?$")
_PLAIN = re.compile(r"^[0-9A-Za-z_.@-]{1,64}$")


class DecisionRefused(ValueError):
    """A decision that may not be recorded; the message is Chinese, then English."""


@dataclass(frozen=True)
class Decision:
    """One explanation, approval or return of a slice's version, by an account.

    ``finding_key`` (an explanation's finding, as ``meta_review_warnings`` and the portal show it) and
    ``text`` (an explanation's words, a return's reason) as the kind needs; ``decision_id`` and ``at``
    are given by :func:`record_decision` when left empty."""

    kind: str
    form: str
    unit_code: str
    period: str
    receipt_id: str
    login: str
    text: str = ""
    finding_key: str | None = None
    decision_id: str = ""
    at: dt.datetime | None = field(default=None)

    @property
    def slice(self) -> str:
        """``form:unit:period``."""
        return f"{self.form}:{self.unit_code}:{self.period}"

    def as_json(self) -> str:
        """The journal line."""
        return json.dumps({**asdict(self), "at": self.at.isoformat() if self.at else None}, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Decision:
        """Inverse of :meth:`as_json`."""
        d = json.loads(line)
        return cls(**{**d, "at": dt.datetime.fromisoformat(d["at"]) if d.get("at") else None})


def problem(decision: Decision) -> str | None:
    """Why ``decision`` cannot be recorded whatever the warehouse holds (Chinese / English), or None."""
    d = decision
    if d.kind not in KINDS:
        return f"未知的决定类型“{d.kind}” / unknown kind {d.kind!r}: one of {', '.join(KINDS)}"
    if d.form not in FORMS or not _PLAIN.match(d.unit_code) or not _PERIOD.match(d.period):
        return (f"报表范围“{d.slice}”无法识别，应写作 报表:单位代码:报告期 / slice {d.slice!r} is not "
                "form:unit:period (e.g. petitions:360111:2024)")
    if not _PLAIN.match(d.receipt_id or ""):
        return f"版本“{d.receipt_id}”无法识别 / version {d.receipt_id!r} is not a receipt id"
    if not _PLAIN.match(d.login or ""):
        return f"账号“{d.login}”无法识别 / login {d.login!r} is not an account name"
    if d.kind == "explanation":
        if not d.finding_key or len(d.finding_key) > 500:
            return "说明须指明所说明的问题 / an explanation names the finding it explains"
        why = explanation_problem(d.text)
        if why is not None:
            return f"{why[0]} / {why[1]}"
    if d.kind == "return" and len((d.text or "").strip()) < MIN_REASON:
        return (f"退回须说明理由（至少 {MIN_REASON} 个字符） / a return needs a reason of at least {MIN_REASON} "
                "characters")
    if len(d.text or "") > 2000:
        return "文字过长（至多 2000 字） / the text is too long (at most 2000 characters)"
    return None


def record_decision(raw: Path, decision: Decision, wait_seconds: float = 10.0) -> Decision:
    """Append ``decision`` to the decision journal of ``raw``'s archive, durably, and return it as recorded
    (with its id and time). Raises :class:`DecisionRefused` for a decision that cannot stand."""
    why = problem(decision)
    if why is not None:
        raise DecisionRefused(why)
    done = replace(decision, text=(decision.text or "").strip(),
                   decision_id=decision.decision_id or uuid.uuid4().hex,
                   at=decision.at or dt.datetime.now(dt.UTC))
    archive = raw / "archive"
    archive.mkdir(parents=True, exist_ok=True, mode=0o750)
    with open(archive / LOCK, "a") as lock:
        if not flock(lock, wait_seconds):
            raise DecisionRefused("决定日志正被占用，请稍后再试 / the decision journal is busy: try again")
        append_lines(archive / JOURNAL, [done.as_json()])
    return done


def read_decisions(raw: Path) -> list[Decision]:
    """Every recorded decision, in journal order (a line cut short by a crash is left out; a damaged one is set
    aside beside the journal and the rest used)."""
    return read_journal(raw / "archive" / JOURNAL, Decision.from_json)


def accounts(raw: Path) -> dict[str, str]:
    """The portal account that submitted each receipt, where one did (a file dropped in the inbox has none)."""
    out = {}
    for line in read_lines(raw / "archive" / "manifest.jsonl"):
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if isinstance(d, dict) and isinstance(d.get("account"), str) and isinstance(d.get("receipt_id"), str):
            out[d["receipt_id"]] = d["account"]
    return out
