"""The Parquet lake beside the warehouse: written by every ingest run, read back equal to the warehouse
by plain DuckDB and by pyarrow.dataset (no ecostat code), swapped atomically, and enough, with the
archive, to rebuild the warehouse."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from ecostat.cli import main
from ecostat.run.ingest import run_plain
from ecostat.store import lake
from tests.conftest import write_csv
from tests.forms_data import header, row

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "raw" / "samples"
# compared column by column with the warehouse (annual_figures is a view; the rest are tables)
DATASETS = sorted(lake.exports())
# columns a rebuild cannot reproduce: the id of the run that replayed the archive
RUN_COLUMNS = {"submission_log": ["run_id"], "meta_received_files": ["run_id"]}
# Figures are computed by a view whose floating-point sums DuckDB may add up in another order on each
# read (in the last bits: 1382.3 and 1382.2999999999997); ecostat's figure log treats differences below
# 1e-9 relative as no change. Computed columns are compared to 9 decimal places.
ROUNDED = "round({}, 9)"


def _columns(con: duckdb.DuckDBPyConnection, table: str, database: str) -> list[str]:
    return [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                                      "AND database_name = ? ORDER BY column_index", [table, database]).fetchall()]


def _select(con: duckdb.DuckDBPyConnection, table: str, database: str, *, computed: bool,
            leave_out: tuple[str, ...] = ()) -> str:
    """The column list to compare ``table`` by (doubles rounded when the table's values are computed)."""
    rows = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND "
                       "database_name = ? ORDER BY column_index", [table, database]).fetchall()
    return ", ".join(ROUNDED.format(f'"{c}"') if computed and t == "DOUBLE" else f'"{c}"'
                     for c, t in rows if c not in leave_out)


def _copy_samples(inbox: Path, files: list[Path]) -> None:
    for src in files:
        dst = inbox / src.relative_to(SAMPLES)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)  # keeps the modification time: it sets the order


def _samples_in_order() -> list[Path]:
    return sorted((p for p in SAMPLES.rglob("*") if p.is_file()), key=lambda p: (p.stat().st_mtime, str(p)))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples ingested without Prefect (two runs: the earlier half, then the rest); returns the
    warehouse. An export of the state after the first run is kept in ``first-half-lake``."""
    tmp = tmp_path_factory.mktemp("lake")
    raw, db = tmp / "raw", tmp / "warehouse" / "ecostat.duckdb"
    files = _samples_in_order()
    _copy_samples(raw / "inbox", files[: len(files) // 2])
    run_plain(raw, db)
    assert main(["export", "--warehouse", str(db), "--to", str(tmp / "first-half-lake")]) == 0
    _copy_samples(raw / "inbox", files[len(files) // 2:])
    run_plain(raw, db)
    return db


def test_every_run_leaves_a_lake_that_plain_duckdb_reads_back_equal(ingested: Path):
    link = lake.lake_dir(ingested)
    assert link.is_symlink() and (link / "_lake.json").is_file()
    con = duckdb.connect()
    con.execute("ATTACH ? AS w (READ_ONLY)", [str(ingested)])
    con.execute("USE w")
    for name in DATASETS:
        cols = _select(con, name, "w", computed=name in lake.VIEWS)
        glob = str(link / name / ("**/*.parquet" if lake.exports()[name].partition else "*.parquet"))
        parquet = f"(SELECT {cols} FROM read_parquet(?, hive_partitioning = true))"
        table = f'(SELECT {cols} FROM "{name}")'
        n = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
        if n == (0,):
            assert not list((link / name).rglob("*.parquet")), name
            continue
        for a, b in ((table, parquet), (parquet, table)):
            assert con.execute(f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})",
                               [glob]).fetchone() == (0,), name
        assert con.execute(f"SELECT count(*) FROM {parquet}", [glob]).fetchone() == n, name
    # the figures, as an engineer would ask for them
    assert con.execute("SELECT value FROM read_parquet(?, hive_partitioning = true) "
                       "WHERE year = 2024 AND scope = '360100' AND figure = 'outfall.required'",
                       [str(link / "annual_figures" / "**" / "*.parquet")]).fetchall() == [(1072.0,)]


def test_pyarrow_dataset_reads_the_lake_equal_to_the_warehouse(ingested: Path):
    link = lake.lake_dir(ingested)
    with duckdb.connect(str(ingested), read_only=True) as con:
        for name in ("fact_outfall_remediation", "fact_water_sections", "submission_log", "validation_issues",
                     "meta_figure_snapshot"):
            cols = _columns(con, name, con.execute("SELECT current_database()").fetchone()[0])  # type: ignore[index]
            table = ds.dataset(link / name, format="parquet", partitioning="hive").to_table()
            keys = [(c, "ascending") for c in cols if c in table.column_names][:6]
            frame = table.sort_by(keys)
            warehouse = con.sql(f'SELECT * FROM "{name}" ORDER BY ' +
                                ", ".join(f'"{c}" NULLS LAST' for c, _ in keys)).fetchall()
            assert len(warehouse) == frame.num_rows > 0, name
            got = [tuple(r[c] for c in cols) for r in frame.select(cols).to_pylist()]
            assert got == warehouse, name
        expected = con.execute("SELECT sum(required) FROM fact_outfall_remediation "
                               "WHERE year = 2024 AND is_current").fetchall()
    facts = ds.dataset(link / "fact_outfall_remediation", format="parquet", partitioning="hive")
    current_2024 = facts.to_table(filter=(pc.field("year") == 2024) & pc.field("is_current"))
    assert [(pc.sum(current_2024["required"]).as_py(),)] == expected


def test_the_warehouse_is_rebuilt_from_an_older_lake_and_the_archive(ingested: Path, tmp_path: Path):
    raw = ingested.parent.parent / "raw"
    rebuilt = tmp_path / "rebuilt.duckdb"
    older = ingested.parent.parent / "first-half-lake"
    assert main(["rebuild", "--lake", str(older), "--raw", str(raw), "--warehouse", str(ingested),
                 "--to", str(rebuilt)]) == 0
    con = duckdb.connect()
    con.execute("ATTACH ? AS live (READ_ONLY)", [str(ingested)])
    con.execute("ATTACH ? AS new (READ_ONLY)", [str(rebuilt)])
    replayed = con.execute("SELECT count(*) FROM new.meta_received_files WHERE run_id NOT IN "
                           "(SELECT run_id FROM live.meta_ingest_runs)").fetchone()
    assert replayed is not None and replayed[0] > 0  # part came from the lake, the rest from the archive
    for name in DATASETS:
        if name in {"meta_ingest_runs", "meta_figure_log", "alerts", "meta_audit_results"}:
            continue  # the runs themselves: a rebuild is a run of its own
        cols = _select(con, name, "live", computed=name in {"annual_figures", "meta_figure_snapshot"},
                       leave_out=tuple(RUN_COLUMNS.get(name, [])))
        for a, b in (("live", "new"), ("new", "live")):
            diff = con.execute(f'SELECT count(*) FROM (SELECT {cols} FROM {a}."{name}" '
                               f'EXCEPT ALL SELECT {cols} FROM {b}."{name}")').fetchone()
            assert diff == (0,), (name, a)
    figures = "SELECT year, scope, figure, dimension, round(value, 9) FROM {}.annual_figures ORDER BY ALL"
    assert con.execute(figures.format("live")).fetchall() == con.execute(figures.format("new")).fetchall()
    assert main(["export", "--warehouse", str(rebuilt), "--to", str(older)]) == 2  # not over an existing lake


def test_a_lake_of_another_schema_version_or_half_written_is_refused(ingested: Path, tmp_path: Path):
    raw = ingested.parent.parent / "raw"
    other = tmp_path / "other-lake"
    shutil.copytree(lake.lake_dir(ingested), other)
    manifest = json.loads((other / "_lake.json").read_text(encoding="utf-8"))
    (other / "_lake.json").write_text(json.dumps({**manifest, "schema_version": manifest["schema_version"] - 1}),
                                      encoding="utf-8")
    half = tmp_path / "half-lake"
    shutil.copytree(lake.lake_dir(ingested), half)
    (half / "_lake.json").unlink()
    for bad in (other, half):
        target = tmp_path / f"from-{bad.name}.duckdb"
        assert main(["rebuild", "--lake", str(bad), "--raw", str(raw), "--warehouse", str(ingested),
                     "--to", str(target)]) == 2
        assert not target.exists() and not target.with_name(target.name + ".work").exists()


def test_every_table_of_the_warehouse_is_in_the_lake(ingested: Path):
    with duckdb.connect(str(ingested), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    assert tables - lake.NOT_EXPORTED == set(lake.exports()) - lake.VIEWS


def test_a_refresh_swaps_the_link_keeps_one_previous_version_and_skips_when_nothing_changed(tmp_path: Path):
    raw, db = tmp_path / "raw", tmp_path / "warehouse" / "ecostat.duckdb"
    link = lake.lake_dir(db)
    targets = []
    for i, batch in enumerate(("一", "二", "三")):
        write_csv(raw / "inbox" / "360102" / f"排污口{batch}.csv",
                  [header("outfall_remediation"), row("outfall_remediation", period=f"2024-0{i + 1}")])
        run_plain(raw, db)
        targets.append(os.readlink(link))
        if i == 0:  # a run with nothing new leaves the lake as it is
            run_plain(raw, db)
            assert os.readlink(link) == targets[0]
            assert "unchanged" in lake.refresh(db)
    assert len(set(targets)) == 3
    kept = sorted(p.name for p in db.parent.glob(".lake-*"))
    assert kept == sorted(targets[1:])  # the newest and the one before it
    months = ds.dataset(link / "fact_outfall_remediation", partitioning="hive").to_table(columns=["period"])
    assert sorted(months["period"].to_pylist()) == ["2024-01", "2024-02", "2024-03"]


def test_fact_tables_are_written_in_load_order_without_a_sort(ingested: Path):
    """The fact tables are written as DuckDB stores them, with no ORDER BY (whose sort of a big table costs
    more than the rest of a run): that is load order, submission and row, in every year's file."""
    from ecostat.contract.forms import FORMS

    assert all(lake.exports()[f.table].stored_in_order and "ORDER BY" not in lake.exports()[f.table].query(f.table)
               for f in FORMS.values())
    link = lake.lake_dir(ingested)
    seen = 0
    for form in FORMS.values():
        for part in sorted((link / form.table).rglob("*.parquet")):
            table = ds.dataset(part, format="parquet").to_table(columns=["submission_id", "source_row"])
            order = list(zip(table["submission_id"].to_pylist(), table["source_row"].to_pylist(), strict=True))
            assert order == sorted(order), part
            seen += len(order)
    assert seen > 0
