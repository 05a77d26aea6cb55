"""Programs pip cannot install (Debian's chromium, poppler-utils, PostgreSQL 15): a test that needs one
skips with a one-line reason where it is absent, as on a machine set up by the README alone. CI installs
them all (``.ci/run``), and there a skip is a failure (``tests/conftest.py``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def program_or_skip(*names: str, package: str) -> str:
    """The first of ``names`` found on PATH (or as a path); else the test skips naming the Debian package."""
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    pytest.skip(f"needs {names[0]}, not installed (apt-get install {package})")


def chromium_or_skip() -> str:
    """Headless chromium (the Data Docs and status site tests)."""
    return program_or_skip("chromium", "chromium-browser", package="chromium")


def poppler_or_skip(name: str) -> str:
    """A poppler tool: pdffonts, pdftotext or pdftoppm (the report's PDF tests)."""
    return program_or_skip(name, package="poppler-utils")


def postgres_or_skip() -> Path:
    """PostgreSQL 15's server programs (the deployment test)."""
    program_or_skip(str(PG_BIN / "initdb"), package="postgresql-15")
    return PG_BIN


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a child the test started: asked to end, killed if it has not within 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
