"""Publishing by rename (issue 21): the working copy becomes the published file (no copy under the lock, none
at rest), a copy made ahead is used only if it derives from the published file, a killed run's is continued,
a killed copier's temporary file is removed, and readers keep the version they opened."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from ecostat.common.faults import COPY_POINTS
from ecostat.store.writer import base_path, locked, prepare_work, work_path, writing
from tests.test_safety import cli, copy_samples, db_state, state, watched

FIRST = ["360100"]
THEN = ["360102", "360121", "stray.csv"]


def rows(db: Path) -> list[tuple[int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT n FROM t ORDER BY n").fetchall()


def write_row(warehouse: Path, n: int) -> int:
    """A writer that adds row ``n``; the inode of the working copy it wrote."""
    with writing(warehouse) as work:
        with duckdb.connect(str(work)) as con:
            con.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
            con.execute("INSERT INTO t VALUES (?)", [n])
        return work.stat().st_ino


def at_rest(warehouse: Path) -> list[str]:
    return sorted(p.name for p in warehouse.parent.iterdir() if p.name != warehouse.name + ".lock")


def test_publish_renames_the_working_copy_and_leaves_none_at_rest(tmp_path):
    db = tmp_path / "w.duckdb"
    first = write_row(db, 1)
    assert db.stat().st_ino == first and rows(db) == [(1,)]
    second = write_row(db, 2)
    assert db.stat().st_ino == second != first  # the working file itself was published: not copied over
    assert db.stat().st_nlink == 1  # the former file's second name removed after the lock
    assert rows(db) == [(1,), (2,)]
    assert at_rest(db) == ["w.duckdb"]
    assert prepare_work(db) and work_path(db).exists() and base_path(db).exists()
    prepared = work_path(db).stat().st_ino
    assert write_row(db, 3) == prepared == db.stat().st_ino  # the copy made ahead is the one written
    assert rows(db) == [(1,), (2,), (3,)] and at_rest(db) == ["w.duckdb"]


READER = """import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
for _ in sys.stdin:
    print(con.execute("SELECT count(*) FROM t").fetchone()[0], flush=True)
"""


def test_a_reader_keeps_the_version_it_opened(tmp_path):
    db = tmp_path / "w.duckdb"
    write_row(db, 1)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert reader.stdin and reader.stdout

        def count() -> str:
            reader.stdin.write("\n")  # type: ignore[union-attr]
            reader.stdin.flush()  # type: ignore[union-attr]
            return reader.stdout.readline().strip()  # type: ignore[union-attr]

        assert count() == "1"  # the reader has the warehouse open
        write_row(db, 2)
        write_row(db, 3)
        assert count() == "1" and rows(db) == [(1,), (2,), (3,)]
    finally:
        reader.kill()
        reader.wait()


def test_a_killed_runs_working_copy_is_continued(tmp_path):
    db = tmp_path / "w.duckdb"
    write_row(db, 1)
    with pytest.raises(RuntimeError), writing(db) as work:
        with duckdb.connect(str(work)) as con:
            con.execute("INSERT INTO t VALUES (2)")  # committed in the working copy, then the run dies
        raise RuntimeError("the run dies before publishing")
    assert rows(db) == [(1,)] and work_path(db).exists()
    assert prepare_work(db)  # the next run's copy ahead keeps it
    write_row(db, 3)
    assert rows(db) == [(1,), (2,), (3,)]
    legacy = tmp_path / "legacy.duckdb"  # an ecostat before issue 21 left its working copy without a sidecar
    write_row(legacy, 1)
    with duckdb.connect(str(work_path(legacy))) as con:
        con.execute("CREATE TABLE t (n INTEGER)")
        con.execute("INSERT INTO t VALUES (1), (2)")
    write_row(legacy, 3)
    assert rows(legacy) == [(1,), (2,), (3,)]


def test_a_working_copy_of_another_version_is_discarded(tmp_path):
    db = tmp_path / "w.duckdb"
    write_row(db, 1)
    assert prepare_work(db)
    with duckdb.connect(str(work_path(db))) as con:
        con.execute("INSERT INTO t VALUES (99)")  # what the copy held; the warehouse is then restored
    restored = tmp_path / "backup.duckdb"
    with duckdb.connect(str(restored)) as con:
        con.execute("CREATE TABLE t AS SELECT 7 AS n")
    os.replace(restored, db)
    work_path(db).with_name(work_path(db).name + ".wal").write_bytes(b"a stale log")
    assert prepare_work(db) and rows(work_path(db)) == [(7,)]  # copied again, the stale log gone
    write_row(db, 8)
    assert rows(db) == [(7,), (8,)] and at_rest(db) == ["w.duckdb"]
    assert prepare_work(db)
    with duckdb.connect(str(work_path(db))) as con:
        con.execute("INSERT INTO t VALUES (99)")
    with duckdb.connect(str(restored)) as con:
        con.execute("CREATE TABLE t AS SELECT 5 AS n")
    os.replace(restored, db)
    write_row(db, 6)  # a writer without a copy ahead discards it too
    assert rows(db) == [(5,), (6,)] and at_rest(db) == ["w.duckdb"]


def test_a_copy_ahead_is_not_put_in_place_while_another_writer_holds_the_lock(tmp_path):
    db = tmp_path / "w.duckdb"
    write_row(db, 1)
    with locked(db):
        assert not prepare_work(db)
    assert at_rest(db) == ["w.duckdb"]  # its temporary copy removed too
    write_row(db, 2)
    assert rows(db) == [(1,), (2,)]
    held = threading.Event()

    def hold() -> None:  # another writer holds the lock a moment: the copy is made under the lock then
        with locked(db):
            held.set()
            time.sleep(1)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    with writing(db, wait_seconds=30) as work:
        assert work.exists() and rows(work) == [(1,), (2,)]
    holder.join()
    assert rows(db) == [(1,), (2,)] and at_rest(db) == ["w.duckdb"]


def test_a_killed_copiers_temporary_copy_is_removed(tmp_path):
    db = tmp_path / "w.duckdb"
    write_row(db, 1)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead = tmp_path / f".w.duckdb.work-copy-{gone.stdout.strip()}-{'a' * 32}.tmp"
    alive = tmp_path / f".w.duckdb.work-copy-{os.getpid()}-{'b' * 32}.tmp"
    former = tmp_path / f".w.duckdb.former-{gone.stdout.strip()}-{'c' * 32}.tmp"
    dead.write_bytes(b"half a copy")
    alive.write_bytes(b"a copy being made")
    os.link(db, former)  # killed between publishing and removing the former file
    assert prepare_work(db)
    assert not dead.exists() and not former.exists() and alive.exists()  # a living process's copy is its own
    alive.rename(dead)
    write_row(db, 2)  # any writer removes them
    assert not dead.exists()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The state after ingesting FIRST, then THEN, in two runs."""
    raw = tmp_path_factory.mktemp("two") / "raw"
    db = raw.parent / "w.duckdb"
    copy_samples(raw, FIRST)
    args = ["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(db)]
    assert cli(*args).returncode == 0
    first = db_state(db)
    copy_samples(raw, THEN)
    assert cli(*args).returncode == 0
    return first, state(db)


@pytest.mark.parametrize("point", [*COPY_POINTS, "mid_load"])
def test_kill_9_with_a_warehouse_then_rerun_completes_exactly_once(tmp_path, point, two_runs):
    first, reference = two_runs
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    copy_samples(raw, FIRST)
    args = ["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(db)]
    assert cli(*args).returncode == 0
    copy_samples(raw, THEN)
    code, err, seen = watched(args, db, point)
    assert code == -9, err[-2000:]
    assert seen and all(s == first for s in seen)  # killed before publishing: the first run's warehouse
    assert work_path(db).exists() == (point == "mid_load")
    left = [p.name for p in tmp_path.iterdir() if ".work-copy-" in p.name]
    assert bool(left) == (point == "work_copied")
    rerun = cli(*args)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert state(db) == reference
    assert not [p for p in tmp_path.iterdir() if ".work" in p.name]
