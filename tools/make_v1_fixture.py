"""Build ``tests/fixtures/v1/``: a warehouse made by the code of contract v1 (commit 5537a61, the
schema version 1 baseline of ``warehouse/migrations/``) from the shipped samples, and the archive it
was built from, so that the upgrade tests can carry a real old warehouse forward and rebuild it.

The old code runs from a temporary ``git worktree`` of that commit with this venv's interpreter
(its dependencies are the same). What it does there, as an operator would:

1. ``ecostat ingest --no-prefect`` over the samples (an operator URL that refuses connections, so
   that the rejected tables leave rows in ``alerts``);
2. a second run: one sample dropped again byte for byte (a duplicate) and one re-serialised with
   the same values (it supersedes the first version's slice);
3. ``ecostat certify 2023`` and ``ecostat audit --year 2024``.

Output: ``ecostat.duckdb.gz`` (the warehouse file, gzipped: DuckDB leaves most of its 256 KiB blocks
empty) and ``archive/`` (manifest and objects). Run ``python tools/make_v1_fixture.py`` from the
repository root; it replaces the fixture.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

COMMIT = "5537a61"
ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "v1"
REFUSING_URL = "json://127.0.0.1:9/hook"  # the discard port: nothing listens, delivery fails at once
RESENT = "360105/湾里管理局2024年11月入河排污口整治.json"  # re-serialised: same values, new bytes
DUPLICATED = "360102/东湖区2023年度生态环境报表.xlsx"  # dropped again as it was


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command, echo it, fail loudly."""
    print("+", " ".join(args), flush=True)
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(args)}\n{out.stdout}\n{out.stderr}")
    return out.stdout


def old_ecostat(code: Path, tmp: Path, *args: str) -> str:
    """``ecostat`` as commit COMMIT had it (its checkout first on the import path)."""
    env = {**os.environ, "PYTHONPATH": str(code), "PREFECT_HOME": str(tmp / "prefect"),
           "ECOSTAT_SETTINGS": str(tmp / "ecostat.toml")}
    return run([sys.executable, "-m", "ecostat.cli", *args], cwd=code, env=env)


def build(tmp: Path) -> None:
    """Run the old code in ``tmp`` and copy its warehouse and archive into the fixture folder."""
    code = tmp / "code"
    run(["git", "worktree", "add", "--detach", str(code), COMMIT], cwd=ROOT)
    try:
        raw, db = tmp / "raw", tmp / "warehouse" / "ecostat.duckdb"
        (tmp / "ecostat.toml").write_text(
            f'[alerts]\noperator_urls = ["{REFUSING_URL}"]\nattempts = 1\nbackoff_seconds = 0\n'
            "timeout_seconds = 1\n", encoding="utf-8")
        shutil.copytree(code / "raw" / "samples", raw / "inbox")
        where = ["--raw", str(raw), "--warehouse", str(db)]
        print(old_ecostat(code, tmp, "ingest", "--no-prefect", *where))
        again = raw / "inbox" / RESENT
        again.parent.mkdir(parents=True, exist_ok=True)
        rows = json.loads((code / "raw" / "samples" / RESENT).read_text(encoding="utf-8"))
        again.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
        dup = raw / "inbox" / DUPLICATED.replace(".xlsx", "_再次报送.xlsx")
        shutil.copyfile(code / "raw" / "samples" / DUPLICATED, dup)
        print(old_ecostat(code, tmp, "ingest", "--no-prefect", *where))
        print(old_ecostat(code, tmp, "certify", "2023", "--by", "fixture", *where))
        print(old_ecostat(code, tmp, "audit", "--year", "2024", *where).splitlines()[0])
        if FIXTURE.exists():
            shutil.rmtree(FIXTURE)
        FIXTURE.mkdir(parents=True)
        with open(db, "rb") as src, gzip.open(FIXTURE / "ecostat.duckdb.gz", "wb", compresslevel=9) as dst:
            shutil.copyfileobj(src, dst)
        shutil.copytree(raw / "archive", FIXTURE / "archive", copy_function=shutil.copyfile)
        for path in (FIXTURE / "archive").rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
    finally:
        run(["git", "worktree", "remove", "--force", str(code)], cwd=ROOT)


def main() -> None:
    """Rebuild the fixture and print its size."""
    with tempfile.TemporaryDirectory(prefix="ecostat-v1-") as tmp:
        build(Path(tmp))
    size = sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file())
    print(f"{FIXTURE.relative_to(ROOT)}: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
