"""The operator's settings: the schedule of the ingest run and who is alerted about what.

They live in one TOML file (``ecostat.toml`` beside the raw folder, or the file named by
``ECOSTAT_SETTINGS``; ``ecostat.example.toml`` shows every key). Environment variables win:
``ECOSTAT_SCHEDULE`` replaces the cron schedule, ``ECOSTAT_ALERT_URLS`` (space-separated apprise
URLs) is added to the city operator's URLs. URLs hold tokens: never log or store them unredacted
(:func:`ecostat.alerts.redact_url`).
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETTINGS_FILE = "ecostat.toml"
DEFAULT_SCHEDULE = "*/30 * * * *"


@dataclass(frozen=True)
class Deadline:
    """A form's report for a period is due from every unit that must submit it by ``due``."""

    form: str
    period: str
    due: dt.date


@dataclass
class Settings:
    """Schedule and alert options (see ``ecostat.example.toml``)."""

    schedule: str = DEFAULT_SCHEDULE
    operator_urls: list[str] = field(default_factory=list)
    unit_urls: dict[str, list[str]] = field(default_factory=dict)
    on_rejection: bool = True
    on_warnings: bool = False
    on_failed_run: bool = True
    on_audit_failure: bool = True
    deadlines: list[Deadline] = field(default_factory=list)
    attempts: int = 3
    backoff_seconds: float = 1.0
    timeout_seconds: float = 5.0
    source: Path | None = None

    def recipients(self, unit: str | None) -> list[str]:
        """The URLs alerted about a unit: the city operator's, then the unit's own contacts."""
        urls = [*self.operator_urls, *(self.unit_urls.get(unit, []) if unit else [])]
        return list(dict.fromkeys(urls))


def settings_path(raw: Path | None = None) -> Path | None:
    """The settings file in use: ``ECOSTAT_SETTINGS``, else ``ecostat.toml`` beside the raw folder."""
    named = os.environ.get("ECOSTAT_SETTINGS")
    if named:
        return Path(named)
    candidate = (raw.resolve().parent if raw is not None else Path.cwd()) / SETTINGS_FILE
    return candidate if candidate.is_file() else None


def load_settings(raw: Path | None = None, path: Path | None = None) -> Settings:
    """Read the settings file (if any) and apply the environment overrides."""
    path = path or settings_path(raw)
    data: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    alerts = data.get("alerts", {})
    out = Settings(
        schedule=data.get("schedule", {}).get("cron", DEFAULT_SCHEDULE),
        operator_urls=_urls(alerts.get("operator_urls", [])),
        unit_urls={str(k): _urls(v) for k, v in alerts.get("units", {}).items()},
        on_rejection=bool(alerts.get("on_rejection", True)),
        on_warnings=bool(alerts.get("on_warnings", False)),
        on_failed_run=bool(alerts.get("on_failed_run", True)),
        on_audit_failure=bool(alerts.get("on_audit_failure", True)),
        deadlines=[Deadline(str(d["form"]), str(d["period"]), _date(d["due"]))
                   for d in alerts.get("deadlines", [])],
        attempts=max(1, int(alerts.get("attempts", 3))),
        backoff_seconds=float(alerts.get("backoff_seconds", 1.0)),
        timeout_seconds=float(alerts.get("timeout_seconds", 5.0)),
        source=path,
    )
    out.schedule = os.environ.get("ECOSTAT_SCHEDULE") or out.schedule
    out.operator_urls = list(dict.fromkeys([*out.operator_urls,
                                            *os.environ.get("ECOSTAT_ALERT_URLS", "").split()]))
    return out


def _urls(value: object) -> list[str]:
    """A list of URLs from a list or a space-separated string."""
    items = value.split() if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    return [str(u) for u in items if str(u).strip()]


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
