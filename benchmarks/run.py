"""The throughput benchmark (issues 13 and 21): ``python -m benchmarks.run [--scale small|city|province]
[--workers N] [--only big-csv] [--out FILE]``. With ``--workers N``, ``ecostat ingest --workers N`` is measured
too, against the serial flow of the same run (``--workers 1``: one process checks the files); ``--only big-csv``
generates and measures the big CSVs alone.

It generates its loads into a temporary folder (:mod:`benchmarks.loads`), then runs every measure
and every baseline in one run, each as its own process, so that each has its own wall time and its
own peak RSS (that of the process or of the largest process it started, from ``wait4`` in a small
launcher, :mod:`benchmarks.child`). It prints each measure with its ratio to the baseline the issue
names, the goal and whether it is met, and writes the results as JSON. Ratios, not seconds, are what
compare across machines; the seconds are of whole processes (start, imports and work), for
baselines and measures alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from benchmarks.loads import SCALES, Load, generate

ROOT = Path(__file__).resolve().parent.parent
MEASURES = ("calamine_floor", "openpyxl_floor", "duckdb_read_csv", "empty_flow", "ingest_no_prefect",
            "rebuild", "ingest_prefect", "check_only_1", "check_only_2", "ingest_noop", "big_csv_no_prefect",
            "office_csv_no_prefect", "validate_1000_rows")
BIG_CSV = ("duckdb_read_csv", "big_csv_no_prefect", "office_csv_no_prefect")  # what --only big-csv measures
RSS_LIMIT_MB = 1536  # issue 13: a 2,000,000-row CSV under 1.5 GB
CHECKS_SPEEDUP = 1.8  # issue 21: the sandbox with 2 processes checks ≥ 1.8× as fast as with 1
LOCK_HELD = re.compile(r"write lock held ([\d.]+) s")  # in `ecostat ingest`'s summary (ecostat.run.summary)


@dataclass
class Measured:
    """One process: its wall time, peak RSS and exit code."""

    name: str
    seconds: float
    peak_rss_mb: float
    exit_code: int
    files: int
    command: str
    log_tail: str = ""
    lock_seconds: float | None = None  # the write lock's time, as `ecostat ingest` reported it
    process_seconds: float | None = None  # the whole process's, when ``seconds`` times only part of it

    @property
    def lock_per_file(self) -> float | None:
        """Seconds the write lock was held per file."""
        return None if self.lock_seconds is None or not self.files else self.lock_seconds / self.files

    @property
    def per_file(self) -> float:
        """Seconds per file."""
        return self.seconds / max(self.files, 1)


@dataclass
class Goal:
    """A measure against its baseline, and the goal of issue 13."""

    measure: str
    baseline: str
    value: float
    unit: str   # "x" (a ratio) or "ms/file" or "MB"
    goal: float | None
    met: bool | None
    at_least: bool = False  # the goal is a floor (a speed-up), not a ceiling


def measure(name: str, argv: list[str], *, env: dict[str, str], cwd: Path, files: int) -> Measured:
    """Run one process to its end through :mod:`benchmarks.child`: its wall time and the peak RSS of it
    and of the largest process it started."""
    log, result = cwd / f"{name}.log", cwd / f"{name}.json"
    print(f"  {name} ({files} files) …", file=sys.stderr, flush=True)
    with open(log, "wb") as out:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "child.py"), str(result), *argv],
                       env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=True)
    m = json.loads(result.read_text(encoding="utf-8"))
    text = log.read_text(errors="replace")
    held = LOCK_HELD.findall(text)
    return Measured(name, round(m["seconds"], 3), round(m["peak_rss_kb"] / 1024, 1), m["exit_code"], files,
                    " ".join(Path(a).name if a == sys.executable else a for a in argv),
                    "" if m["exit_code"] == 0 else text[-2000:], float(held[-1]) if held else None)


def sandbox_measure(name: str, folder: Path, processes: int, *, env: dict[str, str], cwd: Path,
                    files: int) -> Measured:
    """The sandbox pool of ``processes`` children checking every file under ``folder`` (``benchmarks.floors
    sandbox``): its seconds are the checking's alone, timed in the process (the files are received into an
    archive before, and the pool started and warmed up), its files those timed."""
    timing = cwd / f"{name}.timing.json"
    out = measure(name, [sys.executable, "-m", "benchmarks.floors", "sandbox", str(folder), str(processes),
                         str(timing)], env=env, cwd=cwd, files=files)
    if out.exit_code == 0:
        inner = json.loads(timing.read_text(encoding="utf-8"))
        out.process_seconds, out.seconds, out.files = out.seconds, round(inner["seconds"], 3), inner["files"]
    return out


def child_env(work: Path, load: Load) -> dict[str, str]:
    """The environment of every measured process: no outside Prefect or ecostat settings, telemetry off,
    Prefect's state in the work folder, the load's registries, and a file limit that admits the big CSV."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ECOSTAT_"))}
    big = next(load.big.rglob("*.csv"))
    env.update(PREFECT_HOME=str(work / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               GX_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING",
               ECOSTAT_REGISTRY_DIR=str(load.registries),
               ECOSTAT_MAX_FILE_MB=str(max(20, 2 * big.stat().st_size // 2**20)),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    return env


def ecostat(*args: str | Path) -> list[str]:
    """An ``ecostat`` command line."""
    return [sys.executable, "-m", "ecostat.cli", *map(str, args)]


def statuses(warehouse: Path) -> dict[str, int]:
    """Tables per status in a warehouse's submission log."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(con.execute("SELECT status, count(*) FROM submission_log GROUP BY status").fetchall())


def loaded_rows(warehouse: Path, table: str) -> int:
    """Current rows of a fact table."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(f'SELECT count(*) FROM "{table}" WHERE is_current').fetchone()
    return int(row[0]) if row else 0


def fresh_raw(work: Path, name: str, source: Path) -> Path:
    """A raw folder whose inbox holds a copy of ``source`` (modification times kept: they set the order)."""
    raw = work / name / "raw"
    shutil.copytree(source, raw / "inbox")
    return raw


def run(scale_name: str, workers: int | None, work: Path, only: str | None = None) -> dict[str, object]:
    """Generate the loads under ``work``, run every measure (``only`` "big-csv": those of the big CSVs alone)
    and return the results."""
    scale = SCALES[scale_name]
    load_before = os.getloadavg()
    started = time.perf_counter()
    load = generate(work / "load", scale, workbooks=only is None)
    generated = time.perf_counter() - started
    env = child_env(work, load)
    py = sys.executable
    n = load.workbooks
    big_csv = next(load.big.rglob("*.csv"))
    print(f"{scale.name}: {n} workbooks, {load.tables} tables, a {load.csv_rows}-row csv "
          f"(generated in {generated:.1f} s); measuring:", file=sys.stderr)

    m: dict[str, Measured] = {}
    checks: dict[str, dict[str, object]] = {}
    warmup = None
    if only is None:
        m["calamine_floor"] = measure("calamine_floor", [py, "-m", "benchmarks.floors", "calamine", str(load.many),
                                                         str(work / "calamine.duckdb")], env=env, cwd=work, files=n)
        m["openpyxl_floor"] = measure("openpyxl_floor", [py, "-m", "benchmarks.floors", "openpyxl", str(load.many),
                                                         str(work / "openpyxl.duckdb")], env=env, cwd=work, files=n)
    m["duckdb_read_csv"] = measure("duckdb_read_csv", [py, "-m", "benchmarks.floors", "read_csv", str(big_csv),
                                                       str(work / "read_csv.duckdb")], env=env, cwd=work, files=1)
    if only is None:
        checks.update(_workbooks(m, load, workers, work, env))
        warmup = m.pop("prefect_warmup").seconds
    big = fresh_raw(work, "big", load.big)
    big_db = big.parent / "ecostat.duckdb"
    m["big_csv_no_prefect"] = measure("big_csv_no_prefect", ecostat("ingest", "--no-prefect", "--raw", big,
                                                                     "--warehouse", big_db),
                                      env=env, cwd=work, files=1)
    office = fresh_raw(work, "office", load.office)  # the same rows as Excel on Windows saves them
    office_db = office.parent / "ecostat.duckdb"
    m["office_csv_no_prefect"] = measure("office_csv_no_prefect", ecostat("ingest", "--no-prefect", "--raw", office,
                                                                           "--warehouse", office_db),
                                         env=env, cwd=work, files=1)
    if only is None:
        m["validate_1000_rows"] = measure("validate_1000_rows", ecostat(
            "validate", load.validate_xlsx, "--unit", "360100", "--warehouse", work / "none.duckdb"),
            env=env, cwd=work, files=1)
    checks["big_csv_no_prefect"] = _check({"rows": load.csv_rows},
                                          lambda: {"rows": loaded_rows(big_db, "fact_water_sections")})
    checks["office_csv_no_prefect"] = _check({"rows": load.csv_rows},
                                             lambda: {"rows": loaded_rows(office_db, "fact_water_sections")})
    return {
        "scale": asdict(scale), "only": only,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_start": load_before, "load_average_at_end": os.getloadavg()},
        "workers": {"requested": workers},
        "load": {"workbooks": n, "tables": load.tables, "accepted": load.accepted, "rejected": load.rejected,
                 "superseded": load.superseded, "csv_rows": load.csv_rows, "units": len(load.units),
                 "generated_seconds": round(generated, 1)},
        "prefect_warmup_seconds": warmup,
        "measures": {k: {**asdict(v), "per_file": round(v.per_file, 4),
                         "lock_per_file": None if v.lock_per_file is None else round(v.lock_per_file, 4)}
                     for k, v in m.items()},
        # a measure whose outcome differs from the load's (a rejected big CSV, say) meets no goal
        "goals": [{**asdict(g), "met": g.met and checks.get(g.measure, {"ok": True})["ok"]}
                  for g in goals(m, n, scale.csv_rows)],
        "checks": checks,
    }


def _workbooks(m: dict[str, Measured], load: Load, workers: int | None, work: Path,
               env: dict[str, str]) -> dict[str, dict[str, object]]:
    """The measures of the many workbooks (into ``m``, with ``prefect_warmup``); returns their outcome checks."""
    py, n = sys.executable, load.workbooks
    # Prefect's first temporary server also creates its database: warm up once, unmeasured
    m["prefect_warmup"] = measure("prefect_warmup", [py, "-m", "benchmarks.floors", "empty_flow"], env=env, cwd=work,
                                  files=0)
    m["empty_flow"] = measure("empty_flow", [py, "-m", "benchmarks.floors", "empty_flow"], env=env, cwd=work,
                              files=0)
    plain = fresh_raw(work, "plain", load.many)
    plain_db = plain.parent / "ecostat.duckdb"
    m["ingest_no_prefect"] = measure("ingest_no_prefect", ecostat("ingest", "--no-prefect", "--raw", plain,
                                                                  "--warehouse", plain_db),
                                     env=env, cwd=work, files=n)
    m["rebuild"] = measure("rebuild", ecostat("rebuild", "--raw", plain, "--warehouse", plain_db, "--to",
                                              work / "rebuilt" / "ecostat.duckdb"), env=env, cwd=work, files=n)
    flow = fresh_raw(work, "flow", load.many)
    flow_db = flow.parent / "ecostat.duckdb"
    m["ingest_prefect"] = measure("ingest_prefect", ecostat("ingest", "--raw", flow, "--warehouse", flow_db),
                                  env=env, cwd=work, files=n)
    for processes in (1, 2):  # the sandbox's checks alone, the same receipts, one and two children
        name = f"check_only_{processes}"
        m[name] = sandbox_measure(name, load.many, processes, env=env, cwd=work, files=n)
    if workers is not None:  # the same flow with `--workers N`, and with `--workers 1`: the checks in series
        for name in ("ingest_workers", "ingest_serial"):
            raw = fresh_raw(work, name, load.many)
            count = str(workers if name == "ingest_workers" else 1)
            m[name] = measure(name, ecostat("ingest", "--raw", raw, "--warehouse", raw.parent / "ecostat.duckdb",
                                            "--workers", count), env=env, cwd=work, files=n)
    m["ingest_noop"] = measure("ingest_noop", ecostat("ingest", "--raw", flow, "--warehouse", flow_db),
                               env=env, cwd=work, files=0)
    expected = {"accepted": load.accepted, "rejected": load.rejected, "superseded": load.superseded}
    checks = {
        "ingest_no_prefect": _check(expected, lambda: statuses(plain_db)),
        "rebuild": _check(expected, lambda: statuses(work / "rebuilt" / "ecostat.duckdb")),
        "ingest_prefect": _check(expected, lambda: statuses(flow_db)),
    }
    if workers is not None:
        for name in ("ingest_workers", "ingest_serial"):
            checks[name] = _check(expected, partial(statuses, work / name / "ecostat.duckdb"))
    return checks


def _check(expected: dict[str, int], observe) -> dict[str, object]:  # type: ignore[no-untyped-def]
    try:
        seen = observe()
    except Exception as exc:  # a measure that failed leaves no warehouse: say so in the results
        seen = {"error": f"{type(exc).__name__}: {exc}"}
    return {"expected": expected, "seen": seen, "ok": all(seen.get(k, 0) == v for k, v in expected.items())}


def goals(m: dict[str, Measured], files: int, csv_rows: int) -> list[Goal]:
    """Each measure against its baseline and its goal in issues 13 and 21 (None: no goal, shown for reference);
    only those whose measures ran."""
    def ratio(a: str, b: str, goal: float | None, per_file: bool = False) -> Goal:
        va, vb = (m[a].per_file, m[b].per_file) if per_file else (m[a].seconds, m[b].seconds)
        value = va / vb if vb else float("inf")
        return Goal(a, b, round(value, 2), "x", goal, None if goal is None else value <= goal)

    def speedup(a: str, b: str, label: str, goal: float) -> Goal:  # throughput of a against b: higher is better
        value = m[b].per_file / m[a].per_file if m[a].per_file else float("inf")
        return Goal(a, label, round(value, 2), "x", goal, value >= goal, at_least=True)

    out = []
    if "ingest_prefect" in m:
        # the flow's cost per file beyond its fixed start (a run with nothing new) and beyond the plain steps
        added = (m["ingest_prefect"].seconds - m["ingest_noop"].seconds - m["ingest_no_prefect"].seconds) / \
            max(files, 1)
        out += [
            ratio("ingest_no_prefect", "calamine_floor", 5.0),
            ratio("openpyxl_floor", "calamine_floor", None),
            Goal("ingest_prefect", "ingest_noop + ingest_no_prefect", round(added * 1000, 1), "ms/file", 10.0,
                 added * 1000 <= 10.0),
            ratio("ingest_noop", "empty_flow", 1.2),
            ratio("rebuild", "ingest_no_prefect", 1.0, per_file=True),
            speedup("check_only_2", "check_only_1", "throughput: check_only_1 ÷ it", CHECKS_SPEEDUP),
        ]
    out += [ratio("big_csv_no_prefect", "duckdb_read_csv", 10.0),
            ratio("office_csv_no_prefect", "duckdb_read_csv", 10.0)]
    if "ingest_workers" in m:  # throughput of `--workers N` against the serial flow (`--workers 1`): never slower
        fanned, serial, noop = m["ingest_workers"].seconds, m["ingest_serial"].seconds, m["ingest_noop"].seconds
        default = m["ingest_prefect"].per_file / m["ingest_workers"].per_file
        out += [speedup("ingest_workers", "ingest_serial", "throughput: ingest_serial ÷ it", 1.0),
                Goal("ingest_workers", "the same beyond ingest_noop", round((serial - noop) / (fanned - noop), 2),
                     "x", None, None),
                # the flow without --workers: ECOSTAT_CHECK_PROCESSES children, 2 here (the same as --workers 2)
                Goal("ingest_workers", "throughput: ingest_prefect ÷ it", round(default, 2), "x", None, None,
                     at_least=True)]
    if csv_rows >= 2_000_000:
        rss = m["big_csv_no_prefect"].peak_rss_mb
        out.append(Goal("big_csv_no_prefect", "peak RSS", rss, "MB", RSS_LIMIT_MB, rss < RSS_LIMIT_MB))
    return out


def table(results: dict[str, object]) -> str:
    """The results as a text table: every measure, then every goal."""
    measures: dict[str, dict[str, object]] = results["measures"]  # type: ignore[assignment]
    lines = [f"{'measure':22} {'seconds':>9} {'per file':>10} {'peak RSS':>10}  exit  {'lock/file':>9}",
             *(f"{k:22} {v['seconds']:9.2f} {_ms(v):>10} {v['peak_rss_mb']:>7.0f} MB  {v['exit_code']:>4}  "
               f"{_lock(v):>9}" for k, v in measures.items()),
             "", f"{'measure':22} {'against':34} {'value':>11} {'goal':>11}  met"]
    for g in results["goals"]:  # type: ignore[attr-defined]
        goal = "—" if g["goal"] is None else f"< {g['goal']:g} MB" if g["unit"] == "MB" else \
            f"{'≥' if g['at_least'] else '≤'} {g['goal']:g} {g['unit']}"
        met = "—" if g["met"] is None else "yes" if g["met"] else "NO"
        lines.append(f"{g['measure']:22} {g['baseline']:34} {g['value']:>9g} {g['unit']:<2} {goal:>11}  {met}")
    checks: dict[str, dict[str, object]] = results["checks"]  # type: ignore[assignment]
    bad = [k for k, c in checks.items() if not c["ok"]]
    lines += ["", "outcome checks: " + ("all as generated" if not bad else f"DIFFER for {', '.join(bad)}")]
    return "\n".join(lines)


def _lock(v: dict[str, object]) -> str:
    """The write lock's time per file, or in all for a run of no file or one."""
    each, held = v.get("lock_per_file"), v.get("lock_seconds")
    if each is not None and int(v["files"]) > 1:  # type: ignore[call-overload]
        return f"{float(each) * 1000:.1f} ms"  # type: ignore[arg-type]
    return "" if held is None else f"{float(held):.1f} s"  # type: ignore[arg-type]


def _ms(v: dict[str, object]) -> str:
    files = int(v["files"])  # type: ignore[call-overload]
    return f"{float(v['per_file']) * 1000:.1f} ms" if files > 1 else ""  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a measured process failed or an outcome differs from the load's."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=sorted(SCALES), default="city")
    ap.add_argument("--workers", type=int, help="also measure `ecostat ingest --workers N` against the "
                                                "serial flow (`--workers 1`)")
    ap.add_argument("--only", choices=["big-csv"], help="big-csv: generate and measure only the big CSV, "
                                                        "duckdb_read_csv and the office CSV (the 2,000,000-row "
                                                        "CSV of --scale province in minutes)")
    ap.add_argument("--out", type=Path, help="the JSON results (default: benchmark-<scale>.json)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (loads, warehouses, logs)")
    args = ap.parse_args(argv)
    if args.only and args.workers:
        ap.error("--workers measures the workbooks: not with --only big-csv")
    work = Path(tempfile.mkdtemp(prefix=f"ecostat-bench-{args.scale}-"))
    try:
        results = run(args.scale, args.workers, work, args.only)
    finally:
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    out: Path = args.out or Path(f"benchmark-{args.scale}{'-' + args.only if args.only else ''}.json")
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nresults: {out}")
    failed = [k for k, v in results["measures"].items() if v["exit_code"] != 0]  # type: ignore[attr-defined]
    for k in failed:
        print(f"\n{k} failed:\n{results['measures'][k]['log_tail']}", file=sys.stderr)  # type: ignore[index]
    return 1 if failed or not all(c["ok"] for c in results["checks"].values()) else 0  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
