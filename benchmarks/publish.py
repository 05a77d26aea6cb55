"""Publishing against the warehouse's size (issue 21): ``python -m benchmarks.publish [--sizes 0.1,1,3]
[--repeat 3] [--out FILE] [--dir DIR] [--keep]``.

It builds a real ecostat warehouse (:func:`ecostat.store.warehouse.connect` with ``create``) and grows it
cheaply, by inserting generated rows (random text, which compresses badly) into ``fact_water_sections``
through DuckDB, then copies of them, to each size in turn. At each size, in the same run, it times:

- ``old_publish``: the baseline, publishing as ``a632adb`` did: a durable copy of the whole working file
  over the warehouse (temporary file, fsync, rename). Kept here only, as the baseline.
- ``new_publish``: :func:`ecostat.store.writer.publish`: fsync of the working file, a second name for the
  former file, rename, fsync of the folder.
- ``release``: removing the former file's second name, which frees its blocks: after the write lock.
- ``prepare``: :func:`ecostat.store.writer.prepare_work`, the working copy of the published file made ahead of
  the write lock (reflink where the filesystem has them, else ``copy_file_range``).
- ``write``: a small run on the working copy (1,000 rows in one transaction), the same before each publish,
  so that each publish fsyncs what a run leaves dirty.

Each is repeated (``--repeat``) and the median kept; the lock time of a run is ``write`` plus its publish (the
former code kept its working copy at rest, so it copied nothing before the run). The file is in the page cache
(it has just been written or copied), as it would be on a busy host; both ways read it so. Prints a table with
each new time's ratio to the baseline of the same size and run, and writes the results as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from ecostat.common.durable import atomic_writer
from ecostat.store.warehouse import connect
from ecostat.store.writer import FILE_MODE, base_path, prepare_work, publish, work_path

GB = 1024 ** 3
BATCH = 500_000  # rows inserted at a time while growing
ROWS = """INSERT INTO fact_water_sections SELECT i, md5(random()::VARCHAR) || md5(random()::VARCHAR),
  'bench/' || (i // 1000) || '.csv', NULL, (i % 1000)::INTEGER, now(), true, NULL,
  '3601' || lpad((i % 100)::VARCHAR, 2, '0'), '2024-01', 2024, 1, md5(random()::VARCHAR), md5(random()::VARCHAR),
  md5(random()::VARCHAR), 'river', 'national', 'III', random(), NULL FROM range(?, ?) AS r(i)"""


def old_publish(work: Path, warehouse: Path) -> None:
    """The publish of ``a632adb``: a durable copy of the whole working file over the warehouse."""
    if work.exists():
        work.chmod(FILE_MODE)
        with open(work, "rb") as fh, atomic_writer(warehouse.parent, warehouse.name, FILE_MODE) as out:
            shutil.copyfileobj(fh, out, 1024 * 1024)


def grow(warehouse: Path, size: float) -> int:
    """Insert rows until the warehouse file holds ``size`` GB: one batch generated, then copies of it under
    new ids (cheap: no text generated, and compressed no better, each copy in its own row groups); the rows'
    count, which is also the next row's id."""
    if not warehouse.exists():
        with connect(warehouse, create=True):
            pass
    with duckdb.connect(str(warehouse)) as con:
        rows = con.execute("SELECT count(*) FROM fact_water_sections").fetchone()
        n = rows[0] if rows else 0
        if n == 0:
            con.execute(ROWS, [0, BATCH])
            con.execute("CHECKPOINT")
            n = BATCH
        while warehouse.stat().st_size < size * GB:
            con.execute("INSERT INTO fact_water_sections SELECT * REPLACE (submission_id + ? AS submission_id) "
                        "FROM fact_water_sections WHERE submission_id < ?", [n, BATCH])
            con.execute("CHECKPOINT")
            n += BATCH
    return n


def small_run(work: Path, start: int) -> None:
    """What a small ingest writes: 1,000 rows in one transaction."""
    with duckdb.connect(str(work)) as con:
        con.execute(ROWS, [start, start + 1000])


def timed(step: Callable[..., object], *args: object) -> float:
    started = time.perf_counter()
    step(*args)
    return time.perf_counter() - started


def measure(warehouse: Path, repeat: int, start: int) -> tuple[dict[str, float], int]:
    """The median seconds of each step at the warehouse's present size; the next row number."""
    work = work_path(warehouse)
    times: dict[str, list[float]] = {"old_publish": [], "new_publish": [], "release": [], "prepare": [],
                                     "write": []}
    for _ in range(repeat):
        prepare_work(warehouse)  # the former code's working copy, kept at rest: not timed
        times["write"].append(timed(small_run, work, start))
        start += 1000
        times["old_publish"].append(timed(old_publish, work, warehouse))
        work.unlink()
        base_path(warehouse).unlink(missing_ok=True)
        times["prepare"].append(timed(prepare_work, warehouse))
        small_run(work, start)
        start += 1000
        started = time.perf_counter()
        former = publish(work, warehouse)
        times["new_publish"].append(time.perf_counter() - started)
        assert former is not None and not work.exists()
        times["release"].append(timed(former.unlink))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM fact_water_sections").fetchone()
    assert rows == (start,), (rows, start)  # every run's rows published, none lost
    return {k: statistics.median(v) for k, v in times.items()}, start


def table(results: list[dict[str, float]]) -> str:
    """The results as a plain-text table, ratios to the baseline of the same size."""
    head = (f"{'size GB':>8} {'old publish s':>14} {'new publish s':>14} {'new/old':>9} {'prepare s':>10} "
            f"{'release s':>10} {'old lock s':>11} {'new lock s':>11}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r['size_gb']:>8.2f} {r['old_publish']:>14.3f} {r['new_publish']:>14.4f} "
                     f"{r['new_publish'] / r['old_publish']:>9.4f} {r['prepare']:>10.3f} {r['release']:>10.3f} "
                     f"{r['write'] + r['old_publish']:>11.3f} {r['write'] + r['new_publish']:>11.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build the warehouse at each size, measure, print the table and write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.publish", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0.1,1,3", help="warehouse sizes in GB, ascending (default 0.1,1,3)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmark-publish.json"))
    parser.add_argument("--dir", type=Path, default=None, help="where to build (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the warehouse")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="ecostat-publish-", dir=args.dir))
    warehouse = folder / "ecostat.duckdb"
    results: list[dict[str, float]] = []
    try:
        for size in (float(s) for s in args.sizes.split(",")):
            grown = time.perf_counter()
            start = grow(warehouse, size)
            grown = time.perf_counter() - grown
            medians, start = measure(warehouse, args.repeat, start)
            results.append({"size_gb": warehouse.stat().st_size / GB, "grow_seconds": grown, **medians})
            print(table(results[-1:]).splitlines()[-1] if len(results) > 1 else table(results), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(table(results))
    args.out.write_text(json.dumps({
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
        "duckdb": duckdb.__version__, "repeat": args.repeat, "results": results}, indent=2), encoding="utf-8")
    print(f"\nwritten {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
