"""Process-wide settings: the ``ECOSTAT_*`` environment, validated (an unknown or malformed variable is
an error naming it), and the defaults that must be in place before Prefect or Great Expectations is
imported: no telemetry, a startup timeout long enough for a first ephemeral Prefect server, and
Prefect's state kept in the project (git-ignored) unless told otherwise."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "DASK_LOGGING__DISTRIBUTED": "warning",  # Dask's cluster and workers (ecostat.run.parallel): warnings only
}
PREFIX = "ECOSTAT_"
MB = 1024 * 1024


class Environment(BaseModel):
    """Every ``ECOSTAT_*`` variable ecostat reads (names without the prefix, lower case)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    settings: str | None = None  # the settings file (default: ecostat.toml beside raw/)
    schedule: str | None = None  # replaces the settings' cron
    alert_urls: list[str] = []  # space-separated apprise URLs added to the operator's
    max_file_mb: float = Field(default=20.0, gt=0)  # the largest file received and read
    max_unzipped_mb: float = Field(default=200.0, gt=0)  # the largest unpacked xlsx or decompressed parquet
    max_rows: int = Field(default=3_000_000, gt=0)  # the most rows of one table
    max_cells: int = Field(default=20_000_000, gt=0)  # the most rows × columns of one table
    max_file_seconds: float = Field(default=300.0, gt=0)  # the time budget for checking one file
    fault: str | None = None  # crash tests only: kill the process at this point (ecostat.common.faults)
    registry_dir: str | None = None  # another folder of registry CSVs (read by ecostat.contract.registry at import)
    workers: int | None = Field(default=None, ge=1)  # `ecostat ingest --workers`' default (ecostat.run.parallel)
    dask_address: str | None = None  # an existing Dask scheduler that checks the files (ecostat.run.parallel)
    deployment: str | None = None  # `ingest/<name>`: the portal starts its runs on it (ecostat.run.deployment)
    check_processes: int | None = Field(default=None, ge=0)  # sandboxed checking children (0: in the writer)
    check_memory_mb: float = Field(default=4096.0, gt=0)  # each checking child's address space (RLIMIT_AS)
    group_files: int = Field(default=64, ge=1)  # files applied in one warehouse transaction at most (group commit)
    group_seconds: float = Field(default=2.0, gt=0)  # how long one group of files may take before it commits


class SettingsError(ValueError):
    """The settings file or an ``ECOSTAT_*`` variable holds an unknown key or a bad value."""


def environment() -> Environment:
    """The ``ECOSTAT_*`` variables, validated (again whenever they change: tests change them)."""
    return _validated(tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX))))


@lru_cache(maxsize=8)
def _validated(variables: tuple[tuple[str, str], ...]) -> Environment:
    found = {k[len(PREFIX):].lower(): v for k, v in variables}
    if "alert_urls" in found:
        found["alert_urls"] = found["alert_urls"].split()  # type: ignore[assignment]
    try:
        return Environment.model_validate(found)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = PREFIX + str(err["loc"][0]).upper()
            problems.append(f"unknown environment variable {name} / 未知环境变量" if err["type"] == "extra_forbidden"
                            else f"environment variable {name}: {err['msg']}" + (
                                "" if name == "ECOSTAT_ALERT_URLS" else f" (got {err.get('input')!r})"))
        raise SettingsError("\n".join(problems)) from None


def apply(prefect_home: Path | None = None) -> None:
    """Set the defaults above (an explicit environment variable wins)."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("PREFECT_HOME", str(prefect_home or Path.cwd() / ".prefect"))


def max_file_bytes() -> int:
    """The largest file received and read, from ``ECOSTAT_MAX_FILE_MB`` (default 20 MB)."""
    return int(environment().max_file_mb * MB)


def max_unzipped_bytes() -> int:
    """The largest total uncompressed size of an xlsx's members, or of a parquet file's data, from
    ``ECOSTAT_MAX_UNZIPPED_MB`` (default 200 MB): beyond it the file is not parsed."""
    return int(environment().max_unzipped_mb * MB)


def max_rows() -> int:
    """The most rows one table may have, from ``ECOSTAT_MAX_ROWS`` (default 3,000,000)."""
    return environment().max_rows


def max_cells() -> int:
    """The most cells (rows × columns) one table may span, from ``ECOSTAT_MAX_CELLS`` (default 20,000,000)."""
    return environment().max_cells


def max_file_seconds() -> float:
    """The time budget for reading and checking one file, from ``ECOSTAT_MAX_FILE_SECONDS`` (default 300 s)."""
    return environment().max_file_seconds


def check_processes() -> int:
    """How many sandboxed child processes check the received files (:mod:`ecostat.run.sandbox`), from
    ``ECOSTAT_CHECK_PROCESSES`` (default: 2, or 1 on a one-core machine); 0 checks them in the writer itself
    (for debugging only: a hostile file can then hold or kill the writer)."""
    found = environment().check_processes
    return min(2, os.cpu_count() or 1) if found is None else found


def check_memory_bytes() -> int:
    """Each checking child's address-space limit, from ``ECOSTAT_CHECK_MEMORY_MB`` (default 4096 MB: a table of
    2,000,000 rows takes up to 2 GB of address space to check, and ``ECOSTAT_MAX_ROWS`` admits 3,000,000)."""
    return int(environment().check_memory_mb * MB)


def group_files() -> int:
    """The most files one warehouse transaction applies (group commit, :mod:`ecostat.run.groups`), from
    ``ECOSTAT_GROUP_FILES`` (default 64; 1 commits every file alone)."""
    return environment().group_files


def group_seconds() -> float:
    """How long a group of files may take before it commits, from ``ECOSTAT_GROUP_SECONDS`` (default 2 s)."""
    return environment().group_seconds
