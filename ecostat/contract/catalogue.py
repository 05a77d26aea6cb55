"""The rule catalogue (``schemas/rules.toml``) and the findings made from it."""

from __future__ import annotations

import string
import tomllib
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ecostat.common.display import printable

RULES_FILE = Path(__file__).resolve().parents[2] / "schemas" / "rules.toml"
SEVERITIES = ("error", "warning")


@dataclass(frozen=True)
class Rule:
    """One catalogue entry: a rule id with its severity, stage and bilingual message, and an
    optional hint added to the message when the finding has the hint's parameters."""

    id: str
    severity: str
    stage: str
    zh: str
    en: str
    hint_zh: str = ""
    hint_en: str = ""
    needs_explanation: bool = False  # a warning the unit must explain before its report is approved (§8)

    def hint_applies(self, params: dict[str, object]) -> bool:
        """Whether the finding's parameters fill every placeholder of the hint."""
        names = {name for _, name, _, _ in string.Formatter().parse(self.hint_zh + self.hint_en) if name}
        return bool(self.hint_zh) and names <= params.keys()


@cache
def rules() -> dict[str, Rule]:
    """All rules of the catalogue, keyed by id."""
    data = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
    out = {rid: Rule(id=rid, **spec) for rid, spec in data.items()}
    for rule in out.values():
        if rule.severity not in SEVERITIES:
            raise ValueError(f"rule {rule.id}: unknown severity {rule.severity!r}")
        if rule.needs_explanation and rule.severity != "warning":
            raise ValueError(f"rule {rule.id}: only a warning can need an explanation")
    return out


def needs_explanation(rule_id: str) -> bool:
    """Whether a finding of ``rule_id`` must be explained before its slice can be approved (contract v3 §8)."""
    rule = rules().get(rule_id)
    return rule is not None and rule.needs_explanation


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


@dataclass
class Finding:
    """One thing wrong (or worth a warning) in a submission, located as the submitter sees it."""

    rule_id: str
    severity: str
    message_zh: str
    message_en: str
    file: str = ""
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    header: str | None = None
    value: str | None = None
    params: dict[str, object] = field(default_factory=dict, repr=False)

    def where(self) -> str:
        """The cell reference, e.g. ``信访3月.xlsx [Sheet1] C7`` (control characters shown escaped)."""
        parts = [printable(self.file) or "?"]
        if self.sheet:
            parts.append(f"[{printable(self.sheet)}]")
        cell = f"{self.column or ''}{self.row or ''}"
        if cell:
            parts.append(cell if self.column else f"第{self.row}行")
        return " ".join(parts)

    def as_record(self) -> dict[str, object]:
        """The finding as a flat dict (without the message parameters)."""
        rec = asdict(self)
        rec.pop("params")
        return rec


def finding(rule_id: str, *, row: int | None = None, column: str | None = None,
            header: str | None = None, value: object = None, **params: Any) -> Finding:
    """Make a finding for ``rule_id`` with its messages filled from the parameters."""
    rule = rules()[rule_id]
    shown = None if value is None else str(value)
    ctx = _Blank({k: printable(_fmt(v)) for k, v in params.items()})  # messages never carry control characters
    ctx.update(header=printable(header or ""), value=printable(shown if shown is not None else ""))
    zh, en = rule.zh, rule.en
    if rule.hint_applies(params):
        zh, en = f"{zh}。{rule.hint_zh}", f"{en}: {rule.hint_en}"
    return Finding(rule_id=rule.id, severity=rule.severity,
                   message_zh=zh.format_map(ctx), message_en=en.format_map(ctx),
                   row=row, column=column, header=header, value=shown, params=dict(params))


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return format_number(v)
    return str(v)


def format_number(v: float) -> str:
    """A float as a person would write it: no trailing zeros, at most 6 decimals."""
    if v != v:  # NaN
        return ""
    text = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class SeverityCounts:
    """Error and warning counts for anything that holds ``findings``."""

    findings: list[Finding]

    @property
    def errors(self) -> int:
        """Number of error findings."""
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        """Number of warning findings."""
        return sum(f.severity == "warning" for f in self.findings)
