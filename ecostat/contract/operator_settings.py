"""The operator's settings: the schedule of the ingest run and who is alerted about what.

They live in one TOML file (``ecostat.toml`` beside the raw folder, or the file named by
``ECOSTAT_SETTINGS``; ``ecostat.example.toml`` shows every key) and are validated by pydantic models
that forbid unknown keys: a typo such as ``on_rejections`` or ``[alert]`` is an error naming the key
and the file. Environment variables win: ``ECOSTAT_SCHEDULE`` replaces the cron schedule,
``ECOSTAT_ALERT_URLS`` (space-separated apprise URLs) is added to the city operator's URLs; every
``ECOSTAT_*`` variable is checked too (:mod:`ecostat.common.environment`). URLs hold tokens: never log or store
them unredacted (:func:`ecostat.notify.alerts.redact_url`).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass

from ecostat.common.environment import SettingsError, environment

SETTINGS_FILE = "ecostat.toml"
DEFAULT_SCHEDULE = "*/30 * * * *"


def _url_list(value: object) -> object:
    """A list of URLs may be written as a list or as one space-separated string."""
    return value.split() if isinstance(value, str) else value


Urls = Annotated[list[str], BeforeValidator(_url_list)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Deadline:
    """A form's report for a period is due from every unit that must submit it by ``due``."""

    form: str
    period: str
    due: dt.date


class _ScheduleSection(_Strict):
    cron: str = DEFAULT_SCHEDULE


class _AlertsSection(_Strict):
    operator_urls: Urls = []
    units: dict[str, Urls] = {}
    on_rejection: bool = True
    on_warnings: bool = False
    on_failed_run: bool = True
    on_audit_failure: bool = True
    attempts: int = Field(default=2, ge=1, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)
    timeout_seconds: float = Field(default=5.0, gt=0)
    retry_after_minutes: float = Field(default=15.0, ge=0)
    max_age_hours: float = Field(default=72.0, gt=0)
    deadlines: list[Deadline] = []


class _SettingsFile(_Strict):
    schedule: _ScheduleSection = _ScheduleSection()
    alerts: _AlertsSection = _AlertsSection()


class Settings(BaseModel):
    """Schedule and alert options (see ``ecostat.example.toml``), flattened for use.

    ``attempts`` and ``backoff_seconds`` are the quick retries within one delivery; a delivery still
    failed is tried again by later runs, first after ``retry_after_minutes`` and then at doubling
    intervals, until it is ``max_age_hours`` old, when it is abandoned.
    """

    model_config = ConfigDict(extra="forbid")

    schedule: str = DEFAULT_SCHEDULE
    operator_urls: list[str] = []
    unit_urls: dict[str, list[str]] = {}
    on_rejection: bool = True
    on_warnings: bool = False
    on_failed_run: bool = True
    on_audit_failure: bool = True
    deadlines: list[Deadline] = []
    attempts: int = 2
    backoff_seconds: float = 1.0
    timeout_seconds: float = 5.0
    retry_after_minutes: float = 15.0
    max_age_hours: float = 72.0
    source: Path | None = None

    def recipients(self, unit: str | None, *, operator_only: bool = False) -> list[str]:
        """The URLs alerted about a unit: the city operator's, then the unit's own contacts."""
        own = [] if operator_only or not unit else self.unit_urls.get(unit, [])
        return list(dict.fromkeys([*self.operator_urls, *own]))

    def all_urls(self) -> list[str]:
        """Every configured URL, operator's and units'."""
        return list(dict.fromkeys([*self.operator_urls, *(u for urls in self.unit_urls.values() for u in urls)]))


def settings_path(raw: Path | None = None) -> Path | None:
    """The settings file in use: ``ECOSTAT_SETTINGS``, else ``ecostat.toml`` beside the raw folder."""
    named = environment().settings
    if named:
        if not Path(named).is_file():
            raise SettingsError(f"ECOSTAT_SETTINGS names {named}, which is not a file / 设置文件不存在")
        return Path(named)
    candidate = (raw.resolve().parent if raw is not None else Path.cwd()) / SETTINGS_FILE
    return candidate if candidate.is_file() else None


def describe(exc: ValidationError, where: str) -> str:
    """A pydantic error as one line per problem, naming each key by its dotted path."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key '{key}' / 未知设置项“{key}”")
        else:  # the value is not echoed where it may be an alert URL, which holds a token
            got = "" if key.startswith("alerts") else f" (got {err.get('input')!r})"
            lines.append(f"{where}: '{key}' {err['msg']}{got} / 设置项“{key}”取值无效")
    return "\n".join(lines)


def load_settings(raw: Path | None = None, path: Path | None = None) -> Settings:
    """Read and validate the settings file (if any) and apply the environment overrides.

    Raises :class:`SettingsError` naming the file and key of every problem.
    """
    env = environment()
    path = path or settings_path(raw)
    data: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise SettingsError(f"{path}: {exc}") from None
    try:
        parsed = _SettingsFile.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(describe(exc, str(path))) from None
    a = parsed.alerts
    from ecostat.contract.registry import registry

    problems = [f"{path}: 'alerts.units.{k}' is not a unit code / 不是单位代码" for k in a.units
                if registry("units").resolve(k) is None]
    problems += _deadline_problems(a.deadlines, path)
    if problems:
        raise SettingsError("\n".join(problems))
    return Settings(
        schedule=env.schedule or parsed.schedule.cron,
        operator_urls=list(dict.fromkeys([*a.operator_urls, *env.alert_urls])),
        unit_urls={registry("units").resolve(k).code: v for k, v in a.units.items()},  # type: ignore[union-attr]
        **a.model_dump(exclude={"operator_urls", "units"}),
        source=path,
    )



def _deadline_problems(deadlines: list[Deadline], path: Path | None) -> list[str]:
    """A deadline names a form of the contract and a period written as ``2024`` or ``2024-06``."""
    if not deadlines:
        return []
    from ecostat.contract.forms import FORMS  # the forms load pandera: only when there are deadlines to check
    from ecostat.contract.normalize import parse_period

    out = []
    for i, d in enumerate(deadlines):
        if d.form not in FORMS:
            out.append(f"{path}: 'alerts.deadlines[{i}].form' {d.form!r} is not a form ({', '.join(FORMS)})"
                       " / 不是报表代码")
        period = parse_period(d.period)
        if period is None or period.label != d.period:
            hint = f" (write {period.label!r})" if period else ""
            out.append(f"{path}: 'alerts.deadlines[{i}].period' {d.period!r} is not a period like 2024 or 2024-06"
                       f"{hint} / 报告期格式应为 2024 或 2024-06")
    return out
