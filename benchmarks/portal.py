"""The portal's benchmark (issue 18): ``python -m benchmarks.portal [--accounts 20] [--out FILE]``.

A fresh workspace (an empty published warehouse), one unit account per slot spread over the units that have
sample files, and a real ``ecostat portal`` process on 127.0.0.1. All accounts at once, each in its own thread
with its own HTTP client: log in, open the pages (my reports, upload, templates, figures), check each sample
workbook of its unit through ``POST /api/v1/check``, submit one of them, and poll until its final status.
Prints p50/p95 of the page and ``check`` latencies and of submit → final status, against the issue's goals
(pages p95 ≤ 200 ms, check p95 ≤ 2 s, submit → final ≤ 60 s), and writes them as JSON with ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "raw" / "samples"
PASSWORD = "benchmark-passphrase-2026"
PAGES = ("/reports", "/check", "/templates", "/figures?year=2024")
GOALS = {"pages": 0.2, "check": 2.0, "submit_to_final": 60.0}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


def _workspace(home: Path, count: int) -> tuple[Path, Path, list[tuple[str, str, list[Path]]]]:
    """raw/ with an empty inbox, a published empty warehouse, and ``count`` unit accounts with their files."""
    from ecostat.portal import accounts, db
    from ecostat.run.ingest import run_plain

    raw, warehouse = home / "raw", home / "warehouse" / "ecostat.duckdb"
    (raw / "inbox").mkdir(parents=True)
    run_plain(raw, warehouse)
    units = sorted(d.name for d in SAMPLES.iterdir() if d.is_dir() and any(d.iterdir()))
    con = db.connect(warehouse)
    slots = []
    for k in range(count):
        unit = units[k % len(units)]
        login = f"bench{k:02d}"
        accounts.add(con, login, unit, "unit", f"测试{k}", PASSWORD)
        files = sorted(p for p in (SAMPLES / unit).iterdir() if p.is_file())
        slots.append((login, unit, files))
    con.close()
    return raw, warehouse, slots


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _one(url: str, login: str, files: list[Path], submit_index: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"pages": [], "check": [], "submit": [], "submit_to_final": [],
                                   **{page: [] for page in PAGES}}
    with httpx.Client(base_url=url, timeout=300) as c:
        r = c.post("/api/v1/session", json={"login": login, "password": PASSWORD})
        r.raise_for_status()
        csrf = r.json()["csrf_token"]
        for _ in range(2):
            for page in PAGES:
                started = time.perf_counter()
                c.get(page).raise_for_status()
                out["pages"].append(time.perf_counter() - started)
                out[page].append(out["pages"][-1])
        for f in files:
            started = time.perf_counter()
            c.post("/api/v1/check", headers={"X-CSRF-Token": csrf}, files={"file": (f.name, f.read_bytes())}
                   ).raise_for_status()
            out["check"].append(time.perf_counter() - started)
        f = files[submit_index % len(files)]
        started = time.perf_counter()
        r = c.post("/api/v1/submissions", headers={"X-CSRF-Token": csrf}, files={"file": (f.name, f.read_bytes())})
        r.raise_for_status()
        out["submit"].append(time.perf_counter() - started)
        receipt = r.json()["id"]
        while c.get(f"/api/v1/submissions/{receipt}").json()["state"] == "received":
            if time.perf_counter() - started > 600:
                raise TimeoutError(f"{receipt} not processed in 10 minutes")
            time.sleep(0.25)
        out["submit_to_final"].append(time.perf_counter() - started)
        for page in PAGES:  # the pages again, while the other accounts' runs go on
            t0 = time.perf_counter()
            c.get(page).raise_for_status()
            out["pages"].append(time.perf_counter() - t0)
            out[page].append(out["pages"][-1])
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every goal is met, 1 otherwise."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="ecostat-portal-bench-"))
    settings = home / "ecostat.toml"
    settings.write_text("# the benchmark alerts nobody\n", encoding="utf-8")
    os.environ["ECOSTAT_SETTINGS"] = str(settings)
    os.environ.pop("ECOSTAT_ALERT_URLS", None)
    proc = None
    try:
        raw, warehouse, slots = _workspace(home, args.accounts)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(home / "portal.log", "wb")  # noqa: SIM115  (closed with the process)
        proc = subprocess.Popen([sys.executable, "-m", "ecostat.cli", "portal", "--port", str(port), "--raw", str(raw),
                                 "--warehouse", str(warehouse)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the portal did not start: " + (home / "portal.log").read_text(errors="replace"))
            time.sleep(0.2)
        started = time.perf_counter()
        with ThreadPoolExecutor(len(slots)) as pool:
            results = list(pool.map(lambda s: _one(url, s[0], s[2], int(s[0][-2:]) // 11), slots))
        wall = time.perf_counter() - started
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    merged = {k: [v for r in results for v in r[k]] for k in results[0]}
    report = {k: {"n": float(len(v)), "p50": _percentile(v, 0.5), "p95": _percentile(v, 0.95),
                  "mean": statistics.fmean(v) if v else float("nan")} for k, v in merged.items()}
    print(f"门户基准 portal benchmark: {len(slots)} unit accounts at once, {wall:.1f} s in all "
          f"({os.cpu_count()} CPUs)")
    met = True
    for key, goal in (("pages", GOALS["pages"]), ("check", GOALS["check"]), ("submit", None),
                      ("submit_to_final", GOALS["submit_to_final"])):
        r = report[key]
        verdict = "" if goal is None else (f"  goal p95 ≤ {goal:g} s: " + ("met" if r["p95"] <= goal else "NOT met"))
        met &= goal is None or r["p95"] <= goal
        print(f"  {key:16} n={int(r['n']):4}  p50 {r['p50'] * 1000:8.0f} ms  p95 {r['p95'] * 1000:8.0f} ms{verdict}")
    for page in PAGES:
        r = report[page]
        print(f"    {page:18} p50 {r['p50'] * 1000:8.0f} ms  p95 {r['p95'] * 1000:8.0f} ms")
    if args.out:
        args.out.write_text(json.dumps({"accounts": len(slots), "wall_seconds": wall, "results": report},
                                       indent=2), encoding="utf-8")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
