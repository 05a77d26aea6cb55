"""Code ownership (contract v2 §4.2, §4.8, issue 12 item 4): water sections come from the city monitoring
centre only, and a section or drinking-water source code is current for one unit only in a period, against
the warehouse and within one file, until the owning unit's slice is resubmitted without it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ecostat.cli import main
from ecostat.run import ingest as steps
from ecostat.store.outcomes import TableOutcome
from tests.conftest import write_csv, write_xlsx
from tests.forms_data import column_of, header, row

WATER = ("water.surface_good_rate", "water.national_good_rate", "water.class2_share", "water.tp_mean")


def section(code: str, unit: str, cls: str = "Ⅱ", level: str = "国考", tp: float = 0.05) -> list[object]:
    return row("water_sections", unit=unit, section_code=code, level=level, water_class=cls, total_phosphorus=tp)


def source(code: str, unit: str, period: str = "2024", level: str = "农村") -> list[object]:
    return row("drinking_water", unit=unit, period=period, source_code=code, source_level=level)


def figures(db: Path, prefixes: tuple[str, ...]) -> dict[tuple, float]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {(s, f, d): v for s, f, d, v in con.execute(
            "SELECT scope, figure, dimension, value FROM annual_figures WHERE year = 2024").fetchall()
            if f.startswith(prefixes)}


def owner_findings(table: TableOutcome) -> list[tuple]:
    return [(f.rule_id, f.row, f.column, f.value) for f in table.findings if f.severity == "error"]


@pytest.fixture
def centre(tmp_path: Path) -> tuple[Path, Path]:
    """A warehouse holding the centre's 2024 sections: two of each class Ⅱ, Ⅲ and Ⅳ, in three units."""
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    rows = [section("GJ01", "360112", "Ⅱ"), section("GJ02", "360102", "Ⅱ", "省考"),
            section("FH01", "360121", "Ⅲ", tp=0.15), section("FH02", "360121", "Ⅲ", "市考", 0.15),
            section("YH01", "360111", "Ⅳ", tp=0.25), section("YH02", "360111", "Ⅳ", "省考", 0.25)]
    write_csv(raw / "inbox" / "360100" / "断面.csv", [header("water_sections"), *rows])
    assert [t.status for t in steps.run_plain(raw, db).tables] == ["accepted"]
    return raw, db


def test_a_district_cannot_move_the_citys_water_figures(centre):
    """Issue 12: 360102 sends the centre's sections as class Ⅰ and 30 made-up national class-Ⅰ sections."""
    raw, db = centre
    before = figures(db, WATER)
    assert before[("360100", "water.surface_good_rate", None)] == pytest.approx(4 / 6 * 100)
    forged = [section(c, "360102", "Ⅰ", tp=0.01) for c in ("GJ01", "GJ02", "FH01", "FH02", "YH01", "YH02")]
    forged += [section(f"FAKE{i:02d}", "360102", "Ⅰ", tp=0.01) for i in range(30)]
    write_csv(raw / "inbox" / "360102" / "断面.csv", [header("water_sections"), *forged])
    summary = steps.run_plain(raw, db)
    (t,) = summary.tables
    assert t.status == "rejected" and [f.rule_id for f in t.findings] == ["AUTH_FORM"]
    assert figures(db, WATER) == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fact_water_sections").fetchone() == (6,)
        assert con.execute("SELECT count(DISTINCT section_code), count(*) FROM fact_water_sections "
                           "WHERE is_current").fetchone() == (6, 6)


def test_a_section_is_current_for_one_unit_until_its_slice_is_resubmitted_without_it(centre):
    raw, db = centre
    moved = [header("water_sections"), section("GJ02", "360103")]  # still current under 360102
    write_csv(raw / "inbox" / "360100" / "a_移交.csv", moved)
    (t,) = steps.run_plain(raw, db).tables
    assert t.status == "rejected"
    assert owner_findings(t) == [("PERIOD_CODE_OWNER", 2, column_of("water_sections", "section_code"), "GJ02")]
    f = t.findings[0]
    assert "单位 360102 的现行数据" in f.message_zh and "current for unit 360102 in period 2024" in f.message_en
    # 360102's slice resubmitted without GJ02 (the centre sends it as it now stands), then the move loads
    write_csv(raw / "inbox" / "360100" / "b_东湖.csv", [header("water_sections"), section("GJ05", "360102")])
    write_csv(raw / "inbox" / "360100" / "c_移交.csv", moved)
    assert [t.status for t in steps.run_plain(raw, db).tables] == ["accepted", "accepted"]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT unit_code FROM fact_water_sections WHERE is_current AND section_code = 'GJ02'"
                           ).fetchall() == [("360103",)]


def test_one_table_may_move_a_section_between_the_slices_it_replaces(centre):
    raw, db = centre
    write_csv(raw / "inbox" / "360100" / "移交.csv", [header("water_sections"), section("GJ09", "360102"),
                                                   section("GJ02", "360103")])
    assert [t.status for t in steps.run_plain(raw, db).tables] == ["accepted"]
    # the same code under two units of one table is a duplicate within the table and period
    write_csv(raw / "inbox" / "360100" / "重复.csv", [header("water_sections"), section("GJ07", "360102"),
                                                   section("GJ07", "360103")])
    (t,) = steps.run_plain(raw, db).tables
    assert [(f.rule_id, f.row) for f in t.findings] == [("TABLE_KEY_DUPLICATE", 3)]


def test_a_drinking_water_source_is_current_for_one_unit_in_a_period(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    write_csv(raw / "inbox" / "360121" / "a.csv", [header("drinking_water"), source("DW01", "360121"),
                                                   source("DW02", "360121")])
    write_csv(raw / "inbox" / "360123" / "b.csv", [header("drinking_water"), source("DW03", "360123"),
                                                   source("DW01", "360123")])
    write_csv(raw / "inbox" / "360123" / "c_2023.csv", [header("drinking_water"),
                                                        source("DW01", "360123", period="2023")])
    first, second, other_year = steps.run_plain(raw, db).tables
    assert (first.status, second.status, other_year.status) == ("accepted", "rejected", "accepted")
    assert owner_findings(second) == [("PERIOD_CODE_OWNER", 3, column_of("drinking_water", "source_code"), "DW01")]
    write_csv(raw / "inbox" / "360121" / "d.csv", [header("drinking_water"), source("DW02", "360121")])
    write_csv(raw / "inbox" / "360123" / "e.csv", [header("drinking_water"), source("DW03", "360123"),
                                                   source("DW01", "360123")])
    assert [t.status for t in steps.run_plain(raw, db).tables] == ["accepted", "accepted"]
    assert figures(db, ("drinking.rural_sources",))[("360100", "drinking.rural_sources", None)] == 3


def test_ownership_within_one_file_at_ingest_and_in_a_dry_run(tmp_path, capsys):
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    book = write_xlsx(raw / "inbox" / "360100" / "水源地.xlsx", {
        "南昌县": [header("drinking_water"), source("DW01", "360121", level="县级")],
        "安义县": [header("drinking_water"), source("DW01", "360123", level="县级")]})
    capsys.readouterr()
    assert main(["validate", str(book), "--unit", "360100", "--warehouse", str(tmp_path / "none.duckdb")]) == 1
    out = capsys.readouterr().out
    assert "PERIOD_CODE_OWNER" in out and "[安义县] C2" in out and "南昌县]: drinking_water — 通过 accepted" in out
    first, second = steps.run_plain(raw, db).tables
    assert (first.status, second.status) == ("accepted", "rejected")
    assert owner_findings(second) == [("PERIOD_CODE_OWNER", 2, "C", "DW01")]
