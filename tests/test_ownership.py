"""Code ownership (contract v3 §4.2, §4.8 amended; issues 12 and 17): water sections come from the city
monitoring centre only; section and drinking-water source codes belong to the unit the bureau's register
names for the year (schemas/registries/section_register.csv, source_register.csv), whatever was sent first
and whatever the period; the centre may report any unit's code; an unregistered code loads with a warning."""

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


def test_the_city_may_move_a_section_and_an_unregistered_code_loads_with_a_warning(centre):
    """v3: ownership is the register's; the centre (360100) may report a section under any unit, and a code
    the register does not hold for the year loads with a warning naming it."""
    raw, db = centre
    write_csv(raw / "inbox" / "360100" / "移交.csv", [header("water_sections"), section("GJ02", "360103"),
                                                   section("ZZ99", "360103")])
    (t,) = steps.run_plain(raw, db).tables
    assert t.status == "accepted"
    assert [(f.rule_id, f.severity, f.row, f.value) for f in t.findings] == [
        ("CODE_UNREGISTERED", "warning", 3, "ZZ99")]
    assert "未在 2024 年的登记中" in t.findings[0].message_zh and "not registered for 2024" in t.findings[0].message_en


def test_a_code_is_a_duplicate_within_one_table(centre):
    raw, db = centre
    write_csv(raw / "inbox" / "360100" / "重复.csv", [header("water_sections"), section("GJ07", "360112"),
                                                   section("GJ07", "360103")])
    (t,) = steps.run_plain(raw, db).tables
    assert [(f.rule_id, f.row) for f in t.findings] == [("TABLE_KEY_DUPLICATE", 3)]


OWNERS = {"360121": ["NCX-C01", "NCX-R01", "NCX-R02"], "360100": ["NC-C01"]}
DRINKING = ("drinking.",)


def _owners_and_squatter(tmp_path: Path, squat_period: str | None) -> tuple[dict[tuple, float], list]:
    """The owners' 2024 sources, after 360104's table listing their codes (period ``squat_period``) if
    given, received first; returns the drinking-water figures and the squatter's tables."""
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    if squat_period is not None:
        write_csv(raw / "inbox" / "360104" / "a_抢先.csv", [header("drinking_water"), *(
            source(c, "360104", period=squat_period, level="县级" if "-C" in c else "农村")
            for c in ("NCX-C01", "NCX-R01", "NC-C01"))])
        squatter = steps.run_plain(raw, db).tables
    for unit, codes in OWNERS.items():
        write_csv(raw / "inbox" / unit / "b.csv", [header("drinking_water"), *(
            source(c, unit, level="县级" if "-C" in c else "农村") for c in codes)])
    owners = steps.run_plain(raw, db).tables
    assert [(t.status, t.findings) for t in owners] == [("accepted", [])] * 2
    return figures(db, DRINKING), squatter if squat_period is not None else []


@pytest.mark.parametrize("period", ["2024", "2024-12"])
def test_nobody_can_claim_another_units_sources_by_listing_them_first(tmp_path, period):
    """Issue 17: 360104 listed 360121's and 360100's source codes in its own 2024 table before they
    reported: the owners' tables were rejected and the county compliance rate fell to 0; sent as 2024-12
    the codes were current under two units and the rural sources doubled. Now the register decides, per
    year whatever the period: the squatter's rows are errors, the owners' figures are as without it."""
    alone, _ = _owners_and_squatter(tmp_path / "alone", None)
    squatted, (squatter,) = _owners_and_squatter(tmp_path / "squatted", period)
    assert squatted == alone and alone[("360100", "drinking.rural_sources", None)] == 2
    assert squatter.status == "rejected"
    assert owner_findings(squatter) == [("AUTH_CODE", r, column_of("drinking_water", "source_code"), c)
                                        for r, c in ((2, "NCX-C01"), (3, "NCX-R01"), (4, "NC-C01"))]
    f = squatter.findings[0]
    assert "已登记为单位 360121" in f.message_zh and "registered to unit 360121 for 2024" in f.message_en


def test_the_city_may_report_any_units_source_and_a_code_is_owned_per_year(tmp_path, capsys):
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    book = write_xlsx(raw / "inbox" / "360100" / "水源地.xlsx", {
        "南昌县": [header("drinking_water"), source("NCX-C01", "360121", level="县级")],
        "安义县": [header("drinking_water"), source("NCX-C01", "360123", level="县级")]})
    capsys.readouterr()
    assert main(["validate", str(book), "--unit", "360100", "--warehouse", str(tmp_path / "none.duckdb")]) == 0
    first, second = steps.run_plain(raw, db).tables
    assert (first.status, second.status, first.findings, second.findings) == ("accepted", "accepted", [], [])
    # the register holds the samples' codes from 2023 on: a 2022 row's code is not registered for 2022
    write_csv(raw / "inbox" / "360121" / "2022.csv", [header("drinking_water"),
                                                      source("NCX-C01", "360121", period="2022", level="县级")])
    (old,) = steps.run_plain(raw, db).tables
    assert old.status == "accepted" and [(f.rule_id, f.value) for f in old.findings] == [
        ("CODE_UNREGISTERED", "NCX-C01")]
